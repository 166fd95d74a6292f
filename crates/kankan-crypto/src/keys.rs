//! The master key, the keys derived from it, and per-account keys.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::token::TokenHash;
use crate::{AeadKey, CryptoError};

type HmacSha256 = Hmac<Sha256>;

/// Where the master key comes from.
#[derive(Debug, Clone)]
pub enum MasterKeySource {
    /// Base64 of 32 bytes, from configuration or the environment.
    Inline(String),
    /// A file holding base64 of 32 bytes; created with mode 0600 when missing.
    File(PathBuf),
}

/// The root of the key hierarchy. Never stored in the database.
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    pub fn load(source: &MasterKeySource) -> Result<MasterKey, CryptoError> {
        match source {
            MasterKeySource::Inline(b64) => Self::from_base64(b64),
            MasterKeySource::File(path) => Self::load_or_create_file(path),
        }
    }

    pub fn from_base64(b64: &str) -> Result<MasterKey, CryptoError> {
        let raw = Zeroizing::new(
            STANDARD
                .decode(b64.trim())
                .map_err(|e| CryptoError::BadKey(format!("master key is not base64: {e}")))?,
        );
        let bytes: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::BadKey("master key must be 32 bytes".into()))?;
        Ok(MasterKey(Zeroizing::new(bytes)))
    }

    fn load_or_create_file(path: &Path) -> Result<MasterKey, CryptoError> {
        let io = |source| CryptoError::KeyFile { path: path.display().to_string(), source };
        match std::fs::read_to_string(path) {
            Ok(s) => Self::from_base64(&s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                crate::token::fill_random(&mut bytes)?;
                let encoded = Zeroizing::new(STANDARD.encode(bytes));
                let mut opts = std::fs::OpenOptions::new();
                opts.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
                let mut f = opts.open(path).map_err(io)?;
                f.write_all(encoded.as_bytes()).map_err(io)?;
                f.sync_all().map_err(io)?;
                Ok(MasterKey(Zeroizing::new(bytes)))
            }
            Err(e) => Err(io(e)),
        }
    }

    fn derive(&self, label: &str) -> [u8; 32] {
        let mut mac =
            HmacSha256::new_from_slice(self.0.as_ref()).expect("HMAC accepts keys of any length");
        mac.update(b"kankan/v1/");
        mac.update(label.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

/// The server's purpose keys, derived once from the master key.
#[derive(Clone)]
pub struct Keyring {
    wrap: AeadKey,
    server_data: AeadKey,
    blind: Zeroizing<[u8; 32]>,
    pseudonym: Zeroizing<[u8; 32]>,
    csrf: Zeroizing<[u8; 32]>,
    device: Zeroizing<[u8; 32]>,
    media_url: Zeroizing<[u8; 32]>,
    audit: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring([redacted])")
    }
}

/// An account's own data key, unwrapped in memory only while used.
#[derive(Debug, Clone)]
pub struct AccountKey(AeadKey);

impl AccountKey {
    /// Encrypts a field of this account; `field` names it ("contact", "login-ip").
    pub fn seal(&self, field: &str, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.0.seal(plaintext, field.as_bytes())
    }

    pub fn open(&self, field: &str, envelope: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.0.open(envelope, field.as_bytes())
    }

    pub fn open_string(&self, field: &str, envelope: &[u8]) -> Result<String, CryptoError> {
        String::from_utf8(self.open(field, envelope)?).map_err(|_| CryptoError::Undecryptable)
    }

    /// Wraps a data key of this account (a device's media key); `field` names it.
    pub fn wrap_key(&self, field: &str, key: &AeadKey) -> Result<Vec<u8>, CryptoError> {
        self.0.seal(key.bytes(), field.as_bytes())
    }

    pub fn unwrap_key(&self, field: &str, wrapped: &[u8]) -> Result<AeadKey, CryptoError> {
        let raw = Zeroizing::new(self.0.open(wrapped, field.as_bytes())?);
        let bytes: [u8; 32] = raw.as_slice().try_into().map_err(|_| CryptoError::Undecryptable)?;
        Ok(AeadKey::from_bytes(bytes))
    }
}

fn hmac(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    for p in parts {
        mac.update(&(p.len() as u64).to_be_bytes());
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

impl Keyring {
    pub fn new(master: &MasterKey) -> Keyring {
        Keyring {
            wrap: AeadKey::from_bytes(master.derive("account-key-wrap")),
            server_data: AeadKey::from_bytes(master.derive("server-data")),
            blind: Zeroizing::new(master.derive("blind-index")),
            pseudonym: Zeroizing::new(master.derive("pseudonym")),
            csrf: Zeroizing::new(master.derive("csrf")),
            device: Zeroizing::new(master.derive("device-secret")),
            media_url: Zeroizing::new(master.derive("media-url")),
            audit: Zeroizing::new(master.derive("audit-checkpoint")),
        }
    }

    /// A fresh account key and its wrapped form for the database.
    pub fn new_account_key(&self, account: &str) -> Result<(AccountKey, Vec<u8>), CryptoError> {
        let key = AeadKey::generate()?;
        let wrapped = self.wrap.seal(key.bytes(), account.as_bytes())?;
        Ok((AccountKey(key), wrapped))
    }

    pub fn unwrap_account_key(
        &self,
        account: &str,
        wrapped: &[u8],
    ) -> Result<AccountKey, CryptoError> {
        let raw = Zeroizing::new(self.wrap.open(wrapped, account.as_bytes())?);
        let bytes: [u8; 32] = raw.as_slice().try_into().map_err(|_| CryptoError::Undecryptable)?;
        Ok(AccountKey(AeadKey::from_bytes(bytes)))
    }

    /// Encrypts server-held secrets that belong to no account yet (queued messages).
    pub fn seal_server_data(
        &self,
        purpose: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.server_data.seal(plaintext, purpose.as_bytes())
    }

    pub fn open_server_data(&self, purpose: &str, envelope: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.server_data.open(envelope, purpose.as_bytes())
    }

    /// Keyed blind index of a normalised value, for equality look-ups of encrypted data.
    pub fn blind_index(&self, kind: &str, normalised: &str) -> [u8; 32] {
        hmac(&self.blind, &[kind.as_bytes(), normalised.as_bytes()])
    }

    /// Keyed pseudonym of a device identifier (IMEI, MAC): stable, not reversible by
    /// enumerating all identifiers without the key. Lowercase hex.
    pub fn pseudonym(&self, kind: &str, identifier: &str) -> String {
        let h = hmac(
            &self.pseudonym,
            &[kind.as_bytes(), identifier.trim().to_ascii_lowercase().as_bytes()],
        );
        h.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The keyed MAC of a device secret: what the server keeps to check device logins.
    /// Secrets are 256-bit random, so a fast MAC is as strong as a slow hash here.
    pub fn device_secret_mac(&self, uid: &str, secret: &str) -> [u8; 32] {
        hmac(&self.device, &[uid.as_bytes(), secret.as_bytes()])
    }

    /// The signature of a short-lived media URL (playlist, segment, export, snapshot):
    /// URL-safe base64 of a MAC over `parts`.
    pub fn media_url_mac(&self, parts: &[&[u8]]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hmac(&self.media_url, parts))
    }

    /// The MAC that signs a checkpoint of the audit log (HMAC-SHA256 over `parts`, each
    /// length-prefixed): only a holder of the master key can make one that verifies.
    pub fn audit_checkpoint_mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        hmac(&self.audit, parts)
    }

    /// Whether `mac` is the checkpoint MAC of `parts`, compared in constant time.
    pub fn audit_checkpoint_matches(&self, parts: &[&[u8]], mac: &[u8]) -> bool {
        crate::constant_time_eq(&self.audit_checkpoint_mac(parts), mac)
    }

    /// The CSRF token that belongs to a session: derived, so nothing extra is stored.
    pub fn csrf_token(&self, session: &TokenHash) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(hmac(&self.csrf, &[b"csrf", &session.0]))
    }

    /// Whether `sent` is the session's CSRF token, compared in constant time.
    pub fn csrf_token_matches(&self, session: &TokenHash, sent: &str) -> bool {
        crate::constant_time_eq(self.csrf_token(session).as_bytes(), sent.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Keyring {
        Keyring::new(&MasterKey::from_base64(&STANDARD.encode([7u8; 32])).expect("key"))
    }

    #[test]
    fn master_key_file_is_created_once_with_mode_0600() {
        let dir = std::env::temp_dir().join(format!("kk-crypto-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("master.key");
        let _ = std::fs::remove_file(&path);
        let a = MasterKey::load(&MasterKeySource::File(path.clone())).expect("create");
        let b = MasterKey::load(&MasterKeySource::File(path.clone())).expect("load");
        assert_eq!(a.derive("x"), b.derive("x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn bad_master_keys_are_refused() {
        assert!(MasterKey::from_base64("not base64!").is_err());
        assert!(MasterKey::from_base64(&STANDARD.encode([1u8; 16])).is_err());
    }

    #[test]
    fn account_key_wraps_and_binds_to_its_account() {
        let r = ring();
        let (k, wrapped) = r.new_account_key("acct-1").expect("new");
        let ct = k.seal("contact", b"alice@example.com").expect("seal");
        let k2 = r.unwrap_account_key("acct-1", &wrapped).expect("unwrap");
        assert_eq!(k2.open_string("contact", &ct).expect("open"), "alice@example.com");
        assert!(r.unwrap_account_key("acct-2", &wrapped).is_err());
        assert!(k2.open("nickname", &ct).is_err());
    }

    #[test]
    fn blind_index_is_deterministic_and_keyed() {
        let r = ring();
        let other =
            Keyring::new(&MasterKey::from_base64(&STANDARD.encode([8u8; 32])).expect("key"));
        assert_eq!(r.blind_index("email", "a@b.c"), r.blind_index("email", "a@b.c"));
        assert_ne!(r.blind_index("email", "a@b.c"), r.blind_index("phone", "a@b.c"));
        assert_ne!(r.blind_index("email", "a@b.c"), other.blind_index("email", "a@b.c"));
    }

    #[test]
    fn pseudonyms_normalise_case_and_hide_the_identifier() {
        let r = ring();
        let p = r.pseudonym("mac", "AA:BB:CC:DD:EE:FF");
        assert_eq!(p, r.pseudonym("mac", "aa:bb:cc:dd:ee:ff"));
        assert_eq!(p.len(), 64);
        assert!(!p.contains("aabbcc"));
    }
}
