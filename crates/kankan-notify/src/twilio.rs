//! SMS through Twilio's Programmable Messaging REST API, and voice calls through its Voice API.
//!
//! SMS: `POST {api_base}/2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP Basic auth
//! (`AccountSid:AuthToken`) and a form body `To`, `From` or `MessagingServiceSid`, `Body`.
//! Twilio answers `201 Created` with the message resource (`sid`, `status`, ...), or an error
//! object `{code, message, more_info, status}`. SMS has no subject: [`Message::subject`] is not
//! sent.
//!
//! Calls ([`TwilioSms::call`]): `POST .../Accounts/{AccountSid}/Calls.json` with `To`, `From`
//! (a number: messaging services cannot call) and `Twiml` = `<Response><Say>text</Say></Response>`,
//! which Twilio reads out when the callee answers. Same answers, same mapping.
//!
//! Mapping: 429 and 5xx, timeouts and connection failures are transient; 4xx whose Twilio code
//! says the number cannot be reached (21211, 21217, 21408, 21610, 21612, 21614, 13224) reject
//! the recipient; any other answer is permanent (e.g. 401 with code 20003: bad credentials).

use std::time::Duration;

use kankan_base::Secret;
use reqwest::StatusCode;

use crate::{ConfigError, Message, Messenger, Recipient, SendError, mask, scrub};

/// Twilio account settings.
///
/// ```toml
/// kind = "twilio"
/// account_sid = "AC0123456789abcdef0123456789abcdef"
/// auth_token = "..."
/// from = "+15005550006"          # or: messaging_service_sid = "MG..."
/// api_base = "https://api.twilio.com"
/// timeout_secs = 10
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct TwilioConfig {
    pub account_sid: String,
    pub auth_token: Secret,
    /// Sending number (E.164) or alphanumeric sender id; used when no messaging service is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Messaging Service to send through; takes precedence over `from`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_service_sid: Option<String>,
    #[serde(default = "default_api_base")]
    pub api_base: String,
    /// Limit for the whole request, connection included.
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_api_base() -> String {
    String::from("https://api.twilio.com")
}

fn default_timeout_secs() -> u64 {
    10
}

/// Twilio error codes meaning "this number cannot receive this message".
const RECIPIENT_CODES: &[i64] = &[21211, 21217, 21408, 21610, 21612, 21614, 13224];

#[derive(Debug)]
enum Sender {
    From(String),
    MessagingService(String),
}

/// Sends [`Recipient::Phone`] messages as SMS through Twilio, and places voice calls.
pub struct TwilioSms {
    client: reqwest::Client,
    url: String,
    calls_url: String,
    account_sid: String,
    auth_token: Secret,
    sender: Sender,
}

impl std::fmt::Debug for TwilioSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioSms")
            .field("url", &self.url)
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

#[derive(serde::Deserialize)]
struct Created {
    sid: Option<String>,
    status: Option<String>,
}

#[derive(serde::Deserialize)]
struct TwilioError {
    code: Option<i64>,
    message: Option<String>,
    more_info: Option<String>,
}

fn is_sid(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

impl TwilioSms {
    /// Checks `config` and builds the HTTP client; does not connect.
    ///
    /// If no process-wide rustls crypto provider is installed yet, installs `ring`'s (the one
    /// the server installs at start), since the HTTP client needs one.
    pub fn new(config: &TwilioConfig) -> Result<Self, ConfigError> {
        let invalid = |field: &'static str, reason: &str| ConfigError::Invalid {
            field,
            reason: reason.to_owned(),
        };
        if !is_sid(&config.account_sid) {
            return Err(invalid("twilio.account_sid", "must be a non-empty alphanumeric SID"));
        }
        if config.auth_token.expose().is_empty() {
            return Err(invalid("twilio.auth_token", "must not be empty"));
        }
        let sender = match (&config.messaging_service_sid, &config.from) {
            (Some(sid), _) if is_sid(sid) => Sender::MessagingService(sid.clone()),
            (Some(_), _) => {
                return Err(invalid("twilio.messaging_service_sid", "must be alphanumeric"));
            }
            (None, Some(from)) if !from.trim().is_empty() => Sender::From(from.clone()),
            (None, _) => {
                return Err(invalid("twilio.from", "set from or messaging_service_sid"));
            }
        };
        let base = config.api_base.trim_end_matches('/');
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(invalid("twilio.api_base", "must be an http(s):// URL"));
        }
        if config.timeout_secs == 0 {
            return Err(invalid("twilio.timeout_secs", "must be at least 1"));
        }
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Losing a race against another installer is fine: a provider is then installed.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kankan/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConfigError::Invalid {
                field: "twilio",
                reason: format!("cannot build HTTP client: {e}"),
            })?;
        Ok(TwilioSms {
            client,
            url: format!("{base}/2010-04-01/Accounts/{}/Messages.json", config.account_sid),
            calls_url: format!("{base}/2010-04-01/Accounts/{}/Calls.json", config.account_sid),
            account_sid: config.account_sid.clone(),
            auth_token: config.auth_token.clone(),
            sender,
        })
    }
}

#[async_trait::async_trait]
impl Messenger for TwilioSms {
    async fn send(&self, msg: &Message) -> Result<(), SendError> {
        let Recipient::Phone(number) = &msg.to else {
            return Err(SendError::Recipient(format!(
                "the Twilio messenger sends SMS only, not to an {}",
                msg.to.kind_name()
            )));
        };
        let sender = match &self.sender {
            Sender::From(from) => ("From", from.as_str()),
            Sender::MessagingService(sid) => ("MessagingServiceSid", sid.as_str()),
        };
        let form = [("To", number.as_str()), sender, ("Body", msg.body.as_str())];
        self.create(&self.url, &form, &msg.to, "SMS").await
    }
}

impl TwilioSms {
    /// Calls `to` (E.164) and has Twilio read `say` aloud when answered; `Ok` means Twilio
    /// queued the call, not that anyone picked up. Needs `from` (a voice-capable number).
    pub async fn call(&self, to: &str, say: &str) -> Result<(), SendError> {
        let recipient = Recipient::Phone(to.to_owned());
        let Sender::From(from) = &self.sender else {
            return Err(SendError::Permanent(
                "voice calls need twilio.from (a messaging service cannot call)".into(),
            ));
        };
        let twiml = format!("<Response><Say>{}</Say></Response>", xml_escape(say));
        let form = [("To", to), ("From", from.as_str()), ("Twiml", twiml.as_str())];
        self.create(&self.calls_url, &form, &recipient, "call").await
    }

    /// POSTs `form` to a Twilio list resource (`Messages.json`, `Calls.json`) and maps the
    /// answer; `what` names the thing in logs.
    async fn create(
        &self,
        url: &str,
        form: &[(&str, &str)],
        to: &Recipient,
        what: &'static str,
    ) -> Result<(), SendError> {
        let result = self
            .client
            .post(url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .form(form)
            .send()
            .await;
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                let text = scrub(&format!("Twilio request failed: {}", chain(&e)), to);
                let err = if e.is_builder() {
                    SendError::Permanent(text)
                } else {
                    SendError::Transient(text)
                };
                tracing::warn!(to = %mask(to), error = %err, "{what} not delivered");
                return Err(err);
            }
        };
        let status = response.status();
        // An unreadable body is handled like an empty one: the status decides.
        let body = response.bytes().await.unwrap_or_default();
        if status.is_success() {
            let created: Option<Created> = serde_json::from_slice(&body).ok();
            let (sid, state) = created.map(|c| (c.sid, c.status)).unwrap_or_default();
            tracing::debug!(
                to = %mask(to),
                sid = sid.as_deref().unwrap_or("?"),
                status = state.as_deref().unwrap_or("?"),
                "{what} accepted by Twilio"
            );
            return Ok(());
        }
        let err = classify(status, &body, to);
        tracing::warn!(to = %mask(to), error = %err, "{what} not delivered");
        Err(err)
    }
}

/// Escapes text for an XML element's content (and attributes).
fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters other than tab and newlines are not allowed in XML 1.0.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Maps a non-success Twilio answer onto a [`SendError`].
fn classify(status: StatusCode, body: &[u8], to: &Recipient) -> SendError {
    let parsed: Option<TwilioError> = serde_json::from_slice(body).ok();
    let code = parsed.as_ref().and_then(|e| e.code);
    let mut text = format!("Twilio answered {status}");
    if let Some(e) = &parsed {
        match (e.code, &e.message) {
            (Some(c), Some(m)) => text.push_str(&format!(": error {c}: {m}")),
            (Some(c), None) => text.push_str(&format!(": error {c}")),
            (None, Some(m)) => text.push_str(&format!(": {m}")),
            (None, None) => {}
        }
        if let Some(info) = &e.more_info {
            text.push_str(&format!(" ({info})"));
        }
    }
    let text = scrub(&text, to);
    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        SendError::Transient(text)
    } else if status.is_client_error() && code.is_some_and(|c| RECIPIENT_CODES.contains(&c)) {
        SendError::Recipient(text)
    } else {
        SendError::Permanent(text)
    }
}

/// The error's text followed by its sources ("error sending request: connection refused").
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> TwilioConfig {
        TwilioConfig {
            account_sid: "AC0123456789abcdef0123456789abcdef".into(),
            auth_token: Secret::new("token"),
            from: Some("+15005550006".into()),
            messaging_service_sid: None,
            api_base: default_api_base(),
            timeout_secs: 10,
        }
    }

    #[test]
    fn a_sender_is_required() {
        let cfg = TwilioConfig { from: None, ..config() };
        assert!(matches!(
            TwilioSms::new(&cfg),
            Err(ConfigError::Invalid { field: "twilio.from", .. })
        ));
    }

    #[test]
    fn account_sid_cannot_inject_a_path() {
        let cfg = TwilioConfig { account_sid: "AC1/../x".into(), ..config() };
        assert!(TwilioSms::new(&cfg).is_err());
    }

    #[test]
    fn trailing_slash_of_api_base_is_ignored() {
        let cfg = TwilioConfig { api_base: "http://127.0.0.1:9/".into(), ..config() };
        let sms = TwilioSms::new(&cfg).expect("config");
        assert_eq!(
            sms.url,
            "http://127.0.0.1:9/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"
        );
    }

    #[test]
    fn statuses_map_onto_error_kinds() {
        let to = Recipient::Phone("+15005550001".into());
        let body = br#"{"code":21211,"message":"The 'To' number +15005550001 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}"#;
        let err = classify(StatusCode::BAD_REQUEST, body, &to);
        assert!(matches!(err, SendError::Recipient(_)), "{err:?}");
        assert!(err.to_string().contains("21211"));
        assert!(!err.to_string().contains("5005550001"), "{err}");

        let err = classify(StatusCode::FORBIDDEN, b"{}", &to);
        assert!(matches!(err, SendError::Permanent(_)), "{err:?}");
        assert!(classify(StatusCode::BAD_GATEWAY, b"<html>", &to).is_transient());
        assert!(classify(StatusCode::TOO_MANY_REQUESTS, b"", &to).is_transient());
        assert!(!classify(StatusCode::MOVED_PERMANENTLY, b"", &to).is_transient());
    }

    #[test]
    fn spoken_text_is_escaped_for_twiml() {
        assert_eq!(
            xml_escape("Motion at <Front> & \"back\" 'door'\u{7}"),
            "Motion at &lt;Front&gt; &amp; &quot;back&quot; &apos;door&apos; "
        );
        assert_eq!(xml_escape("门口有人"), "门口有人");
    }

    #[tokio::test]
    async fn calls_through_a_messaging_service_are_refused_without_a_request() {
        let cfg = TwilioConfig {
            from: None,
            messaging_service_sid: Some("MG0123456789abcdef0123456789abcdef".into()),
            api_base: "http://127.0.0.1:9".into(),
            ..config()
        };
        let err = TwilioSms::new(&cfg)
            .expect("config")
            .call("+15005550001", "hi")
            .await
            .expect_err("no From number");
        assert!(matches!(err, SendError::Permanent(ref m) if m.contains("twilio.from")), "{err:?}");
    }

    #[tokio::test]
    async fn email_recipients_are_rejected_without_a_request() {
        let sms = TwilioSms::new(&config()).expect("config");
        let msg = Message {
            to: Recipient::Email("alice@example.com".into()),
            subject: "s".into(),
            body: "b".into(),
        };
        let err = sms.send(&msg).await.expect_err("e-mail must be refused");
        assert!(matches!(err, SendError::Recipient(_)), "{err:?}");
    }
}
