//! The picture source: a synthetic scene (moving objects and a burned-in capture clock)
//! encoded to H.264 in real time, or pre-encoded GOPs replayed for load tests; cut into one
//! CMAF fragment per GOP.

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

/// One fragment (one GOP) as the device made it.
#[derive(Debug, Clone)]
pub struct Fragment {
    pub sequence: u32,
    /// Wall-clock milliseconds of its first frame, and of the frame after its last.
    pub start_ms: i64,
    pub end_ms: i64,
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
    // The first GOP gives the parameter sets the init segment needs.
    let first = gop(&mut frames, &config, 0, epoch_ms)?;
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
    let (tx, rx) = mpsc::channel(8);
    let frag_ms = i64::from(config.gop) * 1000 / i64::from(config.fps);
    std::thread::Builder::new()
        .name("kankan-cam-video".into())
        .spawn(move || {
            let t0 = Instant::now();
            let mut pending = Some(first);
            let mut k: u32 = 0;
            while !stop.load(Ordering::Relaxed) {
                let due = t0
                    + Duration::from_millis(
                        u64::try_from(frag_ms).unwrap_or(1000) * (u64::from(k) + 1),
                    );
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let encoded = match pending.take() {
                    Some(g) => g,
                    None => match gop(&mut frames, &config, k, epoch_ms) {
                        Ok(g) => g,
                        Err(e) => {
                            tracing::error!(error = %e, "video source");
                            return;
                        }
                    },
                };
                let frame_ticks = TIMESCALE / config.fps;
                let base = u64::from(k) * u64::from(config.gop) * u64::from(frame_ticks);
                let samples: Vec<WriteSample<'_>> = encoded
                    .iter()
                    .map(|f| WriteSample {
                        data: &f.avcc,
                        duration: frame_ticks,
                        keyframe: f.keyframe,
                        cts_offset: 0,
                    })
                    .collect();
                let start_ms = epoch_ms + i64::from(k) * frag_ms;
                let frag = Fragment {
                    sequence: k + 1,
                    start_ms,
                    end_ms: start_ms + frag_ms,
                    bytes: Bytes::from(write_fragment(k + 1, 1, base, &samples)),
                };
                if tx.blocking_send(frag).is_err() {
                    return;
                }
                k += 1;
            }
        })
        .map_err(|e| SimError::Video(format!("video thread: {e}")))?;
    Ok((Started { init, epoch_ms }, rx))
}

/// Encodes (or replays) GOP `k`: `gop` frames starting with a keyframe.
fn gop(
    frames: &mut Frames,
    config: &EncoderConfig,
    k: u32,
    epoch_ms: i64,
) -> Result<Vec<EncodedFrame>, SimError> {
    let mut out = Vec::with_capacity(config.gop as usize);
    for i in 0..config.gop {
        let index = k * config.gop + i;
        let f = match frames {
            Frames::Live { scene, encoder } => {
                let capture = epoch_ms + i64::from(index) * 1000 / i64::from(config.fps);
                let picture = scene.render(index, u64::try_from(capture).unwrap_or(0));
                encoder.encode(&picture, i == 0).map_err(video_err)?
            }
            Frames::Replay(p) => Some(p.next_frame().clone()),
        };
        if let Some(f) = f {
            out.push(f);
        }
    }
    match out.first() {
        Some(f) if f.keyframe => Ok(out),
        _ => Err(SimError::Video("a GOP did not start with a keyframe".into())),
    }
}
