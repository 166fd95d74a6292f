//! [`EventStore`]: events and their thumbnails.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};

use crate::{DbError, Event, EventFilter, Recorded};

type R<T> = Result<T, DbError>;

/// Events (what devices noticed) and their sealed thumbnails, always selected by account.
///
/// Invariants: a start and its end make one row; a deleted event stays as a tombstone, listed
/// nowhere, until it expires, so a late end cannot bring it back; deleting an event removes
/// the protection it gave the footage under it in the same transaction. The events' dispatch
/// marks belong to [`NotifyStore`](crate::NotifyStore).
#[async_trait]
pub trait EventStore: Send + Sync {
    /// Stores an event, or completes the account's one with the same device, kind and start
    /// (its end, or the same message again): a start and its end make one row. Rows are keyed
    /// by account and device, and written only while the account owns the device. An event
    /// the user deleted stays deleted, and one for an account that no longer owns the device
    /// is not stored (both `Recorded::Deleted`).
    async fn record_event(&self, event: &Event) -> R<Recorded>;
    /// The account's events matching `filter`, newest first (deleted ones never).
    async fn events(&self, account: AccountId, filter: &EventFilter) -> R<Vec<Event>>;
    /// One event of the account (not a deleted one).
    async fn event(&self, account: AccountId, id: uuid::Uuid) -> R<Option<Event>>;
    /// Marks an event of the account read; false if it has no such event.
    async fn mark_event_read(&self, account: AccountId, id: uuid::Uuid, at: Timestamp) -> R<bool>;
    /// Deletes an event of the account: a tombstone stays (so its end cannot bring it back),
    /// its thumbnail and the face sightings in it go, and the footage under it keeps only the protection another event
    /// still gives it, in one transaction; false if it has no such event.
    async fn delete_event(&self, account: AccountId, id: uuid::Uuid, at: Timestamp) -> R<bool>;
    /// Deletes the events (and tombstones) that started before `cutoff`; how many.
    async fn expire_events(&self, cutoff: Timestamp) -> R<u64>;

    // Thumbnails.
    /// Stores an event's sealed thumbnail; false if the event is gone or deleted.
    async fn put_event_thumbnail(&self, id: uuid::Uuid, jpeg_enc: &[u8], at: Timestamp) -> R<bool>;
    /// The sealed thumbnail of one of the account's events.
    async fn event_thumbnail(&self, account: AccountId, id: uuid::Uuid) -> R<Option<Vec<u8>>>;
    /// Sets a motion event's person-detection verdict; with a sighting, stores it (label,
    /// score, box) and, with `jpeg_enc`, replaces the sealed thumbnail, in one transaction.
    /// False if the event is gone or deleted.
    async fn set_event_verdict(
        &self,
        id: uuid::Uuid,
        verdict: crate::Verdict,
        seen: Option<&crate::Sighting>,
        jpeg_enc: Option<&[u8]>,
        at: Timestamp,
    ) -> R<bool>;

    // Members: accounts the owner granted receive-alarms see the device's events with their
    // own read state and deletion. Which devices an account may see is decided by the caller
    // (the device policy), never here.
    /// The viewer's own events and the events of `shared` devices (uid, the owner the events
    /// must belong to) matching `filter`, newest first, each with the viewer's read state;
    /// none the owner deleted, none the viewer deleted as a member.
    async fn events_seen_by(
        &self,
        viewer: AccountId,
        shared: &[(String, AccountId)],
        filter: &EventFilter,
    ) -> R<Vec<Event>>;
    /// One event, whoever's it is, with the viewer's read state; `None` when missing, deleted
    /// by the owner or deleted by the viewer as a member.
    async fn event_seen_by(&self, viewer: AccountId, id: uuid::Uuid) -> R<Option<Event>>;
    /// Marks an event read for a member (the first time counts); false when there is no such
    /// event or the member deleted it.
    async fn mark_event_read_as_member(
        &self,
        member: AccountId,
        id: uuid::Uuid,
        at: Timestamp,
    ) -> R<bool>;
    /// Hides an event from a member (the owner and other members still see it); false when
    /// there is no such event or the member already deleted it.
    async fn delete_event_as_member(
        &self,
        member: AccountId,
        id: uuid::Uuid,
        at: Timestamp,
    ) -> R<bool>;
}
