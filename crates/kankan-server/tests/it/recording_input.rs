//! Ingest input and access: hostile or broken uploads get a clear error and keep what came
//! before them; media links are bound to a device and an account, expire, and obey the
//! device policy on every use. Streams here are synthetic fMP4 (written with kankan-media),
//! uploaded at once.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kankan_media::{VideoParams, WriteSample, write_fragment, write_init};
use kankan_testkit::{TestApp, files_under as files};
use serde_json::Value;

use crate::devices::{Creds, PW, bind, provision};
use crate::recording::{WAIT, get_bytes, link, recorded_ms, recording_app, timeline};

/// An SPS/PPS pair that parses (the server never decodes ingest).
fn params() -> VideoParams {
    VideoParams {
        width: 320,
        height: 180,
        timescale: 90_000,
        sps: vec![0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80, 0xbf, 0xe5],
        pps: vec![0x68, 0xce, 0x3c, 0x80],
    }
}

/// One 1 s fragment of 15 samples, `sample_bytes` each, starting with a keyframe.
pub fn fragment(seq: u32, sample_bytes: usize) -> Vec<u8> {
    let data = vec![0u8; sample_bytes];
    let samples: Vec<WriteSample<'_>> = (0..15)
        .map(|i| WriteSample { data: &data, duration: 6_000, keyframe: i == 0, cts_offset: 0 })
        .collect();
    write_fragment(seq, 1, u64::from(seq - 1) * 90_000, &samples)
}

/// An init segment and `n` one-second fragments.
pub fn stream(n: u32, sample_bytes: usize) -> Vec<u8> {
    let mut s = write_init(&params());
    for seq in 1..=n {
        s.extend(fragment(seq, sample_bytes));
    }
    s
}

pub fn basic(creds: &Creds) -> String {
    format!("Basic {}", STANDARD.encode(format!("{}:{}", creds.uid, creds.secret)))
}

/// Uploads `body` to `kind` (`live` or `backfill`) with media time 0 at `epoch_ms`.
pub async fn upload(
    app: &TestApp,
    creds: &Creds,
    kind: &str,
    epoch_ms: i64,
    body: Vec<u8>,
) -> (u16, Value) {
    let url = app.url(&format!("/ingest/v1/{}/{kind}", creds.uid));
    let req = if kind == "live" { app.http.post(url) } else { app.http.put(url) };
    app.send(
        req.header("authorization", basic(creds))
            .header("kankan-media-epoch", epoch_ms.to_string())
            .body(body),
    )
    .await
}

fn now(app: &TestApp) -> i64 {
    kankan_base::Clock::now(&app.clock).0
}

async fn bound_camera(app: &TestApp, who: &str) -> (String, Creds) {
    let token = app.register(who, PW).await;
    let creds = provision(app, "KK-C1").await;
    let _mqtt = bind(app, &token, &creds).await;
    (token, creds)
}

#[tokio::test]
async fn a_good_upload_is_recorded_and_a_repeated_backfill_is_skipped() {
    let app = recording_app().await;
    let (token, creds) = bound_camera(&app, "good@example.com").await;
    let epoch = now(&app) - 60_000;
    let (s, b) = upload(&app, &creds, "backfill", epoch, stream(6, 200)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!((b["fragments"].as_u64(), b["segments"].as_u64()), (Some(6), Some(3)));
    assert_eq!(recorded_ms(&timeline(&app, &token, &creds.uid).await), 6_000);
    let (s, b) = upload(&app, &creds, "backfill", epoch, stream(8, 200)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!((b["fragments"].as_u64(), b["skipped"].as_u64()), (Some(2), Some(6)), "{b}");
    let t = timeline(&app, &token, &creds.uid).await;
    assert_eq!(recorded_ms(&t), 8_000, "{t}");
    assert_eq!(t["spans"].as_array().map(Vec::len), Some(1), "{t}");
}

#[tokio::test]
async fn footage_is_stored_only_encrypted() {
    let app = recording_app().await;
    let (_token, creds) = bound_camera(&app, "sealed@example.com").await;
    let (s, b) = upload(&app, &creds, "backfill", now(&app) - 60_000, stream(4, 300)).await;
    assert_eq!(s, 200, "{b}");
    let journal = files(&app.data_dir().join("journal")).into_iter();
    let stored: Vec<_> = app
        .blobs()
        .await
        .into_iter()
        .chain(journal.map(|f| (f.display().to_string(), std::fs::read(&f).expect("read"))))
        .collect();
    let names: Vec<_> = stored.iter().map(|(n, _)| n).collect();
    assert_eq!(stored.len(), 3, "an init and two segments: {names:?}");
    for (f, bytes) in stored {
        for marker in [&b"ftyp"[..], b"moov", b"avcC", b"moof", b"mdat"] {
            assert!(
                !bytes.windows(4).any(|w| w == marker),
                "{f} holds {:?} in clear",
                String::from_utf8_lossy(marker)
            );
        }
    }
}

#[tokio::test]
async fn wrong_credentials_and_unbound_devices_cannot_upload() {
    let app = recording_app().await;
    let (token, creds) = bound_camera(&app, "owner@example.com").await;
    let wrong = Creds { secret: "not-the-secret".into(), ..creds };
    let r = app
        .http
        .post(app.url(&format!("/ingest/v1/{}/live", wrong.uid)))
        .header("authorization", basic(&wrong))
        .body(stream(2, 100))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_some(), "ffmpeg needs the Basic challenge");
    let r = app
        .http
        .post(app.url(&format!("/ingest/v1/{}/live", wrong.uid)))
        .body(stream(2, 100))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 401);
    let unbound = provision(&app, "KK-C1").await;
    let (s, b) = upload(&app, &unbound, "live", now(&app), stream(2, 100)).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("device-not-bound")), "{b}");
    assert_eq!(recorded_ms(&timeline(&app, &token, &wrong.uid).await), 0);
}

/// Each broken upload is refused with its code; the fragments before the break stay.
#[tokio::test]
async fn broken_uploads_are_refused_with_a_code_and_keep_what_came_before() {
    let app = recording_app().await;
    let (token, creds) = bound_camera(&app, "broken@example.com").await;
    let good = stream(2, 100);
    let mut lying = fragment(3, 100);
    // The trun's data offset (after 'trun', version/flags and sample count) now points
    // past the mdat.
    let trun = lying.windows(4).position(|w| w == b"trun").expect("trun") + 12;
    lying[trun..trun + 4].copy_from_slice(&60_000u32.to_be_bytes());
    let regressing = fragment(1, 100);
    let half = fragment(3, 100);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "garbage",
            [good.clone(), b"\x00\x00\x00\x10junkjunkjunkjunk".to_vec()].concat(),
            "media-bad-box",
        ),
        ("truncated", [good.clone(), half[..half.len() / 2].to_vec()].concat(), "media-truncated"),
        ("lying trun", [good.clone(), lying].concat(), "media-bad-sample-table"),
        (
            "huge box",
            [
                good.clone(),
                vec![0, 0, 0, 1],
                b"moof".to_vec(),
                1u64.wrapping_shl(40).to_be_bytes().to_vec(),
            ]
            .concat(),
            "media-too-large",
        ),
        ("time going back", [good.clone(), regressing].concat(), "media-timestamp-regression"),
    ];
    let mut epoch = now(&app) - 600_000;
    let mut expected = 0;
    for (what, body, code) in cases {
        let (s, b) = upload(&app, &creds, "backfill", epoch, body).await;
        assert_eq!((s, b["code"].as_str()), (400, Some(code)), "{what}: {b}");
        expected += 2_000;
        let t = timeline(&app, &token, &creds.uid).await;
        assert_eq!(recorded_ms(&t), expected, "{what}: the two good fragments are kept: {t}");
        epoch += 60_000;
    }
    let (s, b) = upload(&app, &creds, "live", now(&app) + 3_600_000, stream(2, 100)).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("media-bad-time")), "{b}");
    let (s, b) =
        upload(&app, &creds, "backfill", now(&app), b"\x00\x00\x00\x08moov".to_vec()).await;
    assert_eq!(s, 400, "{b}");
    let r = app
        .http
        .put(app.url(&format!("/ingest/v1/{}/backfill", creds.uid)))
        .header("authorization", basic(&creds))
        .body(stream(1, 100))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400, "a backfill must say when it was recorded");
}

#[tokio::test]
async fn an_empty_upload_is_refused_with_a_code_and_records_nothing() {
    // fails without the fix: an empty live upload answered 200 with nothing recorded.
    let app = recording_app().await;
    let (token, creds) = bound_camera(&app, "empty@example.com").await;
    for kind in ["live", "backfill"] {
        let (s, b) = upload(&app, &creds, kind, now(&app) - 60_000, Vec::new()).await;
        assert_eq!((s, b["code"].as_str()), (400, Some("media-empty")), "{kind}: {b}");
    }
    assert_eq!(recorded_ms(&timeline(&app, &token, &creds.uid).await), 0);
    assert!(files(&app.data_dir().join("journal")).is_empty(), "no journal left behind");
    assert!(app.blob_names().await.is_empty(), "no blob either");
}

#[tokio::test]
async fn media_links_are_bound_to_the_device_expire_and_end_with_the_binding() {
    let app = recording_app().await;
    let (token, creds) = bound_camera(&app, "links@example.com").await;
    let (other_token, other) = bound_camera(&app, "other@example.com").await;
    let from = now(&app) - 60_000;
    for c in [&creds, &other] {
        let (s, b) = upload(&app, c, "backfill", from, stream(4, 200)).await;
        assert_eq!(s, 200, "{b}");
    }
    let range = format!("from={from}&to={}", from + 4_000);
    let (lt, base) = link(&app, &token, &creds.uid).await;
    let (s, _, _) = get_bytes(&app, &format!("{base}/playlist.m3u8?{range}&t={lt}")).await;
    assert_eq!(s, 200);
    // The same token for another device, a tampered token, no token.
    let (s, _, _) =
        get_bytes(&app, &format!("/media/v1/{}/playlist.m3u8?{range}&t={lt}", other.uid)).await;
    assert_eq!(s, 403, "a link opens only the device it was made for");
    let (s, _, _) = get_bytes(&app, &format!("{base}/playlist.m3u8?{range}&t={lt}x")).await;
    assert_eq!(s, 403);
    let (s, _, _) = get_bytes(&app, &format!("{base}/playlist.m3u8?{range}")).await;
    assert_eq!(s, 400);
    // A stranger can neither see the timeline nor get a link.
    let (s, b) = app
        .get_authed(&format!("/api/v1/devices/{}/recordings/timeline", creds.uid), &other_token)
        .await;
    assert_eq!((s, b["code"].as_str()), (404, Some("device-not-found")));
    let (s, _) = app
        .send(
            app.http
                .post(app.url(&format!("/api/v1/devices/{}/recordings/link", creds.uid)))
                .json(&serde_json::json!({"purpose": "playback"}))
                .bearer_auth(&other_token),
        )
        .await;
    assert_eq!(s, 404);
    // Segment ids of another device are not reachable through this device's link.
    let (olt, obase) = link(&app, &other_token, &other.uid).await;
    let list = String::from_utf8(
        get_bytes(&app, &format!("{obase}/playlist.m3u8?{range}&t={olt}")).await.1,
    )
    .expect("text");
    let seg = list.lines().find(|l| l.starts_with("seg/")).expect("a segment");
    let id = seg.trim_start_matches("seg/").split('?').next().expect("id.m4s");
    let (s, _, _) = get_bytes(&app, &format!("{base}/seg/{id}?t={lt}")).await;
    assert_eq!(s, 404, "another device's segment through this device's link");
    // Expiry.
    app.clock.advance(Duration::from_secs(16 * 60));
    let (s, _, _) = get_bytes(&app, &format!("{base}/playlist.m3u8?{range}&t={lt}")).await;
    assert_eq!(s, 403, "links expire after 15 minutes");
    // Unbinding ends every link and deletes the footage.
    let (lt, base) = link(&app, &token, &creds.uid).await;
    let blobs_before = app.blob_names().await.len();
    let (s, _) = app
        .send(
            app.http.delete(app.url(&format!("/api/v1/devices/{}", creds.uid))).bearer_auth(&token),
        )
        .await;
    assert_eq!(s, 204);
    let (s, _, _) = get_bytes(&app, &format!("{base}/playlist.m3u8?{range}&t={lt}")).await;
    assert_eq!(s, 404, "the device is no longer this account's");
    let blobs_after = app.blob_names().await.len();
    assert_eq!(
        blobs_before - blobs_after,
        3,
        "the unbound camera's init and 2 segments are deleted"
    );
    assert!(
        app.running().services.store.media_key(&creds.uid).await.expect("store").is_none(),
        "its data key is gone"
    );
    // The other camera's footage is untouched.
    assert_eq!(recorded_ms(&timeline(&app, &other_token, &other.uid).await), 4_000);
}

#[tokio::test]
async fn a_full_quota_evicts_the_oldest_unprotected_footage_and_alerts_the_user() {
    let app = TestApp::spawn_with(|c| {
        c.recording.segment_secs = 2;
        c.recording.quota_mib = 1;
    })
    .await;
    let (token, creds) = bound_camera(&app, "quota@example.com").await;
    let start = now(&app) - 3_600_000;
    // 10 s at ~150 KB a second: about 1.5 MB against a 1 MiB quota.
    let (s, b) = upload(&app, &creds, "backfill", start, stream(10, 10_000)).await;
    assert_eq!(s, 200, "{b}");
    let store = &app.running().services.store;
    let kept = store
        .protect_segments(
            &creds.uid,
            kankan_base::Timestamp(start),
            kankan_base::Timestamp(start + 2_000),
            kankan_base::Timestamp(now(&app) + 86_400_000),
        )
        .await
        .expect("protect");
    assert_eq!(kept, 1, "an event keeps the first segment");
    let (_, before) = app.get_authed("/api/v1/me/storage", &token).await;
    assert!(before["quota_alert_at"].is_null());
    let report = app.running().services.recordings.sweep().await.expect("sweep");
    assert!(report.evicted.segments >= 1, "{report:?}");
    let (_, after) = app.get_authed("/api/v1/me/storage", &token).await;
    assert!(after["used_bytes"].as_u64() <= after["quota_bytes"].as_u64(), "{after}");
    assert!(after["quota_alert_at"].is_string(), "the user sees the alert: {after}");
    let t = timeline(&app, &token, &creds.uid).await;
    let spans = t["spans"].as_array().expect("spans");
    assert_eq!(
        spans[0]["start_ms"].as_i64(),
        Some(start),
        "the protected first segment stays: {t}"
    );
    assert!(spans.len() == 2, "then a gap where the oldest unprotected footage was: {t}");
    assert_eq!(spans[1]["end_ms"].as_i64(), Some(start + 10_000), "the newest footage stays: {t}");
}

#[tokio::test]
async fn footage_older_than_the_retention_period_is_deleted_with_its_objects() {
    let app = recording_app().await;
    let (token, creds) = bound_camera(&app, "retention@example.com").await;
    let (s, b) = upload(&app, &creds, "backfill", now(&app) - 3_600_000, stream(4, 200)).await;
    assert_eq!(s, 200, "{b}");
    let before = app.blob_names().await.len();
    app.clock.advance(Duration::from_secs(7 * 86_400 - 2 * 3_600));
    // The worker's sweep at this time is over before the clock moves on (a step that began
    // before the next advance would end after it, and count as the later sweep).
    let t = kankan_base::Clock::now(&app.clock);
    let swept = app.running().workers.wait_for("retention", |s| s.last_run_at >= Some(t));
    tokio::time::timeout(WAIT, swept).await.expect("the retention worker swept");
    let r = app.running().services.recordings.sweep().await.expect("sweep");
    assert_eq!(r.expired.segments, 0, "still inside 7 days");
    // Past 7 days, the retention worker sweeps them away on the simulated clock.
    app.clock.advance(Duration::from_secs(2 * 3_600));
    let t = kankan_base::Clock::now(&app.clock);
    let swept = app.running().workers.wait_for("retention", |s| s.last_run_at >= Some(t));
    tokio::time::timeout(WAIT, swept).await.expect("the retention worker swept");
    assert_eq!(app.blob_names().await.len(), before - 2, "the 2 segments' objects are deleted");
    let (_, storage) = app.get_authed("/api/v1/me/storage", &token).await;
    assert_eq!(storage["used_bytes"].as_u64(), Some(0), "{storage}");
    let now_ms = now(&app);
    let (s, t) = app
        .get_authed(
            &format!(
                "/api/v1/devices/{}/recordings/timeline?from={}&to={now_ms}",
                creds.uid,
                now_ms - 8 * 86_400_000
            ),
            &token,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(t["spans"].as_array().map(Vec::len), Some(0), "{t}");
}
