//! The index benchmark: 30 days of one camera in the recording index.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use kankan_base::{BlobId, Clock as _, RealClock, Timestamp};
use kankan_db::{MediaInit, MediaKey, NewSegment};

use super::rounds::{Rounds, median};
use crate::{Config, build_services};

/// Timeline queries a round (their median is the round's figure; one query is well under a
/// millisecond, so one alone would be mostly timer and scheduling noise).
const SPANS_PER_ROUND: usize = 10;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(0.0)
}

/// Fills `days` of 4 s segments (with a one-minute gap every hour, as reconnections leave) and
/// reports index bytes per stream-minute and the timeline query time against a segment scan,
/// in `rounds_n` alternating rounds (the median ratio and its spread).
pub async fn index(dir: &Path, days: u32, rounds_n: usize) -> anyhow::Result<()> {
    let data = dir.join("index-data");
    let _ = std::fs::remove_dir_all(&data);
    let creds = super::ingest::setup(&data, 1).await?;
    let uid = creds.first().map(|c| c.0.clone()).unwrap_or_default();
    let cfg = Config { data_dir: data.clone(), ..Config::default() };
    let db = data.join("kankan.db");
    let size = || std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    let before = {
        let s = build_services(&cfg, Arc::new(RealClock)).await?;
        let device = s.store.device(&uid).await?.ok_or_else(|| anyhow::anyhow!("no device"))?;
        let owner = device.owner.ok_or_else(|| anyhow::anyhow!("not bound"))?;
        let now = RealClock.now();
        s.store
            .put_media_key(&MediaKey {
                uid: uid.clone(),
                account_id: owner,
                key_enc: vec![0; 61],
                created_at: now,
            })
            .await?;
        let init = s
            .store
            .put_media_init(&MediaInit {
                id: 0,
                uid: uid.clone(),
                digest: vec![1; 32],
                blob: BlobId::new(),
                codecs: "avc1.640028".into(),
                width: 1280,
                height: 720,
                created_at: now,
            })
            .await?;
        drop(s);
        let before = size();
        let s = build_services(&cfg, Arc::new(RealClock)).await?;
        let start = now.0 - i64::from(days) * 86_400_000;
        let (mut t, mut n) = (start, 0u64);
        println!("indexing {days} days of 4 s segments...");
        let w = Instant::now();
        while t < now.0 {
            if (t - start) % 3_600_000 < 4_000 && t > start {
                t += 60_000; // a reconnection gap every hour
            }
            let seg = NewSegment {
                uid: uid.clone(),
                stream: 0,
                init_id: init.id,
                start: Timestamp(t),
                duration_ms: 4_000,
                bytes: 1_000_000,
                frames: 100,
                blob: BlobId::new(),
            };
            s.store.insert_segment(&seg).await?;
            t += 4_000;
            n += 1;
        }
        println!("  {n} segments in {:.1} s", w.elapsed().as_secs_f64());
        before
    };
    // The pool is closed: the WAL is checkpointed into the database file.
    let after = size();
    let minutes = f64::from(days) * 1440.0;
    println!(
        "index: {:.0} bytes per stream-minute ({} bytes for {days} days)",
        (after - before) as f64 / minutes,
        after - before
    );

    let s = build_services(&cfg, Arc::new(RealClock)).await?;
    let now = RealClock.now();
    let (from, to) = (Timestamp(now.0 - i64::from(days) * 86_400_000), now);
    let timed = |label: &str, v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        println!("{label}: median {:.2} ms, p95 {:.2} ms", percentile(v, 0.5), percentile(v, 0.95));
    };
    // Alternating rounds: the timeline query (median of 10), then one scan of the segments.
    let mut rounds =
        Rounds::new(&format!("timeline of {days} days (ms)"), "spans query", "segment scan");
    let (mut spans_ms, mut scan_ms) = (Vec::new(), Vec::new());
    let (mut spans, mut segs) = (0, 0);
    for round in 1..=rounds_n.max(1) {
        let mut these = Vec::with_capacity(SPANS_PER_ROUND);
        for _ in 0..SPANS_PER_ROUND {
            let w = Instant::now();
            spans = s.store.spans(&uid, 0, from, to).await?.len();
            these.push(w.elapsed().as_secs_f64() * 1000.0);
        }
        let w = Instant::now();
        segs = s.store.segments(&uid, 0, from, to, u32::MAX).await?.len();
        let scan = w.elapsed().as_secs_f64() * 1000.0;
        let spans_median = median(&these).unwrap_or(0.0);
        println!(
            "round {round}: spans query {spans_median:.3} ms (median of {SPANS_PER_ROUND}), segment scan {scan:.1} ms"
        );
        rounds.push(spans_median, scan);
        spans_ms.extend(these);
        scan_ms.push(scan);
    }
    timed(&format!("timeline of {days} days ({spans} spans)"), &mut spans_ms);
    timed(&format!("reference: scanning the {segs} segments"), &mut scan_ms);
    print!("{}", rounds.report());
    Ok(())
}
