//! Argon2id password hashing (OWASP parameters: 19 MiB, 2 passes, 1 lane).

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use crate::CryptoError;

/// A PHC-format Argon2id hash string.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

fn hasher() -> Argon2<'static> {
    Argon2::default()
}

pub fn hash_password(password: &str) -> Result<PasswordHash, CryptoError> {
    let salt = crate::random_bytes(16)?;
    let h = hasher()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| CryptoError::Password(e.to_string()))?;
    Ok(PasswordHash(h.to_string()))
}

/// Checks `password` against `hash`. With `None` it still does the work of one check and
/// answers false, so a missing account costs as much time as a wrong password.
pub fn verify_password(password: &str, hash: Option<&PasswordHash>) -> bool {
    static DUMMY: std::sync::OnceLock<Option<PasswordHash>> = std::sync::OnceLock::new();
    match hash {
        Some(h) => hasher().verify_password(password.as_bytes(), h.0.as_str()).is_ok(),
        None => {
            if let Some(d) = DUMMY.get_or_init(|| hash_password("kankan-timing-equaliser").ok()) {
                let _ = hasher().verify_password(password.as_bytes(), d.0.as_str());
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hash_verifies_the_right_password_only() {
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.0.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", Some(&h)));
        assert!(!verify_password("wrong", Some(&h)));
        assert!(!verify_password("correct horse battery", None));
    }

    #[test]
    fn garbage_hash_never_verifies() {
        assert!(!verify_password("x", Some(&PasswordHash("not-a-phc".into()))));
    }
}
