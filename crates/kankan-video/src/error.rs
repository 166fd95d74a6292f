//! The one error type of this crate, with stable kebab-case codes.

use kankan_base::ErrorKind;

/// Why a picture could not be made, encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VideoError {
    /// A picture size is zero, odd, too large, or does not match the encoder's.
    #[error("bad picture size {width}x{height}: {reason}")]
    BadSize { width: u32, height: u32, reason: &'static str },
    /// An encoder setting (frame rate, bit rate, GOP) is out of range.
    #[error("bad encoder setting: {0}")]
    BadConfig(String),
    /// OpenH264's encoder failed.
    #[error("the H.264 encoder failed: {0}")]
    Encoder(String),
    /// OpenH264's decoder refused the bitstream.
    #[error("the H.264 decoder failed: {0}")]
    Decoder(String),
    /// An access unit is not a well-formed sequence of 4-byte length-prefixed NAL units.
    #[error("malformed access unit: {0}")]
    BadBitstream(String),
    /// The access units decoded to no picture at all.
    #[error("the access units held no decodable picture")]
    NoPicture,
    /// The JPEG encoder failed.
    #[error("JPEG encoding failed: {0}")]
    Jpeg(String),
}

impl VideoError {
    /// The stable, kebab-case code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            VideoError::BadSize { .. } => "video-bad-size",
            VideoError::BadConfig(_) => "video-bad-config",
            VideoError::Encoder(_) => "video-encoder",
            VideoError::Decoder(_) => "video-decoder",
            VideoError::BadBitstream(_) => "video-bad-bitstream",
            VideoError::NoPicture => "video-no-picture",
            VideoError::Jpeg(_) => "video-jpeg",
        }
    }

    /// What kind of failure this is, for mapping onto a transport's status.
    pub fn kind(&self) -> ErrorKind {
        match self {
            VideoError::BadSize { .. }
            | VideoError::BadConfig(_)
            | VideoError::Decoder(_)
            | VideoError::BadBitstream(_)
            | VideoError::NoPicture => ErrorKind::InvalidArgument,
            VideoError::Encoder(_) | VideoError::Jpeg(_) => ErrorKind::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_kebab_case() {
        let all = [
            VideoError::BadSize { width: 3, height: 2, reason: "odd" },
            VideoError::BadConfig("x".into()),
            VideoError::Encoder("x".into()),
            VideoError::Decoder("x".into()),
            VideoError::BadBitstream("x".into()),
            VideoError::NoPicture,
            VideoError::Jpeg("x".into()),
        ];
        let codes: Vec<&str> = all.iter().map(VideoError::code).collect();
        assert_eq!(
            codes,
            [
                "video-bad-size",
                "video-bad-config",
                "video-encoder",
                "video-decoder",
                "video-bad-bitstream",
                "video-no-picture",
                "video-jpeg",
            ]
        );
        for code in codes {
            assert!(code.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{code}");
        }
    }

    #[test]
    fn bad_input_is_the_callers_fault_and_failures_are_internal() {
        assert_eq!(VideoError::NoPicture.kind(), ErrorKind::InvalidArgument);
        assert_eq!(VideoError::Encoder("x".into()).kind(), ErrorKind::Internal);
    }
}
