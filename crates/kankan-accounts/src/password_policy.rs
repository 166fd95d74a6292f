//! What makes a password acceptable: length, and not a well-known password.

use crate::CoreError;

pub const MIN_LEN: usize = 10;
pub const MAX_LEN: usize = 128;

/// Common passwords (lowercase), bundled with the binary; see `common-passwords.txt`.
static COMMON: &str = include_str!("common-passwords.txt");

fn is_common(lower: &str) -> bool {
    COMMON.lines().map(str::trim).any(|l| !l.is_empty() && !l.starts_with('#') && l == lower)
}

/// Checks a new password; `identifier` is the account's own identifier, which may not be
/// (part of) the password.
pub fn check(password: &str, identifier: &str) -> Result<(), CoreError> {
    let weak = |why: &str| Err(CoreError::WeakPassword(why.to_string()));
    let n = password.chars().count();
    if n < MIN_LEN {
        return weak(&format!("use at least {MIN_LEN} characters"));
    }
    if n > MAX_LEN {
        return weak(&format!("use at most {MAX_LEN} characters"));
    }
    let lower = password.to_lowercase();
    if is_common(&lower) {
        return weak("this password is too common; choose another");
    }
    let mut chars = lower.chars();
    if let Some(first) = chars.next()
        && chars.all(|c| c == first)
    {
        return weak("a password of one repeated character is too easy to guess");
    }
    let id = identifier.to_lowercase();
    let local = id.split('@').next().unwrap_or_default().trim_start_matches('+');
    if local.len() >= 4 && lower.contains(local) {
        return weak("the password may not contain your e-mail name or phone number");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_common_repeated_and_identifier_passwords_are_refused() {
        assert!(check("short", "a@b.co").is_err());
        assert!(check("password123", "a@b.co").is_err());
        assert!(check("QWERTYUIOP", "a@b.co").is_err());
        assert!(check("aaaaaaaaaaaa", "a@b.co").is_err());
        assert!(check("alice.smith2024!", "alice.smith@example.com").is_err());
        assert!(check("x138001380001", "+8613800138000").is_ok());
        assert!(check("x8613800138000", "+8613800138000").is_err());
        assert!(check(&"ab".repeat(65), "a@b.co").is_err());
    }

    #[test]
    fn a_reasonable_passphrase_is_accepted() {
        assert!(check("plum-garden-kettle-42", "alice@example.com").is_ok());
    }
}
