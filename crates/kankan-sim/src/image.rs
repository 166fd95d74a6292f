//! What a firmware image is to the simulated device: a one-line text header naming the model
//! and the version it boots, then payload bytes the simulator never looks at.
//!
//! `KKFW1 <model> <version>\n` then the payload. "Booting" a slot means parsing its image's
//! header: the version the device reports is the one written there. The server treats images
//! as opaque bytes; tests and benchmarks make them with [`firmware_image`].

/// The header's first word.
pub const MAGIC: &str = "KKFW1";
/// The longest header, newline included.
pub const MAX_HEADER: usize = 256;
/// The longest model or version name.
pub const MAX_NAME: usize = 64;

/// What an image's header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageHeader {
    pub model: String,
    pub version: String,
    /// Header bytes, newline included (the payload starts there).
    pub len: usize,
}

/// Why bytes are not a bootable image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// No newline within [`MAX_HEADER`] bytes.
    #[error("no header line in the first {MAX_HEADER} bytes")]
    NoHeader,
    /// The header does not start with [`MAGIC`].
    #[error("not a KKFW1 image")]
    BadMagic,
    /// The header is not `KKFW1 <model> <version>`, or a name is empty, too long, or not
    /// printable ASCII.
    #[error("malformed header: {0}")]
    Malformed(&'static str),
}

/// Whether `name` can be a model or version in a header: 1 to [`MAX_NAME`] printable ASCII
/// characters, no spaces.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME && name.bytes().all(|b| b.is_ascii_graphic())
}

/// An image of `model` at `version` with `payload_len` deterministic payload bytes (the same
/// arguments always give the same bytes; another version gives other bytes).
///
/// # Panics
/// If `model` or `version` is not a valid name ([`is_valid_name`]): images are made by tests
/// and benchmarks from names they choose.
pub fn firmware_image(model: &str, version: &str, payload_len: usize) -> Vec<u8> {
    assert!(is_valid_name(model) && is_valid_name(version), "bad image name {model:?} {version:?}");
    let header = format!("{MAGIC} {model} {version}\n");
    let mut out = Vec::with_capacity(header.len() + payload_len);
    out.extend_from_slice(header.as_bytes());
    // SplitMix64 seeded by the header: cheap, and no two versions share payloads.
    let mut state = crate::config::fnv1a(header.as_bytes());
    while out.len() < header.len() + payload_len {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let left = header.len() + payload_len - out.len();
        out.extend_from_slice(&z.to_le_bytes()[..left.min(8)]);
    }
    out
}

/// Reads an image's header. Any bytes give a header or an error.
pub fn parse_image(bytes: &[u8]) -> Result<ImageHeader, ImageError> {
    let head = &bytes[..bytes.len().min(MAX_HEADER)];
    let end = head.iter().position(|b| *b == b'\n').ok_or(ImageError::NoHeader)?;
    let line = std::str::from_utf8(&head[..end]).map_err(|_| ImageError::Malformed("not ASCII"))?;
    let mut words = line.split(' ');
    if words.next() != Some(MAGIC) {
        return Err(ImageError::BadMagic);
    }
    let (Some(model), Some(version), None) = (words.next(), words.next(), words.next()) else {
        return Err(ImageError::Malformed("expected KKFW1 <model> <version>"));
    };
    if !is_valid_name(model) || !is_valid_name(version) {
        return Err(ImageError::Malformed("model and version are 1-64 printable characters"));
    }
    Ok(ImageHeader { model: model.into(), version: version.into(), len: end + 1 })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn an_image_parses_back_to_its_model_and_version() {
        let img = firmware_image("KK-C1", "1.1.0", 1000);
        let h = parse_image(&img).expect("parses");
        assert_eq!((h.model.as_str(), h.version.as_str()), ("KK-C1", "1.1.0"));
        assert_eq!(img.len(), h.len + 1000);
        assert_eq!(img, firmware_image("KK-C1", "1.1.0", 1000), "deterministic");
        assert_ne!(img[h.len..], firmware_image("KK-C1", "1.2.0", 1000)[h.len..]);
        assert_eq!(parse_image(&firmware_image("KK-D1", "2", 0)).expect("empty").version, "2");
    }

    #[test]
    fn broken_headers_are_refused_with_a_reason() {
        assert_eq!(parse_image(b""), Err(ImageError::NoHeader));
        assert_eq!(parse_image(&[b'K'; 300]), Err(ImageError::NoHeader));
        assert_eq!(parse_image(b"KKFW2 KK-C1 1.0\n"), Err(ImageError::BadMagic));
        for bad in [&b"KKFW1 KK-C1\n"[..], b"KKFW1 KK-C1 1.0 extra\n", b"KKFW1  1.0\n"] {
            assert!(matches!(parse_image(bad), Err(ImageError::Malformed(_))), "{bad:?}");
        }
        assert!(matches!(parse_image(b"KKFW1 KK-C1 \xff\n"), Err(ImageError::Malformed(_))));
    }

    proptest! {
        #[test]
        fn any_bytes_parse_or_give_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = parse_image(&bytes);
        }

        #[test]
        fn headers_with_random_tails_still_parse(
            model in "[A-Z0-9-]{1,20}",
            version in "[0-9a-z.-]{1,20}",
            tail in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let mut img = firmware_image(&model, &version, 0);
            img.extend_from_slice(&tail);
            let h = parse_image(&img).expect("header");
            prop_assert_eq!((h.model, h.version), (model, version));
        }
    }
}
