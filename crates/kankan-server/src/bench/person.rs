//! The person-alert benchmark: from a motion start (the camera's clock) to the Web Push saying
//! "Person" at a local push endpoint, with person detection in the path, through a `kankan
//! serve` child with the models (`vision.models_dir`): the camera's MQTT `event`, the event
//! store, the analysis (the live stream of a camera replaying real footage with people in it,
//! decoded and sampled, the detector on the pool), the verdict, the dispatcher holding the
//! event until it (`alert_on = person`), the job queue and the Web Push sender. p50/p95 over
//! `events` events, and against the same chain without detection (`alert_on = any`), in
//! alternating rounds (`rounds`): the median ratio of their p50 and its spread.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use kankan_base::{Clock as _, RealClock, Shutdown};
use kankan_protocol::device::{AlertOn, DeviceEvent, MotionPhase, Settings};
use kankan_sim::video::{self, VideoConfig, VideoFile};
use kankan_sim::{Device, DeviceConfig, ServerAddr};
use tokio::sync::mpsc;

use super::Child;
use super::ingest::setup_account;
use super::live::{Session, quantiles};
use super::notify::{next_arrival, now_precise_ms, push_endpoint, subscribe};
use super::rounds::Rounds;

/// What the benchmark replays and how often.
pub struct PersonBench {
    /// Events a round on each side.
    pub events: usize,
    /// Alternating rounds (person alerts, then any motion).
    pub rounds: usize,
    /// Raw I420 frames of `size` (e.g. `ffmpeg -i vtest.avi -vf scale=384:288,fps=10 -f
    /// rawvideo -pix_fmt yuv420p vtest.yuv`), played at 10 fps, looped.
    pub video: PathBuf,
    pub size: (u32, u32),
    pub models_dir: PathBuf,
    pub work_dir: PathBuf,
}

fn now_ms() -> i64 {
    RealClock.now().0
}

async fn put_settings(session: &Session, uid: &str, s: &Settings) -> anyhow::Result<()> {
    let r = session
        .http
        .put(format!("{}/api/v1/devices/{uid}/settings", session.base))
        .bearer_auth(&session.token)
        .json(s)
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("settings: {} {}", r.status(), r.text().await.unwrap_or_default());
    }
    Ok(())
}

/// Motion start to the owner's push, `n` times; each motion ends once its push arrived.
async fn run(
    n: usize,
    detector: &mpsc::UnboundedSender<DeviceEvent>,
    arrivals: &mut mpsc::UnboundedReceiver<(String, f64)>,
) -> anyhow::Result<Vec<f64>> {
    let mut ms = Vec::with_capacity(n);
    for _ in 0..n {
        let sent = now_precise_ms();
        let at = now_ms();
        let motion =
            |phase, at_ms| DeviceEvent::Motion { phase, at_ms, started_ms: at, zone: None };
        detector.send(motion(MotionPhase::Start, at)).context("the camera stopped")?;
        let (_, t) = next_arrival(arrivals).await?;
        ms.push(t - sent);
        detector.send(motion(MotionPhase::End, now_ms())).context("the camera stopped")?;
        // Distinct start times, and the end recorded before the next start.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Ok(ms)
}

pub async fn person(b: PersonBench) -> anyhow::Result<()> {
    let dir: &Path = &b.work_dir;
    std::fs::create_dir_all(dir)?;
    let data = dir.join("kankan-data");
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(dir.join("cam-state"));
    let (password, creds) = setup_account(&data, 1).await?;
    let (uid, secret) = creds.first().context("a camera")?;
    let (arrive, mut arrivals) = mpsc::unbounded_channel();
    let base = push_endpoint(arrive).await?;
    let models = b.models_dir.display().to_string();
    let env = [
        ("KANKAN__NOTIFY__ALLOW_PRIVATE_TARGETS", "true"),
        ("KANKAN__VISION__MODELS_DIR", models.as_str()),
    ];
    let child = Child::start(&data, &env).await?;
    let session = Session::login(&child.base, &password).await?;
    subscribe(&session, &format!("{base}/push/kankan")).await?;

    // The camera: firmware on MQTT whose motion events the benchmark sends, and video of
    // the footage uploading continuously.
    let (stop, signal) = Shutdown::new();
    let mut cfg = DeviceConfig::new(uid, secret, dir.join("cam-state"));
    cfg.server = Some(ServerAddr::parse(&format!("mqtt://{}", child.mqtt))?);
    let (detector, rx) = mpsc::unbounded_channel();
    let (device, _settings) = Device::new(cfg)?.with_motion(rx);
    let handle = device.handle();
    let mut v = VideoConfig::new(&child.base, uid, secret, Arc::new(RealClock));
    v.encoder = kankan_video::EncoderConfig {
        width: b.size.0,
        height: b.size.1,
        fps: 10,
        bitrate_bps: 600_000,
        gop: 10,
    };
    v.video_file = Some(VideoFile { path: b.video.clone(), once: false });
    let cam = video::start(v, signal.clone())?;
    tokio::spawn(device.run(signal.clone()));
    handle.wait_for("the camera on MQTT", Duration::from_secs(15), |s| s.connected).await?;
    cam.wait_for("streaming", Duration::from_secs(15), |s| s.sent_live_ms >= 2_000).await?;

    println!(
        "motion start (camera clock) to push at the local push endpoint, {} events a round, \
         {}x{} footage at 10 fps, {} alternating rounds (person alerts, then any motion):",
        b.events,
        b.size.0,
        b.size.1,
        b.rounds.max(1)
    );
    let plain = Settings::default();
    let person = Settings { person_detection: true, alert_on: AlertOn::Person, ..plain.clone() };
    let mut rounds =
        Rounds::new("motion start to push, p50 (ms)", "person detection", "any motion");
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for round in 1..=b.rounds.max(1) {
        put_settings(&session, uid, &person).await?;
        let mut w = run(b.events, &detector, &mut arrivals).await?;
        put_settings(&session, uid, &plain).await?;
        let mut p = run(b.events, &detector, &mut arrivals).await?;
        let (w50, w95, _) = quantiles(&mut w);
        let (p50, p95, _) = quantiles(&mut p);
        println!(
            "  round {round}: alert only on a person p50 {w50:.0} ms, p95 {w95:.0} ms; any \
             motion p50 {p50:.0} ms, p95 {p95:.0} ms; detection adds {:.0} ms at p50",
            w50 - p50
        );
        rounds.push(w50, p50);
        with.extend(w);
        without.extend(p);
    }
    let (w50, w95, wmax) = quantiles(&mut with);
    let (p50, p95, _) = quantiles(&mut without);
    println!(
        "  alert only on a person (MQTT -> events -> live sampling -> detector -> verdict -> \
         dispatcher -> Web Push): p50 {w50:.0} ms, p95 {w95:.0} ms, max {wmax:.0} ms"
    );
    println!("  any motion (no detection in the path): p50 {p50:.0} ms, p95 {p95:.0} ms");
    println!("  detection adds at p50: {:.0} ms", w50 - p50);
    print!("{}", rounds.report());
    stop.trigger();
    child.stop().await;
    Ok(())
}
