//! End-to-end tests of kankan-video: render the scene, encode, decode, read the clock back.

mod bad_input;
mod prerecorded;
mod roundtrip;
mod scene;
mod snapshot;

use std::sync::OnceLock;

use kankan_video::{EncodedFrame, Encoder, EncoderConfig, Scene, Yuv420};

/// 2026-01-01T00:00:00Z, where the test clips' clocks start.
pub const START_MS: u64 = 1_767_225_600_000;

/// A rendered and encoded clip, with the source pictures kept for comparison.
pub struct Clip {
    pub config: EncoderConfig,
    pub sps: Vec<u8>,
    pub pps: Vec<u8>,
    /// `(frame index, capture ms, source picture, encoded frame)`, skipped frames left out.
    pub frames: Vec<(u32, u64, Yuv420, EncodedFrame)>,
}

/// Encodes `count` frames of a moving scene with `config`.
pub fn encode_clip(config: EncoderConfig, count: u32) -> Clip {
    let scene = Scene::new(config.width, config.height, 42).expect("valid scene size");
    let mut encoder = Encoder::new(config).expect("valid encoder config");
    let mut frames = Vec::new();
    for index in 0..count {
        let capture_ms = START_MS + u64::from(index) * 1000 / u64::from(config.fps);
        let picture = scene.render(index, capture_ms);
        if let Some(encoded) = encoder.encode(&picture, false).expect("encode") {
            frames.push((index, capture_ms, picture, encoded));
        }
    }
    let (sps, pps) = encoder.parameter_sets().expect("parameter sets after the first keyframe");
    Clip { config, sps, pps, frames }
}

/// The shared main-stream clip: 2 s of 640×360 at 15 fps, 1 Mb/s, a keyframe every 15 frames.
/// Encoded once per test run, since encoding dominates the tests' time.
pub fn main_clip() -> &'static Clip {
    static CLIP: OnceLock<Clip> = OnceLock::new();
    CLIP.get_or_init(|| encode_clip(EncoderConfig::default(), 30))
}
