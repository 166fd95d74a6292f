//! Kankan's key hierarchy and the primitives built on it.
//!
//! A master key (from a file generated on first start, or from configuration) derives the
//! server's purpose keys: the wrapping key that protects each account's own data key, the
//! blind-index key for look-ups of encrypted contacts, the pseudonym key for device
//! identifiers, and the CSRF key. Account keys encrypt that account's personal data, so
//! deleting the wrapped account key makes the data unreadable everywhere, backups included.
//!
//! Invariant: only this crate touches key bytes or calls the ciphers.

mod aead;
mod keys;
pub mod pairing;
mod password;
pub mod tls;
mod token;

pub use aead::{AeadKey, CryptoError, STREAM_TAG_LEN, StreamKey};
pub use keys::{AccountKey, Keyring, MasterKey, MasterKeySource};
pub use password::{PasswordHash, hash_password, verify_password};
pub use token::{TokenHash, random_bytes, random_digits, random_token};

/// Whether two byte strings are equal, in time that depends on their lengths only (not on
/// where they first differ): for comparing MACs and tokens an attacker sends.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    a.len() == b.len() && std::hint::black_box(diff) == 0
}
