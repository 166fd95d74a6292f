//! Web Push: our RFC 8291 encryption decrypted by an independent implementation (Python's
//! `http_ece`, run by `scripts/webpush_decrypt.py`), and `PushClient`'s mapping of push service
//! answers, against an axum stand-in that answers a fixed status.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kankan_notify::webpush::{self, PushClient, PushError, PushSubscription, Urgency, VapidKey};
use kankan_testkit::local;
use kankan_testkit::push::UserAgentKeys as Browser;

/// A browser's subscription with `keys` at `endpoint`.
fn subscription(keys: &Browser, endpoint: &str) -> PushSubscription {
    PushSubscription {
        endpoint: endpoint.to_owned(),
        p256dh: keys.p256dh.clone(),
        auth: keys.auth.clone(),
    }
}

/// The raw bytes of a base64url key.
fn raw(b64: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(b64).expect("base64url")
}

/// Makes sure python3 can import `http_ece` and `cryptography`. Under CI (env `CI` set) a
/// missing module fails the test; elsewhere it is installed with pip first.
fn require_http_ece() {
    let importable = || {
        Command::new("python3")
            .args(["-c", "import http_ece, cryptography"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if importable() {
        return;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "python3 with the http_ece module is required for the Web Push interop test \
         (scripts/test installs it: python3 -m pip install http_ece)"
    );
    let installed = Command::new("python3")
        .args(["-m", "pip", "install", "-q", "http_ece"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(installed && importable(), "could not install http_ece with pip");
}

/// Runs `scripts/webpush_decrypt.py` (Python's `http_ece`) on `body` with `browser`'s keys.
fn python_decrypt(browser: &Browser, body: &[u8]) -> std::process::Output {
    use std::io::Write as _;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/webpush_decrypt.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(browser.private_key())
        .arg(&browser.auth)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python3");
    child.stdin.take().expect("piped stdin").write_all(body).expect("write the body");
    child.wait_with_output().expect("python3 finished")
}

#[test]
fn http_ece_decrypts_what_we_encrypt() {
    require_http_ece();
    let browser = Browser::generate();
    let payloads: [&[u8]; 3] = [
        br##"{"title":"Motion at Front door","url":"#/devices/cam1/playback?at=123"}"##,
        "门口有人 — someone at the door".as_bytes(),
        &[0x5a; webpush::MAX_PAYLOAD],
    ];
    for payload in payloads {
        let body =
            webpush::encrypt(payload, &raw(&browser.p256dh), &raw(&browser.auth)).expect("encrypt");
        let out = python_decrypt(&browser, &body);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "http_ece could not decrypt our body: {stderr}");
        assert_eq!(out.stdout, payload);
    }
}

#[test]
fn http_ece_refuses_a_body_for_another_browser() {
    require_http_ece();
    let browser = Browser::generate();
    let other = Browser::generate();
    let body =
        webpush::encrypt(b"secret", &raw(&other.p256dh), &raw(&other.auth)).expect("encrypt");
    let out = python_decrypt(&browser, &body);
    assert!(out.stdout.is_empty());
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
}

/// What the stand-in saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    headers: HeaderMap,
    body_len: usize,
}

/// A push endpoint answering every POST with `status`; returns its URL and what it saw.
async fn endpoint_answering(status: StatusCode) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let app = Router::new().route(
        "/push/{id}",
        post(move |headers: HeaderMap, body: axum::body::Bytes| async move {
            record.lock().expect("lock").push(Seen { headers, body_len: body.len() });
            (status, "stand-in answer")
        }),
    );
    let (origin, _) = local::serve(|_| app).await;
    (format!("{origin}/push/sub1"), seen)
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().expect("client")
}

fn client() -> PushClient {
    PushClient::new(http(), VapidKey::generate(), "mailto:ops@example.com".into())
}

async fn send_to(status: StatusCode) -> Result<(), PushError> {
    let (url, _) = endpoint_answering(status).await;
    let sub = subscription(&Browser::generate(), &url);
    client().send(&sub, b"{}", 60, Urgency::High).await
}

#[tokio::test]
async fn a_push_carries_the_rfc_8030_headers() {
    let (url, seen) = endpoint_answering(StatusCode::CREATED).await;
    let sub = subscription(&Browser::generate(), &url);
    let client = client();
    client.send(&sub, b"hello", 3600, Urgency::High).await.expect("201");
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 1);
    let h = &seen[0].headers;
    let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert_eq!(get("ttl"), "3600");
    assert_eq!(get("urgency"), "high");
    assert_eq!(get("content-encoding"), "aes128gcm");
    assert!(get("authorization").starts_with("vapid t="), "{}", get("authorization"));
    let k = format!(", k={}", client.vapid_public_key());
    assert!(get("authorization").ends_with(&k), "{}", get("authorization"));
    assert_eq!(seen[0].body_len, 86 + 5 + 1 + 16);
}

#[tokio::test]
async fn accepted_statuses_are_success() {
    for status in [StatusCode::OK, StatusCode::CREATED, StatusCode::ACCEPTED] {
        send_to(status).await.unwrap_or_else(|e| panic!("{status}: {e:?}"));
    }
}

#[tokio::test]
async fn an_expired_subscription_is_gone() {
    for status in [StatusCode::GONE, StatusCode::NOT_FOUND] {
        assert_eq!(send_to(status).await, Err(PushError::Gone), "{status}");
    }
}

#[tokio::test]
async fn overload_and_server_errors_are_transient() {
    for status in [StatusCode::TOO_MANY_REQUESTS, StatusCode::SERVICE_UNAVAILABLE] {
        let err = send_to(status).await.expect_err("must fail");
        assert!(err.is_transient(), "{status}: {err:?}");
        assert!(err.to_string().contains(status.as_str()), "{err}");
    }
}

#[tokio::test]
async fn other_client_errors_reject_the_message() {
    for status in [StatusCode::BAD_REQUEST, StatusCode::FORBIDDEN, StatusCode::PAYLOAD_TOO_LARGE] {
        let err = send_to(status).await.expect_err("must fail");
        assert!(matches!(err, PushError::Rejected(_)), "{status}: {err:?}");
    }
}

#[tokio::test]
async fn an_unreachable_push_service_is_transient_and_its_url_stays_private() {
    let endpoint = format!("http://127.0.0.1:{}/push/secret-token-123", local::closed_port());
    let sub = subscription(&Browser::generate(), &endpoint);
    let err = client().send(&sub, b"{}", 60, Urgency::Normal).await.expect_err("no server");
    assert!(err.is_transient(), "{err:?}");
    assert!(!err.to_string().contains("secret-token-123"), "{err}");
}

#[tokio::test]
async fn a_silent_push_service_times_out_as_transient() {
    let (silent, _held) = local::silent_server().await;
    let sub = subscription(&Browser::generate(), &format!("{silent}/push/x"));
    let client = client().with_timeout(Duration::from_millis(300));
    let err = client.send(&sub, b"{}", 60, Urgency::Normal).await.expect_err("timeout");
    assert!(matches!(&err, PushError::Transient(m) if m.contains("timed out")), "{err:?}");
}

#[tokio::test]
async fn a_bogus_subscription_is_invalid_and_nothing_is_sent() {
    let (url, seen) = endpoint_answering(StatusCode::CREATED).await;
    let sub = PushSubscription { auth: "AAAA".into(), ..subscription(&Browser::generate(), &url) };
    let err = client().send(&sub, b"{}", 60, Urgency::Normal).await.expect_err("invalid");
    assert!(matches!(err, PushError::Invalid(_)), "{err:?}");
    assert!(seen.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_subject_that_is_not_mailto_or_https_is_invalid() {
    let (url, _) = endpoint_answering(StatusCode::CREATED).await;
    let sub = subscription(&Browser::generate(), &url);
    let client = PushClient::new(http(), VapidKey::generate(), "ops@example.com".into());
    let err = client.send(&sub, b"{}", 60, Urgency::Normal).await.expect_err("invalid");
    assert!(matches!(err, PushError::Invalid(ref m) if m.contains("mailto:")), "{err:?}");
}
