//! Rows of the access log: who reached a device's media, how, and when.

use kankan_base::{AccountId, Timestamp};

/// One access to a device's media: a live view, a playback, a download or talk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAccess {
    pub uid: String,
    /// The device's owner when it was accessed: the log is theirs to read.
    pub owner: AccountId,
    /// The account that accessed it (the owner's own accesses too).
    pub account: AccountId,
    /// `live`, `playback`, `download` or `talk`; kankan-recording names them.
    pub kind: String,
    pub at: Timestamp,
}
