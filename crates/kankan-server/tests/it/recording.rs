//! Recording end to end: `kankan-cam` streams H.264 in fMP4 to the real ingest port; the
//! timeline, HLS playlist, segments, MP4 export and snapshot come back through the real
//! HTTP port and are checked with ffprobe.

use std::time::Duration;

use kankan_base::Shutdown;
use kankan_sim::video::{self, VideoConfig, VideoHandle};
use kankan_testkit::TestApp;
use serde_json::Value;

use crate::devices::{Creds, PW, bind, provision};

pub const WAIT: Duration = Duration::from_secs(60);

/// A test server cutting 2 s segments, with room for a device clock ahead of its own.
pub async fn recording_app() -> TestApp {
    TestApp::spawn_with(|c| {
        c.recording.segment_secs = 2;
        c.recording.max_clock_skew_secs = 3600;
    })
    .await
}

/// A small, fast camera stream: 320x180, 15 fps, a keyframe (and fragment) per second.
pub fn small_video(base_url: &str, creds: &Creds) -> VideoConfig {
    let mut v = VideoConfig::new(
        base_url,
        &creds.uid,
        &creds.secret,
        std::sync::Arc::new(kankan_base::RealClock),
    );
    v.encoder = kankan_video::EncoderConfig {
        width: 320,
        height: 180,
        fps: 15,
        bitrate_bps: 300_000,
        gop: 15,
    };
    v.retry = Duration::from_millis(100);
    v
}

/// Registers a user, binds a camera to them and starts it recording.
pub async fn recording_camera(app: &TestApp, who: &str) -> (String, Creds, VideoHandle, Shutdown) {
    camera_with(app, who, |_| {}).await
}

/// The same, with the camera's video adjusted by `adjust`.
pub async fn camera_with(
    app: &TestApp,
    who: &str,
    adjust: impl FnOnce(&mut VideoConfig),
) -> (String, Creds, VideoHandle, Shutdown) {
    let token = app.register(who, PW).await;
    let creds = provision(app, "KK-C1").await;
    let _mqtt = bind(app, &token, &creds).await;
    let (stop, signal) = Shutdown::new();
    let mut v = small_video(&app.base_url, &creds);
    adjust(&mut v);
    let cam = video::start(v, signal).expect("camera starts");
    (token, creds, cam, stop)
}

/// The timeline of the hour around now (the cameras run on the real clock, the server on a
/// simulated one that starts with it).
pub async fn timeline(app: &TestApp, token: &str, uid: &str) -> Value {
    let now = kankan_base::Clock::now(&app.clock).0;
    let (from, to) = (now - 3_600_000, now + 3_600_000);
    let path = format!("/api/v1/devices/{uid}/recordings/timeline?from={from}&to={to}");
    let (s, b) = app.get_authed(&path, token).await;
    assert_eq!(s, 200, "{b}");
    b
}

pub async fn timeline_until(
    app: &TestApp,
    token: &str,
    uid: &str,
    what: &str,
    cond: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let t = timeline(app, token, uid).await;
        if cond(&t) {
            return t;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: timeline {t}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn recorded_ms(t: &Value) -> i64 {
    t["spans"]
        .as_array()
        .expect("spans")
        .iter()
        .map(|s| s["end_ms"].as_i64().unwrap_or(0) - s["start_ms"].as_i64().unwrap_or(0))
        .sum()
}

/// A playback link's token and media base.
pub async fn link(app: &TestApp, token: &str, uid: &str) -> (String, String) {
    link_for(app, token, uid, "playback").await
}

/// A link's token and media base, for `purpose` (`playback`, `live` or `talk`).
pub async fn link_for(app: &TestApp, token: &str, uid: &str, purpose: &str) -> (String, String) {
    let (s, b) = app
        .send(
            app.http
                .post(app.url(&format!("/api/v1/devices/{uid}/recordings/link")))
                .json(&serde_json::json!({ "purpose": purpose }))
                .bearer_auth(token),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    (
        b["token"].as_str().expect("token").to_string(),
        b["media_base"].as_str().expect("base").to_string(),
    )
}

pub async fn get_bytes(app: &TestApp, path: &str) -> (u16, Vec<u8>, String) {
    let r = app.http.get(app.url(path)).send().await.expect("request");
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, r.bytes().await.expect("body").to_vec(), ctype)
}

/// ffprobe's view of a file: codec, frame count, duration.
pub fn probe(file: impl AsRef<std::ffi::OsStr>) -> (String, u64, f64) {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_frames",
            "-show_entries",
            "stream=codec_name,nb_read_frames:format=duration",
            "-of",
            "json",
        ])
        .arg(file)
        .output()
        .expect("ffprobe runs (scripts/test installs ffmpeg)");
    assert!(out.status.success(), "ffprobe: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("ffprobe json");
    let s = &v["streams"][0];
    let frames = s["nb_read_frames"].as_str().and_then(|n| n.parse().ok()).unwrap_or(0);
    let duration = v["format"]["duration"].as_str().and_then(|d| d.parse().ok()).unwrap_or(0.0);
    (s["codec_name"].as_str().unwrap_or_default().to_string(), frames, duration)
}

#[tokio::test]
async fn a_camera_records_and_plays_back_through_hls_export_and_snapshot() {
    let app = recording_app().await;
    let (token, creds, cam, stop) =
        camera_with(&app, "rec@example.com", |v| v.sub_stream = Some(v.encoder)).await;
    cam.wait_for("five seconds are sent", WAIT, |s| s.sent_live_ms >= 5_000)
        .await
        .expect("streaming");
    stop.trigger();
    let t =
        timeline_until(&app, &token, &creds.uid, "about 5 s recorded", |t| recorded_ms(t) >= 4_000)
            .await;
    assert_eq!(t["spans"].as_array().map(Vec::len), Some(1), "one span, no gaps: {t}");
    let span = &t["spans"][0];
    let (from, to) =
        (span["start_ms"].as_i64().expect("start"), span["end_ms"].as_i64().expect("end"));

    let (lt, base) = link(&app, &token, &creds.uid).await;
    let (s, body, ctype) =
        get_bytes(&app, &format!("{base}/playlist.m3u8?from={from}&to={to}&t={lt}")).await;
    assert_eq!(s, 200);
    assert_eq!(ctype, "application/vnd.apple.mpegurl");
    let playlist = String::from_utf8(body).expect("text");
    assert!(playlist.starts_with("#EXTM3U") && playlist.contains("#EXT-X-ENDLIST"), "{playlist}");
    let map = playlist.lines().find_map(|l| l.strip_prefix("#EXT-X-MAP:URI=\"")).expect("a map");
    let mut stream = get_bytes(&app, &format!("{base}/{}", map.trim_end_matches('"'))).await.1;
    let mut segments = 0;
    for uri in playlist.lines().filter(|l| l.starts_with("seg/")) {
        let (s, bytes, ctype) = get_bytes(&app, &format!("{base}/{uri}")).await;
        assert_eq!((s, ctype.as_str()), (200, "video/iso.segment"));
        stream.extend_from_slice(&bytes);
        segments += 1;
    }
    assert!(segments >= 2, "2 s segments: {playlist}");
    let dir = tempfile::tempdir().expect("tmp");
    let hls = dir.path().join("hls.mp4");
    std::fs::write(&hls, &stream).expect("write");
    let (codec, frames, _) = probe(&hls);
    assert_eq!(codec, "h264");
    let expected = frames_at_15_fps(from, to);
    assert_eq!(frames, expected, "every recorded frame decodes (15 fps over {} ms)", to - from);
    // A player given only the playlist's URL (ffmpeg's HLS reader, as in ffplay and VLC) takes
    // it as it is: fails with extension-less segment URLs ("not in allowed_segment_extensions").
    let url = app.url(&format!("{base}/playlist.m3u8?from={from}&to={to}&t={lt}"));
    let (codec, frames, _) =
        tokio::task::spawn_blocking(move || probe(url)).await.expect("ffprobe task");
    assert_eq!((codec.as_str(), frames), ("h264", expected), "ffprobe on the playlist URL");

    let (s, mp4, ctype) =
        get_bytes(&app, &format!("{base}/export.mp4?from={from}&to={to}&t={lt}")).await;
    assert_eq!((s, ctype.as_str()), (200, "video/mp4"));
    assert_eq!(&mp4[4..8], b"ftyp");
    let moov = mp4.windows(4).position(|w| w == b"moov").expect("moov");
    let mdat = mp4.windows(4).position(|w| w == b"mdat").expect("mdat");
    assert!(moov < mdat, "faststart: moov before mdat");
    let file = dir.path().join("export.mp4");
    std::fs::write(&file, &mp4).expect("write");
    let (codec, frames, duration) = probe(&file);
    assert_eq!((codec.as_str(), frames), ("h264", expected));
    assert!((duration - (to - from) as f64 / 1000.0).abs() < 0.2, "duration {duration}");

    let (s, jpeg, ctype) =
        get_bytes(&app, &format!("{base}/snapshot.jpg?at={}&t={lt}", from + 1_500)).await;
    assert_eq!((s, ctype.as_str()), (200, "image/jpeg"), "{}", String::from_utf8_lossy(&jpeg));
    let img = image::load_from_memory(&jpeg).expect("a JPEG");
    assert_eq!((img.width(), img.height()), (320, 180));

    // The sub-stream was recorded beside the main stream.
    let now = kankan_base::Clock::now(&app.clock).0;
    let path = format!(
        "/api/v1/devices/{}/recordings/timeline?stream=1&from={}&to={}",
        creds.uid,
        now - 3_600_000,
        now + 3_600_000
    );
    let (s, t) = app.get_authed(&path, &token).await;
    assert_eq!(s, 200);
    assert!(recorded_ms(&t) >= 4_000, "sub-stream: {t}");

    // Every file the server made (the database and its WAL, blobs, journals) is private to its
    // user, so that a copied backup keeps tight modes: fails without the umask set at start
    // (the files were 0644 inside the 0700 directory).
    use std::os::unix::fs::PermissionsExt;
    let files = kankan_testkit::files_under(app.data_dir());
    // (On the object-store run of the suite, the blobs are in the bucket instead.)
    let local_blobs = matches!(app.config.blobs.location(), Ok(kankan_blobs::Location::Dir(_)));
    let has_blob = files.iter().any(|f| f.extension().is_some_and(|e| e == "blob"));
    assert!(has_blob || !local_blobs, "{files:?}");
    for f in files {
        let mode = std::fs::metadata(&f).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o077, 0, "{} is {:o}", f.display(), mode & 0o777);
    }
}

/// The frames of every segment of `[from, to)`, fetched through the HLS playlist and counted
/// by ffprobe; also checks each segment decodes on its own after the init.
pub async fn decoded_frames(app: &TestApp, token: &str, uid: &str, from: i64, to: i64) -> u64 {
    let (lt, base) = link(app, token, uid).await;
    let (s, body, _) =
        get_bytes(app, &format!("{base}/playlist.m3u8?from={from}&to={to}&t={lt}")).await;
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
    let playlist = String::from_utf8(body).expect("text");
    let dir = tempfile::tempdir().expect("tmp");
    let (mut init, mut total) = (Vec::new(), 0);
    for line in playlist.lines() {
        if let Some(uri) = line.strip_prefix("#EXT-X-MAP:URI=\"") {
            init = get_bytes(app, &format!("{base}/{}", uri.trim_end_matches('"'))).await.1;
        } else if line.starts_with("seg/") {
            let (s, seg, _) = get_bytes(app, &format!("{base}/{line}")).await;
            assert_eq!(s, 200);
            let file = dir.path().join("seg.mp4");
            std::fs::write(&file, [init.as_slice(), &seg].concat()).expect("write");
            let (codec, frames, _) = probe(&file);
            assert_eq!(codec, "h264", "{line}");
            assert!(frames > 0, "{line} decodes");
            total += frames;
        }
    }
    total
}

/// `recording.live_upload_max_secs` (several nodes behind a proxy): the server answers a live
/// upload open that long, the camera opens another (through the proxy, to the node its UID
/// routes to now) and backfills what the cut left out: no frame is lost or doubled.
#[tokio::test]
async fn a_live_upload_open_past_its_limit_ends_and_the_camera_uploads_again_losing_nothing() {
    let app = TestApp::spawn_with(|c| {
        c.recording.segment_secs = 2;
        c.recording.max_clock_skew_secs = 3600;
        c.recording.live_upload_max_secs = 5;
    })
    .await;
    let (token, creds, cam, stop) = recording_camera(&app, "rehome@example.com").await;
    let s = cam
        .wait_for("the server ended two uploads", Duration::from_secs(30), |s| {
            s.connections >= 3 && s.live && s.backfills >= 2
        })
        .await
        .expect("uploads again");
    stop.trigger();
    one_whole_span(&app, &token, &creds.uid, s.made_ms, "one span, all of it").await;
}

#[tokio::test]
async fn a_minute_without_network_is_backfilled_from_the_sd_card_and_leaves_no_gap() {
    let app = recording_app().await;
    let (token, creds, cam, stop) = recording_camera(&app, "cut@example.com").await;
    let s = cam
        .wait_for("three seconds are sent", WAIT, |s| s.sent_live_ms >= 3_000)
        .await
        .expect("live");
    cam.set_uplink(false);
    let made = s.made_ms;
    // The case: a minute without network.
    cam.wait_for("a minute on the SD card only", Duration::from_secs(120), |s| {
        s.made_ms >= made + 60_000
    })
    .await
    .expect("cut");
    cam.set_uplink(true);
    let s = cam
        .wait_for("live again and the outage uploaded", WAIT, |s| {
            s.live && s.backfills >= 1 && s.sent_live_ms >= 5_000
        })
        .await
        .expect("backfill");
    // A fragment per frame at 15 fps: a minute is 900 of them.
    assert!(s.backfilled >= 60 * 15, "the outage's fragments were uploaded: {s:?}");
    stop.trigger();
    one_whole_span(&app, &token, &creds.uid, s.made_ms, "the outage is filled").await;
}

#[tokio::test]
async fn ffmpeg_pushes_to_the_ingest_with_the_documented_command() {
    let app = recording_app().await;
    let token = app.register("ffmpeg@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _mqtt = bind(&app, &token, &creds).await;
    let auth = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:{}", creds.uid, creds.secret),
    );
    // The command in docs/ref/ingest.md.
    let out = tokio::process::Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x180:rate=15",
            "-t",
            "4",
            "-c:v",
            "libx264",
            "-g",
            "15",
            "-pix_fmt",
            "yuv420p",
            "-f",
            "mp4",
            "-movflags",
            "frag_keyframe+empty_moov+default_base_moof",
            "-method",
            "POST",
            "-headers",
        ])
        .arg(format!("Authorization: Basic {auth}\r\n"))
        .arg(app.url(&format!("/ingest/v1/{}/live", creds.uid)))
        .output()
        .await
        .expect("ffmpeg runs (scripts/test installs it)");
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    let t =
        timeline_until(&app, &token, &creds.uid, "ffmpeg's 4 s", |t| recorded_ms(t) >= 4_000).await;
    let span = &t["spans"][0];
    let (from, to) =
        (span["start_ms"].as_i64().expect("start"), span["end_ms"].as_i64().expect("end"));
    assert_eq!(to - from, 4_000, "{t}");
    assert_eq!(decoded_frames(&app, &token, &creds.uid, from, to).await, 60);
}

#[tokio::test]
async fn the_server_stops_without_waiting_for_a_camera_that_is_still_uploading() {
    let app = recording_app().await;
    let (token, creds, cam, _camera) = recording_camera(&app, "stopping@example.com").await;
    cam.wait_for("uploading", WAIT, |s| s.sent_live_ms >= 3_000).await.expect("uploading");
    timeline_until(&app, &token, &creds.uid, "2 s recorded", |t| recorded_ms(t) >= 2_000).await;
    // The camera keeps its upload open; stopping must not wait for it to end.
    tokio::time::timeout(Duration::from_secs(30), app.stop())
        .await
        .expect("the server stops although a camera is still uploading");
}

/// Waits until the timeline is one span holding all but the last 2 s of the `made_ms` the
/// camera made, and checks that every frame of it decodes: none lost or doubled.
async fn one_whole_span(app: &TestApp, token: &str, uid: &str, made_ms: i64, what: &str) {
    let t = timeline_until(app, token, uid, what, |t| {
        t["spans"].as_array().is_some_and(|a| a.len() == 1) && recorded_ms(t) >= made_ms - 2_000
    })
    .await;
    let span = &t["spans"][0];
    let (from, to) =
        (span["start_ms"].as_i64().expect("start"), span["end_ms"].as_i64().expect("end"));
    let frames = decoded_frames(app, token, uid, from, to).await;
    assert_eq!(frames, frames_at_15_fps(from, to), "no frame lost or doubled");
}

/// The frames a span of a 15 fps camera holds: its ends are whole milliseconds while a frame
/// lasts 66.7 ms, so the count is rounded to the nearest (rounding down undercounts a span
/// whose end was rounded down, and failed once on PostgreSQL).
pub(crate) fn frames_at_15_fps(from: i64, to: i64) -> u64 {
    u64::try_from(((to - from) * 15 + 500) / 1000).expect("positive")
}
