//! Rows of data exports ("Download my data").

use kankan_base::{AccountId, BlobId, Timestamp};

/// Where an export stands. An export past its `expires_at` is deleted by the sweeper whatever
/// its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportState {
    /// Waiting for the worker.
    Queued,
    /// Being built (under a lease).
    Running,
    /// Complete: its parts make the ZIP.
    Ready,
    /// Given up; `error` holds a code.
    Failed,
}

impl ExportState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportState::Queued => "queued",
            ExportState::Running => "running",
            ExportState::Ready => "ready",
            ExportState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<ExportState> {
        match s {
            "queued" => Some(ExportState::Queued),
            "running" => Some(ExportState::Running),
            "ready" => Some(ExportState::Ready),
            "failed" => Some(ExportState::Failed),
            _ => None,
        }
    }
}

/// One export.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRow {
    /// UUIDv7.
    pub id: uuid::Uuid,
    pub account_id: AccountId,
    /// The media chosen, as JSON (the export domain's own format).
    pub media: String,
    pub state: ExportState,
    pub attempts: u32,
    /// Progress: files written of `total`.
    pub done: u64,
    pub total: u64,
    /// The ZIP's size once ready.
    pub size_bytes: u64,
    /// The parts' data key, sealed under the account key (set when a build starts).
    pub key_enc: Option<Vec<u8>>,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub ready_at: Option<Timestamp>,
    pub expires_at: Timestamp,
}

/// One sealed part of an export's ZIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportPart {
    pub n: u32,
    pub blob: BlobId,
    /// Clear bytes in the part.
    pub bytes: u64,
}

/// What [`crate::ExportStore::insert_export`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportInsert {
    Inserted,
    /// The account already has an export queued or running: nothing was stored.
    AlreadyRunning,
}
