//! A stand-in for WeChat Pay API v3 on 127.0.0.1: `POST /v3/pay/transactions/native` and
//! `POST /v3/refund/domestic/refunds` check the merchant's `Authorization:
//! WECHATPAY2-SHA256-RSA2048 ...` signature over `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n` with the
//! merchant's public key and the request's fields as documented; a Native order answers its
//! `code_url`. [`FakeWechat::pay`] is the buyer scanning and paying: the `TRANSACTION.SUCCESS`
//! notification, its resource encrypted with AEAD_AES_256_GCM under the APIv3 key, signed with
//! the platform key over `TIMESTAMP\nNONCE\nBODY\n` (`Wechatpay-*` headers), with the payer's
//! `openid` as WeChat Pay sends it. Keys are fresh RSA-2048 keys from `openssl genpkey`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use kankan_base::{Clocks, RealClock, Secret};
use kankan_billing::WechatConfig;
use kankan_billing::rsa::{PrivateKey, PublicKey};
use kankan_billing::wechat::{
    encrypt_resource, notify_message, parse_authorization, request_message,
};
use serde_json::{Value, json};

use crate::alipay::openssl_rsa_key;

pub const MCHID: &str = "1900009191";
pub const APPID: &str = "wxd678efh567hg6787";
pub const MERCHANT_SERIAL: &str = "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C";
pub const PLATFORM_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
pub const APIV3_KEY: &str = "kankanApiV3Key0123456789abcdefgh";
/// The payer's openid WeChat Pay names in a transaction: never to be kept.
pub const PAYER_OPENID: &str = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";

/// A Native order the stand-in took.
#[derive(Debug, Clone)]
pub struct WxOrder {
    pub out_trade_no: String,
    pub total: i64,
    pub currency: String,
    pub notify_url: String,
    pub transaction_id: Option<String>,
}

#[derive(Default)]
struct Inner {
    orders: BTreeMap<String, WxOrder>,
    refunds: Vec<Value>,
    seq: u64,
    clock: Option<Clocks>,
}

struct Keys {
    merchant_public: PublicKey,
    merchant_private_pem: String,
    platform: PrivateKey,
    platform_public_pem: String,
}

#[derive(Clone)]
struct St {
    inner: Arc<Mutex<Inner>>,
    keys: Arc<Keys>,
}

/// The running stand-in.
#[derive(Clone)]
pub struct FakeWechat {
    pub base: String,
    st: St,
    http: reqwest::Client,
}

fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn err(status: StatusCode, code: &str, message: &str) -> Response {
    (status, axum::Json(json!({"code": code, "message": message}))).into_response()
}

impl FakeWechat {
    pub async fn start() -> FakeWechat {
        let (merchant_private_pem, merchant_public_pem) = openssl_rsa_key();
        let (platform_private_pem, platform_public_pem) = openssl_rsa_key();
        let keys = Keys {
            merchant_public: PublicKey::from_pem(&merchant_public_pem).expect("merchant key"),
            merchant_private_pem,
            platform: PrivateKey::from_pem(&platform_private_pem).expect("platform key"),
            platform_public_pem,
        };
        let st = St { inner: Arc::default(), keys: Arc::new(keys) };
        let (base, _task) = crate::local::serve(|_| {
            Router::new()
                .route("/v3/pay/transactions/native", post(native))
                .route("/v3/refund/domestic/refunds", post(refund))
                .with_state(st.clone())
        })
        .await;
        FakeWechat { base, st, http: crate::http_client() }
    }

    /// `[billing.wechat]` pointing at this stand-in.
    pub fn config(&self) -> WechatConfig {
        WechatConfig {
            api_base: self.base.clone(),
            mchid: MCHID.into(),
            appid: APPID.into(),
            merchant_serial_no: MERCHANT_SERIAL.into(),
            merchant_private_key: Secret::new(self.st.keys.merchant_private_pem.clone()),
            apiv3_key: Secret::new(APIV3_KEY),
            platform_public_key: self.st.keys.platform_public_pem.clone(),
            platform_serial: PLATFORM_SERIAL.into(),
            tolerance_secs: 300,
            timeout_secs: 5,
        }
    }

    /// The clock notifications are timed by (the server's simulated one).
    pub fn use_clock(&self, clock: Clocks) {
        lock(&self.st.inner).clock = Some(clock);
    }

    pub fn order(&self, out_trade_no: &str) -> Option<WxOrder> {
        lock(&self.st.inner).orders.get(out_trade_no).cloned()
    }

    pub fn refunds(&self) -> Vec<Value> {
        lock(&self.st.inner).refunds.clone()
    }

    /// The buyer pays: the order gets its transaction id; the notification (body, headers).
    pub fn pay(&self, out_trade_no: &str) -> (String, Vec<(String, String)>) {
        let o = {
            let mut g = lock(&self.st.inner);
            g.seq += 1;
            let id = format!("42000000{:020}", g.seq);
            let o = g.orders.get_mut(out_trade_no).expect("an order");
            o.transaction_id.get_or_insert(id);
            o.clone()
        };
        let resource = json!({
            "mchid": MCHID, "appid": APPID, "out_trade_no": o.out_trade_no,
            "transaction_id": o.transaction_id, "trade_type": "NATIVE", "trade_state": "SUCCESS",
            "trade_state_desc": "OK", "bank_type": "CMC", "success_time": "2024-03-01T10:00:00+08:00",
            "payer": {"openid": PAYER_OPENID},
            "amount": {"total": o.total, "payer_total": o.total, "currency": o.currency, "payer_currency": "CNY"},
        });
        self.notification("TRANSACTION.SUCCESS", &resource, false)
    }

    /// A notification of `event_type` with `resource` encrypted; signed by the platform key, or
    /// (`forged`) by the merchant's.
    pub fn notification(
        &self,
        event_type: &str,
        resource: &Value,
        forged: bool,
    ) -> (String, Vec<(String, String)>) {
        let (seq, clock) = {
            let mut g = lock(&self.st.inner);
            g.seq += 1;
            (g.seq, g.clock.clone().unwrap_or_else(|| Arc::new(RealClock)))
        };
        let nonce = format!("n{seq:011}");
        let aad = if event_type.starts_with("REFUND") { "refund" } else { "transaction" };
        let ct =
            encrypt_resource(APIV3_KEY.as_bytes(), &nonce, aad, resource.to_string().as_bytes())
                .expect("encrypt");
        let body = json!({
            "id": format!("EV-2018022511223320873-{seq}"), "create_time": "2024-03-01T10:00:00+08:00",
            "resource_type": "encrypt-resource", "event_type": event_type, "summary": "OK",
            "resource": {"original_type": aad, "algorithm": "AEAD_AES_256_GCM", "ciphertext": ct,
                "associated_data": aad, "nonce": nonce},
        })
        .to_string();
        let ts = (clock.now().0 / 1000).to_string();
        let header_nonce = format!("h{seq:015}");
        let msg = notify_message(&ts, &header_nonce, &body);
        let sig = if forged {
            PrivateKey::from_pem(&self.st.keys.merchant_private_pem)
                .expect("key")
                .sign(msg.as_bytes())
        } else {
            self.st.keys.platform.sign(msg.as_bytes())
        }
        .expect("sign");
        let headers = vec![
            ("Wechatpay-Timestamp".to_string(), ts),
            ("Wechatpay-Nonce".to_string(), header_nonce),
            ("Wechatpay-Signature".to_string(), sig),
            ("Wechatpay-Serial".to_string(), PLATFORM_SERIAL.to_string()),
        ];
        (body, headers)
    }

    /// Sends a notification to `url`: (status, answer).
    pub async fn send(&self, url: &str, n: &(String, Vec<(String, String)>)) -> (u16, String) {
        let mut req =
            self.http.post(url).header("Content-Type", "application/json").body(n.0.clone());
        for (k, v) in &n.1 {
            req = req.header(k, v);
        }
        match req.send().await {
            Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
            Err(_) => (0, String::new()),
        }
    }
}

/// Checks the merchant's Authorization for `path` and `body`.
fn authorized(st: &St, headers: &HeaderMap, path: &str, body: &str) -> bool {
    let Some(f) =
        headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(parse_authorization)
    else {
        return false;
    };
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let Ok(ts) = get("timestamp").parse::<i64>() else { return false };
    get("mchid") == MCHID
        && get("serial_no") == MERCHANT_SERIAL
        && st.keys.merchant_public.verify(
            request_message("POST", path, ts, get("nonce_str"), body).as_bytes(),
            get("signature"),
        )
}

async fn native(State(st): State<St>, headers: HeaderMap, body: String) -> Response {
    if !authorized(&st, &headers, "/v3/pay/transactions/native", &body) {
        return err(StatusCode::UNAUTHORIZED, "SIGN_ERROR", "signature check failed");
    }
    let Ok(v) = serde_json::from_str::<Value>(&body) else {
        return err(StatusCode::BAD_REQUEST, "PARAM_ERROR", "not JSON");
    };
    let no = v["out_trade_no"].as_str().unwrap_or_default().to_string();
    let (Some(total), Some(notify)) = (v["amount"]["total"].as_i64(), v["notify_url"].as_str())
    else {
        return err(
            StatusCode::BAD_REQUEST,
            "PARAM_ERROR",
            "amount.total and notify_url are required",
        );
    };
    if v["appid"] != APPID || v["mchid"] != MCHID || !(6..=32).contains(&no.len()) || total <= 0 {
        return err(
            StatusCode::BAD_REQUEST,
            "PARAM_ERROR",
            "bad appid, mchid, out_trade_no or total",
        );
    }
    let o = WxOrder {
        out_trade_no: no.clone(),
        total,
        currency: v["amount"]["currency"].as_str().unwrap_or("CNY").to_string(),
        notify_url: notify.to_string(),
        transaction_id: None,
    };
    lock(&st.inner).orders.insert(no.clone(), o);
    axum::Json(json!({"code_url": format!("weixin://wxpay/bizpayurl?pr={no}")})).into_response()
}

async fn refund(State(st): State<St>, headers: HeaderMap, body: String) -> Response {
    if !authorized(&st, &headers, "/v3/refund/domestic/refunds", &body) {
        return err(StatusCode::UNAUTHORIZED, "SIGN_ERROR", "signature check failed");
    }
    let Ok(v) = serde_json::from_str::<Value>(&body) else {
        return err(StatusCode::BAD_REQUEST, "PARAM_ERROR", "not JSON");
    };
    let no = v["out_trade_no"].as_str().unwrap_or_default();
    let order = lock(&st.inner).orders.get(no).cloned();
    match order {
        Some(o)
            if o.transaction_id.is_some() && v["amount"]["refund"].as_i64() == Some(o.total) =>
        {
            lock(&st.inner).refunds.push(v.clone());
            axum::Json(
                json!({"refund_id": format!("50000000{no}"), "out_refund_no": v["out_refund_no"],
                "transaction_id": o.transaction_id, "out_trade_no": no, "status": "PROCESSING",
                "amount": {"refund": o.total, "total": o.total, "currency": "CNY"}}),
            )
            .into_response()
        }
        _ => err(StatusCode::BAD_REQUEST, "RESOURCE_NOT_EXISTS", "no such paid order"),
    }
}
