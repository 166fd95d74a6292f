//! Argon2id password hashing (OWASP parameters: 19 MiB, 2 passes, 1 lane).

use std::cell::RefCell;

use argon2::password_hash::phc::{self, Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::CryptoError;

/// A PHC-format Argon2id hash string.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

/// The most memory a stored hash may ask for (64 MiB); a hash asking for more is refused.
const MAX_BLOCKS: usize = 64 * 1024;

thread_local! {
    /// Argon2's working memory, kept per thread and reused: allocating 19 MiB per hash and
    /// freeing it left the C allocator's arenas growing by about that much per hash (measured:
    /// 19 registrations took a server from 40 to 360 MiB). Callers run hashes on a few fixed
    /// threads, so this is at most 19 MiB per hashing thread, for good.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs Argon2 with this thread's reused working memory.
fn with_memory<T>(
    params: &Params,
    f: impl FnOnce(&mut [Block]) -> Result<T, argon2::Error>,
) -> Result<T, CryptoError> {
    let need = params.block_count();
    if need > MAX_BLOCKS {
        return Err(CryptoError::Password(format!("argon2 memory of {need} KiB is too much")));
    }
    MEMORY.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() < need {
            m.resize(need, Block::new());
        }
        f(&mut m[..need]).map_err(|e| CryptoError::Password(e.to_string()))
    })
}

fn phc_error(e: impl std::fmt::Display) -> CryptoError {
    CryptoError::Password(e.to_string())
}

pub fn hash_password(password: &str) -> Result<PasswordHash, CryptoError> {
    let salt = crate::random_bytes(16)?;
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    with_memory(&params, |mem| {
        argon.hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, mem)
    })?;
    let phc = phc::PasswordHash {
        algorithm: Algorithm::Argon2id.into(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(phc_error)?,
        salt: Some(Salt::new(&salt).map_err(phc_error)?),
        hash: Some(Output::new(&out).map_err(phc_error)?),
    };
    Ok(PasswordHash(phc.to_string()))
}

/// Whether `password` produces the stored PHC hash.
fn matches(password: &str, stored: &str) -> Result<bool, CryptoError> {
    let phc = phc::PasswordHash::new(stored).map_err(phc_error)?;
    let algorithm = Algorithm::try_from(phc.algorithm.as_str()).map_err(phc_error)?;
    let version = match phc.version {
        Some(v) => Version::try_from(v).map_err(phc_error)?,
        None => Version::default(),
    };
    let params = Params::try_from(&phc).map_err(phc_error)?;
    let (Some(salt), Some(expected)) = (phc.salt, phc.hash) else {
        return Ok(false);
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    with_memory(&params, |mem| {
        argon.hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, mem)
    })?;
    Ok(crate::constant_time_eq(&out, expected.as_bytes()))
}

/// Checks `password` against `hash`. With `None` it still does the work of one check and
/// answers false, so a missing account costs as much time as a wrong password.
pub fn verify_password(password: &str, hash: Option<&PasswordHash>) -> bool {
    static DUMMY: std::sync::OnceLock<Option<PasswordHash>> = std::sync::OnceLock::new();
    match hash {
        Some(h) => matches(password, &h.0).unwrap_or(false),
        None => {
            if let Some(d) = DUMMY.get_or_init(|| hash_password("kankan-timing-equaliser").ok()) {
                let _ = matches(password, &d.0);
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

    /// Hashes made by the argon2 crate's own PHC path (as stored before) still verify, and
    /// ours verify there: the format is the same.
    #[test]
    fn hashes_agree_with_the_argon2_crates_own_phc_path() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let theirs = Argon2::default()
            .hash_password_with_salt(b"plum-garden-kettle-42", b"0123456789abcdef")
            .expect("hash")
            .to_string();
        assert!(verify_password("plum-garden-kettle-42", Some(&PasswordHash(theirs.clone()))));
        assert!(!verify_password("plum-garden-kettle-43", Some(&PasswordHash(theirs))));
        let ours = hash_password("plum-garden-kettle-42").expect("hash");
        assert!(
            Argon2::default().verify_password(b"plum-garden-kettle-42", ours.0.as_str()).is_ok()
        );
    }

    #[test]
    fn garbage_hash_never_verifies() {
        assert!(!verify_password("x", Some(&PasswordHash("not-a-phc".into()))));
    }
}
