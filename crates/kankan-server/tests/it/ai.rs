//! AI descriptions of events, against a stand-in for an OpenAI-compatible provider on
//! 127.0.0.1 that speaks its documented chat-completions protocol and checks each request's
//! shape (model, system prompt, user content with `image_url` parts whose data URLs decode to
//! JPEGs, the bearer token) before answering. The camera is `kankan-cam` firmware streaming
//! video (motion detection off); the events are recorded as the device's MQTT messages would
//! be, so each gets a thumbnail from the live picture and then, where the owner wants it, a
//! description. Privacy promises 89-91.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use kankan_base::{Clock as _, Secret};
use kankan_protocol::device::{DeviceEvent, Settings};
use kankan_testkit::TestApp;
use serde_json::{Value, json};

use crate::devices::put_settings;
use crate::live_on_demand::{FirmwareCamera, firmware_camera};
use crate::recording::WAIT;

const KEY: &str = "sk-test-0123456789";
const MODEL: &str = "test-vision";
const PROMPT: &str = "Describe the event in one sentence.";
const COURIER: &str = "A courier leaves a parcel at the door.";

/// What the stand-in answers.
#[derive(Clone)]
pub(crate) enum Mode {
    Answer(String),
    Status(u16),
    Malformed,
    Hang,
}

/// One request the stand-in received: what was wrong with it, and its pictures.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    problems: Vec<String>,
    frames: Vec<Vec<u8>>,
}

#[derive(Clone)]
struct Provider {
    mode: Arc<Mutex<Mode>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

pub(crate) struct Fake {
    addr: std::net::SocketAddr,
    provider: Provider,
}

impl Fake {
    pub(crate) async fn start() -> Fake {
        let provider = Provider {
            mode: Arc::new(Mutex::new(Mode::Answer(COURIER.into()))),
            seen: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/v1/chat/completions", axum::routing::post(completions))
            .with_state(provider.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        Fake { addr, provider }
    }

    pub(crate) fn set(&self, mode: Mode) {
        *self.provider.mode.lock().expect("mode") = mode;
    }

    fn seen(&self) -> Vec<Seen> {
        self.provider.seen.lock().expect("seen").clone()
    }

    /// Every request so far, checked: well formed, each with at least one JPEG.
    pub(crate) fn checked(&self) -> Vec<Seen> {
        let seen = self.seen();
        for s in &seen {
            assert!(s.problems.is_empty(), "a malformed request: {:?}", s.problems);
            assert!(!s.frames.is_empty() && s.frames.len() <= 2, "1-2 frames: {}", s.frames.len());
        }
        seen
    }
}

/// `POST /v1/chat/completions` as an OpenAI-compatible server takes it.
async fn completions(State(p): State<Provider>, headers: HeaderMap, body: String) -> Response {
    let mut problems = Vec::new();
    let mut frames = Vec::new();
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {KEY}")) {
        problems.push(format!("authorization {auth:?}"));
    }
    let ctype = headers.get("content-type").and_then(|v| v.to_str().ok());
    if ctype != Some("application/json") {
        problems.push(format!("content-type {ctype:?}"));
    }
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if v["model"] != MODEL {
        problems.push(format!("model {}", v["model"]));
    }
    if !v["max_tokens"].as_u64().is_some_and(|n| (1..=300).contains(&n)) {
        problems.push(format!("max_tokens {}", v["max_tokens"]));
    }
    if v["messages"][0]["role"] != "system" || v["messages"][0]["content"] != PROMPT {
        problems.push(format!("system message {}", v["messages"][0]));
    }
    if v["messages"][1]["role"] != "user" {
        problems.push(format!("user message {}", v["messages"][1]));
    }
    let parts = v["messages"][1]["content"].as_array().cloned().unwrap_or_default();
    if !parts.iter().any(|p| p["type"] == "text" && p["text"].is_string()) {
        problems.push("no text part".into());
    }
    for part in parts.iter().filter(|p| p["type"] == "image_url") {
        let url = part["image_url"]["url"].as_str().unwrap_or_default();
        let Some(b64) = url.strip_prefix("data:image/jpeg;base64,") else {
            problems.push(format!("image url {}", &url[..url.len().min(40)]));
            continue;
        };
        match base64::engine::general_purpose::STANDARD.decode(b64) {
            Ok(jpeg) => {
                if image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).is_err() {
                    problems.push("an image that is not a JPEG".into());
                }
                frames.push(jpeg);
            }
            Err(e) => problems.push(format!("base64: {e}")),
        }
    }
    p.seen.lock().expect("seen").push(Seen { problems, frames });
    let mode = p.mode.lock().expect("mode").clone();
    match mode {
        Mode::Answer(text) => axum::Json(json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1_700_000_000,
            "model": MODEL,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }],
            "usage": {"prompt_tokens": 100, "completion_tokens": 12, "total_tokens": 112},
        }))
        .into_response(),
        Mode::Status(code) => (
            StatusCode::from_u16(code).expect("status"),
            axum::Json(json!({"error": {"message": "overloaded", "type": "server_error"}})),
        )
            .into_response(),
        Mode::Malformed => (StatusCode::OK, "{\"choices\": \"not a list\"").into_response(),
        Mode::Hang => {
            // Longer than the server's `ai.timeout_secs`: the server gives up first.
            tokio::time::sleep(Duration::from_secs(30)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
    }
}

/// A server with `[ai]` pointing at `fake` (127.0.0.0/8 allowed), 2 s segments.
pub(crate) async fn ai_app(
    fake: &Fake,
    adjust: impl FnOnce(&mut kankan_server::Config),
) -> TestApp {
    TestApp::spawn_with(|c| {
        c.recording.segment_secs = 2;
        c.recording.max_clock_skew_secs = 3600;
        c.ai.endpoint = format!("http://{}", fake.addr);
        c.ai.model = MODEL.into();
        c.ai.api_key = Some(Secret::new(KEY));
        c.ai.prompt = PROMPT.into();
        c.ai.timeout_secs = 2;
        c.ai.allowed_networks = vec!["127.0.0.0/8".into()];
        adjust(c);
    })
    .await
}

/// A streaming camera of `who` with motion detection off and AI descriptions as given.
pub(crate) async fn camera(app: &TestApp, who: &str, ai: bool) -> FirmwareCamera {
    let cam = firmware_camera(app, who, Some(false), None).await;
    set_ai(app, &cam, ai).await;
    cam
}

async fn set_ai(app: &TestApp, cam: &FirmwareCamera, on: bool) {
    let mut settings = Settings { ai_descriptions: on, ..Settings::default() };
    settings.motion.enabled = false;
    let (s, b) = put_settings(app, &cam.token, &cam.creds.uid, &settings).await;
    assert!(s == 200 || s == 202, "{s} {b}");
}

pub(crate) async fn consent(app: &TestApp, token: &str, granted: bool) {
    let req = app
        .http
        .put(app.url("/api/v1/me/consents/ai-descriptions"))
        .bearer_auth(token)
        .json(&json!({ "granted": granted }));
    let (s, b) = app.send(req).await;
    assert_eq!(s, 200, "{b}");
}

/// Records a new event of the camera, as its MQTT message would; its id.
pub(crate) async fn event(app: &TestApp, cam: &FirmwareCamera) -> String {
    static N: AtomicI64 = AtomicI64::new(0);
    let at = app.clock.now().0 - 60_000 + N.fetch_add(1, Ordering::Relaxed);
    let events = &app.running().services.events;
    let e = events.record(&cam.creds.uid, &DeviceEvent::Tamper { at_ms: at }).await;
    e.expect("recorded").expect("a new event").id.to_string()
}

/// The event once `ok` holds (polled).
async fn event_until(
    app: &TestApp,
    token: &str,
    id: &str,
    what: &str,
    ok: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let (s, e) = app.get_authed(&format!("/api/v1/events/{id}"), token).await;
        assert_eq!(s, 200, "{e}");
        if ok(&e) {
            return e;
        }
        assert!(Instant::now() < deadline, "{what}: {e}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn described(app: &TestApp, token: &str, id: &str) -> Value {
    event_until(app, token, id, "a description", |e| e["description"].is_string()).await
}

/// How many events had `outcome` (from `/metrics`), once it reaches `at_least`.
async fn outcome_reaches(app: &TestApp, outcome: &str, at_least: u64) -> u64 {
    let series = format!("kankan_ai_descriptions_total{{outcome=\"{outcome}\"}} ");
    let deadline = Instant::now() + WAIT;
    loop {
        let text = app.http.get(app.url("/metrics")).send().await.expect("metrics");
        let text = text.text().await.expect("text");
        let n = text
            .lines()
            .find_map(|l| l.strip_prefix(series.as_str()))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        if n >= at_least {
            return n;
        }
        assert!(Instant::now() < deadline, "{outcome} stays at {n}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Promise 90: the frames go to the configured endpoint (and there only), in the provider's
/// protocol; the sentence is kept sealed, the frames not at all.
#[tokio::test]
async fn an_event_gets_a_sealed_description_from_the_configured_endpoint_which_alone_sees_its_frames()
 {
    let fake = Fake::start().await;
    let app = ai_app(&fake, |_| {}).await;
    let cam = camera(&app, "ai@example.com", true).await;
    consent(&app, &cam.token, true).await;
    let id = event(&app, &cam).await;
    let e = described(&app, &cam.token, &id).await;
    assert_eq!(e["description"], COURIER, "{e}");
    assert_eq!(e["thumbnail"], true);

    let seen = fake.checked();
    assert_eq!(seen.len(), 1, "one request");
    assert_eq!(seen[0].frames.len(), 2, "ai.max_frames (2): the thumbnail and a second later");
    assert_ne!(seen[0].frames[0], seen[0].frames[1]);
    // The first frame is the event's picture.
    let path = format!("/api/v1/events/{id}/thumbnail");
    let thumb = app.http.get(app.url(&path)).bearer_auth(&cam.token).send().await.expect("get");
    assert_eq!(seen[0].frames[0], thumb.bytes().await.expect("jpeg").to_vec());

    // The list shows it too; About says where frames go.
    let list = crate::events::events(&app, &cam.token).await;
    let row = list.iter().find(|e| e["id"] == id.as_str()).expect("listed");
    assert_eq!(row["description"], COURIER);
    let (_, about) = app.get_authed("/api/v1/about", &cam.token).await;
    assert_eq!(
        (about["ai_descriptions"].as_bool(), about["ai_endpoint_host"].as_str()),
        (Some(true), Some("127.0.0.1")),
        "{about}"
    );
    assert_eq!(outcome_reaches(&app, "stored", 1).await, 1);

    // At rest the sentence is sealed and the frames sent are nowhere (the thumbnail itself is
    // stored sealed, as before).
    let frame_b64 = base64::engine::general_purpose::STANDARD.encode(&seen[0].frames[0]);
    for (place, bytes) in app.stored_bytes().await {
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("courier leaves a parcel"), "the sentence in clear in {place}");
        assert!(!text.contains(&frame_b64[..64]), "a frame in {place}");
        assert!(
            !bytes.windows(256).any(|w| w == &seen[0].frames[0][..256]),
            "a frame's bytes in clear in {place}"
        );
    }
}

/// Promise 89: off by default; needs the camera's setting and its owner's consent.
#[tokio::test]
async fn descriptions_need_the_cameras_setting_and_the_owners_consent() {
    let fake = Fake::start().await;
    let app = ai_app(&fake, |_| {}).await;
    // Consent given, the camera's settings at their defaults (AI descriptions off; motion
    // detection turned off so that only the events of this test happen).
    let cam = firmware_camera(&app, "off@example.com", Some(false), None).await;
    let mut settings = Settings::default();
    settings.motion.enabled = false;
    put_settings(&app, &cam.token, &cam.creds.uid, &settings).await;
    consent(&app, &cam.token, true).await;
    let off = event(&app, &cam).await;
    event_until(&app, &cam.token, &off, "a thumbnail", |e| e["thumbnail"] == true).await;
    // The setting on, the consent withdrawn.
    set_ai(&app, &cam, true).await;
    consent(&app, &cam.token, false).await;
    let unconsented = event(&app, &cam).await;
    event_until(&app, &cam.token, &unconsented, "a thumbnail", |e| e["thumbnail"] == true).await;
    // Both: described.
    consent(&app, &cam.token, true).await;
    let on = event(&app, &cam).await;
    described(&app, &cam.token, &on).await;
    assert_eq!(fake.checked().len(), 1, "only the event with setting and consent was sent");
    for id in [&off, &unconsented] {
        let (_, e) = app.get_authed(&format!("/api/v1/events/{id}"), &cam.token).await;
        assert!(e["description"].is_null(), "{e}");
    }
}

#[tokio::test]
async fn a_timeout_an_error_status_and_a_malformed_answer_leave_no_description_and_are_counted() {
    let fake = Fake::start().await;
    let app = ai_app(&fake, |c| c.ai.timeout_secs = 1).await;
    let cam = camera(&app, "fail@example.com", true).await;
    consent(&app, &cam.token, true).await;
    for (mode, outcome) in
        [(Mode::Status(500), "http-error"), (Mode::Malformed, "malformed"), (Mode::Hang, "timeout")]
    {
        fake.set(mode);
        let id = event(&app, &cam).await;
        assert_eq!(outcome_reaches(&app, outcome, 1).await, 1, "{outcome}");
        let (_, e) = app.get_authed(&format!("/api/v1/events/{id}"), &cam.token).await;
        assert!(e["description"].is_null(), "{outcome}: {e}");
    }
    assert_eq!(fake.checked().len(), 3);
    assert_eq!(outcome_reaches(&app, "stored", 0).await, 0);
}

#[tokio::test]
async fn the_daily_limit_stops_requests_until_a_day_has_passed() {
    let fake = Fake::start().await;
    let app = ai_app(&fake, |c| c.ai.daily_limit = 1).await;
    let cam = camera(&app, "limit@example.com", true).await;
    consent(&app, &cam.token, true).await;
    let first = event(&app, &cam).await;
    described(&app, &cam.token, &first).await;
    let second = event(&app, &cam).await;
    assert_eq!(outcome_reaches(&app, "daily-limit", 1).await, 1);
    let (_, e) = app.get_authed(&format!("/api/v1/events/{second}"), &cam.token).await;
    assert!(e["description"].is_null(), "{e}");
    assert_eq!(fake.checked().len(), 1, "no request past the limit");
    app.clock.advance(Duration::from_secs(86_400));
    let third = event(&app, &cam).await;
    described(&app, &cam.token, &third).await;
    assert_eq!(fake.checked().len(), 2);
}

/// Promise 91: withdrawing the consent deletes every description at once; an event's goes
/// with it (deleted, or expired after 30 days).
#[tokio::test]
async fn withdrawing_the_consent_or_deleting_the_event_deletes_descriptions() {
    let fake = Fake::start().await;
    let app = ai_app(&fake, |_| {}).await;
    let cam = camera(&app, "forget@example.com", true).await;
    consent(&app, &cam.token, true).await;
    let mut ids = Vec::new();
    for _ in 0..2 {
        let id = event(&app, &cam).await;
        described(&app, &cam.token, &id).await;
        ids.push(id);
    }
    let store = &app.running().services.store;
    let uuids: Vec<uuid::Uuid> = ids.iter().map(|i| i.parse().expect("uuid")).collect();
    assert_eq!(store.event_descriptions(&uuids).await.expect("read").len(), 2);
    consent(&app, &cam.token, false).await;
    assert!(store.event_descriptions(&uuids).await.expect("read").is_empty(), "all gone at once");
    for id in &ids {
        let (_, e) = app.get_authed(&format!("/api/v1/events/{id}"), &cam.token).await;
        assert!(e["description"].is_null(), "{e}");
    }

    // Deleted with its event; expired with it.
    consent(&app, &cam.token, true).await;
    let (gone, old) = (event(&app, &cam).await, event(&app, &cam).await);
    described(&app, &cam.token, &gone).await;
    described(&app, &cam.token, &old).await;
    let del = app.http.delete(app.url(&format!("/api/v1/events/{gone}"))).bearer_auth(&cam.token);
    assert_eq!(crate::events::send(del).await, 204);
    let gone: uuid::Uuid = gone.parse().expect("uuid");
    let old: uuid::Uuid = old.parse().expect("uuid");
    assert!(store.event_descriptions(&[gone]).await.expect("read").is_empty(), "deleted");
    assert_eq!(store.event_descriptions(&[old]).await.expect("read").len(), 1);
    app.clock.advance(Duration::from_secs(31 * 86_400));
    app.running().services.events.sweep().await.expect("sweep");
    assert!(store.event_descriptions(&[old]).await.expect("read").is_empty(), "expired");
}

#[tokio::test]
async fn a_search_finds_the_events_whose_description_holds_its_words() {
    let fake = Fake::start().await;
    let app = ai_app(&fake, |_| {}).await;
    let cam = camera(&app, "search@example.com", true).await;
    consent(&app, &cam.token, true).await;
    let courier = event(&app, &cam).await;
    described(&app, &cam.token, &courier).await;
    fake.set(Mode::Answer("A cat crosses the garden.".into()));
    let cat = event(&app, &cam).await;
    described(&app, &cam.token, &cat).await;
    let ids = |l: Vec<Value>| -> Vec<String> {
        l.iter().map(|e| e["id"].as_str().expect("id").to_string()).collect()
    };
    let search = |q: &'static str| crate::events::events_where(&app, &cam.token, q);
    assert_eq!(ids(search("?q=courier").await), [courier.as_str()]);
    assert_eq!(ids(search("?q=COURIER%20parcel").await), [courier.as_str()]);
    assert_eq!(ids(search("?q=cat&limit=5").await), [cat.as_str()]);
    assert!(search("?q=courier%20cat").await.is_empty());
    assert!(search("?q=dog").await.is_empty());
    // Another account's search sees nothing of them.
    let other = app.register("nosy@example.com", crate::devices::PW).await;
    assert!(crate::events::events_where(&app, &other, "?q=courier").await.is_empty());
    let (s, b) = app.get_authed("/api/v1/events?q=%20", &cam.token).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-search")), "{b}");
}

/// Promise 90: an endpoint outside `ai.allowed_networks` is refused before anything is sent:
/// an address in the configuration, or a name resolving to one at start.
#[tokio::test]
async fn an_endpoint_outside_the_allowed_networks_is_refused() {
    let fake = Fake::start().await;
    let mut cfg = kankan_server::Config::default();
    cfg.ai.endpoint = format!("http://{}", fake.addr);
    cfg.ai.model = MODEL.into();
    let err = cfg.validate().expect_err("loopback without an entry");
    assert!(err.contains("ai.allowed_networks"), "{err}");
    cfg.ai.allowed_networks = vec!["127.0.0.0/8".into()];
    assert!(cfg.validate().is_ok());
    // A name whose addresses include one outside the list (localhost is also ::1).
    let port = fake.addr.port();
    let err = TestApp::try_spawn(|c| {
        c.ai.endpoint = format!("http://localhost:{port}");
        c.ai.model = MODEL.into();
        c.ai.allowed_networks = vec!["10.0.0.0/8".into()];
    })
    .await
    .err()
    .expect("refused at start");
    assert!(format!("{err:#}").contains("ai.allowed_networks"), "{err:#}");
    assert!(fake.seen().is_empty(), "nothing was sent");
}

/// A member sees a shared camera's descriptions exactly where it sees its events, finds them
/// by search there, and cannot turn them on or off for the owner.
#[tokio::test]
async fn members_see_descriptions_only_of_events_they_may_see_and_cannot_switch_them() {
    use kankan_core::authz::{Capability, CapabilitySet};
    let fake = Fake::start().await;
    let app = ai_app(&fake, |_| {}).await;
    let cam = camera(&app, "owner-ai@example.com", true).await;
    consent(&app, &cam.token, true).await;
    let owner = crate::authz_routes::account_id(&app, &cam.token).await;
    let grant = |who: &'static str, caps: CapabilitySet| {
        let app = &app;
        let uid = cam.creds.uid.clone();
        async move {
            let token = app.register(who, crate::devices::PW).await;
            let id = crate::authz_routes::account_id(app, &token).await;
            crate::authz_routes::insert_grant(app, &uid, (owner, id), caps, None).await;
            token
        }
    };
    let alarms = CapabilitySet::member_default() | Capability::ChangeSettings;
    let member = grant("member-ai@example.com", alarms).await;
    let viewer = grant(
        "viewer-ai@example.com",
        CapabilitySet::member_default().without(Capability::ReceiveAlarms),
    )
    .await;
    let id = event(&app, &cam).await;
    described(&app, &cam.token, &id).await;

    let (s, e) = app.get_authed(&format!("/api/v1/events/{id}"), &member).await;
    assert_eq!((s, e["description"].as_str()), (200, Some(COURIER)), "{e}");
    let found = crate::events::events_where(&app, &member, "?q=courier").await;
    assert_eq!(found.len(), 1, "{found:?}");
    let (s, _) = app.get_authed(&format!("/api/v1/events/{id}"), &viewer).await;
    assert_eq!(s, 404, "no receive-alarms: not its event");
    assert!(crate::events::events_where(&app, &viewer, "?q=courier").await.is_empty());

    // The member may change settings, but not this one.
    let mut settings = Settings { ai_descriptions: false, ..Settings::default() };
    settings.motion.enabled = false;
    let (s, b) = put_settings(&app, &member, &cam.creds.uid, &settings).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("ai-descriptions-owner-only")), "{b}");
    settings.ai_descriptions = true;
    let (s, b) = put_settings(&app, &member, &cam.creds.uid, &settings).await;
    assert!(s == 200 || s == 202, "the rest it may change: {s} {b}");
}

/// Registers `child` under age with `guardian`, who consents: the child's token.
async fn child_account(app: &TestApp, child: &str, guardian: &str) -> String {
    let pw = crate::devices::PW;
    let seen = app.outbox().len();
    let body = json!({"identifier": child, "password": pw, "accept_policy": "1", "under_age": true, "guardian": guardian});
    let (s, b) = app.post("/api/v1/auth/register", body).await;
    assert_eq!(s, 202, "{b}");
    let (child_code, guardian_code) = crate::consents::codes(app, seen).await;
    let verify = json!({"identifier": child, "code": child_code});
    app.post("/api/v1/auth/register/verify", verify).await;
    let consent =
        json!({"child": child, "guardian": guardian, "code": guardian_code, "accept_policy": "1"});
    let (s, b) = app.post("/api/v1/auth/register/guardian", consent).await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = app.login(child, pw).await;
    assert_eq!(s, 200, "{b}");
    b["token"].as_str().expect("token").to_string()
}

/// Promise 89: a child's camera is never described, whatever its settings say.
#[tokio::test]
async fn a_childs_events_are_never_described() {
    let fake = Fake::start().await;
    let app = ai_app(&fake, |_| {}).await;
    let token = child_account(&app, "kid-ai@example.com", "parent-ai@example.org").await;
    let kid = crate::live_on_demand::firmware_camera_of(&app, token, Some(false), None).await;
    set_ai(&app, &kid, true).await;
    let req = app
        .http
        .put(app.url("/api/v1/me/consents/ai-descriptions"))
        .bearer_auth(&kid.token)
        .json(&json!({ "granted": true }));
    let (s, b) = app.send(req).await;
    assert_eq!((s, b["code"].as_str()), (403, Some("not-for-child-accounts")), "{b}");
    let id = event(&app, &kid).await;
    event_until(&app, &kid.token, &id, "a thumbnail", |e| e["thumbnail"] == true).await;
    // An adult's event after it is described: the child's was not sent.
    let adult = camera(&app, "adult-ai@example.com", true).await;
    consent(&app, &adult.token, true).await;
    let later = event(&app, &adult).await;
    described(&app, &adult.token, &later).await;
    assert_eq!(fake.checked().len(), 1, "only the adult's event was sent");
    let (_, e) = app.get_authed(&format!("/api/v1/events/{id}"), &kid.token).await;
    assert!(e["description"].is_null(), "{e}");
}

/// At most `IN_FLIGHT` requests wait on the provider at once; an event beyond them is skipped
/// and counted, never queued without bound.
#[tokio::test]
async fn requests_in_flight_are_bounded_and_an_event_beyond_them_is_skipped_and_counted() {
    let fake = Fake::start().await;
    let app = ai_app(&fake, |c| c.ai.timeout_secs = 60).await;
    let cam = camera(&app, "busy@example.com", true).await;
    consent(&app, &cam.token, true).await;
    fake.set(Mode::Hang);
    let bound = kankan_events::ai::IN_FLIGHT;
    let deadline = Instant::now() + WAIT;
    for _ in 0..bound {
        event(&app, &cam).await;
    }
    while fake.seen().len() < bound {
        assert!(Instant::now() < deadline, "{} requests waiting", fake.seen().len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let skipped = event(&app, &cam).await;
    assert_eq!(outcome_reaches(&app, "busy", 1).await, 1);
    assert_eq!(fake.checked().len(), bound, "nothing more was sent");
    let (_, e) = app.get_authed(&format!("/api/v1/events/{skipped}"), &cam.token).await;
    assert!(e["description"].is_null(), "{e}");
}
