//! The ingest benchmark: Kankan against `ffmpeg -c copy -f segment`, same streams, same box.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use bytes::Bytes;
use kankan_base::{Clock as _, RealClock, Timestamp};
use kankan_db::BindToken;
use kankan_media::{Limits, StreamItem, StreamParser};
use tokio::io::AsyncWriteExt as _;

use super::rounds::Rounds;
use super::{Child, cpu_secs, rss_mib};
use crate::{Config, build_services};

/// What to run.
#[derive(Debug, Clone)]
pub struct IngestBench {
    pub streams: usize,
    /// ffmpeg processes for the reference (0: skip it).
    pub reference: usize,
    pub secs: u64,
    pub warmup_secs: u64,
    /// Alternating rounds, each a Kankan window then a reference window.
    pub rounds: usize,
    pub bitrate: u32,
    /// Sync every fragment (the crash guarantee) or not.
    pub checkpoint: bool,
    /// Server processes sharing the database and blob store; the streams go round-robin.
    pub nodes: usize,
    pub work_dir: PathBuf,
}

/// The test content: 2 Mb/s 1280x720 H.264 from ffmpeg's test source, one fragment (GOP) a
/// second, as a live camera would send it.
async fn make_content(dir: &Path, secs: u64, bitrate: u32) -> anyhow::Result<(Bytes, Vec<Bytes>)> {
    let file = dir.join("content.mp4");
    let fragmented = ["-f", "mp4", "-movflags", "frag_keyframe+empty_moov+default_base_moof"];
    super::encode_test_video(&file, secs, bitrate, &fragmented).await?;
    let bytes = std::fs::read(&file)?;
    let mut parser = StreamParser::new(Limits::default());
    let (mut init, mut frags) = (None, Vec::new());
    for item in parser.push(&bytes)? {
        match item {
            StreamItem::Init(i) => init = Some(i.bytes),
            StreamItem::Fragment(f) => frags.push(f.bytes),
        }
    }
    Ok((init.context("no init segment")?, frags))
}

/// The account the benchmarks bind their devices to.
pub(super) const BENCH_ACCOUNT: &str = "bench@kankan.example";

/// A fresh data directory with `n` devices bound to one account; their credentials.
pub(super) async fn setup(data: &Path, n: usize) -> anyhow::Result<Vec<(String, String)>> {
    Ok(setup_account(data, n).await?.1)
}

/// [`setup`], also giving the account's (random) password.
pub(super) async fn setup_account(
    data: &Path,
    n: usize,
) -> anyhow::Result<(String, Vec<(String, String)>)> {
    // The database the server under test will use: the data dir's SQLite file, or the one
    // `KANKAN__DATABASE__URL` names (scripts/bench-pg), which the server child inherits.
    let database =
        crate::config::DatabaseConfig { url: std::env::var("KANKAN__DATABASE__URL").ok() };
    let cfg = Config { data_dir: data.to_path_buf(), database, ..Config::default() };
    let s = build_services(&cfg, Arc::new(RealClock)).await?;
    let (password, _) = kankan_crypto::random_token()?;
    let account = s.accounts.provision_account(BENCH_ACCOUNT, &password).await?;
    if n == 0 {
        return Ok((password, Vec::new()));
    }
    let count = u32::try_from(n)?;
    let made = s.devices.provision("KK-C1", count, "bench").await?;
    let now = RealClock.now();
    let mut creds = Vec::with_capacity(n);
    for d in made {
        let (_, hash) = kankan_crypto::random_token()?;
        let token = BindToken {
            token_hash: hash.0,
            account_id: account,
            uid: d.uid.clone(),
            created_at: now,
            expires_at: Timestamp(now.0 + 600_000),
        };
        s.store.insert_bind_token(&token).await?;
        s.store.claim_device(&hash.0, &d.uid, now).await?;
        creds.push((d.uid, d.secret));
    }
    Ok((password, creds))
}

/// Sends `init` then one fragment a second (staggered by `offset`) until `until`.
async fn stream_kankan(
    http: reqwest::Client,
    url: String,
    uid: String,
    secret: String,
    init: Bytes,
    frags: Arc<Vec<Bytes>>,
    start: tokio::time::Instant,
) -> anyhow::Result<u64> {
    let epoch = RealClock.now().0;
    let body = futures_util::stream::unfold((0usize, Some(init)), move |(i, init)| {
        let frags = frags.clone();
        async move {
            if let Some(init) = init {
                return Some((Ok::<Bytes, std::io::Error>(init), (0, None)));
            }
            let f = frags.get(i)?.clone();
            tokio::time::sleep_until(start + Duration::from_secs(i as u64)).await;
            Some((Ok(f), (i + 1, None)))
        }
    });
    let r = http
        .post(url)
        .basic_auth(uid, Some(secret))
        .header("kankan-media-epoch", epoch.to_string())
        .body(reqwest::Body::wrap_stream(body))
        .send()
        .await?;
    let status = r.status();
    let v: serde_json::Value = r.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!("ingest answered {status}: {v}");
    }
    Ok(v["fragments"].as_u64().unwrap_or(0))
}

/// One `ffmpeg -c copy -f segment` fed the same stream on stdin at the same pace.
async fn stream_ffmpeg(
    out: PathBuf,
    init: Bytes,
    frags: Arc<Vec<Bytes>>,
    start: tokio::time::Instant,
) -> anyhow::Result<(u32, tokio::process::Child)> {
    std::fs::create_dir_all(&out)?;
    let mut child = tokio::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-f", "mp4", "-i", "pipe:0", "-c", "copy"])
        .args(["-f", "segment", "-segment_time", "4", "-reset_timestamps", "1"])
        .arg(out.join("%05d.mp4"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .context("starting ffmpeg")?;
    let pid = child.id().context("ffmpeg pid")?;
    let mut stdin = child.stdin.take().context("stdin")?;
    tokio::spawn(async move {
        let _ = stdin.write_all(&init).await;
        for (i, f) in frags.iter().enumerate() {
            tokio::time::sleep_until(start + Duration::from_secs(i as u64)).await;
            if stdin.write_all(f).await.is_err() {
                return;
            }
        }
    });
    Ok((pid, child))
}

/// One Kankan window: every stream uploads from the start of the content; CPU per stream (% of
/// a core) over the measured seconds, resident MiB, and the uploads' outcome.
struct KankanWindow {
    per_stream: f64,
    rss: f64,
    ok: u64,
    accepted: u64,
    failed: Vec<String>,
}

async fn kankan_window(
    b: &IngestBench,
    http: &reqwest::Client,
    servers: &[Child],
    creds: &[(String, String)],
    init: &Bytes,
    frags: &Arc<Vec<Bytes>>,
) -> anyhow::Result<KankanWindow> {
    let pids: Vec<u32> = servers.iter().map(|s| s.pid).collect();
    let cpu = |pids: &[u32]| pids.iter().map(|p| cpu_secs(*p).unwrap_or(0.0)).sum::<f64>();
    let t0 = tokio::time::Instant::now() + Duration::from_millis(500);
    let mut tasks = Vec::with_capacity(creds.len());
    for (k, (uid, secret)) in creds.iter().enumerate() {
        // Spread the streams' fragments evenly over each second.
        let start = t0 + Duration::from_micros((k as u64 * 1_000_000) / b.streams.max(1) as u64);
        let base = &servers[k % servers.len()].base;
        let url = format!("{base}/ingest/v1/{uid}/live");
        tasks.push(tokio::spawn(stream_kankan(
            http.clone(),
            url,
            uid.clone(),
            secret.clone(),
            init.clone(),
            frags.clone(),
            start,
        )));
    }
    tokio::time::sleep_until(t0 + Duration::from_secs(b.warmup_secs)).await;
    let (cpu0, w0) = (cpu(&pids), Instant::now());
    tokio::time::sleep(Duration::from_secs(b.secs)).await;
    let (cpu1, wall) = (cpu(&pids), w0.elapsed().as_secs_f64());
    let rss: f64 = pids.iter().map(|p| rss_mib(*p)).sum();
    let mut w = KankanWindow {
        per_stream: (cpu1 - cpu0) / wall / b.streams as f64 * 100.0,
        rss,
        ok: 0,
        accepted: 0,
        failed: Vec::new(),
    };
    for t in tasks {
        match t.await? {
            Ok(n) => {
                w.ok += 1;
                w.accepted += n;
            }
            Err(e) => w.failed.push(e.to_string()),
        }
    }
    Ok(w)
}

/// One reference window: `b.reference` ffmpeg processes fed the same content; CPU per stream
/// (% of a core) and resident MiB in all.
async fn ffmpeg_window(
    b: &IngestBench,
    dir: &Path,
    init: &Bytes,
    frags: &Arc<Vec<Bytes>>,
) -> anyhow::Result<(f64, f64)> {
    let t0 = tokio::time::Instant::now() + Duration::from_millis(500);
    let mut children = Vec::new();
    for k in 0..b.reference {
        let start = t0 + Duration::from_micros((k as u64 * 1_000_000) / b.reference as u64);
        let out = dir.join("ffmpeg").join(k.to_string());
        let _ = std::fs::remove_dir_all(&out);
        children.push(stream_ffmpeg(out, init.clone(), frags.clone(), start).await?);
    }
    tokio::time::sleep_until(t0 + Duration::from_secs(b.warmup_secs)).await;
    let sum = |c: &[(u32, tokio::process::Child)]| {
        c.iter().map(|(p, _)| cpu_secs(*p).unwrap_or(0.0)).sum::<f64>()
    };
    let (cpu0, w0) = (sum(&children), Instant::now());
    tokio::time::sleep(Duration::from_secs(b.secs)).await;
    let (cpu1, wall) = (sum(&children), w0.elapsed().as_secs_f64());
    let rss: f64 = children.iter().map(|(p, _)| rss_mib(*p)).sum();
    for (_, mut c) in children {
        let _ = c.wait().await;
    }
    Ok(((cpu1 - cpu0) / wall / b.reference as f64 * 100.0, rss))
}

/// Runs the benchmark and prints a report: `b.rounds` rounds, each a Kankan window then an
/// ffmpeg window of the same streams, and the median ratio of their CPU per stream.
pub async fn ingest(b: IngestBench) -> anyhow::Result<()> {
    let dir = &b.work_dir;
    std::fs::create_dir_all(dir)?;
    let total = b.warmup_secs + b.secs + 2;
    println!(
        "making {total} s of {} kb/s 720p H.264 test content with ffmpeg...",
        b.bitrate / 1000
    );
    let (init, frags) = make_content(dir, total, b.bitrate).await?;
    let frags = Arc::new(frags);
    let data = dir.join("kankan-data");
    let _ = std::fs::remove_dir_all(&data);
    println!("binding {} devices...", b.streams);
    let creds = setup(&data, b.streams).await?;

    // The servers under test, each its own process; the later ones share the first one's
    // master key (and, from the environment, its database and blob store), with data
    // directories of their own for their journals.
    if b.nodes > 1 && std::env::var("KANKAN__DATABASE__URL").is_err() {
        bail!("several nodes share a database: run under scripts/bench-cluster");
    }
    let checkpoint = b.checkpoint.to_string();
    let key = data.join("master.key").display().to_string();
    let mut servers = Vec::with_capacity(b.nodes.max(1));
    for n in 0..b.nodes.max(1) {
        let own = if n == 0 {
            data.clone()
        } else {
            let own = dir.join(format!("kankan-node-{n}"));
            let _ = std::fs::remove_dir_all(&own);
            own
        };
        let env = [
            ("KANKAN__RECORDING__CHECKPOINT", checkpoint.as_str()),
            ("KANKAN__SECURITY__MASTER_KEY_FILE", key.as_str()),
        ];
        servers.push(Child::start(&own, &env).await?);
    }
    let http = reqwest::Client::builder().pool_max_idle_per_host(0).build()?;
    let expected = frags.len() as u64 * b.streams as u64;
    let mut rounds = Rounds::new("CPU per stream (% of a core)", "kankan", "ffmpeg");
    let mut kankan_only = Vec::new();
    for round in 1..=b.rounds.max(1) {
        let k = kankan_window(&b, &http, &servers, &creds, &init, &frags).await?;
        println!(
            "round {round}: kankan {} streams on {} node(s): {:.3}% of a core per stream, \
             {:.0} MiB resident; {} uploads complete, {}/{expected} fragments recorded",
            b.streams,
            servers.len(),
            k.per_stream,
            k.rss,
            k.ok,
            k.accepted
        );
        if let Some(e) = k.failed.first() {
            println!("  {} uploads failed, e.g.: {e}", k.failed.len());
        }
        if b.reference == 0 {
            kankan_only.push(k.per_stream);
            continue;
        }
        let (f, rss) = ffmpeg_window(&b, dir, &init, &frags).await?;
        println!(
            "round {round}: ffmpeg -c copy -f segment, {} processes: {f:.3}% of a core per \
             stream, {rss:.0} MiB resident",
            b.reference
        );
        rounds.push(k.per_stream, f);
    }
    for s in servers {
        s.stop().await;
    }
    if b.reference == 0 {
        let m = super::rounds::median(&kankan_only).unwrap_or(0.0);
        println!(
            "kankan CPU per stream, median of {} rounds: {m:.3}% of a core",
            kankan_only.len()
        );
        return Ok(());
    }
    print!("{}", rounds.report());
    Ok(())
}
