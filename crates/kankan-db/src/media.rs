//! Rows of the recording index: media keys, init segments, segments, timeline spans, storage
//! use, and the blob trash.

use kankan_base::{AccountId, BlobId, Timestamp};

/// Two segments closer than this (end to start) belong to one timeline span.
pub const SPAN_JOIN_MS: i64 = 2_000;

/// The data key of a bound device, sealed under its owner's account key.
#[derive(Debug, Clone)]
pub struct MediaKey {
    pub uid: String,
    pub account_id: AccountId,
    pub key_enc: Vec<u8>,
    pub created_at: Timestamp,
}

/// A stored init segment (ftyp + moov), shared by every segment recorded with it.
#[derive(Debug, Clone)]
pub struct MediaInit {
    pub id: i64,
    pub uid: String,
    pub digest: Vec<u8>,
    pub blob: BlobId,
    pub codecs: String,
    pub width: u32,
    pub height: u32,
    pub created_at: Timestamp,
}

/// A segment about to be indexed (its blob is already durable).
#[derive(Debug, Clone)]
pub struct NewSegment {
    pub uid: String,
    pub stream: u8,
    pub init_id: i64,
    pub start: Timestamp,
    pub duration_ms: u32,
    pub bytes: u64,
    pub frames: u32,
    pub blob: BlobId,
}

/// An indexed segment.
#[derive(Debug, Clone)]
pub struct Segment {
    pub id: i64,
    pub uid: String,
    pub stream: u8,
    pub init_id: i64,
    pub start: Timestamp,
    pub duration_ms: u32,
    pub bytes: u64,
    pub frames: u32,
    pub blob: BlobId,
    pub protected_until: Option<Timestamp>,
}

impl Segment {
    pub fn end(&self) -> Timestamp {
        Timestamp(self.start.0 + i64::from(self.duration_ms))
    }
}

/// A stretch of the timeline with footage and no gap longer than [`SPAN_JOIN_MS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: Timestamp,
    pub end: Timestamp,
}

/// An account's recording storage.
#[derive(Debug, Clone, Default)]
pub struct MediaUsage {
    pub bytes: u64,
    pub evicted_bytes: u64,
    /// The last time the quota forced footage out early.
    pub alert_at: Option<Timestamp>,
}

/// What a deletion removed.
#[derive(Debug, Clone, Default)]
pub struct Removed {
    pub segments: u64,
    pub bytes: u64,
}

/// What the server may keep of one device (`device_limits`): written by the plans from the
/// device's entitlement; a device without limits follows the free tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceLimits {
    /// The most the owner's recording mode may be (continuous > events > card-only).
    pub kind: crate::RecordingMode,
    /// Days of footage kept (0: none beyond what events protect).
    pub retention_days: u32,
    /// Footage this device may keep, in MiB; `None`: only its owner's account quota.
    pub quota_mib: Option<u64>,
    /// When these limits took effect.
    pub since: kankan_base::Timestamp,
}

/// A device storing more than its own quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceOverQuota {
    pub uid: String,
    pub account: kankan_base::AccountId,
    pub used_bytes: u64,
    pub quota_bytes: u64,
}
