//! [`PasskeyStore`]: accounts' passkeys and the challenges of their ceremonies.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};

use crate::{DbError, PasskeyChallengeRow, PasskeyPurpose, PasskeyRow};

type R<T> = Result<T, DbError>;

/// Passkeys and challenges.
///
/// Invariants: a credential id belongs to one passkey of one account; a challenge is answered
/// at most once (taking it deletes it, and of concurrent takers one gets it) and never after
/// it expired; a passkey's counter only moves forward, from the value its user read
/// (compare-and-set), so two assertions with the same counter cannot both be accepted.
#[async_trait]
pub trait PasskeyStore: Send + Sync {
    async fn insert_passkey_challenge(&self, c: &PasskeyChallengeRow) -> R<()>;
    /// Takes (deletes) the challenge `id` issued for `purpose`: answers it when it was there
    /// and unexpired at `now`, else `None` (an expired one is deleted all the same).
    async fn take_passkey_challenge(
        &self,
        id: uuid::Uuid,
        purpose: PasskeyPurpose,
        now: Timestamp,
    ) -> R<Option<PasskeyChallengeRow>>;
    /// Deletes the challenges expired at `now`; answers how many.
    async fn delete_expired_passkey_challenges(&self, now: Timestamp) -> R<u64>;
    /// Stores a new passkey; `Conflict` when its credential id is already stored.
    async fn insert_passkey(&self, p: &PasskeyRow) -> R<()>;
    /// The account's passkeys, oldest first.
    async fn passkeys_of(&self, account: AccountId) -> R<Vec<PasskeyRow>>;
    async fn passkey_by_credential(&self, credential_id: &[u8]) -> R<Option<PasskeyRow>>;
    /// Records a use: the counter goes from `from` to `to` (only if it is still `from`), the
    /// backup state and the time of use are updated; false when the counter had moved.
    async fn passkey_used(
        &self,
        id: uuid::Uuid,
        from: u32,
        to: u32,
        backed_up: bool,
        at: Timestamp,
    ) -> R<bool>;
    /// Renames the account's passkey; false when it has no such passkey.
    async fn rename_passkey(&self, account: AccountId, id: uuid::Uuid, name_enc: &[u8]) -> R<bool>;
    /// Deletes the account's passkey; false when it has no such passkey.
    async fn delete_passkey(&self, account: AccountId, id: uuid::Uuid) -> R<bool>;
}
