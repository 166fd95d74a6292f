//! The camera's recording: the picture source, the SD card (a bounded ring that overwrites
//! the oldest footage), the live upload to the server's ingest and the backfill after an
//! outage. See docs/ref/ingest.md for the protocol.

mod source;
mod uplink;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kankan_base::{Clocks, ShutdownSignal};
use kankan_video::EncoderConfig;
use tokio::sync::watch;

use crate::SimError;

pub use source::{Fragment, TIMESCALE};

/// What the camera records and where it sends it.
#[derive(Clone)]
pub struct VideoConfig {
    /// The server's HTTP base URL, e.g. `http://127.0.0.1:8080`.
    pub ingest_url: String,
    pub uid: String,
    pub secret: String,
    pub encoder: EncoderConfig,
    /// A low-resolution sub-stream recorded beside the main one (stream 1), if any.
    pub sub_stream: Option<EncoderConfig>,
    /// Replay two pre-encoded seconds instead of encoding every frame (load tests).
    pub prerecorded: bool,
    /// Move the scene's objects (motion) or keep the picture still.
    pub motion: bool,
    /// SD card capacity for footage, in bytes.
    pub sd_bytes: usize,
    /// First reconnection delay; doubles per failure up to 16 times it.
    pub retry: Duration,
    pub clock: Clocks,
}

impl std::fmt::Debug for VideoConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoConfig")
            .field("ingest_url", &self.ingest_url)
            .field("uid", &self.uid)
            .field("encoder", &self.encoder)
            .field("prerecorded", &self.prerecorded)
            .finish_non_exhaustive()
    }
}

impl VideoConfig {
    pub fn new(ingest_url: &str, uid: &str, secret: &str, clock: Clocks) -> Self {
        VideoConfig {
            ingest_url: ingest_url.trim_end_matches('/').to_string(),
            uid: uid.to_string(),
            secret: secret.to_string(),
            encoder: EncoderConfig::default(),
            sub_stream: None,
            prerecorded: false,
            motion: true,
            sd_bytes: 64 * 1024 * 1024,
            retry: Duration::from_millis(500),
            clock,
        }
    }
}

/// What the camera's recording is doing.
#[derive(Debug, Clone, Default)]
pub struct VideoStatus {
    /// Fragments made so far.
    pub made: u64,
    /// Fragments written to a live upload.
    pub sent_live: u64,
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
    let (tx, rx) = watch::channel(VideoStatus::default());
    if let Some(sub) = config.sub_stream {
        let (sub_tx, _) = watch::channel(VideoStatus::default());
        let cfg = VideoConfig { encoder: sub, sub_stream: None, ..config.clone() };
        pipeline(cfg, 1, sub_tx, uplink.clone(), shutdown.clone())?;
    }
    pipeline(config, 0, tx, uplink.clone(), shutdown)?;
    Ok(VideoHandle { status: rx, uplink })
}

fn pipeline(
    config: VideoConfig,
    stream: u8,
    status: watch::Sender<VideoStatus>,
    uplink: Arc<AtomicBool>,
    shutdown: ShutdownSignal,
) -> Result<(), SimError> {
    let stop = Arc::new(AtomicBool::new(false));
    let clock = config.clock.clone();
    let (started, frags) = source::spawn(
        config.encoder,
        config.prerecorded,
        config.motion,
        move || clock.now().0,
        stop.clone(),
    )?;
    let sd = Arc::new(Mutex::new(SdCard { capacity: config.sd_bytes, ..SdCard::default() }));
    let task = uplink::Uplink::new(config, started, sd, status, uplink, stream)?;
    tokio::spawn(async move {
        task.run(frags, shutdown).await;
        stop.store(true, Ordering::SeqCst);
    });
    Ok(())
}
