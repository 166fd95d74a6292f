//! Webhooks: a JSON body POSTed to a user's URL, signed so the receiver can check it came
//! from us and is fresh.
//!
//! The signature header is `Kankan-Signature: t=<unix seconds>,v1=<hex>` where `<hex>` is
//! HMAC-SHA256 keyed with the webhook's secret over `"<t>." + body` (the scheme Stripe made
//! familiar). A receiver recomputes it, compares in constant time and refuses old `t`.
//!
//! Answers: 2xx delivered; 410 means the receiver wants no more (rejected, `"gone"`); 429 and
//! 5xx, timeouts (10 s) and connection failures are transient; any other answer rejects the
//! delivery, as does a client built on [`crate::guard::guarded_client`] refusing a host that
//! resolves to a private address. Error texts name the URL's host only: webhook URLs often carry tokens.

use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use sha2::Sha256;

/// The header carrying [`sign`]'s value.
pub const SIGNATURE_HEADER: &str = "Kankan-Signature";
/// How long one delivery may take, connection included.
pub const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a webhook delivery failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// Trying again later may work: 429, 5xx, a timeout, no connection.
    #[error("webhook delivery temporarily failed: {0}")]
    Transient(String),
    /// The receiver refused (4xx; `"gone"` for 410); retrying will not help.
    #[error("webhook rejected: {0}")]
    Rejected(String),
}

impl WebhookError {
    /// Whether delivering the same body later could succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, WebhookError::Transient(_))
    }
}

/// The [`SIGNATURE_HEADER`] value for `body` sent at `timestamp_s`:
/// `t=<timestamp_s>,v1=<hex HMAC-SHA256(secret, "<timestamp_s>." + body)>`.
pub fn sign(secret: &[u8], timestamp_s: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(timestamp_s.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    format!("t={timestamp_s},v1={hex}")
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// POSTs `body` (JSON) to `url`, signed with `secret` at `now_s`; gives up after 10 s.
pub async fn post(
    http: &reqwest::Client,
    url: &str,
    secret: &[u8],
    body: &[u8],
    now_s: i64,
) -> Result<(), WebhookError> {
    post_with_timeout(http, url, secret, body, now_s, POST_TIMEOUT).await
}

/// [`post`] with another time limit.
pub async fn post_with_timeout(
    http: &reqwest::Client,
    url: &str,
    secret: &[u8],
    body: &[u8],
    now_s: i64,
    timeout: Duration,
) -> Result<(), WebhookError> {
    let parsed = url::Url::parse(url)
        .map_err(|e| WebhookError::Rejected(format!("webhook URL is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "https" | "http") {
        return Err(WebhookError::Rejected("webhook URL must be http(s)".into()));
    }
    let host = parsed.host_str().unwrap_or("?").to_owned();
    let result = http
        .post(parsed)
        .timeout(timeout)
        .header("Content-Type", "application/json")
        .header(SIGNATURE_HEADER, sign(secret, now_s, body))
        .body(body.to_vec())
        .send()
        .await;
    let response = match result {
        Ok(r) => r,
        Err(e) if crate::guard::is_private_target_error(&e) => {
            return Err(WebhookError::Rejected(format!("{host} points at a private address")));
        }
        Err(e) => {
            let what = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "failed: cannot connect"
            } else {
                "failed"
            };
            return Err(WebhookError::Transient(format!("POST to {host} {what}")));
        }
    };
    let status = response.status();
    if status.is_success() {
        tracing::debug!(webhook_host = %host, %status, "webhook delivered");
        return Ok(());
    }
    Err(match status {
        StatusCode::GONE => WebhookError::Rejected("gone".into()),
        s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
            WebhookError::Transient(format!("{host} answered {status}"))
        }
        _ => WebhookError::Rejected(format!("{host} answered {status}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Computed independently with Python:
    // hmac.new(b"whsec_test_secret", b"1700000000." + body, hashlib.sha256).hexdigest()
    #[test]
    fn signature_matches_an_independent_hmac() {
        let body = br#"{"event":"motion","id":"e1"}"#;
        assert_eq!(
            sign(b"whsec_test_secret", 1_700_000_000, body),
            "t=1700000000,v1=330b33f4c535e6601391661acd3f6deb6f12b78fd6d8d76b0150c7b0d10242ad"
        );
        assert_eq!(
            sign(b"", 0, b""),
            "t=0,v1=b849d5a581847b281957065739df36df2463d1977ea8d6e1e4e6cf33fadc68c3"
        );
    }

    #[test]
    fn signature_covers_timestamp_body_and_secret() {
        let base = sign(b"k", 1, b"{}");
        assert_ne!(base, sign(b"k", 2, b"{}"));
        assert_ne!(base, sign(b"k", 1, b"{ }"));
        assert_ne!(base, sign(b"j", 1, b"{}"));
    }
}
