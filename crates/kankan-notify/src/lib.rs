//! Delivery of messages (verification codes, security notices) to people.
//!
//! Everything goes through one [`Messenger`] trait:
//!
//! - [`OutboxMessenger`]: the development outbox, one masked line per message in a file;
//! - [`SmtpMessenger`]: e-mail over SMTP (`lettre`);
//! - [`TwilioSms`]: SMS through Twilio's Programmable Messaging REST API;
//! - [`ChannelRouter`]: dispatches on the [`Recipient`] kind to an e-mail and an SMS messenger.
//!
//! Alarms to devices and services have their own modules: [`webpush`] (Web Push with VAPID and
//! RFC 8291 encryption) and [`webhook`] (HMAC-signed JSON POSTs); [`TwilioSms::call`] places
//! a voice call.
//!
//! [`guard`] keeps user-supplied targets (push endpoints, webhook URLs) off private addresses.
//!
//! [`build`] turns a [`MessengerConfig`] into the messenger the server uses.
//!
//! Privacy rule: no code in this crate writes a recipient in clear to a file or a log; it
//! writes [`mask`]`(recipient)` instead, and error texts coming back from providers are
//! scrubbed of the address before they leave the crate.

mod config;
pub mod guard;
mod mask;
mod outbox;
mod smtp;
mod twilio;
pub mod webhook;
pub mod webpush;

use std::fmt;

pub use config::{
    ChannelRouter, ConfigError, EmailChannelConfig, MessengerConfig, SmsChannelConfig, build,
    build_with_clock,
};
pub use mask::mask;
pub use outbox::OutboxMessenger;
pub use smtp::{SmtpConfig, SmtpMessenger, SmtpTls};
pub use twilio::{TwilioConfig, TwilioSms};

use kankan_base::ErrorKind;

/// Who a message goes to; validated and normalised by the caller.
///
/// `Email` holds a lowercase address, `Phone` an E.164 number such as `+8613800138000`.
/// `Debug` and `Display` show only the [`mask`]ed form.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Recipient {
    Email(String),
    Phone(String),
}

impl Recipient {
    /// The address in clear; use it only to hand the message to a provider.
    pub fn address(&self) -> &str {
        match self {
            Recipient::Email(s) | Recipient::Phone(s) => s,
        }
    }

    /// `"email"` or `"phone"`, for logs and errors.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Recipient::Email(_) => "email",
            Recipient::Phone(_) => "phone",
        }
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::Email(_) => write!(f, "Email({:?})", mask(self)),
            Recipient::Phone(_) => write!(f, "Phone({:?})", mask(self)),
        }
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask(self))
    }
}

/// One message to one person. The body is plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub to: Recipient,
    pub subject: String,
    pub body: String,
}

/// Why a message could not be delivered. Texts never hold the recipient in clear.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Trying again later may work: network down, timeout, SMTP 4xx, HTTP 429 or 5xx.
    #[error("message delivery temporarily failed: {0}")]
    Transient(String),
    /// The recipient cannot be reached this way: wrong channel, unknown mailbox, invalid number.
    #[error("recipient rejected: {0}")]
    Recipient(String),
    /// Retrying will not help until something is fixed: bad credentials, misconfiguration.
    #[error("message delivery failed: {0}")]
    Permanent(String),
}

impl SendError {
    /// `Unavailable` for transient failures, `InvalidArgument` for a rejected recipient,
    /// `Internal` for other permanent failures.
    pub fn kind(&self) -> ErrorKind {
        match self {
            SendError::Transient(_) => ErrorKind::Unavailable,
            SendError::Recipient(_) => ErrorKind::InvalidArgument,
            SendError::Permanent(_) => ErrorKind::Internal,
        }
    }

    /// Whether sending the same message later could succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, SendError::Transient(_))
    }
}

/// Delivers messages to people.
#[async_trait::async_trait]
pub trait Messenger: Send + Sync + 'static {
    /// Sends `msg`; `Ok` means the provider accepted it, not that it was read.
    async fn send(&self, msg: &Message) -> Result<(), SendError>;
}

/// Replaces every occurrence of the recipient's address in `text` by its mask, so provider
/// error texts (which often echo the address) can be logged and returned.
pub(crate) fn scrub(text: &str, to: &Recipient) -> String {
    let addr = to.address();
    if addr.is_empty() {
        return text.to_owned();
    }
    let mut out = text.replace(addr, &mask(to));
    // Providers may echo a phone number without its `+`, or an address in another case.
    if let Recipient::Phone(p) = to {
        if let Some(digits) = p.strip_prefix('+').filter(|d| d.len() >= 4) {
            out = out.replace(digits, &mask(to));
        }
    } else if out.to_ascii_lowercase().contains(addr) {
        out = replace_ignore_ascii_case(&out, addr, &mask(to));
    }
    out
}

fn replace_ignore_ascii_case(text: &str, needle: &str, with: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let needle = needle.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (i, _) in lower.match_indices(&needle) {
        if i < last {
            continue;
        }
        out.push_str(&text[last..i]);
        out.push_str(with);
        last = i + needle.len();
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_of_a_recipient_are_masked() {
        let r = Recipient::Phone("+8613800138000".into());
        assert_eq!(format!("{r:?}"), "Phone(\"+86*******8000\")");
        assert_eq!(r.to_string(), "+86*******8000");
        let e = Recipient::Email("alice@example.com".into());
        assert!(!format!("{e:?}").contains("alice"));
    }

    #[test]
    fn error_kinds_follow_the_variant() {
        assert_eq!(SendError::Transient("x".into()).kind(), ErrorKind::Unavailable);
        assert_eq!(SendError::Recipient("x".into()).kind(), ErrorKind::InvalidArgument);
        assert_eq!(SendError::Permanent("x".into()).kind(), ErrorKind::Internal);
        assert!(SendError::Transient("x".into()).is_transient());
        assert!(!SendError::Permanent("x".into()).is_transient());
        assert!(!SendError::Recipient("x".into()).is_transient());
    }

    #[test]
    fn scrub_hides_addresses_echoed_by_providers() {
        let to = Recipient::Email("bob@example.com".into());
        let s = scrub("550 5.1.1 <BOB@Example.com>: user unknown", &to);
        assert_eq!(s, "550 5.1.1 <b***@e***.com>: user unknown");

        let to = Recipient::Phone("+15005550001".into());
        let s = scrub("The 'To' number +15005550001 is not valid (15005550001)", &to);
        assert!(!s.contains("5005550001"), "{s}");
    }
}
