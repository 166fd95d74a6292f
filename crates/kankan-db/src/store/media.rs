//! [`MediaStore`]: the recording index.

use async_trait::async_trait;
use kankan_base::{AccountId, BlobId, Timestamp};

use crate::{
    DbError, DeviceAccess, DeviceLimits, DeviceOverQuota, MediaInit, MediaKey, MediaUsage,
    NewSegment, RecordingMode, Removed, Segment, Span,
};

type R<T> = Result<T, DbError>;

/// The recording index: devices' data keys, init segments, segments and timeline spans, the
/// bytes each account stores, retention and eviction, the trash of blobs to delete, and the
/// access log of devices' media.
///
/// Invariants: the media key row serialises one device's segment, span and usage writes (read
/// with `Engine::for_update`); a segment is indexed only once its blob is durable, and at most
/// once per stream and start; a segment's bytes count against its owner while its row exists;
/// a deleted segment's blob goes to the trash in the same transaction (the objects themselves
/// are deleted later, then forgotten); protected segments are neither expired nor evicted.
#[async_trait]
pub trait MediaStore: Send + Sync {
    // Keys and init segments.
    async fn media_key(&self, uid: &str) -> R<Option<MediaKey>>;
    /// Stores the key unless the device has one already; returns the one in force.
    async fn put_media_key(&self, key: &MediaKey) -> R<MediaKey>;
    /// Stores an init segment unless one with that digest exists; returns its row.
    async fn put_media_init(&self, init: &MediaInit) -> R<MediaInit>;
    async fn media_init(&self, id: i64) -> R<Option<MediaInit>>;
    /// The device's init segment with this digest, if stored.
    async fn media_init_by_digest(&self, uid: &str, digest: &[u8]) -> R<Option<MediaInit>>;

    // Segments and timeline spans.
    /// Indexes a segment whose blob is durable, extends the timeline spans and counts its
    /// bytes against the owner, in one transaction. `None` if the stream has a segment with
    /// that start already (a replayed journal, a repeated upload); `NotFound("media key")` if
    /// the device has no data key (unbound).
    async fn insert_segment(&self, seg: &NewSegment) -> R<Option<i64>>;
    /// Replaces segment `old` of the same stream by `seg` in one transaction: the old row
    /// goes (its blob to the trash, its bytes off the owner's usage), then `seg` is inserted
    /// as by [`MediaStore::insert_segment`] (`None`, and nothing changed, if that start is
    /// taken). Backfill uses it for a segment an upload cut left ending inside a GOP.
    async fn replace_segment(&self, old: i64, seg: &NewSegment, now: Timestamp) -> R<Option<i64>>;
    async fn segment(&self, id: i64) -> R<Option<Segment>>;
    /// Segments of a stream overlapping `[from, to)`, oldest first, at most `limit`.
    async fn segments(
        &self,
        uid: &str,
        stream: u8,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> R<Vec<Segment>>;
    /// Timeline spans of a stream overlapping `[from, to)`, oldest first.
    async fn spans(&self, uid: &str, stream: u8, from: Timestamp, to: Timestamp) -> R<Vec<Span>>;

    // Retention, eviction and storage use.
    /// Keeps segments overlapping `[from, to)` from eviction until `until`.
    async fn protect_segments(
        &self,
        uid: &str,
        from: Timestamp,
        to: Timestamp,
        until: Timestamp,
    ) -> R<u64>;
    /// Deletes up to `limit` of the oldest unprotected segments that start before `cutoff`
    /// (retention); their blobs go to the trash. `retention_days` picks the devices: `None`
    /// those without their own limits (the free tier), `Some(d)` those whose limits keep `d`
    /// days.
    async fn expire_segments(
        &self,
        retention_days: Option<u32>,
        cutoff: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> R<Removed>;
    /// The distinct retentions (days) of the devices that have their own limits.
    async fn limit_retentions(&self) -> R<Vec<u32>>;
    /// A device's own limits, if it has any.
    async fn device_limits(&self, uid: &str) -> R<Option<DeviceLimits>>;
    /// The recording mode the device's owner chose (`device_state`) and the mode its own limits
    /// cap it to (`device_limits.kind`), each `None` without its row, read together.
    async fn recording_mode_and_cap(
        &self,
        uid: &str,
    ) -> R<(Option<RecordingMode>, Option<RecordingMode>)>;
    /// Sets (or with `None` removes: back to the free tier) a device's own limits.
    async fn set_device_limits(&self, uid: &str, limits: Option<&DeviceLimits>) -> R<()>;
    /// Devices storing more than their own quota.
    async fn devices_over_quota(&self) -> R<Vec<DeviceOverQuota>>;
    /// Deletes the device's oldest unprotected segments until at least `bytes` are freed or
    /// none are left; records the eviction as an alert of its owner.
    async fn evict_device_segments(&self, uid: &str, bytes: u64, now: Timestamp) -> R<Removed>;
    /// The bound devices whose owner chose `mode`, each with when it was chosen; for
    /// `Events`, also those whose limits cap them to events (since the earlier of the two).
    async fn devices_recording(&self, mode: RecordingMode) -> R<Vec<(String, Timestamp)>>;
    /// Deletes up to `limit` of the device's oldest segments started at or after `since`,
    /// ended before `cutoff` and protected by no event at `now` (an events-only device's
    /// footage no event kept); their blobs go to the trash in the same transaction.
    async fn expire_unkept_segments(
        &self,
        uid: &str,
        since: Timestamp,
        cutoff: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> R<Removed>;
    /// Deletes up to `limit` of the device's segments (every stream, protected or not)
    /// overlapping `[from, to)`, oldest first; their blobs go to the trash in the same
    /// transaction, their bytes off the owner's usage, the spans repaired.
    async fn delete_segments_between(
        &self,
        uid: &str,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> R<Removed>;
    /// Deletes all of a device's footage and its data key (a withdrawn consent to cloud
    /// recording): every segment, init segment and span, blobs trashed, in one transaction.
    async fn forget_footage(&self, uid: &str, now: Timestamp) -> R<Removed>;
    /// Deletes the account's oldest unprotected segments until at least `bytes` are freed or
    /// none are left; records the eviction as an alert.
    async fn evict_segments(&self, account: AccountId, bytes: u64, now: Timestamp) -> R<Removed>;
    async fn media_usage(&self, account: AccountId) -> R<MediaUsage>;
    /// Accounts storing more than `quota` bytes of footage.
    async fn accounts_over_quota(&self, quota: u64) -> R<Vec<(AccountId, u64)>>;

    // Blob trash.
    /// Blobs waiting to be deleted, oldest first.
    async fn trashed_blobs(&self, limit: u32) -> R<Vec<BlobId>>;
    /// Forgets trash entries whose objects are gone.
    async fn forget_trash(&self, blobs: &[BlobId]) -> R<()>;

    // The access log (who reached a device's media; deleted with the device on unbind).
    /// Writes `access` unless the same account accessed the same device the same way at or
    /// after `since` (repeats are one row); whether a row was written.
    async fn record_device_access(&self, access: &DeviceAccess, since: Timestamp) -> R<bool>;
    /// The device's accesses while `owner` owned it, at or after `since`, newest first, at
    /// most `limit`.
    async fn device_access_log(
        &self,
        uid: &str,
        owner: AccountId,
        since: Timestamp,
        limit: u32,
    ) -> R<Vec<DeviceAccess>>;
    /// Deletes the accesses before `cutoff`; how many.
    async fn expire_device_access(&self, cutoff: Timestamp) -> R<u64>;
}
