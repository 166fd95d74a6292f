//! A stand-in for Twilio's Programmable Messaging and Voice APIs on 127.0.0.1: checks HTTP Basic
//! credentials and the required form fields the way Twilio does (`To`, `From` or
//! `MessagingServiceSid`, `Body` for messages; `To`, `From`, a well-formed `Twiml` or `Url`
//! for calls), answers `201 Created` with the resource Twilio documents, and records what it
//! accepted. [`FakeTwilio::start_failing`] answers every request with an error status instead.
//!
//! Point the server at it with `messenger.sms = twilio` and [`FakeTwilio::config`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use kankan_base::Secret;
use kankan_notify::TwilioConfig;
use serde_json::json;

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "f00dfeedf00dfeedf00dfeedf00dfeed";
/// The sending number tests configure.
pub const FROM: &str = "+15005550006";

/// One request the stand-in accepted.
#[derive(Debug, Clone)]
pub struct TwilioRequest {
    /// `"Messages"` or `"Calls"`.
    pub resource: &'static str,
    /// The account SID in the request's path.
    pub account_sid: String,
    /// The `Content-Type` header.
    pub content_type: String,
    pub form: Vec<(String, String)>,
}

impl TwilioRequest {
    /// The first value of form field `name`.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether form field `name` is present and not empty.
    fn has(&self, name: &str) -> bool {
        self.field(name).is_some_and(|v| !v.is_empty())
    }
}

/// The running stand-in; stops with the test's runtime.
#[derive(Clone)]
pub struct FakeTwilio {
    /// `http://127.0.0.1:<port>`: the `api_base` to configure.
    pub base: String,
    recorded: Recorded,
}

type Recorded = Arc<Mutex<Vec<TwilioRequest>>>;

#[derive(Clone)]
struct AppState {
    recorded: Recorded,
    /// Answer every request with this status instead of handling it.
    failing: Option<StatusCode>,
}

impl FakeTwilio {
    pub async fn start() -> FakeTwilio {
        Self::serve(None).await
    }

    /// A stand-in answering every request with `status`: 429 as Twilio's rate limit (error
    /// 20429), anything else as an HTML error page (an outage in front of the API).
    pub async fn start_failing(status: StatusCode) -> FakeTwilio {
        Self::serve(Some(status)).await
    }

    async fn serve(failing: Option<StatusCode>) -> FakeTwilio {
        let recorded = Recorded::default();
        let state = AppState { recorded: Arc::clone(&recorded), failing };
        let (base, _task) = crate::local::serve(|_| {
            Router::new()
                .route("/2010-04-01/Accounts/{sid}/Messages.json", post(messages))
                .route("/2010-04-01/Accounts/{sid}/Calls.json", post(calls))
                .with_state(state)
        })
        .await;
        FakeTwilio { base, recorded }
    }

    /// Sending through this stand-in from [`FROM`] with [`ACCOUNT_SID`] and [`AUTH_TOKEN`].
    pub fn config(&self) -> TwilioConfig {
        TwilioConfig {
            account_sid: ACCOUNT_SID.into(),
            auth_token: Secret::new(AUTH_TOKEN),
            from: Some(FROM.into()),
            messaging_service_sid: None,
            api_base: self.base.clone(),
            timeout_secs: 5,
        }
    }

    /// Everything accepted so far, in order.
    pub fn requests(&self) -> Vec<TwilioRequest> {
        self.recorded.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The accepted requests for `resource` (`"Messages"` or `"Calls"`).
    pub fn of(&self, resource: &str) -> Vec<TwilioRequest> {
        self.requests().into_iter().filter(|r| r.resource == resource).collect()
    }

    /// Waits until `n` requests for `resource` were accepted; panics after `timeout`.
    pub async fn wait_for(
        &self,
        resource: &str,
        n: usize,
        timeout: Duration,
    ) -> Vec<TwilioRequest> {
        let shortfall = |got| format!("Twilio: {got} of {n} {resource} within {timeout:?}");
        crate::local::wait_for_n(n, timeout, || self.of(resource), shortfall).await
    }
}

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    (status, axum::Json(body)).into_response()
}

/// The checks every create request goes through: a forced failure, credentials, `To`.
/// Returns the parsed request, or the error answer.
fn admit(
    state: &AppState,
    resource: &'static str,
    sid: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<TwilioRequest, Box<Response>> {
    match state.failing {
        Some(StatusCode::TOO_MANY_REQUESTS) => {
            let status = StatusCode::TOO_MANY_REQUESTS;
            return Err(Box::new(error(status, 20429, "Too Many Requests")));
        }
        Some(status) => {
            let page = (status, "<html>Service Unavailable</html>");
            return Err(Box::new(page.into_response()));
        }
        None => {}
    }
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"));
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if sid != ACCOUNT_SID || auth != Some(format!("Basic {expected}").as_str()) {
        return Err(Box::new(error(StatusCode::UNAUTHORIZED, 20003, "Authenticate")));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let form = url_decode_form(body);
    let request = TwilioRequest { resource, account_sid: sid.to_owned(), content_type, form };
    let to = request.field("To").unwrap_or_default();
    if to.is_empty() {
        let msg = "A 'To' phone number is required.";
        return Err(Box::new(error(StatusCode::BAD_REQUEST, 21604, msg)));
    }
    if !to.starts_with('+') || to.len() < 8 {
        let msg = format!("The 'To' number {to} is not a valid phone number.");
        return Err(Box::new(error(StatusCode::BAD_REQUEST, 21211, &msg)));
    }
    Ok(request)
}

fn record(state: &AppState, request: TwilioRequest) {
    state.recorded.lock().unwrap_or_else(|p| p.into_inner()).push(request);
}

/// Twilio's Messages resource: `To`, `From` or `MessagingServiceSid`, and `Body`.
async fn messages(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = match admit(&state, "Messages", &sid, &headers, &body) {
        Ok(r) => r,
        Err(answer) => return *answer,
    };
    if !request.has("From") && !request.has("MessagingServiceSid") {
        return error(StatusCode::BAD_REQUEST, 21603, "A 'From' phone number is required.");
    }
    if !request.has("Body") {
        return error(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
    }
    let to = request.field("To").unwrap_or_default().to_owned();
    let text = request.field("Body").unwrap_or_default().to_owned();
    let from = request.field("From").map(str::to_owned);
    let service = request.field("MessagingServiceSid").map(str::to_owned);
    record(&state, request);

    let msg_sid = "SM1f0e8ae6ade43cb3c0ce4525424e404f";
    let resource = json!({
        "account_sid": sid,
        "api_version": "2010-04-01",
        "body": text,
        "date_created": "Fri, 24 May 2019 17:18:27 +0000",
        "date_sent": null,
        "date_updated": "Fri, 24 May 2019 17:18:28 +0000",
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": from,
        "messaging_service_sid": service,
        "num_media": "0",
        "num_segments": "1",
        "price": null,
        "price_unit": "USD",
        "sid": msg_sid,
        "status": "queued",
        "subresource_uris": {
            "media": format!("/2010-04-01/Accounts/{sid}/Messages/{msg_sid}/Media.json")
        },
        "to": to,
        "uri": format!("/2010-04-01/Accounts/{sid}/Messages/{msg_sid}.json"),
    });
    (StatusCode::CREATED, axum::Json(resource)).into_response()
}

/// Twilio's Calls resource: `To`, `From` and one of `Twiml` (a `<Response>` document) or `Url`.
async fn calls(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = match admit(&state, "Calls", &sid, &headers, &body) {
        Ok(r) => r,
        Err(answer) => return *answer,
    };
    if !request.has("From") {
        let msg = "Call 'From' phone number is required.";
        return error(StatusCode::BAD_REQUEST, 21213, msg);
    }
    let twiml = request.field("Twiml").unwrap_or_default();
    if !request.has("Url") && twiml.is_empty() {
        return error(StatusCode::BAD_REQUEST, 21205, "Url parameter is required.");
    }
    let well_formed = twiml.starts_with("<Response>") && twiml.ends_with("</Response>");
    if !(twiml.is_empty() || well_formed) {
        return error(StatusCode::BAD_REQUEST, 12100, "Document parse failure");
    }
    let to = request.field("To").unwrap_or_default().to_owned();
    let from = request.field("From").unwrap_or_default().to_owned();
    record(&state, request);

    let call_sid = "CAe2e4d7b5c2a64ee7a1f9f3d2b3c4d5e6";
    let resource = json!({
        "account_sid": sid,
        "answered_by": null,
        "api_version": "2010-04-01",
        "caller_name": null,
        "date_created": null,
        "date_updated": null,
        "direction": "outbound-api",
        "duration": null,
        "end_time": null,
        "forwarded_from": null,
        "from": from,
        "from_formatted": from,
        "parent_call_sid": null,
        "phone_number_sid": null,
        "price": null,
        "price_unit": "USD",
        "sid": call_sid,
        "start_time": null,
        "status": "queued",
        "to": to,
        "to_formatted": to,
        "uri": format!("/2010-04-01/Accounts/{sid}/Calls/{call_sid}.json"),
    });
    (StatusCode::CREATED, axum::Json(resource)).into_response()
}

/// `application/x-www-form-urlencoded` pairs (`+` is a space, `%XX` a byte).
fn url_decode_form(body: &[u8]) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                    match u8::from_str_radix(hex, 16) {
                        Ok(b) => {
                            out.push(b);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}
