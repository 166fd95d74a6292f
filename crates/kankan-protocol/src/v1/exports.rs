//! Data exports ("Download my data"): a ZIP of the account's data, built in the background.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /api/v1/me/exports`: what to put in the ZIP besides the account's data (which is
/// always in it).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateExportRequest {
    #[serde(default)]
    pub media: ExportMedia,
}

/// The media an export holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportMedia {
    /// Every Album item (screenshots and clips), decrypted.
    #[serde(default)]
    pub album: bool,
    /// An MP4 of each event's clip range, where footage of it is kept.
    #[serde(default)]
    pub event_clips: bool,
    /// Ranges of a camera's recordings, as MP4 (at most 4, each at most 24 hours, of cameras
    /// the account may download from).
    #[serde(default)]
    #[schema(max_items = 4)]
    pub recordings: Vec<ExportRecordingRange>,
}

/// `[from_ms, to_ms)` of one camera's recordings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportRecordingRange {
    pub uid: String,
    /// Milliseconds since the Unix epoch.
    pub from_ms: i64,
    pub to_ms: i64,
}

/// Where an export stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportStateView {
    Queued,
    Running,
    Ready,
    Failed,
    /// Past its expiry; deleted soon (it cannot be downloaded).
    Expired,
}

/// Files written of how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExportProgress {
    pub done: u64,
    /// 0 until the build starts.
    pub total: u64,
}

/// One export, as its account sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExportView {
    pub id: uuid::Uuid,
    pub state: ExportStateView,
    pub progress: ExportProgress,
    /// The ZIP's size once ready (0 before).
    pub size_bytes: u64,
    pub media: ExportMedia,
    /// Why it failed (a stable code), when it did.
    pub error: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub created_at_ms: i64,
    pub ready_at_ms: Option<i64>,
    /// After this the export is deleted (row and file).
    pub expires_at_ms: i64,
}

/// `202` to `POST /api/v1/me/exports`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedExport {
    pub id: uuid::Uuid,
}
