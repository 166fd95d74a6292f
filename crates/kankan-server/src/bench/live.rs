//! The live-view benchmark: a `kankan serve` child, two simulated cameras (one uploading
//! continuously, one only on demand, started over MQTT), and WebSocket viewers that decode
//! what they receive with OpenH264 and read the camera's burned-in capture clock.
//!
//! - Time to first frame: from opening the live socket to the first picture decoded, p50/p95
//!   over `starts` starts, for each camera (the on-demand one is stopped between starts).
//! - Capture to decoded picture through the relay, against the reference: the same scene,
//!   encoder and decoder in one process with no network and no server; in alternating rounds
//!   (`rounds`), with the median ratio of their p50 and of their p95 and its spread.
//! - Relay CPU: the server's CPU with no viewer and with `viewers` viewers of one stream, and
//!   whether every viewer got every frame.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::StreamExt as _;
use kankan_base::{Clock as _, RealClock, Shutdown};
use kankan_media::{AvcConfig, Fragment, InitSegment, Limits, StreamItem, StreamParser};
use kankan_sim::video::{self, VideoConfig, VideoHandle};
use kankan_sim::{Device, DeviceConfig, ServerAddr};
use kankan_video::{Decoder, Encoder, EncoderConfig, Scene, read_stamp};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::ingest::{BENCH_ACCOUNT, setup_account};
use super::rounds::Rounds;
use super::{Child, cpu_secs};

/// What to run.
#[derive(Debug, Clone)]
pub struct LiveBench {
    /// Starts per camera for the time to first frame.
    pub starts: usize,
    /// Viewers of one stream for the relay's CPU.
    pub viewers: usize,
    /// Seconds each latency and CPU measurement runs.
    pub secs: u64,
    /// Alternating rounds of the latency measurement (kankan, then the reference).
    pub rounds: usize,
    pub work_dir: PathBuf,
}

/// The cameras' picture: 640x360, 15 fps, 1 Mb/s, a keyframe a second.
fn encoder() -> EncoderConfig {
    EncoderConfig { width: 640, height: 360, fps: 15, bitrate_bps: 1_000_000, gop: 15 }
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Reads a live socket: parses the fMP4 and decodes each frame.
struct Viewer {
    ws: Socket,
    parser: StreamParser,
    init: Option<(InitSegment, AvcConfig)>,
    decoder: Decoder,
}

impl Viewer {
    async fn open(url: &str) -> anyhow::Result<Viewer> {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.context("live socket")?;
        Ok(Viewer {
            ws,
            parser: StreamParser::new(Limits::default()),
            init: None,
            decoder: Decoder::new()?,
        })
    }

    /// The next fragments as they arrive; `None` when the stream ended.
    async fn fragments(&mut self) -> anyhow::Result<Option<Vec<Fragment>>> {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(15), self.ws.next())
                .await
                .context("no live data for 15 s")?;
            let Some(msg) = msg else { return Ok(None) };
            let Message::Binary(bytes) = msg? else { continue };
            let mut out = Vec::new();
            for item in self.parser.push(&bytes)? {
                match item {
                    StreamItem::Init(i) => {
                        let video = i.video().context("no video track")?;
                        let avc = AvcConfig::from_stsd(&video.stsd).context("no avcC")?;
                        let (sps, pps) = (avc.sps.first(), avc.pps.first());
                        self.decoder
                            .set_parameter_sets(sps.context("no SPS")?, pps.context("no PPS")?)?;
                        self.init = Some((i, avc));
                    }
                    StreamItem::Fragment(f) => out.push(f),
                }
            }
            if !out.is_empty() {
                return Ok(Some(out));
            }
        }
    }

    /// Decodes a fragment's frames; the capture time of each picture.
    fn decode(&mut self, f: &Fragment) -> anyhow::Result<Vec<u64>> {
        let (init, _) = self.init.as_ref().context("a fragment before the init segment")?;
        let run = f.video_run(init).context("no video")?;
        let mut stamps = Vec::new();
        for s in &run.samples {
            let data = f.sample_data(s).context("sample outside the fragment")?;
            if let Some(pic) = self.decoder.decode(data)? {
                stamps.push(read_stamp(&pic).map_or(0, |s| s.capture_ms));
            }
        }
        Ok(stamps)
    }
}

fn now_ms() -> u64 {
    u64::try_from(RealClock.now().0).unwrap_or(0)
}

/// p50, p95 and max of `v` (sorted here).
pub(super) fn quantiles(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v.get(((v.len() as f64 - 1.0) * q).round() as usize).copied();
    (at(0.5).unwrap_or(0.0), at(0.95).unwrap_or(0.0), v.last().copied().unwrap_or(0.0))
}

pub(super) struct Session {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Session {
    pub(super) async fn login(base: &str, password: &str) -> anyhow::Result<Session> {
        Session::login_as(base, BENCH_ACCOUNT, password).await
    }

    /// Signs in as another account, and accepts the privacy policy in force (the bench's
    /// accounts are provisioned, never registered).
    pub(super) async fn login_as(
        base: &str,
        identifier: &str,
        password: &str,
    ) -> anyhow::Result<Session> {
        let http = reqwest::Client::new();
        let body = serde_json::json!({"identifier": identifier, "password": password});
        let r: serde_json::Value =
            http.post(format!("{base}/api/v1/auth/login")).json(&body).send().await?.json().await?;
        let token = r["token"].as_str().context("login gave no token")?.to_string();
        let policy: serde_json::Value =
            http.get(format!("{base}/api/v1/privacy/policy")).send().await?.json().await?;
        let version = serde_json::json!({"version": policy["version"]});
        http.post(format!("{base}/api/v1/me/policy/accept"))
            .bearer_auth(&token)
            .json(&version)
            .send()
            .await?
            .error_for_status()?;
        Ok(Session { http, base: base.to_string(), token })
    }

    /// The live WebSocket URL of `uid` with a fresh link.
    async fn live_url(&self, uid: &str) -> anyhow::Result<String> {
        let r: serde_json::Value = self
            .http
            .post(format!("{}/api/v1/devices/{uid}/recordings/link", self.base))
            .json(&serde_json::json!({"purpose": "live"}))
            .bearer_auth(&self.token)
            .send()
            .await?
            .json()
            .await?;
        let (t, media) = (r["token"].as_str(), r["media_base"].as_str());
        let (t, media) = (t.context("no link token")?, media.context("no media base")?);
        Ok(format!("{}{media}/live?t={t}", self.base.replacen("http://", "ws://", 1)))
    }
}

/// Opens, waits for the first decoded picture, closes; the milliseconds that took.
async fn first_frame_ms(url: &str) -> anyhow::Result<f64> {
    let t0 = Instant::now();
    let mut v = Viewer::open(url).await?;
    loop {
        let frags = v.fragments().await?.context("the stream ended before a picture")?;
        for f in &frags {
            if !v.decode(f)?.is_empty() {
                let ms = t0.elapsed().as_secs_f64() * 1000.0;
                let _ = v.ws.close(None).await;
                return Ok(ms);
            }
        }
    }
}

fn camera(base: &str, uid: &str, secret: &str) -> VideoConfig {
    let mut v = VideoConfig::new(base, uid, secret, Arc::new(RealClock));
    v.encoder = encoder();
    v
}

/// The on-demand camera: firmware on MQTT plus video uploading only when asked.
async fn on_demand_camera(
    child: &Child,
    dir: &std::path::Path,
    (uid, secret): &(String, String),
    signal: &kankan_base::ShutdownSignal,
) -> anyhow::Result<VideoHandle> {
    let mut cfg = DeviceConfig::new(uid, secret, dir.join("cam-state"));
    cfg.server = Some(ServerAddr::parse(&format!("mqtt://{}", child.mqtt))?);
    let (tx, rx) = mpsc::unbounded_channel();
    let device = Device::new(cfg)?.with_media(tx);
    let handle = device.handle();
    let mut v = camera(&child.base, uid, secret);
    v.on_demand = true;
    let cam = video::start(v, signal.clone())?;
    tokio::spawn(kankan_sim::media::serve(rx, cam.clone()));
    tokio::spawn(device.run(signal.clone()));
    handle.wait_for("the camera on MQTT", Duration::from_secs(15), |s| s.connected).await?;
    // Its presence reaches the device table a moment later.
    tokio::time::sleep(Duration::from_millis(500)).await;
    Ok(cam)
}

/// The reference: scene, encoder and decoder in one process, paced like the camera;
/// capture-to-decoded latency of each frame.
fn direct_latencies(secs: u64) -> anyhow::Result<Vec<f64>> {
    let cfg = encoder();
    let scene = Scene::new(cfg.width, cfg.height, 7)?;
    let mut enc = Encoder::new(cfg)?;
    let mut dec = Decoder::new()?;
    let mut out = Vec::new();
    let t0 = Instant::now();
    let epoch = now_ms();
    for i in 0..(secs * u64::from(cfg.fps)) as u32 {
        let due = Duration::from_micros(u64::from(i) * 1_000_000 / u64::from(cfg.fps));
        if let Some(wait) = due.checked_sub(t0.elapsed()) {
            std::thread::sleep(wait);
        }
        let capture = epoch + u64::from(i) * 1000 / u64::from(cfg.fps);
        let Some(frame) = enc.encode(&scene.render(i, capture), i == 0)? else { continue };
        if i == 0 {
            let (sps, pps) = enc.parameter_sets().context("no parameter sets")?;
            dec.set_parameter_sets(&sps, &pps)?;
        }
        if let Some(pic) = dec.decode(&frame.avcc)?
            && let Some(s) = read_stamp(&pic)
        {
            out.push((now_ms() as f64) - s.capture_ms as f64);
        }
    }
    Ok(out)
}

/// One viewer for `secs`: capture-to-decoded latency of each frame.
async fn relay_latencies(url: &str, secs: u64) -> anyhow::Result<Vec<f64>> {
    let mut v = Viewer::open(url).await?;
    let end = Instant::now() + Duration::from_secs(secs);
    let mut out = Vec::new();
    let mut first = true;
    while Instant::now() < end {
        let frags = v.fragments().await?.context("the stream ended")?;
        for f in &frags {
            let stamps = v.decode(f)?;
            if first {
                // The current GOP arrives at once, older than live: not latency.
                first = false;
                continue;
            }
            let now = now_ms() as f64;
            out.extend(stamps.iter().filter(|s| **s > 0).map(|s| now - *s as f64));
        }
    }
    Ok(out)
}

/// `n` viewers counting frames for `secs`; the server's CPU share of one core meanwhile, and
/// the fewest frames a viewer got.
async fn fan_out(child: &Child, urls: Vec<String>, secs: u64) -> anyhow::Result<(f64, u64)> {
    let mut tasks = Vec::with_capacity(urls.len());
    let start = Instant::now() + Duration::from_secs(2);
    let end = start + Duration::from_secs(secs);
    for url in urls {
        tasks.push(tokio::spawn(async move {
            let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
            let mut parser = StreamParser::new(Limits::default());
            let mut frames = 0u64;
            loop {
                let deadline = tokio::time::Instant::from_std(end);
                let msg = match tokio::time::timeout_at(deadline, ws.next()).await {
                    Ok(Some(m)) => m?,
                    Ok(None) => bail!("the stream ended"),
                    Err(_) => return Ok::<u64, anyhow::Error>(frames),
                };
                let Message::Binary(bytes) = msg else { continue };
                let items = parser.push(&bytes)?;
                if Instant::now() >= start {
                    frames += items.iter().filter(|i| matches!(i, StreamItem::Fragment(_))).count()
                        as u64;
                }
            }
        }));
    }
    tokio::time::sleep_until(tokio::time::Instant::from_std(start)).await;
    let cpu0 = cpu_secs(child.pid)?;
    tokio::time::sleep_until(tokio::time::Instant::from_std(end)).await;
    let cpu = (cpu_secs(child.pid)? - cpu0) / secs as f64;
    let mut fewest = u64::MAX;
    for t in tasks {
        fewest = fewest.min(t.await??);
    }
    Ok((cpu, if fewest == u64::MAX { 0 } else { fewest }))
}

pub async fn live(b: LiveBench) -> anyhow::Result<()> {
    let dir = &b.work_dir;
    std::fs::create_dir_all(dir)?;
    let data = dir.join("kankan-data");
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(dir.join("cam-state"));
    let (password, creds) = setup_account(&data, 2).await?;
    let child = Child::start(&data, &[("KANKAN__RECORDING__LIVE_GRACE_SECS", "0")]).await?;
    let session = Session::login(&child.base, &password).await?;
    let (stop, signal) = Shutdown::new();
    let (steady_uid, demand_uid) = (creds[0].0.clone(), creds[1].0.clone());
    let steady = video::start(camera(&child.base, &creds[0].0, &creds[0].1), signal.clone())?;
    let demand = on_demand_camera(&child, dir, &creds[1], &signal).await?;
    steady.wait_for("streaming", Duration::from_secs(15), |s| s.sent_live_ms >= 2_000).await?;

    println!("time to first decoded frame over the live WebSocket, {} starts each:", b.starts);
    for (name, uid, on_demand) in
        [("streaming camera", &steady_uid, false), ("on-demand camera", &demand_uid, true)]
    {
        let mut ms = Vec::with_capacity(b.starts);
        for _ in 0..b.starts {
            let url = session.live_url(uid).await?;
            ms.push(first_frame_ms(&url).await?);
            if on_demand {
                demand.wait_for("stopped", Duration::from_secs(15), |s| !s.live).await?;
                // Let the server see the upload end, so the next start is a cold one.
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
        let (p50, p95, max) = quantiles(&mut ms);
        println!("  {name}: p50 {p50:.0} ms, p95 {p95:.0} ms, max {max:.0} ms");
    }

    println!(
        "capture to decoded picture, {} s each, {} alternating rounds (kankan, then the \
         reference):",
        b.secs,
        b.rounds.max(1)
    );
    let mut at_p50 = Rounds::new("capture to decoded picture, p50 (ms)", "kankan", "in-process");
    let mut at_p95 = Rounds::new("capture to decoded picture, p95 (ms)", "kankan", "in-process");
    for round in 1..=b.rounds.max(1) {
        let mut relayed = relay_latencies(&session.live_url(&steady_uid).await?, b.secs).await?;
        let secs = b.secs;
        let mut direct = tokio::task::spawn_blocking(move || direct_latencies(secs)).await??;
        let (d50, d95, _) = quantiles(&mut direct);
        let (r50, r95, _) = quantiles(&mut relayed);
        println!(
            "  round {round}: through kankan (camera -> ingest -> relay -> WebSocket -> \
             decoder): p50 {r50:.0} ms, p95 {r95:.0} ms; the relay adds {:.0} ms at p50",
            r50 - d50
        );
        println!(
            "  round {round}: reference (encoder -> decoder in one process): p50 {d50:.0} ms, \
             p95 {d95:.0} ms"
        );
        at_p50.push(r50, d50);
        at_p95.push(r95, d95);
    }
    print!("{}{}", at_p50.report(), at_p95.report());

    let expected = b.secs * u64::from(encoder().fps);
    let (idle_cpu, _) = fan_out(&child, Vec::new(), b.secs).await?;
    let mut urls = Vec::with_capacity(b.viewers);
    for _ in 0..b.viewers {
        urls.push(session.live_url(&steady_uid).await?);
    }
    let (cpu, fewest) = fan_out(&child, urls, b.secs).await?;
    println!(
        "relay: {:.1}% of a core recording with no viewer, {:.1}% with {} viewers \
         ({:.3}% per viewer); the slowest viewer got {fewest}/{expected} frames",
        idle_cpu * 100.0,
        cpu * 100.0,
        b.viewers,
        (cpu - idle_cpu) * 100.0 / b.viewers.max(1) as f64
    );
    stop.trigger();
    child.stop().await;
    Ok(())
}
