//! RIFF/WAVE reading and writing. Writing produces 16-bit PCM mono; reading accepts what
//! browsers, phones and sound tools produce: PCM 8/16/24/32-bit integer and 32/64-bit float,
//! plain or `WAVE_FORMAT_EXTENSIBLE`, any channel count (mixed down to mono), chunks in any
//! order with unknown ones skipped. Every size is checked against the bytes actually present.

use crate::SonicError;

const FORMAT_PCM: u16 = 1;
const FORMAT_FLOAT: u16 = 3;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;
/// More channels than any real recording has; refusing them bounds the per-frame work.
const MAX_CHANNELS: u16 = 64;

fn bad(msg: impl Into<String>) -> SonicError {
    SonicError::BadWav(msg.into())
}

/// Encodes `samples` (clamped to [-1, 1]; NaN becomes 0) as a 16-bit PCM mono WAV file.
pub fn write_wav(samples: &[f32], sample_rate: u32) -> Vec<u8> {
    // A RIFF size is 32 bits: longer input is cut at the largest whole sample that fits.
    let count = samples.len().min((u32::MAX as usize - 36) / 2);
    let data_len = (count * 2) as u32;
    let mut out = Vec::with_capacity(44 + count * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&FORMAT_PCM.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&sample_rate.saturating_mul(2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for &s in &samples[..count] {
        let v = if s.is_nan() { 0.0 } else { s.clamp(-1.0, 1.0) };
        out.extend_from_slice(&((v * 32767.0).round() as i16).to_le_bytes());
    }
    out
}

/// The fields of a `fmt ` chunk that matter here.
#[derive(Debug, Clone, Copy)]
struct Format {
    float: bool,
    channels: usize,
    sample_rate: u32,
    bytes_per_sample: usize,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn parse_format(body: &[u8]) -> Result<Format, SonicError> {
    let field = |v: Option<u16>| v.ok_or_else(|| bad("the fmt chunk is shorter than 16 bytes"));
    let mut tag = field(u16_at(body, 0))?;
    let channels = field(u16_at(body, 2))?;
    let sample_rate = u32_at(body, 4).ok_or_else(|| bad("the fmt chunk is too short"))?;
    let block_align = field(u16_at(body, 12))?;
    let bits = field(u16_at(body, 14))?;
    if tag == FORMAT_EXTENSIBLE {
        // cbSize, valid bits, channel mask, then the sub-format GUID whose first two bytes
        // are the real format tag.
        tag = u16_at(body, 24).ok_or_else(|| bad("the extensible fmt chunk is too short"))?;
    }
    let float = match (tag, bits) {
        (FORMAT_PCM, 8 | 16 | 24 | 32) => false,
        (FORMAT_FLOAT, 32 | 64) => true,
        (FORMAT_PCM | FORMAT_FLOAT, _) => {
            return Err(bad(format!("{bits}-bit samples are not supported")));
        }
        _ => return Err(bad(format!("format tag {tag:#06x} is not PCM or float"))),
    };
    if channels == 0 || channels > MAX_CHANNELS {
        return Err(bad(format!("{channels} channels is not supported")));
    }
    if sample_rate == 0 {
        return Err(bad("the sample rate is zero"));
    }
    let bytes_per_sample = usize::from(bits / 8);
    if usize::from(block_align) != bytes_per_sample * usize::from(channels) {
        return Err(bad(format!(
            "block align {block_align} does not match {channels} channels of {bits} bits"
        )));
    }
    Ok(Format { float, channels: usize::from(channels), sample_rate, bytes_per_sample })
}

/// One sample as a float in about [-1, 1]; `raw` holds exactly `bytes_per_sample` bytes.
fn sample(raw: &[u8], float: bool) -> f32 {
    let v = match (raw.len(), float) {
        (1, _) => (f32::from(raw[0]) - 128.0) / 128.0,
        (2, _) => f32::from(i16::from_le_bytes([raw[0], raw[1]])) / 32768.0,
        (3, _) => (i32::from_le_bytes([0, raw[0], raw[1], raw[2]]) >> 8) as f32 / 8_388_608.0,
        (4, false) => {
            (f64::from(i32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]])) / 2_147_483_648.0)
                as f32
        }
        (4, true) => f32::from_le_bytes([raw[0], raw[1], raw[2], raw[3]]),
        (8, _) => {
            let mut b = [0u8; 8];
            b.copy_from_slice(raw);
            f64::from_le_bytes(b) as f32
        }
        _ => 0.0,
    };
    if v.is_finite() { v } else { 0.0 }
}

/// Decodes a WAV file into mono samples and their sample rate.
///
/// Chunks may come in any order and unknown ones are skipped; a missing pad byte after an
/// odd-sized final chunk is tolerated, as is a trailing partial sample frame (the mark of a
/// recording cut short). Anything else that does not add up is refused with
/// [`SonicError::BadWav`]; no input makes this panic.
pub fn read_wav(bytes: &[u8]) -> Result<(Vec<f32>, u32), SonicError> {
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(bad("not a RIFF/WAVE file"));
    }
    let riff_size = u32_at(bytes, 4).map_or(0, |v| v as usize);
    if riff_size < 4 || riff_size > bytes.len() - 8 {
        return Err(bad(format!(
            "the RIFF size {riff_size} does not fit the {} bytes given",
            bytes.len()
        )));
    }
    let riff = &bytes[..8 + riff_size];
    let (mut format, mut data) = (None, None);
    let mut at = 12;
    while at < riff.len() {
        let (Some(id), Some(size)) = (riff.get(at..at + 4), u32_at(riff, at + 4)) else {
            return Err(bad(format!("a chunk header at byte {at} is cut off")));
        };
        let size = size as usize;
        let start = at + 8;
        let body =
            start.checked_add(size).and_then(|end| riff.get(start..end)).ok_or_else(|| {
                bad(format!("chunk {:?} claims {size} bytes past the end", ascii(id)))
            })?;
        match id {
            b"fmt " if format.is_some() => return Err(bad("more than one fmt chunk")),
            b"fmt " => format = Some(parse_format(body)?),
            b"data" if data.is_some() => return Err(bad("more than one data chunk")),
            b"data" => data = Some(body),
            _ => {}
        }
        at = start + size + (size & 1);
    }
    let format = format.ok_or_else(|| bad("no fmt chunk"))?;
    let data = data.ok_or_else(|| bad("no data chunk"))?;
    let frame = format.bytes_per_sample * format.channels;
    let mut samples = Vec::with_capacity(data.len() / frame);
    let scale = 1.0 / format.channels as f32;
    for raw_frame in data.chunks_exact(frame) {
        let sum: f32 =
            raw_frame.chunks_exact(format.bytes_per_sample).map(|s| sample(s, format.float)).sum();
        samples.push(sum * scale);
    }
    Ok((samples, format.sample_rate))
}

/// A chunk id for an error message, with anything unprintable escaped.
fn ascii(id: &[u8]) -> String {
    id.iter().flat_map(|&b| std::ascii::escape_default(b)).map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn riff(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
        let mut body = b"WAVE".to_vec();
        for (id, data) in chunks {
            body.extend_from_slice(*id);
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    }

    fn fmt(tag: u16, channels: u16, rate: u32, bits: u16) -> Vec<u8> {
        let align = channels * bits / 8;
        let mut f = Vec::new();
        f.extend_from_slice(&tag.to_le_bytes());
        f.extend_from_slice(&channels.to_le_bytes());
        f.extend_from_slice(&rate.to_le_bytes());
        f.extend_from_slice(&(rate * u32::from(align)).to_le_bytes());
        f.extend_from_slice(&align.to_le_bytes());
        f.extend_from_slice(&bits.to_le_bytes());
        f
    }

    #[test]
    fn writes_a_canonical_16_bit_mono_header() {
        let wav = write_wav(&[0.0, 1.0, -1.0, 2.0, f32::NAN], 48_000);
        assert_eq!(wav.len(), 44 + 10);
        assert_eq!(&wav[0..4], b"RIFF");
        assert_eq!(u32_at(&wav, 4), Some(46));
        assert_eq!(u32_at(&wav, 24), Some(48_000));
        assert_eq!(u16_at(&wav, 44 + 2), Some(32767));
        assert_eq!(u16_at(&wav, 44 + 4), Some((-32767i16) as u16));
        assert_eq!(u16_at(&wav, 44 + 8), Some(0));
    }

    #[test]
    fn reads_chunks_in_any_order_and_skips_unknown_ones() {
        let data: Vec<u8> = [1000i16, -2000].iter().flat_map(|v| v.to_le_bytes()).collect();
        let wav =
            riff(&[(b"LIST", vec![1, 2, 3]), (b"data", data), (b"fmt ", fmt(1, 1, 8000, 16))]);
        let (s, rate) = read_wav(&wav).expect("read");
        assert_eq!(rate, 8000);
        assert_eq!(s, vec![1000.0 / 32768.0, -2000.0 / 32768.0]);
    }

    #[test]
    fn reads_every_sample_format_and_mixes_channels_down() {
        let cases: Vec<(u16, u16, Vec<u8>)> = vec![
            (1, 8, vec![255, 1]),
            (1, 24, vec![0, 0, 0x40, 0, 0, 0xC0]),
            (1, 32, [i32::MAX / 2, i32::MIN / 2].iter().flat_map(|v| v.to_le_bytes()).collect()),
            (3, 32, [0.5f32, -0.5].iter().flat_map(|v| v.to_le_bytes()).collect()),
            (3, 64, [0.5f64, -0.5].iter().flat_map(|v| v.to_le_bytes()).collect()),
        ];
        for (tag, bits, data) in cases {
            let wav = riff(&[(b"fmt ", fmt(tag, 2, 44_100, bits)), (b"data", data)]);
            let (s, rate) = read_wav(&wav).expect("read");
            assert_eq!((s.len(), rate), (1, 44_100), "tag {tag} bits {bits}");
            assert!(s[0].abs() < 0.01, "stereo opposites cancel: {} ({tag}/{bits})", s[0]);
        }
    }

    #[test]
    fn reads_wave_format_extensible() {
        let mut f = fmt(FORMAT_EXTENSIBLE, 1, 16_000, 16);
        f.extend_from_slice(&22u16.to_le_bytes());
        f.extend_from_slice(&16u16.to_le_bytes());
        f.extend_from_slice(&4u32.to_le_bytes());
        f.extend_from_slice(&FORMAT_PCM.to_le_bytes());
        f.extend_from_slice(&[0; 14]);
        let wav = riff(&[(b"fmt ", f), (b"data", vec![0, 0x40])]);
        assert_eq!(read_wav(&wav).expect("read"), (vec![0.5], 16_000));
    }

    #[test]
    fn refuses_files_that_do_not_add_up() {
        let ok = riff(&[(b"fmt ", fmt(1, 1, 8000, 16)), (b"data", vec![0; 4])]);
        assert!(read_wav(&ok).is_ok());
        let mut too_big = ok.clone();
        too_big[4] = 0xFF;
        let mut chunk_overrun = ok.clone();
        chunk_overrun[40] = 0xFF;
        let mut bad_align = ok.clone();
        bad_align[32] = 3;
        let cases = [
            (b"RIFX".to_vec(), "magic"),
            (too_big, "riff size"),
            (chunk_overrun, "chunk size"),
            (bad_align, "block align"),
            (riff(&[(b"data", vec![0; 4])]), "no fmt"),
            (riff(&[(b"fmt ", fmt(1, 1, 8000, 16))]), "no data"),
            (riff(&[(b"fmt ", fmt(1, 1, 8000, 12)), (b"data", vec![])]), "12 bits"),
            (riff(&[(b"fmt ", fmt(2, 1, 8000, 16)), (b"data", vec![])]), "ADPCM"),
            (riff(&[(b"fmt ", fmt(1, 0, 8000, 16)), (b"data", vec![])]), "no channels"),
            (riff(&[(b"fmt ", fmt(1, 1, 0, 16)), (b"data", vec![])]), "zero rate"),
            (riff(&[(b"fmt ", vec![1, 0, 1, 0])]), "short fmt"),
        ];
        for (wav, why) in cases {
            assert!(matches!(read_wav(&wav), Err(SonicError::BadWav(_))), "{why}");
        }
    }
}
