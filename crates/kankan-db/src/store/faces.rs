//! [`FaceStore`]: familiar faces and their sightings.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};

use crate::{DbError, FaceRow, FaceSighting};

type R<T> = Result<T, DbError>;

/// Familiar faces, always selected by account. Deleting a face deletes its sightings in the
/// same statement (the foreign key cascades).
#[async_trait]
pub trait FaceStore: Send + Sync {
    /// Every face of the account, the most recently seen first.
    async fn faces_of(&self, account: AccountId) -> R<Vec<FaceRow>>;
    /// One face, only if it belongs to `account`.
    async fn face(&self, account: AccountId, id: uuid::Uuid) -> R<Option<FaceRow>>;
    /// Inserts a new face with its first sighting (`crop_enc` its picture) in one transaction,
    /// unless the account already has `cap` faces: false then, and nothing is stored.
    async fn insert_face(
        &self,
        face: &FaceRow,
        first: &FaceSighting,
        crop_enc: &[u8],
        cap: u32,
    ) -> R<bool>;
    /// Adds a sighting of a face and moves its last sighting forward, in one transaction;
    /// false if the account has no such face (deleted meanwhile).
    async fn add_face_sighting(&self, s: &FaceSighting, crop_enc: &[u8]) -> R<bool>;
    /// Names (or, with `None`, unnames) the account's face; false if it has no such face.
    async fn name_face(
        &self,
        account: AccountId,
        id: uuid::Uuid,
        name_enc: Option<&[u8]>,
        relation: Option<&str>,
    ) -> R<bool>;
    /// Deletes the account's face with its sightings; false if it has no such face.
    async fn delete_face(&self, account: AccountId, id: uuid::Uuid) -> R<bool>;
    /// Deletes every face of the account with their sightings; how many faces.
    async fn delete_faces_of(&self, account: AccountId) -> R<u64>;
    /// Deletes every unnamed face (of every account) last seen before `before`, with its
    /// sightings; how many faces.
    async fn delete_unnamed_faces_before(&self, before: Timestamp) -> R<u64>;
    /// The account's sightings at or after `since`, the newest first, at most `limit`.
    async fn face_sightings_since(
        &self,
        account: AccountId,
        since: Timestamp,
        limit: u32,
    ) -> R<Vec<FaceSighting>>;
    /// One of the account's sightings with its sealed picture.
    async fn face_sighting(
        &self,
        account: AccountId,
        sighting: uuid::Uuid,
    ) -> R<Option<(FaceSighting, Vec<u8>)>>;
    /// The newest sighting of the account's face with its sealed picture.
    async fn latest_face_crop(
        &self,
        account: AccountId,
        face: uuid::Uuid,
    ) -> R<Option<(FaceSighting, Vec<u8>)>>;
    /// The face last seen in an event of the account (its newest sighting there).
    async fn face_of_event(&self, account: AccountId, event: uuid::Uuid) -> R<Option<FaceRow>>;
}
