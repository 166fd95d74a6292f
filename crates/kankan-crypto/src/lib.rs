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
pub mod firmware;
mod keys;
pub mod pairing;
mod password;
pub mod tls;
mod token;
pub mod totp;

pub use aead::{AeadKey, CryptoError, STREAM_TAG_LEN, StreamKey};
pub use keys::{AccountKey, Keyring, MasterKey, MasterKeySource};
pub use password::{PasswordHash, hash_password, verify_password};
pub use token::{TokenHash, chain_hash, random_bytes, random_digits, random_token};

pub use kankan_base::constant_time_eq;
