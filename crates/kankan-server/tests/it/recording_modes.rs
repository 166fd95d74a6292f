//! Recording modes per camera, and deleting a range of recordings. A card-only camera
//! (`kankan-cam` as firmware) streams live to a viewer and the server's data directory and
//! database hold nothing of its video afterwards, while the same camera recording
//! continuously leaves segments; a card-only camera's backfill is refused and kankan-cam does
//! not try it; switching to card-only while a camera streams stops the storing at once; an
//! events-only camera keeps the footage around its events and loses the rest after the hold;
//! only the owner chooses the mode or deletes recordings, and a deleted range leaves the
//! timeline.

use std::time::Duration;

use kankan_base::{Clock as _, Shutdown, Timestamp};
use kankan_core::authz::CapabilitySet;
use kankan_protocol::device::{RecordingMode, Settings};
use kankan_sim::video::{self, VideoStatus};
use kankan_testkit::{TestApp, files_under};
use serde_json::{Value, json};

use crate::authz_routes::{account_id, insert_grant};
use crate::devices::{PW, bind, eventually, provision, put_settings};
use crate::live_on_demand::{bound_firmware, run_rotated, watch_until_picture, with_motion_video};
use crate::recording::{WAIT, camera_with, link_for, recording_app, timeline};
use crate::recording_input::{stream, upload};

fn settings(mode: RecordingMode) -> Settings {
    Settings { recording_mode: mode, ..Settings::default() }
}

/// What the server holds of a device's video: its segment rows (both streams), whether it
/// has a data key, and the files of the data directory's blob store and journal.
#[derive(Debug)]
struct Held {
    segments: usize,
    key: bool,
    files: Vec<String>,
}

async fn held(app: &TestApp, uid: &str) -> Held {
    let store = &app.running().services.store;
    let mut segments = 0;
    for stream in [0, 1] {
        let all = store.segments(uid, stream, Timestamp(0), Timestamp(i64::MAX / 2), 10_000);
        segments += all.await.expect("segments").len();
    }
    let key = store.media_key(uid).await.expect("key").is_some();
    let mut files = app.blob_names().await;
    let journal = files_under(&app.data_dir().join("journal"));
    files.extend(journal.into_iter().map(|f| f.display().to_string()));
    Held { segments, key, files }
}

/// The main stream's segments of `uid`.
async fn segments_of(app: &TestApp, uid: &str) -> Vec<kankan_db::Segment> {
    let store = &app.running().services.store;
    store.segments(uid, 0, Timestamp(0), Timestamp(i64::MAX / 2), 10_000).await.expect("q")
}

/// The wall clock (the cameras run on it).
fn real_now_ms() -> i64 {
    kankan_base::RealClock.now().0
}

fn ok(r: (u16, Value)) -> Value {
    assert_eq!(r.0, 200, "{}", r.1);
    r.1
}

/// What [`stream_live_in`] saw.
struct Streamed {
    /// While the camera streamed to the viewer.
    during: Held,
    /// After the camera stopped and its upload was closed.
    after: Held,
    camera: VideoStatus,
}

/// A `kankan-cam` camera (firmware over MQTT; it uploads continuously unless its owner's mode
/// says otherwise) whose owner chose `mode` before it first connected. A viewer watches it
/// live until it sent 3 s more of video; the network drops and comes back while the viewer
/// waits (a camera recording to the cloud then backfills the gap from its SD card); then the
/// camera stops.
async fn stream_live_in(mode: RecordingMode, who: &str) -> Streamed {
    let app = TestApp::spawn_with(|c| {
        c.recording.segment_secs = 2;
        c.recording.max_clock_skew_secs = 3600;
    })
    .await;
    let (token, creds, dir, device) = bound_firmware(&app, who, "KK-C1").await;
    ok(put_settings(&app, &token, &creds.uid, &settings(mode)).await);
    let (device, v, commands) = with_motion_video(device, &app, &creds, dir.path());
    let (stop, signal) = Shutdown::new();
    let cam = video::start(v, signal.clone()).expect("camera starts");
    tokio::spawn(kankan_sim::media::serve(commands, cam.clone()));
    run_rotated(device, signal).await;
    eventually(&app, &token, &creds.uid, "the camera runs its owner's mode", |d| {
        d["in_sync"] == true && d["reported"]["settings"]["recording_mode"] == mode.name()
    })
    .await;
    if mode == RecordingMode::CardOnly {
        cam.wait_for("a card-only camera uploads only for viewers", WAIT, |s| !s.live)
            .await
            .expect("the upload stops");
    }

    let (lt, base) = link_for(&app, &token, &creds.uid, "live").await;
    let (viewer, _) = watch_until_picture(&app, &format!("{base}/live?t={lt}")).await;
    let sent = cam.status().sent_live_ms;
    cam.wait_for("3 s more of live video", WAIT, |s| s.sent_live_ms >= sent + 3_000)
        .await
        .expect("it streams");
    let during = held(&app, &creds.uid).await;

    let connections = cam.status().connections;
    cam.set_uplink(false);
    cam.wait_for("the upload is cut", WAIT, |s| !s.live).await.expect("cut");
    // Video the camera keeps on its SD card while the network is down.
    let made = cam.status().made_ms;
    cam.wait_for("a second on the card", WAIT, |s| s.made_ms >= made + 1_000).await.expect("made");
    cam.set_uplink(true);
    cam.wait_for("the upload is back", WAIT, |s| s.live && s.connections > connections)
        .await
        .expect("back");
    let sent = cam.status().sent_live_ms;
    cam.wait_for("2 s more of live video", WAIT, |s| s.sent_live_ms >= sent + 2_000)
        .await
        .expect("it streams again");
    if mode != RecordingMode::CardOnly {
        cam.wait_for("the gap is backfilled", WAIT, |s| s.backfills >= 1).await.expect("backfill");
    }
    let camera = cam.status();

    drop(viewer);
    stop.trigger();
    // The upload's end closes the ingest, which ends the live feed.
    let hub = app.running().services.recordings.live();
    let deadline = tokio::time::Instant::now() + WAIT;
    while hub.subscribe(&creds.uid, 0).is_some() {
        assert!(tokio::time::Instant::now() < deadline, "the upload never closed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut after = held(&app, &creds.uid).await;
    if mode != RecordingMode::CardOnly {
        // The last segment is indexed right after the feed ends.
        let deadline = tokio::time::Instant::now() + WAIT;
        while after.segments < during.segments + 2 {
            assert!(tokio::time::Instant::now() < deadline, "no more segments: {after:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
            after = held(&app, &creds.uid).await;
        }
    }
    Streamed { during, after, camera }
}

#[tokio::test]
async fn a_card_only_camera_streams_live_and_the_server_keeps_nothing_of_its_video() {
    let s = stream_live_in(RecordingMode::CardOnly, "card@example.com").await;
    assert!(s.during.files.is_empty(), "nothing journaled while it streamed: {:?}", s.during);
    assert_eq!(
        (s.after.segments, s.after.key),
        (0, false),
        "no segment, no data key: {:?}",
        s.after
    );
    assert!(s.after.files.is_empty(), "no blob, no journal file: {:?}", s.after.files);
    assert!(s.camera.sent_live > 0, "the viewer was served live video");
    assert_eq!(s.camera.backfills, 0, "kankan-cam did not try to backfill: {:?}", s.camera);
    let tried = s.camera.last_error.as_deref().unwrap_or_default();
    assert!(!tried.contains("backfill"), "{tried}");
}

#[tokio::test]
async fn the_same_camera_recording_continuously_leaves_segments() {
    let s = stream_live_in(RecordingMode::Continuous, "cloud@example.com").await;
    assert!(!s.during.files.is_empty(), "footage is written while it streams: {:?}", s.during);
    assert!(s.after.segments > 0 && s.after.key, "{:?}", s.after);
    assert!(s.camera.backfills >= 1, "{:?}", s.camera);
}

#[tokio::test]
async fn a_card_only_cameras_live_upload_is_relayed_and_its_backfill_refused() {
    let app = recording_app().await;
    let token = app.register("relay@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _mqtt = bind(&app, &token, &creds).await;
    ok(put_settings(&app, &token, &creds.uid, &settings(RecordingMode::CardOnly)).await);
    let now = app.clock.now().0;
    let (s, b) = upload(&app, &creds, "backfill", now - 60_000, stream(4, 1000)).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("recording-card-only")), "{b}");
    let b = ok(upload(&app, &creds, "live", now - 5_000, stream(4, 1000)).await);
    assert_eq!((b["relayed"].as_u64(), b["fragments"].as_u64()), (Some(4), Some(0)), "{b}");
    assert_eq!(b["segments"].as_u64(), Some(0));
    let h = held(&app, &creds.uid).await;
    assert_eq!((h.segments, h.key, h.files.len()), (0, false, 0), "{h:?}");

    // Back in the cloud, the same upload is stored.
    ok(put_settings(&app, &token, &creds.uid, &settings(RecordingMode::Continuous)).await);
    let b = ok(upload(&app, &creds, "backfill", now - 60_000, stream(4, 1000)).await);
    assert_eq!(b["fragments"].as_u64(), Some(4), "{b}");
    assert!(held(&app, &creds.uid).await.segments > 0);
}

/// Where the operator makes cloud recording optional, a camera's video is kept only while its
/// owner consents to it: before, the upload is relayed to live viewers and nothing is stored;
/// with the consent given it is stored; withdrawing it stops the storing at once and deletes
/// what was kept (blobs included).
#[tokio::test]
async fn with_optional_cloud_recording_footage_is_kept_only_while_its_owner_consents() {
    let app = TestApp::spawn_with(|c| {
        c.recording.segment_secs = 2;
        c.recording.max_clock_skew_secs = 3600;
        c.privacy.cloud_recording_optional = true;
    })
    .await;
    let token = app.register("consenting@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _mqtt = bind(&app, &token, &creds).await;
    let consent = |granted: bool| {
        let put = app.http.put(app.url("/api/v1/me/consents/cloud-recording"));
        app.send(put.bearer_auth(&token).json(&json!({"granted": granted})))
    };
    let now = app.clock.now().0;
    let b = ok(upload(&app, &creds, "live", now - 5_000, stream(4, 1000)).await);
    assert_eq!((b["relayed"].as_u64(), b["fragments"].as_u64()), (Some(4), Some(0)), "{b}");
    let (s, b) = upload(&app, &creds, "backfill", now - 60_000, stream(4, 1000)).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("recording-card-only")), "{b}");
    let h = held(&app, &creds.uid).await;
    assert_eq!((h.segments, h.files.len()), (0, 0), "nothing kept without consent: {h:?}");

    ok(consent(true).await);
    let b = ok(upload(&app, &creds, "backfill", now - 60_000, stream(4, 1000)).await);
    assert_eq!(b["fragments"].as_u64(), Some(4), "{b}");
    let h = held(&app, &creds.uid).await;
    assert!(h.segments > 0 && !h.files.is_empty(), "kept with the consent: {h:?}");

    ok(consent(false).await);
    let h = held(&app, &creds.uid).await;
    assert_eq!((h.segments, h.files.len()), (0, 0), "the withdrawal deleted it: {h:?}");
    let b = ok(upload(&app, &creds, "live", now - 2_000, stream(4, 1000)).await);
    assert_eq!(b["fragments"].as_u64(), Some(0), "and nothing new is kept: {b}");
}

#[tokio::test]
async fn switching_to_card_only_while_a_camera_streams_stops_storing_at_once() {
    let app = recording_app().await;
    // A camera that does not follow its settings (no firmware): it goes on uploading, and
    // the server must stop keeping its video by itself.
    let (token, creds, cam, _stop) = camera_with(&app, "switch@example.com", |_| {}).await;
    let segments = || segments_of(&app, &creds.uid);
    let deadline = tokio::time::Instant::now() + WAIT;
    while segments().await.len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "nothing recorded");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ok(put_settings(&app, &token, &creds.uid, &settings(RecordingMode::CardOnly)).await);
    let switched = real_now_ms();
    let sent = cam.status().sent_live_ms;
    cam.wait_for("5 s more of upload", WAIT, |s| s.sent_live_ms >= sent + 5_000)
        .await
        .expect("it keeps uploading");
    let after = segments().await;
    // The segment in progress at the switch was finished with what came before it (a
    // fragment in flight may end just after); none started later.
    let late: Vec<_> = after.iter().filter(|s| s.start.0 > switched + 500).collect();
    assert!(late.is_empty(), "stored after the switch: {late:?}");
    let journal = files_under(&app.data_dir().join("journal"));
    assert!(journal.is_empty(), "nothing being written: {journal:?}");

    // Back to the cloud: the next segments are stored again.
    ok(put_settings(&app, &token, &creds.uid, &settings(RecordingMode::Continuous)).await);
    let back = real_now_ms();
    let deadline = tokio::time::Instant::now() + WAIT;
    while !segments().await.iter().any(|s| s.start.0 >= back) {
        assert!(tokio::time::Instant::now() < deadline, "recording did not resume");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn an_events_only_camera_keeps_the_footage_around_its_events_and_loses_the_rest() {
    let app = recording_app().await;
    let token = app.register("events-only@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let dev = bind(&app, &token, &creds).await;
    ok(put_settings(&app, &token, &creds.uid, &settings(RecordingMode::Events)).await);
    let chosen = app.clock.now().0;
    app.clock.advance(Duration::from_secs(60));
    // 20 s of footage from 10 s after the choice, in 2-s segments.
    let start = chosen + 10_000;
    ok(upload(&app, &creds, "backfill", start, stream(20, 1000)).await);
    // Motion 10 s to 11 s into it: its clip (5 s of pre-roll, 2 s after) is 5 s .. 13 s.
    let (t0, t1) = (start + 10_000, start + 11_000);
    let motion = |phase: &str, at: i64| json!({"type": "motion", "phase": phase, "at_ms": at, "started_ms": t0, "zone": null});
    dev.publish_json("event", &motion("start", t0)).await.expect("start");
    dev.publish_json("event", &motion("end", t1)).await.expect("end");
    let store = app.running().services.store.clone();
    let range = (Timestamp(start), Timestamp(start + 20_000));
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let segs = store.segments(&creds.uid, 0, range.0, range.1, 100).await.expect("q");
        if segs.iter().filter(|s| s.protected_until.is_some()).count() == 5 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the event's footage: {segs:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rec = &app.running().services.recordings;
    // Within the hold an event may still claim footage: nothing goes yet.
    rec.sweep().await.expect("sweep");
    assert_eq!(segments_of(&app, &creds.uid).await.len(), 10);
    // Past the hold (120 s, the longest clip and the pre-roll), the rest goes.
    app.clock.advance(Duration::from_secs(120 + 600 + 5 + 60));
    rec.sweep().await.expect("sweep");
    let kept = store.segments(&creds.uid, 0, range.0, range.1, 100).await.expect("q");
    let starts: Vec<i64> = kept.iter().map(|s| (s.start.0 - start) / 1000).collect();
    assert_eq!(starts, vec![4, 6, 8, 10, 12], "the segments under 5 s .. 13 s");
    let t = timeline(&app, &token, &creds.uid).await;
    assert_eq!(t["spans"], json!([{"start_ms": start + 4_000, "end_ms": start + 14_000}]));
}

#[tokio::test]
async fn only_the_owner_chooses_the_recording_mode_or_deletes_recordings() {
    let app = recording_app().await;
    let owner = app.register("mode-owner@example.com", PW).await;
    let member = app.register("mode-member@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _mqtt = bind(&app, &owner, &creds).await;
    let ids = (account_id(&app, &owner).await, account_id(&app, &member).await);
    insert_grant(&app, &creds.uid, ids, CapabilitySet::grantable(), None).await;
    let uid = &creds.uid;
    let card = settings(RecordingMode::CardOnly);
    let code = |r: (u16, Value)| (r.0, r.1["code"].as_str().map(str::to_string));
    let refused = (403, Some("recording-mode-owner-only".to_string()));

    // A member with change-settings changes the rest, never the mode.
    assert_eq!(code(put_settings(&app, &member, uid, &card).await), refused);
    let quieter = Settings { volume: 5, ..Settings::default() };
    ok(put_settings(&app, &member, uid, &quieter).await);
    ok(put_settings(&app, &owner, uid, &card).await);
    let back = settings(RecordingMode::Continuous);
    assert_eq!(code(put_settings(&app, &member, uid, &back).await), refused);
    let d = ok(put_settings(&app, &member, uid, &Settings { volume: 9, ..card.clone() }).await);
    assert_eq!(d["desired"]["recording_mode"], "card-only");
    assert!(!d["capabilities"].as_array().expect("caps").contains(&json!("manage-recordings")));
    let (_, mine) = app.get_authed(&format!("/api/v1/devices/{uid}"), &owner).await;
    assert!(mine["capabilities"].as_array().expect("caps").contains(&json!("manage-recordings")));

    let now = app.clock.now().0;
    let path = format!("/api/v1/devices/{uid}/recordings?from_ms={}&to_ms={now}", now - 60_000);
    let del = |token: &str| app.send(app.http.delete(app.url(&path)).bearer_auth(token));
    assert_eq!(code(del(&member).await), (404, Some("device-not-found".to_string())));
    ok(del(&owner).await);
}

#[tokio::test]
async fn the_owner_deletes_a_range_and_the_timeline_no_longer_shows_it() {
    let app = recording_app().await;
    let token = app.register("delete-range@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _mqtt = bind(&app, &token, &creds).await;
    let start = app.clock.now().0 - 600_000;
    ok(upload(&app, &creds, "backfill", start, stream(10, 2000)).await);
    let t = timeline(&app, &token, &creds.uid).await;
    assert_eq!(t["spans"], json!([{"start_ms": start, "end_ms": start + 10_000}]));
    let blobs = app.blob_names().await.len();

    let delete = |from: i64, to: i64| {
        let path = format!("/api/v1/devices/{}/recordings?from_ms={from}&to_ms={to}", creds.uid);
        app.send(app.http.delete(app.url(&path)).bearer_auth(&token))
    };
    // 3 s .. 5 s lies in the segments 2-4 s and 4-6 s: both go whole.
    let b = ok(delete(start + 3_000, start + 5_000).await);
    assert_eq!(b["segments"].as_u64(), Some(2), "{b}");
    let t = timeline(&app, &token, &creds.uid).await;
    assert_eq!(
        t["spans"],
        json!([
            {"start_ms": start, "end_ms": start + 2_000},
            {"start_ms": start + 6_000, "end_ms": start + 10_000}
        ])
    );
    assert_eq!(app.blob_names().await.len(), blobs - 2, "their blobs are gone");

    for (from, to) in [(start, start), (start + 5_000, start), (start, start + 32 * 86_400_000)] {
        let (s, b) = delete(from, to).await;
        assert_eq!((s, b["code"].as_str()), (400, Some("invalid-range")), "{from}..{to}: {b}");
    }
    let path = format!("/api/v1/devices/{}/recordings?from_ms={start}", creds.uid);
    let (s, b) = app.send(app.http.delete(app.url(&path)).bearer_auth(&token)).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-range")), "no end: {b}");
    let t = timeline(&app, &token, &creds.uid).await;
    assert_eq!(t["spans"].as_array().map(Vec::len), Some(2), "nothing else went");
}
