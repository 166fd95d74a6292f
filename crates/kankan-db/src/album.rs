//! Rows of the Album: screenshots and clips an account saved from its cameras.

use kankan_base::{AccountId, BlobId, Timestamp};

/// What an album item holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlbumKind {
    /// A JPEG of one picture.
    Screenshot,
    /// An MP4 of a few seconds of footage.
    Clip,
}

impl AlbumKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlbumKind::Screenshot => "screenshot",
            AlbumKind::Clip => "clip",
        }
    }

    pub fn parse(s: &str) -> Option<AlbumKind> {
        match s {
            "screenshot" => Some(AlbumKind::Screenshot),
            "clip" => Some(AlbumKind::Clip),
            _ => None,
        }
    }
}

/// One saved item. Its content is a sealed blob under `key_enc`'s key.
#[derive(Debug, Clone)]
pub struct AlbumItem {
    /// UUIDv7.
    pub id: uuid::Uuid,
    pub account_id: AccountId,
    pub kind: AlbumKind,
    /// The camera it was taken from.
    pub uid: String,
    /// The camera's name when it was taken, sealed under the account key.
    pub device_name_enc: Option<Vec<u8>>,
    /// The picture's wall-clock time (a clip: its first frame's).
    pub taken_at: Timestamp,
    /// 0 for a screenshot.
    pub duration_ms: u32,
    /// Size of the content before sealing.
    pub bytes: u64,
    pub blob: BlobId,
    /// The item's data key, sealed under the account key.
    pub key_enc: Vec<u8>,
    pub created_at: Timestamp,
}
