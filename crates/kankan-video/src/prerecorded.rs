//! Encode once, replay forever: H.264 for load tests with hundreds of simulated cameras.

use crate::VideoError;
use crate::codec::{EncodedFrame, Encoder, EncoderConfig};
use crate::scene::Scene;

/// A short clip of the synthetic scene, encoded once and replayed in a loop.
///
/// The clip is a whole number of GOPs, so the loop always restarts on a keyframe and a decoder
/// can join at any keyframe. The caller gives each replayed frame its own (current) timestamp;
/// the clock burned into the pictures, though, is the recording's: it shows capture times
/// starting at 0 ms (1970-01-01 00:00:00.000) and frame numbers from 0, and repeats with every
/// loop. Use [`Encoder`] directly where the burned-in clock must be live.
#[derive(Debug, Clone)]
pub struct Prerecorded {
    config: EncoderConfig,
    sps: Vec<u8>,
    pps: Vec<u8>,
    frames: Vec<EncodedFrame>,
    next: usize,
}

impl Prerecorded {
    /// Encodes `seconds` of the scene (rounded up to whole GOPs, at least one) with `config`.
    pub fn new(config: EncoderConfig, seconds: u32) -> Result<Prerecorded, VideoError> {
        let mut encoder = Encoder::new(config)?;
        let scene = Scene::new(config.width, config.height, 0)?;
        let wanted = u64::from(seconds) * u64::from(config.fps);
        let gops = wanted.div_ceil(u64::from(config.gop)).max(1);
        let count = u32::try_from(gops * u64::from(config.gop))
            .map_err(|_| VideoError::BadConfig("the clip is too long".into()))?;
        let mut frames = Vec::with_capacity(count as usize);
        let mut picture = scene.render(0, 0);
        for index in 0..count {
            let capture_ms = u64::from(index) * 1000 / u64::from(config.fps);
            scene.render_into(&mut picture, index, capture_ms);
            if let Some(frame) = encoder.encode(&picture, false)? {
                frames.push(frame);
            }
        }
        let (sps, pps) = encoder.parameter_sets().ok_or(VideoError::NoPicture)?;
        if frames.is_empty() {
            return Err(VideoError::NoPicture);
        }
        Ok(Prerecorded { config, sps, pps, frames, next: 0 })
    }

    /// The config the clip was encoded with.
    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// The clip's sequence and picture parameter sets `(sps, pps)`.
    pub fn parameter_sets(&self) -> (&[u8], &[u8]) {
        (&self.sps, &self.pps)
    }

    /// All frames of the clip, in order; the first is a keyframe.
    pub fn frames(&self) -> &[EncodedFrame] {
        &self.frames
    }

    /// The next frame of the endless loop (check `keyframe` on it).
    pub fn next_frame(&mut self) -> &EncodedFrame {
        let index = self.next;
        self.next = (self.next + 1) % self.frames.len();
        // `new` refuses an empty clip, and `next` stays below its length.
        &self.frames[index]
    }
}
