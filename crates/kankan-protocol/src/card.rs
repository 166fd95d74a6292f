//! The SD card seen from afar: what a device answers to `card-list` (see the `card-list` and
//! `card-play` commands in [`crate::device::CommandKind`]).

use serde::{Deserialize, Serialize};

/// Longest range one card listing covers.
pub const CARD_MAX_LIST_MS: i64 = 400 * 86_400_000;
/// Longest range one card playback covers.
pub const CARD_MAX_PLAY_MS: i64 = 3_600_000;
/// Fragments further apart than this start a new span of a card listing.
pub const CARD_SPAN_GAP_MS: i64 = 2_000;

/// What a device posts for a `card-list` command: the spans of footage on its SD card,
/// in time order, each a run of fragments without a gap of more than [`CARD_SPAN_GAP_MS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardListing {
    pub spans: Vec<CardSpan>,
}

/// A span of footage on the SD card (Unix ms, end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardSpan {
    pub start_ms: i64,
    pub end_ms: i64,
}
