//! H.264 through Cisco's OpenH264: an encoder that emits AVCC access units on a fixed GOP, and
//! a decoder that takes them back.

use openh264::decoder::Decoder as H264Decoder;
use openh264::encoder::{
    BitRate, Complexity, Encoder as H264Encoder, EncoderConfig as H264Config, FrameRate, FrameType,
    IntraFramePeriod, RateControlMode, SpsPpsStrategy, UsageType,
};
use openh264::formats::YUVSource;
use openh264::{OpenH264API, Timestamp};

use crate::VideoError;
use crate::frame::{Yuv420, check_size, encode_jpeg, to_rgb};

/// NAL unit types this crate looks at.
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;

/// What the encoder makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderConfig {
    /// Picture width in pixels (even).
    pub width: u32,
    /// Picture height in pixels (even).
    pub height: u32,
    /// Frames per second the pictures arrive at (rate control assumes it).
    pub fps: u32,
    /// Target bit rate in bits per second.
    pub bitrate_bps: u32,
    /// Keyframe (IDR) interval in frames: frame 0, `gop`, `2·gop`, … are IDR pictures.
    pub gop: u32,
}

impl Default for EncoderConfig {
    /// The main stream of a simulated camera: 640×360, 15 fps, 1 Mb/s, one keyframe a second.
    fn default() -> Self {
        EncoderConfig { width: 640, height: 360, fps: 15, bitrate_bps: 1_000_000, gop: 15 }
    }
}

impl EncoderConfig {
    /// Checks every field; the encoder refuses a config that fails this.
    pub fn validate(&self) -> Result<(), VideoError> {
        check_size(self.width, self.height)?;
        if self.width < 16 || self.height < 16 {
            return Err(VideoError::BadSize {
                width: self.width,
                height: self.height,
                reason: "smaller than one 16x16 macroblock",
            });
        }
        let bad = |msg: &str| Err(VideoError::BadConfig(msg.to_owned()));
        match *self {
            EncoderConfig { fps: 0, .. } | EncoderConfig { fps: 121.., .. } => {
                bad("fps must be 1..=120")
            }
            EncoderConfig { bitrate_bps: 0..10_000, .. } => {
                bad("bitrate_bps must be at least 10000")
            }
            EncoderConfig { gop: 0, .. } => bad("gop must be at least 1"),
            _ => Ok(()),
        }
    }
}

/// One encoded picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedFrame {
    /// Whether this is an IDR picture (a random-access point).
    pub keyframe: bool,
    /// The access unit as 4-byte big-endian length-prefixed NAL units, without SPS and PPS
    /// (those come from [`Encoder::parameter_sets`]).
    pub avcc: Vec<u8>,
}

/// An H.264 (constrained baseline) encoder for pictures of one size.
pub struct Encoder {
    inner: H264Encoder,
    config: EncoderConfig,
    /// Pictures output since the last keyframe, counting it; `None` before the first.
    since_key: Option<u32>,
    /// Pictures handed in, for the encoder's timestamps.
    submitted: u64,
    parameter_sets: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Encoder {
    /// An encoder for `config`, single-threaded (many run side by side in one process).
    pub fn new(config: EncoderConfig) -> Result<Encoder, VideoError> {
        config.validate()?;
        let h264 = H264Config::new()
            .bitrate(BitRate::from_bps(config.bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(config.fps as f32))
            .rate_control_mode(RateControlMode::Bitrate)
            .usage_type(UsageType::CameraVideoRealTime)
            .sps_pps_strategy(SpsPpsStrategy::ConstantId)
            .complexity(Complexity::Low)
            // Keyframes come only from `encode`'s own GOP count, never from OpenH264's
            // heuristics, so they fall exactly on multiples of `gop`.
            .intra_frame_period(IntraFramePeriod::from_num_frames(0))
            .scene_change_detect(false)
            .num_threads(1);
        let inner = H264Encoder::with_api_config(OpenH264API::from_source(), h264)
            .map_err(|e| VideoError::Encoder(e.to_string()))?;
        Ok(Encoder { inner, config, since_key: None, submitted: 0, parameter_sets: None })
    }

    /// The config this encoder was made with.
    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// Encodes one picture; `Ok(None)` when rate control skipped it. The first picture, every
    /// `gop`-th picture after a keyframe, and any with `force_keyframe` become IDR pictures.
    pub fn encode(
        &mut self,
        frame: &Yuv420,
        force_keyframe: bool,
    ) -> Result<Option<EncodedFrame>, VideoError> {
        if (frame.width(), frame.height()) != (self.config.width, self.config.height) {
            return Err(VideoError::BadSize {
                width: frame.width(),
                height: frame.height(),
                reason: "differs from the encoder's configured size",
            });
        }
        match self.since_key {
            // OpenH264 is initialised by the first `encode_at`, which is an IDR anyway.
            None => {}
            Some(n) if force_keyframe || n >= self.config.gop => self.inner.force_intra_frame(),
            Some(_) => {}
        }
        let ts = Timestamp::from_millis(self.submitted * 1000 / u64::from(self.config.fps));
        self.submitted += 1;
        let stream = self
            .inner
            .encode_at(&Source(frame), ts)
            .map_err(|e| VideoError::Encoder(e.to_string()))?;
        let frame_type = stream.frame_type();
        if matches!(frame_type, FrameType::Skip | FrameType::Invalid) {
            return Ok(None);
        }
        let keyframe = frame_type == FrameType::IDR;
        let mut avcc = Vec::new();
        let (mut sps, mut pps) = (None, None);
        for layer in (0..stream.num_layers()).filter_map(|i| stream.layer(i)) {
            for nal in (0..layer.nal_count()).filter_map(|i| layer.nal_unit(i)) {
                let nal = strip_start_code(nal);
                match nal.first().map(|b| b & 0x1F) {
                    None => {}
                    Some(NAL_SPS) => sps = Some(nal.to_vec()),
                    Some(NAL_PPS) => pps = Some(nal.to_vec()),
                    Some(_) => {
                        let len = u32::try_from(nal.len())
                            .map_err(|_| VideoError::Encoder("NAL unit over 4 GiB".into()))?;
                        avcc.extend_from_slice(&len.to_be_bytes());
                        avcc.extend_from_slice(nal);
                    }
                }
            }
        }
        if let (Some(sps), Some(pps)) = (sps, pps) {
            self.parameter_sets = Some((sps, pps));
        }
        if avcc.is_empty() {
            return Ok(None);
        }
        self.since_key = if keyframe { Some(1) } else { self.since_key.map(|n| n + 1) };
        Ok(Some(EncodedFrame { keyframe, avcc }))
    }

    /// The sequence and picture parameter sets `(sps, pps)`, NAL units without start codes,
    /// once the first keyframe has been encoded.
    pub fn parameter_sets(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        self.parameter_sets.clone()
    }
}

/// Lends a [`Yuv420`] to OpenH264.
struct Source<'a>(&'a Yuv420);

impl YUVSource for Source<'_> {
    fn dimensions(&self) -> (usize, usize) {
        (self.0.width() as usize, self.0.height() as usize)
    }

    fn strides(&self) -> (usize, usize, usize) {
        (self.0.y_stride(), self.0.uv_stride(), self.0.uv_stride())
    }

    fn y(&self) -> &[u8] {
        self.0.y()
    }

    fn u(&self) -> &[u8] {
        self.0.u()
    }

    fn v(&self) -> &[u8] {
        self.0.v()
    }
}

/// Removes a leading Annex B start code (`00 00 01` or `00 00 00 01`).
fn strip_start_code(nal: &[u8]) -> &[u8] {
    nal.strip_prefix(&[0, 0, 0, 1]).or_else(|| nal.strip_prefix(&[0, 0, 1])).unwrap_or(nal)
}

/// Splits an AVCC access unit into its NAL units; refuses lengths that are zero or run past
/// the end.
pub fn split_avcc(avcc: &[u8]) -> Result<Vec<&[u8]>, VideoError> {
    let mut rest = avcc;
    let mut nals = Vec::new();
    while !rest.is_empty() {
        let Some((len, tail)) = rest.split_first_chunk::<4>() else {
            return Err(VideoError::BadBitstream(format!("{} stray bytes at the end", rest.len())));
        };
        let len = u32::from_be_bytes(*len) as usize;
        if len == 0 || len > tail.len() {
            return Err(VideoError::BadBitstream(format!(
                "NAL unit length {len} with {} bytes left",
                tail.len()
            )));
        }
        let (nal, tail) = tail.split_at(len);
        nals.push(nal);
        rest = tail;
    }
    if nals.is_empty() {
        return Err(VideoError::BadBitstream("empty access unit".into()));
    }
    Ok(nals)
}

/// An H.264 decoder fed AVCC access units.
pub struct Decoder {
    inner: H264Decoder,
    annexb: Vec<u8>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder").finish_non_exhaustive()
    }
}

impl Decoder {
    /// A decoder waiting for its parameter sets.
    pub fn new() -> Result<Decoder, VideoError> {
        let inner = H264Decoder::new().map_err(|e| VideoError::Decoder(e.to_string()))?;
        Ok(Decoder { inner, annexb: Vec::new() })
    }

    /// Feeds the sequence and picture parameter sets (NAL units without start codes); needed
    /// once before the first keyframe, and again whenever they change.
    pub fn set_parameter_sets(&mut self, sps: &[u8], pps: &[u8]) -> Result<(), VideoError> {
        if sps.first().map(|b| b & 0x1F) != Some(NAL_SPS) {
            return Err(VideoError::BadBitstream("the SPS is not an SPS NAL unit".into()));
        }
        if pps.first().map(|b| b & 0x1F) != Some(NAL_PPS) {
            return Err(VideoError::BadBitstream("the PPS is not a PPS NAL unit".into()));
        }
        self.annexb.clear();
        for nal in [sps, pps] {
            self.annexb.extend_from_slice(&[0, 0, 0, 1]);
            self.annexb.extend_from_slice(nal);
        }
        self.inner.decode(&self.annexb).map_err(|e| VideoError::Decoder(e.to_string()))?;
        Ok(())
    }

    /// Decodes one AVCC access unit; `Ok(None)` when it completed no picture.
    pub fn decode(&mut self, avcc: &[u8]) -> Result<Option<Yuv420>, VideoError> {
        let nals = split_avcc(avcc)?;
        self.annexb.clear();
        for nal in nals {
            self.annexb.extend_from_slice(&[0, 0, 0, 1]);
            self.annexb.extend_from_slice(nal);
        }
        let decoded =
            self.inner.decode(&self.annexb).map_err(|e| VideoError::Decoder(e.to_string()))?;
        let Some(pic) = decoded else { return Ok(None) };
        let (w, h) = pic.dimensions();
        let (ys, us, vs) = pic.strides();
        let (y_src, u_src, v_src) = (pic.y(), pic.u(), pic.v());
        // Rows are copied tightly; a plane shorter than its rows claim comes out short and is
        // refused by `from_planes` below.
        let plane = |src: &[u8], stride: usize, w: usize, h: usize| {
            let mut out = Vec::with_capacity(w * h);
            for row in (0..h).filter_map(|row| src.get(row * stride..row * stride + w)) {
                out.extend_from_slice(row);
            }
            out
        };
        let y = plane(y_src, ys, w, h);
        let u = plane(u_src, us, w / 2, h / 2);
        let v = plane(v_src, vs, w / 2, h / 2);
        let (width, height) = (u32::try_from(w), u32::try_from(h));
        let (Ok(width), Ok(height)) = (width, height) else {
            return Err(VideoError::Decoder("decoded picture size out of range".into()));
        };
        Yuv420::from_planes(width, height, (y, w), (u, v, w / 2)).map(Some)
    }
}

/// Decodes `access_units` (AVCC, starting at a keyframe) and returns the last picture as a
/// JPEG of `quality`: "the picture at time T", decoded from the nearest keyframe before it.
pub fn snapshot_jpeg(
    sps: &[u8],
    pps: &[u8],
    access_units: &[&[u8]],
    quality: u8,
) -> Result<Vec<u8>, VideoError> {
    let mut decoder = Decoder::new()?;
    decoder.set_parameter_sets(sps, pps)?;
    let mut last = None;
    for au in access_units {
        if let Some(pic) = decoder.decode(au)? {
            last = Some(pic);
        }
    }
    let pic = last.ok_or(VideoError::NoPicture)?;
    encode_jpeg(&to_rgb(&pic), quality)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_avcc_takes_well_formed_units_and_refuses_the_rest() {
        let au = [0, 0, 0, 2, 0x65, 1, 0, 0, 0, 1, 0x41];
        assert_eq!(split_avcc(&au).expect("well formed"), [&[0x65, 1][..], &[0x41][..]]);
        for bad in [&[][..], &[0, 0, 0, 0][..], &[0, 0, 0, 5, 1][..], &[0, 0, 0, 1, 0x41, 0][..]] {
            assert_eq!(
                split_avcc(bad).map_err(|e| e.code()),
                Err("video-bad-bitstream"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn start_codes_of_both_lengths_are_stripped() {
        assert_eq!(strip_start_code(&[0, 0, 0, 1, 0x67]), [0x67]);
        assert_eq!(strip_start_code(&[0, 0, 1, 0x68]), [0x68]);
        assert_eq!(strip_start_code(&[0x65]), [0x65]);
    }

    #[test]
    fn configs_out_of_range_are_refused() {
        let ok = EncoderConfig::default();
        assert!(ok.validate().is_ok());
        for (cfg, code) in [
            (EncoderConfig { width: 641, ..ok }, "video-bad-size"),
            (EncoderConfig { height: 0, ..ok }, "video-bad-size"),
            (EncoderConfig { width: 8, height: 8, ..ok }, "video-bad-size"),
            (EncoderConfig { fps: 0, ..ok }, "video-bad-config"),
            (EncoderConfig { bitrate_bps: 10, ..ok }, "video-bad-config"),
            (EncoderConfig { gop: 0, ..ok }, "video-bad-config"),
        ] {
            assert_eq!(cfg.validate().map_err(|e| e.code()), Err(code), "{cfg:?}");
        }
    }
}
