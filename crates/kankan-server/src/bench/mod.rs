//! `kankan bench ...`: measurements against reference runs side by side (docs/benchmarks.md).
//!
//! Every side-by-side figure comes from alternating rounds (`rounds`): the median ratio, its
//! spread, and a verdict that says when the spread is too wide to conclude.
//!
//! - `ingest`: N concurrent 2 Mb/s H.264 streams recorded by a `kankan serve` child (encrypted,
//!   checkpointed, indexed), against the same streams recorded by `ffmpeg -c copy -f segment`
//!   processes; CPU per stream of each, and whether the server kept up.
//! - `index`: 30 days of one camera's segments in the index: bytes per stream-minute and the
//!   timeline query against the plain segment scan.
//! - `live`: time to first frame (a streaming camera and one started on demand over MQTT),
//!   capture-to-decoded latency through the relay against the camera's own encoder decoded
//!   in-process, and the relay's CPU per viewer.
//! - `motion`: the motion detector's CPU per camera at 5 fps of 640x360, against plain
//!   per-pixel frame differencing.
//! - `firmware`: a signed image rolled out to a fleet of simulated cameras (server CPU and
//!   time to all confirmed), against nginx serving the same bytes to as many downloads.
//! - `login`: the server's resident memory through registrations, correct logins and a
//!   credential-stuffing burst from many addresses, and after it (password hashing is bounded).
//! - `cancel`: deleting an account with 30 days of 4 cameras' recordings: the crypto-shred
//!   step and the purge, against deleting the same segments one by one.
//! - `notify`: motion start to Web Push delivered at a local push endpoint, against the same
//!   push sent directly; with members, to the last member's push of a shared camera.
//! - `person`: motion start to the "Person" push of a camera alerting only on a person, with
//!   person detection on real footage in the path, against the same chain without it.
//! - `rtsp`: N RTSP cameras (gst-rtsp-server) recorded by Kankan's RTSP bridge, against
//!   Frigate's recorder (an `ffmpeg -rtsp_transport tcp -c copy -f segment` per camera): CPU
//!   and memory per camera.
//! - `vision`: person detection per frame and CPU per camera at the sampling rate, precision
//!   and recall on the labelled frames, face detection and embedding per face, the face
//!   verification proxy; against the same ONNX files in onnxruntime (`scripts/bench-vision`).

mod cancel;
mod firmware;
mod index;
mod ingest;
mod live;
mod login;
mod motion;
mod notify;
mod person;
pub(crate) mod rounds;
mod rtsp;
mod vision;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};

pub use cancel::cancel;
pub use firmware::{FirmwareBench, firmware};
pub use index::index;
pub use ingest::{IngestBench, ingest};
pub use live::{LiveBench, live};
pub use login::{LoginBench, login};
pub use motion::motion;
pub use notify::notify;
pub use person::{PersonBench, person};
pub use rtsp::{RtspBench, rtsp};
pub use vision::vision;

/// The server under test: `kankan serve` as a child process on free loopback ports.
pub(crate) struct Child {
    process: tokio::process::Child,
    pub pid: u32,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The MQTT gateway's `host:port`.
    pub mqtt: String,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Child {
    /// Starts `kankan serve` on `data` with extra `KANKAN__...` settings, and waits until it
    /// is ready.
    pub async fn start(data: &Path, env: &[(&str, &str)]) -> anyhow::Result<Child> {
        let (port, mqtt_port) = (free_port()?, free_port()?);
        let mut cmd = tokio::process::Command::new(std::env::current_exe()?);
        cmd.arg("serve")
            .env("KANKAN__DATA_DIR", data)
            .env("KANKAN__SERVER__LISTEN", format!("127.0.0.1:{port}"))
            .env("KANKAN__GATEWAY__LISTEN", format!("127.0.0.1:{mqtt_port}"))
            // The benchmarks' devices are on loopback and measure recording, not TLS.
            .env("KANKAN__GATEWAY__PLAIN", "true")
            .env("KANKAN_LOG", "warn")
            .stdout(Stdio::null())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let process = cmd.spawn().context("starting kankan serve")?;
        let pid = process.id().context("server pid")?;
        let child = Child {
            process,
            pid,
            base: format!("http://127.0.0.1:{port}"),
            mqtt: format!("127.0.0.1:{mqtt_port}"),
        };
        let http = reqwest::Client::new();
        for _ in 0..400 {
            if let Ok(r) = http.get(format!("{}/readyz", child.base)).send().await
                && r.status().is_success()
            {
                return Ok(child);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("kankan serve did not become ready")
    }

    pub async fn stop(mut self) {
        let _ = self.process.kill().await;
    }
}

/// CPU seconds (user + system) a process has used, from `/proc/<pid>/stat`.
pub(crate) fn cpu_secs(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the stat line: 11 and 12 after the name.
    Ok((ticks(11) + ticks(12)) / 100.0)
}

/// Resident memory of a process in MiB.
pub(crate) fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Encodes `secs` of 1280x720 25 fps H.264 test content with ffmpeg (its test source, libx264
/// at a constant `bitrate`, a keyframe a second) into `file`; `extra` are output options (a
/// container, no B-frames).
pub(crate) async fn encode_test_video(
    file: &Path,
    secs: u64,
    bitrate: u32,
    extra: &[&str],
) -> anyhow::Result<()> {
    let rate = format!("{}k", bitrate / 1000);
    let status = tokio::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=1280x720:rate=25")
        .args(["-t", &secs.to_string(), "-c:v", "libx264", "-preset", "veryfast", "-g", "25"])
        .args(["-b:v", &rate, "-minrate", &rate, "-maxrate", &rate, "-bufsize", &rate])
        .args(["-x264-params", "nal-hrd=cbr", "-pix_fmt", "yuv420p"])
        .args(extra)
        .arg(file)
        .status()
        .await
        .context("running ffmpeg (apt-get install ffmpeg)")?;
    if !status.success() {
        bail!("ffmpeg could not make the test content");
    }
    Ok(())
}
