//! [`DescriptionStore`]: the AI descriptions of events.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};

use crate::DbError;

type R<T> = Result<T, DbError>;

/// One stored description: its event, the account it is sealed for (the event's owner) and
/// the sealed sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDescription {
    pub event_id: uuid::Uuid,
    pub account_id: AccountId,
    pub text_enc: Vec<u8>,
}

/// Events' AI descriptions: one sealed sentence per event, gone with the event.
#[async_trait]
pub trait DescriptionStore: Send + Sync {
    /// Stores the description of an event of `account` that still exists (not deleted);
    /// false otherwise (the event went while the model was answering).
    async fn put_event_description(
        &self,
        account: AccountId,
        event: uuid::Uuid,
        text_enc: &[u8],
        at: Timestamp,
    ) -> R<bool>;
    /// The descriptions of these events (at most 500 ids), in no particular order.
    async fn event_descriptions(&self, events: &[uuid::Uuid]) -> R<Vec<StoredDescription>>;
    /// Deletes every description of the account's events; how many.
    async fn delete_descriptions_of(&self, account: AccountId) -> R<u64>;
    /// How many descriptions the account has (tests, receipts).
    async fn count_descriptions_of(&self, account: AccountId) -> R<u64>;
}
