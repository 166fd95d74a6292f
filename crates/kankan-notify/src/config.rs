//! Channel configuration, the [`ChannelRouter`] and [`build`], which wires them together.
//!
//! ```toml
//! [email]                 # default: kind = "outbox"
//! kind = "smtp"
//! host = "smtp.example.com"
//! port = 465
//! tls = "tls"
//! username = "kankan"
//! password = "app-password"
//! from = "Kankan <noreply@example.com>"
//!
//! [sms]                   # default: kind = "outbox"
//! kind = "twilio"
//! account_sid = "AC0123456789abcdef0123456789abcdef"
//! auth_token = "..."
//! messaging_service_sid = "MG0123456789abcdef0123456789abcdef"
//! ```

use std::path::Path;
use std::sync::Arc;

use kankan_base::{Clocks, RealClock};

use crate::{
    Message, Messenger, OutboxMessenger, Recipient, SendError, SmtpConfig, SmtpMessenger,
    TwilioConfig, TwilioSms,
};

/// A configuration that cannot work, found before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid messenger setting {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

/// How e-mail is delivered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum EmailChannelConfig {
    /// Written to the development outbox, not sent. (A struct variant, not a unit one, so
    /// that serde rejects unknown fields next to `kind = "outbox"`.)
    Outbox {},
    Smtp(SmtpConfig),
}

/// How SMS is delivered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum SmsChannelConfig {
    /// Written to the development outbox, not sent. (A struct variant, not a unit one, so
    /// that serde rejects unknown fields next to `kind = "outbox"`.)
    Outbox {},
    Twilio(TwilioConfig),
}

impl Default for EmailChannelConfig {
    fn default() -> Self {
        EmailChannelConfig::Outbox {}
    }
}

impl Default for SmsChannelConfig {
    fn default() -> Self {
        SmsChannelConfig::Outbox {}
    }
}

/// Both channels; each defaults to the outbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MessengerConfig {
    pub email: EmailChannelConfig,
    pub sms: SmsChannelConfig,
}

/// Sends e-mail recipients through one messenger and phone recipients through another.
pub struct ChannelRouter {
    email: Arc<dyn Messenger>,
    sms: Arc<dyn Messenger>,
}

impl std::fmt::Debug for ChannelRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelRouter").finish_non_exhaustive()
    }
}

impl ChannelRouter {
    pub fn new(email: Arc<dyn Messenger>, sms: Arc<dyn Messenger>) -> Self {
        ChannelRouter { email, sms }
    }
}

#[async_trait::async_trait]
impl Messenger for ChannelRouter {
    async fn send(&self, msg: &Message) -> Result<(), SendError> {
        match msg.to {
            Recipient::Email(_) => self.email.send(msg).await,
            Recipient::Phone(_) => self.sms.send(msg).await,
        }
    }
}

/// The messenger `config` describes; outbox channels append to `outbox_path`.
pub fn build(
    config: &MessengerConfig,
    outbox_path: &Path,
) -> Result<Arc<dyn Messenger>, ConfigError> {
    build_with_clock(config, outbox_path, Arc::new(RealClock))
}

/// [`build`], with outbox lines stamped by `clock`.
pub fn build_with_clock(
    config: &MessengerConfig,
    outbox_path: &Path,
    clock: Clocks,
) -> Result<Arc<dyn Messenger>, ConfigError> {
    // One outbox for both channels, so its lines never interleave. Once either channel is
    // real, this is no development server: what goes to the outbox stays out of the log.
    let dev_only =
        config.email == EmailChannelConfig::Outbox {} && config.sms == SmsChannelConfig::Outbox {};
    let outbox = OutboxMessenger::with_clock(outbox_path, clock);
    let outbox: Arc<dyn Messenger> = Arc::new(if dev_only { outbox } else { outbox.quiet() });
    let email: Arc<dyn Messenger> = match &config.email {
        EmailChannelConfig::Outbox {} => Arc::clone(&outbox),
        EmailChannelConfig::Smtp(smtp) => Arc::new(SmtpMessenger::new(smtp)?),
    };
    let sms: Arc<dyn Messenger> = match &config.sms {
        SmsChannelConfig::Outbox {} => Arc::clone(&outbox),
        SmsChannelConfig::Twilio(twilio) => Arc::new(TwilioSms::new(twilio)?),
    };
    Ok(Arc::new(ChannelRouter::new(email, sms)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SmtpTls;
    use kankan_base::Secret;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recording(Mutex<Vec<String>>);

    #[async_trait::async_trait]
    impl Messenger for Recording {
        async fn send(&self, msg: &Message) -> Result<(), SendError> {
            self.0.lock().expect("lock").push(msg.to.address().to_owned());
            Ok(())
        }
    }

    fn msg(to: Recipient) -> Message {
        Message { to, subject: "s".into(), body: "b".into() }
    }

    #[tokio::test]
    async fn router_dispatches_on_recipient_kind() {
        let email = Arc::new(Recording::default());
        let sms = Arc::new(Recording::default());
        let router = ChannelRouter::new(email.clone(), sms.clone());
        router.send(&msg(Recipient::Email("a@example.com".into()))).await.expect("send");
        router.send(&msg(Recipient::Phone("+14155552671".into()))).await.expect("send");
        assert_eq!(*email.0.lock().expect("lock"), ["a@example.com"]);
        assert_eq!(*sms.0.lock().expect("lock"), ["+14155552671"]);
    }

    #[test]
    fn empty_config_means_outbox_for_both_channels() {
        let cfg: MessengerConfig = serde_json::from_str("{}").expect("parse");
        assert_eq!(cfg, MessengerConfig::default());
        assert_eq!(cfg.email, EmailChannelConfig::Outbox {});
        assert_eq!(cfg.sms, SmsChannelConfig::Outbox {});
    }

    #[test]
    fn smtp_channel_parses_from_json() {
        let cfg: MessengerConfig = serde_json::from_str(
            r#"{"email": {"kind": "smtp", "host": "smtp.example.com", "port": 587,
                "tls": "starttls", "username": "u", "password": "p",
                "from": "Kankan <noreply@example.com>"}}"#,
        )
        .expect("parse");
        let EmailChannelConfig::Smtp(smtp) = cfg.email else { panic!("not smtp: {cfg:?}") };
        assert_eq!(smtp.tls, SmtpTls::Starttls);
        assert_eq!(smtp.password, Some(Secret::new("p")));
        assert_eq!(smtp.timeout_secs, 10);
        assert_eq!(cfg.sms, SmsChannelConfig::Outbox {});
    }

    #[test]
    fn twilio_channel_parses_from_toml_with_defaults() {
        let cfg: MessengerConfig = toml::from_str(
            r#"
            [sms]
            kind = "twilio"
            account_sid = "AC123"
            auth_token = "tok"
            from = "+15005550006"
            "#,
        )
        .expect("parse");
        let SmsChannelConfig::Twilio(t) = cfg.sms else { panic!("not twilio: {cfg:?}") };
        assert_eq!(t.api_base, "https://api.twilio.com");
        assert_eq!(t.timeout_secs, 10);
        assert_eq!(t.messaging_service_sid, None);
    }

    #[test]
    fn unknown_fields_are_rejected_at_every_level() {
        let cases = [
            r#"{"mail": {"kind": "outbox"}}"#,
            r#"{"email": {"kind": "outbox", "path": "/tmp/x"}}"#,
            r#"{"email": {"kind": "pigeon"}}"#,
            r#"{"email": {"kind": "smtp", "host": "h", "port": 25, "tls": "none",
                "from": "a@b.c", "pasword": "typo"}}"#,
            r#"{"email": {"kind": "smtp", "host": "h", "port": 25, "tls": "ssl", "from": "a@b.c"}}"#,
            r#"{"sms": {"kind": "twilio", "account_sid": "AC1", "auth_token": "t",
                "from": "+1", "region": "ie1"}}"#,
        ];
        for case in cases {
            let parsed = serde_json::from_str::<MessengerConfig>(case);
            assert!(parsed.is_err(), "accepted {case}: {parsed:?}");
        }
    }

    #[test]
    fn config_dump_round_trips_and_redacts_secrets() {
        let cfg = MessengerConfig {
            email: EmailChannelConfig::Smtp(SmtpConfig {
                host: "smtp.example.com".into(),
                port: 465,
                tls: SmtpTls::Tls,
                username: Some("u".into()),
                password: Some(Secret::new("hunter2")),
                from: "Kankan <noreply@example.com>".into(),
                timeout_secs: 10,
            }),
            sms: SmsChannelConfig::Outbox {},
        };
        let dumped = toml::to_string(&cfg).expect("to toml");
        assert!(!dumped.contains("hunter2"), "{dumped}");
        assert!(dumped.contains("kind = \"smtp\""), "{dumped}");
        let back: MessengerConfig = toml::from_str(&dumped).expect("parse dump");
        let EmailChannelConfig::Smtp(smtp) = back.email else { panic!("not smtp") };
        assert_eq!(smtp.password, Some(Secret::new("[redacted]")));
        assert_eq!(back.sms, SmsChannelConfig::Outbox {});
    }

    #[tokio::test]
    async fn default_build_writes_both_channels_to_the_outbox() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("outbox.log");
        let messenger = build(&MessengerConfig::default(), &path).expect("build");
        messenger.send(&msg(Recipient::Email("a@example.com".into()))).await.expect("send");
        messenger.send(&msg(Recipient::Phone("+14155552671".into()))).await.expect("send");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(text.lines().count(), 2);
    }

    #[test]
    fn build_reports_a_bad_channel_config() {
        let cfg = MessengerConfig {
            email: EmailChannelConfig::Outbox {},
            sms: SmsChannelConfig::Twilio(TwilioConfig {
                account_sid: String::new(),
                auth_token: Secret::new("t"),
                from: Some("+15005550006".into()),
                messaging_service_sid: None,
                api_base: "https://api.twilio.com".into(),
                timeout_secs: 10,
            }),
        };
        let err = build(&cfg, Path::new("/nonexistent/outbox.log")).err();
        assert!(matches!(err, Some(ConfigError::Invalid { field: "twilio.account_sid", .. })));
    }
}
