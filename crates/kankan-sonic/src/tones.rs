//! The tone plan shared by the transmitter and the receiver, and the Goertzel filter that
//! measures one tone's energy in a window of samples.

/// Parallel FSK channels; each sends one tone (a 4-bit nibble) per symbol.
pub const CHANNELS: usize = 6;
/// Tones per channel (16-ary FSK: 4 bits).
pub const TONES_PER_CHANNEL: usize = 16;
/// Lowest tone, in Hz.
pub const BASE_HZ: f64 = 1500.0;
/// Distance between neighbouring tones, in Hz (the inverse of the analysis window).
pub const SPACING_HZ: f64 = 50.0;
/// One symbol slot, in seconds.
pub const SYMBOL_SECONDS: f64 = 0.030;
/// The analysis window inside a slot, in seconds (1 / SPACING_HZ, so the tones are orthogonal).
pub const WINDOW_SECONDS: f64 = 0.020;
/// Where the analysis window starts inside a slot, in seconds.
pub const WINDOW_OFFSET_SECONDS: f64 = (SYMBOL_SECONDS - WINDOW_SECONDS) / 2.0;
/// Length of the raised-cosine cross-fade centred on each slot boundary, in seconds.
pub const RAMP_SECONDS: f64 = 0.006;
/// Sync symbols at the start of every transmission.
pub const SYNC_SYMBOLS: usize = 8;
/// Bytes per data symbol: each byte is two nibbles on a pair of channels.
pub const BYTES_PER_SYMBOL: usize = CHANNELS / 2;

/// The Welch–Costas sequence 3ⁱ mod 17 (i = 1..=16), minus one: a permutation of 0..16 whose
/// shifted copies barely overlap, so the sync pattern correlates sharply in time.
const COSTAS: [usize; 16] = [3, 9, 10, 13, 5, 15, 11, 16, 14, 8, 7, 4, 12, 2, 6, 1];

/// Frequency (Hz) of tone `tone` of channel `channel`. The channels are interleaved in
/// frequency (tone-major), so a narrow dip in a speaker's response hits one value in several
/// channels rather than a whole channel.
pub fn tone_hz(channel: usize, tone: usize) -> f64 {
    BASE_HZ + SPACING_HZ * (tone * CHANNELS + channel) as f64
}

/// The tone channel `channel` plays during sync symbol `index`.
pub fn sync_tone(index: usize, channel: usize) -> usize {
    COSTAS[(index + 2 * channel) % COSTAS.len()] - 1
}

/// Energy of the `omega` (radians per sample) component of `window`: |DFT|².
pub fn goertzel_power(window: &[f32], omega: f64) -> f64 {
    let coeff = 2.0 * omega.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in window {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0)
}

/// Complex DFT of `block` at `omega`, with phase referenced to the block's first sample:
/// Σ x[n]·e^(−iωn), as (re, im).
pub fn goertzel_complex(block: &[f32], omega: f64) -> (f64, f64) {
    let coeff = 2.0 * omega.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in block {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    // y = s1 − e^(−iω)·s2 = Σ x[m]·e^(iω(N−1−m)); rotate by e^(−iω(N−1)).
    let (c, s) = (omega.cos(), omega.sin());
    let (yr, yi) = (s1 - c * s2, s * s2);
    let turn = -omega * (block.len() as f64 - 1.0);
    let (tc, ts) = (turn.cos(), turn.sin());
    (yr * tc - yi * ts, yr * ts + yi * tc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costas_sequence_is_a_permutation() {
        let mut seen = [false; 16];
        for &v in &COSTAS {
            assert!((1..=16).contains(&v));
            seen[v - 1] = true;
        }
        assert!(seen.iter().all(|&s| s));
        let mut power = 1;
        for &v in &COSTAS {
            power = power * 3 % 17;
            assert_eq!(v, power);
        }
        // The Costas property: no two (time, tone) displacement vectors coincide.
        let mut vectors = Vec::new();
        for (i, &a) in COSTAS.iter().enumerate() {
            for (j, &b) in COSTAS.iter().enumerate().skip(i + 1) {
                vectors.push((j - i, b as i64 - a as i64));
            }
        }
        let count = vectors.len();
        vectors.sort_unstable();
        vectors.dedup();
        assert_eq!(vectors.len(), count);
    }

    #[test]
    fn every_tone_is_distinct_and_in_band() {
        let mut all: Vec<f64> = (0..CHANNELS)
            .flat_map(|c| (0..TONES_PER_CHANNEL).map(move |t| tone_hz(c, t)))
            .collect();
        all.sort_by(f64::total_cmp);
        all.dedup();
        assert_eq!(all.len(), CHANNELS * TONES_PER_CHANNEL);
        assert!(all[0] >= 1000.0 && all[all.len() - 1] <= 6500.0);
    }

    #[test]
    fn sync_tones_differ_between_consecutive_symbols() {
        for c in 0..CHANNELS {
            for i in 1..SYNC_SYMBOLS {
                assert_ne!(sync_tone(i, c), sync_tone(i - 1, c));
            }
        }
    }

    #[test]
    fn goertzel_agrees_with_a_direct_dft() {
        let x: Vec<f32> = (0..300).map(|n| ((n * 37 % 101) as f32 / 50.0) - 1.0).collect();
        let omega = 0.37;
        let (mut re, mut im) = (0.0f64, 0.0f64);
        for (n, &v) in x.iter().enumerate() {
            re += f64::from(v) * (omega * n as f64).cos();
            im -= f64::from(v) * (omega * n as f64).sin();
        }
        let (gr, gi) = goertzel_complex(&x, omega);
        assert!((gr - re).abs() < 1e-6 && (gi - im).abs() < 1e-6, "{gr},{gi} vs {re},{im}");
        let p = goertzel_power(&x, omega);
        assert!((p - (re * re + im * im)).abs() < 1e-6 * p.max(1.0));
    }
}
