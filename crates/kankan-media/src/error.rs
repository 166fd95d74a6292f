//! The one error type of the crate, with a stable kebab-case code per variant.

/// Why bytes were refused (or could not be exported).
///
/// Every variant says which box or field was wrong; [`MediaError::code`] gives the stable
/// code that callers (the ingest endpoint, logs, tests) match on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// The bytes end before a box (or a field inside one) does.
    #[error("{what} is cut short: it needs {needed} bytes but only {available} are there")]
    Truncated {
        /// The box or field that is incomplete.
        what: String,
        /// How many bytes it declares or needs.
        needed: u64,
        /// How many bytes are there.
        available: u64,
    },
    /// A box is malformed, misplaced or of a type that does not belong there.
    #[error("bad '{box_type}' box: {reason}")]
    BadBox {
        /// The four-character type of the offending box (escaped when not printable).
        box_type: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A box, segment or fragment is larger than the configured [`crate::Limits`].
    #[error("{what} is {size} (limit {limit})")]
    TooLarge {
        /// What was measured, with its unit.
        what: String,
        /// Its declared or measured size.
        size: u64,
        /// The limit it went over.
        limit: u64,
    },
    /// A media fragment arrived before any init segment (ftyp + moov).
    #[error("a media fragment ('{box_type}') arrived before any init segment (ftyp + moov)")]
    NoInit {
        /// The box that started the fragment.
        box_type: String,
    },
    /// A fragment refers to a track the init segment does not declare.
    #[error("'{box_type}' refers to track {track_id}, which the init segment does not declare")]
    UnknownTrack {
        /// The box holding the track id.
        box_type: String,
        /// The track id it names.
        track_id: u32,
    },
    /// A sample table (trun) is inconsistent with itself or with the data it describes.
    #[error("bad sample table in '{box_type}': {reason}")]
    BadSampleTable {
        /// The box holding the table.
        box_type: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A fragment's base decode time (`tfdt`) does not move forward for a track.
    #[error(
        "track {track_id}: fragment starts at decode time {got}, not after the previous \
         fragment's start {previous} (tfdt went backwards)"
    )]
    TimestampRegression {
        /// The track whose time went backwards.
        track_id: u32,
        /// The previous fragment's base decode time.
        previous: u64,
        /// This fragment's base decode time.
        got: u64,
    },
    /// The track's codec (sample entry or handler) is not one this crate accepts.
    #[error("track {track_id}: {what} is not supported")]
    UnsupportedCodec {
        /// The track in question.
        track_id: u32,
        /// The codec or handler, described.
        what: String,
    },
    /// A required box is absent.
    #[error("missing '{box_type}' box {place}")]
    MissingBox {
        /// The box that should be there.
        box_type: String,
        /// Where it should be ("in moov", "before mdat", ...).
        place: String,
    },
}

impl MediaError {
    /// The stable, kebab-case code clients match on.
    pub fn code(&self) -> &'static str {
        match self {
            MediaError::Truncated { .. } => "media-truncated",
            MediaError::BadBox { .. } => "media-bad-box",
            MediaError::TooLarge { .. } => "media-too-large",
            MediaError::NoInit { .. } => "media-no-init",
            MediaError::UnknownTrack { .. } => "media-unknown-track",
            MediaError::BadSampleTable { .. } => "media-bad-sample-table",
            MediaError::TimestampRegression { .. } => "media-timestamp-regression",
            MediaError::UnsupportedCodec { .. } => "media-unsupported-codec",
            MediaError::MissingBox { .. } => "media-missing-box",
        }
    }

    pub(crate) fn bad_box(box_type: impl Into<String>, reason: impl Into<String>) -> Self {
        MediaError::BadBox { box_type: box_type.into(), reason: reason.into() }
    }

    pub(crate) fn bad_table(box_type: impl Into<String>, reason: impl Into<String>) -> Self {
        MediaError::BadSampleTable { box_type: box_type.into(), reason: reason.into() }
    }

    pub(crate) fn missing(box_type: impl Into<String>, place: impl Into<String>) -> Self {
        MediaError::MissingBox { box_type: box_type.into(), place: place.into() }
    }

    pub(crate) fn too_large(what: impl Into<String>, size: u64, limit: u64) -> Self {
        MediaError::TooLarge { what: what.into(), size, limit }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_kebab_case() {
        let all = [
            MediaError::Truncated { what: "x".into(), needed: 2, available: 1 },
            MediaError::bad_box("x", "y"),
            MediaError::too_large("x", 2, 1),
            MediaError::NoInit { box_type: "moof".into() },
            MediaError::UnknownTrack { box_type: "tfhd".into(), track_id: 9 },
            MediaError::bad_table("trun", "y"),
            MediaError::TimestampRegression { track_id: 1, previous: 2, got: 1 },
            MediaError::UnsupportedCodec { track_id: 1, what: "hev1".into() },
            MediaError::missing("mfhd", "in moof"),
        ];
        let codes: Vec<&str> = all.iter().map(MediaError::code).collect();
        assert_eq!(
            codes,
            [
                "media-truncated",
                "media-bad-box",
                "media-too-large",
                "media-no-init",
                "media-unknown-track",
                "media-bad-sample-table",
                "media-timestamp-regression",
                "media-unsupported-codec",
                "media-missing-box",
            ]
        );
    }

    #[test]
    fn messages_name_the_box() {
        let e = MediaError::missing("mfhd", "in moof");
        assert_eq!(e.to_string(), "missing 'mfhd' box in moof");
    }
}
