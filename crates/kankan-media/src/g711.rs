//! G.711 µ-law (PCMU), the 8 kHz telephone codec cameras speak: one byte per sample, 160
//! bytes per 20 ms frame. Talk audio travels as PCMU end to end (browser, server, device), so
//! nothing transcodes; this module is for the ends that make or play the sound.

/// Samples per second.
pub const SAMPLE_RATE: u32 = 8_000;
/// Bytes (and samples) in one 20 ms frame.
pub const FRAME_BYTES: usize = 160;

const BIAS: i32 = 0x84;
const CLIP: i32 = 32_635;

/// Encodes one 16-bit linear sample (ITU-T G.711, µ-law).
pub fn encode(sample: i16) -> u8 {
    let s = i32::from(sample);
    let sign = if s < 0 { 0x80 } else { 0 };
    let magnitude = s.abs().min(CLIP) + BIAS;
    // The segment is the position of the highest set bit above bit 7.
    let exponent = (0..8).rev().find(|e| magnitude & (0x80 << e) != 0).unwrap_or(0);
    let mantissa = (magnitude >> (exponent + 3)) & 0x0f;
    // In range by construction: sign is 0 or 0x80, exponent < 8, mantissa < 16.
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// Decodes one µ-law byte to a 16-bit linear sample.
pub fn decode(byte: u8) -> i16 {
    let b = !byte;
    let exponent = (b >> 4) & 0x07;
    let mantissa = i32::from(b & 0x0f);
    let magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
    // |magnitude| <= 32124, always within i16.
    let m = magnitude as i16;
    if b & 0x80 != 0 { -m } else { m }
}

/// Encodes linear samples.
pub fn encode_all(samples: &[i16]) -> Vec<u8> {
    samples.iter().map(|&s| encode(s)).collect()
}

/// Decodes µ-law bytes.
pub fn decode_all(bytes: &[u8]) -> Vec<i16> {
    bytes.iter().map(|&b| decode(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_code_points() {
        // Silence is 0xFF (positive zero); full scale clips to 0x80 / 0x00.
        assert_eq!(encode(0), 0xff);
        assert_eq!(decode(0xff), 0);
        assert_eq!(decode(0x7f), 0);
        assert_eq!(encode(i16::MAX), 0x80);
        assert_eq!(encode(i16::MIN), 0x00);
        assert_eq!(decode(0x80), 32_124);
        assert_eq!(decode(0x00), -32_124);
    }

    #[test]
    fn every_byte_survives_decode_then_encode() {
        for b in 0..=255u8 {
            let back = encode(decode(b));
            // 0x7F (negative zero) comes back as 0xFF (positive zero).
            let want = if b == 0x7f { 0xff } else { b };
            assert_eq!(back, want, "byte {b:#04x}");
        }
    }

    #[test]
    fn the_error_stays_within_the_segment_step() {
        for s in (-32_000i32..32_000).step_by(37) {
            let s = s as i16;
            let err = (i32::from(decode(encode(s))) - i32::from(s)).abs();
            let step = (i32::from(s).abs() / 16).max(8);
            assert!(err <= step, "{s}: decoded off by {err}");
        }
    }
}
