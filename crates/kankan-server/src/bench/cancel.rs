//! The cancel benchmark: an account with `days` of recordings of `cameras` cameras (4 s
//! segments, as the ingest cuts them: index rows through `insert_segment`, one sealed-size
//! object each in the blob store) is deleted: the crypto-shred step, then the purge
//! (`Lifecycle::purge`: devices unbound, objects deleted, rows deleted), against deleting the
//! same segments one by one (`evict_segments` one segment at a time, its object deleted).
//! Time and peak resident memory of each step (the peak is reset before each through
//! `/proc/self/clear_refs`). Both ways run in alternating rounds (`rounds`), each on a freshly
//! filled account; the report gives the median ratios and their spread.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use kankan_base::{AccountId, BlobId, Clock as _, RealClock, Timestamp};
use kankan_db::{
    BlobStore, DeletionReason, Device, DeviceKind, LocalBlobStore, MediaInit, MediaKey, NewSegment,
    RtspCamera,
};

use super::rounds::Rounds;
use crate::{Config, Services, build_services};

const SEGMENT_MS: i64 = 4_000;
/// The size of each synthesized object: what matters to deleting one is the file, not its
/// length (a real 4 s segment is about 500 KB at 1 Mb/s).
const OBJECT_BYTES: usize = 4_096;

fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// An account with `days` of `cameras` cameras' segments; answers it and the segment count.
async fn fill(
    s: &Services,
    data: &Path,
    days: u32,
    cameras: u32,
) -> anyhow::Result<(AccountId, u64)> {
    let account =
        s.accounts.provision_account("bench-cancel@example.com", "plum-garden-kettle-42").await?;
    let blobs = LocalBlobStore::new(data.join("blobs"))?;
    let now = RealClock.now();
    let start = now.0 - i64::from(days) * 86_400_000;
    let mut n = 0u64;
    let object = vec![7u8; OBJECT_BYTES];
    for c in 0..cameras {
        let uid = format!("KKBENCH{c:06}");
        let device = Device {
            uid: uid.clone(),
            model: "RTSP".into(),
            kind: DeviceKind::Camera,
            secret_mac: vec![0; 32],
            pairing_key_enc: vec![0; 60],
            batch: "bench".into(),
            provisioned_at: now,
            owner: Some(account),
            name_enc: None,
            bound_at: Some(now),
        };
        let camera = RtspCamera {
            uid: uid.clone(),
            owner: account,
            source_enc: vec![0; 64],
            created_at: now,
        };
        s.store.insert_rtsp_camera(&device, &camera, 100).await?;
        let key = MediaKey {
            uid: uid.clone(),
            account_id: account,
            key_enc: vec![0; 61],
            created_at: now,
        };
        s.store.put_media_key(&key).await?;
        let init = MediaInit {
            id: 0,
            uid: uid.clone(),
            digest: vec![1; 32],
            blob: BlobId::new(),
            codecs: "avc1.640028".into(),
            width: 1280,
            height: 720,
            created_at: now,
        };
        let init = s.store.put_media_init(&init).await?;
        let mut t = start;
        while t < now.0 {
            let blob = BlobId::new();
            // Written as the blob store names its objects, without a sync each: fast to set up.
            std::fs::write(data.join("blobs").join(format!("{blob}.blob")), &object)?;
            let seg = NewSegment {
                uid: uid.clone(),
                stream: 0,
                init_id: init.id,
                start: Timestamp(t),
                duration_ms: SEGMENT_MS as u32,
                bytes: OBJECT_BYTES as u64,
                frames: 60,
                blob,
            };
            s.store.insert_segment(&seg).await?;
            t += SEGMENT_MS;
            n += 1;
        }
        blobs.put(init.blob, object.clone()).await?;
    }
    Ok((account, n))
}

fn objects(data: &Path) -> usize {
    std::fs::read_dir(data.join("blobs")).map(|d| d.count()).unwrap_or(0)
}

/// What deleting the account the Kankan way took: the segment count, then time (s) and peak
/// RSS (MiB) of the shred and of the purge.
struct KankanSide {
    segments: u64,
    shred: (f64, f64),
    purge: (f64, f64),
}

/// Fills an account and deletes it the way a cancellation does: shred, then purge.
async fn kankan_side(dir: &Path, days: u32, cameras: u32) -> anyhow::Result<KankanSide> {
    let data = dir.join("cancel-data");
    let _ = std::fs::remove_dir_all(&data);
    let cfg = Config { data_dir: data.clone(), ..Config::default() };
    let s = build_services(&cfg, Arc::new(RealClock)).await?;
    println!("filling {days} days of {cameras} cameras (4 s segments)...");
    let w = Instant::now();
    let (account, n) = fill(&s, &data, days, cameras).await?;
    println!("  {n} segments and objects in {:.1} s", w.elapsed().as_secs_f64());
    reset_peak();
    let w = Instant::now();
    let shredded = s.lifecycle.shred(account, DeletionReason::Operator).await?;
    let shred = (w.elapsed().as_secs_f64(), peak_mib());
    anyhow::ensure!(shredded.is_some(), "the account was shredded");
    reset_peak();
    let w = Instant::now();
    for p in s.accounts.pending_purges().await? {
        s.lifecycle.purge(&p).await?;
    }
    let purge = (w.elapsed().as_secs_f64(), peak_mib());
    anyhow::ensure!(objects(&data) == 0, "every object deleted");
    anyhow::ensure!(s.store.account(account).await?.is_none(), "the account row deleted");
    drop(s);
    let _ = std::fs::remove_dir_all(&data);
    Ok(KankanSide { segments: n, shred, purge })
}

/// The reference: the same account filled again and its segments deleted one by one; time (s)
/// and peak RSS (MiB).
async fn reference_side(dir: &Path, days: u32, cameras: u32) -> anyhow::Result<(f64, f64)> {
    let data = dir.join("cancel-data-ref");
    let _ = std::fs::remove_dir_all(&data);
    let cfg = Config { data_dir: data.clone(), ..Config::default() };
    let s = build_services(&cfg, Arc::new(RealClock)).await?;
    let (account, m) = fill(&s, &data, days, cameras).await?;
    let blobs = LocalBlobStore::new(data.join("blobs"))?;
    reset_peak();
    let w = Instant::now();
    for _ in 0..m {
        s.store.evict_segments(account, OBJECT_BYTES as u64, RealClock.now()).await?;
        let trashed = s.store.trashed_blobs(16).await?;
        for b in &trashed {
            blobs.delete(*b).await?;
        }
        s.store.forget_trash(&trashed).await?;
    }
    let one = (w.elapsed().as_secs_f64(), peak_mib());
    anyhow::ensure!(objects(&data) == cameras as usize, "only the init segments are left");
    drop(s);
    let _ = std::fs::remove_dir_all(&data);
    Ok(one)
}

/// Runs both ways in `rounds_n` alternating rounds (Kankan, then the reference), prints each
/// round's table, then the median ratios of the purge against the one-by-one deletion.
pub async fn cancel(dir: &Path, days: u32, cameras: u32, rounds_n: usize) -> anyhow::Result<()> {
    let mut time = Rounds::new("deleting the recordings (s)", "purge", "one by one");
    let mut peak = Rounds::new("peak RSS while deleting (MiB)", "purge", "one by one");
    for round in 1..=rounds_n.max(1) {
        let k = kankan_side(dir, days, cameras).await?;
        let (one_s, one_peak) = reference_side(dir, days, cameras).await?;
        let (n, (shred_s, shred_peak), (purge_s, purge_peak)) = (k.segments, k.shred, k.purge);
        println!();
        println!(
            "| Round {round}: step ({n} segments of {cameras} cameras, {days} days) | Time | Peak RSS |"
        );
        println!("|---|---|---|");
        println!(
            "| crypto-shred (key destroyed, receipt written) | {:.1} ms | {shred_peak:.0} MiB |",
            shred_s * 1000.0
        );
        println!(
            "| purge (devices unbound, objects and rows deleted) | {purge_s:.1} s | {purge_peak:.0} MiB |"
        );
        println!(
            "| reference: the same segments deleted one by one | {one_s:.1} s | {one_peak:.0} MiB |"
        );
        time.push(purge_s, one_s);
        peak.push(purge_peak, one_peak);
    }
    println!();
    print!("{}{}", time.report(), peak.report());
    Ok(())
}
