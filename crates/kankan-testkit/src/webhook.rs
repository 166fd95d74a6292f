//! A webhook receiver on 127.0.0.1 that records every request (headers and body) and can be
//! told to misbehave: answer the next N requests with an error status, or hang (accept the
//! request and never answer).
//!
//! [`WebhookRequest::signature_valid`] checks the `Kankan-Signature` header the way a
//! receiver would, with its own HMAC-SHA256 (independent of `kankan-notify`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// One request the sink received.
#[derive(Debug, Clone)]
pub struct WebhookRequest {
    /// Path and query, e.g. `/hook?x=1`.
    pub path: String,
    /// Header names in lowercase, values as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The status answered; `None` when the sink hung on it.
    pub answered: Option<u16>,
}

impl WebhookRequest {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v.as_str())
    }

    /// The body as JSON; panics if it is not.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }

    /// The `t=` of `Kankan-Signature`, if the header is well formed.
    pub fn signed_at_s(&self) -> Option<i64> {
        let (t, _) = self.signature_parts()?;
        Some(t)
    }

    /// Whether `Kankan-Signature: t=<ts>,v1=<hex>` holds HMAC-SHA256(`secret`, `"<ts>." + body`).
    pub fn signature_valid(&self, secret: &[u8]) -> bool {
        let Some((t, v1)) = self.signature_parts() else {
            return false;
        };
        let Some(expected) = decode_hex(&v1) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(format!("{t}.").as_bytes());
        mac.update(&self.body);
        mac.verify_slice(&expected).is_ok()
    }

    fn signature_parts(&self) -> Option<(i64, String)> {
        let value = self.header("kankan-signature")?;
        let (mut t, mut v1) = (None, None);
        for part in value.split(',') {
            match part.trim().split_once('=') {
                Some(("t", ts)) => t = ts.parse().ok(),
                Some(("v1", hex)) => v1 = Some(hex.to_owned()),
                _ => {}
            }
        }
        Some((t?, v1?))
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

#[derive(Default)]
struct Inner {
    requests: Vec<WebhookRequest>,
    /// Statuses to answer the next requests with, in order.
    failures: Vec<StatusCode>,
    hang: bool,
}

/// The webhook receiver; stops when dropped.
pub struct WebhookSink {
    base: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl WebhookSink {
    /// Listens on a free port of 127.0.0.1 and answers 200 to every POST until told otherwise.
    pub async fn start() -> WebhookSink {
        let inner: Arc<Mutex<Inner>> = Arc::default();
        let state = Arc::clone(&inner);
        let (base, task) =
            crate::local::serve(|_| Router::new().fallback(receive).with_state(state)).await;
        WebhookSink { base, inner, task }
    }

    /// The URL to register: `http://127.0.0.1:<port>/hook`.
    pub fn url(&self) -> String {
        format!("{}/hook", self.base)
    }

    /// Answers the next `n` requests with 500 Internal Server Error.
    pub fn fail_next(&self, n: usize) {
        self.answer_next(n, 500);
    }

    /// Answers the next `n` requests with `status` (e.g. 410, 429, 400).
    pub fn answer_next(&self, n: usize, status: u16) {
        let status = StatusCode::from_u16(status).expect("a valid HTTP status");
        self.lock().failures.extend(std::iter::repeat_n(status, n));
    }

    /// While `true`, requests are recorded and never answered (the connection stays open).
    pub fn hang(&self, hang: bool) {
        self.lock().hang = hang;
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<WebhookRequest> {
        self.lock().requests.clone()
    }

    /// Waits until at least `n` requests arrived and returns them; panics after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<WebhookRequest> {
        let shortfall = |got| format!("webhook sink: {got} of {n} requests within {timeout:?}");
        crate::local::wait_for_n(n, timeout, || self.requests(), shortfall).await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("webhook sink state lock")
    }
}

async fn receive(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let headers = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let path = uri.path_and_query().map_or_else(|| uri.path().to_owned(), |p| p.to_string());
    let answer = {
        let mut inner = inner.lock().expect("webhook sink state lock");
        let answer = if inner.hang {
            None
        } else if inner.failures.is_empty() {
            Some(StatusCode::OK)
        } else {
            Some(inner.failures.remove(0))
        };
        let answered = answer.map(|s| s.as_u16());
        inner.requests.push(WebhookRequest { path, headers, body: body.to_vec(), answered });
        answer
    };
    match answer {
        Some(status) => (status, "").into_response(),
        None => std::future::pending().await,
    }
}
