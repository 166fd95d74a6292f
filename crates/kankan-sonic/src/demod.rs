//! The receiver: finds the sync pattern anywhere in a recording, refines the symbol timing,
//! measures every tone with Goertzel filters and hands soft bytes to the frame decoder.
//!
//! Sync search is coarse-to-fine. Coarse: the recording is cut into 5 ms blocks; for each
//! sync tone the complex DFT of every block is combined into the DFT of every 20 ms window at a
//! 5 ms step, and each step is scored by the share of sync-tone energy that falls on the
//! expected pattern, averaged over the 8 sync symbols (≈ 1/8 for noise, ≈ 1 for a clean
//! signal). Fine: around each candidate the
//! pattern energy is measured at 0.25 ms steps and the centre of its plateau is taken.

use std::f64::consts::PI;

use crate::frame::{self, HEADER_SYMBOLS, Layout, Soft};
use crate::tones::{
    BYTES_PER_SYMBOL, CHANNELS, SYMBOL_SECONDS, SYNC_SYMBOLS, TONES_PER_CHANNEL,
    WINDOW_OFFSET_SECONDS, WINDOW_SECONDS, goertzel_complex, goertzel_power, sync_tone, tone_hz,
};
use crate::{MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, SonicError};

/// Coarse search step, in seconds (a quarter of the analysis window).
const HOP_SECONDS: f64 = WINDOW_SECONDS / 4.0;
/// Least coarse sync score worth a closer look.
const SYNC_THRESHOLD: f64 = 0.3;
/// Most sync candidates tried per recording.
const MAX_CANDIDATES: usize = 6;
/// Fine search: ± this many seconds around a coarse candidate, in `FINE_STEP_SECONDS` steps.
const FINE_SPAN_SECONDS: f64 = 0.006;
const FINE_STEP_SECONDS: f64 = 0.000_25;
/// Timing nudges (seconds) tried when a frame fails to decode at the refined timing.
const NUDGES: [f64; 3] = [0.0, 0.0008, -0.0008];

/// A recording prepared for analysis.
struct Rx {
    x: Vec<f32>,
    fs: f64,
    /// Analysis window length in samples.
    window: usize,
}

impl Rx {
    /// The recording with non-finite samples zeroed and the DC offset removed.
    fn new(samples: &[f32], sample_rate: u32) -> Rx {
        let finite = |v: f32| if v.is_finite() { f64::from(v) } else { 0.0 };
        let mean = samples.iter().map(|&v| finite(v)).sum::<f64>() / samples.len().max(1) as f64;
        let fs = f64::from(sample_rate);
        Rx {
            x: samples.iter().map(|&v| (finite(v) - mean) as f32).collect(),
            fs,
            window: (WINDOW_SECONDS * fs).round() as usize,
        }
    }

    /// The analysis window starting at sample `start` (rounded), if it lies inside.
    fn window_at(&self, start: f64) -> Option<&[f32]> {
        let s = start.round();
        if s < 0.0 {
            return None;
        }
        let s = s as usize;
        self.x.get(s..s.checked_add(self.window)?)
    }

    /// Where the analysis window of slot `slot` starts when slot 0 starts at `t0`.
    fn slot_window(&self, t0: f64, slot: usize) -> f64 {
        t0 + (slot as f64 * SYMBOL_SECONDS + WINDOW_OFFSET_SECONDS) * self.fs
    }

    fn omega(&self, channel: usize, tone: usize) -> f64 {
        2.0 * PI * tone_hz(channel, tone) / self.fs
    }
}

/// Decodes the first frame found in `samples`; see the crate docs.
pub fn decode(samples: &[f32], sample_rate: u32) -> Result<Vec<u8>, SonicError> {
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate) {
        return Err(SonicError::UnsupportedSampleRate(sample_rate));
    }
    let rx = Rx::new(samples, sample_rate);
    let fs = rx.fs;
    // When every candidate fails, report the failure that got furthest.
    let mut worst = (0, SonicError::NoSignal);
    for coarse in candidates(&rx) {
        let t0 = refine(&rx, coarse);
        for nudge in NUDGES {
            match demodulate_frame(&rx, t0 + nudge * fs) {
                Ok(payload) => return Ok(payload),
                Err(failure) if failure.0 > worst.0 => worst = failure,
                Err(_) => {}
            }
        }
    }
    Err(worst.1)
}

/// Coarse sync candidates: sample positions of slot 0, earliest first.
fn candidates(rx: &Rx) -> Vec<f64> {
    let hop = (HOP_SECONDS * rx.fs).round() as usize;
    let blocks = rx.x.len() / hop;
    let per_window = (WINDOW_SECONDS / HOP_SECONDS).round() as usize;
    // Block offset of each sync symbol's window from slot 0.
    let offsets: Vec<usize> = (0..SYNC_SYMBOLS)
        .map(|i| {
            let seconds = i as f64 * SYMBOL_SECONDS + WINDOW_OFFSET_SECONDS;
            (seconds * rx.fs / hop as f64).round() as usize
        })
        .collect();
    let reach = offsets.last().copied().unwrap_or(0) + per_window;
    if blocks < reach {
        return Vec::new();
    }
    let starts = blocks - reach + 1;

    // power[c][t][b]: energy of tone t of channel c in the window starting at block b, for
    // the tones the sync pattern uses (the others stay empty).
    let mut power = vec![vec![Vec::new(); TONES_PER_CHANNEL]; CHANNELS];
    for (c, channel) in power.iter_mut().enumerate() {
        for i in 0..SYNC_SYMBOLS {
            let t = sync_tone(i, c);
            let omega = rx.omega(c, t);
            let dft: Vec<(f64, f64)> =
                rx.x.chunks_exact(hop).map(|block| goertzel_complex(block, omega)).collect();
            let turn: Vec<(f64, f64)> = (0..per_window)
                .map(|j| {
                    let a = -omega * (j * hop) as f64;
                    (a.cos(), a.sin())
                })
                .collect();
            let mut energy = vec![0.0f32; blocks + 1 - per_window];
            for (b, e) in energy.iter_mut().enumerate() {
                let (mut re, mut im) = (0.0, 0.0);
                for (j, &(tc, ts)) in turn.iter().enumerate() {
                    let (br, bi) = dft[b + j];
                    re += br * tc - bi * ts;
                    im += br * ts + bi * tc;
                }
                *e = (re * re + im * im) as f32;
            }
            channel[t] = energy;
        }
    }

    // Each sync symbol scores the share of its sync-tone energy on the pattern; the step's
    // score is their mean, so no single loud (or silent) window decides it.
    let mut score = vec![0.0f64; starts];
    for (b, s) in score.iter_mut().enumerate() {
        for (i, &off) in offsets.iter().enumerate() {
            let (mut hit, mut all) = (0.0f64, 0.0f64);
            for (c, channel) in power.iter().enumerate() {
                for (t, energy) in channel.iter().enumerate() {
                    if let Some(&e) = energy.get(b + off) {
                        all += f64::from(e);
                        if t == sync_tone(i, c) {
                            hit += f64::from(e);
                        }
                    }
                }
            }
            if all > 1e-12 {
                *s += hit / all / SYNC_SYMBOLS as f64;
            }
        }
    }

    // Local maxima over ± one slot, strongest first, then tried in time order.
    let guard = offsets.get(1).copied().unwrap_or(1).max(1);
    let mut peaks: Vec<usize> = (0..starts)
        .filter(|&b| {
            let lo = b.saturating_sub(guard);
            let hi = (b + guard).min(starts - 1);
            score[b] >= SYNC_THRESHOLD
                && (lo..b).all(|o| score[o] < score[b])
                && (b + 1..=hi).all(|o| score[o] <= score[b])
        })
        .collect();
    peaks.sort_by(|&a, &b| score[b].total_cmp(&score[a]));
    peaks.truncate(MAX_CANDIDATES);
    peaks.sort_unstable();
    peaks.into_iter().map(|b| (b * hop) as f64).collect()
}

/// Energy on the sync pattern if slot 0 starts at `t0`.
fn pattern_energy(rx: &Rx, t0: f64) -> f64 {
    let mut sum = 0.0;
    for i in 0..SYNC_SYMBOLS {
        if let Some(w) = rx.window_at(rx.slot_window(t0, i)) {
            for c in 0..CHANNELS {
                sum += goertzel_power(w, rx.omega(c, sync_tone(i, c)));
            }
        }
    }
    sum
}

/// The centre of the pattern-energy plateau near `coarse`.
fn refine(rx: &Rx, coarse: f64) -> f64 {
    let step = FINE_STEP_SECONDS * rx.fs;
    let steps = (2.0 * FINE_SPAN_SECONDS / FINE_STEP_SECONDS).round() as usize;
    let first = coarse - FINE_SPAN_SECONDS * rx.fs;
    let energy: Vec<f64> =
        (0..=steps).map(|s| pattern_energy(rx, first + s as f64 * step)).collect();
    let best = (0..energy.len()).fold(0, |m, s| if energy[s] > energy[m] { s } else { m });
    let floor = 0.95 * energy[best];
    let mut lo = best;
    while lo > 0 && energy[lo - 1] >= floor {
        lo -= 1;
    }
    let mut hi = best;
    while hi + 1 < energy.len() && energy[hi + 1] >= floor {
        hi += 1;
    }
    first + (lo + hi) as f64 / 2.0 * step
}

/// Soft bytes of data slots `from..to` (slot numbers after the sync), stopping early at the end
/// of the recording.
fn demodulate(rx: &Rx, t0: f64, from: usize, to: usize) -> Vec<Soft> {
    let mut out = Vec::with_capacity((to - from) * BYTES_PER_SYMBOL);
    for k in from..to {
        let Some(w) = rx.window_at(rx.slot_window(t0, SYNC_SYMBOLS + k)) else {
            break;
        };
        let mut nibbles = [(0u8, 0.0f32); CHANNELS];
        for (c, nibble) in nibbles.iter_mut().enumerate() {
            let (mut best, mut first, mut second) = (0, 0.0f64, 0.0f64);
            for t in 0..TONES_PER_CHANNEL {
                let p = goertzel_power(w, rx.omega(c, t));
                if p > first {
                    (second, first, best) = (first, p, t);
                } else if p > second {
                    second = p;
                }
            }
            let confidence = if first > 0.0 { (1.0 - second / first) as f32 } else { 0.0 };
            *nibble = (best as u8, confidence);
        }
        for pair in nibbles.chunks_exact(2) {
            out.push(Soft {
                value: (pair[0].0 << 4) | pair[1].0,
                confidence: pair[0].1.min(pair[1].1),
            });
        }
    }
    out
}

/// Decodes the frame whose slot 0 starts at sample `t0`. A failure comes with how far it got:
/// 1 for a bad or cut-off header (as likely a false sync as a real one), 2 for a header that
/// names another version, 3 for a good header followed by a bad or cut-off body.
fn demodulate_frame(rx: &Rx, t0: f64) -> Result<Vec<u8>, (u8, SonicError)> {
    let mut air = demodulate(rx, t0, 0, HEADER_SYMBOLS);
    let header = frame::parse_header(&air).map_err(|e| match e {
        SonicError::UnsupportedVersion(_) => (2, e),
        _ => (1, e),
    })?;
    let layout = Layout::for_payload(header.payload_len);
    air.extend(demodulate(rx, t0, HEADER_SYMBOLS, layout.symbols()));
    frame::parse_body(&air, &layout).map_err(|e| (3, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{HEADER_LEN, whiten};
    use crate::{ModemConfig, encode};

    #[test]
    fn a_payload_that_spells_the_sync_pattern_does_not_fool_the_receiver() {
        // Payload bytes that, once whitened, put a second copy of the sync pattern on air
        // right after the header.
        let mut keystream = vec![0u8; HEADER_LEN + SYNC_SYMBOLS * BYTES_PER_SYMBOL];
        whiten(&mut keystream);
        let mut payload = Vec::new();
        for i in 0..SYNC_SYMBOLS {
            for j in 0..BYTES_PER_SYMBOL {
                let byte = (sync_tone(i, 2 * j) << 4 | sync_tone(i, 2 * j + 1)) as u8;
                payload.push(byte ^ keystream[HEADER_LEN + payload.len()]);
            }
        }
        let samples = encode(&payload, &ModemConfig::default()).expect("encode");
        let found = candidates(&Rx::new(&samples, 48_000));
        assert!(found.len() >= 2, "the copy scores like the real pattern: {found:?}");
        assert_eq!(decode(&samples, 48_000), Ok(payload));
    }

    #[test]
    fn refined_timing_lands_on_the_true_slot_start() {
        let cfg = ModemConfig::default();
        let samples = encode(b"timing", &cfg).expect("encode");
        let rx = Rx::new(&samples, cfg.sample_rate);
        let truth = (f64::from(cfg.padding_ms) / 1000.0 + crate::tones::RAMP_SECONDS / 2.0) * rx.fs;
        let found = candidates(&rx);
        assert_eq!(found.len(), 1);
        let t0 = refine(&rx, found[0]);
        assert!((t0 - truth).abs() < 0.0005 * rx.fs, "refined {t0}, true {truth}");
    }
}
