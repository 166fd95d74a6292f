//! Account identifiers: an e-mail address or an E.164 phone number, validated and normalised
//! so one person cannot hold two accounts through spelling.

use kankan_db::ContactKind;
use kankan_notify::Recipient;

use crate::CoreError;

/// A validated, normalised identifier.
#[derive(Clone, PartialEq, Eq)]
pub struct Identifier {
    kind: ContactKind,
    value: String,
}

impl std::fmt::Debug for Identifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the identifier itself: it is personal data.
        write!(f, "Identifier({})", self.kind.as_str())
    }
}

const MAX_EMAIL: usize = 254;

impl Identifier {
    /// Parses what a person typed: an e-mail address, or a phone number in international
    /// form (`+` and country code; spaces, dashes, dots and brackets are ignored).
    pub fn parse(input: &str) -> Result<Identifier, CoreError> {
        let s = input.trim();
        if s.len() > MAX_EMAIL {
            return Err(CoreError::InvalidIdentifier("the identifier is too long".into()));
        }
        if s.contains('@') {
            parse_email(s)
        } else if s.starts_with('+') || s.starts_with(|c: char| c.is_ascii_digit()) {
            parse_phone(s)
        } else {
            Err(CoreError::InvalidIdentifier(
                "enter an e-mail address or a phone number starting with + and the country code"
                    .into(),
            ))
        }
    }

    pub fn kind(&self) -> ContactKind {
        self.kind
    }

    /// The normalised form (lowercase e-mail, `+` and digits for phones).
    pub fn as_str(&self) -> &str {
        &self.value
    }

    pub fn recipient(&self) -> Recipient {
        match self.kind {
            ContactKind::Email => Recipient::Email(self.value.clone()),
            ContactKind::Phone => Recipient::Phone(self.value.clone()),
        }
    }

    /// Rebuilds an identifier from its stored, already normalised form.
    pub fn from_stored(kind: ContactKind, value: String) -> Identifier {
        Identifier { kind, value }
    }
}

fn invalid_email() -> CoreError {
    CoreError::InvalidIdentifier("this is not a valid e-mail address".into())
}

fn parse_email(s: &str) -> Result<Identifier, CoreError> {
    let (local, domain) = s.rsplit_once('@').ok_or_else(invalid_email)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    if !local_ok || !domain_ok {
        return Err(invalid_email());
    }
    Ok(Identifier { kind: ContactKind::Email, value: s.to_ascii_lowercase() })
}

fn parse_phone(s: &str) -> Result<Identifier, CoreError> {
    let invalid = |why: &str| CoreError::InvalidIdentifier(format!("invalid phone number: {why}"));
    let Some(rest) = s.strip_prefix('+') else {
        return Err(invalid("start with + and the country code, e.g. +86 138 0013 8000"));
    };
    let mut digits = String::with_capacity(16);
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => {
                return Err(invalid("only digits, spaces, dashes, dots and brackets may follow +"));
            }
        }
    }
    if !(8..=15).contains(&digits.len()) {
        return Err(invalid("E.164 numbers have 8 to 15 digits"));
    }
    if digits.starts_with('0') {
        return Err(invalid("a country code never starts with 0"));
    }
    Ok(Identifier { kind: ContactKind::Phone, value: format!("+{digits}") })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails_are_normalised_to_lowercase() {
        let id = Identifier::parse("  Alice.Smith@Example.COM ").expect("valid");
        assert_eq!(id.kind(), ContactKind::Email);
        assert_eq!(id.as_str(), "alice.smith@example.com");
    }

    #[test]
    fn phones_are_normalised_to_e164() {
        let id = Identifier::parse("+86 (138) 0013-8000").expect("valid");
        assert_eq!(id.kind(), ContactKind::Phone);
        assert_eq!(id.as_str(), "+8613800138000");
    }

    #[test]
    fn malformed_identifiers_are_refused() {
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "alice@example",
            "a..b@example.com",
            "alice@-example.com",
            "alice@example.c0m",
            "13800138000",
            "+0123456789",
            "+12345",
            "+1234567890123456",
            "+86 138 abc",
            "alice@exa mple.com",
            "\u{0}@x.io",
        ] {
            assert!(Identifier::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Identifier::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn debug_never_shows_the_identifier() {
        let id = Identifier::parse("secret.person@example.com").expect("valid");
        assert!(!format!("{id:?}").contains("secret"));
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_output_is_a_fixed_point(s in "\\PC{0,80}") {
            if let Ok(id) = Identifier::parse(&s) {
                let again = Identifier::parse(id.as_str()).expect("normalised form parses");
                prop_assert_eq!(again, id);
            }
        }

        #[test]
        fn any_e164_number_parses(cc in 1u32..999, rest in "[0-9]{7,12}") {
            let s = format!("+{cc}{rest}");
            if s.len() <= 16 {
                let id = Identifier::parse(&s).expect("valid E.164");
                prop_assert_eq!(id.as_str(), s.as_str());
            }
        }
    }
}
