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
    #[error("the signature does not match the signed content and key")]
    BadSignature,
}

impl CryptoError {
    pub fn kind(&self) -> kankan_base::ErrorKind {
        match self {
            CryptoError::Undecryptable | CryptoError::BadSignature => {
                kankan_base::ErrorKind::InvalidArgument
            }
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

impl AeadKey {
    /// The key of one stream of numbered records (a recording segment), derived from this
    /// key and the stream's identity (`context`, e.g. the segment's blob id): every stream has
    /// a key of its own, and within it a record's number is its nonce, so no nonce can repeat
    /// under one key however much is recorded.
    pub fn stream_key(&self, context: &[u8]) -> StreamKey {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(self.bytes())
            .expect("HMAC accepts keys of any length");
        mac.update(b"kankan/stream-key/v1\0");
        mac.update(context);
        StreamKey(Zeroizing::new(mac.finalize().into_bytes().into()))
    }
}

/// A key for one stream of numbered records: the record's number and whether it is the last
/// are the nonce (the STREAM construction), so records cannot be reordered, and a stream cut
/// short at a record boundary is told from a whole one (its last record is missing).
#[derive(Clone)]
pub struct StreamKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for StreamKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamKey([redacted])")
    }
}

/// Overhead of a [`StreamKey`] record: the tag (the nonce is not stored).
pub const STREAM_TAG_LEN: usize = TAG_LEN;

impl StreamKey {
    fn nonce(index: u64, last: bool) -> [u8; NONCE_LEN] {
        let mut n = [0u8; NONCE_LEN];
        n[..8].copy_from_slice(&index.to_be_bytes());
        n[8] = u8::from(last);
        n
    }

    fn cipher(&self) -> Aes256Gcm {
        let bytes: &[u8; 32] = &self.0;
        Aes256Gcm::new(bytes.into())
    }

    /// Seals record `index` (`last` for the stream's final record), bound to `aad`. Sealing
    /// one index twice with different contents would repeat a nonce: callers number records
    /// once each.
    pub fn seal(
        &self,
        index: u64,
        last: bool,
        plaintext: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.cipher()
            .encrypt(&Self::nonce(index, last).into(), Payload { msg: plaintext, aad })
            .map_err(|_| CryptoError::Undecryptable)
    }

    /// Opens what [`StreamKey::seal`] made with the same index, `last` and `aad`.
    pub fn open(
        &self,
        index: u64,
        last: bool,
        sealed: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        if sealed.len() < TAG_LEN {
            return Err(CryptoError::Undecryptable);
        }
        self.cipher()
            .decrypt(&Self::nonce(index, last).into(), Payload { msg: sealed, aad })
            .map_err(|_| CryptoError::Undecryptable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_records_open_only_at_their_place_in_their_stream() {
        let k = AeadKey::generate().expect("random");
        let a = k.stream_key(b"segment-a");
        let b = k.stream_key(b"segment-b");
        let r = a.seal(3, false, b"frame", b"ctx").expect("seal");
        assert_eq!(a.open(3, false, &r, b"ctx").expect("open"), b"frame");
        assert!(a.open(4, false, &r, b"ctx").is_err(), "another index");
        assert!(a.open(3, true, &r, b"ctx").is_err(), "not the last record");
        assert!(a.open(3, false, &r, b"other").is_err(), "other associated data");
        assert!(b.open(3, false, &r, b"ctx").is_err(), "another stream");
        assert!(a.open(3, false, &r[..4], b"ctx").is_err());
        // The same record number in two streams never shares a key.
        assert_ne!(
            a.seal(0, false, b"x", b"").expect("a"),
            b.seal(0, false, b"x", b"").expect("b")
        );
    }

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
