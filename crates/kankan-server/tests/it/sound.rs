//! Camera sound over the real ports: `kankan-cam` records with its microphone (an Opus track
//! in the fMP4 upload); the recording, its HLS init and its MP4 export keep the track (checked
//! with ffprobe); its sound detector raises `sound` events with level and duration once its
//! owner turns sound alarms on, and never for a quiet room.

use kankan_base::Shutdown;
use kankan_protocol::device::Settings;
use kankan_sim::video::{self, VideoHandle, sound::SoundPlan};
use kankan_testkit::TestApp;
use serde_json::Value;

use crate::devices::{Creds, eventually, put_settings};
use crate::events::{events_where, events_where_until};
use crate::live_on_demand::{bound_firmware, run_rotated, with_motion_video};
use crate::recording::{
    WAIT, camera_with, get_bytes, link, recorded_ms, recording_app, timeline_until,
};

/// ffprobe's streams of a file: `(codec_type, codec_name)` each.
fn streams(file: &std::path::Path) -> Vec<(String, String)> {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_type,codec_name", "-of", "json"])
        .arg(file)
        .output()
        .expect("ffprobe runs (scripts/test installs ffmpeg)");
    assert!(out.status.success(), "ffprobe: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let s = v["streams"].as_array().cloned().unwrap_or_default();
    s.iter()
        .map(|s| {
            (
                s["codec_type"].as_str().unwrap_or("").into(),
                s["codec_name"].as_str().unwrap_or("").into(),
            )
        })
        .collect()
}

/// Seconds of audio ffmpeg decodes from `file` (it fails on a track it cannot decode).
fn decoded_audio_secs(file: &std::path::Path) -> f64 {
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-map", "0:a:0", "-f", "s16le", "-ac", "1", "-ar", "48000", "-"])
        .output()
        .expect("ffmpeg runs (scripts/test installs ffmpeg)");
    assert!(out.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "decodes cleanly: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout.len() as f64 / 2.0 / 48_000.0
}

#[tokio::test]
async fn a_recording_keeps_the_camera_s_sound_and_its_export_plays_it() {
    let app = recording_app().await;
    let (token, creds, cam, stop) =
        camera_with(&app, "sound@example.com", |v| v.sound = Some((SoundPlan::Cycle, 7))).await;
    cam.wait_for("five seconds are sent", WAIT, |s| s.sent_live_ms >= 5_000)
        .await
        .expect("streaming");
    stop.trigger();
    let t =
        timeline_until(&app, &token, &creds.uid, "about 5 s recorded", |t| recorded_ms(t) >= 4_000)
            .await;
    let span = &t["spans"][0];
    let (from, to) =
        (span["start_ms"].as_i64().expect("start"), span["end_ms"].as_i64().expect("end"));
    let (lt, base) = link(&app, &token, &creds.uid).await;
    let dir = tempfile::tempdir().expect("tmp");

    let (s, mp4, _) =
        get_bytes(&app, &format!("{base}/export.mp4?from={from}&to={to}&t={lt}")).await;
    assert_eq!(s, 200);
    let file = dir.path().join("export.mp4");
    std::fs::write(&file, &mp4).expect("write");
    let found = streams(&file);
    assert!(found.contains(&("video".into(), "h264".into())), "{found:?}");
    assert!(found.contains(&("audio".into(), "opus".into())), "{found:?}");
    let secs = decoded_audio_secs(&file);
    let span_secs = (to - from) as f64 / 1000.0;
    assert!((secs - span_secs).abs() < 0.5, "{secs} s of sound in a {span_secs} s export");

    // The HLS init segment announces both tracks, and a segment after it decodes with sound.
    let (_, body, _) =
        get_bytes(&app, &format!("{base}/playlist.m3u8?from={from}&to={to}&t={lt}")).await;
    let playlist = String::from_utf8(body).expect("text");
    let map = playlist.lines().find_map(|l| l.strip_prefix("#EXT-X-MAP:URI=\"")).expect("a map");
    let mut stream = get_bytes(&app, &format!("{base}/{}", map.trim_end_matches('"'))).await.1;
    let seg = playlist.lines().find(|l| l.starts_with("seg/")).expect("a segment");
    stream.extend(get_bytes(&app, &format!("{base}/{seg}")).await.1);
    let file = dir.path().join("hls.mp4");
    std::fs::write(&file, &stream).expect("write");
    assert!(streams(&file).contains(&("audio".into(), "opus".into())));
    assert!(decoded_audio_secs(&file) > 0.5);

    // The sound is stored sealed like the video: no stored object or file of the data
    // directory holds its sample entry or an audio packet in clear.
    let packet = first_audio_packet(&mp4);
    let files = kankan_testkit::files_under(app.data_dir()).into_iter();
    let stored: Vec<(String, Vec<u8>)> = app
        .blobs()
        .await
        .into_iter()
        .chain(files.map(|f| (f.display().to_string(), std::fs::read(&f).unwrap_or_default())))
        .collect();
    assert!(stored.len() >= 3, "an init and segments");
    for (f, bytes) in stored {
        for marker in [&b"dOps"[..], b"Opus", &packet] {
            assert!(!bytes.windows(marker.len()).any(|w| w == marker), "{f} holds sound in clear");
        }
    }
}

/// The first audio sample of an exported MP4 (its `stco`/`stsz` of the second track): the
/// bytes of the first Opus packet, found by the first chunk offset and sample size.
fn first_audio_packet(mp4: &[u8]) -> Vec<u8> {
    let be32 = |at: usize| u32::from_be_bytes(mp4[at..at + 4].try_into().expect("4")) as usize;
    let find = |name: &[u8], nth: usize| {
        mp4.windows(4).enumerate().filter(|(_, w)| *w == name).nth(nth).map(|(i, _)| i)
    };
    let stsz = find(b"stsz", 1).expect("the audio track's stsz");
    let size = match be32(stsz + 8) {
        0 => be32(stsz + 16),
        fixed => fixed,
    };
    let stco = find(b"stco", 1).expect("the audio track's stco");
    let at = be32(stco + 12);
    assert!(size >= 8, "an Opus packet of {size} bytes");
    mp4[at..at + size].to_vec()
}

#[tokio::test]
async fn the_sound_of_a_network_cut_is_backfilled_from_the_sd_card() {
    let app = recording_app().await;
    let (token, creds, cam, stop) =
        camera_with(&app, "cut-sound@example.com", |v| v.sound = Some((SoundPlan::Speech, 7)))
            .await;
    let s = cam.wait_for("two seconds are sent", WAIT, |s| s.sent_live_ms >= 2_000).await;
    let made = s.expect("live").made_ms;
    cam.set_uplink(false);
    cam.wait_for("five seconds on the SD card only", WAIT, |s| s.made_ms >= made + 5_000)
        .await
        .expect("cut");
    cam.set_uplink(true);
    cam.wait_for("the outage uploaded", WAIT, |s| s.live && s.backfills >= 1)
        .await
        .expect("backfill");
    let s = cam.status();
    stop.trigger();
    let t = timeline_until(&app, &token, &creds.uid, "the outage filled", |t| {
        recorded_ms(t) >= s.made_ms - 2_000
    })
    .await;
    let (from, to) = (
        t["spans"][0]["start_ms"].as_i64(),
        t["spans"].as_array().and_then(|a| a.last()?["end_ms"].as_i64()),
    );
    let (from, to) = (from.expect("start"), to.expect("end"));
    let (lt, base) = link(&app, &token, &creds.uid).await;
    let (s, mp4, _) =
        get_bytes(&app, &format!("{base}/export.mp4?from={from}&to={to}&t={lt}")).await;
    assert_eq!(s, 200);
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("export.mp4");
    std::fs::write(&file, &mp4).expect("write");
    let secs = decoded_audio_secs(&file);
    let span_secs = (to - from) as f64 / 1000.0;
    assert!(span_secs >= 7.0, "live, the outage and live again: {span_secs} s");
    assert!((secs - span_secs).abs() < 0.5, "{secs} s of sound over {span_secs} s: no hole");
}

/// A bound `kankan-cam` camera (firmware over MQTT) whose microphone hears `plan`.
async fn sound_camera(
    app: &TestApp,
    who: &str,
    plan: SoundPlan,
) -> (String, Creds, VideoHandle, Shutdown, tempfile::TempDir) {
    let (token, creds, dir, device) = bound_firmware(app, who, "KK-C1").await;
    let (stop, signal) = Shutdown::new();
    let (device, mut v, rx) = with_motion_video(device, app, &creds, dir.path());
    v.sound = Some((plan, 7));
    v.motion = false;
    let cam = video::start(v, signal.clone()).expect("camera starts");
    tokio::spawn(kankan_sim::media::serve(rx, cam.clone()));
    run_rotated(device, signal).await;
    eventually(app, &token, &creds.uid, "online", |v| v["online"] == true).await;
    (token, creds, cam, stop, dir)
}

/// Turns the camera's sound alarms on (or off) and waits until it applied them.
async fn sound_alarms(app: &TestApp, token: &str, uid: &str, enabled: bool) {
    let mut settings = Settings::default();
    settings.sound_alarm.enabled = enabled;
    let (s, b) = put_settings(app, token, uid, &settings).await;
    assert!(s == 200 || s == 202, "{s} {b}");
    eventually(app, token, uid, "settings applied", |v| v["in_sync"] == true).await;
}

#[tokio::test]
async fn a_knock_raises_a_sound_event_with_its_level_and_duration_only_once_alarms_are_on() {
    let app = recording_app().await;
    let (token, creds, cam, _stop, _dir) =
        sound_camera(&app, "knock@example.com", SoundPlan::Knock).await;
    // Off by default: knocks (one every 6 s) raise nothing until the owner turns alarms on.
    let status =
        cam.wait_for("two knock periods", WAIT, |s| s.made_ms >= 13_000).await.expect("recording");
    // The camera's clock (the real one) when alarms were turned on.
    let on_at = kankan_base::Clock::now(&kankan_base::RealClock).0;
    sound_alarms(&app, &token, &creds.uid, true).await;
    // A whole knocking (three knocks 250 ms apart) ends 3 s after its last knock.
    let whole = |e: &Value| e["duration_ms"].as_i64().is_some_and(|d| d >= 400);
    let events = events_where_until(&app, &token, "?kind=sound", "a whole knocking", |l| {
        l.iter().any(whole)
    })
    .await;
    let oldest = events.last().expect("the oldest");
    assert!(
        // (A block is heard up to a frame, 67 ms, before the source thread sends it on.)
        oldest["started_at_ms"].as_i64().expect("start") >= on_at - 200,
        "nothing from before alarms were on ({} s heard then): {events:?}",
        status.made_ms / 1000
    );
    let e = events.iter().find(|e| whole(e)).expect("ended");
    assert_eq!(e["kind"], "sound");
    let level = e["level_db"].as_i64().expect("a level");
    assert!((-12..=0).contains(&level), "a loud knock: {level} dBFS");
    let duration = e["duration_ms"].as_i64().expect("a duration");
    assert!(duration <= 700, "three knocks 250 ms apart: {duration} ms");
    assert_eq!(
        duration,
        e["ended_at_ms"].as_i64().expect("end") - e["started_at_ms"].as_i64().expect("start")
    );
}

#[tokio::test]
async fn a_quiet_room_raises_no_sound_event() {
    let app = recording_app().await;
    let (token, creds, cam, _stop, _dir) =
        sound_camera(&app, "quiet@example.com", SoundPlan::Silence).await;
    sound_alarms(&app, &token, &creds.uid, true).await;
    let from = cam.status().made_ms;
    cam.wait_for("ten more seconds heard", WAIT, |s| s.made_ms >= from + 10_000)
        .await
        .expect("recording");
    assert_eq!(events_where(&app, &token, "?kind=sound").await, Vec::<Value>::new());
}
