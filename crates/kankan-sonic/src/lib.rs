//! Data over sound: the "sound-wave" pairing signal between the web app and a camera.
//!
//! The server turns a pairing payload (at most 255 bytes) into a WAV file with [`encode`] and
//! [`write_wav`]; the browser plays it, the camera records it and recovers the bytes with
//! [`read_wav`] and [`decode`]. The recording may hold silence or noise around the signal and
//! may use another sample rate than the one it was made at. A frame that cannot be recovered
//! exactly is refused ([`SonicError::Corrupt`]), never returned damaged.
//!
//! # Signal format (version [`FORMAT_VERSION`] = 1)
//!
//! This section is the reference for the format; the numbers live in the `tones` module.
//!
//! **Tones.** Multi-tone FSK: 6 parallel channels, each 16-ary (one 4-bit nibble per symbol),
//! so exactly 6 tones sound at any time. The 96 tones lie on a 50 Hz grid from 1500 Hz to
//! 6250 Hz, interleaved: tone `t` of channel `c` is `1500 + 50·(6t + c)` Hz.
//!
//! **Symbols.** A slot is 30 ms (33⅓ symbols/s, 24 bits per symbol, 800 bit/s raw). Each
//! tone burst covers its slot plus 3 ms either side; the bursts of neighbouring slots
//! cross-fade with raised-cosine ramps of 6 ms centred on the slot boundary, and phase follows
//! absolute time, so nothing clicks. The receiver measures each tone with a Goertzel filter
//! over the middle 20 ms of the slot (1/50 Hz, making the tones orthogonal), leaving ±2 ms of
//! timing slack. The whole signal is scaled so its peak equals [`ModemConfig::amplitude`] and
//! is surrounded by [`ModemConfig::padding_ms`] of silence.
//!
//! **Sync.** The first 8 slots are a sync pattern: in sync slot `i` channel `c` plays tone
//! `W[(i + 2c) mod 16] − 1`, where `W` is the Welch–Costas sequence `3^(k+1) mod 17`. The
//! receiver scores every 5 ms step of the recording by the share of sync-tone energy on that
//! pattern, then refines the timing at 0.25 ms steps.
//!
//! **Bytes to tones.** After the sync, data slot `s` carries air bytes `3s..3s+3`; byte
//! `3s + j` sends its high nibble on channel `2j` and its low nibble on channel `2j + 1`.
//!
//! **Frame (air bytes).**
//! 1. Header: Reed–Solomon (9, 3) codeword of `[FORMAT_VERSION, payload length, 0]`.
//! 2. Body: `payload ‖ CRC-32(payload)` (little-endian, IEEE), split into ⌈(len+4)/120⌉
//!    blocks of near-equal size (earlier blocks take the extra byte), each a systematic
//!    Reed–Solomon codeword over GF(256) with `max(16, 2·⌈k/4⌉)` parity bytes (≈ rate 2/3);
//!    the blocks are interleaved byte by byte (byte 0 of each block, then byte 1, …).
//! 3. Zero padding to a whole symbol.
//!
//! Both codes use GF(256) with polynomial `0x11D` and generator roots α⁰..α^(parity−1), parity
//! bytes after the data. All air bytes are XORed with a whitening sequence: the low byte of
//! successive xorshift32 (13, 17, 5) states seeded with `0x6B616E6B`, from the first header
//! byte on. The receiver decodes each codeword for errors first, then again treating the least
//! confident bytes as erasures, and returns the payload only when the CRC-32 matches.
//!
//! A 160-byte payload is 86 data slots: 94 slots with sync, 2.83 s plus padding.

mod crc;
mod demod;
mod fec;
mod frame;
mod modem;
mod tones;
mod wav;

use std::time::Duration;

pub use demod::decode;
pub use modem::encode;
pub use wav::{read_wav, write_wav};

/// The frame format version, sent in every header. A receiver refuses other versions with
/// [`SonicError::UnsupportedVersion`].
pub const FORMAT_VERSION: u8 = 1;
/// The largest payload one signal carries, in bytes.
pub const MAX_PAYLOAD: usize = 255;
/// Lowest sample rate for encoding and decoding (the top tone is 6250 Hz).
pub const MIN_SAMPLE_RATE: u32 = 16_000;
/// Highest sample rate for encoding and decoding.
pub const MAX_SAMPLE_RATE: u32 = 384_000;

/// Transmitter settings. None of them needs to be known by the receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct ModemConfig {
    /// Output sample rate in Hz, from [`MIN_SAMPLE_RATE`] to [`MAX_SAMPLE_RATE`].
    pub sample_rate: u32,
    /// Peak level of the output, in (0, 1].
    pub amplitude: f32,
    /// Silence before and after the signal, in milliseconds (at most 10 000).
    pub padding_ms: u32,
}

impl Default for ModemConfig {
    /// 48 kHz, peak 0.8, 150 ms of silence either side.
    fn default() -> Self {
        ModemConfig { sample_rate: 48_000, amplitude: 0.8, padding_ms: 150 }
    }
}

/// How long the signal for a `payload_len`-byte payload plays, padding included.
pub fn signal_duration(payload_len: usize, cfg: &ModemConfig) -> Result<Duration, SonicError> {
    if payload_len > MAX_PAYLOAD {
        return Err(SonicError::TooLong { len: payload_len, max: MAX_PAYLOAD });
    }
    let slots = tones::SYNC_SYMBOLS + frame::Layout::for_payload(payload_len).symbols();
    let seconds = slots as f64 * tones::SYMBOL_SECONDS
        + tones::RAMP_SECONDS
        + 2.0 * f64::from(cfg.padding_ms) / 1000.0;
    Ok(Duration::from_secs_f64(seconds))
}

/// Why a signal could not be made, read or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SonicError {
    /// No sync pattern was found in the recording.
    #[error("no sound-wave signal found in the recording")]
    NoSignal,
    /// A signal was found but its data did not survive (FEC or CRC-32 failed).
    #[error("the sound-wave signal was found but could not be decoded intact")]
    Corrupt,
    /// The recording ends before the signal does.
    #[error("the recording ends before the sound-wave signal does")]
    Truncated,
    /// The header names a format version this build does not speak.
    #[error("the sound-wave signal uses format version {0}, which is not supported")]
    UnsupportedVersion(u8),
    /// The payload is longer than [`MAX_PAYLOAD`].
    #[error("the payload is {len} bytes; at most {max} fit in one signal")]
    TooLong { len: usize, max: usize },
    /// The sample rate is outside [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`].
    #[error("sample rate {0} Hz is not supported")]
    UnsupportedSampleRate(u32),
    /// A transmitter setting is out of range.
    #[error("bad modem setting: {0}")]
    BadConfig(String),
    /// The bytes are not a WAV file this crate can read.
    #[error("not a usable WAV file: {0}")]
    BadWav(String),
}

impl SonicError {
    /// The stable, kebab-case code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            SonicError::NoSignal => "no-signal",
            SonicError::Corrupt => "corrupt-signal",
            SonicError::Truncated => "truncated-signal",
            SonicError::UnsupportedVersion(_) => "unsupported-version",
            SonicError::TooLong { .. } => "payload-too-long",
            SonicError::UnsupportedSampleRate(_) => "unsupported-sample-rate",
            SonicError::BadConfig(_) => "bad-config",
            SonicError::BadWav(_) => "bad-wav",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_kebab_case() {
        let all = [
            SonicError::NoSignal,
            SonicError::Corrupt,
            SonicError::Truncated,
            SonicError::UnsupportedVersion(9),
            SonicError::TooLong { len: 300, max: 255 },
            SonicError::UnsupportedSampleRate(8000),
            SonicError::BadConfig("x".into()),
            SonicError::BadWav("x".into()),
        ];
        let codes: Vec<&str> = all.iter().map(SonicError::code).collect();
        assert_eq!(
            codes,
            [
                "no-signal",
                "corrupt-signal",
                "truncated-signal",
                "unsupported-version",
                "payload-too-long",
                "unsupported-sample-rate",
                "bad-config",
                "bad-wav"
            ]
        );
    }

    #[test]
    fn duration_matches_the_encoded_length() {
        let cfg = ModemConfig::default();
        for len in [0, 1, 100, 160, 255] {
            let samples = encode(&vec![7; len], &cfg).expect("encode").len() as f64;
            let secs = signal_duration(len, &cfg).expect("duration").as_secs_f64();
            assert!((samples / 48_000.0 - secs).abs() < 0.001, "{len}: {samples} vs {secs}");
        }
        let d160 = signal_duration(160, &ModemConfig { padding_ms: 0, ..cfg.clone() });
        assert!(d160.expect("duration").as_secs_f64() < 3.0);
        assert!(signal_duration(256, &cfg).is_err());
    }
}
