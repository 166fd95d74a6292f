//! H.264 Annex B byte streams (start codes) to the AVCC form MP4 stores (length prefixes).

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

#[cfg(test)]
mod tests {
    use super::*;

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
