//! RSA with SHA-256 (PKCS#1 v1.5, "SHA256withRSA"/"RSA2"), as Alipay and WeChat Pay sign, over
//! `ring`: keys as PEM (or the bare base64 the providers' consoles hand out) — private keys
//! PKCS#8, public keys SubjectPublicKeyInfo — and signatures as base64.

use base64::Engine as _;
use ring::signature::{self, KeyPair as _, RsaKeyPair};

/// An RSA private key (PKCS#8) that signs.
pub struct PrivateKey(RsaKeyPair);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey([redacted])")
    }
}

/// An RSA public key that verifies (its PKCS#1 `RSAPublicKey` DER).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(Vec<u8>);

/// The DER inside a PEM (or bare base64).
fn der_of(text: &str) -> Result<Vec<u8>, String> {
    let b64: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("-----"))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| "not base64 or PEM".to_string())
}

impl PrivateKey {
    /// From a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) or its bare base64.
    pub fn from_pem(text: &str) -> Result<PrivateKey, String> {
        let der = der_of(text)?;
        RsaKeyPair::from_pkcs8(&der)
            .map(PrivateKey)
            .map_err(|e| format!("not an RSA PKCS#8 key: {e}"))
    }

    /// Signs `msg`: base64 of SHA256withRSA.
    pub fn sign(&self, msg: &[u8]) -> Result<String, String> {
        let mut sig = vec![0u8; self.0.public().modulus_len()];
        self.0
            .sign(&signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), msg, &mut sig)
            .map_err(|_| "signing failed".to_string())?;
        Ok(base64::engine::general_purpose::STANDARD.encode(sig))
    }

    /// Its public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.public_key().as_ref().to_vec())
    }
}

/// One DER element at the start of `b`: (tag, contents, rest).
fn der_element(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |a, &x| (a << 8) | usize::from(x));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The `RSAPublicKey` inside a SubjectPublicKeyInfo: SEQUENCE { AlgorithmIdentifier,
/// BIT STRING { RSAPublicKey } } (the algorithm must be rsaEncryption).
pub fn spki_to_pkcs1(spki: &[u8]) -> Option<Vec<u8>> {
    const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let (0x30, seq, _) = der_element(spki)? else { return None };
    let (0x30, alg, rest) = der_element(seq)? else { return None };
    let (0x06, oid, _) = der_element(alg)? else { return None };
    if oid != RSA_ENCRYPTION {
        return None;
    }
    let (0x03, bits, _) = der_element(rest)? else { return None };
    let (&unused, key) = bits.split_first()?;
    (unused == 0).then(|| key.to_vec())
}

impl PublicKey {
    /// From a SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`) or its bare base64.
    pub fn from_pem(text: &str) -> Result<PublicKey, String> {
        let der = der_of(text)?;
        spki_to_pkcs1(&der).map(PublicKey).ok_or_else(|| "not an RSA public key".to_string())
    }

    /// Whether `sig_b64` is a SHA256withRSA signature of `msg` under this key.
    pub fn verify(&self, msg: &[u8], sig_b64: &str) -> bool {
        let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(sig_b64.trim()) else {
            return false;
        };
        signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.0)
            .verify(msg, &sig)
            .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A fresh 2048-bit key from `openssl genpkey`: (PKCS#8 PEM, SPKI PEM).
    pub(crate) fn openssl_key(dir: &std::path::Path) -> (String, String) {
        let key = dir.join("key.pem");
        let ok = std::process::Command::new("openssl")
            .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"])
            .arg(&key)
            .status()
            .expect("openssl runs");
        assert!(ok.success());
        let public = std::process::Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(&key)
            .output()
            .expect("openssl runs");
        let private = std::fs::read_to_string(&key).expect("key");
        (private, String::from_utf8(public.stdout).expect("pem"))
    }

    #[test]
    fn signatures_agree_with_openssl_both_ways() {
        let dir = std::env::temp_dir().join(format!("kankan-rsa-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let (private, public) = openssl_key(&dir);
        let key = PrivateKey::from_pem(&private).expect("private");
        let public = PublicKey::from_pem(&public).expect("public");
        assert_eq!(key.public_key(), public);
        let msg = b"app_id=2021&biz_content={\"a\":1}&method=alipay.trade.page.pay";
        let ours = key.sign(msg).expect("sign");
        assert!(public.verify(msg, &ours));
        assert!(!public.verify(b"another message", &ours));
        // openssl's signature verifies with ours, and ours with openssl.
        std::fs::write(dir.join("msg"), msg).expect("msg");
        let out = std::process::Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(dir.join("key.pem"))
            .arg(dir.join("msg"))
            .output()
            .expect("openssl dgst");
        let theirs = base64::engine::general_purpose::STANDARD.encode(out.stdout);
        assert!(public.verify(msg, &theirs));
        assert_eq!(theirs, ours, "PKCS#1 v1.5 signatures are deterministic");
        let _ = std::fs::remove_dir_all(&dir);
    }

    proptest! {
        #[test]
        fn key_parsing_never_panics(b in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = spki_to_pkcs1(&b);
            let text = base64::engine::general_purpose::STANDARD.encode(&b);
            let _ = PublicKey::from_pem(&text);
        }
    }
}
