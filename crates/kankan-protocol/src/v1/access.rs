//! A device's access log, as its owner reads it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How a device's media was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccessKind {
    /// Live view.
    Live,
    /// Recorded footage played back.
    Playback,
    /// Footage copied: an MP4 export, an Album clip or screenshot.
    Download,
    /// Talking through the camera.
    Talk,
}

/// One entry of a device's access log: who reached its media, how and when (repeats of the
/// same account and kind within 5 minutes are one entry).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccessEntry {
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// The account's id (the owner's own accesses are listed too).
    pub account: uuid::Uuid,
    /// The account's nickname; null when it has none.
    pub nickname: Option<String>,
    pub kind: AccessKind,
}
