//! Doorbells and alarms over the real ports: `kankan-cam` doorbells whose button is pressed
//! ring their owner's open event stream (SSE) and nobody else's; loitering in front of one and
//! pulling a device off its mount are stored as events; the list filters by kind.

use kankan_base::Shutdown;
use kankan_protocol::device::Settings;
use kankan_sim::{Buttons, video};
use kankan_testkit::TestApp;
use serde_json::Value;

use crate::devices::{Creds, PW, eventually, put_settings};
use crate::events::{events_where, events_where_until};
use crate::live_on_demand::{bound_firmware, run_rotated, with_motion_video};
use crate::recording::{WAIT, recording_app};

/// A bound `kankan-cam` device of `model` running as firmware over MQTT, with video and its
/// motion detector when `video` is set.
struct SimDevice {
    token: String,
    creds: Creds,
    buttons: Buttons,
    _stop: Shutdown,
    _dir: tempfile::TempDir,
}

async fn sim_device(app: &TestApp, who: &str, model: &str, with_video: bool) -> SimDevice {
    let (token, creds, dir, mut device) = bound_firmware(app, who, model).await;
    let (stop, signal) = Shutdown::new();
    if with_video {
        let (with_video, v, rx) = with_motion_video(device, app, &creds, dir.path());
        device = with_video;
        let h = video::start(v, signal.clone()).expect("camera starts");
        tokio::spawn(kankan_sim::media::serve(rx, h));
    }
    let buttons = device.buttons();
    run_rotated(device, signal).await;
    eventually(app, &token, &creds.uid, "online", |v| v["online"] == true).await;
    SimDevice { token, creds, buttons, _stop: stop, _dir: dir }
}

/// An open `GET /api/v1/events/stream`, read message by message.
pub(crate) struct EventStream {
    resp: reqwest::Response,
    buf: String,
}

impl EventStream {
    pub(crate) async fn open(app: &TestApp, token: &str) -> EventStream {
        let resp = app
            .http
            .get(app.url("/api/v1/events/stream"))
            .bearer_auth(token)
            .send()
            .await
            .expect("stream");
        assert_eq!(resp.status().as_u16(), 200);
        let ctype = resp.headers().get("content-type").and_then(|v| v.to_str().ok());
        assert_eq!(ctype, Some("text/event-stream"));
        EventStream { resp, buf: String::new() }
    }

    /// The next message's name and data (comments skipped).
    pub(crate) async fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut name, mut data) = (String::new(), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if name.is_empty() {
                    continue; // a keep-alive comment
                }
                return (name, serde_json::from_str(&data).expect("JSON data"));
            }
            let chunk = tokio::time::timeout(WAIT, self.resp.chunk()).await.expect("in time");
            let chunk = chunk.expect("readable").expect("the stream stays open");
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Reads until a message named `name`.
    async fn next_named(&mut self, name: &str) -> Value {
        loop {
            let (n, v) = self.next().await;
            if n == name {
                return v;
            }
        }
    }
}

#[tokio::test]
async fn a_press_rings_the_owners_and_its_members_open_streams_and_nobody_elses() {
    let app = TestApp::spawn().await;
    let bell = sim_device(&app, "bell@example.com", "KK-D1", false).await;
    let other = sim_device(&app, "other-bell@example.com", "KK-D1", false).await;
    let member = app.register("bell-member@example.com", PW).await;
    crate::events_members::share(&app, &bell.creds.uid, &bell.token, &member).await;
    let mut mine = EventStream::open(&app, &bell.token).await;
    let mut theirs = EventStream::open(&app, &other.token).await;
    let mut members = EventStream::open(&app, &member).await;

    bell.buttons.press().expect("press");
    let ring = mine.next_named("ring").await;
    assert_eq!(ring["device"], bell.creds.uid.as_str(), "{ring}");
    assert_eq!(ring["event"]["kind"], "press", "{ring}");
    let id = ring["event"]["id"].as_str().expect("id");
    let listed = events_where(&app, &bell.token, "?kind=press").await;
    assert_eq!(listed[0]["id"], id, "the ring's event is the stored press: {listed:?}");
    // The member holding receive-alarms (by default) hears it ring too.
    let ring = members.next_named("ring").await;
    assert_eq!(ring["event"]["id"], id, "{ring}");

    // The other account's stream sees its own doorbell first: nothing of the first one.
    other.buttons.press().expect("press");
    let (name, first) = theirs.next().await;
    assert_eq!(name, "event");
    assert_eq!(first["device"], other.creds.uid.as_str(), "only its own device: {first}");
    let ring = theirs.next_named("ring").await;
    assert_eq!(ring["device"], other.creds.uid.as_str());
}

#[tokio::test]
async fn the_stream_needs_a_login_and_ends_when_the_server_stops() {
    let app = TestApp::spawn().await;
    let resp = app.http.get(app.url("/api/v1/events/stream")).send().await.expect("get");
    assert_eq!(resp.status().as_u16(), 401);
    let token = app.register("stream@example.com", PW).await;
    let mut stream = EventStream::open(&app, &token).await;
    app.running().services.events.close();
    let end = tokio::time::timeout(WAIT, stream.resp.chunk()).await.expect("in time");
    assert!(matches!(end, Ok(None)), "the stream ended: {end:?}");
}

#[tokio::test]
async fn loitering_and_tamper_are_stored_and_the_list_filters_by_kind() {
    let app = recording_app().await;
    let bell = sim_device(&app, "loiter@example.com", "KK-D1", true).await;
    let (token, uid) = (&bell.token, bell.creds.uid.as_str());
    let settings = Settings { loiter_secs: 1, ..Settings::default() };
    let (s, b) = put_settings(&app, token, uid, &settings).await;
    assert!(s == 200 || s == 202, "{s} {b}");
    // The scene keeps moving: the motion outlasts a second, so the doorbell reports loitering.
    let loiter =
        events_where_until(&app, token, "?kind=loiter", "a loiter alarm", |l| !l.is_empty()).await;
    assert_eq!((loiter.len(), loiter[0]["device"].as_str()), (1, Some(uid)), "{loiter:?}");
    let motion = events_where(&app, token, "?kind=motion").await;
    assert!(
        motion.iter().any(|m| m["started_at_ms"] == loiter[0]["started_at_ms"]),
        "the loitering is the motion's presence: {motion:?} {loiter:?}"
    );
    assert!(motion.iter().all(|m| m["kind"] == "motion"));

    bell.buttons.tamper().expect("tamper");
    let tamper =
        events_where_until(&app, token, "?kind=tamper", "a tamper alarm", |l| !l.is_empty()).await;
    assert_eq!(tamper[0]["ended_at_ms"], tamper[0]["started_at_ms"], "an instant: {tamper:?}");
    assert!(events_where(&app, token, "?kind=press").await.is_empty());
    let (s, b) = app.get_authed("/api/v1/events?kind=explosion", token).await;
    assert_eq!((s, b["code"].as_str()), (422, Some("unknown-event-kind")), "{b}");

    // The window filter: nothing starts after now.
    let now = app.running().services.recordings.now().0 + 3_600_000;
    assert!(events_where(&app, token, &format!("?after_ms={now}")).await.is_empty());
}
