//! H.264 Annex B byte streams (start codes) and the AVCC form MP4 stores (length prefixes),
//! both ways, and the parameter sets of an `avcC`.

/// Splits an Annex B byte stream into its NAL units, without start codes.
///
/// A NAL unit runs from just after a `00 00 01` start code to the next one; its trailing
/// zero bytes (the leading zero of a 4-byte start code, `trailing_zero_8bits`) are dropped,
/// as are empty units and any bytes before the first start code.
pub fn split_annexb(annexb: &[u8]) -> Vec<&[u8]> {
    let mut nals = Vec::new();
    let mut start: Option<usize> = None;
    let mut i = 0;
    while let Some(w) = annexb.get(i..i + 3) {
        if w == [0, 0, 1] {
            if let Some(s) = start {
                push_trimmed(&mut nals, annexb.get(s..i).unwrap_or_default());
            }
            i += 3;
            start = Some(i);
        } else {
            i += 1;
        }
    }
    if let Some(s) = start {
        push_trimmed(&mut nals, annexb.get(s..).unwrap_or_default());
    }
    nals
}

fn push_trimmed<'a>(nals: &mut Vec<&'a [u8]>, nal: &'a [u8]) {
    let end = nal.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    if let Some(nal) = nal.get(..end).filter(|n| !n.is_empty()) {
        nals.push(nal);
    }
}

/// Converts an Annex B access unit to AVCC: each NAL unit prefixed by its 4-byte
/// big-endian length (the `avcC` written by [`crate::write_init`] declares 4-byte lengths).
pub fn annexb_to_avcc(annexb: &[u8]) -> Vec<u8> {
    let nals = split_annexb(annexb);
    let mut out = Vec::with_capacity(annexb.len() + 4 * nals.len());
    for nal in nals {
        // A NAL unit over 4 GiB cannot occur in a sane stream; saturate rather than panic.
        out.extend_from_slice(&u32::try_from(nal.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(nal);
    }
    out
}

/// The H.264 decoder configuration of a video track: what a sample needs to become an
/// Annex B access unit a decoder can start from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvcConfig {
    /// Sequence parameter sets, without start codes.
    pub sps: Vec<Vec<u8>>,
    /// Picture parameter sets, without start codes.
    pub pps: Vec<Vec<u8>>,
    /// Bytes of each NAL unit's length prefix in a sample (1, 2 or 4).
    pub length_size: usize,
}

impl AvcConfig {
    /// Reads the `avcC` inside a track's sample description (`TrackInfo::stsd`); `None`
    /// when there is none or it is cut short.
    pub fn from_stsd(stsd: &[u8]) -> Option<AvcConfig> {
        let at = stsd.windows(4).position(|w| w == b"avcC")? + 4;
        let c = stsd.get(at..)?;
        let length_size = usize::from(c.get(4)? & 0x03) + 1;
        if length_size == 3 {
            return None;
        }
        let mut pos = 5;
        let sets = |count: usize, pos: &mut usize| -> Option<Vec<Vec<u8>>> {
            let mut out = Vec::with_capacity(count.min(32));
            for _ in 0..count {
                let len = usize::from(u16::from_be_bytes([*c.get(*pos)?, *c.get(*pos + 1)?]));
                out.push(c.get(*pos + 2..*pos + 2 + len)?.to_vec());
                *pos += 2 + len;
            }
            Some(out)
        };
        let n_sps = usize::from(*c.get(pos)? & 0x1f);
        pos += 1;
        let sps = sets(n_sps, &mut pos)?;
        let n_pps = usize::from(*c.get(pos)?);
        pos += 1;
        let pps = sets(n_pps, &mut pos)?;
        Some(AvcConfig { sps, pps, length_size })
    }

    /// One MP4 sample (length-prefixed NAL units) as an Annex B access unit; a keyframe gets
    /// the parameter sets first, so a decoder joining there can start. `None` when a length
    /// prefix runs past the sample.
    pub fn to_annexb(&self, sample: &[u8], keyframe: bool) -> Option<Vec<u8>> {
        const START: [u8; 4] = [0, 0, 0, 1];
        let mut out = Vec::with_capacity(sample.len() + 64);
        if keyframe {
            for set in self.sps.iter().chain(&self.pps) {
                out.extend_from_slice(&START);
                out.extend_from_slice(set);
            }
        }
        let mut rest = sample;
        while !rest.is_empty() {
            let (len, tail) = rest.split_at_checked(self.length_size)?;
            let len = len.iter().fold(0usize, |n, b| (n << 8) | usize::from(*b));
            let (nal, tail) = tail.split_at_checked(len)?;
            // Parameter sets inside the sample are kept; nothing is dropped or reordered.
            if !nal.is_empty() {
                out.extend_from_slice(&START);
                out.extend_from_slice(nal);
            }
            rest = tail;
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `avcC` inside a made-up `stsd`: profile 42, 4-byte lengths, one SPS, one PPS.
    fn stsd_with_avcc() -> Vec<u8> {
        let mut b = b"....stsd....avc1....avcC".to_vec();
        b.extend_from_slice(&[1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, 3, 0x67, 0x42, 0xc0, 1, 0, 2]);
        b.extend_from_slice(&[0x68, 0xce]);
        b
    }

    #[test]
    fn avcc_parameter_sets_are_read() {
        let c = AvcConfig::from_stsd(&stsd_with_avcc()).expect("avcC");
        assert_eq!(c.sps, vec![vec![0x67, 0x42, 0xc0]]);
        assert_eq!(c.pps, vec![vec![0x68, 0xce]]);
        assert_eq!(c.length_size, 4);
        let mut cut = stsd_with_avcc();
        cut.truncate(cut.len() - 1);
        assert_eq!(AvcConfig::from_stsd(&cut), None, "a cut PPS is refused");
        assert_eq!(AvcConfig::from_stsd(b"no config here"), None);
    }

    #[test]
    fn a_keyframe_sample_becomes_annexb_with_its_parameter_sets_first() {
        let c = AvcConfig::from_stsd(&stsd_with_avcc()).expect("avcC");
        let sample = [0, 0, 0, 2, 0x65, 0xaa, 0, 0, 0, 1, 0x06];
        let key = c.to_annexb(&sample, true).expect("valid");
        let nals = split_annexb(&key);
        assert_eq!(nals, [&[0x67, 0x42, 0xc0][..], &[0x68, 0xce], &[0x65, 0xaa], &[0x06]]);
        let delta = c.to_annexb(&[0, 0, 0, 1, 0x41], false).expect("valid");
        assert_eq!(delta, [0, 0, 0, 1, 0x41], "no parameter sets before a delta frame");
        assert_eq!(annexb_to_avcc(&key[13..]), sample, "the round trip gives the sample back");
    }

    #[test]
    fn a_sample_whose_lengths_overrun_is_refused() {
        let c = AvcConfig { sps: vec![], pps: vec![], length_size: 4 };
        assert_eq!(c.to_annexb(&[0, 0, 0, 9, 0x65], false), None);
        assert_eq!(c.to_annexb(&[0, 0], false), None);
        let two = AvcConfig { length_size: 2, ..c };
        assert_eq!(two.to_annexb(&[0, 1, 0x41], false), Some(vec![0, 0, 0, 1, 0x41]));
    }

    #[test]
    fn splits_on_three_and_four_byte_start_codes() {
        let stream = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 0, 0];
        let nals = split_annexb(&stream);
        assert_eq!(nals, [&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 4]]);
    }

    #[test]
    fn avcc_prefixes_each_nal_with_its_length() {
        let avcc = annexb_to_avcc(&[0, 0, 1, 0x65, 0xaa, 0, 0, 1, 0x41]);
        assert_eq!(avcc, [0, 0, 0, 2, 0x65, 0xaa, 0, 0, 0, 1, 0x41]);
    }

    #[test]
    fn bytes_without_start_codes_give_nothing() {
        assert!(split_annexb(&[1, 2, 3, 0, 0]).is_empty());
        assert!(annexb_to_avcc(&[]).is_empty());
        assert!(split_annexb(&[0, 0, 1, 0, 0, 1]).is_empty());
    }
}
