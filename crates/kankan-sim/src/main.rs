//! `kankan-cam`: run a simulated camera or doorbell (or a fleet of them) against a Kankan
//! server. Logs go to stderr, filtered by `KANKAN_LOG` (default `info`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use kankan_base::{Shutdown, ShutdownSignal};
use kankan_protocol::device::CommandKind;
use kankan_sim::pairing::{Source, read_and_join};
use kankan_sim::video::sound::SoundPlan;
use kankan_sim::{
    Backoff, ClaimOutcome, Device, DeviceConfig, ServerAddr, SimError, Timings, fleet, talk, video,
};
use tokio::sync::mpsc;

#[derive(Parser)]
#[command(name = "kankan-cam", version, about = "A simulated Kankan camera or doorbell")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Pair from a QR image or a pairing sound, claim the binding, then keep running.
    Pair(PairArgs),
    /// Run an already paired (or provisioned) device.
    Run(RunArgs),
    /// Run many already-bound devices from a credentials CSV (uid,model,secret).
    Fleet(FleetArgs),
}

#[derive(Args)]
struct Identity {
    /// The device UID (6-32 of A-Z, 0-9); with --credentials, which line of it.
    #[arg(long, default_value = "", hide_default_value = true)]
    uid: String,
    /// The device secret (prefer the environment variable to keep it out of `ps`).
    #[arg(
        long,
        env = "KANKAN_CAM_SECRET",
        hide_env_values = true,
        default_value = "",
        hide_default_value = true
    )]
    secret: String,
    /// The provisioning CSV (`uid,model,secret`, as `kankan admin devices provision --out`
    /// writes it): the UID, the model (a doorbell's `KK-D1` too) and the secret come from it,
    /// from the line of --uid or the file's only line.
    #[arg(long)]
    credentials: Option<PathBuf>,
    /// Where the device keeps its state file.
    #[arg(long)]
    state_dir: PathBuf,
    /// The model; models starting with KK-D are doorbells. Default: the stored one, or KK-C1.
    #[arg(long)]
    model: Option<String>,
    /// IANA time zone. Default: the stored one, or Asia/Shanghai.
    #[arg(long)]
    timezone: Option<String>,
}

impl Identity {
    /// Fills in what --credentials gives; then the UID and the secret must be known.
    fn load(&mut self) -> anyhow::Result<()> {
        if let Some(path) = &self.credentials {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let creds = kankan_sim::fleet::parse_credentials(&text)?;
            let line = if self.uid.is_empty() {
                match creds.as_slice() {
                    [one] => one,
                    _ => anyhow::bail!(
                        "{} holds {} devices: pick one with --uid",
                        path.display(),
                        creds.len()
                    ),
                }
            } else {
                creds
                    .iter()
                    .find(|c| c.uid == self.uid)
                    .with_context(|| format!("{} has no line for {}", path.display(), self.uid))?
            };
            self.uid.clone_from(&line.uid);
            if self.secret.is_empty() {
                self.secret.clone_from(&line.secret);
            }
            if self.model.is_none() {
                self.model = Some(line.model.clone());
            }
        }
        anyhow::ensure!(!self.uid.is_empty(), "give --uid or --credentials");
        anyhow::ensure!(
            !self.secret.is_empty(),
            "give the secret: KANKAN_CAM_SECRET, --secret or --credentials"
        );
        Ok(())
    }
}

#[derive(Args)]
struct TimingArgs {
    /// Seconds between telemetry reports.
    #[arg(long, default_value_t = 60.0)]
    telemetry_secs: f64,
    /// First reconnection delay in milliseconds (doubles per failure, with jitter).
    #[arg(long, default_value_t = 1_000)]
    backoff_base_ms: u64,
    /// Longest reconnection delay in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    backoff_cap_ms: u64,
    /// How long a reboot keeps the device offline, in milliseconds.
    #[arg(long, default_value_t = 3_000)]
    reboot_delay_ms: u64,
    /// MQTT keep-alive in seconds (at least 1).
    #[arg(long, default_value_t = 30)]
    keep_alive_secs: u64,
    /// How long new firmware runs connected before confirming its health, in milliseconds.
    #[arg(long, default_value_t = 2_000)]
    health_check_ms: u64,
}

impl TimingArgs {
    fn timings(&self) -> anyhow::Result<Timings> {
        anyhow::ensure!(
            self.telemetry_secs.is_finite() && self.telemetry_secs > 0.0,
            "--telemetry-secs must be positive"
        );
        anyhow::ensure!(self.keep_alive_secs >= 1, "--keep-alive-secs must be at least 1");
        Ok(Timings {
            backoff: Backoff {
                base: Duration::from_millis(self.backoff_base_ms.max(1)),
                cap: Duration::from_millis(self.backoff_cap_ms.max(self.backoff_base_ms)),
            },
            telemetry: Duration::from_secs_f64(self.telemetry_secs),
            reboot_delay: Duration::from_millis(self.reboot_delay_ms),
            keep_alive: Duration::from_secs(self.keep_alive_secs),
            health_check: Duration::from_millis(self.health_check_ms),
        })
    }
}

#[derive(Args, Clone)]
struct FirmwareArgs {
    /// The operator's firmware public key (base64url Ed25519, `[firmware] public_key` on the
    /// server): updates must be signed with it. Without it every update is refused.
    #[arg(long)]
    firmware_key: Option<String>,
    /// Where firmware is downloaded from: the server's address, e.g. https://127.0.0.1:8080
    /// (held to the pinned server key). Default: --ingest.
    #[arg(long)]
    firmware_from: Option<String>,
    /// New firmware fails its health check, so the device rolls back (tests).
    #[arg(long)]
    fail_health: bool,
}

impl FirmwareArgs {
    fn apply(&self, cfg: &mut DeviceConfig, video: &VideoArgs) {
        cfg.firmware_key.clone_from(&self.firmware_key);
        cfg.ingest_url = self.firmware_from.clone().or_else(|| video.ingest.clone());
        cfg.fail_health = self.fail_health;
    }
}

#[derive(Args, Clone)]
struct VideoArgs {
    /// Record: stream video to this server's ingest (its address, e.g.
    /// https://127.0.0.1:8080, held to the pinned server key). Without it the device sends
    /// no video.
    #[arg(long)]
    ingest: Option<String>,
    /// Picture size, WIDTHxHEIGHT (even numbers).
    #[arg(long, default_value = "640x360")]
    video_size: String,
    /// Frames per second (must divide 90000).
    #[arg(long, default_value_t = 15)]
    fps: u32,
    /// Target bit rate in bits per second.
    #[arg(long, default_value_t = 1_000_000)]
    bitrate: u32,
    /// Seconds between keyframes (one fragment per keyframe interval).
    #[arg(long, default_value_t = 1)]
    keyframe_secs: u32,
    /// Replay two pre-encoded seconds instead of encoding (load tests; the clock repeats).
    #[arg(long)]
    prerecorded: bool,
    /// Keep the scene still (no motion).
    #[arg(long)]
    still: bool,
    /// What the microphone hears (an Opus track in the upload; `none`: no audio track).
    #[arg(long, value_enum, default_value_t = SoundArg::Cycle)]
    sound: SoundArg,
    /// Seed of the sound scene (the same seed, the same sound).
    #[arg(long, default_value_t = 7)]
    sound_seed: u64,
    /// Encode this file of raw I420 frames (of --video-size, e.g. from `ffmpeg -i in.avi -f
    /// rawvideo -pix_fmt yuv420p out.yuv`) at --fps instead of the synthetic scene, looped;
    /// the motion detector watches the whole picture. No sub-stream.
    #[arg(long)]
    video_file: Option<PathBuf>,
    /// Play --video-file once, then hold its last frame (a still picture).
    #[arg(long, requires = "video_file")]
    video_file_once: bool,
    /// Also record a 320x180 sub-stream (stream 1).
    #[arg(long)]
    sub_stream: bool,
    /// SD card space for footage kept through network cuts, in MiB.
    #[arg(long, default_value_t = 64)]
    sd_mib: usize,
    /// Upload live video only while the server asks for it (a viewer is watching) instead
    /// of continuously; footage still goes to the SD card.
    #[arg(long)]
    on_demand: bool,
    /// Write what the camera's speaker played during talk to this WAV file (8 kHz mono),
    /// rewritten each time a talk channel closes.
    #[arg(long)]
    talk_out: Option<PathBuf>,
}

impl VideoArgs {
    fn config(&self, uid: &str, secret: &str) -> anyhow::Result<Option<video::VideoConfig>> {
        let Some(url) = &self.ingest else { return Ok(None) };
        let (w, h) = self
            .video_size
            .split_once('x')
            .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
            .context("--video-size must look like 640x360")?;
        let mut cfg =
            video::VideoConfig::new(url, uid, secret, std::sync::Arc::new(kankan_base::RealClock));
        cfg.encoder = kankan_video::EncoderConfig {
            width: w,
            height: h,
            fps: self.fps,
            bitrate_bps: self.bitrate,
            gop: self.fps.saturating_mul(self.keyframe_secs.max(1)),
        };
        cfg.prerecorded = self.prerecorded;
        cfg.sub_stream = self.sub_stream.then_some(kankan_video::EncoderConfig {
            width: 320,
            height: 180,
            fps: self.fps,
            bitrate_bps: 250_000,
            gop: cfg.encoder.gop,
        });
        cfg.motion = !self.still;
        cfg.sound = self.sound.plan().map(|p| (p, self.sound_seed));
        cfg.video_file = self
            .video_file
            .clone()
            .map(|path| video::VideoFile { path, once: self.video_file_once });
        cfg.sd_bytes = self.sd_mib.saturating_mul(1024 * 1024);
        cfg.on_demand = self.on_demand;
        Ok(Some(cfg))
    }

    /// The device, with a channel for media commands and one for its motion detector's
    /// events when it sends video.
    fn device(&self, cfg: DeviceConfig) -> anyhow::Result<(Device, Option<Wiring>)> {
        let device = Device::new(cfg)?;
        if self.ingest.is_none() {
            return Ok((device, None));
        }
        let (tx, commands) = mpsc::unbounded_channel();
        let (events, rx) = mpsc::unbounded_channel();
        let (device, settings) = device.with_media(tx).with_motion(rx);
        let motion = video::MotionLink { events, settings };
        let log = device.log();
        Ok((device, Some(Wiring { commands, motion, log })))
    }

    /// Starts recording when `--ingest` was given, and the task that obeys media commands.
    fn start(
        &self,
        id: &Identity,
        media: Option<Wiring>,
        pin: Option<kankan_sim::tls::Pin>,
        signal: &ShutdownSignal,
    ) -> anyhow::Result<()> {
        if let Some(mut cfg) = self.config(&id.uid, &id.secret)? {
            cfg.pin = pin;
            cfg.secret_from = Some(id.state_dir.clone());
            let media = media.map(|w| {
                cfg.motion_events = Some(w.motion);
                cfg.log = Some(w.log);
                w.commands
            });
            let mut talk_cfg = talk::TalkConfig::new(&cfg.ingest_url, &cfg.uid, &cfg.secret);
            talk_cfg.secret_from = Some(id.state_dir.clone());
            talk_cfg.out.clone_from(&self.talk_out);
            talk_cfg.pin = pin;
            let handle = video::start(cfg, signal.clone())?;
            if let Some(rx) = media {
                let talk = talk::start(talk_cfg, signal.clone());
                tokio::spawn(kankan_sim::media::serve_with_talk(rx, handle, Some(talk)));
            }
        }
        Ok(())
    }
}

/// How the device loop and the camera's media tasks talk.
struct Wiring {
    commands: mpsc::UnboundedReceiver<CommandKind>,
    motion: video::MotionLink,
    /// The device's log, where the video writes its upload problems.
    log: kankan_sim::devlog::DevLog,
}

/// What a person does to the device, for demos.
#[derive(Args, Clone)]
struct HandArgs {
    /// Press the doorbell's button every SECS seconds (doorbells: models KK-D*).
    #[arg(long, value_name = "SECS")]
    press_every: Option<f64>,
    /// Pull the device off its mount SECS seconds after start (a tamper alarm), once.
    #[arg(long, value_name = "SECS")]
    tamper_after: Option<f64>,
}

impl HandArgs {
    /// Starts pressing and tampering as asked, until `signal`.
    fn start(&self, buttons: kankan_sim::Buttons, signal: &ShutdownSignal) -> anyhow::Result<()> {
        let secs = |v: Option<f64>, flag: &str| -> anyhow::Result<Option<Duration>> {
            v.map(|s| {
                anyhow::ensure!(s.is_finite() && s > 0.0, "{flag} must be positive");
                Ok(Duration::from_secs_f64(s))
            })
            .transpose()
        };
        if let Some(every) = secs(self.press_every, "--press-every")? {
            buttons.press()?;
            buttons.press_every(every, signal.clone());
        }
        if let Some(after) = secs(self.tamper_after, "--tamper-after")? {
            let mut stop = signal.clone();
            tokio::spawn(async move {
                tokio::select! {
                    () = stop.wait() => {}
                    () = tokio::time::sleep(after) => { let _ = buttons.tamper(); }
                }
            });
        }
        Ok(())
    }
}

#[derive(Args)]
struct PairArgs {
    #[command(flatten)]
    id: Identity,
    /// A photo of the pairing QR code (PNG or JPEG).
    #[arg(long, conflicts_with = "wav", required_unless_present = "wav")]
    qr: Option<PathBuf>,
    /// A recording of the pairing sound (WAV).
    #[arg(long)]
    wav: Option<PathBuf>,
    /// Exit once the server accepted the claim instead of running on.
    #[arg(long)]
    exit_after_pair: bool,
    /// How long to wait for the server's answer to the claim, in seconds.
    #[arg(long, default_value_t = 60)]
    claim_timeout_secs: u64,
    #[command(flatten)]
    timing: TimingArgs,
    #[command(flatten)]
    video: VideoArgs,
    #[command(flatten)]
    firmware: FirmwareArgs,
    #[command(flatten)]
    hand: HandArgs,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    id: Identity,
    /// The server, e.g. mqtts://127.0.0.1:8883. Default: the one stored when pairing.
    #[arg(long)]
    server: Option<String>,
    /// The server's TLS key to hold it to (hex SHA-256 of its SubjectPublicKeyInfo).
    /// Default: the one stored when pairing.
    #[arg(long)]
    pin: Option<String>,
    #[command(flatten)]
    timing: TimingArgs,
    #[command(flatten)]
    video: VideoArgs,
    #[command(flatten)]
    firmware: FirmwareArgs,
    #[command(flatten)]
    hand: HandArgs,
}

#[derive(Args)]
struct FleetArgs {
    /// How many devices to run (the first N of the file). Default: all.
    #[arg(long)]
    count: Option<usize>,
    /// The credentials CSV with header uid,model,secret.
    #[arg(long)]
    credentials: PathBuf,
    /// The server, e.g. mqtts://127.0.0.1:8883.
    #[arg(long)]
    server: String,
    /// The server's TLS key (hex SHA-256 of its SubjectPublicKeyInfo), for mqtts:// and
    /// https://.
    #[arg(long)]
    pin: Option<String>,
    /// Each device keeps its state in <state-dir>/<UID>.
    #[arg(long)]
    state_dir: PathBuf,
    /// Spread the devices' first connections over this many seconds.
    #[arg(long, default_value_t = 0.0)]
    ramp_secs: f64,
    /// This percentage of the devices (by a stable hash of the UID) fail the health check of
    /// new firmware.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    fail_health_percent: u8,
    #[command(flatten)]
    timing: TimingArgs,
    #[command(flatten)]
    video: VideoArgs,
    #[command(flatten)]
    firmware: FirmwareArgs,
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kankan-cam: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kankan-cam: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    let filter = std::env::var("KANKAN_LOG")
        .ok()
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let (shutdown, signal) = Shutdown::new();
    tokio::spawn(stop_on_signals(shutdown));
    match cli.command {
        Command::Pair(mut args) => {
            args.id.load()?;
            pair(args, signal).await
        }
        Command::Run(mut args) => {
            args.id.load()?;
            let mut cfg = device_config(&args.id, args.timing.timings()?);
            cfg.server = args.server.as_deref().map(ServerAddr::parse).transpose()?;
            cfg.pin = args.pin.as_deref().map(parse_pin).transpose()?;
            args.firmware.apply(&mut cfg, &args.video);
            let (device, media) = args.video.device(cfg)?;
            args.video.start(&args.id, media, device.pin(), &signal)?;
            args.hand.start(device.buttons(), &signal)?;
            Ok(device.run(signal).await?)
        }
        Command::Fleet(args) => run_fleet(args, signal).await,
    }
}

fn device_config(id: &Identity, timings: Timings) -> DeviceConfig {
    let mut cfg = DeviceConfig::new(&id.uid, &id.secret, id.state_dir.clone());
    cfg.model.clone_from(&id.model);
    cfg.timezone.clone_from(&id.timezone);
    cfg.timings = timings;
    cfg
}

async fn pair(args: PairArgs, signal: ShutdownSignal) -> anyhow::Result<()> {
    let source = match (&args.qr, &args.wav) {
        (Some(qr), _) => Source::Qr(qr),
        (None, Some(wav)) => Source::Wav(wav),
        (None, None) => anyhow::bail!("give --qr or --wav"),
    };
    // After a rotation the device's secret is the one on its flash, not the factory's.
    let secret = kankan_sim::state::current_secret(&args.id.state_dir, &args.id.secret)?;
    let joined = read_and_join(source, &secret)?;
    println!("joined Wi-Fi {:?}; claiming on {}", joined.ssid, joined.server);
    let mut cfg = device_config(&args.id, args.timing.timings()?);
    cfg.pairing = Some(joined);
    args.firmware.apply(&mut cfg, &args.video);
    let (device, media) = args.video.device(cfg)?;
    let pin = device.pin();
    let handle = device.handle();
    let buttons = device.buttons();
    let (stop, device_signal) = Shutdown::new();
    let task = tokio::spawn(device.run(device_signal));
    let timeout = Duration::from_secs(args.claim_timeout_secs);
    let mut outer = signal.clone();
    let outcome = tokio::select! {
        s = handle.wait_for("the server's answer to the claim", timeout, |s| s.claim.is_some()) => s,
        () = outer.wait() => Err(SimError::Timeout("interrupted before the claim was answered".into())),
    };
    let result = match outcome.map(|s| s.claim) {
        Ok(Some(ClaimOutcome::Accepted)) => {
            println!("paired: {} is bound", args.id.uid);
            if !args.exit_after_pair {
                args.video.start(&args.id, media, pin, &signal)?;
                args.hand.start(buttons, &signal)?;
            }
            Ok(())
        }
        Ok(Some(ClaimOutcome::Refused(code))) => Err(SimError::ClaimRefused { code }.into()),
        Ok(None) => Err(anyhow::anyhow!("no claim outcome")),
        Err(e) => Err(e.into()),
    };
    if result.is_err() || args.exit_after_pair {
        stop.trigger();
        task.await.context("device task")??;
        return result;
    }
    // Keep running as `run` would until the process is told to stop.
    let mut outer = signal;
    outer.wait().await;
    stop.trigger();
    Ok(task.await.context("device task")??)
}

async fn run_fleet(args: FleetArgs, signal: ShutdownSignal) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.credentials)
        .with_context(|| format!("reading {}", args.credentials.display()))?;
    let mut creds = fleet::parse_credentials(&text)?;
    if let Some(n) = args.count {
        anyhow::ensure!(n <= creds.len(), "--count {n} but the file lists {} devices", creds.len());
        creds.truncate(n);
    }
    anyhow::ensure!(
        args.ramp_secs.is_finite() && args.ramp_secs >= 0.0,
        "--ramp-secs must be zero or more"
    );
    anyhow::ensure!(!args.video.on_demand, "--on-demand works with run and pair, not fleet");
    let server = ServerAddr::parse(&args.server)?;
    let timings = args.timing.timings()?;
    let ramp = Duration::from_secs_f64(args.ramp_secs);
    let pin = args.pin.as_deref().map(parse_pin).transpose()?;
    let mut opts = fleet::FleetOptions::new(server.clone(), args.state_dir.clone());
    (opts.pin, opts.timings, opts.ramp) = (pin, timings, ramp);
    opts.firmware_key.clone_from(&args.firmware.firmware_key);
    opts.ingest_url = args.firmware.firmware_from.clone().or_else(|| args.video.ingest.clone());
    opts.fail_health_percent =
        if args.firmware.fail_health { 100 } else { args.fail_health_percent };
    let fleet = fleet::Fleet::start_with(&creds, &opts, &signal)?;
    for c in &creds {
        if let Some(mut cfg) = args.video.config(&c.uid, &c.secret)? {
            cfg.pin = pin;
            // The secret the device holds once the operator rotated it.
            cfg.secret_from = Some(args.state_dir.join(&c.uid));
            video::start(cfg, signal.clone())?;
        }
    }
    println!("running {} devices against {server}", creds.len());
    Ok(fleet.join().await?)
}

fn parse_pin(hex: &str) -> anyhow::Result<kankan_sim::tls::Pin> {
    kankan_sim::tls::Pin::from_hex(hex).context("--pin must be 64 hex digits (a SHA-256)")
}

/// Triggers shutdown on Ctrl-C or SIGTERM.
async fn stop_on_signals(shutdown: Shutdown) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("stopping");
    shutdown.trigger();
}

/// `--sound`: a plan of the microphone's scene, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SoundArg {
    None,
    Silence,
    Knock,
    Speech,
    Cycle,
}

impl SoundArg {
    fn plan(self) -> Option<SoundPlan> {
        match self {
            SoundArg::None => None,
            SoundArg::Silence => Some(SoundPlan::Silence),
            SoundArg::Knock => Some(SoundPlan::Knock),
            SoundArg::Speech => Some(SoundPlan::Speech),
            SoundArg::Cycle => Some(SoundPlan::Cycle),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::{Cli, Command};

    fn identity(args: &[&str]) -> anyhow::Result<super::Identity> {
        let mut argv = vec!["kankan-cam", "run", "--state-dir", "cam"];
        argv.extend_from_slice(args);
        let Command::Run(mut run) = Cli::try_parse_from(argv)?.command else {
            anyhow::bail!("not run");
        };
        run.id.load()?;
        Ok(run.id)
    }

    // Fails without --credentials: the model defaulted to a camera, so a provisioned
    // doorbell's line run as it stood came up as a camera.
    #[test]
    fn the_provisioning_line_gives_the_uid_the_model_and_the_secret() {
        let dir = tempfile::tempdir().expect("tmp");
        let one = dir.path().join("bell.csv");
        std::fs::write(&one, "uid,model,secret\nKKD0000001,KK-D1,s3cret\n").expect("write");
        let one = one.to_str().expect("utf-8");
        let id = identity(&["--credentials", one]).expect("loads");
        assert_eq!((id.uid.as_str(), id.model.as_deref()), ("KKD0000001", Some("KK-D1")));
        assert_eq!(id.secret, "s3cret");
        let two = dir.path().join("two.csv");
        std::fs::write(&two, "uid,model,secret\nKKA0000001,KK-C1,a\nKKB0000002,KK-D1,b\n")
            .expect("write");
        let two = two.to_str().expect("utf-8");
        assert!(identity(&["--credentials", two]).is_err(), "two lines need --uid");
        let b = identity(&["--credentials", two, "--uid", "KKB0000002"]).expect("picked");
        assert_eq!((b.model.as_deref(), b.secret.as_str()), (Some("KK-D1"), "b"));
        assert!(identity(&["--credentials", two, "--uid", "KKC0000003"]).is_err());
        assert!(identity(&[]).is_err(), "no UID, no secret");
    }
}
