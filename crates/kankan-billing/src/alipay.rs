//! Alipay: computer-website payment (`alipay.trade.page.pay`), asynchronous notifications and
//! refunds (`alipay.trade.refund`), per Alipay's Open Platform documentation.
//!
//! - Signing ("RSA2"): the request's parameters except `sign` (and, for notifications,
//!   `sign_type`), sorted by name, joined as `k=v&k=v` with the raw (not URL-encoded) values,
//!   signed SHA256withRSA with the app's private key; `sign` is its base64.
//! - Checkout: the buyer is sent to `{gateway}?{params}` with `app_id`, `method=
//!   alipay.trade.page.pay`, `format=JSON`, `charset=utf-8`, `sign_type=RSA2`, `timestamp`
//!   (`yyyy-MM-dd HH:mm:ss`, China time), `version=1.0`, `notify_url`, `return_url` and
//!   `biz_content` = `{"out_trade_no": <order id>, "product_code": "FAST_INSTANT_TRADE_PAY",
//!   "total_amount": "<yuan>", "subject": <title>}`. Amounts are decimal yuan: CNY only.
//! - Notifications: a form POST to `notify_url`, verified with Alipay's public key over the
//!   sorted parameters without `sign` and `sign_type`; `app_id` must be ours; the event id is
//!   `notify_id`; `trade_status` `TRADE_SUCCESS`/`TRADE_FINISHED` → paid (`total_amount`,
//!   `trade_no` kept); `TRADE_CLOSED` with `refund_fee` equal to the total → refunded, without
//!   → failed. The answer is the text `success` (anything else and Alipay retries). The buyer
//!   fields (`buyer_id`, `buyer_logon_id`) are read past, never kept.
//! - Refunds: `POST {gateway}` (form) with `method=alipay.trade.refund` and `biz_content`
//!   `{"out_trade_no", "refund_amount", "out_request_no"}`; `code` `10000` is success.

use std::collections::BTreeMap;

use async_trait::async_trait;
use kankan_base::Timestamp;
use reqwest::header::HeaderMap;
use serde_json::json;

use crate::Order;
use crate::config::AlipayConfig;
use crate::provider::{
    CheckoutRequest, EventKind, OrderRef, Provider, ProviderCheckout, ProviderError, ProviderEvent,
    WebhookAnswer, client, format_major, parse_major, status_error,
};
use crate::rsa::{PrivateKey, PublicKey};

/// The Alipay adapter.
pub struct Alipay {
    client: reqwest::Client,
    gateway: String,
    app_id: String,
    key: PrivateKey,
    alipay_key: PublicKey,
}

impl std::fmt::Debug for Alipay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Alipay")
            .field("gateway", &self.gateway)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

/// The string Alipay signs: every parameter but `sign` and `sign_type` with a non-empty value,
/// sorted by name, as `k=v` joined by `&`.
pub fn signing_string(params: &BTreeMap<String, String>, with_sign_type: bool) -> String {
    params
        .iter()
        .filter(|(k, v)| *k != "sign" && (with_sign_type || *k != "sign_type") && !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// `yyyy-MM-dd HH:mm:ss` in China time (UTC+8), as Alipay's `timestamp` is written.
pub fn china_time(t: Timestamp) -> String {
    let secs = t.0.div_euclid(1000) + 8 * 3600;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

fn form_map(body: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

impl Alipay {
    pub fn new(cfg: &AlipayConfig) -> Result<Alipay, String> {
        Ok(Alipay {
            client: client(cfg.timeout_secs)?,
            gateway: cfg.gateway.clone(),
            app_id: cfg.app_id.clone(),
            key: PrivateKey::from_pem(cfg.app_private_key.expose())
                .map_err(|e| format!("billing.alipay.app_private_key: {e}"))?,
            alipay_key: PublicKey::from_pem(&cfg.alipay_public_key)
                .map_err(|e| format!("billing.alipay.alipay_public_key: {e}"))?,
        })
    }

    /// The common parameters of a request, signed.
    fn signed(
        &self,
        method: &str,
        biz: serde_json::Value,
        extra: &[(&str, &str)],
        now: Timestamp,
    ) -> Result<BTreeMap<String, String>, ProviderError> {
        let mut p = BTreeMap::new();
        for (k, v) in [
            ("app_id", self.app_id.as_str()),
            ("method", method),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("version", "1.0"),
        ] {
            p.insert(k.to_string(), v.to_string());
        }
        p.insert("timestamp".into(), china_time(now));
        p.insert("biz_content".into(), biz.to_string());
        for (k, v) in extra {
            p.insert((*k).to_string(), (*v).to_string());
        }
        let sign =
            self.key.sign(signing_string(&p, true).as_bytes()).map_err(ProviderError::Refused)?;
        p.insert("sign".into(), sign);
        Ok(p)
    }

    /// Verifies and parses a notification body.
    pub fn parse_notify(&self, body: &[u8]) -> Result<Option<ProviderEvent>, ProviderError> {
        let p = form_map(body);
        let sign = p.get("sign").ok_or_else(|| ProviderError::BadSignature("no sign".into()))?;
        if !self.alipay_key.verify(signing_string(&p, false).as_bytes(), sign) {
            return Err(ProviderError::BadSignature("the sign does not verify".into()));
        }
        parse_fields(&p, &self.app_id)
    }
}

/// Reads a verified notification's fields.
pub fn parse_fields(
    p: &BTreeMap<String, String>,
    app_id: &str,
) -> Result<Option<ProviderEvent>, ProviderError> {
    let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let malformed = |m: &str| ProviderError::Malformed(m.to_string());
    if get("app_id") != Some(app_id) {
        return Err(malformed("the notification is for another app_id"));
    }
    let notify_id = get("notify_id").ok_or_else(|| malformed("no notify_id"))?;
    let order = get("out_trade_no")
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .ok_or_else(|| malformed("out_trade_no is not an order"))?;
    let total = get("total_amount").and_then(|a| parse_major(a, "CNY"));
    let refund = get("refund_fee").and_then(|a| parse_major(a, "CNY"));
    let (kind, amount) = match get("trade_status") {
        Some("TRADE_SUCCESS" | "TRADE_FINISHED") => (EventKind::Paid, total),
        Some("TRADE_CLOSED") if refund.is_some() => {
            if refund != total {
                return Ok(None); // a partial refund: we refund whole orders
            }
            (EventKind::Refunded, refund)
        }
        Some("TRADE_CLOSED") => (EventKind::Failed, None),
        _ => return Ok(None), // WAIT_BUYER_PAY and others
    };
    Ok(Some(ProviderEvent {
        event_id: notify_id.to_string(),
        order: OrderRef::Order(order),
        kind,
        amount_minor: amount,
        currency: Some("CNY".into()),
        payment_ref: get("trade_no").map(str::to_string),
    }))
}

#[async_trait]
impl Provider for Alipay {
    fn name(&self) -> &'static str {
        "alipay"
    }

    async fn create_checkout(
        &self,
        req: &CheckoutRequest<'_>,
    ) -> Result<ProviderCheckout, ProviderError> {
        let o = req.order;
        if o.product.currency != "CNY" {
            return Err(ProviderError::Refused("Alipay takes CNY only".into()));
        }
        let biz = json!({
            "out_trade_no": o.id.to_string(),
            "product_code": "FAST_INSTANT_TRADE_PAY",
            "total_amount": format_major(o.amount_minor, "CNY"),
            "subject": o.product.title,
        });
        let p = self.signed(
            "alipay.trade.page.pay",
            biz,
            &[("notify_url", &req.notify_url), ("return_url", &req.success_url)],
            o.created_at,
        )?;
        let mut url =
            url::Url::parse(&self.gateway).map_err(|e| ProviderError::Refused(e.to_string()))?;
        url.query_pairs_mut().extend_pairs(p.iter());
        Ok(ProviderCheckout { redirect_url: url.to_string(), reference: o.id.to_string() })
    }

    fn parse_webhook(
        &self,
        _headers: &HeaderMap,
        body: &[u8],
        _now: Timestamp,
    ) -> Result<Option<ProviderEvent>, ProviderError> {
        self.parse_notify(body)
    }

    fn webhook_answer(&self) -> WebhookAnswer {
        WebhookAnswer { content_type: "text/plain; charset=utf-8", body: "success".into() }
    }

    async fn refund(&self, order: &Order, _payment_ref: &str) -> Result<String, ProviderError> {
        let biz = json!({
            "out_trade_no": order.id.to_string(),
            "refund_amount": format_major(order.amount_minor, "CNY"),
            "out_request_no": format!("refund-{}", order.id),
        });
        let p = self.signed("alipay.trade.refund", biz, &[], order.created_at)?;
        let resp = self
            .client
            .post(&self.gateway)
            .form(&p)
            .send()
            .await
            .map_err(|e| ProviderError::Unavailable(e.without_url().to_string()))?;
        let status = resp.status();
        let body = resp.text().await.map_err(|e| ProviderError::Unavailable(e.to_string()))?;
        if !status.is_success() {
            return Err(status_error(status, &body));
        }
        let v: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| ProviderError::Malformed(e.to_string()))?;
        let r = &v["alipay_trade_refund_response"];
        match r["code"].as_str() {
            Some("10000") => Ok(r["trade_no"].as_str().unwrap_or_default().to_string()),
            Some("20000") => Err(ProviderError::Unavailable("Alipay: service unavailable".into())),
            _ => Err(ProviderError::Refused(format!(
                "Alipay: {} {}",
                r["sub_code"].as_str().unwrap_or_default(),
                r["sub_msg"].as_str().unwrap_or_default()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_signing_string_sorts_and_leaves_out_sign_and_empty_values() {
        let p: BTreeMap<String, String> =
            [("b", "2"), ("a", "1"), ("sign", "x"), ("sign_type", "RSA2"), ("c", "")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        assert_eq!(signing_string(&p, false), "a=1&b=2");
        assert_eq!(signing_string(&p, true), "a=1&b=2&sign_type=RSA2");
    }

    #[test]
    fn china_time_is_utc_plus_eight() {
        assert_eq!(china_time(Timestamp(0)), "1970-01-01 08:00:00");
        assert_eq!(china_time(Timestamp(1_709_222_399_000)), "2024-02-29 23:59:59");
        assert_eq!(china_time(Timestamp(1_709_222_400_000)), "2024-03-01 00:00:00");
    }

    proptest! {
        #[test]
        fn notification_parsing_never_panics(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let p = form_map(&body);
            let _ = parse_fields(&p, "2021000000000000");
        }
    }
}
