//! The camera's recording: the picture source, the SD card (a bounded ring that overwrites
//! the oldest footage), the live upload to the server's ingest and the backfill after an
//! outage. See docs/ref/ingest.md for the protocol.

pub mod card;
pub mod sound;
mod source;
mod uplink;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kankan_base::{Clocks, ShutdownSignal};
use kankan_protocol::device::{DeviceEvent, Settings};
use kankan_video::EncoderConfig;
use tokio::sync::{mpsc, watch};

use crate::SimError;

pub use source::{Fragment, TIMESCALE, VideoFile};

/// What the camera records and where it sends it.
#[derive(Clone)]
pub struct VideoConfig {
    /// The server's HTTP base URL, e.g. `https://127.0.0.1:8080`.
    pub ingest_url: String,
    /// The server's TLS public key, required for an `https://` URL.
    pub pin: Option<crate::tls::Pin>,
    pub uid: String,
    /// The factory secret (see `secret_from`).
    pub secret: String,
    /// The device's state directory: once the server rotated the secret, the one stored
    /// there is used instead of `secret` (read at each upload).
    pub secret_from: Option<std::path::PathBuf>,
    pub encoder: EncoderConfig,
    /// A low-resolution sub-stream recorded beside the main one (stream 1), if any.
    pub sub_stream: Option<EncoderConfig>,
    /// Replay two pre-encoded seconds instead of encoding every frame (load tests).
    pub prerecorded: bool,
    /// Move the scene's objects (motion) or keep the picture still.
    pub motion: bool,
    /// The microphone's scene (an Opus track on the main stream, heard by the sound
    /// detector when `motion_events` is set), and its seed; `None`: no audio track.
    pub sound: Option<(sound::SoundPlan, u64)>,
    /// Encode this file's raw I420 frames (of the encoder's size) instead of the synthetic
    /// scene; no sub-stream then.
    pub video_file: Option<VideoFile>,
    /// The motion detector's link to the device: its events go out on `event`, its settings
    /// come from the device's (desired) settings. No detector without it; the main stream
    /// only.
    pub motion_events: Option<MotionLink>,
    /// Upload only while the server asks (`stream-start` .. `stream-stop`, for a viewer);
    /// otherwise upload continuously. Footage always goes to the SD card. The owner's
    /// `card-only` recording mode (in the settings of `motion_events`) makes any camera
    /// upload only on demand, and never backfill.
    pub on_demand: bool,
    /// SD card capacity for footage, in bytes.
    pub sd_bytes: usize,
    /// First reconnection delay; doubles per failure up to 16 times it.
    pub retry: Duration,
    pub clock: Clocks,
    /// The device's log ([`crate::devlog`]): upload problems are written there.
    pub log: Option<crate::devlog::DevLog>,
}

impl std::fmt::Debug for VideoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoConfig")
            .field("ingest_url", &self.ingest_url)
            .field("uid", &self.uid)
            .field("encoder", &self.encoder)
            .field("prerecorded", &self.prerecorded)
            .field("on_demand", &self.on_demand)
            .finish_non_exhaustive()
    }
}

impl VideoConfig {
    /// The secret to log in with now.
    pub fn current_secret(&self) -> String {
        match &self.secret_from {
            Some(dir) => crate::state::current_secret(dir, &self.secret)
                .unwrap_or_else(|_| self.secret.clone()),
            None => self.secret.clone(),
        }
    }

    pub fn new(ingest_url: &str, uid: &str, secret: &str, clock: Clocks) -> Self {
        VideoConfig {
            ingest_url: ingest_url.trim_end_matches('/').to_string(),
            pin: None,
            uid: uid.to_string(),
            secret: secret.to_string(),
            secret_from: None,
            encoder: EncoderConfig::default(),
            sub_stream: None,
            prerecorded: false,
            motion: true,
            sound: None,
            video_file: None,
            on_demand: false,
            motion_events: None,
            sd_bytes: 64 * 1024 * 1024,
            retry: Duration::from_millis(500),
            clock,
            log: None,
        }
    }
}

/// How the motion detector and the device loop talk.
#[derive(Debug, Clone)]
pub struct MotionLink {
    /// Motion start and end, for the device to publish.
    pub events: mpsc::UnboundedSender<DeviceEvent>,
    /// The user's settings as the device has them now (motion on/off, sensitivity, zones,
    /// schedule, time zone).
    pub settings: watch::Receiver<Settings>,
}

/// What the camera's recording is doing.
#[derive(Debug, Clone, Default)]
pub struct VideoStatus {
    /// Fragments (frames) made so far, and the video they hold in milliseconds.
    pub made: u64,
    pub made_ms: i64,
    /// Fragments written to a live upload, and the video they hold in milliseconds.
    pub sent_live: u64,
    pub sent_live_ms: i64,
    /// Wall-clock end of the last fragment written to a live upload.
    pub last_sent_end_ms: Option<i64>,
    /// Live uploads opened so far.
    pub connections: u64,
    pub live: bool,
    /// Backfill uploads finished, and the fragments they carried.
    pub backfills: u64,
    pub backfilled: u64,
    /// Fragments on the SD card now, and the oldest one's start.
    pub sd_fragments: usize,
    pub last_error: Option<String>,
}

/// The SD card: fragments in time order, oldest dropped first when full.
#[derive(Debug, Default)]
pub(crate) struct SdCard {
    frags: VecDeque<Fragment>,
    bytes: usize,
    capacity: usize,
}

impl SdCard {
    fn push(&mut self, f: Fragment) {
        self.bytes += f.bytes.len();
        self.frags.push_back(f);
        while self.bytes > self.capacity && self.frags.len() > 1 {
            if let Some(old) = self.frags.pop_front() {
                self.bytes -= old.bytes.len();
            }
        }
    }

    /// The GOP in progress: the fragments from the latest keyframe on.
    fn current_gop(&self) -> Vec<Fragment> {
        let from = self.frags.iter().rposition(|f| f.keyframe);
        from.map(|i| self.frags.range(i..).cloned().collect()).unwrap_or_default()
    }

    /// Fragments that start in `[from, to)`.
    fn between(&self, from: i64, to: i64) -> Vec<Fragment> {
        self.frags.iter().filter(|f| f.start_ms >= from && f.start_ms < to).cloned().collect()
    }
}

/// Controls and watches a camera's recording.
#[derive(Debug, Clone)]
pub struct VideoHandle {
    status: watch::Receiver<VideoStatus>,
    uplink: Arc<AtomicBool>,
    /// Whether the server asks each stream (0 main, 1 sub) to upload live now.
    wanted: Arc<[watch::Sender<bool>; 2]>,
    /// The main stream's SD card, served from afar (`card.rs`).
    card: Arc<card::CardServer>,
}

impl VideoHandle {
    pub fn status(&self) -> VideoStatus {
        self.status.borrow().clone()
    }

    /// Cuts (`false`) or restores (`true`) the camera's network for media: a cut drops the
    /// live upload at once and footage goes to the SD card only.
    pub fn set_uplink(&self, up: bool) {
        self.uplink.store(up, Ordering::SeqCst);
    }

    /// Starts (`true`) or stops the live upload of `stream` (0 main, 1 sub): what the
    /// server's `stream-start` and `stream-stop` commands do. A camera that uploads
    /// continuously keeps uploading.
    pub fn set_streaming(&self, stream: u8, on: bool) {
        if let Some(w) = self.wanted.get(usize::from(stream)) {
            w.send_replace(on);
        }
    }

    /// The spans of footage the main stream's SD card holds in `[from, to)`: what it answers
    /// to `card-list`.
    pub fn card_spans(&self, from: i64, to: i64) -> Vec<kankan_protocol::device::CardSpan> {
        self.card.listing(from, to).spans
    }

    /// Answers the server's `card-list` or `card-play` command from the main stream's SD card
    /// (on a task of its own: a playback posts while the viewer reads).
    pub fn serve_card(&self, kind: kankan_protocol::device::CommandKind) {
        let card = self.card.clone();
        tokio::spawn(async move {
            if let Err(e) = card.answer(kind).await {
                tracing::warn!(uid = %card.cfg.uid, error = %e, "card command not answered");
            }
        });
    }

    /// Waits until `pred` holds, at most `timeout`.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&VideoStatus) -> bool,
    ) -> Result<VideoStatus, SimError> {
        let mut rx = self.status.clone();
        match tokio::time::timeout(timeout, rx.wait_for(|s| pred(s))).await {
            Ok(Ok(s)) => Ok(s.clone()),
            _ => Err(SimError::Timeout(format!("{what}; status: {:?}", self.status()))),
        }
    }
}

/// Starts recording: the source on its own thread, the uploads on the runtime. The handle
/// watches the main stream; a cut of the uplink cuts both streams.
pub fn start(config: VideoConfig, shutdown: ShutdownSignal) -> Result<VideoHandle, SimError> {
    let uplink = Arc::new(AtomicBool::new(true));
    let wanted = Arc::new([0, 1].map(|_| watch::channel(false).0));
    let settings = config.motion_events.as_ref().map(|m| m.settings.clone());
    let (tx, rx) = watch::channel(VideoStatus::default());
    if config.sub_stream.is_some() && config.video_file.is_some() {
        return Err(SimError::Video("a video file gives no sub-stream".into()));
    }
    if let Some(sub) = config.sub_stream {
        let (sub_tx, _) = watch::channel(VideoStatus::default());
        let cfg = VideoConfig {
            encoder: sub,
            sub_stream: None,
            motion_events: None,
            sound: None,
            ..config.clone()
        };
        let links =
            Links { up: uplink.clone(), wanted: wanted[1].subscribe(), settings: settings.clone() };
        pipeline(cfg, 1, sub_tx, links, shutdown.clone())?;
    }
    let links = Links { up: uplink.clone(), wanted: wanted[0].subscribe(), settings };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = crate::tls::http_client(&config.ingest_url, config.pin)?;
    let cfg = config.clone();
    let (sd, init) = pipeline(config, 0, tx, links, shutdown)?;
    let card = Arc::new(card::CardServer { sd, init, cfg, http });
    Ok(VideoHandle { status: rx, uplink, wanted, card })
}

/// What switches a stream's upload: the network, whether the server asks for it now, and
/// the owner's settings (the recording mode).
pub(crate) struct Links {
    pub(crate) up: Arc<AtomicBool>,
    pub(crate) wanted: watch::Receiver<bool>,
    pub(crate) settings: Option<watch::Receiver<Settings>>,
}

fn pipeline(
    config: VideoConfig,
    stream: u8,
    status: watch::Sender<VideoStatus>,
    links: Links,
    shutdown: ShutdownSignal,
) -> Result<(Arc<Mutex<SdCard>>, bytes::Bytes), SimError> {
    let stop = Arc::new(AtomicBool::new(false));
    let clock = config.clock.clone();
    let microphone = match config.sound {
        Some((plan, seed)) => {
            Some(sound::Microphone::new(plan, seed, config.motion_events.clone())?)
        }
        None => None,
    };
    let (started, frags) = source::spawn(
        config.encoder,
        source::Picture {
            prerecorded: config.prerecorded,
            motion: config.motion,
            file: config.video_file.as_ref(),
        },
        move || clock.now().0,
        stop.clone(),
        config.motion_events.clone(),
        microphone,
    )?;
    let sd = Arc::new(Mutex::new(SdCard { capacity: config.sd_bytes, ..SdCard::default() }));
    let init = started.init.clone();
    let task = uplink::Uplink::new(config, started, sd.clone(), status, links, stream)?;
    tokio::spawn(async move {
        task.run(frags, shutdown).await;
        stop.store(true, Ordering::SeqCst);
    });
    Ok((sd, init))
}
