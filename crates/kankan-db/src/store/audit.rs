//! [`AuditStore`]: the audit log, the data-subject requests and the support grants.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};

use crate::{
    AuditCheckpoint, AuditEntry, AuditLinker, DbError, ExpiredInactive, NewAuditEntry,
    PrivacyRequest, SupportGrant,
};

type R<T> = Result<T, DbError>;

/// The staff's oversight: the hash-chained audit log with its checkpoints, the queue of
/// data-subject requests, and the support grants users give staff.
///
/// Invariants: appends are serialised (the head row is locked in the append's transaction),
/// so the chain never forks; the log is never updated or deleted through this trait; a
/// request is closed once; a support grant lists only devices its account owned when given.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends one entry after the head, in one transaction: locks the head, asks `link` for
    /// the entry's hash (and a checkpoint when due), writes both and moves the head. The new
    /// entry's seq.
    async fn append_audit(&self, entry: &NewAuditEntry, link: AuditLinker<'_>) -> R<i64>;
    /// Entries with seq above `after`, in order, at most `limit`.
    async fn audit_entries(&self, after: i64, limit: u32) -> R<Vec<AuditEntry>>;
    /// Entries about one account, newest first, at most `limit`, with the staff's names.
    async fn audit_of_subject(&self, account: AccountId, limit: u32) -> R<Vec<AuditEntry>>;
    /// Every checkpoint, in order.
    async fn audit_checkpoints(&self) -> R<Vec<AuditCheckpoint>>;

    // Data-subject requests.
    async fn insert_privacy_request(&self, r: &PrivacyRequest) -> R<()>;
    async fn privacy_request(&self, id: uuid::Uuid) -> R<Option<PrivacyRequest>>;
    /// An account's requests, newest first.
    async fn privacy_requests_of(&self, account: AccountId) -> R<Vec<PrivacyRequest>>;
    /// Requests (only the open ones with `open_only`), the earliest due first, at most `limit`.
    async fn privacy_requests(&self, open_only: bool, limit: u32) -> R<Vec<PrivacyRequest>>;
    /// Closes an open request as `done` or `refused`; false if it was not open.
    async fn close_privacy_request(
        &self,
        id: uuid::Uuid,
        state: &str,
        by: &str,
        at: Timestamp,
    ) -> R<bool>;

    // Support grants.
    /// Inserts a grant with its devices, in one transaction; `NotFound("device")` (nothing
    /// stored) if the account does not own one of them.
    async fn insert_support_grant(&self, g: &SupportGrant) -> R<()>;
    /// An account's grants (live, expired and withdrawn), newest first.
    async fn support_grants_of(&self, account: AccountId) -> R<Vec<SupportGrant>>;
    /// Withdraws a live grant of that account; false if there was none.
    async fn withdraw_support_grant(
        &self,
        account: AccountId,
        id: uuid::Uuid,
        at: Timestamp,
    ) -> R<bool>;
    /// The id of a grant that lets staff see `uid` of `account` at `now` (unexpired,
    /// unwithdrawn, naming the device, which the account still owns), if any.
    async fn live_support_grant(
        &self,
        account: AccountId,
        uid: &str,
        now: Timestamp,
    ) -> R<Option<uuid::Uuid>>;

    // Retention.
    /// Deletes sessions unused since `idle_cutoff`, and accounts still pending since
    /// `pending_cutoff` (no registration code sent to their contact since) with their codes.
    async fn expire_inactive(
        &self,
        idle_cutoff: Timestamp,
        pending_cutoff: Timestamp,
    ) -> R<ExpiredInactive>;
}
