//! Live view of cameras that upload only while watched: `kankan-cam --on-demand` runs as
//! firmware over MQTT; the first viewer makes the server send `stream-start`, the last one
//! leaving makes it send `stream-stop` after the grace period. Cameras that cannot start get a
//! clear error, and repeated starts and stops leak no viewer.

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use kankan_base::{Clock as _, Shutdown};
use kankan_media::{Limits, StreamItem, StreamParser};
use kankan_protocol::device::CommandKind;
use kankan_sim::video::{self, VideoConfig, VideoHandle};
use kankan_sim::{Device, DeviceConfig, ServerAddr};
use kankan_testkit::TestApp;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::devices::{Creds, PW, bind, eventually, provision};
use crate::recording::{WAIT, link_for, small_video};

/// The grace period after the last viewer, on the server's simulated clock: 7 s, a deadline
/// no other worker waits for.
const GRACE: Duration = Duration::from_secs(7);

/// A recording server whose on-demand streams stop [`GRACE`] (simulated) after their last
/// viewer, and whose viewers wait at most three (real) seconds for a camera to start.
async fn app() -> TestApp {
    TestApp::spawn_with(|c| {
        c.recording.segment_secs = 2;
        c.recording.max_clock_skew_secs = 3600;
        c.recording.live_grace_secs = GRACE.as_secs() as u32;
        c.recording.live_start_wait_secs = 3;
    })
    .await
}

/// A bound camera running as firmware over MQTT (`kankan-cam`): with video when `on_demand`
/// is given (`Some(true)`: uploads only when asked), or without any (`None`); with a talk
/// channel whose speaker writes to `talk_out` when given.
pub(crate) async fn firmware_camera(
    app: &TestApp,
    who: &str,
    on_demand: Option<bool>,
    talk_out: Option<&Path>,
) -> FirmwareCamera {
    let token = app.register(who, PW).await;
    firmware_camera_of(app, token, on_demand, talk_out).await
}

/// [`firmware_camera`] for the account signed in with `token`.
pub(crate) async fn firmware_camera_of(
    app: &TestApp,
    token: String,
    on_demand: Option<bool>,
    talk_out: Option<&Path>,
) -> FirmwareCamera {
    let (creds, dir, mut device) = bound_firmware_of(app, &token, "KK-C1").await;
    let (stop, signal) = Shutdown::new();
    let (mut cam, mut talk) = (None, None);
    if let Some(on_demand) = on_demand {
        let (with_video, mut v, rx) = with_motion_video(device, app, &creds, dir.path());
        device = with_video;
        v.on_demand = on_demand;
        let h = video::start(v, signal.clone()).expect("camera starts");
        if let Some(out) = talk_out {
            let mut t = kankan_sim::talk::TalkConfig::new(&app.base_url, &creds.uid, &creds.secret);
            t.secret_from = Some(dir.path().join("state"));
            t.out = Some(out.to_path_buf());
            talk = Some(kankan_sim::talk::start(t, signal.clone()));
        }
        tokio::spawn(kankan_sim::media::serve_with_talk(rx, h.clone(), talk.clone()));
        cam = Some(h);
    }
    run_rotated(device, signal).await;
    eventually(app, &token, &creds.uid, "online", |v| v["online"] == true).await;
    FirmwareCamera { token, creds, cam, talk, stop, dir }
}

/// Runs the firmware until it is connected with the secret the server rotated to at its
/// binding (it logs in a second time with it), so that nothing a test sends meets it between
/// the two connections.
pub(crate) async fn run_rotated(device: Device, signal: kankan_base::ShutdownSignal) {
    let handle = device.handle();
    tokio::spawn(device.run(signal));
    handle
        .wait_for("the login with the rotated secret", WAIT, |s| {
            s.connected && s.connections >= 2 && s.stored.secret.is_some()
        })
        .await
        .expect("the firmware rotates its secret");
}

/// Registers `who`, binds a new `model` device to them and sets up `kankan-cam` firmware for
/// it against `app`'s MQTT port, keeping its state in the returned directory.
pub(crate) async fn bound_firmware(
    app: &TestApp,
    who: &str,
    model: &str,
) -> (String, Creds, tempfile::TempDir, Device) {
    let token = app.register(who, PW).await;
    let (creds, dir, device) = bound_firmware_of(app, &token, model).await;
    (token, creds, dir, device)
}

/// [`bound_firmware`] for the account signed in with `token`.
pub(crate) async fn bound_firmware_of(
    app: &TestApp,
    token: &str,
    model: &str,
) -> (Creds, tempfile::TempDir, Device) {
    let creds = provision(app, model).await;
    drop(bind(app, token, &creds).await);
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = DeviceConfig::new(&creds.uid, &creds.secret, dir.path().join("state"));
    cfg.model = Some(creds.model.clone());
    cfg.server = Some(ServerAddr::parse(&app.device_server()).expect("address"));
    cfg.pin = app.pin();
    (creds, dir, Device::new(cfg).expect("device"))
}

/// Gives `device` a small video whose motion detector reports through the firmware: the
/// device, the video's configuration, and the media commands for `kankan_sim::media`. The
/// video logs in with the secret the firmware holds in `dir` (the server rotates it once the
/// firmware connects).
pub(crate) fn with_motion_video(
    device: Device,
    app: &TestApp,
    creds: &Creds,
    dir: &Path,
) -> (Device, VideoConfig, mpsc::UnboundedReceiver<CommandKind>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (events, events_rx) = mpsc::unbounded_channel();
    let (device, settings) = device.with_media(tx).with_motion(events_rx);
    let mut v = small_video(&app.base_url, creds);
    v.secret_from = Some(dir.join("state"));
    v.motion_events = Some(video::MotionLink { events, settings });
    (device, v, rx)
}

/// What [`firmware_camera`] started; it runs until `stop` is triggered or this is dropped.
pub(crate) struct FirmwareCamera {
    pub token: String,
    pub creds: Creds,
    pub cam: Option<VideoHandle>,
    pub talk: Option<kankan_sim::talk::TalkHandle>,
    pub stop: Shutdown,
    pub dir: tempfile::TempDir,
}

fn ws_url(app: &TestApp, path: &str) -> String {
    app.url(path).replacen("http://", "ws://", 1)
}

pub(crate) type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens the live socket and reads until the first keyframe; the time that took.
pub(crate) async fn watch_until_picture(app: &TestApp, url: &str) -> (Socket, Duration) {
    let t0 = Instant::now();
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(app, url)).await.expect("opens");
    let mut parser = StreamParser::new(Limits::default());
    let mut init = None;
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next()).await.expect("in time").expect("open");
        let Message::Binary(bytes) = msg.expect("a message") else { continue };
        for item in parser.push(&bytes).expect("valid fMP4") {
            match item {
                StreamItem::Init(i) => init = Some(i),
                StreamItem::Fragment(f) => {
                    let init = init.as_ref().expect("the init segment comes first");
                    assert!(f.starts_with_keyframe(init), "the first picture is a keyframe");
                    return (ws, t0.elapsed());
                }
            }
        }
    }
}

/// Status code of a refused upgrade (101 if it opened).
pub(crate) async fn refused(url: String) -> (u16, String) {
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            let body = r.body().as_ref().map(|b| String::from_utf8_lossy(b).to_string());
            (r.status().as_u16(), body.unwrap_or_default())
        }
        Ok(_) => (101, String::new()),
        Err(e) => panic!("unexpected: {e}"),
    }
}

/// Once the live stopper waits out a grace period that started now, moves the clock past it
/// and waits until the stopper has looked at the stream again.
async fn grace_passes(app: &TestApp) {
    let end = app.clock.now().plus(GRACE);
    tokio::time::timeout(WAIT, app.clock.wait_for_deadline(end)).await.expect("the viewer left");
    app.clock.advance(GRACE);
    let workers = &app.running().workers;
    let looked = workers.wait_for("live-stopper", |s| s.last_run_at >= Some(end));
    tokio::time::timeout(WAIT, looked).await.expect("the stopper looked again");
}

#[tokio::test]
async fn an_on_demand_camera_starts_for_the_first_viewer_and_stops_after_the_last_leaves() {
    let app = app().await;
    let FirmwareCamera { token, creds, cam, stop: _stop, dir: _dir, .. } =
        firmware_camera(&app, "demand@example.com", Some(true), None).await;
    let cam = cam.expect("video");
    cam.wait_for("frames on the SD card", WAIT, |s| s.made_ms >= 1_000).await.expect("runs");
    let s = cam.status();
    assert!(!s.live && s.sent_live == 0, "nothing is uploaded while nobody watches: {s:?}");

    let (lt, base) = link_for(&app, &token, &creds.uid, "live").await;
    let url = format!("{base}/live?t={lt}");
    let (first, ttff) = watch_until_picture(&app, &url).await;
    eprintln!("on-demand start to first keyframe: {} ms", ttff.as_millis());
    let (second, _) = watch_until_picture(&app, &url).await;
    let hub = app.running().services.recordings.live();
    assert_eq!(hub.viewers(), 2, "two family members watch the one upload");
    assert_eq!(cam.status().connections, 1, "one upload feeds both");

    drop(first);
    grace_passes(&app).await;
    assert!(cam.status().live, "one viewer is still watching");
    drop(second);
    grace_passes(&app).await;
    cam.wait_for("the upload stops after the grace period", WAIT, |s| !s.live)
        .await
        .expect("stream-stop reached the camera");
    let made = cam.status().sent_live;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(cam.status().sent_live, made, "nothing more is uploaded");
    assert_eq!(hub.viewers(), 0);

    // The next viewer starts it again.
    let (_again, _) = watch_until_picture(&app, &url).await;
    assert_eq!(cam.status().connections, 2);
}

#[tokio::test]
async fn a_continuous_camera_is_never_stopped_by_viewers_leaving() {
    let app = app().await;
    let FirmwareCamera { token, creds, cam, stop: _stop, dir: _dir, .. } =
        firmware_camera(&app, "always@example.com", Some(false), None).await;
    let cam = cam.expect("video");
    cam.wait_for("uploading", WAIT, |s| s.sent_live_ms >= 1_000).await.expect("live");
    let (lt, base) = link_for(&app, &token, &creds.uid, "live").await;
    let (ws, _) = watch_until_picture(&app, &format!("{base}/live?t={lt}")).await;
    drop(ws);
    app.clock.advance(GRACE * 2);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let s = cam.status();
    assert!(s.live && s.connections == 1, "it keeps recording: {s:?}");
}

#[tokio::test]
async fn a_camera_that_cannot_stream_or_never_starts_gets_a_clear_error() {
    let app = app().await;
    // Firmware without video refuses stream-start: the viewer hears it at once.
    let FirmwareCamera { token, creds, stop: _stop, dir: _dir, .. } =
        firmware_camera(&app, "novideo@example.com", None, None).await;
    let (lt, base) = link_for(&app, &token, &creds.uid, "live").await;
    let t0 = Instant::now();
    let (status, body) = refused(ws_url(&app, &format!("{base}/live?t={lt}"))).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("stream-not-started") && body.contains("sends no media"), "{body}");
    assert!(t0.elapsed() < Duration::from_secs(3), "refused, not timed out");

    // A device that takes the command and never streams: the wait ends with the same code.
    let token = app.register("silent@example.com", PW).await;
    let silent = provision(&app, "KK-C1").await;
    let _dev = bind(&app, &token, &silent).await;
    let (lt, base) = link_for(&app, &token, &silent.uid, "live").await;
    let (status, body) = refused(ws_url(&app, &format!("{base}/live?t={lt}"))).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("stream-not-started") && body.contains("no video within"), "{body}");
}

#[tokio::test]
async fn repeated_starts_and_stops_leave_no_viewer_behind() {
    let app = app().await;
    let FirmwareCamera { token, creds, cam, stop: _stop, dir: _dir, .. } =
        firmware_camera(&app, "soak@example.com", Some(true), None).await;
    let cam = cam.expect("video");
    let (lt, base) = link_for(&app, &token, &creds.uid, "live").await;
    let url = format!("{base}/live?t={lt}");
    let hub = app.running().services.recordings.live();
    for round in 0..20 {
        let (ws, _) = watch_until_picture(&app, &url).await;
        if round % 2 == 0 {
            drop(ws);
        } else {
            let mut ws = ws;
            ws.close(None).await.expect("close");
        }
    }
    let deadline = Instant::now() + WAIT;
    while hub.viewers() > 0 {
        assert!(Instant::now() < deadline, "viewers left behind: {}", hub.viewers());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The grace period passes (each departure's own, whenever the stopper saw it).
    while cam.status().live {
        assert!(Instant::now() < deadline, "the camera was never stopped");
        app.clock.advance(GRACE);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
