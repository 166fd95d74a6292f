//! Random tokens, codes and their hashes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::CryptoError;

pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buf).map_err(|e| CryptoError::Random(e.to_string()))
}

/// `n` random bytes from the operating system.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, CryptoError> {
    let mut v = vec![0u8; n];
    fill_random(&mut v)?;
    Ok(v)
}

/// The SHA-256 of a bearer token: what the database keeps instead of the token.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenHash({:02x}{:02x}..)", self.0[0], self.0[1])
    }
}

impl TokenHash {
    pub fn of(token: &str) -> TokenHash {
        TokenHash(Sha256::digest(token.as_bytes()).into())
    }
}

/// One link of a hash chain (the audit log): SHA-256 of a domain tag, the previous link and
/// `parts`, each part length-prefixed so that no two different entries encode alike.
pub fn chain_hash(prev: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"kankan/audit-chain/v1");
    h.update(prev);
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

/// A new 256-bit token (base64url, no padding) and its hash.
pub fn random_token() -> Result<(String, TokenHash), CryptoError> {
    let mut b = [0u8; 32];
    fill_random(&mut b)?;
    let token = URL_SAFE_NO_PAD.encode(b);
    let hash = TokenHash::of(&token);
    Ok((token, hash))
}

/// `n` uniformly random decimal digits (rejection sampling, no modulo bias).
pub fn random_digits(n: usize) -> Result<String, CryptoError> {
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 16];
    while out.len() < n {
        fill_random(&mut buf)?;
        for b in buf {
            if b < 250 && out.len() < n {
                out.push(char::from(b'0' + b % 10));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bit_and_distinct() {
        let (a, ha) = random_token().expect("token");
        let (b, _) = random_token().expect("token");
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).expect("b64").len(), 32);
        assert_eq!(TokenHash::of(&a), ha);
    }

    #[test]
    fn digits_have_the_asked_length_and_only_digits() {
        for _ in 0..100 {
            let d = random_digits(6).expect("digits");
            assert_eq!(d.len(), 6);
            assert!(d.bytes().all(|c| c.is_ascii_digit()));
        }
    }
}
