//! AES-256-GCM envelopes: `version(1) | nonce(12) | ciphertext | tag(16)`.
//!
//! Every envelope names what it protects through the associated data, so a ciphertext copied
//! from one row or account into another fails to open.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use zeroize::Zeroizing;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Why a cryptographic operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("ciphertext is malformed, was altered, or belongs elsewhere")]
    Undecryptable,
    #[error("key material is invalid: {0}")]
    BadKey(String),
    #[error("the system random source failed: {0}")]
    Random(String),
    #[error("key file error at {path}: {source}")]
    KeyFile { path: String, source: std::io::Error },
    #[error("password hashing failed: {0}")]
    Password(String),
}

impl CryptoError {
    pub fn kind(&self) -> kankan_base::ErrorKind {
        match self {
            CryptoError::Undecryptable => kankan_base::ErrorKind::InvalidArgument,
            _ => kankan_base::ErrorKind::Internal,
        }
    }
}

/// A 256-bit AES-GCM key.
#[derive(Clone)]
pub struct AeadKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AeadKey([redacted])")
    }
}

impl AeadKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        AeadKey(Zeroizing::new(bytes))
    }

    pub fn generate() -> Result<Self, CryptoError> {
        let mut k = [0u8; 32];
        crate::token::fill_random(&mut k)?;
        Ok(Self::from_bytes(k))
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn cipher(&self) -> Aes256Gcm {
        let bytes: &[u8; 32] = &self.0;
        Aes256Gcm::new(bytes.into())
    }

    /// Encrypts `plaintext`, binding it to `aad` (what the bytes are and whose they are).
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        crate::token::fill_random(&mut nonce)?;
        let ct = self
            .cipher()
            .encrypt(&nonce.into(), Payload { msg: plaintext, aad })
            .map_err(|_| CryptoError::Undecryptable)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Opens an envelope made by [`AeadKey::seal`] with the same `aad`.
    pub fn open(&self, envelope: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if envelope.len() < 1 + NONCE_LEN + TAG_LEN || envelope[0] != VERSION {
            return Err(CryptoError::Undecryptable);
        }
        let nonce: [u8; NONCE_LEN] =
            envelope[1..1 + NONCE_LEN].try_into().map_err(|_| CryptoError::Undecryptable)?;
        self.cipher()
            .decrypt(&nonce.into(), Payload { msg: &envelope[1 + NONCE_LEN..], aad })
            .map_err(|_| CryptoError::Undecryptable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips() {
        let k = AeadKey::generate().expect("random");
        let env = k.seal(b"hello", b"ctx").expect("seal");
        assert_eq!(k.open(&env, b"ctx").expect("open"), b"hello");
    }

    #[test]
    fn wrong_aad_or_key_or_tampering_fails() {
        let k = AeadKey::generate().expect("random");
        let other = AeadKey::generate().expect("random");
        let mut env = k.seal(b"hello", b"ctx").expect("seal");
        assert!(k.open(&env, b"other").is_err());
        assert!(other.open(&env, b"ctx").is_err());
        let last = env.len() - 1;
        env[last] ^= 1;
        assert!(k.open(&env, b"ctx").is_err());
        assert!(k.open(&[1, 2, 3], b"ctx").is_err());
    }

    #[test]
    fn same_plaintext_seals_differently() {
        let k = AeadKey::generate().expect("random");
        assert_ne!(k.seal(b"x", b"").expect("seal"), k.seal(b"x", b"").expect("seal"));
    }
}
