//! [`ExportStore`]: data exports and their sealed parts.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};

use crate::{DbError, ExportInsert, ExportPart, ExportRow};

type R<T> = Result<T, DbError>;

/// Data exports, always selected by account for people; the worker claims them under a lease.
///
/// Invariants: an account has at most one export queued or running (checked and inserted in
/// one transaction); a part's blob goes to the trash in the transaction that deletes its row
/// (a rebuild, a failure, a deletion, expiry).
#[async_trait]
pub trait ExportStore: Send + Sync {
    /// Stores a new export (state `queued`) unless the account has one queued or running.
    async fn insert_export(&self, row: &ExportRow) -> R<ExportInsert>;
    /// The account's exports, the newest first.
    async fn exports_of(&self, account: AccountId) -> R<Vec<ExportRow>>;
    /// One export, only if it belongs to `account`.
    async fn export_of(&self, account: AccountId, id: uuid::Uuid) -> R<Option<ExportRow>>;
    /// Claims the oldest queued export, or a running one whose lease lapsed (its worker
    /// died), with one `UPDATE ... RETURNING`: state `running`, attempts + 1, leased until
    /// `lease_until`.
    async fn claim_export(&self, now: Timestamp, lease_until: Timestamp) -> R<Option<ExportRow>>;
    /// Starts (again) a claimed export's build: its parts from an earlier try go to the trash,
    /// progress restarts at 0 of `total` under the new data key. False if it is no longer
    /// running (deleted meanwhile).
    async fn restart_export(
        &self,
        id: uuid::Uuid,
        key_enc: &[u8],
        total: u64,
        lease_until: Timestamp,
        at: Timestamp,
    ) -> R<bool>;
    /// Records progress and extends the lease; with `part`, stores that part's row in the same
    /// transaction. False if the export is no longer running (deleted meanwhile): the caller
    /// then deletes the part's blob itself.
    async fn export_progress(
        &self,
        id: uuid::Uuid,
        done: u64,
        part: Option<ExportPart>,
        lease_until: Timestamp,
    ) -> R<bool>;
    /// Marks a running export ready, `size_bytes` long, expiring at `expires_at`.
    async fn finish_export(
        &self,
        id: uuid::Uuid,
        size_bytes: u64,
        at: Timestamp,
        expires_at: Timestamp,
    ) -> R<bool>;
    /// Marks a running export failed with a code; its parts go to the trash.
    async fn fail_export(&self, id: uuid::Uuid, error: &str, at: Timestamp) -> R<()>;
    /// An export's parts, in order.
    async fn export_parts(&self, id: uuid::Uuid) -> R<Vec<ExportPart>>;
    /// Deletes the account's export and trashes its parts, in one transaction; false if the
    /// account has no such export.
    async fn delete_export(&self, account: AccountId, id: uuid::Uuid, at: Timestamp) -> R<bool>;
    /// Deletes every export that expired before `now` (row and parts; the parts' blobs go to
    /// the trash), at most `limit`; returns how many.
    async fn delete_expired_exports(&self, now: Timestamp, limit: u32) -> R<u64>;
}
