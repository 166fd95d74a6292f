//! A stand-in for Alipay's gateway on 127.0.0.1, speaking Alipay's documented formats: the
//! buyer's browser opens `GET /gateway.do?...` with the signed `alipay.trade.page.pay`
//! parameters (RSA2: SHA256withRSA over the sorted `k=v&...` string without `sign`, checked
//! with the app's public key), which shows the trade with a Pay button; paying sends the
//! asynchronous notification (a form POST to `notify_url`, signed with Alipay's key over the
//! sorted parameters without `sign` and `sign_type`, with the buyer fields Alipay adds) and
//! redirects to `return_url`. `POST /gateway.do` with `method=alipay.trade.refund` refunds.
//! Both key pairs are fresh RSA-2048 keys from `openssl genpkey`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use kankan_base::Secret;
use kankan_billing::AlipayConfig;
use kankan_billing::alipay::signing_string;
use kankan_billing::rsa::{PrivateKey, PublicKey};
use serde_json::json;

pub const APP_ID: &str = "2021000000000001";
/// What Alipay tells the merchant of the buyer: never to be kept.
pub const BUYER_LOGON_ID: &str = "pat***@example.net";
pub const BUYER_ID: &str = "2088102177846880";

/// A trade the buyer was sent to pay.
#[derive(Debug, Clone)]
pub struct Trade {
    pub out_trade_no: String,
    pub total_amount: String,
    pub subject: String,
    pub notify_url: String,
    pub return_url: String,
    pub trade_no: Option<String>,
}

/// One notification sent: the form body and Alipay's answer read back.
#[derive(Debug, Clone)]
pub struct Notice {
    pub body: String,
    pub status: u16,
    pub answer: String,
}

#[derive(Default)]
struct Inner {
    trades: BTreeMap<String, Trade>,
    refunds: Vec<BTreeMap<String, String>>,
    notices: Vec<Notice>,
    seq: u64,
}

struct Keys {
    app_public: PublicKey,
    app_private_pem: String,
    alipay: PrivateKey,
    alipay_public_pem: String,
}

#[derive(Clone)]
struct St {
    inner: Arc<Mutex<Inner>>,
    keys: Arc<Keys>,
    http: reqwest::Client,
}

/// The running stand-in.
#[derive(Clone)]
pub struct FakeAlipay {
    pub base: String,
    st: St,
}

fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A fresh RSA-2048 key from `openssl genpkey`: (PKCS#8 PEM, SPKI PEM).
pub fn openssl_rsa_key() -> (String, String) {
    let dir = tempfile::tempdir().expect("tmp");
    let key = dir.path().join("key.pem");
    let ok = std::process::Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out"])
        .arg(&key)
        .status()
        .expect("openssl runs");
    assert!(ok.success(), "openssl genpkey");
    let public = std::process::Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .output()
        .expect("openssl runs");
    let private = std::fs::read_to_string(&key).expect("key");
    (private, String::from_utf8(public.stdout).expect("pem"))
}

impl FakeAlipay {
    pub async fn start() -> FakeAlipay {
        let (app_private_pem, app_public_pem) = openssl_rsa_key();
        let (alipay_private_pem, alipay_public_pem) = openssl_rsa_key();
        let keys = Keys {
            app_public: PublicKey::from_pem(&app_public_pem).expect("app public key"),
            app_private_pem,
            alipay: PrivateKey::from_pem(&alipay_private_pem).expect("alipay key"),
            alipay_public_pem,
        };
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let st = St { inner: Arc::default(), keys: Arc::new(keys), http };
        let (base, _task) = crate::local::serve(|_| {
            Router::new()
                .route("/gateway.do", get(page_pay).post(api))
                .route("/pay/{out_trade_no}", post(pay_form))
                .with_state(st.clone())
        })
        .await;
        FakeAlipay { base, st }
    }

    /// `[billing.alipay]` pointing at this stand-in.
    pub fn config(&self) -> AlipayConfig {
        AlipayConfig {
            gateway: format!("{}/gateway.do", self.base),
            app_id: APP_ID.into(),
            app_private_key: Secret::new(self.st.keys.app_private_pem.clone()),
            alipay_public_key: self.st.keys.alipay_public_pem.clone(),
            timeout_secs: 5,
        }
    }

    pub fn trade(&self, out_trade_no: &str) -> Option<Trade> {
        lock(&self.st.inner).trades.get(out_trade_no).cloned()
    }

    pub fn refunds(&self) -> Vec<BTreeMap<String, String>> {
        lock(&self.st.inner).refunds.clone()
    }

    pub fn notices(&self) -> Vec<Notice> {
        lock(&self.st.inner).notices.clone()
    }

    /// Opens the checkout URL as the buyer's browser does (the page, checking the request's
    /// signature); its status.
    pub async fn open(&self, url: &str) -> u16 {
        self.st.http.get(url).send().await.map(|r| r.status().as_u16()).unwrap_or(0)
    }

    /// Pays a trade as the page's button does: the notification sent.
    pub async fn pay(&self, out_trade_no: &str) -> Notice {
        let url = format!("{}/pay/{out_trade_no}", self.base);
        let resp = self.st.http.post(url).send().await.expect("pay");
        assert!(resp.status().is_redirection(), "paying answered {}", resp.status());
        self.notices().pop().expect("a notice")
    }

    /// A notification for a trade, signed by Alipay's key, or (`forged`) by another.
    pub fn notice(&self, t: &Trade, status: &str, extra: &[(&str, &str)], forged: bool) -> String {
        notice_body(&self.st, t, status, extra, forged)
    }

    /// Sends a notification body to the trade's notify_url: (status, answer).
    pub async fn send(&self, t: &Trade, body: &str) -> (u16, String) {
        let n = deliver(&self.st, &t.notify_url, body).await;
        (n.status, n.answer)
    }
}

fn next(st: &St, prefix: &str) -> String {
    let mut g = lock(&st.inner);
    g.seq += 1;
    format!("{prefix}{:012}", g.seq)
}

fn notice_body(st: &St, t: &Trade, status: &str, extra: &[(&str, &str)], forged: bool) -> String {
    let mut p: BTreeMap<String, String> = BTreeMap::new();
    let notify_id = next(st, "2024030100222");
    for (k, v) in [
        ("notify_time", "2024-03-01 10:00:00"),
        ("notify_type", "trade_status_sync"),
        ("notify_id", notify_id.as_str()),
        ("app_id", APP_ID),
        ("charset", "utf-8"),
        ("version", "1.0"),
        ("sign_type", "RSA2"),
        ("out_trade_no", t.out_trade_no.as_str()),
        ("total_amount", t.total_amount.as_str()),
        ("trade_status", status),
        ("subject", t.subject.as_str()),
        ("buyer_id", BUYER_ID),
        ("buyer_logon_id", BUYER_LOGON_ID),
        ("gmt_payment", "2024-03-01 10:00:00"),
    ] {
        p.insert(k.into(), v.into());
    }
    if let Some(no) = &t.trade_no {
        p.insert("trade_no".into(), no.clone());
    }
    for (k, v) in extra {
        p.insert((*k).into(), (*v).into());
    }
    let msg = signing_string(&p, false);
    let sign = if forged {
        PrivateKey::from_pem(&st.keys.app_private_pem).expect("key").sign(msg.as_bytes())
    } else {
        st.keys.alipay.sign(msg.as_bytes())
    }
    .expect("sign");
    p.insert("sign".into(), sign);
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(p.iter()).finish()
}

async fn deliver(st: &St, url: &str, body: &str) -> Notice {
    let r = st
        .http
        .post(url)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded; charset=utf-8")
        .body(body.to_string())
        .send()
        .await;
    let (status, answer) = match r {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(_) => (0, String::new()),
    };
    let n = Notice { body: body.to_string(), status, answer };
    lock(&st.inner).notices.push(n.clone());
    n
}

/// Checks a merchant request's signature with the app's public key.
fn verified(st: &St, p: &BTreeMap<String, String>) -> bool {
    p.get("app_id").map(String::as_str) == Some(APP_ID)
        && p.get("sign_type").map(String::as_str) == Some("RSA2")
        && p.get("sign")
            .is_some_and(|s| st.keys.app_public.verify(signing_string(p, true).as_bytes(), s))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

async fn page_pay(State(st): State<St>, Query(p): Query<BTreeMap<String, String>>) -> Response {
    if !verified(&st, &p) || p.get("method").map(String::as_str) != Some("alipay.trade.page.pay") {
        return (StatusCode::BAD_REQUEST, Html("<p>ILLEGAL_SIGN</p>")).into_response();
    }
    let biz: serde_json::Value = match p.get("biz_content").map(|b| serde_json::from_str(b)) {
        Some(Ok(v)) => v,
        _ => return (StatusCode::BAD_REQUEST, "bad biz_content").into_response(),
    };
    let s = |k: &str| biz[k].as_str().unwrap_or_default().to_string();
    if s("product_code") != "FAST_INSTANT_TRADE_PAY" || s("out_trade_no").is_empty() {
        return (StatusCode::BAD_REQUEST, "bad biz_content").into_response();
    }
    let t = Trade {
        out_trade_no: s("out_trade_no"),
        total_amount: s("total_amount"),
        subject: s("subject"),
        notify_url: p.get("notify_url").cloned().unwrap_or_default(),
        return_url: p.get("return_url").cloned().unwrap_or_default(),
        trade_no: None,
    };
    lock(&st.inner).trades.entry(t.out_trade_no.clone()).or_insert(t.clone());
    Html(format!(
        "<!doctype html><html><head><title>Alipay</title></head><body><h1 id=\"product\">{}</h1>\
         <p id=\"amount\">¥{}</p><form method=\"post\" action=\"/pay/{}\">\
         <button id=\"pay\" type=\"submit\">Pay</button></form></body></html>",
        escape(&t.subject),
        escape(&t.total_amount),
        escape(&t.out_trade_no)
    ))
    .into_response()
}

async fn pay_form(State(st): State<St>, Path(no): Path<String>) -> Response {
    let trade_no = next(&st, "2024030122001");
    let t = {
        let mut g = lock(&st.inner);
        let Some(t) = g.trades.get_mut(&no) else {
            return (StatusCode::NOT_FOUND, "no such trade").into_response();
        };
        t.trade_no.get_or_insert(trade_no);
        t.clone()
    };
    let body = notice_body(&st, &t, "TRADE_SUCCESS", &[], false);
    deliver(&st, &t.notify_url, &body).await;
    (StatusCode::SEE_OTHER, [(header::LOCATION, t.return_url)]).into_response()
}

async fn api(State(st): State<St>, body: axum::body::Bytes) -> Response {
    let p: BTreeMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let respond = |r: serde_json::Value| {
        let sign = st.keys.alipay.sign(r.to_string().as_bytes()).unwrap_or_default();
        axum::Json(json!({"alipay_trade_refund_response": r, "sign": sign})).into_response()
    };
    if !verified(&st, &p) {
        return respond(
            json!({"code": "40002", "msg": "Invalid Arguments", "sub_code": "isv.invalid-signature", "sub_msg": "bad sign"}),
        );
    }
    if p.get("method").map(String::as_str) != Some("alipay.trade.refund") {
        return respond(
            json!({"code": "40004", "msg": "Business Failed", "sub_code": "isv.invalid-method"}),
        );
    }
    let biz: serde_json::Value =
        p.get("biz_content").and_then(|b| serde_json::from_str(b).ok()).unwrap_or_default();
    let no = biz["out_trade_no"].as_str().unwrap_or_default().to_string();
    let trade = lock(&st.inner).trades.get(&no).cloned();
    match trade {
        Some(t)
            if t.trade_no.is_some()
                && biz["refund_amount"].as_str() == Some(t.total_amount.as_str()) =>
        {
            lock(&st.inner).refunds.push(p.clone());
            respond(
                json!({"code": "10000", "msg": "Success", "trade_no": t.trade_no, "out_trade_no": no,
                "refund_fee": t.total_amount, "fund_change": "Y", "buyer_logon_id": BUYER_LOGON_ID}),
            )
        }
        _ => respond(
            json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "no such paid trade"}),
        ),
    }
}
