//! The access log: every live view, playback, download and talk of a device's media, by its
//! owner and by the accounts it is shared with, for the owner to read (kept 30 days). An
//! access is recorded where it cannot be bypassed: when a signed media link is issued (every
//! live view, playback and talk needs one) and when footage is copied (an MP4 export, an Album
//! clip or screenshot). Repeats of the same account and kind on the same device within
//! [`REPEAT_MS`] are one entry.

use kankan_base::{AccountId, Timestamp};
use kankan_core::authz::Capability;
use kankan_db::DeviceAccess;
use kankan_devices::DeviceHandle;

use super::Recordings;
use crate::CoreError;

/// How long the log keeps an access.
pub const ACCESS_LOG_MS: i64 = 30 * 86_400_000;
/// Accesses of the same account and kind within this long are one entry.
pub const REPEAT_MS: i64 = 5 * 60_000;
/// The most entries one read returns.
const LOG_LIMIT: u32 = 1_000;

/// How a device's media was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessKind {
    /// Live view (the live WebSocket, WebRTC without talk).
    Live,
    /// Recorded footage played back (HLS, snapshots).
    PlayBack,
    /// Footage copied: an MP4 export, an Album clip or screenshot.
    Download,
    /// Talking through the camera (WebRTC with talk).
    Talk,
}

impl AccessKind {
    pub const ALL: [AccessKind; 4] =
        [AccessKind::Live, AccessKind::PlayBack, AccessKind::Download, AccessKind::Talk];

    /// The stable name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessKind::Live => "live",
            AccessKind::PlayBack => "playback",
            AccessKind::Download => "download",
            AccessKind::Talk => "talk",
        }
    }

    pub fn parse(s: &str) -> Option<AccessKind> {
        AccessKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One entry of a device's access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEntry {
    pub at: Timestamp,
    /// The account that accessed the device (its owner's own accesses too).
    pub account: AccountId,
    pub kind: AccessKind,
}

impl Recordings {
    /// Records that the requester of `h` reached the device's media as `kind` (one entry per
    /// account and kind every [`REPEAT_MS`]).
    pub(crate) async fn record_access(
        &self,
        h: &DeviceHandle,
        kind: AccessKind,
    ) -> Result<(), CoreError> {
        let s = &self.inner;
        let owner = h.device().owner.ok_or(CoreError::DeviceNotFound)?;
        let now = s.clock.now();
        let access = DeviceAccess {
            uid: h.uid().to_string(),
            owner,
            account: h.account(),
            kind: kind.as_str().to_string(),
            at: now,
        };
        s.store.record_device_access(&access, Timestamp(now.0 - REPEAT_MS + 1)).await?;
        Ok(())
    }

    /// Who reached the device's media in the last 30 days, and how, newest first (`share`:
    /// the owner). Only what happened while the current owner owned it.
    pub async fn access_log(&self, h: &DeviceHandle) -> Result<Vec<AccessEntry>, CoreError> {
        h.require(Capability::Share)?;
        let s = &self.inner;
        let owner = h.device().owner.ok_or(CoreError::DeviceNotFound)?;
        let since = Timestamp(s.clock.now().0 - ACCESS_LOG_MS);
        let rows = s.store.device_access_log(h.uid(), owner, since, LOG_LIMIT).await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| {
                let kind = AccessKind::parse(&r.kind)?;
                Some(AccessEntry { at: r.at, account: r.account, kind })
            })
            .collect())
    }

    /// Deletes the accesses older than 30 days; how many (the retention sweep).
    pub(crate) async fn expire_access(&self) -> Result<u64, CoreError> {
        let s = &self.inner;
        let cutoff = Timestamp(s.clock.now().0 - ACCESS_LOG_MS);
        Ok(s.store.expire_device_access(cutoff).await?)
    }
}
