//! The Message Center's rows: motion that `kankan-cam`'s detector sees reaches its owner's
//! events over MQTT, start and end in one row, with a thumbnail and a clip range whose footage
//! survives quota eviction; only the owner lists, reads and deletes them, and a deleted event
//! stays deleted. Doorbells: `events_doorbell.rs`.

use std::time::{Duration, Instant};

use kankan_base::Timestamp;
use kankan_protocol::device::Settings;
use kankan_testkit::{TestApp, TestDevice};
use serde_json::{Value, json};

use crate::devices::{Creds, PW, bind, provision, put_settings};
use crate::live_on_demand::{FirmwareCamera, firmware_camera};
use crate::recording::{WAIT, recording_app};
use crate::recording_input::{stream, upload};

pub(crate) async fn events(app: &TestApp, token: &str) -> Vec<Value> {
    events_where(app, token, "").await
}

/// The list with a query string (`?kind=press`).
pub(crate) async fn events_where(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let (s, b) = app.get_authed(&format!("/api/v1/events{query}"), token).await;
    assert_eq!(s, 200, "{b}");
    b.as_array().expect("a list").clone()
}

pub(crate) async fn events_until(
    app: &TestApp,
    token: &str,
    what: &str,
    ok: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    events_where_until(app, token, "", what, ok).await
}

pub(crate) async fn events_where_until(
    app: &TestApp,
    token: &str,
    query: &str,
    what: &str,
    ok: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    events_where_within(app, token, query, what, WAIT, ok).await
}

/// Polls `GET /api/v1/events{query}` until `ok` holds, for at most `within`.
pub(crate) async fn events_where_within(
    app: &TestApp,
    token: &str,
    query: &str,
    what: &str,
    within: Duration,
    ok: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let list = events_where(app, token, query).await;
        if ok(&list) {
            return list;
        }
        assert!(Instant::now() < deadline, "{what}: {list:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub(crate) async fn send(req: reqwest::RequestBuilder) -> u16 {
    req.send().await.expect("request").status().as_u16()
}

#[tokio::test]
async fn motion_the_camera_sees_reaches_its_owner_and_only_its_owner() {
    let app = recording_app().await;
    let FirmwareCamera { token, creds, stop: _stop, dir: _dir, .. } =
        firmware_camera(&app, "motion@example.com", Some(false), None).await;
    // The simulated scene moves: a motion event starts.
    let list = events_until(&app, &token, "a motion event", |l| !l.is_empty()).await;
    let ev = &list[0];
    assert_eq!(
        (ev["kind"].as_str(), ev["device"].as_str()),
        (Some("motion"), Some(creds.uid.as_str()))
    );
    assert_eq!((ev["read"].as_bool(), ev["ended_at_ms"].is_null()), (Some(false), true), "{ev}");
    let id = ev["id"].as_str().expect("id").to_string();

    // Turning motion detection off ends it: the same row gets its end.
    let mut settings = Settings::default();
    settings.motion.enabled = false;
    let (s, b) = put_settings(&app, &token, &creds.uid, &settings).await;
    assert!(s == 200 || s == 202, "{s} {b}");
    let list = events_until(&app, &token, "the event's end", |l| {
        l.iter().any(|e| e["id"] == id.as_str() && e["ended_at_ms"].is_i64())
    })
    .await;
    assert_eq!(list.len(), 1, "start and end are one row: {list:?}");

    // Another account sees nothing and can touch nothing.
    let other = app.register("neighbour@example.com", PW).await;
    assert!(events(&app, &other).await.is_empty());
    let read = |t: &str| {
        app.http.post(app.url(&format!("/api/v1/events/{id}/read"))).bearer_auth(t.to_string())
    };
    let delete = |t: &str| {
        app.http.delete(app.url(&format!("/api/v1/events/{id}"))).bearer_auth(t.to_string())
    };
    assert_eq!(send(read(&other)).await, 404);
    assert_eq!(send(delete(&other)).await, 404);

    // The owner marks it read, then deletes it.
    assert_eq!(send(read(&token)).await, 204);
    assert_eq!(events(&app, &token).await[0]["read"], true);
    assert_eq!(send(delete(&token)).await, 204);
    assert!(events(&app, &token).await.is_empty());
    assert_eq!(send(delete(&token)).await, 404, "gone");
}

/// Whether `bytes` look like a whole JPEG: start and end of image markers around data.
pub(crate) fn is_jpeg(bytes: &[u8]) -> bool {
    bytes.len() > 4 && bytes.starts_with(&[0xFF, 0xD8]) && bytes.ends_with(&[0xFF, 0xD9])
}

#[tokio::test]
async fn an_event_gets_a_sealed_thumbnail_and_a_clip_range_with_pre_roll() {
    let app = recording_app().await;
    let FirmwareCamera { token, creds, stop: _stop, dir: _dir, .. } =
        firmware_camera(&app, "thumb@example.com", Some(false), None).await;
    let list = events_until(&app, &token, "an event with a picture", |l| {
        l.iter().any(|e| e["thumbnail"] == true)
    })
    .await;
    let ev = list.iter().find(|e| e["thumbnail"] == true).expect("one");
    assert_eq!(ev["device"], creds.uid.as_str());
    let started = ev["started_at_ms"].as_i64().expect("start");
    assert_eq!(ev["clip_from_ms"].as_i64(), Some(started - 5_000), "5 s of pre-roll: {ev}");
    let end = ev["ended_at_ms"].as_i64().unwrap_or(started);
    assert_eq!(ev["clip_to_ms"].as_i64(), Some(end + 2_000), "{ev}");
    let id = ev["id"].as_str().expect("id");

    let path = format!("/api/v1/events/{id}/thumbnail");
    let resp = app.http.get(app.url(&path)).bearer_auth(&token).send().await.expect("get");
    assert_eq!(resp.status().as_u16(), 200);
    let ctype = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).map(String::from);
    assert_eq!(ctype.as_deref(), Some("image/jpeg"));
    let jpeg = resp.bytes().await.expect("body");
    assert!(is_jpeg(&jpeg), "a JPEG of {} bytes", jpeg.len());
    let img = image::load_from_memory(&jpeg).expect("decodes as a JPEG");
    assert_eq!((img.width(), img.height()), (320, 180), "the camera's picture");

    // Sealed at rest: the JPEG's bytes are nowhere the server stores (database file and
    // journal, every value of the database).
    for (place, bytes) in app.stored_bytes().await {
        assert!(!bytes.windows(64).any(|w| w == &jpeg[..64]), "stored sealed, not in {place}");
    }
    // A member holding receive-alarms sees the same picture (opened with the owner's key);
    // nobody else does; deleting the event deletes it.
    let member = app.register("thumb-member@example.com", PW).await;
    crate::events_members::share(&app, &creds.uid, &token, &member).await;
    let resp = app.http.get(app.url(&path)).bearer_auth(&member).send().await.expect("get");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.bytes().await.expect("body"), jpeg, "the member's is the owner's picture");
    let other = app.register("thumb-neighbour@example.com", PW).await;
    let (s, b) = app.get_authed(&path, &other).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("not-found")));
    let del = app.http.delete(app.url(&format!("/api/v1/events/{id}"))).bearer_auth(&token);
    assert_eq!(send(del).await, 204);
    assert_eq!(app.get_authed(&path, &token).await.0, 404);
    assert_eq!(app.get_authed(&path, &member).await.0, 404, "gone for the member too");
}

/// A camera bound over a bare MQTT client, with ten seconds of footage an hour ago in five
/// 2-s segments, on a server with a 1 MiB quota (the footage is about 1.5 MB).
async fn camera_over_quota(app: &TestApp, who: &str) -> (String, Creds, TestDevice, i64) {
    let token = app.register(who, PW).await;
    let creds = provision(app, "KK-C1").await;
    let dev = bind(app, &token, &creds).await;
    let start = app.running().services.recordings.now().0 - 3_600_000;
    let (s, b) = upload(app, &creds, "backfill", start, stream(10, 10_000)).await;
    assert_eq!(s, 200, "{b}");
    (token, creds, dev, start)
}

/// Waits until every segment of `[from, to)` is protected.
async fn protected(app: &TestApp, uid: &str, from: i64, to: i64, n: usize) {
    let store = &app.running().services.store;
    let deadline = Instant::now() + WAIT;
    loop {
        let segs = store.segments(uid, 0, Timestamp(from), Timestamp(to), 100).await.expect("segs");
        if segs.len() == n && segs.iter().all(|s| s.protected_until.is_some()) {
            return;
        }
        assert!(Instant::now() < deadline, "protection of {from}..{to}: {segs:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn footage_under_an_event_survives_a_quota_sweep() {
    let app = TestApp::spawn_with(|c| {
        c.recording.segment_secs = 2;
        c.recording.quota_mib = 1;
    })
    .await;
    let (token, creds, dev, start) = camera_over_quota(&app, "protect@example.com").await;
    // Motion from 1 s to 3 s into the footage: its clip is -4 s .. 5 s.
    let (t0, t1) = (start + 1_000, start + 3_000);
    let motion = |phase: &str, at: i64| json!({"type": "motion", "phase": phase, "at_ms": at, "started_ms": t0, "zone": null});
    dev.publish_json("event", &motion("start", t0)).await.expect("start");
    protected(&app, &creds.uid, t0 - 5_000, t0 + 2_000, 2).await;
    dev.publish_json("event", &motion("end", t1)).await.expect("end");
    protected(&app, &creds.uid, t0 - 5_000, t1 + 2_000, 3).await;

    let report = app.running().services.recordings.sweep().await.expect("sweep");
    assert!(report.evicted.segments >= 1, "the quota forced footage out: {report:?}");
    let store = &app.running().services.store;
    let kept = store
        .segments(&creds.uid, 0, Timestamp(start), Timestamp(t1 + 2_000), 100)
        .await
        .expect("segments");
    assert_eq!(kept.len(), 3, "the event's footage stays: {kept:?}");
    let list = events(&app, &token).await;
    assert_eq!(list[0]["clip_to_ms"].as_i64(), Some(t1 + 2_000), "{list:?}");
}

#[tokio::test]
async fn a_deleted_event_stays_deleted_when_its_end_arrives() {
    let app = TestApp::spawn().await;
    let token = app.register("tombstone@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let dev = bind(&app, &token, &creds).await;
    let motion = |phase: &str, at: i64, started: i64| json!({"type": "motion", "phase": phase, "at_ms": at, "started_ms": started, "zone": null});
    // Device times are near the server's (a start older than events are kept is refused).
    let t0 = kankan_base::Clock::now(&app.clock).0 - 60_000;
    let (t1, t2) = (t0 + 5_000, t0 + 30_000);
    dev.publish_json("event", &motion("start", t0, t0)).await.expect("start");
    let list = events_until(&app, &token, "the start", |l| l.len() == 1).await;
    let id = list[0]["id"].as_str().expect("id").to_string();
    let del = app.http.delete(app.url(&format!("/api/v1/events/{id}"))).bearer_auth(&token);
    assert_eq!(send(del).await, 204);
    // Its end and a repeated start arrive after the deletion, then a new event: one device's
    // messages are handled in order, so once the new one is listed the others were handled.
    dev.publish_json("event", &motion("end", t1, t0)).await.expect("end");
    dev.publish_json("event", &motion("start", t0, t0)).await.expect("again");
    dev.publish_json("event", &motion("start", t2, t2)).await.expect("next");
    let list = events_until(&app, &token, "the next event", |l| !l.is_empty()).await;
    assert_eq!(list.len(), 1, "the deleted event did not come back: {list:?}");
    assert_eq!(list[0]["started_at_ms"].as_i64(), Some(t2));
    assert_eq!(app.get_authed(&format!("/api/v1/events/{id}"), &token).await.0, 404);
}
