//! The picture source: a synthetic scene (moving objects and a burned-in capture clock)
//! encoded to H.264 in real time, or pre-encoded GOPs replayed for load tests; each frame is
//! sent as its own CMAF fragment (a chunk) the moment it is encoded, so live view lags the
//! camera by one frame, not one GOP.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kankan_media::{VideoParams, WriteSample, write_fragment, write_init};
use kankan_video::{EncodedFrame, Encoder, EncoderConfig, Prerecorded, Scene};
use tokio::sync::mpsc;

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
    Replay(Box<Prerecorded>),
}

fn video_err(e: kankan_video::VideoError) -> SimError {
    SimError::Video(e.to_string())
}

/// Runs the source on its own thread until `stop` is set or the receiver goes away.
pub fn spawn(
    config: EncoderConfig,
    prerecorded: bool,
    motion: bool,
    now_ms: impl Fn() -> i64 + Send + 'static,
    stop: Arc<AtomicBool>,
) -> Result<(Started, mpsc::Receiver<Fragment>), SimError> {
    config.validate().map_err(video_err)?;
    if !TIMESCALE.is_multiple_of(config.fps) {
        return Err(SimError::Video(format!("fps {} must divide 90000", config.fps)));
    }
    let mut frames = if prerecorded {
        Frames::Replay(Box::new(Prerecorded::new(config, 2).map_err(video_err)?))
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
    let first = frame(&mut frames, 0, epoch_ms, config.fps)?
        .ok_or_else(|| SimError::Video("the encoder skipped the first frame".into()))?;
    let (sps, pps) = match &frames {
        Frames::Live { encoder, .. } => {
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
    let init = Bytes::from(write_init(&params));
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
                    None => match frame(&mut frames, index, epoch_ms, config.fps) {
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
                let frag = Fragment {
                    sequence: index + 1,
                    start_ms,
                    end_ms: capture_ms(epoch_ms, index + 1, config.fps),
                    keyframe: encoded.keyframe,
                    bytes: Bytes::from(write_fragment(index + 1, 1, base, &[sample])),
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
) -> Result<Option<EncodedFrame>, SimError> {
    let f = match frames {
        Frames::Live { scene, encoder } => {
            let capture = capture_ms(epoch_ms, index, fps);
            let picture = scene.render(index, u64::try_from(capture).unwrap_or(0));
            encoder.encode(&picture, index == 0).map_err(video_err)?
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
