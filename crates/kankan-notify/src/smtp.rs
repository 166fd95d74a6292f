//! E-mail over SMTP through `lettre`'s Tokio transport.
//!
//! One connection per message (no pool). Replies are mapped onto [`SendError`]:
//! SMTP 4xx, connection, network, TLS and timeout failures are transient; 550, 551 and 553
//! (mailbox unavailable, not local, name not allowed) reject the recipient; every other 5xx is
//! permanent (bad credentials, policy).

use std::time::Duration;

use kankan_base::Secret;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::{ConfigError, Message, Messenger, Recipient, SendError, mask, scrub};

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text; only for a relay on the same host or a test server.
    None,
    /// Plain connection upgraded with STARTTLS, which is required (usually port 587).
    Starttls,
    /// TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

/// SMTP server settings.
///
/// ```toml
/// kind = "smtp"
/// host = "smtp.example.com"
/// port = 587
/// tls = "starttls"
/// username = "kankan"
/// password = "app-password"
/// from = "Kankan <noreply@example.com>"
/// timeout_secs = 10
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// The `From` mailbox, e.g. `Kankan <noreply@example.com>`.
    pub from: String,
    /// Limit for connecting and for each SMTP command.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_timeout_secs() -> u64 {
    10
}

/// Sends [`Recipient::Email`] messages through an SMTP server.
pub struct SmtpMessenger {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    server: String,
}

impl std::fmt::Debug for SmtpMessenger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMessenger").field("server", &self.server).finish_non_exhaustive()
    }
}

impl SmtpMessenger {
    /// Checks `config` and prepares the transport; does not connect.
    pub fn new(config: &SmtpConfig) -> Result<Self, ConfigError> {
        let invalid = |field: &'static str, reason: String| ConfigError::Invalid { field, reason };
        if config.host.trim().is_empty() {
            return Err(invalid("smtp.host", "must not be empty".into()));
        }
        if config.port == 0 {
            return Err(invalid("smtp.port", "must not be 0".into()));
        }
        if config.timeout_secs == 0 {
            return Err(invalid("smtp.timeout_secs", "must be at least 1".into()));
        }
        let from: Mailbox =
            config.from.parse().map_err(|e| invalid("smtp.from", format!("not a mailbox: {e}")))?;

        let tls_params = || {
            TlsParameters::new(config.host.clone())
                .map_err(|e| invalid("smtp.tls", format!("cannot set up TLS: {e}")))
        };
        let tls = match config.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Starttls => Tls::Required(tls_params()?),
            SmtpTls::Tls => Tls::Wrapper(tls_params()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(config.timeout_secs)));
        match (&config.username, &config.password) {
            (Some(user), Some(password)) => {
                if config.tls == SmtpTls::None {
                    tracing::warn!(
                        host = %config.host,
                        "SMTP credentials configured without TLS; they travel in clear"
                    );
                }
                builder = builder
                    .credentials(Credentials::new(user.clone(), password.expose().to_owned()));
            }
            (None, None) => {}
            (Some(_), None) => {
                return Err(invalid("smtp.password", "required when username is set".into()));
            }
            (None, Some(_)) => {
                return Err(invalid("smtp.username", "required when password is set".into()));
            }
        }
        Ok(SmtpMessenger {
            transport: builder.build(),
            from,
            server: format!("{}:{}", config.host, config.port),
        })
    }
}

#[async_trait::async_trait]
impl Messenger for SmtpMessenger {
    async fn send(&self, msg: &Message) -> Result<(), SendError> {
        let Recipient::Email(address) = &msg.to else {
            return Err(SendError::Recipient(format!(
                "the SMTP messenger sends e-mail only, not to a {}",
                msg.to.kind_name()
            )));
        };
        let to_address = address.parse().map_err(|_| {
            SendError::Recipient(format!("{} is not a valid e-mail address", mask(&msg.to)))
        })?;
        let email = lettre::Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, to_address))
            .subject(msg.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(msg.body.clone())
            .map_err(|e| {
                SendError::Permanent(scrub(&format!("cannot build e-mail: {e}"), &msg.to))
            })?;

        match self.transport.send(email).await {
            Ok(response) => {
                tracing::debug!(
                    to = %mask(&msg.to),
                    server = %self.server,
                    reply = response.code().to_string(),
                    "e-mail accepted by SMTP server"
                );
                Ok(())
            }
            Err(e) => {
                let err = classify(&e, &self.server, &msg.to);
                tracing::warn!(to = %mask(&msg.to), error = %err, "e-mail not delivered");
                Err(err)
            }
        }
    }
}

/// Maps a `lettre` SMTP error onto a [`SendError`], scrubbing the recipient from its text.
fn classify(e: &lettre::transport::smtp::Error, server: &str, to: &Recipient) -> SendError {
    let text = scrub(&format!("SMTP server {server}: {}", error_chain(e)), to);
    match e.status() {
        Some(code) if e.is_permanent() => match code.to_string().as_str() {
            "550" | "551" | "553" => SendError::Recipient(text),
            _ => SendError::Permanent(text),
        },
        Some(_) => SendError::Transient(text),
        // A client error is a bug or a message lettre refuses to send; retrying won't help.
        None if e.is_client() => SendError::Permanent(text),
        // Connection, network, TLS, timeout, garbled reply, shut-down transport.
        None => SendError::Transient(text),
    }
}

/// The error's text followed by its sources, so "connection error" says *why*.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port: 2525,
            tls: SmtpTls::None,
            username: None,
            password: None,
            from: "Kankan <noreply@example.com>".into(),
            timeout_secs: 10,
        }
    }

    #[test]
    fn config_with_a_bad_from_is_rejected() {
        let cfg = SmtpConfig { from: "not a mailbox".into(), ..config() };
        assert!(matches!(
            SmtpMessenger::new(&cfg),
            Err(ConfigError::Invalid { field: "smtp.from", .. })
        ));
    }

    #[test]
    fn username_without_password_is_rejected() {
        let cfg = SmtpConfig { username: Some("u".into()), ..config() };
        assert!(SmtpMessenger::new(&cfg).is_err());
    }

    #[test]
    fn tls_modes_build_a_transport() {
        for tls in [SmtpTls::None, SmtpTls::Starttls, SmtpTls::Tls] {
            let cfg = SmtpConfig { tls, host: "smtp.example.com".into(), ..config() };
            assert!(SmtpMessenger::new(&cfg).is_ok(), "{tls:?}");
        }
    }

    #[test]
    fn debug_of_config_hides_the_password() {
        let cfg = SmtpConfig {
            username: Some("u".into()),
            password: Some(Secret::new("hunter2")),
            ..config()
        };
        assert!(!format!("{cfg:?}").contains("hunter2"));
        let json = serde_json::to_string(&cfg).expect("serialize");
        assert!(!json.contains("hunter2") && json.contains("[redacted]"), "{json}");
    }

    #[tokio::test]
    async fn phone_recipients_are_rejected_without_connecting() {
        let smtp = SmtpMessenger::new(&config()).expect("config");
        let msg = Message {
            to: Recipient::Phone("+8613800138000".into()),
            subject: "s".into(),
            body: "b".into(),
        };
        let err = smtp.send(&msg).await.expect_err("phone must be refused");
        assert!(matches!(err, SendError::Recipient(_)), "{err:?}");
        assert!(!err.to_string().contains("13800138000"));
    }
}
