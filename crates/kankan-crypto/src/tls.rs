//! The server's TLS identity and the pin devices hold to it.
//!
//! The device links (MQTT, and the HTTPS ingest and talk channel when the server serves TLS
//! itself) use one certificate and key: the operator's files, or a key and self-signed
//! certificate the server generates on first start ([`load_or_create`], key file mode 0600).
//! A device learns the [`Pin`] of that identity, SHA-256 of the certificate's
//! SubjectPublicKeyInfo, from its pairing payload and from then on connects only to a server
//! presenting that public key ([`pinned_client_config`]); names and certificate authorities
//! play no part. A renewed certificate over the same key keeps the pin; a new key needs the
//! devices paired again.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest as _, Sha256};

use crate::CryptoError;

/// SHA-256 of a certificate's SubjectPublicKeyInfo (DER), as a device pins it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pin(pub [u8; 32]);

impl Pin {
    /// The pin of a certificate (DER). A certificate that does not parse is `BadKey`.
    pub fn of_cert(cert_der: &[u8]) -> Result<Pin, CryptoError> {
        let der = CertificateDer::from(cert_der);
        let cert = webpki::EndEntityCert::try_from(&der)
            .map_err(|e| CryptoError::BadKey(format!("unreadable certificate: {e}")))?;
        Ok(Pin(Sha256::digest(cert.subject_public_key_info().as_ref()).into()))
    }

    /// Lower-case hex, as `openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum`
    /// prints it.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses [`Pin::to_hex`]'s form (colons allowed).
    pub fn from_hex(hex: &str) -> Option<Pin> {
        let digits: Vec<u8> = hex.bytes().filter(|b| *b != b':').collect();
        if digits.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in digits.chunks(2).enumerate() {
            let s = std::str::from_utf8(pair).ok()?;
            out[i] = u8::from_str_radix(s, 16).ok()?;
        }
        Some(Pin(out))
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pin({})", self.to_hex())
    }
}

impl fmt::Display for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A certificate chain and its key, as PEM files on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A loaded identity: the chain (leaf first), the key and the leaf's pin.
pub struct Identity {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub pin: Pin,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity").field("pin", &self.pin).finish_non_exhaustive()
    }
}

fn file_err(path: &Path, source: std::io::Error) -> CryptoError {
    CryptoError::KeyFile { path: path.display().to_string(), source }
}

impl Identity {
    /// Reads a PEM certificate chain and a PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub fn load(files: &IdentityFiles) -> Result<Identity, CryptoError> {
        let pem = std::fs::read(&files.cert).map_err(|e| file_err(&files.cert, e))?;
        let chain = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CryptoError::BadKey(format!("{}: {e}", files.cert.display())))?;
        let leaf = chain.first().ok_or_else(|| {
            CryptoError::BadKey(format!("{}: no certificate in the file", files.cert.display()))
        })?;
        let pin = Pin::of_cert(leaf)?;
        let key_pem = std::fs::read(&files.key).map_err(|e| file_err(&files.key, e))?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|e| CryptoError::BadKey(format!("{}: {e}", files.key.display())))?;
        Ok(Identity { chain, key, pin })
    }

    /// A rustls server configuration presenting this identity (ring provider).
    pub fn server_config(&self) -> Result<rustls::ServerConfig, CryptoError> {
        rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| CryptoError::BadKey(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|e| CryptoError::BadKey(format!("certificate and key: {e}")))
    }
}

/// The server's own identity in `dir` (`tls.crt`, `tls.key`), generated on first use: a
/// P-256 key (file mode 0600) and a self-signed certificate naming `names` (DNS names or IP
/// addresses) besides `localhost` and the loopback addresses.
pub fn load_or_create(dir: &Path, names: &[String]) -> Result<IdentityFiles, CryptoError> {
    let files = IdentityFiles { cert: dir.join("tls.crt"), key: dir.join("tls.key") };
    if files.cert.exists() && files.key.exists() {
        return Ok(files);
    }
    std::fs::create_dir_all(dir).map_err(|e| file_err(dir, e))?;
    let (cert_pem, key_pem) = self_signed(names)?;
    write_new(&files.key, key_pem.as_bytes(), 0o600)?;
    write_new(&files.cert, cert_pem.as_bytes(), 0o644)?;
    Ok(files)
}

/// A fresh key and a self-signed certificate for `names`, both PEM.
pub fn self_signed(names: &[String]) -> Result<(String, String), CryptoError> {
    let mut all: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).to_vec();
    for n in names {
        if !n.is_empty() && !all.contains(n) {
            all.push(n.clone());
        }
    }
    let bad = |e: rcgen::Error| CryptoError::BadKey(format!("generating the TLS identity: {e}"));
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(bad)?;
    let mut params = rcgen::CertificateParams::new(all).map_err(bad)?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(rcgen::DnType::CommonName, "kankan server");
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2124, 1, 1);
    let cert = params.self_signed(&key).map_err(bad)?;
    Ok((pem("CERTIFICATE", cert.der()), pem("PRIVATE KEY", &key.serialize_der())))
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CryptoError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(path).map_err(|e| file_err(path, e))?;
    f.write_all(bytes).map_err(|e| file_err(path, e))?;
    f.sync_all().map_err(|e| file_err(path, e))
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client configuration that accepts only a server whose certificate carries the public
/// key `pin` names (and proves it holds its private key); no CA, name or date checks.
pub fn pinned_client_config(pin: Pin) -> rustls::ClientConfig {
    let provider = provider();
    let verifier = Arc::new(PinVerifier { pin, provider: provider.clone() });
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth()
}

#[derive(Debug)]
struct PinVerifier {
    pin: Pin,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = Pin::of_cert(end_entity).map_err(|_| {
            rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding)
        })?;
        // Both values are public; a plain comparison leaks nothing.
        if presented == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_identity_loads_with_a_private_key_file_and_a_stable_pin() {
        let dir = tempfile::tempdir().expect("tmp");
        let files = load_or_create(dir.path(), &["cams.example".into()]).expect("create");
        let first = Identity::load(&files).expect("load");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&files.key).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A second start keeps the same key, so paired devices keep their pin.
        let again = Identity::load(&load_or_create(dir.path(), &[]).expect("again")).expect("load");
        assert_eq!(first.pin, again.pin);
        first.server_config().expect("a usable server configuration");
        assert_eq!(Pin::from_hex(&first.pin.to_hex()), Some(first.pin));
        assert_eq!(Pin::from_hex("abc"), None);
    }

    #[test]
    fn the_pin_is_of_the_public_key_not_of_the_certificate() {
        let (a, _) = self_signed(&[]).expect("a");
        let (b, _) = self_signed(&[]).expect("b");
        let der = |p: &str| CertificateDer::from_pem_slice(p.as_bytes()).expect("pem");
        assert_ne!(Pin::of_cert(&der(&a)).expect("a"), Pin::of_cert(&der(&b)).expect("b"));
        assert!(Pin::of_cert(b"not a certificate").is_err());
    }
}
