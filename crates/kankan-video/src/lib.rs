//! Video for simulated cameras and for the server: a synthetic scene, H.264 encode and decode,
//! snapshots as JPEG.
//!
//! # Design
//!
//! - **Pictures** are [`Yuv420`]: planar I420 in BT.601 limited range, the format H.264
//!   encoders take and decoders give, so nothing converts colour on the hot path. RGB appears
//!   only for snapshots ([`to_rgb`], [`encode_jpeg`]).
//! - **The scene** ([`Scene`]) is a static textured background (rendered once, copied per
//!   frame), two boxes and a disc bouncing below the clock, and the burned-in clock. Object
//!   positions are a closed-form function of the frame index (a ball between two walls), so any
//!   frame renders directly and motion can be switched off ([`Scene::with_motion`]) to leave
//!   the clock as the only change — the on/off switch a motion detector is tested with.
//! - **The burned-in clock** ([`burn_stamp`], [`read_stamp`]) writes the capture time (ms
//!   since the Unix epoch) and the frame counter as 4 × 28 black/white cells of at least 8×8
//!   pixels with marker cells and a CRC-16, plus readable seven-segment digits. The cells
//!   survive H.264 at ordinary bit rates, so a test or a viewer can read back from a *decoded*
//!   picture exactly which captured frame it shows: end-to-end latency, ordering and seeking
//!   become checkable without trusting any metadata. The `stamp` module documents the layout.
//! - **H.264** is Cisco's OpenH264, compiled from source by the `openh264` crate (no system
//!   library; no assembly unless `nasm` is installed at build time). The [`Encoder`] makes
//!   constrained-baseline streams (no B-frames: every access unit decodes to its picture at
//!   once), single-threaded, with bit-rate control. It decides keyframes itself: an IDR
//!   exactly every `gop` pictures (OpenH264's own intra period and scene-change detection are
//!   off), or on request. Access units are AVCC (4-byte big-endian lengths) with SPS and PPS
//!   taken out and offered once by [`Encoder::parameter_sets`] — the shape MP4 wants (`avcC`
//!   box plus samples). The [`Decoder`] takes the same shape back and turns it into Annex B
//!   for OpenH264; malformed input is an error, never a panic.
//! - **Snapshots** ([`snapshot_jpeg`]) decode from a keyframe up to the wanted access unit and
//!   return the last picture as JPEG.
//! - **Load tests** use [`Prerecorded`]: a few GOPs encoded once and replayed in a loop, so a
//!   fleet of simulated cameras costs copying, not encoding (its burned-in clock repeats).
//!
//! # Unsafe code
//!
//! None here: this crate forbids it like the rest of the workspace. The FFI lives in the
//! `openh264` crate.

mod codec;
mod error;
mod frame;
mod prerecorded;
mod scene;
mod stamp;

pub use codec::{Decoder, EncodedFrame, Encoder, EncoderConfig, snapshot_jpeg, split_avcc};
pub use error::VideoError;
pub use frame::{Rect, Yuv420, encode_jpeg, psnr_y, to_rgb};
pub use prerecorded::Prerecorded;
pub use scene::Scene;
pub use stamp::{Stamp, burn_stamp, read_stamp, stamp_area};

#[cfg(test)]
mod tests {
    /// Cameras and recorders run these on async tasks, which may move between threads.
    #[test]
    fn the_workhorses_can_move_between_threads() {
        fn is_send<T: Send + 'static>() {}
        is_send::<super::Encoder>();
        is_send::<super::Decoder>();
        is_send::<super::Prerecorded>();
        is_send::<super::Scene>();
        is_send::<super::Yuv420>();
    }
}
