//! WeChat Pay API v3: Native payment (a QR code's `code_url`), notifications and refunds, per
//! WeChat Pay's merchant documentation.
//!
//! - Requests are JSON with `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="..",
//!   nonce_str="..",signature="..",timestamp="..",serial_no=".."`, the signature being base64
//!   SHA256withRSA, under the merchant's private key, of `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`
//!   (URL: the path with its query).
//! - Checkout: `POST /v3/pay/transactions/native` `{appid, mchid, description, out_trade_no:
//!   <order id without dashes>, notify_url, amount: {total: <fen>, currency: "CNY"}}`; the answer's
//!   `code_url` (`weixin://...`) is what the buyer scans. CNY only.
//! - Notifications: `Wechatpay-Signature` (base64 SHA256withRSA under the platform key) over
//!   `TIMESTAMP\nNONCE\nBODY\n` from `Wechatpay-Timestamp` and `Wechatpay-Nonce`; the timestamp
//!   within the tolerance of the clock; `Wechatpay-Serial` the configured platform serial. The
//!   body's `resource` is AEAD_AES_256_GCM under the APIv3 key (its `nonce` and
//!   `associated_data`); `TRANSACTION.SUCCESS` with `trade_state` `SUCCESS` pays (`amount.total`,
//!   `amount.currency`, `transaction_id` kept; the payer's `openid` is read past),
//!   `REFUND.SUCCESS` with the whole amount refunds. The event id is the notification's `id`.
//! - Refunds: `POST /v3/refund/domestic/refunds` `{out_trade_no, out_refund_no, amount: {refund,
//!   total, currency}}`.

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use async_trait::async_trait;
use base64::Engine as _;
use kankan_base::{Secret, Timestamp};
use reqwest::header::HeaderMap;
use ring::rand::SecureRandom as _;
use serde_json::json;

use crate::Order;
use crate::config::WechatConfig;
use crate::provider::{
    CheckoutRequest, EventKind, OrderRef, Provider, ProviderCheckout, ProviderError, ProviderEvent,
    WebhookAnswer, client, hex, status_error,
};
use crate::rsa::{PrivateKey, PublicKey};

/// The WeChat Pay adapter.
pub struct Wechat {
    client: reqwest::Client,
    api_base: String,
    mchid: String,
    appid: String,
    serial_no: String,
    key: PrivateKey,
    apiv3_key: Secret,
    platform_key: PublicKey,
    platform_serial: String,
    tolerance_secs: i64,
}

impl std::fmt::Debug for Wechat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wechat")
            .field("api_base", &self.api_base)
            .field("mchid", &self.mchid)
            .finish_non_exhaustive()
    }
}

/// The message a request's signature covers.
pub fn request_message(
    method: &str,
    path: &str,
    timestamp: i64,
    nonce: &str,
    body: &str,
) -> String {
    format!("{method}\n{path}\n{timestamp}\n{nonce}\n{body}\n")
}

/// The message a notification's (or answer's) signature covers.
pub fn notify_message(timestamp: &str, nonce: &str, body: &str) -> String {
    format!("{timestamp}\n{nonce}\n{body}\n")
}

/// Parses `WECHATPAY2-SHA256-RSA2048 k="v",...` into its fields.
pub fn parse_authorization(h: &str) -> Option<std::collections::BTreeMap<String, String>> {
    let rest = h.strip_prefix("WECHATPAY2-SHA256-RSA2048 ")?;
    rest.split(',')
        .map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            let v = v.strip_prefix('"')?.strip_suffix('"')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

/// Decrypts a notification's resource (AEAD_AES_256_GCM; `ciphertext` base64 with its tag).
pub fn decrypt_resource(key: &[u8], nonce: &str, aad: &str, ciphertext: &str) -> Option<Vec<u8>> {
    let cipher = Aes256Gcm::new_from_slice(key).ok()?;
    let n: [u8; 12] = nonce.as_bytes().try_into().ok()?;
    let ct = base64::engine::general_purpose::STANDARD.decode(ciphertext).ok()?;
    cipher.decrypt(&n.into(), Payload { msg: &ct, aad: aad.as_bytes() }).ok()
}

/// The inverse of [`decrypt_resource`] (for stand-ins and tests).
pub fn encrypt_resource(key: &[u8], nonce: &str, aad: &str, plaintext: &[u8]) -> Option<String> {
    let cipher = Aes256Gcm::new_from_slice(key).ok()?;
    let n: [u8; 12] = nonce.as_bytes().try_into().ok()?;
    let ct = cipher.encrypt(&n.into(), Payload { msg: plaintext, aad: aad.as_bytes() }).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(ct))
}

fn nonce() -> Result<String, ProviderError> {
    let mut b = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| ProviderError::Refused("no randomness".into()))?;
    Ok(hex(&b).to_ascii_uppercase())
}

fn bad(m: &str) -> ProviderError {
    ProviderError::BadSignature(m.to_string())
}

fn malformed(m: impl std::fmt::Display) -> ProviderError {
    ProviderError::Malformed(m.to_string())
}

/// Our order id as an `out_trade_no` (6-32 characters: the UUID's 32 hex digits), and back.
pub fn out_trade_no(id: uuid::Uuid) -> String {
    id.simple().to_string()
}

/// Reads a decrypted resource of `event_type`.
pub fn parse_resource(
    event_id: &str,
    event_type: &str,
    plain: &[u8],
) -> Result<Option<ProviderEvent>, ProviderError> {
    let v: serde_json::Value = serde_json::from_slice(plain).map_err(malformed)?;
    let order = v["out_trade_no"]
        .as_str()
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .ok_or_else(|| malformed("out_trade_no is not an order"))?;
    let currency = v["amount"]["currency"].as_str().unwrap_or("CNY").to_string();
    let (kind, amount) = match event_type {
        "TRANSACTION.SUCCESS" if v["trade_state"] == "SUCCESS" => {
            (EventKind::Paid, v["amount"]["total"].as_i64())
        }
        "REFUND.SUCCESS" if v["refund_status"] == "SUCCESS" => {
            let (refund, total) = (v["amount"]["refund"].as_i64(), v["amount"]["total"].as_i64());
            if refund != total {
                return Ok(None);
            }
            (EventKind::Refunded, refund)
        }
        _ => return Ok(None),
    };
    Ok(Some(ProviderEvent {
        event_id: event_id.to_string(),
        order: OrderRef::Order(order),
        kind,
        amount_minor: amount,
        currency: Some(currency),
        payment_ref: v["transaction_id"].as_str().map(str::to_string),
    }))
}

impl Wechat {
    pub fn new(cfg: &WechatConfig) -> Result<Wechat, String> {
        Ok(Wechat {
            client: client(cfg.timeout_secs)?,
            api_base: cfg.api_base.trim_end_matches('/').to_string(),
            mchid: cfg.mchid.clone(),
            appid: cfg.appid.clone(),
            serial_no: cfg.merchant_serial_no.clone(),
            key: PrivateKey::from_pem(cfg.merchant_private_key.expose())
                .map_err(|e| format!("billing.wechat.merchant_private_key: {e}"))?,
            apiv3_key: cfg.apiv3_key.clone(),
            platform_key: PublicKey::from_pem(&cfg.platform_public_key)
                .map_err(|e| format!("billing.wechat.platform_public_key: {e}"))?,
            platform_serial: cfg.platform_serial.clone(),
            tolerance_secs: i64::try_from(cfg.tolerance_secs).unwrap_or(300),
        })
    }

    async fn post(
        &self,
        path: &str,
        body: serde_json::Value,
        now: Timestamp,
    ) -> Result<serde_json::Value, ProviderError> {
        let body = body.to_string();
        let ts = now.0.div_euclid(1000);
        let nonce = nonce()?;
        let sig = self
            .key
            .sign(request_message("POST", path, ts, &nonce, &body).as_bytes())
            .map_err(ProviderError::Refused)?;
        let auth = format!(
            "WECHATPAY2-SHA256-RSA2048 mchid=\"{}\",nonce_str=\"{nonce}\",signature=\"{sig}\",timestamp=\"{ts}\",serial_no=\"{}\"",
            self.mchid, self.serial_no
        );
        let resp = self
            .client
            .post(format!("{}{path}", self.api_base))
            .header("Authorization", auth)
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| ProviderError::Unavailable(e.without_url().to_string()))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| ProviderError::Unavailable(e.to_string()))?;
        if !status.is_success() {
            return Err(status_error(status, &text));
        }
        serde_json::from_str(&text).map_err(malformed)
    }
}

#[async_trait]
impl Provider for Wechat {
    fn name(&self) -> &'static str {
        "wechat"
    }

    async fn create_checkout(
        &self,
        req: &CheckoutRequest<'_>,
    ) -> Result<ProviderCheckout, ProviderError> {
        let o = req.order;
        if o.product.currency != "CNY" {
            return Err(ProviderError::Refused("WeChat Pay takes CNY only".into()));
        }
        let body = json!({
            "appid": self.appid, "mchid": self.mchid,
            "description": o.product.title.chars().take(127).collect::<String>(),
            "out_trade_no": out_trade_no(o.id), "notify_url": req.notify_url,
            "amount": {"total": o.amount_minor, "currency": "CNY"},
        });
        let v = self.post("/v3/pay/transactions/native", body, o.created_at).await?;
        let url = v["code_url"].as_str().ok_or_else(|| malformed("no code_url"))?;
        Ok(ProviderCheckout { redirect_url: url.to_string(), reference: out_trade_no(o.id) })
    }

    fn parse_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Option<ProviderEvent>, ProviderError> {
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
        let (Some(ts), Some(nonce), Some(sig), Some(serial)) = (
            h("wechatpay-timestamp"),
            h("wechatpay-nonce"),
            h("wechatpay-signature"),
            h("wechatpay-serial"),
        ) else {
            return Err(bad("the Wechatpay-* headers are missing"));
        };
        if serial != self.platform_serial {
            return Err(bad("signed with another platform certificate"));
        }
        let t: i64 = ts.parse().map_err(|_| bad("bad Wechatpay-Timestamp"))?;
        if (now.0.div_euclid(1000) - t).abs() > self.tolerance_secs {
            return Err(bad("the signed time is outside the tolerance"));
        }
        let text = std::str::from_utf8(body).map_err(|_| bad("the body is not UTF-8"))?;
        if !self.platform_key.verify(notify_message(ts, nonce, text).as_bytes(), sig) {
            return Err(bad("the signature does not verify"));
        }
        let v: serde_json::Value = serde_json::from_str(text).map_err(malformed)?;
        let id = v["id"].as_str().ok_or_else(|| malformed("no id"))?;
        let event_type = v["event_type"].as_str().unwrap_or_default();
        let r = &v["resource"];
        if r["algorithm"] != "AEAD_AES_256_GCM" {
            return Err(malformed("unknown resource algorithm"));
        }
        let s = |k: &str| r[k].as_str().unwrap_or_default();
        let plain = decrypt_resource(
            self.apiv3_key.expose().as_bytes(),
            s("nonce"),
            s("associated_data"),
            s("ciphertext"),
        )
        .ok_or_else(|| bad("the resource does not decrypt under the APIv3 key"))?;
        parse_resource(id, event_type, &plain)
    }

    fn webhook_answer(&self) -> WebhookAnswer {
        WebhookAnswer {
            content_type: "application/json",
            body: "{\"code\":\"SUCCESS\",\"message\":\"OK\"}".into(),
        }
    }

    async fn refund(&self, order: &Order, _payment_ref: &str) -> Result<String, ProviderError> {
        let body = json!({
            "out_trade_no": out_trade_no(order.id),
            "out_refund_no": format!("r{}", out_trade_no(order.id)),
            "amount": {"refund": order.amount_minor, "total": order.amount_minor, "currency": "CNY"},
        });
        let v = self.post("/v3/refund/domestic/refunds", body, order.created_at).await?;
        match v["status"].as_str() {
            Some("SUCCESS" | "PROCESSING") => {
                Ok(v["refund_id"].as_str().unwrap_or_default().to_string())
            }
            other => Err(ProviderError::Refused(format!("WeChat Pay refund status {other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn resources_decrypt_only_under_their_key_nonce_and_data() {
        let key = b"0123456789abcdef0123456789abcdef";
        let ct = encrypt_resource(key, "abcdefghijkl", "transaction", b"{\"a\":1}").expect("enc");
        assert_eq!(
            decrypt_resource(key, "abcdefghijkl", "transaction", &ct).as_deref(),
            Some(&b"{\"a\":1}"[..])
        );
        assert!(decrypt_resource(key, "abcdefghijkl", "refund", &ct).is_none());
        assert!(
            decrypt_resource(
                b"0123456789abcdef0123456789abcdeX",
                "abcdefghijkl",
                "transaction",
                &ct
            )
            .is_none()
        );
    }

    #[test]
    fn an_authorization_header_parses_into_its_fields() {
        let h = "WECHATPAY2-SHA256-RSA2048 mchid=\"1900009191\",nonce_str=\"N\",signature=\"S=\",timestamp=\"1554208460\",serial_no=\"1DDE\"";
        let f = parse_authorization(h).expect("parses");
        assert_eq!(f["mchid"], "1900009191");
        assert_eq!(f["signature"], "S=");
        assert!(parse_authorization("Bearer x").is_none());
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in ".{0,200}", b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_authorization(&s);
            let _ = parse_resource("id", "TRANSACTION.SUCCESS", &b);
            let _ = decrypt_resource(b"0123456789abcdef0123456789abcdef", &s, "x", &s);
        }
    }
}
