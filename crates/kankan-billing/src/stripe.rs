//! Stripe: Checkout Sessions and signed webhooks, per Stripe's API reference.
//!
//! - Checkout: `POST {api_base}/v1/checkout/sessions`, form-encoded, `Authorization: Bearer
//!   <secret key>`, `Idempotency-Key: <order id>`: `mode=payment`, one `line_items[0]` with
//!   `price_data` (currency in lower case, `unit_amount` in minor units, `product_data[name]`),
//!   `client_reference_id` and `metadata[order_id]` = the order id (also on the payment intent:
//!   `payment_intent_data[metadata][order_id]`), `success_url`, `cancel_url`. Stripe answers the
//!   session (`id`, `url`): the buyer goes to `url`.
//! - Webhooks: `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=...]`, where `v1` is
//!   HMAC-SHA256 of `"{t}.{body}"` under the endpoint's signing secret; the time must be within
//!   `tolerance_secs` of the server's clock (replays of an old signed body are refused). Events:
//!   `checkout.session.completed` with `payment_status` `paid` (and
//!   `checkout.session.async_payment_succeeded`) → paid; `checkout.session.expired` and
//!   `checkout.session.async_payment_failed` → failed; `charge.refunded` fully refunded →
//!   refunded (the order found by its payment intent). Other events are taken and ignored.
//! - Refunds: `POST /v1/refunds` with `payment_intent`, `Idempotency-Key: refund-<order id>`.

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use kankan_base::{Secret, Timestamp};
use reqwest::header::HeaderMap;
use serde::Deserialize;
use sha2::Sha256;

use crate::Order;
use crate::config::StripeConfig;
use crate::provider::{
    CheckoutRequest, EventKind, OrderRef, Provider, ProviderCheckout, ProviderError, ProviderEvent,
    client, hex, status_error,
};

/// The Stripe adapter.
pub struct Stripe {
    client: reqwest::Client,
    api_base: String,
    secret_key: Secret,
    webhook_secret: Secret,
    tolerance_secs: i64,
}

impl std::fmt::Debug for Stripe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stripe").field("api_base", &self.api_base).finish_non_exhaustive()
    }
}

/// A parsed `Stripe-Signature` header: the time and every `v1` signature (other schemes are
/// ignored, as Stripe documents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub t: i64,
    pub v1: Vec<Vec<u8>>,
}

/// Parses a `Stripe-Signature` header; `None` without a numeric `t` or without a `v1` of 64
/// hex digits.
pub fn parse_signature_header(h: &str) -> Option<SignatureHeader> {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in h.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "t" => t = Some(v.parse::<i64>().ok().filter(|t| *t >= 0)?),
            "v1" => v1.push(unhex(v)?),
            _ => {}
        }
    }
    if v1.is_empty() {
        return None;
    }
    Some(SignatureHeader { t: t?, v1 })
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok()).collect()
}

/// HMAC-SHA256 of `"{t}.{payload}"` under `secret`: what `v1` is.
pub fn sign(secret: &str, t: i64, payload: &[u8]) -> Vec<u8> {
    #[allow(clippy::expect_used)]
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    mac.finalize().into_bytes().to_vec()
}

/// The `Stripe-Signature` header value for `payload` signed at `t` (for stand-ins and tests).
pub fn signature_header(secret: &str, t: i64, payload: &[u8]) -> String {
    format!("t={t},v1={}", hex(&sign(secret, t, payload)))
}

/// Verifies a webhook: header present and well formed, time within `tolerance_secs` of `now`,
/// one `v1` matching (compared in constant time).
pub fn verify(
    secret: &str,
    header: Option<&str>,
    payload: &[u8],
    now: Timestamp,
    tolerance_secs: i64,
) -> Result<(), ProviderError> {
    let bad = |m: &str| ProviderError::BadSignature(m.to_string());
    let h = header.ok_or_else(|| bad("no Stripe-Signature header"))?;
    let sig = parse_signature_header(h).ok_or_else(|| bad("malformed Stripe-Signature"))?;
    let now_s = now.0.div_euclid(1000);
    if (now_s - sig.t).abs() > tolerance_secs {
        return Err(bad("the signed time is outside the tolerance"));
    }
    let expected = sign(secret, sig.t, payload);
    if sig.v1.iter().any(|v| kankan_base::constant_time_eq(v, &expected)) {
        Ok(())
    } else {
        Err(bad("no signature matches"))
    }
}

#[derive(Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: EventData,
}

#[derive(Deserialize)]
struct EventData {
    object: serde_json::Value,
}

#[derive(Deserialize)]
struct Session {
    id: String,
    client_reference_id: Option<String>,
    #[serde(default)]
    metadata: std::collections::BTreeMap<String, String>,
    payment_status: Option<String>,
    amount_total: Option<i64>,
    currency: Option<String>,
    payment_intent: Option<String>,
}

#[derive(Deserialize)]
struct Charge {
    payment_intent: Option<String>,
    amount: Option<i64>,
    amount_refunded: Option<i64>,
    currency: Option<String>,
    #[serde(default)]
    refunded: bool,
}

#[derive(Deserialize)]
struct Created {
    id: String,
    url: Option<String>,
}

fn malformed(e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Malformed(e.to_string())
}

/// Parses a verified event body.
pub fn parse_event(body: &[u8]) -> Result<Option<ProviderEvent>, ProviderError> {
    let e: Event = serde_json::from_slice(body).map_err(malformed)?;
    let session_kind = match e.kind.as_str() {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            Some(EventKind::Paid)
        }
        "checkout.session.expired" | "checkout.session.async_payment_failed" => {
            Some(EventKind::Failed)
        }
        "charge.refunded" => {
            let c: Charge = serde_json::from_value(e.data.object).map_err(malformed)?;
            if !c.refunded || c.amount_refunded != c.amount {
                return Ok(None); // a partial refund: not ours (we refund whole orders)
            }
            let pi = c.payment_intent.ok_or_else(|| malformed("charge without payment_intent"))?;
            return Ok(Some(ProviderEvent {
                event_id: e.id,
                order: OrderRef::Payment(pi.clone()),
                kind: EventKind::Refunded,
                amount_minor: c.amount_refunded,
                currency: c.currency.map(|c| c.to_ascii_uppercase()),
                payment_ref: Some(pi),
            }));
        }
        _ => None,
    };
    let Some(kind) = session_kind else { return Ok(None) };
    let s: Session = serde_json::from_value(e.data.object).map_err(malformed)?;
    if kind == EventKind::Paid
        && e.kind == "checkout.session.completed"
        && s.payment_status.as_deref() != Some("paid")
    {
        return Ok(None); // paid later: async_payment_succeeded follows
    }
    let reference = s
        .client_reference_id
        .or_else(|| s.metadata.get("order_id").cloned())
        .ok_or_else(|| malformed(format!("session {} names no order", s.id)))?;
    let order = uuid::Uuid::parse_str(&reference).map_err(malformed)?;
    Ok(Some(ProviderEvent {
        event_id: e.id,
        order: OrderRef::Order(order),
        kind,
        amount_minor: if kind == EventKind::Paid { s.amount_total } else { None },
        currency: if kind == EventKind::Paid {
            s.currency.map(|c| c.to_ascii_uppercase())
        } else {
            None
        },
        payment_ref: s.payment_intent,
    }))
}

impl Stripe {
    pub fn new(cfg: &StripeConfig) -> Result<Stripe, String> {
        Ok(Stripe {
            client: client(cfg.timeout_secs)?,
            api_base: cfg.api_base.trim_end_matches('/').to_string(),
            secret_key: cfg.secret_key.clone(),
            webhook_secret: cfg.webhook_secret.clone(),
            tolerance_secs: i64::try_from(cfg.tolerance_secs).unwrap_or(300),
        })
    }

    async fn post(
        &self,
        path: &str,
        idempotency_key: &str,
        form: &[(String, String)],
    ) -> Result<String, ProviderError> {
        let resp = self
            .client
            .post(format!("{}{path}", self.api_base))
            .bearer_auth(self.secret_key.expose())
            .header("Idempotency-Key", idempotency_key)
            .form(form)
            .send()
            .await
            .map_err(|e| ProviderError::Unavailable(e.without_url().to_string()))?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| ProviderError::Unavailable(e.to_string()))?;
        if !status.is_success() {
            return Err(status_error(status, &body));
        }
        Ok(body)
    }
}

#[async_trait]
impl Provider for Stripe {
    fn name(&self) -> &'static str {
        "stripe"
    }

    async fn create_checkout(
        &self,
        req: &CheckoutRequest<'_>,
    ) -> Result<ProviderCheckout, ProviderError> {
        let o = req.order;
        let id = o.id.to_string();
        let f = |k: &str, v: &str| (k.to_string(), v.to_string());
        let form = vec![
            f("mode", "payment"),
            f("client_reference_id", &id),
            f("metadata[order_id]", &id),
            f("payment_intent_data[metadata][order_id]", &id),
            f("line_items[0][quantity]", "1"),
            f("line_items[0][price_data][currency]", &o.product.currency.to_ascii_lowercase()),
            f("line_items[0][price_data][unit_amount]", &o.amount_minor.to_string()),
            f("line_items[0][price_data][product_data][name]", &o.product.title),
            f("success_url", &req.success_url),
            f("cancel_url", &req.cancel_url),
        ];
        let body = self.post("/v1/checkout/sessions", &id, &form).await?;
        let c: Created = serde_json::from_str(&body).map_err(malformed)?;
        let url = c.url.ok_or_else(|| malformed("the session has no url"))?;
        Ok(ProviderCheckout { redirect_url: url, reference: c.id })
    }

    fn parse_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Option<ProviderEvent>, ProviderError> {
        let header = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
        verify(self.webhook_secret.expose(), header, body, now, self.tolerance_secs)?;
        parse_event(body)
    }

    async fn refund(&self, order: &Order, payment_ref: &str) -> Result<String, ProviderError> {
        let form = vec![
            ("payment_intent".to_string(), payment_ref.to_string()),
            ("metadata[order_id]".to_string(), order.id.to_string()),
        ];
        let body = self.post("/v1/refunds", &format!("refund-{}", order.id), &form).await?;
        let c: Created = serde_json::from_str(&body).map_err(malformed)?;
        Ok(c.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_signed_body_verifies_and_a_changed_one_does_not() {
        let now = Timestamp(1_700_000_000_000);
        let h = signature_header("whsec_x", 1_700_000_000, b"{}");
        assert_eq!(verify("whsec_x", Some(&h), b"{}", now, 300), Ok(()));
        assert!(verify("whsec_x", Some(&h), b"{ }", now, 300).is_err());
        assert!(verify("whsec_y", Some(&h), b"{}", now, 300).is_err());
        assert!(verify("whsec_x", None, b"{}", now, 300).is_err());
    }

    #[test]
    fn a_signature_outside_the_tolerance_is_refused() {
        let h = signature_header("s", 1_700_000_000, b"{}");
        let later = Timestamp(1_700_000_301_000);
        assert!(matches!(
            verify("s", Some(&h), b"{}", later, 300),
            Err(ProviderError::BadSignature(_))
        ));
    }

    #[test]
    fn any_of_several_v1_signatures_may_match() {
        let good = signature_header("s", 10, b"x");
        let h = format!("t=10,v1={},{},v0=abc", "0".repeat(64), &good[5..]);
        assert_eq!(verify("s", Some(&h), b"x", Timestamp(10_000), 300), Ok(()));
    }

    #[test]
    fn a_completed_unpaid_session_is_not_a_payment() {
        let body = br#"{"id":"evt_1","type":"checkout.session.completed","data":{"object":
            {"id":"cs_1","client_reference_id":"0190c0de-0000-7000-8000-000000000001",
             "payment_status":"unpaid","amount_total":100,"currency":"usd"}}}"#;
        assert_eq!(parse_event(body), Ok(None));
    }

    proptest! {
        #[test]
        fn header_parsing_never_panics(s in ".{0,200}") {
            let _ = parse_signature_header(&s);
        }

        #[test]
        fn event_parsing_never_panics(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_event(&b);
        }

        #[test]
        fn a_header_we_write_parses_back(t in 0i64..4_000_000_000, body in proptest::collection::vec(any::<u8>(), 0..64)) {
            let h = signature_header("k", t, &body);
            let p = parse_signature_header(&h).expect("parses");
            prop_assert_eq!(p.t, t);
            prop_assert_eq!(p.v1, vec![sign("k", t, &body)]);
        }
    }
}
