//! The transmitter: frame bytes to multi-tone FSK samples.

use std::f64::consts::PI;

use crate::frame;
use crate::tones::{
    BYTES_PER_SYMBOL, CHANNELS, RAMP_SECONDS, SYMBOL_SECONDS, SYNC_SYMBOLS, sync_tone, tone_hz,
};
use crate::{MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, ModemConfig, SonicError};

/// Longest silence `ModemConfig::padding_ms` may ask for.
const MAX_PADDING_MS: u32 = 10_000;

/// The tone (0..16) every channel plays in every slot: sync first, then the frame bytes, the
/// high nibble of byte `3s + j` on channel `2j` and the low nibble on channel `2j + 1`.
fn slot_tones(air: &[u8]) -> Vec<[usize; CHANNELS]> {
    let mut slots = Vec::with_capacity(SYNC_SYMBOLS + air.len() / BYTES_PER_SYMBOL);
    for i in 0..SYNC_SYMBOLS {
        let mut tones = [0; CHANNELS];
        for (c, t) in tones.iter_mut().enumerate() {
            *t = sync_tone(i, c);
        }
        slots.push(tones);
    }
    for chunk in air.chunks(BYTES_PER_SYMBOL) {
        let mut tones = [0; CHANNELS];
        for (j, &byte) in chunk.iter().enumerate() {
            tones[2 * j] = usize::from(byte >> 4);
            tones[2 * j + 1] = usize::from(byte & 0x0F);
        }
        slots.push(tones);
    }
    slots
}

pub(crate) fn validate(cfg: &ModemConfig) -> Result<(), SonicError> {
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&cfg.sample_rate) {
        return Err(SonicError::UnsupportedSampleRate(cfg.sample_rate));
    }
    if !(cfg.amplitude > 0.0 && cfg.amplitude <= 1.0) {
        return Err(SonicError::BadConfig(format!(
            "amplitude must be in (0, 1], not {}",
            cfg.amplitude
        )));
    }
    if cfg.padding_ms > MAX_PADDING_MS {
        return Err(SonicError::BadConfig(format!(
            "padding_ms must be at most {MAX_PADDING_MS}, not {}",
            cfg.padding_ms
        )));
    }
    Ok(())
}

/// Samples for `payload`; see the crate docs for the format.
pub fn encode(payload: &[u8], cfg: &ModemConfig) -> Result<Vec<f32>, SonicError> {
    validate(cfg)?;
    let air = frame::build(payload)?;
    let slots = slot_tones(&air);
    let fs = f64::from(cfg.sample_rate);
    let pad = f64::from(cfg.padding_ms) / 1000.0;
    // Slot 0 starts after the padding and half a ramp, so the first fade-in starts at `pad`.
    let start = pad + RAMP_SECONDS / 2.0;
    let seconds = start + slots.len() as f64 * SYMBOL_SECONDS + RAMP_SECONDS / 2.0 + pad;
    let mut out = vec![0.0f64; (seconds * fs).ceil() as usize];

    let ramp = RAMP_SECONDS * fs;
    for (k, tones) in slots.iter().enumerate() {
        // The burst covers the slot plus half a ramp either side; the ramps of neighbouring
        // slots overlap and their raised-cosine gains sum to one.
        let from = (start + k as f64 * SYMBOL_SECONDS - RAMP_SECONDS / 2.0) * fs;
        let to = from + SYMBOL_SECONDS * fs + ramp;
        let first = from.ceil().max(0.0) as usize;
        let end = ((to.floor() as usize) + 1).min(out.len());
        if first >= end {
            continue;
        }
        for (c, &t) in tones.iter().enumerate() {
            let omega = 2.0 * PI * tone_hz(c, t) / fs;
            for (i, sample) in out[first..end].iter_mut().enumerate() {
                let pos = (first + i) as f64;
                let gain = if pos - from < ramp {
                    0.5 - 0.5 * (PI * (pos - from) / ramp).cos()
                } else if to - pos < ramp {
                    0.5 - 0.5 * (PI * (to - pos) / ramp).cos()
                } else {
                    1.0
                };
                // Phase follows absolute time, so a tone held over several slots is seamless.
                *sample += gain * (omega * pos).sin();
            }
        }
    }
    let peak = out.iter().fold(0.0f64, |m, &x| m.max(x.abs()));
    let scale = if peak > 0.0 { f64::from(cfg.amplitude) / peak } else { 0.0 };
    Ok(out.into_iter().map(|x| (x * scale) as f32).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tones::RAMP_SECONDS;

    #[test]
    fn signal_is_scaled_to_the_amplitude_and_starts_and_ends_quietly() {
        let cfg = ModemConfig { padding_ms: 0, ..ModemConfig::default() };
        let s = encode(b"hi", &cfg).expect("encode");
        let peak = s.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
        assert!((peak - cfg.amplitude).abs() < 1e-4);
        let edge = (RAMP_SECONDS * f64::from(cfg.sample_rate) * 0.1) as usize;
        assert!(s[..edge].iter().all(|x| x.abs() < 0.05));
        assert!(s[s.len() - edge..].iter().all(|x| x.abs() < 0.05));
    }

    #[test]
    fn nibbles_map_to_channel_pairs() {
        let slots = slot_tones(&[0xAB, 0xCD, 0xEF]);
        assert_eq!(slots.len(), SYNC_SYMBOLS + 1);
        assert_eq!(slots[SYNC_SYMBOLS], [0xA, 0xB, 0xC, 0xD, 0xE, 0xF]);
    }

    #[test]
    fn rejects_bad_configs() {
        let bad_rate = ModemConfig { sample_rate: 8000, ..ModemConfig::default() };
        assert!(matches!(encode(b"x", &bad_rate), Err(SonicError::UnsupportedSampleRate(8000))));
        let bad_gain = ModemConfig { amplitude: f32::NAN, ..ModemConfig::default() };
        assert!(matches!(encode(b"x", &bad_gain), Err(SonicError::BadConfig(_))));
        let long_pad = ModemConfig { padding_ms: 60_000, ..ModemConfig::default() };
        assert!(matches!(encode(b"x", &long_pad), Err(SonicError::BadConfig(_))));
    }
}
