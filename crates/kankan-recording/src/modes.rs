//! Recording modes: what of a device's video the server keeps, chosen by its owner in the
//! device's settings (`recording_mode`), and the owner's deletion of a range of recordings.
//!
//! - `continuous`: everything, for the retention period.
//! - `events`: the ingest records as usual; the retention sweep deletes the footage no event
//!   protects (an event protects its clip: `recording.event_preroll_secs` before its start to
//!   2 s after its end) once it is older than `recording.events_hold_secs` plus the longest
//!   clip and the pre-roll, so a late event message still finds its footage.
//! - `card-only`: the video stays on the camera's SD card: the ingest stores nothing (no
//!   journal, segment, index row or init segment) and only offers the fragments to live
//!   viewers; backfill uploads are refused (`recording-card-only`).
//!
//! A mode applies from the moment it is chosen: footage recorded before stays until retention
//! (its owner can delete it, [`Recordings::delete_range`]). A switch to card-only while a
//! camera streams takes effect at the next fragment on this node (the segment in progress is
//! finished with what arrived before the switch), and at the next segment's start on the
//! others. [`Recordings::effective_mode`] is the one decision the ingest asks.

use kankan_base::Timestamp;
use kankan_db::{Device, Removed};
use kankan_devices::DeviceHandle;

pub use kankan_db::RecordingMode;

use super::Recordings;
use super::playback::check_range;
use crate::CoreError;
use kankan_accounts::Purpose;
use kankan_core::authz::Capability;

/// The longest range one deletion covers.
pub const MAX_DELETE_MS: i64 = 31 * 86_400_000;
/// Segments one deletion transaction removes.
const DELETE_BATCH: u32 = 500;

impl Recordings {
    /// How the server keeps `device`'s video now: the mode its owner chose, capped by the
    /// kind the device's limits allow (its plan, else the free tier, which may be
    /// card-only), except that where the operator makes cloud recording optional
    /// (`privacy.cloud_recording_optional`) an owner who has not consented to it (or
    /// withdrew) gets `card-only`: nothing is stored. The one place that decides it (every
    /// path that stores a device's video asks here).
    pub async fn effective_mode(&self, device: &Device) -> Result<RecordingMode, CoreError> {
        let (chosen, cap) = self.inner.store.recording_mode_and_cap(&device.uid).await?;
        let chosen = chosen.unwrap_or_default();
        let allowed = cap.unwrap_or_else(|| self.free_tier().kind);
        let chosen = crate::limits::capped(chosen, allowed);
        if chosen == RecordingMode::CardOnly {
            return Ok(chosen);
        }
        let consented = match device.owner {
            Some(owner) => self.inner.consents.granted(owner, Purpose::CloudRecording).await?,
            None => false,
        };
        Ok(if consented { chosen } else { RecordingMode::CardOnly })
    }

    /// Deletes every recording of the devices `account` owns, with their data keys (a
    /// withdrawn consent to cloud recording deletes what it produced): one transaction per
    /// device, the blobs trashed in it and the trash emptied now.
    pub async fn forget_footage_of(
        &self,
        account: kankan_base::AccountId,
    ) -> Result<u64, CoreError> {
        let s = &self.inner;
        let mut segments = 0;
        for device in s.store.devices_of(account).await? {
            segments += s.store.forget_footage(&device.uid, s.clock.now()).await?.segments;
        }
        self.empty_trash().await?;
        Ok(segments)
    }

    /// Deletes the device's footage overlapping `[from, to)`, every stream, protected by an
    /// event or not (`manage-recordings`: the owner only). Each batch of rows goes with its
    /// blobs trashed in one transaction; the objects are deleted by the next sweep (at once
    /// here). At most 31 days at a time.
    pub async fn delete_range(
        &self,
        h: &DeviceHandle,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Removed, CoreError> {
        h.require(Capability::ManageRecordings)?;
        check_range(from, to, MAX_DELETE_MS).map_err(|_| {
            CoreError::InvalidRange(format!(
                "from_ms must be before to_ms, at most {} days apart",
                MAX_DELETE_MS / 86_400_000
            ))
        })?;
        let s = &self.inner;
        let mut total = Removed::default();
        loop {
            let now = s.clock.now();
            let r = s.store.delete_segments_between(h.uid(), from, to, now, DELETE_BATCH).await?;
            total.segments += r.segments;
            total.bytes += r.bytes;
            if r.segments < u64::from(DELETE_BATCH) {
                break;
            }
        }
        self.empty_trash().await?;
        tracing::info!(uid = h.uid(), segments = total.segments, "recordings deleted by the owner");
        Ok(total)
    }

    /// Deletes the footage of events-only devices (chosen by the owner or capped by the
    /// device's limits) that no event kept, from when the mode was chosen, once past the hold.
    pub(crate) async fn expire_unkept(&self, now: Timestamp) -> Result<Removed, CoreError> {
        let s = &self.inner;
        let cutoff = Timestamp(now.0 - s.config.events_hold_ms());
        let mut total = Removed::default();
        for (uid, since) in s.store.devices_recording(RecordingMode::Events).await? {
            loop {
                let r =
                    s.store.expire_unkept_segments(&uid, since, cutoff, now, DELETE_BATCH).await?;
                total.segments += r.segments;
                total.bytes += r.bytes;
                if r.segments < u64::from(DELETE_BATCH) {
                    break;
                }
            }
        }
        Ok(total)
    }
}
