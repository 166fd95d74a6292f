//! Person detection on the server: real footage (Debian's `opencv-doc` clips, converted to raw
//! frames by ffmpeg) replayed by `kankan-cam` as a camera, the real models
//! (`kankan_testkit::models_dir()`, written by `scripts/models`). People walking past raise
//! person events with a box and a marked thumbnail; a swaying tree raises motion events and
//! no person; a camera set to alert only on a person pushes the person and suppresses the
//! tree (`no-person`); turning detection on without models answers `vision-unavailable`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kankan_base::Shutdown;
use kankan_protocol::device::{AlertOn, Settings};
use kankan_sim::video::{self, VideoFile};
use kankan_testkit::TestApp;
use kankan_testkit::push::PushService;
use serde_json::Value;

use crate::devices::{PW, bind, provision, put_settings};
use crate::events::events_where;
use crate::live_on_demand::{FirmwareCamera, bound_firmware, run_rotated, with_motion_video};
use crate::notify::{deliveries_until, subscribe};

/// Long enough for a clip's motion to start, be analysed and end on a busy machine.
const SLOW: Duration = Duration::from_secs(120);

/// A clip of the test material as raw I420 frames.
pub(crate) struct Clip {
    pub path: PathBuf,
    pub size: (u32, u32),
    pub fps: u32,
    _dir: tempfile::TempDir,
}

/// Where Debian's `opencv-doc` keeps its sample videos.
const OPENCV_DATA: &str = "/usr/share/doc/opencv-doc/examples/data";

/// `name` (`vtest` or `tree`) from `opencv-doc`, its first `secs` seconds scaled to `size`
/// at 10 fps, as raw I420 frames (ffmpeg).
pub(crate) fn clip(name: &str, size: (u32, u32), secs: u32) -> Clip {
    let src = Path::new(OPENCV_DATA).join(format!("{name}.avi"));
    assert!(src.exists(), "{} is missing: install the Debian package opencv-doc", src.display());
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join(format!("{name}.yuv"));
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&src)
        .args(["-t", &secs.to_string(), "-vf"])
        .arg(format!("scale={}:{},fps=10", size.0, size.1))
        .args(["-f", "rawvideo", "-pix_fmt", "yuv420p"])
        .arg(&path)
        .output()
        .expect("ffmpeg runs (install the Debian package ffmpeg)");
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    Clip { path, size, fps: 10, _dir: dir }
}

/// A recording server with person detection (the real models).
pub(crate) async fn person_app() -> TestApp {
    let models = kankan_testkit::models_dir();
    TestApp::spawn_with(move |c| {
        c.recording.segment_secs = 2;
        c.recording.max_clock_skew_secs = 3600;
        c.vision.models_dir = models;
    })
    .await
}

/// Person detection on, alerting on `alert_on`.
pub(crate) fn detection(alert_on: AlertOn) -> Settings {
    Settings { person_detection: true, alert_on, ..Settings::default() }
}

/// The same, with the camera's motion detector at its keenest: a tree's sway is small.
fn keen(alert_on: AlertOn) -> Settings {
    let mut s = detection(alert_on);
    s.motion.sensitivity = 100;
    s
}

/// Registers `who`, binds a camera with `settings` and starts it as firmware replaying
/// `clip` (once, then still, when `once`).
pub(crate) async fn clip_camera(
    app: &TestApp,
    who: &str,
    clip: &Clip,
    once: bool,
    settings: &Settings,
    before: impl AsyncFnOnce(&str),
) -> FirmwareCamera {
    let (token, creds, dir, device) = bound_firmware(app, who, "KK-C1").await;
    let (s, b) = put_settings(app, &token, &creds.uid, settings).await;
    assert!(s == 200 || s == 202, "{s} {b}");
    before(&token).await;
    let (stop, signal) = Shutdown::new();
    let (device, mut v, rx) = with_motion_video(device, app, &creds, dir.path());
    v.encoder = kankan_video::EncoderConfig {
        width: clip.size.0,
        height: clip.size.1,
        fps: clip.fps,
        bitrate_bps: 600_000,
        gop: clip.fps,
    };
    v.video_file = Some(VideoFile { path: clip.path.clone(), once });
    let cam = video::start(v, signal.clone()).expect("camera starts");
    tokio::spawn(kankan_sim::media::serve(rx, cam.clone()));
    run_rotated(device, signal).await;
    FirmwareCamera { token, creds, cam: Some(cam), talk: None, stop, dir }
}

/// Waits (polling) until `ok` holds for the owner's events.
async fn until(
    app: &TestApp,
    token: &str,
    query: &str,
    what: &str,
    ok: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    crate::events::events_where_within(app, token, query, what, SLOW, ok).await
}

#[tokio::test]
async fn people_walking_past_raise_person_events_with_a_box_and_a_marked_thumbnail() {
    let app = person_app().await;
    let walk = clip("vtest", (384, 288), 30);
    let settings = detection(AlertOn::Any);
    let cam = clip_camera(&app, "walk@example.com", &walk, false, &settings, async |_| {}).await;
    let list = until(&app, &cam.token, "?label=person", "a person event", |l| {
        l.iter().any(|e| e["thumbnail"] == true)
    })
    .await;
    let ev = list.iter().find(|e| e["thumbnail"] == true).expect("one");
    assert_eq!((ev["kind"].as_str(), ev["label"].as_str()), (Some("motion"), Some("person")));
    assert_eq!(ev["detection"], "person", "{ev}");
    let score = ev["score"].as_f64().expect("a score");
    assert!(score > 0.0 && score <= 1.0, "{ev}");
    let b = |k: &str| ev["box"][k].as_f64().expect("a box");
    let (x, y, w, h) = (b("x"), b("y"), b("w"), b("h"));
    assert!(x >= 0.0 && y >= 0.0 && w > 0.0 && h > 0.0, "{ev}");
    assert!(x + w <= 1.0001 && y + h <= 1.0001, "inside the picture: {ev}");

    // The thumbnail is the picture the person was found in, with the box drawn.
    let id = ev["id"].as_str().expect("id");
    let path = format!("/api/v1/events/{id}/thumbnail");
    let resp = app.http.get(app.url(&path)).bearer_auth(&cam.token).send().await.expect("get");
    assert_eq!(resp.status().as_u16(), 200);
    let jpeg = resp.bytes().await.expect("body");
    let img = image::load_from_memory(&jpeg).expect("a JPEG").to_rgb8();
    assert_eq!((img.width(), img.height()), walk.size, "the camera's picture");
    // Along the box's left edge, pixels that are markedly yellow (red and green well above
    // blue: the JPEG blurs the line's colour a little).
    let x0 = (x * 384.0) as u32;
    let (top, bottom) = ((y * 288.0) as u32, ((y + h) * 288.0) as u32);
    let yellow = (top..bottom.min(288))
        .filter(|&row| {
            (x0.saturating_sub(1)..(x0 + 5).min(384)).any(|col| {
                let [r, g, b] = img.get_pixel(col, row).0;
                i32::from(r.min(g)) - i32::from(b) > 60
            })
        })
        .count();
    let rows = (bottom.min(288) - top.min(bottom)).max(1) as usize;
    assert!(yellow * 2 > rows, "the box's left edge is drawn: {yellow} of {rows} rows yellow");
    // Stored only sealed: its bytes are nowhere the server keeps.
    for (place, bytes) in app.stored_bytes().await {
        assert!(!bytes.windows(64).any(|w| w == &jpeg[..64]), "stored sealed, not in {place}");
    }

    // The Message Center's filter: only labelled events, and an unknown label is refused.
    let all = events_where(&app, &cam.token, "").await;
    let labelled = events_where(&app, &cam.token, "?label=person").await;
    assert!(labelled.iter().all(|e| e["label"] == "person"), "{labelled:?}");
    assert!(all.len() >= labelled.len());
    let (s, b) = app.get_authed("/api/v1/events?label=cat", &cam.token).await;
    assert_eq!((s, b["code"].as_str()), (422, Some("unknown-event-label")), "{b}");
}

#[tokio::test]
async fn a_swaying_tree_raises_motion_events_but_no_person_event() {
    let app = person_app().await;
    let tree = clip("tree", (320, 240), 30);
    let settings = keen(AlertOn::Any);
    let cam = clip_camera(&app, "tree@example.com", &tree, true, &settings, async |_| {}).await;
    // The clip plays once, then the picture holds still: the motion ends and so does the
    // analysis, without a person.
    let list = until(&app, &cam.token, "", "a motion event analysed to its end", |l| {
        !l.is_empty() && l.iter().all(|e| e["detection"] != "pending")
    })
    .await;
    assert!(list.iter().all(|e| e["kind"] == "motion"), "{list:?}");
    assert!(list.iter().any(|e| e["detection"] == "none"), "analysed: {list:?}");
    assert!(list.iter().all(|e| e["label"].is_null() && e["box"].is_null()), "{list:?}");
    assert!(events_where(&app, &cam.token, "?label=person").await.is_empty());
}

#[tokio::test]
async fn alert_on_person_pushes_a_person_and_suppresses_a_tree() {
    let app = person_app().await;
    let push = PushService::start().await;
    let settings = keen(AlertOn::Person);
    // The tree: its motion is held until the verdict, then suppressed.
    let tree = clip("tree", (320, 240), 30);
    let subscribed = async |token: &str| drop(subscribe(&app, token, &push, "tree-phone").await);
    let trees = clip_camera(&app, "held@example.com", &tree, true, &settings, subscribed).await;
    let list = until(&app, &trees.token, "", "the tree's verdict", |l| {
        l.iter().any(|e| e["detection"] == "none")
    })
    .await;
    let id = list.iter().find(|e| e["detection"] == "none").expect("one")["id"].clone();
    let id = id.as_str().expect("id");
    let d = deliveries_until(&app, &trees.token, id, "suppressed", |l| !l.is_empty()).await;
    assert_eq!(
        (d[0]["channel"].as_str(), d[0]["status"].as_str()),
        (Some("push"), Some("suppressed"))
    );
    assert!(d[0]["detail"].as_str().is_some_and(|s| s.starts_with("no-person")), "{d:?}");
    assert!(push.received("tree-phone").is_empty(), "the tree rang nobody");

    // People: pushed, saying "Person".
    let walk = clip("vtest", (384, 288), 30);
    let keys = std::cell::OnceCell::new();
    let subscribed = async |token: &str| {
        let _ = keys.set(subscribe(&app, token, &push, "walk-phone").await);
    };
    let people = clip_camera(&app, "people@example.com", &walk, false, &settings, subscribed).await;
    let got = push.wait_for("walk-phone", 1, SLOW).await;
    let keys = keys.get().expect("subscribed");
    let payload: Value = serde_json::from_slice(&keys.decrypt(&got[0].body)).expect("JSON");
    assert!(payload["title"].as_str().is_some_and(|t| t.starts_with("Person at")), "{payload}");
    assert_eq!(payload["label"], "person", "{payload}");
    let id = payload["event_id"].as_str().expect("id");
    let (s, ev) = app.get_authed("/api/v1/events?label=person", &people.token).await;
    assert_eq!(s, 200);
    assert!(ev.as_array().is_some_and(|l| l.iter().any(|e| e["id"] == id)), "{ev}");
}

#[tokio::test]
async fn a_camera_without_person_detection_is_not_analysed() {
    // fails without the fix: every camera's motion was decoded and looked at for people.
    let app = person_app().await;
    let walk = clip("vtest", (384, 288), 6);
    let off = Settings::default();
    let cam = clip_camera(&app, "off@example.com", &walk, true, &off, async |_| {}).await;
    let list = until(&app, &cam.token, "", "a motion event that ended", |l| {
        l.iter().any(|e| e["ended_at_ms"].is_i64())
    })
    .await;
    for e in &list {
        assert!(e["detection"].is_null() && e["label"].is_null(), "not analysed: {e}");
    }
    let (s, m) = metrics(&app).await;
    assert_eq!(s, 200);
    assert!(m.contains("kankan_vision_frames_skipped_total 0"), "{m}");
}

/// The server's `/metrics` text.
async fn metrics(app: &TestApp) -> (u16, String) {
    let r = app.http.get(app.url("/metrics")).send().await.expect("metrics");
    (r.status().as_u16(), r.text().await.expect("text"))
}

#[tokio::test]
async fn person_detection_without_models_is_refused_with_vision_unavailable() {
    let app = TestApp::spawn().await;
    let token = app.register("nomodels@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _dev = bind(&app, &token, &creds).await;
    let (s, b) = put_settings(&app, &token, &creds.uid, &detection(AlertOn::Any)).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("vision-unavailable")), "{b}");
    // Alerting only on a person needs detection on.
    let bad = Settings { alert_on: AlertOn::Person, ..Settings::default() };
    let (s, b) = put_settings(&app, &token, &creds.uid, &bad).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("alert-on-person-needs-detection")), "{b}");
}

#[tokio::test]
async fn an_rtsp_camera_gets_person_events_from_the_servers_own_motion_detection() {
    let models = kankan_testkit::models_dir();
    let app = TestApp::spawn_with(move |c| {
        c.recording.segment_secs = 2;
        c.recording.max_clock_skew_secs = 3600;
        c.vision.models_dir = models;
        kankan_testkit::rtsp::allow_loopback_cameras(c);
    })
    .await;
    let token = app.register("rtsp-person@example.com", PW).await;
    let walk = clip("vtest", (384, 288), 40);
    let cam = kankan_testkit::rtsp::RtspCamera::start_raw(
        "admin",
        "cam-pass-7",
        &walk.path,
        walk.size,
        walk.fps,
    )
    .await
    .expect("the test RTSP server");
    let body = serde_json::json!({"name": "Street", "url": cam.url(), "username": "admin",
        "password": "cam-pass-7"});
    let (s, dev) = app
        .send(app.http.post(app.url("/api/v1/cameras/rtsp")).bearer_auth(&token).json(&body))
        .await;
    assert_eq!(s, 201, "{dev}");
    let uid = dev["uid"].as_str().expect("uid");
    let (s, b) = put_settings(&app, &token, uid, &detection(AlertOn::Any)).await;
    assert!(s == 200 || s == 202, "{s} {b}");
    let list =
        until(&app, &token, "?label=person", "a person on the RTSP camera", |l| !l.is_empty())
            .await;
    assert_eq!(
        (list[0]["device"].as_str(), list[0]["label"].as_str()),
        (Some(uid), Some("person"))
    );
}
