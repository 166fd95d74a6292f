//! [`ConsentStore`]: consents and policy acceptance, guardians of child accounts; and
//! [`AnnouncementStore`]: the operator's announcements and their push fan-out.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};

use crate::{Account, AnnouncementRow, ConsentRow, DbError, GuardianRow, PushSubscriptionRow};

type R<T> = Result<T, DbError>;

/// Consents and policy acceptance.
///
/// Invariants: the consent history is append-only (rows are never changed; they go only with
/// the account); a registration's account, its consents and its guardian are stored in one
/// transaction; a guardian's consent marks the guardian row and records the consent in one
/// transaction, once.
#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// Inserts a new account with the consents given at registration and, for a child, its
    /// guardian, in one transaction; `Conflict` if the contact already has an account.
    async fn insert_registration(
        &self,
        account: &Account,
        consents: &[ConsentRow],
        guardian: Option<&GuardianRow>,
    ) -> R<()>;
    /// Appends one row to the account's consent history.
    async fn insert_consent(&self, consent: &ConsentRow) -> R<()>;
    /// The account's consent history, oldest first.
    async fn consents(&self, account: AccountId) -> R<Vec<ConsentRow>>;
    /// The account's newest row for `purpose`.
    async fn latest_consent(&self, account: AccountId, purpose: &str) -> R<Option<ConsentRow>>;
    /// The guardian of a child account.
    async fn guardian(&self, account: AccountId) -> R<Option<GuardianRow>>;
    /// Records the guardian's consent: marks the child's guardian row (when it names
    /// `guardian_index` and is not yet consented) and appends `consent`, in one transaction;
    /// false (nothing stored) otherwise.
    async fn guardian_consents(
        &self,
        account: AccountId,
        guardian_index: &[u8],
        consent: &ConsentRow,
    ) -> R<bool>;
}

/// The operator's announcements.
///
/// Invariant: an announcement's push cursor only moves forward (subscriptions are queued in id
/// order, each page at least once).
#[async_trait]
pub trait AnnouncementStore: Send + Sync {
    async fn insert_announcement(&self, a: &AnnouncementRow) -> R<()>;
    /// The newest announcements first, at most `limit`.
    async fn announcements(&self, limit: u32) -> R<Vec<AnnouncementRow>>;
    /// The oldest announcement whose push fan-out is not done.
    async fn announcement_to_push(&self) -> R<Option<AnnouncementRow>>;
    /// Push subscriptions of every account with ids after `after`, in id order, at most
    /// `limit`.
    async fn push_subscriptions_after(
        &self,
        after: Option<uuid::Uuid>,
        limit: u32,
    ) -> R<Vec<PushSubscriptionRow>>;
    /// Moves the announcement's push cursor to `through`; with `done`, marks the fan-out done.
    async fn advance_announcement_push(
        &self,
        id: uuid::Uuid,
        through: Option<uuid::Uuid>,
        done: Option<Timestamp>,
    ) -> R<()>;
}
