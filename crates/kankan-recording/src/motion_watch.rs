//! Motion detection on the server, for cameras without a detector of their own (RTSP
//! cameras): the live stream is decoded with OpenH264 and its frames go through the same
//! detector, following the same settings, that `kankan-cam` runs on its raw frames
//! ([`MotionFollower`]), 5 frames a second. What it finds goes out as the device's own
//! `event` messages would (the caller hands them to `Devices::handle_inbound`: recorded for
//! the owner and notified).
//!
//! Decoding is what a camera's owner could make expensive, so it is bounded: a stream larger
//! than [`MAX_DECODE_PIXELS`] is not decoded at all, at most [`MAX_DECODE_FPS`] frames a second
//! are decoded per camera (past that the analyser waits for the next keyframe), and every
//! camera's decoding shares one [`DecodePool`] of `recording.rtsp_motion_decoders` slots: a
//! camera waiting for a slot falls behind and skips to keyframes, holding nothing else up.

use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kankan_base::ShutdownSignal;
use kankan_media::{InitSegment, Limits};
use kankan_protocol::device::{DeviceEvent, Settings};
use kankan_protocol::motion::MotionFollower;
use kankan_video::{Decoder, Yuv420};
use tokio::sync::mpsc;

use super::Recordings;
use kankan_core::live::LivePart;

/// Frames analysed per second.
const ANALYSE_FPS: i64 = 5;
/// The largest picture decoded (1920x1088): larger streams get no server-side detection.
pub const MAX_DECODE_PIXELS: u32 = 1920 * 1088;
/// Frames decoded per second of real time, per camera.
pub const MAX_DECODE_FPS: u32 = 30;

/// Decoding slots shared by every camera the server watches: at most `size` fragments are
/// being decoded at any moment.
#[derive(Debug)]
pub struct DecodePool {
    free: Mutex<usize>,
    freed: Condvar,
}

impl DecodePool {
    pub fn new(size: usize) -> Arc<DecodePool> {
        Arc::new(DecodePool { free: Mutex::new(size.max(1)), freed: Condvar::new() })
    }

    /// Waits for a free slot (on the analyser's own thread) and holds it until dropped.
    pub(super) fn acquire(&self) -> Slot<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Slot(self)
    }
}

pub(super) struct Slot<'a>(&'a DecodePool);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

/// At most [`MAX_DECODE_FPS`] decodes a second; once over, none until the next keyframe
/// (a frame after a skipped one would not decode right anyway).
#[derive(Debug)]
pub(super) struct FrameBudget {
    window: Instant,
    used: u32,
    await_key: bool,
}

impl FrameBudget {
    pub(super) fn new() -> FrameBudget {
        FrameBudget { window: Instant::now(), used: 0, await_key: false }
    }

    /// Whether a frame (a keyframe or not) may be decoded at `now`.
    fn admit(&mut self, keyframe: bool, now: Instant) -> bool {
        if now.duration_since(self.window) >= Duration::from_secs(1) {
            self.window = now;
            self.used = 0;
        }
        if self.await_key && !keyframe {
            return false;
        }
        if self.used >= MAX_DECODE_FPS {
            self.await_key = true;
            return false;
        }
        self.await_key = false;
        self.used += 1;
        true
    }
}
/// Parts waiting for the analyser; past this it skips to the next keyframe.
const BACKLOG: usize = 64;
/// How often the owner's settings are read again.
const SETTINGS_EVERY: Duration = Duration::from_secs(15);
/// How often a stream that is not live is looked for.
const RETRY: Duration = Duration::from_secs(1);

/// What the analyser thread is given.
enum Input {
    Init(Bytes),
    /// The GOP in progress when watching began: fragments whose last ended at this time.
    Backlog(Vec<Bytes>, i64),
    /// A fragment and the wall-clock ms it arrived at.
    Fragment(Bytes, i64),
    Settings(Box<Settings>),
    /// The stream stopped at this time: end an event in progress.
    End(i64),
}

impl Recordings {
    /// Watches stream `stream` of camera `uid` for motion until `stop`, through stream ends
    /// and restarts, and sends what it finds to `found`.
    pub async fn watch_motion(
        &self,
        uid: String,
        stream: u8,
        mut stop: ShutdownSignal,
        found: mpsc::UnboundedSender<DeviceEvent>,
    ) {
        let (input, parts) = std_mpsc::sync_channel::<Input>(BACKLOG);
        let pool = self.inner.decoders.clone();
        let thread = std::thread::Builder::new()
            .name(format!("motion-{uid}"))
            .spawn(move || analyse(&parts, &found, &pool));
        if let Err(e) = thread {
            tracing::error!(uid, error = %e, "motion watch: no thread");
            return;
        }
        let mut settings = self.owner_settings(&uid).await;
        let _ = input.send(Input::Settings(Box::new(settings.clone())));
        let mut refresh = tokio::time::interval(SETTINGS_EVERY);
        'streams: loop {
            let Some(mut viewer) = self.live().subscribe(&uid, stream) else {
                tokio::select! {
                    () = stop.wait() => break 'streams,
                    () = tokio::time::sleep(RETRY) => continue 'streams,
                }
            };
            let mut start = std::mem::take(&mut viewer.start).into_iter();
            let mut skipping = false;
            if let Some(init) = start.next() {
                let backlog = Input::Backlog(start.collect(), self.now().0);
                skipping =
                    input.try_send(Input::Init(init)).is_err() || input.try_send(backlog).is_err();
            }
            loop {
                tokio::select! {
                    () = stop.wait() => break 'streams,
                    _ = refresh.tick() => {
                        let fresh = self.owner_settings(&uid).await;
                        if fresh != settings {
                            settings = fresh;
                            let _ = input.send(Input::Settings(Box::new(settings.clone())));
                        }
                    }
                    part = viewer.next() => {
                        let now = self.now().0;
                        let part = match part {
                            None => {
                                let _ = input.send(Input::End(now));
                                continue 'streams;
                            }
                            Some(LivePart::Init(b)) => Input::Init(b),
                            // Behind: wait for a keyframe, which decodes without the rest.
                            Some(LivePart::Fragment { keyframe: false, .. }) if skipping => continue,
                            Some(LivePart::Fragment { bytes, .. }) => Input::Fragment(bytes, now),
                        };
                        skipping = input.try_send(part).is_err();
                    }
                }
            }
        }
        // The thread ends an event in progress, then ends with the channel.
        let _ = input.send(Input::End(self.now().0));
    }

    /// The owner's settings for the camera (factory settings until they set some).
    async fn owner_settings(&self, uid: &str) -> Settings {
        match self.inner.devices.stored_desired(uid).await {
            Ok(d) => d.map(|d| d.settings).unwrap_or_default(),
            Err(e) => {
                tracing::warn!(uid, error = %e, "motion watch: reading the settings");
                Settings::default()
            }
        }
    }
}

/// The analyser thread: decodes every frame (H.264 needs them all), looks at 5 a second.
fn analyse(
    parts: &std_mpsc::Receiver<Input>,
    found: &mpsc::UnboundedSender<DeviceEvent>,
    pool: &DecodePool,
) {
    let mut a = Analyser {
        budget: FrameBudget::new(),
        limits: Limits::default(),
        follower: MotionFollower::new(Vec::new()),
        settings: Settings::default(),
        stream: None,
        next_ms: i64::MIN,
        anchor: None,
    };
    while let Ok(part) = parts.recv() {
        let seen = match part {
            Input::Settings(s) => {
                a.settings = *s;
                continue;
            }
            Input::End(at) => {
                a.stream = None;
                a.anchor = None;
                a.follower.finish(at).into_iter().collect()
            }
            Input::Init(b) => {
                a.stream = open(&b, &a.limits);
                a.anchor = None;
                a.next_ms = i64::MIN;
                continue;
            }
            Input::Backlog(frags, now) => {
                // Anchor the media clock at the newest fragment, which ended about now.
                a.anchor = frags.last().and_then(|b| a.end_decode_time(b)).map(|end| (now, end));
                let _slot = pool.acquire();
                frags.iter().flat_map(|b| a.fragment(b, now)).collect()
            }
            Input::Fragment(b, arrived) => {
                let _slot = pool.acquire();
                a.fragment(&b, arrived)
            }
        };
        for ev in seen {
            if found.send(ev).is_err() {
                return;
            }
        }
    }
}

/// The analyser thread's state for one camera.
struct Analyser {
    budget: FrameBudget,
    limits: Limits,
    follower: MotionFollower,
    settings: Settings,
    stream: Option<(InitSegment, Decoder)>,
    /// The earliest time the next analysed frame may have (5 a second).
    next_ms: i64,
    /// Wall-clock ms and decode time of one instant of the stream.
    anchor: Option<(i64, u64)>,
}

impl Analyser {
    /// Decodes a fragment; what the frames due for a look show.
    fn fragment(&mut self, bytes: &[u8], arrived: i64) -> Vec<DeviceEvent> {
        let Some((init, decoder)) = self.stream.as_mut() else { return Vec::new() };
        let (follower, settings, next_ms) = (&mut self.follower, &self.settings, &mut self.next_ms);
        let mut out = Vec::new();
        let mut too_large = false;
        let budget = &mut self.budget;
        let clock = (arrived, &mut self.anchor);
        decode(init, decoder, bytes, clock, &self.limits, budget, |pic, at| {
            if pic.width().saturating_mul(pic.height()) > MAX_DECODE_PIXELS {
                too_large = true;
                return;
            }
            if at < *next_ms {
                return;
            }
            *next_ms = at + 1000 / ANALYSE_FPS;
            let size = (pic.width() as usize, pic.height() as usize);
            match follower.frame(settings, pic.y(), size, pic.y_stride(), at) {
                Ok(evs) => out.extend(evs),
                Err(e) => tracing::debug!(error = %e, "motion watch: frame skipped"),
            }
        });
        if too_large {
            tracing::warn!("motion watch: the stream is larger than 1920x1088; not decoding it");
            self.stream = None;
        }
        out
    }

    /// The decode time just after a fragment's video.
    fn end_decode_time(&self, bytes: &[u8]) -> Option<u64> {
        let (init, _) = self.stream.as_ref()?;
        let frag = kankan_media::parse_fragment(init, bytes, &self.limits).ok()?;
        frag.video_run(init).map(|r| r.end_decode_time())
    }
}

/// A decoder for the stream an init segment describes, if it is small enough to decode
/// ([`MAX_DECODE_PIXELS`]; the pictures themselves are checked again as they decode).
pub(super) fn open(init: &[u8], limits: &Limits) -> Option<(InitSegment, Decoder)> {
    let init = kankan_media::parse_init(init, limits).ok()?;
    let v = init.video()?;
    if u32::from(v.width) * u32::from(v.height) > MAX_DECODE_PIXELS {
        tracing::warn!(
            width = v.width,
            height = v.height,
            "motion watch: the stream is larger than 1920x1088; not decoding it"
        );
        return None;
    }
    let avc = kankan_media::AvcConfig::from_stsd(&init.video()?.stsd)?;
    let (sps, pps) = (avc.sps.first()?, avc.pps.first()?);
    let mut decoder = Decoder::new().ok()?;
    decoder.set_parameter_sets(sps, pps).ok()?;
    Some((init, decoder))
}

/// Decodes a fragment's frames and hands each to `frame` with its wall-clock ms: media time
/// counted from `anchor` (wall ms, decode time), which the first fragment sets to its arrival
/// unless the backlog of a stream joined midway already set it.
pub(super) fn decode(
    init: &InitSegment,
    decoder: &mut Decoder,
    bytes: &[u8],
    (arrived, anchor): (i64, &mut Option<(i64, u64)>),
    limits: &Limits,
    budget: &mut FrameBudget,
    mut frame: impl FnMut(&Yuv420, i64),
) {
    let Ok(frag) = kankan_media::parse_fragment(init, bytes, limits) else { return };
    let (Some(run), Some(video)) = (frag.video_run(init), init.video()) else { return };
    let scale = i128::from(video.timescale.max(1));
    let (wall, media) = *anchor.get_or_insert((arrived, run.end_decode_time()));
    let mut t = run.base_decode_time;
    for sample in &run.samples {
        let offset = (i128::from(t) - i128::from(media)) * 1000 / scale;
        let at = wall.saturating_add(i64::try_from(offset).unwrap_or(0));
        t = t.saturating_add(u64::from(sample.duration));
        if !budget.admit(sample.keyframe, Instant::now()) {
            continue;
        }
        let Some(data) = frag.sample_data(sample) else { continue };
        if let Ok(Some(pic)) = decoder.decode(data) {
            frame(&pic, at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_camera_gets_at_most_30_decodes_a_second_then_waits_for_a_keyframe() {
        // fails without the fix: every frame a camera sent was decoded, at any rate.
        let mut b = FrameBudget::new();
        let t0 = b.window;
        let decoded = (0..120).filter(|i| b.admit(i % 60 == 0, t0)).count();
        assert_eq!(decoded, 30, "a 120 fps second");
        assert!(!b.admit(false, t0 + Duration::from_millis(1500)), "a P-frame after a skip");
        assert!(b.admit(true, t0 + Duration::from_millis(1600)), "the next keyframe decodes");
        assert!(b.admit(false, t0 + Duration::from_millis(1610)), "and what follows it");
    }

    #[test]
    fn a_stream_larger_than_1080p_is_not_decoded() {
        // fails without the fix: any size the camera announced was decoded.
        let small = kankan_video::EncoderConfig {
            width: 320,
            height: 180,
            fps: 15,
            bitrate_bps: 300_000,
            gop: 15,
        };
        let camera = kankan_video::Prerecorded::new(small, 1).expect("encodes");
        let (sps, pps) = camera.parameter_sets();
        let init = |width, height| {
            kankan_media::write_init(&kankan_media::VideoParams {
                width,
                height,
                timescale: 90_000,
                sps: sps.to_vec(),
                pps: pps.to_vec(),
            })
        };
        assert!(open(&init(320, 180), &Limits::default()).is_some(), "a small one is");
        assert!(open(&init(3840, 2160), &Limits::default()).is_none(), "a 4K one is not");
    }

    #[test]
    fn the_decode_pool_lends_at_most_its_size_at_once() {
        // fails without the fix: every camera decoded on its own thread at once, unbounded.
        let pool = DecodePool::new(2);
        let busy = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (pool, busy, most) = (pool.clone(), busy.clone(), most.clone());
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        let _slot = pool.acquire();
                        let now = busy.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                        most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                        std::thread::yield_now();
                        busy.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("joined");
        }
        assert!(most.load(std::sync::atomic::Ordering::SeqCst) <= 2);
    }
}
