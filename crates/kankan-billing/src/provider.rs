//! The payment provider adapter: what Kankan asks of Stripe, Alipay or WeChat Pay, in one
//! trait. An adapter creates a hosted checkout for an order (a URL to send the buyer to, and
//! the provider's reference), verifies and parses the provider's webhook into a typed
//! [`ProviderEvent`], and asks for a refund. Adapters never see nor return card or payer-account
//! data: an event carries only the event id, the order it is about, paid/failed/refunded, the
//! amount and currency, and the provider's payment reference.

use async_trait::async_trait;
use kankan_base::Timestamp;
use reqwest::header::HeaderMap;

use crate::Order;

/// What a checkout needs besides the order: where the provider sends the buyer back and where
/// it sends its notifications (for providers that take it per order).
#[derive(Debug, Clone)]
pub struct CheckoutRequest<'a> {
    pub order: &'a Order,
    /// The return page after paying.
    pub success_url: String,
    /// The return page after giving up.
    pub cancel_url: String,
    /// `POST /api/v1/billing/webhooks/{provider}` on the public URL.
    pub notify_url: String,
}

/// A checkout the provider created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderCheckout {
    /// Where to send the buyer (the provider's hosted page, or a QR code's content).
    pub redirect_url: String,
    /// The provider's id of the checkout (Stripe's session id, the out_trade_no).
    pub reference: String,
}

/// What a webhook event says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Paid,
    Failed,
    Refunded,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Paid => "paid",
            EventKind::Failed => "failed",
            EventKind::Refunded => "refunded",
        }
    }
}

/// How an event names its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    /// Our order id (sent as the client reference, out_trade_no...).
    Order(uuid::Uuid),
    /// The provider's payment reference stored with the order when it was paid.
    Payment(String),
}

/// One verified provider event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEvent {
    /// The provider's event id: an event is applied once.
    pub event_id: String,
    pub order: OrderRef,
    pub kind: EventKind,
    /// The amount the event is for, in minor units (checked against the order).
    pub amount_minor: Option<i64>,
    /// ISO 4217, upper case (checked against the order).
    pub currency: Option<String>,
    /// The provider's payment reference (kept for refunds).
    pub payment_ref: Option<String>,
}

/// What the webhook answers when it took the event (or already had it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookAnswer {
    pub content_type: &'static str,
    pub body: String,
}

/// Why a provider call or webhook failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The webhook's signature is missing, malformed, wrong or out of its time window.
    #[error("bad signature: {0}")]
    BadSignature(String),
    /// Signed, but not a body we understand.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The provider could not be reached or answered 5xx/429: trying later may work.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the request (4xx).
    #[error("provider refused: {0}")]
    Refused(String),
}

/// A payment provider.
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// `stripe`, `alipay`, `wechat`: the `{provider}` of the webhook route.
    fn name(&self) -> &'static str;
    /// Creates the provider's checkout for a pending order.
    async fn create_checkout(
        &self,
        req: &CheckoutRequest<'_>,
    ) -> Result<ProviderCheckout, ProviderError>;
    /// Verifies a webhook's signature (first, before reading anything else) and parses it;
    /// `Ok(None)` for a verified event that is of no interest (answered as taken).
    fn parse_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Option<ProviderEvent>, ProviderError>;
    /// The body the provider expects when an event was taken.
    fn webhook_answer(&self) -> WebhookAnswer {
        WebhookAnswer { content_type: "application/json", body: "{\"received\":true}".into() }
    }
    /// Refunds an order's whole payment; the provider's refund id.
    async fn refund(&self, order: &Order, payment_ref: &str) -> Result<String, ProviderError>;
}

/// Whether `c` is an ISO 4217-shaped code: three upper-case ASCII letters.
pub fn is_currency(c: &str) -> bool {
    c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())
}

/// Digits after the decimal point of a currency's major unit (ISO 4217): 0 for the
/// currencies without minor units, 3 for the dinars, else 2.
pub fn minor_digits(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

/// An amount in minor units as a decimal in major units (`1999`, `USD` → `19.99`).
pub fn format_major(amount_minor: i64, currency: &str) -> String {
    let digits = minor_digits(currency);
    if digits == 0 {
        return amount_minor.to_string();
    }
    let scale = 10i64.pow(digits);
    let sign = if amount_minor < 0 { "-" } else { "" };
    let a = amount_minor.unsigned_abs();
    let s = scale.unsigned_abs();
    format!("{sign}{}.{:0width$}", a / s, a % s, width = digits as usize)
}

/// The inverse of [`format_major`] for a non-negative decimal (`"19.99"`, `"20"`, `"0.5"`);
/// `None` for anything else (signs, exponents, more digits than the currency has, overflow).
pub fn parse_major(s: &str, currency: &str) -> Option<i64> {
    let digits = minor_digits(currency) as usize;
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || int.len() > 15 || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    if frac.len() > digits || (s.contains('.') && frac.is_empty()) {
        return None;
    }
    let int: i64 = int.parse().ok()?;
    let mut f: i64 = if frac.is_empty() { 0 } else { frac.parse().ok()? };
    for _ in frac.len()..digits {
        f *= 10;
    }
    int.checked_mul(10i64.pow(digits as u32))?.checked_add(f)
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Maps an HTTP answer's status to the error for a failed call.
pub(crate) fn status_error(status: reqwest::StatusCode, body: &str) -> ProviderError {
    let brief: String = body.chars().take(200).collect();
    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        ProviderError::Unavailable(format!("{status}: {brief}"))
    } else {
        ProviderError::Refused(format!("{status}: {brief}"))
    }
}

/// The HTTP client of the adapters: a whole-request timeout, no redirects (an API answer that
/// redirects is an error), no proxy from the environment.
pub(crate) fn client(timeout_secs: u64) -> Result<reqwest::Client, String> {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race against another installer is fine: a provider is then installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(timeout_secs))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn amounts_format_with_their_currencys_digits() {
        assert_eq!(format_major(1999, "USD"), "19.99");
        assert_eq!(format_major(5, "EUR"), "0.05");
        assert_eq!(format_major(500, "JPY"), "500");
        assert_eq!(format_major(1234, "KWD"), "1.234");
    }

    #[test]
    fn decimals_parse_exactly_or_not_at_all() {
        assert_eq!(parse_major("19.99", "CNY"), Some(1999));
        assert_eq!(parse_major("0.5", "CNY"), Some(50));
        assert_eq!(parse_major("20", "CNY"), Some(2000));
        for bad in ["", "1.", ".5", "-1", "1e3", "1.999", "+1", " 1", "1,00", "99999999999999999"] {
            assert_eq!(parse_major(bad, "CNY"), None, "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn parse_inverts_format(a in 0i64..1_000_000_000_000, c in prop::sample::select(vec!["USD", "JPY", "KWD"])) {
            prop_assert_eq!(parse_major(&format_major(a, c), c), Some(a));
        }

        #[test]
        fn parse_never_panics(s in ".{0,24}") {
            let _ = parse_major(&s, "USD");
        }
    }
}
