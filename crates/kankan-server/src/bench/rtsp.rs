//! The RTSP recording benchmark: Kankan's RTSP bridge against Frigate's recorder, N cameras
//! served by GStreamer's RTSP server.
//!
//! Frigate records each camera with its own `ffmpeg -rtsp_transport tcp -i rtsp://… -c copy
//! -f segment` process. Here the same N H.264 streams (720p, 25 fps, 2 Mb/s, a keyframe a
//! second, encoded once beforehand so that serving them costs no encoding) come from one
//! gst-rtsp-server process (`kankan-testkit/scripts/rtsp_server.py --mp4`), each client in a
//! session of its own. In alternating rounds, a `kankan serve` child records them, the
//! cameras added through the API as a user adds them (validated, encrypted, indexed,
//! checkpointed), then N such ffmpeg processes do. Only the recorders' processes are
//! measured: CPU per camera (% of a core) and resident memory per camera, Kankan's as its
//! growth over the idle server divided by N, ffmpeg's as the sum of its processes over N.
//! The RTSP server's CPU is not counted, nor is the test content's encoding.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::io::AsyncBufReadExt as _;

use super::ingest::setup_account;
use super::live::Session;
use super::rounds::Rounds;
use super::{Child, cpu_secs, free_port, rss_mib};

/// The test RTSP server, compiled in so that the command runs from anywhere.
const SERVER_SCRIPT: &str = include_str!("../../../kankan-testkit/scripts/rtsp_server.py");
/// Debian's Python, which has `gi` and the RTSP server's bindings.
const PYTHON: &str = "/usr/bin/python3";
/// Slack added to the content's length: adding the cameras, connecting, stopping.
const CONTENT_SLACK_SECS: u64 = 20;

/// What to run.
#[derive(Debug, Clone)]
pub struct RtspBench {
    pub cameras: usize,
    pub secs: u64,
    pub warmup_secs: u64,
    /// Alternating rounds, each a Kankan window then an ffmpeg window.
    pub rounds: usize,
    pub bitrate: u32,
    /// Kankan's server-side motion detection for RTSP cameras (`recording.rtsp_motion`, on by
    /// default): it decodes the streams, which Frigate's recorder does not (its detector is
    /// another process), so the recorder-against-recorder figure is taken without it.
    pub motion: bool,
    pub work_dir: PathBuf,
}

/// One window's measurement of one side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Window {
    /// CPU seconds the recorder's processes used over the measured wall seconds.
    pub cpu_secs: f64,
    pub wall_secs: f64,
    /// Resident MiB of the recorder's processes at the end of the window.
    pub rss_mib: f64,
    /// Resident MiB before any camera was recorded (Kankan's idle server; 0 for ffmpeg, whose
    /// processes exist only to record).
    pub idle_rss_mib: f64,
    pub cameras: usize,
}

impl Window {
    /// CPU per camera in % of one core.
    pub(crate) fn cpu_per_camera(&self) -> f64 {
        if self.wall_secs <= 0.0 || self.cameras == 0 {
            return 0.0;
        }
        self.cpu_secs / self.wall_secs / self.cameras as f64 * 100.0
    }

    /// Resident MiB per camera: the growth over idle, shared out (never below zero, which
    /// a page-out of the idle server's memory could otherwise give).
    pub(crate) fn rss_per_camera(&self) -> f64 {
        if self.cameras == 0 {
            return 0.0;
        }
        (self.rss_mib - self.idle_rss_mib).max(0.0) / self.cameras as f64
    }
}

/// Files and bytes under `dir`, recursively (0 when it does not exist).
pub(crate) fn dir_usage(dir: &Path) -> (u64, u64) {
    let Ok(entries) = std::fs::read_dir(dir) else { return (0, 0) };
    let (mut files, mut bytes) = (0, 0);
    for e in entries.flatten() {
        let Ok(meta) = e.metadata() else { continue };
        if meta.is_dir() {
            let (f, b) = dir_usage(&e.path());
            files += f;
            bytes += b;
        } else {
            files += 1;
            bytes += meta.len();
        }
    }
    (files, bytes)
}

/// The URL of camera `k` on the test server.
pub(crate) fn camera_url(port: u16, k: usize) -> String {
    format!("rtsp://127.0.0.1:{port}/cam{k}")
}

/// The RTSP server: `cameras` mounts of `content` on a free port; killed on drop.
async fn start_server(
    dir: &Path,
    content: &Path,
    cameras: usize,
) -> anyhow::Result<(tokio::process::Child, u16)> {
    let script = dir.join("rtsp_server.py");
    std::fs::write(&script, SERVER_SCRIPT)?;
    let port = free_port()?;
    let mut child = tokio::process::Command::new(PYTHON)
        .arg(&script)
        .args(["--port", &port.to_string(), "--path", "cam", "--mounts", &cameras.to_string()])
        .arg("--mp4")
        .arg(content)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context(
            "starting the RTSP server (python3-gi, gir1.2-gst-rtsp-server-1.0: scripts/test)",
        )?;
    let out = child.stdout.take().context("stdout")?;
    let mut lines = tokio::io::BufReader::new(out).lines();
    let ready = tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await;
    match ready {
        Ok(Ok(Some(l))) if l.trim() == "ready" => Ok((child, port)),
        other => bail!("the RTSP server did not start: {other:?}"),
    }
}

/// One Kankan window: a fresh server, signed in, its idle memory read, the cameras added
/// through the API; measured after the warm-up. The window and the sealed segments' count
/// and bytes.
async fn kankan_window(b: &RtspBench, dir: &Path, port: u16) -> anyhow::Result<(Window, u64, u64)> {
    let data = dir.join("kankan-data");
    let _ = std::fs::remove_dir_all(&data);
    let (password, _) = setup_account(&data, 0).await?;
    let n = b.cameras.to_string();
    let motion = b.motion.to_string();
    let env = [
        // The test cameras are on loopback, which the default refuses.
        ("KANKAN__CAMERAS__ALLOWED_NETWORKS", "[\"127.0.0.1/32\"]"),
        ("KANKAN__CAMERAS__MAX_PER_ACCOUNT", n.as_str()),
        ("KANKAN__CAMERAS__ADDS_PER_HOUR", n.as_str()),
        ("KANKAN__RECORDING__RTSP_MOTION", motion.as_str()),
    ];
    let child = Child::start(&data, &env).await?;
    let session = Session::login(&child.base, &password).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = rss_mib(child.pid);
    for k in 0..b.cameras {
        let body = serde_json::json!({"name": format!("Camera {k}"), "url": camera_url(port, k)});
        let r = session
            .http
            .post(format!("{}/api/v1/cameras/rtsp", child.base))
            .bearer_auth(&session.token)
            .json(&body)
            .send()
            .await?;
        let status = r.status();
        if !status.is_success() {
            let v: serde_json::Value = r.json().await.unwrap_or_default();
            bail!("adding camera {k} answered {status}: {v}");
        }
    }
    tokio::time::sleep(Duration::from_secs(b.warmup_secs)).await;
    let (cpu0, w0) = (cpu_secs(child.pid)?, Instant::now());
    tokio::time::sleep(Duration::from_secs(b.secs)).await;
    let (cpu1, wall) = (cpu_secs(child.pid)?, w0.elapsed().as_secs_f64());
    let rss = rss_mib(child.pid);
    child.stop().await;
    let (files, bytes) = dir_usage(&data.join("blobs"));
    let w = Window {
        cpu_secs: cpu1 - cpu0,
        wall_secs: wall,
        rss_mib: rss,
        idle_rss_mib: idle,
        cameras: b.cameras,
    };
    Ok((w, files, bytes))
}

/// One ffmpeg window: N `ffmpeg -rtsp_transport tcp -i … -c copy -f segment` processes, as
/// Frigate runs them; measured after the warm-up. The window and the segments' count and
/// bytes.
async fn ffmpeg_window(b: &RtspBench, dir: &Path, port: u16) -> anyhow::Result<(Window, u64, u64)> {
    let root = dir.join("ffmpeg");
    let _ = std::fs::remove_dir_all(&root);
    let mut children = Vec::with_capacity(b.cameras);
    for k in 0..b.cameras {
        let out = root.join(k.to_string());
        std::fs::create_dir_all(&out)?;
        let child = tokio::process::Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-rtsp_transport", "tcp", "-i"])
            .arg(camera_url(port, k))
            .args(["-c", "copy", "-f", "segment", "-segment_time", "4"])
            .args(["-reset_timestamps", "1"])
            .arg(out.join("%05d.mp4"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting ffmpeg")?;
        let pid = child.id().context("ffmpeg pid")?;
        children.push((pid, child));
    }
    let sum = |c: &[(u32, tokio::process::Child)]| {
        c.iter().map(|(p, _)| cpu_secs(*p).unwrap_or(0.0)).sum::<f64>()
    };
    tokio::time::sleep(Duration::from_secs(b.warmup_secs)).await;
    let (cpu0, w0) = (sum(&children), Instant::now());
    tokio::time::sleep(Duration::from_secs(b.secs)).await;
    let (cpu1, wall) = (sum(&children), w0.elapsed().as_secs_f64());
    let rss: f64 = children.iter().map(|(p, _)| rss_mib(*p)).sum();
    let mut exited = 0;
    for (_, c) in &mut children {
        exited += usize::from(matches!(c.try_wait(), Ok(Some(_))));
    }
    if exited > 0 {
        println!("  {exited} ffmpeg processes had exited before the end of the window");
    }
    for (_, mut c) in children {
        let _ = c.kill().await;
    }
    let (files, bytes) = dir_usage(&root);
    let w = Window {
        cpu_secs: cpu1 - cpu0,
        wall_secs: wall,
        rss_mib: rss,
        idle_rss_mib: 0.0,
        cameras: b.cameras,
    };
    Ok((w, files, bytes))
}

/// Runs the benchmark and prints each round and the median ratios of CPU and memory per
/// camera.
pub async fn rtsp(b: RtspBench) -> anyhow::Result<()> {
    if b.cameras == 0 {
        bail!("--cameras must be at least 1");
    }
    let dir = std::path::absolute(&b.work_dir)?.join("rtsp");
    std::fs::create_dir_all(&dir)?;
    let content = dir.join("content.mp4");
    let secs = b.warmup_secs + b.secs + CONTENT_SLACK_SECS;
    println!(
        "making {secs} s of {} kb/s 720p25 H.264 test content with ffmpeg...",
        b.bitrate / 1000
    );
    super::encode_test_video(&content, secs, b.bitrate, &["-bf", "0"]).await?;
    let (mut server, port) = start_server(&dir, &content, b.cameras).await?;
    println!(
        "serving {} RTSP cameras from gst-rtsp-server (pid {}, not measured); kankan's motion \
         detection {}",
        b.cameras,
        server.id().unwrap_or(0),
        if b.motion { "on" } else { "off" }
    );
    let mut cpu = Rounds::new("CPU per camera (% of a core)", "kankan", "ffmpeg");
    let mut mem = Rounds::new("resident memory per camera (MiB)", "kankan", "ffmpeg");
    for round in 1..=b.rounds.max(1) {
        let (k, files, bytes) = kankan_window(&b, &dir, port).await?;
        println!(
            "round {round}: kankan, {} cameras: {:.3}% of a core per camera, {:.0} MiB \
             resident ({:.0} idle: {:.2} MiB per camera); {files} sealed segments, {:.1} MB",
            b.cameras,
            k.cpu_per_camera(),
            k.rss_mib,
            k.idle_rss_mib,
            k.rss_per_camera(),
            bytes as f64 / 1e6
        );
        let (f, files, bytes) = ffmpeg_window(&b, &dir, port).await?;
        println!(
            "round {round}: ffmpeg -c copy -f segment, {} processes: {:.3}% of a core per \
             camera, {:.0} MiB resident ({:.2} MiB per camera); {files} segments, {:.1} MB",
            b.cameras,
            f.cpu_per_camera(),
            f.rss_mib,
            f.rss_per_camera(),
            bytes as f64 / 1e6
        );
        cpu.push(k.cpu_per_camera(), f.cpu_per_camera());
        mem.push(k.rss_per_camera(), f.rss_per_camera());
    }
    let _ = server.kill().await;
    print!("{}", cpu.report());
    print!("{}", mem.report());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_per_camera_is_percent_of_a_core_shared_out() {
        let w =
            Window { cpu_secs: 2.0, wall_secs: 20.0, rss_mib: 0.0, idle_rss_mib: 0.0, cameras: 10 };
        // 2 CPU seconds over 20 s is 10% of a core, 1% per camera.
        assert!((w.cpu_per_camera() - 1.0).abs() < 1e-9, "{w:?}");
        assert_eq!(Window { wall_secs: 0.0, ..w }.cpu_per_camera(), 0.0);
        assert_eq!(Window { cameras: 0, ..w }.cpu_per_camera(), 0.0);
    }

    #[test]
    fn kankan_memory_per_camera_is_its_growth_over_idle_and_ffmpeg_its_sum() {
        let kankan = Window {
            cpu_secs: 0.0,
            wall_secs: 1.0,
            rss_mib: 70.0,
            idle_rss_mib: 50.0,
            cameras: 10,
        };
        assert!((kankan.rss_per_camera() - 2.0).abs() < 1e-9, "{kankan:?}");
        let ffmpeg = Window { rss_mib: 150.0, idle_rss_mib: 0.0, ..kankan };
        assert!((ffmpeg.rss_per_camera() - 15.0).abs() < 1e-9, "{ffmpeg:?}");
        // An idle server that shrank below its idle figure counts as no growth.
        assert_eq!(Window { rss_mib: 40.0, ..kankan }.rss_per_camera(), 0.0);
    }

    #[test]
    fn recorded_files_and_bytes_are_counted_recursively() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir_all(dir.path().join("0/a")).expect("mkdir");
        std::fs::write(dir.path().join("0/00000.mp4"), [0u8; 10]).expect("write");
        std::fs::write(dir.path().join("0/a/00001.mp4"), [0u8; 5]).expect("write");
        assert_eq!(dir_usage(dir.path()), (2, 15));
        assert_eq!(dir_usage(&dir.path().join("missing")), (0, 0));
    }

    #[test]
    fn cameras_are_numbered_mounts_of_the_test_server() {
        assert_eq!(camera_url(8554, 3), "rtsp://127.0.0.1:8554/cam3");
    }
}
