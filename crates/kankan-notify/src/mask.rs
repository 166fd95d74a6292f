//! Masked forms of recipients, the only form files and logs ever hold.
//!
//! - e-mail: first character of the local part and of the domain name, then `***`, and the
//!   top-level domain: `alice@example.com` -> `a***@e***.com`;
//! - phone: `+`, the E.164 country code, one `*` per hidden digit and the last four digits:
//!   `+8613800138000` -> `+86*******8000`. Short numbers show fewer trailing digits, so that at
//!   least half of the national number is always hidden.

use crate::Recipient;

/// The masked, loggable form of a recipient.
pub fn mask(to: &Recipient) -> String {
    match to {
        Recipient::Email(e) => mask_email(e),
        Recipient::Phone(p) => mask_phone(p),
    }
}

fn first_char_then_stars(s: &str) -> String {
    match s.chars().next() {
        Some(c) => format!("{c}***"),
        None => String::from("***"),
    }
}

fn mask_email(e: &str) -> String {
    let Some((local, domain)) = e.rsplit_once('@') else {
        return String::from("***");
    };
    let masked_domain = match domain.rsplit_once('.') {
        Some((name, tld)) if !name.is_empty() && !tld.is_empty() => {
            format!("{}.{tld}", first_char_then_stars(name))
        }
        _ => first_char_then_stars(domain),
    };
    format!("{}@{masked_domain}", first_char_then_stars(local))
}

fn mask_phone(p: &str) -> String {
    let digits = p.strip_prefix('+').unwrap_or(p);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return String::from("***");
    }
    let cc = country_code_len(digits).min(digits.len());
    let national = digits.len() - cc;
    let shown_tail = (national / 2).min(4);
    let hidden = national - shown_tail;
    format!("+{}{}{}", &digits[..cc], "*".repeat(hidden), &digits[digits.len() - shown_tail..])
}

/// Length of the E.164 country code at the start of `digits` (ITU-T E.164 assignments:
/// `1` and `7` are one digit, the two-digit codes are listed, everything else is three).
fn country_code_len(digits: &str) -> usize {
    const TWO_DIGIT: &[&str] = &[
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
        "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
        "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    if digits.starts_with('1') || digits.starts_with('7') {
        1
    } else if TWO_DIGIT.iter().any(|cc| digits.starts_with(cc)) {
        2
    } else {
        3
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn email(s: &str) -> String {
        mask(&Recipient::Email(s.into()))
    }

    fn phone(s: &str) -> String {
        mask(&Recipient::Phone(s.into()))
    }

    #[test]
    fn email_keeps_first_letters_and_top_level_domain() {
        assert_eq!(email("alice@example.com"), "a***@e***.com");
        assert_eq!(email("bob@mail.example.co.uk"), "b***@m***.uk");
        assert_eq!(email("x@localhost"), "x***@l***");
        assert_eq!(email("not-an-address"), "***");
    }

    #[test]
    fn phone_keeps_country_code_and_last_four_digits() {
        assert_eq!(phone("+8613800138000"), "+86*******8000");
        assert_eq!(phone("+14155552671"), "+1******2671");
        assert_eq!(phone("+442071838750"), "+44******8750");
        assert_eq!(phone("+35312345678"), "+353****5678");
    }

    #[test]
    fn short_or_odd_phone_numbers_stay_mostly_hidden() {
        assert_eq!(phone("+861234"), "+86**34");
        assert_eq!(phone("+86"), "+86");
        assert_eq!(phone("+86 138"), "***");
        assert_eq!(phone(""), "***");
    }

    proptest! {
        #[test]
        fn mask_never_reveals_a_whole_local_part(
            local in "[a-z0-9][a-z0-9._+-]{2,30}",
            name in "[a-z0-9][a-z0-9-]{0,20}",
            tld in "[a-z]{2,10}",
        ) {
            // The top-level domain is kept on purpose; a local part that is a piece of it
            // ("com" at a ".com" domain) cannot be told apart from it.
            prop_assume!(!format!(".{tld}").contains(&local));
            let m = email(&format!("{local}@{name}.{tld}"));
            prop_assert!(!m.contains(&local), "{} reveals {}", m, local);
        }

        #[test]
        fn mask_never_reveals_all_digits_of_a_phone_number(digits in "[1-9][0-9]{6,14}") {
            let m = phone(&format!("+{digits}"));
            prop_assert!(!m.contains(&digits), "{} reveals {}", m, digits);
            let shown = m.bytes().filter(u8::is_ascii_digit).count();
            prop_assert!(shown < digits.len());
        }
    }
}
