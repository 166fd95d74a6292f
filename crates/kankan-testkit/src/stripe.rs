//! A stand-in for Stripe on 127.0.0.1, speaking the parts of Stripe's API Kankan uses:
//! `POST /v1/checkout/sessions` (form-encoded, `Authorization: Bearer <secret key>`; checks
//! `mode=payment`, one `line_items[0]` with `price_data` currency, `unit_amount` and
//! `product_data[name]`, `success_url`, `cancel_url`; answers the Checkout Session object with
//! its hosted `url`), the hosted checkout page at that url (the product, the amount and a Pay
//! button, for the browser tests), and `POST /v1/refunds` (`payment_intent` of a paid session).
//!
//! Paying (the button, or [`FakeStripe::pay`]) marks the session paid with a new payment
//! intent, sends the `checkout.session.completed` event to the configured webhook endpoint
//! signed as Stripe signs (`Stripe-Signature: t=...,v1=HMAC-SHA256("{t}.{body}")` under the
//! endpoint secret, `t` from the clock tests give it), and redirects to `success_url`. Tests
//! replay the last event ([`FakeStripe::replay_last`]), send any event signed or forged
//! ([`FakeStripe::deliver`]), and build `charge.refunded` events.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use kankan_base::{Clocks, RealClock, Secret};
use kankan_billing::StripeConfig;
use serde_json::json;

pub const SECRET_KEY: &str = "sk_test_kankan0123456789";
pub const WEBHOOK_SECRET: &str = "whsec_kankan0123456789abcdef";
/// The payer's details every completed session carries, as Stripe's `customer_details` does:
/// what Kankan must never keep.
pub const PAYER_EMAIL: &str = "pat.payer@example.net";
pub const PAYER_NAME: &str = "Pat Q. Payer";
pub const PAYER_POSTCODE: &str = "SW1A 9ZZ";

/// A Checkout Session the stand-in created.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub client_reference_id: Option<String>,
    pub amount_total: i64,
    /// Lower case, as Stripe writes it.
    pub currency: String,
    pub name: String,
    pub success_url: String,
    pub cancel_url: String,
    /// Set once paid.
    pub payment_intent: Option<String>,
    /// The form the server sent.
    pub form: Vec<(String, String)>,
}

/// One webhook the stand-in sent: the body, its signature header and the answer.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub body: String,
    pub signature: String,
    pub status: u16,
}

#[derive(Default)]
struct Inner {
    sessions: BTreeMap<String, Session>,
    refunds: Vec<(String, String)>,
    deliveries: Vec<Delivery>,
    endpoint: Option<String>,
    clock: Option<Clocks>,
    seq: u64,
}

type Shared = Arc<Mutex<Inner>>;

/// The running stand-in; stops with the test's runtime.
#[derive(Clone)]
pub struct FakeStripe {
    /// `http://127.0.0.1:<port>`: the `api_base` to configure.
    pub base: String,
    inner: Shared,
    http: reqwest::Client,
}

#[derive(Clone)]
struct AppState {
    inner: Shared,
    base: String,
    http: reqwest::Client,
}

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Inner> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeStripe {
    pub async fn start() -> FakeStripe {
        let inner = Shared::default();
        let _ = rustls::crypto::ring::default_provider().install_default();
        // No redirects: paying answers the redirect to `success_url`, which tests look at.
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .expect("a plain HTTP client builds");
        let (base, _task) = crate::local::serve(|origin| {
            Router::new()
                .route("/v1/checkout/sessions", post(create_session))
                .route("/v1/refunds", post(create_refund))
                .route("/pay/{id}", get(page).post(pay_form))
                .with_state(AppState {
                    inner: inner.clone(),
                    base: origin.to_string(),
                    http: http.clone(),
                })
        })
        .await;
        FakeStripe { base, inner, http }
    }

    /// `[billing.stripe]` pointing at this stand-in.
    pub fn config(&self) -> StripeConfig {
        StripeConfig {
            api_base: self.base.clone(),
            secret_key: Secret::new(SECRET_KEY),
            webhook_secret: Secret::new(WEBHOOK_SECRET),
            tolerance_secs: 300,
            timeout_secs: 5,
        }
    }

    /// Where events go (`{app}/api/v1/billing/webhooks/stripe`), and the clock their `t` is
    /// read from (the server's simulated clock).
    pub fn send_to(&self, endpoint: &str, clock: Clocks) {
        let mut g = lock(&self.inner);
        g.endpoint = Some(endpoint.to_string());
        g.clock = Some(clock);
    }

    pub fn sessions(&self) -> Vec<Session> {
        lock(&self.inner).sessions.values().cloned().collect()
    }

    pub fn session(&self, id: &str) -> Option<Session> {
        lock(&self.inner).sessions.get(id).cloned()
    }

    /// The refunds asked for: (refund id, payment intent).
    pub fn refunds(&self) -> Vec<(String, String)> {
        lock(&self.inner).refunds.clone()
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.inner).deliveries.clone()
    }

    /// Signs `body` as Stripe does, at the clock's now.
    pub fn sign(&self, body: &str) -> String {
        let t = now_secs(&self.inner);
        kankan_billing::stripe::signature_header(WEBHOOK_SECRET, t, body.as_bytes())
    }

    /// Pays a session as the hosted page's button does (without following the redirect):
    /// the `checkout.session.completed` delivery.
    pub async fn pay(&self, session_id: &str) -> Delivery {
        let url = format!("{}/pay/{session_id}", self.base);
        let resp = self.http.post(url).send().await.expect("pay");
        assert!(resp.status().is_redirection(), "paying answered {}", resp.status());
        self.deliveries().pop().expect("a delivery")
    }

    /// Sends `body` to the endpoint with `signature` as its `Stripe-Signature` (or none); the
    /// answer's status.
    pub async fn deliver(&self, body: &str, signature: Option<&str>) -> u16 {
        let endpoint = lock(&self.inner).endpoint.clone().expect("send_to first");
        deliver(&self.http, &self.inner, &endpoint, body, signature).await
    }

    /// Sends the last delivered event again, with its signature re-made at now (as Stripe's
    /// retries do).
    pub async fn replay_last(&self) -> u16 {
        let last = self.deliveries().pop().expect("a delivery to replay");
        let sig = self.sign(&last.body);
        self.deliver(&last.body, Some(&sig)).await
    }

    /// A `charge.refunded` event for a fully refunded payment intent.
    pub fn charge_refunded(&self, payment_intent: &str, amount: i64, currency: &str) -> String {
        let id = next_id(&self.inner, "evt");
        json!({
            "id": id, "object": "event", "type": "charge.refunded", "api_version": "2024-06-20",
            "created": now_secs(&self.inner),
            "data": {"object": {"id": next_id(&self.inner, "ch"), "object": "charge",
                "payment_intent": payment_intent, "amount": amount, "amount_refunded": amount,
                "currency": currency, "refunded": true}}
        })
        .to_string()
    }

    /// The `checkout.session.completed` event for a session, with `amount` and `currency` as
    /// given (tests change them).
    pub fn completed_event(&self, s: &Session, amount: i64, currency: &str) -> String {
        completed(&self.inner, s, amount, currency)
    }
}

fn now_secs(inner: &Shared) -> i64 {
    let clock = lock(inner).clock.clone().unwrap_or_else(|| Arc::new(RealClock));
    clock.now().0.div_euclid(1000)
}

fn next_id(inner: &Shared, prefix: &str) -> String {
    let mut g = lock(inner);
    g.seq += 1;
    let mut r = [0u8; 8];
    let _ = getrandom::fill(&mut r);
    format!("{prefix}_{}{:016x}", g.seq, u64::from_le_bytes(r))
}

fn completed(inner: &Shared, s: &Session, amount: i64, currency: &str) -> String {
    let id = next_id(inner, "evt");
    let metadata: BTreeMap<&str, &str> = s
        .form
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("metadata[")?.strip_suffix(']')?, v.as_str())))
        .collect();
    json!({
        "id": id, "object": "event", "type": "checkout.session.completed",
        "api_version": "2024-06-20", "created": now_secs(inner),
        "data": {"object": {
            "id": s.id, "object": "checkout.session", "mode": "payment", "status": "complete",
            "payment_status": "paid", "client_reference_id": s.client_reference_id,
            "metadata": metadata, "amount_total": amount, "currency": currency,
            "payment_intent": s.payment_intent, "payment_method_types": ["card"],
            "customer_details": {"email": PAYER_EMAIL, "name": PAYER_NAME, "phone": null,
                "address": {"country": "GB", "postal_code": PAYER_POSTCODE, "line1": null,
                    "line2": null, "city": null, "state": null},
                "tax_exempt": "none", "tax_ids": []},
        }}
    })
    .to_string()
}

async fn deliver(
    http: &reqwest::Client,
    inner: &Shared,
    endpoint: &str,
    body: &str,
    signature: Option<&str>,
) -> u16 {
    let mut req = http.post(endpoint).header(header::CONTENT_TYPE, "application/json");
    if let Some(s) = signature {
        req = req.header("Stripe-Signature", s);
    }
    let status = req.body(body.to_string()).send().await.map(|r| r.status().as_u16()).unwrap_or(0);
    lock(inner).deliveries.push(Delivery {
        body: body.to_string(),
        signature: signature.unwrap_or_default().to_string(),
        status,
    });
    status
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({"error": {"type": "invalid_request_error", "message": message}});
    (status, axum::Json(body)).into_response()
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {SECRET_KEY}"))
}

fn form_of(headers: &HeaderMap, body: &[u8]) -> Option<Vec<(String, String)>> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return None;
    }
    Some(url::form_urlencoded::parse(body).into_owned().collect())
}

async fn create_session(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, "Invalid API Key provided");
    }
    let Some(form) = form_of(&headers, &body) else {
        return error(StatusCode::BAD_REQUEST, "expected a form-encoded body");
    };
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if field("mode").as_deref() != Some("payment") {
        return error(StatusCode::BAD_REQUEST, "mode must be payment");
    }
    let (Some(currency), Some(amount), Some(name), Some(success_url), Some(cancel_url)) = (
        field("line_items[0][price_data][currency]"),
        field("line_items[0][price_data][unit_amount]").and_then(|a| a.parse::<i64>().ok()),
        field("line_items[0][price_data][product_data][name]"),
        field("success_url"),
        field("cancel_url"),
    ) else {
        return error(StatusCode::BAD_REQUEST, "Missing required param: line_items or urls");
    };
    if field("line_items[0][quantity]").as_deref() != Some("1") || amount < 0 {
        return error(StatusCode::BAD_REQUEST, "Invalid line item");
    }
    let id = next_id(&st.inner, "cs_test");
    let s = Session {
        id: id.clone(),
        client_reference_id: field("client_reference_id"),
        amount_total: amount,
        currency: currency.clone(),
        name,
        success_url,
        cancel_url,
        payment_intent: None,
        form: form.clone(),
    };
    let url = format!("{}/pay/{id}", st.base);
    lock(&st.inner).sessions.insert(id.clone(), s.clone());
    axum::Json(json!({
        "id": id, "object": "checkout.session", "mode": "payment", "status": "open",
        "payment_status": "unpaid", "amount_total": amount, "currency": currency,
        "client_reference_id": s.client_reference_id, "url": url,
    }))
    .into_response()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

async fn page(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(s) = lock(&st.inner).sessions.get(&id).cloned() else {
        return (StatusCode::NOT_FOUND, "no such session").into_response();
    };
    Html(format!(
        "<!doctype html><html><head><title>Pay {name}</title></head><body>\
         <h1 id=\"product\">{name}</h1><p id=\"amount\">{amount} {currency}</p>\
         <form method=\"post\" action=\"/pay/{id}\"><button id=\"pay\" type=\"submit\">Pay</button></form>\
         <a id=\"cancel\" href=\"{cancel}\">Cancel</a></body></html>",
        name = escape(&s.name),
        amount = s.amount_total,
        currency = escape(&s.currency.to_ascii_uppercase()),
        id = escape(&id),
        cancel = escape(&s.cancel_url),
    ))
    .into_response()
}

async fn pay_form(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    let (s, endpoint) = {
        let mut g = lock(&st.inner);
        let endpoint = g.endpoint.clone();
        let Some(s) = g.sessions.get_mut(&id) else {
            return (StatusCode::NOT_FOUND, "no such session").into_response();
        };
        if s.payment_intent.is_none() {
            s.payment_intent = Some(format!("pi_{}", id.trim_start_matches("cs_test_")));
        }
        (s.clone(), endpoint)
    };
    let body = completed(&st.inner, &s, s.amount_total, &s.currency);
    if let Some(endpoint) = endpoint {
        let sig = {
            let t = now_secs(&st.inner);
            kankan_billing::stripe::signature_header(WEBHOOK_SECRET, t, body.as_bytes())
        };
        deliver(&st.http, &st.inner, &endpoint, &body, Some(&sig)).await;
    }
    (StatusCode::SEE_OTHER, [(header::LOCATION, s.success_url)]).into_response()
}

async fn create_refund(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !authorized(&headers) {
        return error(StatusCode::UNAUTHORIZED, "Invalid API Key provided");
    }
    let Some(form) = form_of(&headers, &body) else {
        return error(StatusCode::BAD_REQUEST, "expected a form-encoded body");
    };
    let Some(pi) = form.iter().find(|(k, _)| k == "payment_intent").map(|(_, v)| v.clone()) else {
        return error(StatusCode::BAD_REQUEST, "Missing required param: payment_intent");
    };
    let paid = lock(&st.inner).sessions.values().any(|s| s.payment_intent.as_deref() == Some(&pi));
    if !paid {
        return error(StatusCode::BAD_REQUEST, "No such payment_intent");
    }
    let id = next_id(&st.inner, "re");
    lock(&st.inner).refunds.push((id.clone(), pi.clone()));
    axum::Json(json!({"id": id, "object": "refund", "payment_intent": pi, "status": "succeeded"}))
        .into_response()
}
