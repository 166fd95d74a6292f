//! End-to-end tests of the sound-wave modem: encode, pass through a channel model, decode.

mod channel;
mod props;
mod support;

use kankan_sonic::{ModemConfig, SonicError};

/// A pairing-sized payload that is not just a repeated byte.
pub fn payload(len: usize, seed: u64) -> Vec<u8> {
    support::Rng::new(seed).bytes(len)
}

/// The default 48 kHz config with no padding, so the samples are all signal.
pub fn tight() -> ModemConfig {
    ModemConfig { padding_ms: 0, ..ModemConfig::default() }
}

/// Encodes with `cfg` or fails the test.
pub fn encode(data: &[u8], cfg: &ModemConfig) -> Vec<f32> {
    kankan_sonic::encode(data, cfg).expect("encode")
}

/// Whether `e` is one of the refusals a damaged or absent signal may produce.
pub fn is_refusal(e: &SonicError) -> bool {
    matches!(e, SonicError::NoSignal | SonicError::Corrupt | SonicError::Truncated)
}
