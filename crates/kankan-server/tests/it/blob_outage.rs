//! An object store out of reach stops no recording and loses no footage: the upload goes
//! on, each sealed segment stays in the node's journal, and the node's `sealed-retry` worker
//! stores it once the store is back.

use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use kankan_blobs::BlobsConfig;
use kankan_blobs::testing::{Gate, S3Server};
use kankan_testkit::{TestApp, files_under};

use crate::devices::{PW, bind, provision};
use crate::recording::{WAIT, recorded_ms, timeline};
use crate::recording_input::{stream, upload};

fn sealed_in_journal(app: &TestApp) -> Vec<std::path::PathBuf> {
    files_under(&app.data_dir().join("journal"))
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "seal"))
        .collect()
}

#[tokio::test]
async fn footage_the_object_store_refused_is_stored_by_the_nodes_worker_once_it_is_back() {
    let s3 = S3Server::start().await.expect("an S3 server");
    let bucket = s3.bucket("outage").await.expect("a bucket");
    let gate = Gate::start(s3.endpoint(), 0).await.expect("a gate");
    let blobs = BlobsConfig { endpoint: Some(gate.url.clone()), max_retries: 0, ..bucket.clone() };
    let app = TestApp::spawn_with(|c| {
        c.recording.segment_secs = 2;
        c.recording.max_clock_skew_secs = 3600;
        c.blobs = blobs;
    })
    .await;
    let token = app.register("outage@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _mqtt = bind(&app, &token, &creds).await;
    let start = kankan_base::Clock::now(&app.clock).0 - 600_000;
    // The store answers while the camera's init segment goes up, then refuses.
    let (s, b) = upload(&app, &creds, "backfill", start, stream(2, 300)).await;
    assert_eq!(s, 200, "{b}");
    let stored = s3.keys(&bucket).await.expect("list").len();
    assert_eq!(stored, 2, "the init and the first segment");
    gate.down.store(true, Ordering::SeqCst);
    let (s, b) = upload(&app, &creds, "backfill", start, stream(6, 300)).await;
    assert_eq!(s, 200, "the upload goes on while the store refuses: {b}");
    assert_eq!(b["segments"].as_u64(), Some(2), "{b}");
    assert_eq!(s3.keys(&bucket).await.expect("list").len(), stored, "nothing reached the store");
    let kept = sealed_in_journal(&app);
    assert_eq!(kept.len(), 2, "both new segments are kept sealed in the journal");
    assert_eq!(recorded_ms(&timeline(&app, &token, &creds.uid).await), 6_000, "and indexed");

    // The store is back; the files are older than the worker's minute (file times are the
    // real clock's), and the worker's period passes on the simulated one.
    gate.down.store(false, Ordering::SeqCst);
    let old = SystemTime::now() - Duration::from_secs(120);
    for f in &kept {
        std::fs::File::options()
            .write(true)
            .open(f)
            .and_then(|h| h.set_modified(old))
            .expect("mtime");
    }
    let sweep = Duration::from_secs(u64::from(app.config.recording.sweep_secs));
    app.clock.advance(sweep);
    let t = kankan_base::Clock::now(&app.clock);
    let ran = app.running().workers.wait_for("sealed-retry", |s| s.last_run_at >= Some(t));
    tokio::time::timeout(WAIT, ran).await.expect("the sealed-retry worker ran");
    assert!(sealed_in_journal(&app).is_empty(), "nothing left in the journal");
    assert_eq!(s3.keys(&bucket).await.expect("list").len(), stored + 2, "both are stored now");
    assert_eq!(recorded_ms(&timeline(&app, &token, &creds.uid).await), 6_000);
}
