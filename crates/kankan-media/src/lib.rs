//! Fragmented MP4 (ISO BMFF / CMAF) for recording camera streams without transcoding.
//!
//! A camera uploads one long-lived chunked HTTP body of fragmented MP4: an init segment
//! (`ftyp` + `moov`) followed by media fragments (`[styp][sidx][prft][emsg] moof mdat`). The
//! server cuts that stream into its init segment and fragments with [`StreamParser`], stores
//! them as received (the init is re-usable verbatim as an HLS `EXT-X-MAP`, each fragment as an
//! HLS fMP4 segment), indexes them by the time and keyframe information this crate extracts,
//! and later assembles a progressive MP4 download of a range with [`export_mp4`] /
//! [`export_plan`]. The simulated camera produces such streams with [`write_init`] and
//! [`write_fragment`].
//!
//! # Trust model
//!
//! Every byte comes from a device and is hostile until proven otherwise. The parsers
//!
//! - **never panic** (no indexing, no `unwrap` on input; a property test and a `cargo fuzz`
//!   target in `fuzz/` feed them arbitrary and mutated bytes);
//! - **never allocate in proportion to a declared size**: a box header's size is checked
//!   against [`Limits`] before its body is buffered ([`StreamParser`] refuses an oversized box
//!   as soon as its header arrives), and a `trun`'s sample count is checked against the bytes
//!   actually present and against [`Limits::max_samples_per_fragment`] before its table is
//!   read;
//! - **refuse rather than repair**, with a [`MediaError`] whose [`MediaError::code`] is a
//!   stable kebab-case code and whose message names the box and field.
//!
//! # What is validated, and why
//!
//! - **Box framing** everywhere we look: sizes at least the header, 64-bit sizes, size 0
//!   ("to the end") only for the final `mdat` of a fragment given whole to [`parse_fragment`]
//!   (never in a stream, where the end is unknown), children filling their parent exactly. A
//!   stored fragment must be re-readable by any player, so its framing must be exact.
//! - **Init segment** ([`parse_init`]): `ftyp` then `moov` with `mvex` (it must announce a
//!   fragmented file); exactly one video track, which must be H.264 (`avc1`/`avc3` with an
//!   `avcC`; anything else is `media-unsupported-codec`, since the recorder never transcodes
//!   and browsers must play what it stores), and at most one audio track (`mp4a` with `esds`,
//!   `Opus` with a checked `dOps`, `ulaw`, `alaw`: carried, not interpreted). Track ids are unique; each track's `trex`
//!   defaults are kept. The RFC 6381 codec strings come from `avcC` and `esds`.
//! - **Fragments** ([`parse_fragment`]): one `moof` (with `mfhd`, at least one `traf`), then one
//!   `mdat`; every `traf` names a track of the init (`media-unknown-track`), at most once, and
//!   has `tfhd`, `tfdt` and `trun`s. Sample durations, sizes and flags come from the `trun`, else
//!   the `tfhd` defaults, else the `trex` defaults; data offsets honour `base-data-offset`,
//!   `default-base-is-moof` and the implicit rules (the `moof` start for the first `traf`, the
//!   end of the previous `traf`'s data after that, the end of the previous `trun`'s data when a
//!   `trun` has no offset). An explicit base-data-offset counts from the start of the file
//!   the fragment came from: the fragment's own first byte for [`parse_fragment`], its stream
//!   position for [`parse_fragment_at`] (which [`StreamParser`] uses).
//!   **Every sample must lie inside the `mdat` payload**: a "lying"
//!   `trun` would otherwise make the exporter or a player read another sample's bytes (or the
//!   next box) as media. Per-fragment sample count, byte size and duration are bounded.
//! - **Streams** ([`StreamParser`]): the top-level box order above, no fragment before an init
//!   (`media-no-init`), no `mdat` without its `moof`, no unknown top-level box (a stream that
//!   has lost sync would otherwise be read as garbage boxes), no box or group over the limits
//!   (refused from its header), and a base decode time (`tfdt`) that moves forward per track:
//!   earlier than the previous fragment's, or equal to it after a non-empty run, is
//!   `media-timestamp-regression`, because the recording index and HLS playlists assume time
//!   moves forward. (Small overlaps with the previous run's end are tolerated: camera muxers
//!   often estimate the last sample's duration.) A new init mid-stream (the camera
//!   restarted its encoder) replaces the old one and restarts that check.
//!
//! Keyframes: a sample is a keyframe when its flags say `sample_depends_on == 2` (depends on no
//! other sample) or `sample_is_non_sync_sample == 0`; `first-sample-flags` are honoured.
//!
//! # Layout
//!
//! `bmff` frames boxes; `init`, `fragment` and `stream` read; `write` and `annexb` write
//! CMAF for the simulated camera (`annexb` also turns samples back into Annex B for WebRTC;
//! [`g711`] is the µ-law codec of talk audio); `export` writes progressive MP4, computing the whole
//! header from the sample tables first so a download can be streamed ([`ExportPlan`]).
//! Fuzz targets live in `fuzz/` (`cargo +nightly fuzz run stream_parser`).

mod annexb;
mod bmff;
mod error;
mod export;
mod fragment;
pub mod g711;
mod init;
mod stream;
mod write;

pub use annexb::{AvcConfig, annexb_to_avcc, split_annexb};
pub use error::MediaError;
pub use export::{ExportPlan, ExportRange, FragmentTable, SampleTables, export_mp4, export_plan};
pub use fragment::{
    Fragment, MAX_DECODE_MS, SampleInfo, TrackRun, parse_fragment, parse_fragment_at,
};
pub use init::{InitSegment, TrackInfo, TrackKind, parse_init};
pub use stream::{StreamItem, StreamParser};
pub use write::{
    AUDIO_TRACK_ID, AudioCodec, AudioParams, TrackWrite, VIDEO_TRACK_ID, VideoParams, WriteSample,
    write_fragment, write_fragment_tracks, write_init, write_init_av,
};

/// Bounds on what a device may send; checked before anything is buffered or allocated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest init segment (`ftyp` + `moov`), in bytes. Default 64 KiB.
    pub max_init_bytes: usize,
    /// Largest fragment (`styp` .. `mdat`), in bytes. Default 8 MiB.
    pub max_fragment_bytes: usize,
    /// Most samples in one fragment, all tracks together. Default 2000.
    pub max_samples_per_fragment: u32,
    /// Longest run of one track in one fragment, in milliseconds. Default 10 000.
    pub max_fragment_duration_ms: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_init_bytes: 64 * 1024,
            max_fragment_bytes: 8 * 1024 * 1024,
            max_samples_per_fragment: 2000,
            max_fragment_duration_ms: 10_000,
        }
    }
}
