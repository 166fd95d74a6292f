//! [`LifecycleStore`]: the end of an account's life. Cancellation and its window, the
//! crypto-shred, deletion receipts, the purge that follows, dormant accounts, and the
//! deletion of login history on request.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};

use crate::{DbError, DeletionReceipt, PendingPurge};

type R<T> = Result<T, DbError>;

/// What an account holds, counted for its deletion receipt before it is shredded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFootprint {
    pub devices: u64,
    pub recordings: u64,
    pub events: u64,
    pub album_items: u64,
    /// Grants the account gave on its devices and grants it held on others'.
    pub shares: u64,
    pub invitations: u64,
    pub push_subscriptions: u64,
    pub webhooks: u64,
    pub sessions: u64,
    pub login_events: u64,
}

impl AccountFootprint {
    /// Kind and count, in the order a receipt shows them.
    pub fn counts(&self) -> Vec<(String, u64)> {
        [
            ("devices", self.devices),
            ("recordings", self.recordings),
            ("events", self.events),
            ("album_items", self.album_items),
            ("shares", self.shares),
            ("invitations", self.invitations),
            ("push_subscriptions", self.push_subscriptions),
            ("webhooks", self.webhooks),
            ("sessions", self.sessions),
            ("login_events", self.login_events),
        ]
        .into_iter()
        .map(|(k, n)| (k.to_string(), n))
        .collect()
    }
}

/// Invariants: the shred is one transaction whose one `UPDATE` overwrites the wrapped account
/// key, the sealed contact and nickname and the password hash, and replaces the contact's
/// blind index with a tombstone (so the identifier is free), with the receipt and the purge
/// row written in the same transaction; the account row goes last, with its purge row.
#[async_trait]
pub trait LifecycleStore: Send + Sync {
    /// Active → cancelling until `ends_at`; every session of the account is revoked in the same
    /// transaction. `NotFound("account")` unless the account is active.
    async fn start_cancellation(&self, id: AccountId, ends_at: Timestamp, now: Timestamp) -> R<()>;
    /// When the account's cancellation window ends (`None`: not cancelling).
    async fn cancellation_ends(&self, id: AccountId) -> R<Option<Timestamp>>;
    /// Cancelling → active; false when the account was not cancelling.
    async fn end_cancellation(&self, id: AccountId, now: Timestamp) -> R<bool>;
    /// Cancelling accounts whose window ended by `now`, oldest first.
    async fn due_cancellations(&self, now: Timestamp, limit: u32) -> R<Vec<AccountId>>;
    /// Counts what the account holds (for its receipt).
    async fn account_footprint(&self, id: AccountId) -> R<AccountFootprint>;
    /// The crypto-shred: in one transaction, the account's wrapped key, contact, nickname and
    /// password hash are overwritten and its blind index replaced by a tombstone (state
    /// `cancelled`), its sessions revoked, `receipt` inserted and a purge row written. False
    /// (nothing written) when the account does not exist or was already shredded.
    async fn shred_account(
        &self,
        id: AccountId,
        receipt: &DeletionReceipt,
        now: Timestamp,
    ) -> R<bool>;
    /// Shredded accounts still being purged.
    async fn pending_purges(&self, limit: u32) -> R<Vec<PendingPurge>>;
    /// The purge's last step: deletes the account row (the rows that reference it go with it)
    /// and its purge row, and marks its receipt purged at `now`; one transaction.
    async fn finish_purge(&self, purge: &PendingPurge, now: Timestamp) -> R<()>;
    /// The unexpired receipt with that token hash.
    async fn deletion_receipt(
        &self,
        token_hash: &[u8],
        now: Timestamp,
    ) -> R<Option<DeletionReceipt>>;
    /// Deletes receipts that expired by `now`; how many.
    async fn expire_deletion_receipts(&self, now: Timestamp) -> R<u64>;
    /// Deletes the account's whole login history; how many entries.
    async fn delete_login_events(&self, id: AccountId) -> R<u64>;
    /// Active accounts not seen since `seen_before` that have had no dormancy notice.
    async fn dormant_unnoticed(&self, seen_before: Timestamp, limit: u32) -> R<Vec<AccountId>>;
    /// Records the dormancy notice (only while the account is still unseen since
    /// `seen_before`); false when it was seen meanwhile.
    async fn mark_dormant_notice(
        &self,
        id: AccountId,
        seen_before: Timestamp,
        at: Timestamp,
    ) -> R<bool>;
    /// Active accounts not seen since `seen_before` whose notice went before `noticed_before`.
    async fn dormant_due(
        &self,
        seen_before: Timestamp,
        noticed_before: Timestamp,
        limit: u32,
    ) -> R<Vec<AccountId>>;
}
