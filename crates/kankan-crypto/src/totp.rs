//! Time-based one-time passwords (RFC 6238 over RFC 4226): what any authenticator app shows.
//!
//! HMAC-SHA1, 6 digits, 30-second steps: the parameters every authenticator app assumes when
//! an `otpauth://` URI names none. The secret is 20 random bytes, shown to the user once in
//! base32 (RFC 4648, no padding) inside the enrolment URI; the server keeps it sealed.
//!
//! [`verify`] answers the time step a code matched, so that the caller can refuse the same
//! step twice (a code seen once is spent) by keeping the last step used.

use ring::hmac;

use crate::CryptoError;
use crate::token::fill_random;

/// Digits in a code.
pub const DIGITS: u32 = 6;
/// Seconds per step.
pub const STEP_SECS: u64 = 30;
/// Bytes of a new secret (160 bits, RFC 4226's recommendation).
pub const SECRET_LEN: usize = 20;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A new random secret.
pub fn generate_secret() -> Result<Vec<u8>, CryptoError> {
    let mut s = vec![0u8; SECRET_LEN];
    fill_random(&mut s)?;
    Ok(s)
}

/// RFC 4648 base32, upper case, without padding (the form authenticator apps take).
pub fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buf >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Reads base32 in either case, ignoring spaces and `=` padding; `None` on any other
/// character.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| *c != b' ' && *c != b'=') {
        let v = BASE32.iter().position(|x| *x == c.to_ascii_uppercase())? as u32;
        buf = ((buf << 5) | v) & 0xffff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}

/// The time step of `unix_secs`.
pub fn step_of(unix_secs: u64) -> u64 {
    unix_secs / STEP_SECS
}

/// The code of one time step (RFC 4226 dynamic truncation), `DIGITS` digits.
pub fn code_at_step(secret: &[u8], step: u64) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let mac = mac.as_ref();
    let off = usize::from(mac[mac.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([mac[off] & 0x7f, mac[off + 1], mac[off + 2], mac[off + 3]]);
    bin % 10u32.pow(DIGITS)
}

/// The code shown at `unix_secs`, zero-padded.
pub fn code_at(secret: &[u8], unix_secs: u64) -> String {
    format!("{:0width$}", code_at_step(secret, step_of(unix_secs)), width = DIGITS as usize)
}

/// Checks `code` against the steps within `skew` of `unix_secs`'s (clocks drift; one step
/// each way is usual) and answers the step it matched. Anything but exactly `DIGITS` ASCII
/// digits (spaces ignored) never matches. Compares in constant time per step.
pub fn verify(secret: &[u8], code: &str, unix_secs: u64, skew: u64) -> Option<u64> {
    let code: String = code.chars().filter(|c| *c != ' ').collect();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_of(unix_secs);
    let mut found = None;
    for step in now.saturating_sub(skew)..=now.saturating_add(skew) {
        let want = format!("{:0width$}", code_at_step(secret, step), width = DIGITS as usize);
        if crate::constant_time_eq(want.as_bytes(), code.as_bytes()) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// The enrolment URI an authenticator app reads from a QR code
/// (`otpauth://totp/Issuer:label?secret=...&issuer=Issuer&algorithm=SHA1&digits=6&period=30`).
pub fn otpauth_uri(issuer: &str, label: &str, secret: &[u8]) -> String {
    let (issuer, label) = (percent(issuer), percent(label));
    format!(
        "otpauth://totp/{issuer}:{label}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        base32_encode(secret)
    )
}

fn percent(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    // RFC 6238 appendix B (SHA-1), last six of the eight digits.
    #[test]
    fn codes_match_the_rfc_6238_test_vectors() {
        for (t, eight) in [
            (59u64, "94287082"),
            (1111111109, "07081804"),
            (1111111111, "14050471"),
            (1234567890, "89005924"),
            (2000000000, "69279037"),
            (20000000000, "65353130"),
        ] {
            assert_eq!(code_at(RFC_SECRET, t), eight[2..], "t={t}");
        }
    }

    #[test]
    fn a_code_verifies_within_the_skew_and_answers_its_step() {
        let code = code_at(RFC_SECRET, 1_000_000);
        assert_eq!(verify(RFC_SECRET, &code, 1_000_000, 1), Some(step_of(1_000_000)));
        assert_eq!(verify(RFC_SECRET, &code, 1_000_000 + 30, 1), Some(step_of(1_000_000)));
        assert_eq!(verify(RFC_SECRET, &code, 1_000_000 + 90, 1), None);
        assert_eq!(verify(RFC_SECRET, "12345", 1_000_000, 1), None);
        assert_eq!(verify(RFC_SECRET, "12345a", 1_000_000, 1), None);
        assert_eq!(verify(b"another secret", &code, 1_000_000, 0), None);
    }

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        assert_eq!(base32_encode(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32_decode("mzxw6ytboi======").as_deref(), Some(&b"foobar"[..]));
        assert_eq!(base32_decode("MZ!W"), None);
        for n in 0..=41 {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(base32_decode(&base32_encode(&bytes)), Some(bytes));
        }
    }

    #[test]
    fn the_enrolment_uri_names_issuer_label_and_secret() {
        let uri = otpauth_uri("Kankan", "ana@example.com", b"foobar");
        assert_eq!(
            uri,
            "otpauth://totp/Kankan:ana%40example.com?secret=MZXW6YTBOI&issuer=Kankan&algorithm=SHA1&digits=6&period=30"
        );
    }
}
