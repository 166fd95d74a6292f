//! Rows of familiar faces: the templates an account's cameras saw, and their sightings.

use kankan_base::{AccountId, Timestamp};

/// A face an account's cameras saw: its template and name sealed under the account key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaceRow {
    /// UUIDv7.
    pub id: uuid::Uuid,
    pub account_id: AccountId,
    /// The embedding, sealed under the account key.
    pub template_enc: Vec<u8>,
    /// The name the owner gave it, sealed under the account key; `None` while unnamed.
    pub name_enc: Option<Vec<u8>>,
    /// `family` or `friend`, when named with one.
    pub relation: Option<String>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub created_at: Timestamp,
}

/// One time a face was seen (the crop is read on its own: [`crate::FaceStore::face_crop`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaceSighting {
    /// UUIDv7.
    pub id: uuid::Uuid,
    pub face_id: uuid::Uuid,
    pub account_id: AccountId,
    pub event_id: uuid::Uuid,
    /// The camera.
    pub uid: String,
    pub seen_at: Timestamp,
}
