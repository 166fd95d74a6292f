//! `kankan bench ...`: the benchmark subcommands and their options (bench/ runs them).

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;

#[derive(Subcommand)]
pub(crate) enum BenchCommand {
    /// N concurrent 2 Mb/s H.264 streams recorded by a `kankan serve` child, against the same
    /// streams recorded by `ffmpeg -c copy -f segment` (needs ffmpeg).
    Ingest {
        #[arg(long, default_value_t = 100)]
        streams: usize,
        /// ffmpeg processes for the reference run (0 skips it).
        #[arg(long, default_value_t = 20)]
        reference: usize,
        /// Measured seconds, after the warm-up.
        #[arg(long, default_value_t = 30)]
        secs: u64,
        #[arg(long, default_value_t = 10)]
        warmup_secs: u64,
        /// Alternating rounds (Kankan, then ffmpeg): the report gives the median ratio and
        /// its spread.
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        #[arg(long, default_value_t = 2_000_000)]
        bitrate: u32,
        /// Sync every fragment to disk (the crash guarantee); `false` to see its cost.
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        checkpoint: bool,
        /// `kankan serve` nodes sharing the database and blob store (from the environment:
        /// `KANKAN__DATABASE__URL`, `KANKAN__BLOBS__*`; scripts/bench-cluster); the streams
        /// are spread over them.
        #[arg(long, default_value_t = 1)]
        nodes: usize,
        #[arg(long, default_value = "kankan-bench")]
        work_dir: PathBuf,
    },
    /// N RTSP cameras (gst-rtsp-server) recorded by Kankan's RTSP bridge, against one
    /// `ffmpeg -rtsp_transport tcp -c copy -f segment` per camera as Frigate records them.
    Rtsp {
        #[arg(long, default_value_t = 10)]
        cameras: usize,
        /// Measured seconds, after the warm-up.
        #[arg(long, default_value_t = 20)]
        secs: u64,
        #[arg(long, default_value_t = 5)]
        warmup_secs: u64,
        /// Alternating rounds (Kankan, then ffmpeg).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        #[arg(long, default_value_t = 2_000_000)]
        bitrate: u32,
        /// Kankan's server-side motion detection for RTSP cameras (decodes every stream).
        #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
        motion: bool,
        #[arg(long, default_value = "kankan-bench")]
        work_dir: PathBuf,
    },
    /// Live view: time to first frame (streaming and on-demand cameras), capture-to-decoded
    /// latency against an in-process reference, relay CPU per viewer.
    Live {
        /// Starts per camera for the time to first frame.
        #[arg(long, default_value_t = 50)]
        starts: usize,
        /// Viewers of one stream for the relay's CPU.
        #[arg(long, default_value_t = 200)]
        viewers: usize,
        /// Seconds of each latency and CPU measurement.
        #[arg(long, default_value_t = 20)]
        secs: u64,
        /// Alternating rounds of the latency measurement (Kankan, then the in-process
        /// reference): the report gives the median ratio and its spread.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        #[arg(long, default_value = "kankan-bench")]
        work_dir: PathBuf,
    },
    /// The motion detector's CPU per camera (5 fps of 640x360) against per-pixel differencing.
    Motion {
        #[arg(long, default_value_t = 500)]
        frames: usize,
        /// Alternating rounds (the detector, then the reference, on the same frames).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// Motion start to Web Push at a local push endpoint, against the same push sent directly;
    /// with `--members N`, to the last of N members' pushes too.
    Notify {
        #[arg(long, default_value_t = 100)]
        events: usize,
        /// Members the camera is shared with (each gets every event's push too).
        #[arg(long, default_value_t = 0)]
        members: usize,
        /// Alternating rounds of `events` events each (Kankan, then the direct push).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        #[arg(long, default_value = "kankan-bench")]
        work_dir: PathBuf,
    },
    /// Motion start to the "Person" push with person detection in the path (a camera replaying
    /// raw I420 footage with people in it), against the same chain without detection.
    Person {
        /// Events a round on each side.
        #[arg(long, default_value_t = 50)]
        events: usize,
        /// Alternating rounds (person alerts, then any motion).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// Raw I420 frames at 10 fps (ffmpeg -i vtest.avi -vf scale=384:288,fps=10 -f rawvideo
        /// -pix_fmt yuv420p vtest.yuv).
        #[arg(long)]
        video: PathBuf,
        /// The frames' size, WIDTHxHEIGHT.
        #[arg(long, default_value = "384x288")]
        size: String,
        /// Where scripts/models put the models.
        #[arg(long, env = "KANKAN_MODELS_DIR")]
        models_dir: PathBuf,
        #[arg(long, default_value = "kankan-bench")]
        work_dir: PathBuf,
    },
    /// The server's resident memory through registrations, correct logins and a
    /// credential-stuffing burst from many addresses, and after it.
    Login {
        #[arg(long, default_value_t = 19)]
        registrations: usize,
        #[arg(long, default_value_t = 16)]
        logins: usize,
        #[arg(long, default_value_t = 200)]
        attackers: usize,
        /// Seconds of the credential-stuffing burst.
        #[arg(long, default_value_t = 30)]
        secs: u64,
        #[arg(long, default_value = "kankan-bench")]
        work_dir: PathBuf,
    },
    /// A signed firmware image rolled out to a fleet of simulated cameras: the server's CPU
    /// and the time to all confirmed, against nginx serving the same bytes (needs nginx).
    Firmware {
        #[arg(long, default_value_t = 1000)]
        cameras: usize,
        /// Image size in KiB.
        #[arg(long, default_value_t = 256)]
        image_kib: usize,
        /// Seconds over which the cameras first connect.
        #[arg(long, default_value_t = 20)]
        ramp_secs: u64,
        /// Alternating rounds (a rollout to a fresh fleet, then nginx).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        #[arg(long, default_value = "kankan-bench")]
        work_dir: PathBuf,
    },
    /// Deleting an account with days of recordings of several cameras: the crypto-shred step
    /// and the purge, against deleting the same segments one by one.
    Cancel {
        #[arg(long, default_value_t = 30)]
        days: u32,
        #[arg(long, default_value_t = 4)]
        cameras: u32,
        /// Alternating rounds (shred and purge, then one by one), each on freshly filled
        /// accounts.
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        #[arg(long, default_value = "kankan-bench")]
        work_dir: PathBuf,
    },
    /// Person and face detection: ms per frame and CPU per camera, precision and recall on
    /// the labelled frames, ms per face, the verification proxy; against onnxruntime
    /// (`scripts/bench-vision`). Needs `scripts/models`, ffmpeg and Debian's opencv-doc.
    Vision {
        /// The models (default: `KANKAN_MODELS_DIR`, else `~/.cache/kankan/models`).
        #[arg(long)]
        models_dir: Option<PathBuf>,
        /// Frames a second analysed per camera while motion lasts (for the CPU figure).
        #[arg(long, default_value_t = 2.0)]
        sample_fps: f64,
        /// The reference script (skipped when the file is not there).
        #[arg(long, default_value = "scripts/bench-vision")]
        reference: PathBuf,
        /// Alternating rounds of the whole run (tract, then onnxruntime).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        #[arg(long, default_value = "kankan-bench")]
        work_dir: PathBuf,
    },
    /// Days of one camera's segments in the index: bytes per stream-minute, timeline query.
    Index {
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Alternating rounds (10 timeline queries, then one segment scan).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        #[arg(long, default_value = "kankan-bench")]
        work_dir: PathBuf,
    },
}

/// Runs one benchmark.
pub(crate) async fn run(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Live { starts, viewers, secs, rounds, work_dir } => {
            let b = kankan_server::bench::LiveBench { starts, viewers, secs, rounds, work_dir };
            kankan_server::bench::live(b).await
        }
        BenchCommand::Rtsp { cameras, secs, warmup_secs, rounds, bitrate, motion, work_dir } => {
            let b = kankan_server::bench::RtspBench {
                cameras,
                secs,
                warmup_secs,
                rounds,
                bitrate,
                motion,
                work_dir,
            };
            kankan_server::bench::rtsp(b).await
        }
        BenchCommand::Motion { frames, rounds } => kankan_server::bench::motion(frames, rounds),
        BenchCommand::Vision { models_dir, sample_fps, reference, rounds, work_dir } => {
            kankan_server::bench::vision(models_dir, sample_fps, reference, rounds, work_dir)
        }
        BenchCommand::Notify { events, members, rounds, work_dir } => {
            kankan_server::bench::notify(events, members, rounds, work_dir).await
        }
        BenchCommand::Person { events, rounds, video, size, models_dir, work_dir } => {
            let size = size
                .split_once('x')
                .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
                .context("--size must look like 384x288")?;
            let b = kankan_server::bench::PersonBench {
                events,
                rounds,
                video,
                size,
                models_dir,
                work_dir,
            };
            kankan_server::bench::person(b).await
        }
        BenchCommand::Login { registrations, logins, attackers, secs, work_dir } => {
            let b = kankan_server::bench::LoginBench {
                registrations,
                logins,
                attackers,
                secs,
                work_dir,
            };
            kankan_server::bench::login(b).await
        }
        BenchCommand::Firmware { cameras, image_kib, ramp_secs, rounds, work_dir } => {
            let b = kankan_server::bench::FirmwareBench {
                cameras,
                image_kib,
                ramp_secs,
                rounds,
                work_dir,
            };
            kankan_server::bench::firmware(b).await
        }
        BenchCommand::Cancel { days, cameras, rounds, work_dir } => {
            kankan_server::bench::cancel(&work_dir, days, cameras, rounds).await
        }
        BenchCommand::Index { days, rounds, work_dir } => {
            kankan_server::bench::index(&work_dir, days, rounds).await
        }
        BenchCommand::Ingest {
            streams,
            reference,
            secs,
            warmup_secs,
            rounds,
            bitrate,
            checkpoint,
            nodes,
            work_dir,
        } => {
            let b = kankan_server::bench::IngestBench {
                streams,
                reference,
                secs,
                warmup_secs,
                rounds,
                bitrate,
                checkpoint,
                nodes,
                work_dir,
            };
            kankan_server::bench::ingest(b).await
        }
    }
}
