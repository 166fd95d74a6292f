//! [`NotifyStore`]: push subscriptions, notification settings, webhooks, deliveries,
//! dispatch marks and server secrets.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};

use crate::{DbError, Event};

type R<T> = Result<T, DbError>;

/// What notifications need: push subscriptions, the account's and each device's notification
/// settings, webhooks, delivery records, the events' dispatch marks (crash recovery of the
/// dispatcher) and server secrets (the VAPID key).
///
/// Invariants: rows are selected by account (the delivery runner alone reads a target by id);
/// endpoints, URLs and secrets arrive sealed (`*_enc`) and are found by keyed blind index,
/// never in clear; an event's notifications are queued once (its dispatch mark); a server
/// secret, once stored, is never replaced.
#[async_trait]
pub trait NotifyStore: Send + Sync {
    // Push subscriptions.
    /// Stores a push subscription, or replaces the sealed keys of the account's one with the
    /// same endpoint index; returns the id in force.
    async fn put_push_subscription(&self, sub: &crate::PushSubscriptionRow) -> R<uuid::Uuid>;
    /// Deletes the account's subscription with that endpoint index; false if none.
    async fn delete_push_subscription(&self, account: AccountId, endpoint_index: &[u8]) -> R<bool>;
    /// Deletes a subscription the push service reported gone; false if already gone.
    async fn delete_push_subscription_by_id(&self, id: uuid::Uuid) -> R<bool>;
    async fn push_subscriptions(&self, account: AccountId) -> R<Vec<crate::PushSubscriptionRow>>;
    async fn push_subscription(&self, id: uuid::Uuid) -> R<Option<crate::PushSubscriptionRow>>;

    // Settings.
    async fn notification_settings(
        &self,
        account: AccountId,
    ) -> R<Option<crate::NotificationSettingsRow>>;
    async fn put_notification_settings(
        &self,
        account: AccountId,
        settings: &crate::NotificationSettingsRow,
        at: Timestamp,
    ) -> R<()>;
    async fn device_notification_settings(
        &self,
        account: AccountId,
        uid: &str,
    ) -> R<Option<crate::DeviceNotificationRow>>;
    async fn put_device_notification_settings(
        &self,
        account: AccountId,
        uid: &str,
        settings: &crate::DeviceNotificationRow,
    ) -> R<()>;

    // Webhooks.
    async fn insert_webhook(&self, webhook: &crate::WebhookRow) -> R<()>;
    /// The account's webhooks, oldest first.
    async fn webhooks(&self, account: AccountId) -> R<Vec<crate::WebhookRow>>;
    async fn webhook(&self, id: uuid::Uuid) -> R<Option<crate::WebhookRow>>;
    /// Deletes the account's webhook; false if it has no such webhook.
    async fn delete_webhook(&self, account: AccountId, id: uuid::Uuid) -> R<bool>;

    // Deliveries.
    /// Records a delivery attempt under the account it was for (the event's owner, or a member
    /// the dispatcher chose through the device policy); false (nothing stored) if the event is
    /// gone.
    async fn insert_delivery(&self, delivery: &crate::Delivery) -> R<bool>;
    /// The delivery records of one of the account's events, oldest first.
    async fn deliveries(&self, account: AccountId, event: uuid::Uuid) -> R<Vec<crate::Delivery>>;
    /// How many deliveries of `channel` (`sms`, `call`, ...) with `status` the account has had
    /// since `since` (the daily caps on paid channels).
    async fn count_deliveries_since(
        &self,
        account: AccountId,
        channel: &str,
        status: crate::DeliveryStatus,
        since: Timestamp,
    ) -> R<u64>;
    /// The account's delivery records (only those with `status`, if given), newest first, at
    /// most `limit`; none of a deleted event.
    async fn account_deliveries(
        &self,
        account: AccountId,
        status: Option<crate::DeliveryStatus>,
        limit: u32,
    ) -> R<Vec<crate::Delivery>>;

    // Dispatch marks (crash recovery of the dispatcher).
    /// Marks an event's notifications queued; false if already marked (or no such event).
    async fn mark_event_dispatched(&self, id: uuid::Uuid, at: Timestamp) -> R<bool>;
    /// Claims an undispatched event for one dispatcher until `until`, in one statement: false
    /// when it is dispatched, gone, or claimed by another whose claim has not lapsed at `now`.
    async fn claim_event_dispatch(
        &self,
        id: uuid::Uuid,
        now: Timestamp,
        until: Timestamp,
    ) -> R<bool>;
    /// Lets a claim go before it lapses (its dispatch failed; the next pass tries again).
    async fn release_event_dispatch(&self, id: uuid::Uuid) -> R<()>;
    /// Events created in `[from, before)` whose notifications were never queued and that are
    /// not deleted, oldest first, at most `limit` (crash recovery of the dispatcher).
    async fn undispatched_events(
        &self,
        from: Timestamp,
        before: Timestamp,
        limit: u32,
    ) -> R<Vec<Event>>;

    // Server secrets.
    /// The server secret `name` (sealed), storing `value_enc` first if there is none yet.
    async fn server_secret_or_insert(
        &self,
        name: &str,
        value_enc: &[u8],
        at: Timestamp,
    ) -> R<Vec<u8>>;
}
