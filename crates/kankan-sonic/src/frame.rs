//! The byte-level frame: header codeword, Reed–Solomon body blocks, interleaving and whitening.
//! The modem turns these bytes into tones; this module knows nothing about sound.

use crate::tones::BYTES_PER_SYMBOL;
use crate::{FORMAT_VERSION, MAX_PAYLOAD, SonicError, crc, fec};

/// Header data bytes: format version, payload length, reserved flags (0).
pub const HEADER_DATA: usize = 3;
/// Header parity bytes (corrects 3 errors or 6 erasures).
pub const HEADER_PARITY: usize = 6;
/// Header codeword length.
pub const HEADER_LEN: usize = HEADER_DATA + HEADER_PARITY;
/// Header codeword length in symbols.
pub const HEADER_SYMBOLS: usize = HEADER_LEN / BYTES_PER_SYMBOL;
/// Most data bytes in one body block.
const MAX_BLOCK_DATA: usize = 120;
/// Fewest parity bytes in one body block.
const MIN_BLOCK_PARITY: usize = 16;

/// The shape of a frame's body for one payload length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// (data bytes, parity bytes) for every block, in order.
    pub blocks: Vec<(usize, usize)>,
    /// Bytes on air: header, body and zero padding up to a whole symbol.
    pub total_bytes: usize,
}

impl Layout {
    /// The body of a `payload_len`-byte payload: payload ‖ CRC-32, split into
    /// ⌈(len+4)/120⌉ blocks of near-equal size, each with max(16, 2⌈k/4⌉) parity bytes.
    pub fn for_payload(payload_len: usize) -> Layout {
        let data = payload_len + 4;
        let count = data.div_ceil(MAX_BLOCK_DATA);
        let blocks: Vec<(usize, usize)> = (0..count)
            .map(|b| {
                let k = data / count + usize::from(b < data % count);
                (k, (2 * k.div_ceil(4)).max(MIN_BLOCK_PARITY))
            })
            .collect();
        let body: usize = blocks.iter().map(|(k, p)| k + p).sum();
        let total_bytes = (HEADER_LEN + body).div_ceil(BYTES_PER_SYMBOL) * BYTES_PER_SYMBOL;
        Layout { blocks, total_bytes }
    }

    /// Data symbols on air (header included, sync excluded).
    pub fn symbols(&self) -> usize {
        self.total_bytes / BYTES_PER_SYMBOL
    }

    /// Where each body codeword byte goes on air: `order[i]` is (block, index in block) for
    /// air byte `HEADER_LEN + i`. Blocks are interleaved byte by byte so a burst is spread.
    fn order(&self) -> Vec<(usize, usize)> {
        let longest = self.blocks.iter().map(|(k, p)| k + p).max().unwrap_or(0);
        let mut order = Vec::new();
        for j in 0..longest {
            for (b, (k, p)) in self.blocks.iter().enumerate() {
                if j < k + p {
                    order.push((b, j));
                }
            }
        }
        order
    }
}

/// XORs `bytes` with the whitening sequence: the low byte of successive xorshift32 (13, 17, 5)
/// states, seeded with 0x6B616E6B. Whitening spreads the spectrum and keeps plain payloads
/// (runs of zeros) from looking like the sync pattern. It is its own inverse.
pub fn whiten(bytes: &mut [u8]) {
    let mut s: u32 = 0x6B61_6E6B;
    for b in bytes {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        *b ^= s as u8;
    }
}

/// Builds the whitened on-air bytes for `payload`.
pub fn build(payload: &[u8]) -> Result<Vec<u8>, SonicError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(SonicError::TooLong { len: payload.len(), max: MAX_PAYLOAD });
    }
    let layout = Layout::for_payload(payload.len());
    let header = [FORMAT_VERSION, payload.len() as u8, 0];
    let mut out = header.to_vec();
    out.extend(fec::encode(&header, HEADER_PARITY));

    let mut data = payload.to_vec();
    data.extend(crc::crc32(payload).to_le_bytes());
    let mut codewords = Vec::with_capacity(layout.blocks.len());
    let mut start = 0;
    for &(k, p) in &layout.blocks {
        let mut word = data[start..start + k].to_vec();
        word.extend(fec::encode(&word, p));
        codewords.push(word);
        start += k;
    }
    for (b, j) in layout.order() {
        out.push(codewords[b][j]);
    }
    out.resize(layout.total_bytes, 0);
    whiten(&mut out);
    Ok(out)
}

/// One received byte and how sure the demodulator is of it (higher is surer).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Soft {
    pub value: u8,
    pub confidence: f32,
}

/// Decodes one codeword, first for errors only, then treating growing numbers of the least
/// confident bytes as erasures. At least four parity bytes are always left for checking.
fn decode_word(word: &[Soft], parity: usize) -> Option<Vec<u8>> {
    let mut by_confidence: Vec<usize> = (0..word.len()).collect();
    by_confidence.sort_by(|&a, &b| word[a].confidence.total_cmp(&word[b].confidence));
    let budget = parity.saturating_sub(4);
    let mut tries = vec![0, budget / 4, budget / 2, 3 * budget / 4, budget];
    tries.dedup();
    for erasures in tries {
        let mut bytes: Vec<u8> = word.iter().map(|s| s.value).collect();
        if fec::decode(&mut bytes, parity, &by_confidence[..erasures]).is_some() {
            return Some(bytes);
        }
    }
    None
}

/// Header fields after a successful decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub payload_len: usize,
}

/// Decodes the header from the first `HEADER_LEN` (whitened) air bytes.
pub fn parse_header(air: &[Soft]) -> Result<Header, SonicError> {
    let mut word: Vec<Soft> = air.iter().take(HEADER_LEN).copied().collect();
    if word.len() < HEADER_LEN {
        return Err(SonicError::Truncated);
    }
    let mut values: Vec<u8> = word.iter().map(|s| s.value).collect();
    whiten(&mut values);
    for (s, v) in word.iter_mut().zip(values) {
        s.value = v;
    }
    let bytes = decode_word(&word, HEADER_PARITY).ok_or(SonicError::Corrupt)?;
    if bytes[0] != FORMAT_VERSION {
        return Err(SonicError::UnsupportedVersion(bytes[0]));
    }
    if bytes[2] != 0 {
        return Err(SonicError::Corrupt);
    }
    Ok(Header { payload_len: usize::from(bytes[1]) })
}

/// Decodes the payload from all `layout.total_bytes` (whitened) air bytes.
pub fn parse_body(air: &[Soft], layout: &Layout) -> Result<Vec<u8>, SonicError> {
    if air.len() < layout.total_bytes {
        return Err(SonicError::Truncated);
    }
    let mut values: Vec<u8> = air[..layout.total_bytes].iter().map(|s| s.value).collect();
    whiten(&mut values);
    let mut words: Vec<Vec<Soft>> =
        layout.blocks.iter().map(|(k, p)| Vec::with_capacity(k + p)).collect();
    for (i, (b, _)) in layout.order().into_iter().enumerate() {
        let at = HEADER_LEN + i;
        words[b].push(Soft { value: values[at], confidence: air[at].confidence });
    }
    let mut data = Vec::new();
    for (word, &(k, p)) in words.iter().zip(&layout.blocks) {
        let bytes = decode_word(word, p).ok_or(SonicError::Corrupt)?;
        data.extend_from_slice(&bytes[..k]);
    }
    let split = data.len().saturating_sub(4);
    let (payload, check) = data.split_at(split);
    if check.len() != 4 || crc::crc32(payload).to_le_bytes() != check {
        return Err(SonicError::Corrupt);
    }
    Ok(payload.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sure(bytes: &[u8]) -> Vec<Soft> {
        bytes.iter().map(|&value| Soft { value, confidence: 1.0 }).collect()
    }

    #[test]
    fn layout_fills_whole_symbols_and_stays_within_codeword_limits() {
        for len in 0..=MAX_PAYLOAD {
            let layout = Layout::for_payload(len);
            assert_eq!(layout.total_bytes % BYTES_PER_SYMBOL, 0);
            let data: usize = layout.blocks.iter().map(|b| b.0).sum();
            assert_eq!(data, len + 4);
            assert!(layout.blocks.iter().all(|&(k, p)| k + p <= 255 && p % 2 == 0));
        }
        assert_eq!(Layout::for_payload(160).blocks, vec![(82, 42), (82, 42)]);
    }

    #[test]
    fn whitening_is_its_own_inverse() {
        let mut bytes = vec![0u8; 64];
        whiten(&mut bytes);
        assert!(bytes.iter().filter(|&&b| b == 0).count() < 8);
        whiten(&mut bytes);
        assert!(bytes.iter().all(|&b| b == 0));
    }

    #[test]
    fn frame_round_trips_and_survives_byte_errors() {
        let payload: Vec<u8> = (0..160u32).map(|i| (i * 7 + 3) as u8).collect();
        let air = build(&payload).expect("build");
        let layout = Layout::for_payload(payload.len());
        assert_eq!(air.len(), layout.total_bytes);
        let mut soft = sure(&air);
        assert_eq!(parse_header(&soft).expect("header").payload_len, 160);
        // Knock out every seventh byte (35 of 258): within each block's 21-error budget.
        for (i, s) in soft.iter_mut().enumerate() {
            if i % 7 == 0 {
                s.value ^= 0x5A;
            }
        }
        assert_eq!(parse_body(&soft, &layout).expect("body"), payload);
    }

    #[test]
    fn low_confidence_bytes_become_erasures() {
        let payload = b"erasures let the code fix twice as many bytes".to_vec();
        let air = build(&payload).expect("build");
        let layout = Layout::for_payload(payload.len());
        let mut soft = sure(&air);
        let parity = layout.blocks[0].1;
        // More wrong bytes than errors-only decoding can fix, all flagged as doubtful.
        for s in soft.iter_mut().skip(HEADER_LEN).take(parity / 2 + 5) {
            s.value ^= 0xFF;
            s.confidence = 0.01;
        }
        assert_eq!(parse_body(&soft, &layout).expect("body"), payload);
    }

    #[test]
    fn refuses_wrong_version_too_long_and_damaged_frames() {
        assert!(matches!(build(&[0; 256]), Err(SonicError::TooLong { len: 256, max: 255 })));
        let mut header = [FORMAT_VERSION + 1, 4, 0].to_vec();
        header.extend(fec::encode(&header, HEADER_PARITY));
        whiten(&mut header);
        assert!(matches!(parse_header(&sure(&header)), Err(SonicError::UnsupportedVersion(_))));

        let air = build(b"hello").expect("build");
        let layout = Layout::for_payload(5);
        let mut soft = sure(&air);
        for s in soft.iter_mut().skip(HEADER_LEN) {
            s.value = s.value.wrapping_add(1);
        }
        assert!(matches!(parse_body(&soft, &layout), Err(SonicError::Corrupt)));
        assert!(matches!(parse_body(&soft[..10], &layout), Err(SonicError::Truncated)));
    }
}
