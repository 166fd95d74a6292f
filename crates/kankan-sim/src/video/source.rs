//! The picture source: a synthetic scene (moving objects and a burned-in capture clock)
//! encoded to H.264 in real time, a file of raw I420 frames (real footage, looped or played
//! once then held on its last frame) encoded the same way, or pre-encoded GOPs replayed for
//! load tests; each frame is
//! sent as its own CMAF fragment (a chunk) the moment it is encoded, so live view lags the
//! camera by one frame, not one GOP.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kankan_media::{
    AUDIO_TRACK_ID, TrackWrite, VIDEO_TRACK_ID, VideoParams, WriteSample, write_fragment_tracks,
    write_init_av,
};
use kankan_motion::{Point, Zone};
use kankan_protocol::motion::MotionFollower;
use kankan_video::{EncodedFrame, Encoder, EncoderConfig, Prerecorded, Scene, Yuv420};
use tokio::sync::mpsc;

use super::MotionLink;
use super::sound::{Microphone, RATE};
use crate::SimError;

/// The media timescale: 90 kHz, as RTP and most cameras use.
pub const TIMESCALE: u32 = 90_000;

/// One fragment (one frame) as the device made it.
#[derive(Debug, Clone)]
pub struct Fragment {
    pub sequence: u32,
    /// Wall-clock milliseconds of its frame, and of the next frame.
    pub start_ms: i64,
    pub end_ms: i64,
    /// It starts a GOP: a viewer or an upload can begin here.
    pub keyframe: bool,
    pub bytes: Bytes,
}

/// What the source produced first: the init segment every upload starts with.
#[derive(Debug, Clone)]
pub struct Started {
    pub init: Bytes,
    /// Wall-clock milliseconds at media time 0.
    pub epoch_ms: i64,
}

enum Frames {
    Live { scene: Box<Scene>, encoder: Box<Encoder> },
    File { file: Box<RawFile>, encoder: Box<Encoder> },
    Replay(Box<Prerecorded>),
}

/// A file of raw I420 frames of the encoder's size, one after another (what `ffmpeg -f
/// rawvideo -pix_fmt yuv420p` writes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoFile {
    pub path: std::path::PathBuf,
    /// Play it once, then hold its last frame (a still picture), instead of looping.
    pub once: bool,
}

/// The open file and the picture read last.
struct RawFile {
    reader: std::io::BufReader<std::fs::File>,
    once: bool,
    picture: Yuv420,
    ended: bool,
}

impl RawFile {
    fn open(f: &VideoFile, width: u32, height: u32) -> Result<RawFile, SimError> {
        let file = std::fs::File::open(&f.path)
            .map_err(|e| SimError::Video(format!("{}: {e}", f.path.display())))?;
        let frame = u64::from(width) * u64::from(height) * 3 / 2;
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len < frame || len % frame != 0 {
            return Err(SimError::Video(format!(
                "{}: {len} bytes is not a whole number of {width}x{height} I420 frames",
                f.path.display()
            )));
        }
        Ok(RawFile {
            reader: std::io::BufReader::new(file),
            once: f.once,
            picture: Yuv420::new(width, height).map_err(video_err)?,
            ended: false,
        })
    }

    /// The next frame (from the start again at the end, or the last one held).
    fn next(&mut self) -> Result<&Yuv420, SimError> {
        use std::io::{Read, Seek};
        if self.ended {
            return Ok(&self.picture);
        }
        let (w, h) = (self.picture.width() as usize, self.picture.height() as usize);
        let mut buf = vec![0u8; w * h * 3 / 2];
        let io = |e: std::io::Error| SimError::Video(format!("video file: {e}"));
        if let Err(e) = self.reader.read_exact(&mut buf) {
            if e.kind() != std::io::ErrorKind::UnexpectedEof {
                return Err(io(e));
            }
            if self.once {
                self.ended = true;
                return Ok(&self.picture);
            }
            self.reader.rewind().map_err(io)?;
            self.reader.read_exact(&mut buf).map_err(io)?;
        }
        let (y, uv) = buf.split_at(w * h);
        let (u, v) = uv.split_at(w * h / 4);
        let (ys, us, vs) =
            (self.picture.y_stride(), self.picture.uv_stride(), self.picture.uv_stride());
        let (py, pu, pv) = self.picture.planes_mut();
        for row in 0..h {
            py[row * ys..][..w].copy_from_slice(&y[row * w..][..w]);
        }
        for row in 0..h / 2 {
            pu[row * us..][..w / 2].copy_from_slice(&u[row * w / 2..][..w / 2]);
            pv[row * vs..][..w / 2].copy_from_slice(&v[row * w / 2..][..w / 2]);
        }
        Ok(&self.picture)
    }
}

fn video_err(e: kankan_video::VideoError) -> SimError {
    SimError::Video(e.to_string())
}

/// Frames a second the motion detector analyses.
const DETECT_FPS: u32 = 5;

/// What the camera films: the synthetic scene (moving or still), its prerecorded replay, or a
/// file of raw frames.
#[derive(Debug, Clone, Copy)]
pub struct Picture<'a> {
    pub prerecorded: bool,
    pub motion: bool,
    pub file: Option<&'a VideoFile>,
}

/// Runs the source on its own thread until `stop` is set or the receiver goes away. With
/// `detect`, the camera's motion detector watches the raw frames (5 a second) and reports to
/// it. With a `microphone`, each fragment also carries the audio packets that end within its
/// frame (an Opus track, id 2).
pub fn spawn(
    config: EncoderConfig,
    picture: Picture<'_>,
    now_ms: impl Fn() -> i64 + Send + 'static,
    stop: Arc<AtomicBool>,
    detect: Option<MotionLink>,
    mut microphone: Option<Microphone>,
) -> Result<(Started, mpsc::Receiver<Fragment>), SimError> {
    let Picture { prerecorded, motion, file } = picture;
    let mut detector = match detect {
        Some(link) if !prerecorded => Some(Motion::new(link, file.is_none())),
        _ => None,
    };
    config.validate().map_err(video_err)?;
    if !TIMESCALE.is_multiple_of(config.fps) {
        return Err(SimError::Video(format!("fps {} must divide 90000", config.fps)));
    }
    let mut frames = if prerecorded {
        Frames::Replay(Box::new(Prerecorded::new(config, 2).map_err(video_err)?))
    } else if let Some(f) = file {
        Frames::File {
            file: Box::new(RawFile::open(f, config.width, config.height)?),
            encoder: Box::new(Encoder::new(config).map_err(video_err)?),
        }
    } else {
        let scene =
            Scene::new(config.width, config.height, 7).map_err(video_err)?.with_motion(motion);
        Frames::Live {
            scene: Box::new(scene),
            encoder: Box::new(Encoder::new(config).map_err(video_err)?),
        }
    };
    let epoch_ms = now_ms();
    // The first frame gives the parameter sets the init segment needs.
    let first = frame(&mut frames, 0, epoch_ms, config.fps, &mut detector)?
        .ok_or_else(|| SimError::Video("the encoder skipped the first frame".into()))?;
    let (sps, pps) = match &frames {
        Frames::Live { encoder, .. } | Frames::File { encoder, .. } => {
            encoder.parameter_sets().ok_or_else(|| SimError::Video("no parameter sets".into()))?
        }
        Frames::Replay(p) => {
            let (s, q) = p.parameter_sets();
            (s.to_vec(), q.to_vec())
        }
    };
    let params = VideoParams {
        width: u16::try_from(config.width).unwrap_or(u16::MAX),
        height: u16::try_from(config.height).unwrap_or(u16::MAX),
        timescale: TIMESCALE,
        sps,
        pps,
    };
    let audio = microphone.as_ref().map(Microphone::params);
    let init = Bytes::from(write_init_av(&params, audio.as_ref()));
    let (tx, rx) = mpsc::channel(2 * config.gop as usize);
    std::thread::Builder::new()
        .name("kankan-cam-video".into())
        .spawn(move || {
            let t0 = Instant::now();
            let mut pending = Some(first);
            let frame_ticks = TIMESCALE / config.fps;
            let mut index: u32 = 0;
            while !stop.load(Ordering::Relaxed) {
                // Frame `index` is captured at its time and sent as soon as it is encoded.
                let due = t0
                    + Duration::from_micros(u64::from(index) * 1_000_000 / u64::from(config.fps));
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let encoded = match pending.take() {
                    Some(f) => f,
                    None => match frame(&mut frames, index, epoch_ms, config.fps, &mut detector) {
                        Ok(Some(f)) => f,
                        // Rate control skipped it: the next frame keeps its own time.
                        Ok(None) => {
                            index += 1;
                            continue;
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "video source");
                            return;
                        }
                    },
                };
                let sample = WriteSample {
                    data: &encoded.avcc,
                    duration: frame_ticks,
                    keyframe: encoded.keyframe,
                    cts_offset: 0,
                };
                let base = u64::from(index) * u64::from(frame_ticks);
                let start_ms = capture_ms(epoch_ms, index, config.fps);
                let until = (u64::from(index) + 1) * u64::from(RATE) / u64::from(config.fps);
                let packets = match microphone.as_mut().map(|m| m.until(until, epoch_ms)) {
                    Some(Ok(p)) => p,
                    None => Vec::new(),
                    Some(Err(e)) => {
                        tracing::error!(error = %e, "audio source");
                        return;
                    }
                };
                let sound: Vec<WriteSample<'_>> = packets
                    .iter()
                    .map(|p| WriteSample {
                        data: &p.data,
                        duration: super::sound::PACKET,
                        keyframe: true,
                        cts_offset: 0,
                    })
                    .collect();
                let video = [sample];
                let mut tracks = vec![TrackWrite {
                    track_id: VIDEO_TRACK_ID,
                    base_decode_time: base,
                    samples: &video,
                }];
                if let Some(first) = packets.first() {
                    tracks.push(TrackWrite {
                        track_id: AUDIO_TRACK_ID,
                        base_decode_time: first.dts,
                        samples: &sound,
                    });
                }
                let frag = Fragment {
                    sequence: index + 1,
                    start_ms,
                    end_ms: capture_ms(epoch_ms, index + 1, config.fps),
                    keyframe: encoded.keyframe,
                    bytes: Bytes::from(write_fragment_tracks(index + 1, &tracks)),
                };
                if tx.blocking_send(frag).is_err() {
                    return;
                }
                index += 1;
            }
        })
        .map_err(|e| SimError::Video(format!("video thread: {e}")))?;
    Ok((Started { init, epoch_ms }, rx))
}

/// The camera's motion detection, following the user's settings.
struct Motion {
    follower: MotionFollower,
    link: MotionLink,
}

impl Motion {
    /// The synthetic scene's burned-in clock changes every frame, like a real camera's
    /// on-screen display: with no zone drawn, the detector watches the picture below it (the
    /// whole picture of a video file).
    fn new(link: MotionLink, clock: bool) -> Motion {
        let p = |x, y| Point { x, y };
        let below_clock = Zone::new(vec![p(0.0, 0.35), p(1.0, 0.35), p(1.0, 1.0), p(0.0, 1.0)]);
        let default = if clock { below_clock.into_iter().collect() } else { Vec::new() };
        Motion { follower: MotionFollower::new(default), link }
    }

    /// Looks at one frame; a start or end goes to the device.
    fn watch(&mut self, picture: &Yuv420, capture: i64) -> Result<(), SimError> {
        let size = (picture.width() as usize, picture.height() as usize);
        let settings = self.link.settings.borrow();
        let seen = self.follower.frame(&settings, picture.y(), size, picture.y_stride(), capture);
        drop(settings);
        for event in seen.map_err(|e| SimError::Video(format!("motion detector: {e}")))? {
            let _ = self.link.events.send(event);
        }
        Ok(())
    }
}

/// Wall-clock milliseconds at which frame `index` is captured.
fn capture_ms(epoch_ms: i64, index: u32, fps: u32) -> i64 {
    epoch_ms + i64::from(index) * 1000 / i64::from(fps)
}

/// Encodes (or replays) frame `index`; the encoder's fixed GOP puts the keyframes. `None`
/// when rate control skipped the frame.
fn frame(
    frames: &mut Frames,
    index: u32,
    epoch_ms: i64,
    fps: u32,
    detector: &mut Option<Motion>,
) -> Result<Option<EncodedFrame>, SimError> {
    let f = match frames {
        Frames::Live { scene, encoder } => {
            let capture = capture_ms(epoch_ms, index, fps);
            let picture = scene.render(index, u64::try_from(capture).unwrap_or(0));
            if let Some(m) = detector
                && index.is_multiple_of((fps / DETECT_FPS).max(1))
            {
                m.watch(&picture, capture)?;
            }
            encoder.encode(&picture, index == 0).map_err(video_err)?
        }
        Frames::File { file, encoder } => {
            let capture = capture_ms(epoch_ms, index, fps);
            let picture = file.next()?;
            if let Some(m) = detector
                && index.is_multiple_of((fps / DETECT_FPS).max(1))
            {
                m.watch(picture, capture)?;
            }
            encoder.encode(picture, index == 0).map_err(video_err)?
        }
        Frames::Replay(p) => Some(p.next_frame().clone()),
    };
    match f {
        Some(f) if index == 0 && !f.keyframe => {
            Err(SimError::Video("the first frame is not a keyframe".into()))
        }
        f => Ok(f),
    }
}

#[cfg(test)]
mod tests {
    use kankan_protocol::device::{
        DeviceEvent, MotionPhase, PeriodSpec, ScheduleSpec, Settings, ZonePoint, ZoneSpec,
    };
    use tokio::sync::watch;

    use super::*;

    /// A 320x180 source with a detector; its events, its settings and its stop switch.
    fn source(
        motion: bool,
    ) -> (
        mpsc::UnboundedReceiver<DeviceEvent>,
        watch::Sender<Settings>,
        Arc<AtomicBool>,
        mpsc::Receiver<Fragment>,
    ) {
        let (events, rx) = mpsc::unbounded_channel();
        let (settings, watched) = watch::channel(Settings::default());
        let stop = Arc::new(AtomicBool::new(false));
        let cfg = EncoderConfig { width: 320, height: 180, fps: 15, bitrate_bps: 300_000, gop: 15 };
        let now = || kankan_base::Clock::now(&kankan_base::RealClock).0;
        let link = MotionLink { events, settings: watched };
        let (_, frags) = spawn(
            cfg,
            Picture { prerecorded: false, motion, file: None },
            now,
            stop.clone(),
            Some(link),
            None,
        )
        .expect("source");
        (rx, settings, stop, frags)
    }

    /// The next event within `secs`, while frames keep flowing.
    async fn next_event(
        events: &mut mpsc::UnboundedReceiver<DeviceEvent>,
        frags: &mut mpsc::Receiver<Fragment>,
        secs: u64,
    ) -> Option<DeviceEvent> {
        let seen = tokio::time::timeout(Duration::from_secs(secs), async {
            loop {
                tokio::select! {
                    ev = events.recv() => return ev,
                    f = frags.recv() => {
                        f.as_ref()?;
                    }
                }
            }
        })
        .await;
        seen.ok().flatten()
    }

    #[tokio::test]
    async fn the_camera_reports_motion_in_a_moving_scene_and_none_in_a_still_one() {
        let (mut events, _settings, stop, mut frags) = source(true);
        match next_event(&mut events, &mut frags, 20).await {
            Some(DeviceEvent::Motion { phase: MotionPhase::Start, at_ms, started_ms, zone }) => {
                assert_eq!(at_ms, started_ms);
                assert_eq!(zone, None, "no zone drawn: no zone named");
            }
            other => panic!("expected a motion start, got {other:?}"),
        }
        stop.store(true, Ordering::SeqCst);
        let (mut events, _settings, stop, mut frags) = source(false);
        assert_eq!(next_event(&mut events, &mut frags, 3).await, None, "the clock is no motion");
        stop.store(true, Ordering::SeqCst);
    }

    #[tokio::test]
    async fn turning_detection_off_ends_the_event_and_reports_nothing_more() {
        let (mut events, settings, stop, mut frags) = source(true);
        let start = next_event(&mut events, &mut frags, 20).await;
        assert!(matches!(start, Some(DeviceEvent::Motion { phase: MotionPhase::Start, .. })));
        settings.send_modify(|s| s.motion.enabled = false);
        match next_event(&mut events, &mut frags, 5).await {
            Some(DeviceEvent::Motion { phase: MotionPhase::End, at_ms, started_ms, .. }) => {
                assert!(at_ms >= started_ms);
            }
            other => panic!("expected the end, got {other:?}"),
        }
        assert_eq!(next_event(&mut events, &mut frags, 2).await, None, "off means off");
        stop.store(true, Ordering::SeqCst);
    }

    #[tokio::test]
    async fn outside_its_schedule_the_camera_reports_no_motion() {
        // A schedule of one minute a week that is not now (in the device's time zone).
        let (mut events, settings, stop, mut frags) = source(true);
        let tokyo = jiff::tz::TimeZone::get("Asia/Tokyo").expect("tz");
        let now = jiff::Timestamp::now().to_zoned(tokyo);
        let day = kankan_motion::day_name(now.weekday().wrapping_add(3));
        settings.send_modify(|s| {
            s.time_zone = "Asia/Tokyo".into();
            let p = PeriodSpec { day: day.into(), start: "00:00".into(), end: "00:01".into() };
            s.motion.schedule = Some(ScheduleSpec { periods: vec![p] });
        });
        assert_eq!(next_event(&mut events, &mut frags, 4).await, None, "not scheduled now");
        // Always on again: the moving scene starts an event.
        settings.send_modify(|s| s.motion.schedule = None);
        let start = next_event(&mut events, &mut frags, 20).await;
        assert!(matches!(start, Some(DeviceEvent::Motion { phase: MotionPhase::Start, .. })));
        stop.store(true, Ordering::SeqCst);
    }

    #[tokio::test]
    async fn the_user_s_zones_replace_the_default_one() {
        // A still scene: below the clock nothing moves. A zone over the clock (which changes
        // every frame) sees motion.
        let (mut events, settings, stop, mut frags) = source(false);
        assert_eq!(next_event(&mut events, &mut frags, 3).await, None, "still");
        let p = |x, y| ZonePoint { x, y };
        settings.send_modify(|s| {
            s.motion.zones =
                vec![ZoneSpec { points: vec![p(0.0, 0.0), p(1.0, 0.0), p(1.0, 0.3), p(0.0, 0.3)] }];
        });
        match next_event(&mut events, &mut frags, 20).await {
            Some(DeviceEvent::Motion { phase: MotionPhase::Start, zone, .. }) => {
                assert_eq!(zone, Some(0), "the user's first zone");
            }
            other => panic!("expected a start in the zone, got {other:?}"),
        }
        stop.store(true, Ordering::SeqCst);
    }

    #[tokio::test]
    async fn a_video_file_played_once_starts_motion_then_holds_still_and_ends_it() {
        // fails without the fix: the camera could only show its synthetic scene.
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("square.yuv");
        // 20 frames of 320x180: a bright square crossing a grey picture.
        let mut raw = Vec::new();
        for i in 0..20usize {
            let mut y = vec![90u8; 320 * 180];
            for row in 60..120 {
                let x0 = 10 + i * 14;
                y[row * 320 + x0..row * 320 + x0 + 40].fill(240);
            }
            raw.extend_from_slice(&y);
            raw.extend(std::iter::repeat_n(128u8, 320 * 180 / 2));
        }
        std::fs::write(&path, &raw).expect("written");
        let (events, mut rx) = mpsc::unbounded_channel();
        let (_settings, watched) = watch::channel(Settings::default());
        let stop = Arc::new(AtomicBool::new(false));
        let cfg = EncoderConfig { width: 320, height: 180, fps: 10, bitrate_bps: 300_000, gop: 10 };
        let now = || kankan_base::Clock::now(&kankan_base::RealClock).0;
        let link = MotionLink { events, settings: watched };
        let file = VideoFile { path: path.clone(), once: true };
        let (_, mut frags) = spawn(
            cfg,
            Picture { prerecorded: false, motion: true, file: Some(&file) },
            now,
            stop.clone(),
            Some(link),
            None,
        )
        .expect("source");
        let start = next_event(&mut rx, &mut frags, 20).await;
        assert!(matches!(start, Some(DeviceEvent::Motion { phase: MotionPhase::Start, .. })));
        let end = next_event(&mut rx, &mut frags, 30).await;
        assert!(
            matches!(end, Some(DeviceEvent::Motion { phase: MotionPhase::End, .. })),
            "{end:?}"
        );
        stop.store(true, Ordering::SeqCst);
        // A file that is not a whole number of frames is refused.
        std::fs::write(&path, &raw[..1000]).expect("written");
        let bad = VideoFile { path, once: false };
        assert!(
            spawn(
                cfg,
                Picture { prerecorded: false, motion: true, file: Some(&bad) },
                now,
                stop,
                None,
                None
            )
            .is_err()
        );
    }
}
