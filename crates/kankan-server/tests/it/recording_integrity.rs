//! Stored footage that was cut short or altered is refused with a stable code, never played
//! as shorter footage.

use kankan_testkit::{TestApp, files_under};

use crate::devices::{PW, bind, provision};
use crate::recording::{get_bytes, link, recording_app, timeline};
use crate::recording_input::{stream, upload};

/// The size of a sealed segment's trailer record: its head (12), the record count and bytes
/// (12) and the tag (16).
const TRAILER: u64 = 40;

fn now(app: &TestApp) -> i64 {
    kankan_base::Clock::now(&app.clock).0
}

// Fails without the fix: a segment cut at a record boundary (its last records gone) played
// as shorter footage, with nothing to tell it from a whole one.
#[tokio::test]
async fn a_segment_cut_short_on_disk_is_refused_as_damaged_not_played_short() {
    let app = recording_app().await;
    let token = app.register("cut@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _mqtt = bind(&app, &token, &creds).await;
    let (s, b) = upload(&app, &creds, "backfill", now(&app) - 60_000, stream(4, 300)).await;
    assert_eq!(s, 200, "{b}");
    let t = timeline(&app, &token, &creds.uid).await;
    let span = &t["spans"][0];
    let (from, to) =
        (span["start_ms"].as_i64().expect("start"), span["end_ms"].as_i64().expect("end"));
    let (lt, base) = link(&app, &token, &creds.uid).await;
    let (s, playlist, _) =
        get_bytes(&app, &format!("{base}/playlist.m3u8?from={from}&to={to}&t={lt}")).await;
    assert_eq!(s, 200);
    let playlist = String::from_utf8(playlist).expect("text");
    let segments: Vec<&str> =
        playlist.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    assert!(!segments.is_empty(), "{playlist}");
    for uri in &segments {
        assert_eq!(get_bytes(&app, &format!("{base}/{uri}")).await.0, 200, "whole: {uri}");
    }
    // Every stored segment loses its last record, at a record boundary.
    let mut cut = 0;
    for f in files_under(&app.data_dir().join("blobs")) {
        let bytes = std::fs::read(&f).expect("read");
        if bytes.starts_with(b"KKS2") {
            let file = std::fs::OpenOptions::new().write(true).open(&f).expect("open");
            file.set_len(bytes.len() as u64 - TRAILER).expect("cut");
            cut += 1;
        }
    }
    assert!(cut >= 1, "segments are stored as KKS2 files");
    for uri in &segments {
        let (s, body, _) = get_bytes(&app, &format!("{base}/{uri}")).await;
        let body: serde_json::Value = serde_json::from_slice(&body).expect("a JSON error");
        assert_eq!((s, body["code"].as_str()), (500, Some("recording-damaged")), "{uri}");
    }
    let (s, body, _) =
        get_bytes(&app, &format!("{base}/export.mp4?from={from}&to={to}&t={lt}")).await;
    let body: serde_json::Value = serde_json::from_slice(&body).expect("a JSON error");
    assert_eq!((s, body["code"].as_str()), (500, Some("recording-damaged")));
}
