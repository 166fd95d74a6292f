//! [`AlbumStore`]: saved screenshots and clips.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};

use crate::{AlbumItem, DbError};

type R<T> = Result<T, DbError>;

/// The Album: saved screenshots and clips, one row per item, always selected by account.
///
/// Invariant: deleting an item puts its blob in the trash in the same transaction.
#[async_trait]
pub trait AlbumStore: Send + Sync {
    async fn insert_album_item(&self, item: &AlbumItem) -> R<()>;
    /// The account's items, the most recently saved first, at most `limit`.
    async fn album_items(&self, account: AccountId, limit: u32) -> R<Vec<AlbumItem>>;
    /// One item, only if it belongs to `account`.
    async fn album_item(&self, account: AccountId, id: uuid::Uuid) -> R<Option<AlbumItem>>;
    /// Deletes the account's item and puts its blob in the trash (at `at`), in one
    /// transaction; false if the account has no such item.
    async fn delete_album_item(&self, account: AccountId, id: uuid::Uuid, at: Timestamp)
    -> R<bool>;
    /// Deletes every item of the account and puts their blobs in the trash, in one
    /// transaction; how many.
    async fn trash_album_of(&self, account: AccountId, at: Timestamp) -> R<u64>;
}
