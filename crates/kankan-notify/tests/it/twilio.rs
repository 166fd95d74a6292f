//! `TwilioSms` against a local stand-in for Twilio's Programmable Messaging API (axum).

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
use kankan_notify::{Message, Messenger, Recipient, SendError, TwilioConfig, TwilioSms};
use serde_json::json;

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "f00dfeedf00dfeedf00dfeedf00dfeed";
const FROM: &str = "+15005550006";

/// One request the stand-in received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub account_sid: String,
    pub content_type: String,
    pub form: Vec<(String, String)>,
}

impl Recorded {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The stand-in: checks credentials and fields like Twilio does, records accepted requests.
#[derive(Clone)]
pub struct FakeTwilio {
    pub base: String,
    recorded: Arc<Mutex<Vec<Recorded>>>,
}

#[derive(Clone)]
struct AppState {
    recorded: Arc<Mutex<Vec<Recorded>>>,
    /// Answer every request with this status instead of handling it.
    forced: Option<StatusCode>,
}

impl FakeTwilio {
    pub async fn start() -> FakeTwilio {
        Self::start_forcing(None).await
    }

    async fn start_forcing(forced: Option<StatusCode>) -> FakeTwilio {
        let recorded = Arc::new(Mutex::new(Vec::new()));
        let state = AppState { recorded: Arc::clone(&recorded), forced };
        let app = Router::new()
            .route("/2010-04-01/Accounts/{sid}/Messages.json", post(create_message))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeTwilio { base: format!("http://{addr}"), recorded }
    }

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

    pub fn recorded(&self) -> Vec<Recorded> {
        self.recorded.lock().expect("lock").clone()
    }
}

fn twilio_error(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    (status, axum::Json(body)).into_response()
}

async fn create_message(
    State(state): State<AppState>,
    Path(sid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match state.forced {
        Some(StatusCode::TOO_MANY_REQUESTS) => {
            return twilio_error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests");
        }
        Some(status) => return (status, "<html>Service Unavailable</html>").into_response(),
        None => {}
    }
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"));
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if sid != ACCOUNT_SID || auth != Some(format!("Basic {expected}").as_str()) {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let form = parse_form(&body);
    let recorded = Recorded { account_sid: sid.clone(), content_type, form };
    let to = recorded.field("To").unwrap_or_default().to_owned();
    if to.is_empty() {
        return twilio_error(StatusCode::BAD_REQUEST, 21604, "A 'To' phone number is required.");
    }
    if !to.starts_with('+') || to.len() < 8 {
        let msg = format!("The 'To' number {to} is not a valid phone number.");
        return twilio_error(StatusCode::BAD_REQUEST, 21211, &msg);
    }
    if recorded.field("From").is_none() && recorded.field("MessagingServiceSid").is_none() {
        return twilio_error(StatusCode::BAD_REQUEST, 21603, "A 'From' phone number is required.");
    }
    let text = recorded.field("Body").unwrap_or_default().to_owned();
    let from = recorded.field("From").map(str::to_owned);
    let service = recorded.field("MessagingServiceSid").map(str::to_owned);
    state.recorded.lock().expect("lock").push(recorded);

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

/// Decodes an `application/x-www-form-urlencoded` body.
fn parse_form(body: &[u8]) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("ascii");
                    out.push(u8::from_str_radix(hex, 16).expect("hex escape"));
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).expect("utf-8 form value")
    }
    let text = std::str::from_utf8(body).expect("utf-8 form");
    text.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn sms(to: &str, body: &str) -> Message {
    Message {
        to: Recipient::Phone(to.into()),
        subject: "ignored for SMS".into(),
        body: body.into(),
    }
}

#[tokio::test]
async fn twilio_receives_the_documented_form_fields() {
    let twilio = FakeTwilio::start().await;
    let messenger = TwilioSms::new(&twilio.config()).expect("config");
    let body = "看看 code: 482913\nValid 10 min & don't share it (+/=)";
    messenger.send(&sms("+8613800138000", body)).await.expect("send");

    let recorded = twilio.recorded();
    assert_eq!(recorded.len(), 1);
    let r = &recorded[0];
    assert_eq!(r.account_sid, ACCOUNT_SID);
    assert_eq!(r.content_type, "application/x-www-form-urlencoded");
    assert_eq!(r.field("To"), Some("+8613800138000"));
    assert_eq!(r.field("From"), Some(FROM));
    assert_eq!(r.field("Body"), Some(body));
    assert_eq!(r.field("MessagingServiceSid"), None);
    assert_eq!(r.form.len(), 3, "{:?}", r.form);
}

#[tokio::test]
async fn messaging_service_sid_is_sent_instead_of_from() {
    let twilio = FakeTwilio::start().await;
    let config = TwilioConfig {
        messaging_service_sid: Some("MG0123456789abcdef0123456789abcdef".into()),
        ..twilio.config()
    };
    TwilioSms::new(&config).expect("config").send(&sms("+14155552671", "hi")).await.expect("send");

    let r = &twilio.recorded()[0];
    assert_eq!(r.field("MessagingServiceSid"), Some("MG0123456789abcdef0123456789abcdef"));
    assert_eq!(r.field("From"), None);
}

#[tokio::test]
async fn wrong_credentials_are_permanent_and_name_twilio_code() {
    let twilio = FakeTwilio::start().await;
    let config = TwilioConfig { auth_token: Secret::new("wrong-token"), ..twilio.config() };
    let err = TwilioSms::new(&config)
        .expect("config")
        .send(&sms("+14155552671", "hi"))
        .await
        .expect_err("401");
    assert!(matches!(err, SendError::Permanent(_)), "{err:?}");
    assert!(err.to_string().contains("20003"), "{err}");
    assert!(!err.to_string().contains("wrong-token"), "{err}");
    assert!(twilio.recorded().is_empty());
}

#[tokio::test]
async fn invalid_number_rejects_the_recipient_without_echoing_it() {
    let twilio = FakeTwilio::start().await;
    let messenger = TwilioSms::new(&twilio.config()).expect("config");
    let err = messenger.send(&sms("+12345", "hi")).await.expect_err("21211");
    assert!(matches!(err, SendError::Recipient(_)), "{err:?}");
    assert_eq!(err.kind(), kankan_base::ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("21211"), "{err}");
    assert!(!err.to_string().contains("12345"), "{err}");
}

#[tokio::test]
async fn service_unavailable_is_transient() {
    let twilio = FakeTwilio::start_forcing(Some(StatusCode::SERVICE_UNAVAILABLE)).await;
    let messenger = TwilioSms::new(&twilio.config()).expect("config");
    let err = messenger.send(&sms("+14155552671", "hi")).await.expect_err("503");
    assert!(err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("503"), "{err}");
}

#[tokio::test]
async fn rate_limit_is_transient() {
    let twilio = FakeTwilio::start_forcing(Some(StatusCode::TOO_MANY_REQUESTS)).await;
    let messenger = TwilioSms::new(&twilio.config()).expect("config");
    let err = messenger.send(&sms("+14155552671", "hi")).await.expect_err("429");
    assert!(err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("20429"), "{err}");
}

#[tokio::test]
async fn unreachable_twilio_is_transient() {
    let config = TwilioConfig {
        api_base: format!("http://127.0.0.1:{}", crate::closed_port()),
        ..FakeTwilio::start().await.config()
    };
    let err = TwilioSms::new(&config)
        .expect("config")
        .send(&sms("+14155552671", "hi"))
        .await
        .expect_err("no server");
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn silent_twilio_times_out_as_transient() {
    // Accepts connections but never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let _held = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            conns.push(conn);
        }
    });
    let config = TwilioConfig {
        api_base: format!("http://{addr}"),
        timeout_secs: 1,
        ..FakeTwilio::start().await.config()
    };
    let started = std::time::Instant::now();
    let err = TwilioSms::new(&config)
        .expect("config")
        .send(&sms("+14155552671", "hi"))
        .await
        .expect_err("timeout");
    assert!(err.is_transient(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
