//! [`AccountStore`]: accounts, verification codes, sessions, login history and staff.

use async_trait::async_trait;
use kankan_base::{AccountId, BlobId, SessionId, StaffId, Timestamp};

use crate::{
    Account, AccountState, CodePurpose, DbError, LockoutRule, LoginEvent, LoginFailures, Session,
    Staff, VerificationCode,
};

type R<T> = Result<T, DbError>;

/// Accounts and what proves who someone is: the account rows (looked up by id or by the keyed
/// blind index of their contact, never by the contact in clear), verification codes, user
/// sessions (by the hash of their token), login history, per-identifier login failures
/// (lockout), and staff members with their sessions.
///
/// Invariants: a password change revokes every other session, and a ban every session, in the
/// same transaction; a code is consumed once (a racing request loses) and its attempt limit,
/// like the lockout's count, is checked and counted in one atomic statement, so parallel
/// requests cannot exceed it; only live sessions (unrevoked, unexpired at `now`) are ever
/// returned.
#[async_trait]
pub trait AccountStore: Send + Sync {
    // Accounts.
    /// Inserts a new account; `Conflict("account")` if the contact is taken.
    async fn insert_account(&self, account: &Account) -> R<()>;
    async fn account(&self, id: AccountId) -> R<Option<Account>>;
    async fn account_by_contact(&self, contact_index: &[u8]) -> R<Option<Account>>;
    /// Pending -> active, once its contact is proven; with `password_hash`, the password
    /// chosen with the proof is set in the same statement.
    async fn activate_account(
        &self,
        id: AccountId,
        password_hash: Option<&str>,
        at: Timestamp,
    ) -> R<()>;
    /// Sets the password and revokes every session but `keep`, in one transaction.
    async fn set_password(
        &self,
        id: AccountId,
        password_hash: &str,
        keep: Option<SessionId>,
        at: Timestamp,
    ) -> R<()>;
    async fn set_nickname(&self, id: AccountId, nickname_enc: Option<&[u8]>) -> R<()>;
    /// Sets the avatar blob and returns the one it replaced.
    async fn set_avatar(&self, id: AccountId, blob: Option<BlobId>) -> R<Option<BlobId>>;
    /// Changes state (ban, unban); a ban also revokes every session, in one transaction.
    async fn set_account_state(
        &self,
        id: AccountId,
        state: AccountState,
        reason: Option<&str>,
        at: Timestamp,
    ) -> R<()>;

    // Verification codes.
    async fn insert_code(&self, code: &VerificationCode) -> R<()>;
    /// The newest code of that purpose sent to that contact.
    async fn latest_code(
        &self,
        purpose: CodePurpose,
        contact_index: &[u8],
    ) -> R<Option<VerificationCode>>;
    /// Claims one attempt at a code, in one atomic statement: counts it and answers the
    /// attempts so far if the code is unused, unexpired at `now` and had fewer than
    /// `max_attempts`; `None` (nothing counted) otherwise. Only a claimed attempt may be
    /// checked against the code.
    async fn claim_code_attempt(
        &self,
        id: uuid::Uuid,
        max_attempts: u32,
        now: Timestamp,
    ) -> R<Option<u32>>;
    /// Marks the code used and erases the password waiting with it; false if it was already
    /// used (a racing request won).
    async fn consume_code(&self, id: uuid::Uuid, at: Timestamp) -> R<bool>;

    // Sessions.
    async fn insert_session(&self, session: &Session) -> R<()>;
    /// The live (unrevoked, unexpired) session with that token hash.
    async fn session_by_token(&self, token_hash: &[u8; 32], now: Timestamp) -> R<Option<Session>>;
    async fn touch_session(&self, id: SessionId, at: Timestamp) -> R<()>;
    /// Live sessions of an account, newest first.
    async fn sessions_of(&self, account: AccountId, now: Timestamp) -> R<Vec<Session>>;
    /// Revokes one session of that account; false if there was no such live session.
    async fn revoke_session(&self, account: AccountId, id: SessionId, at: Timestamp) -> R<bool>;

    // Login history and lockout.
    async fn insert_login_event(&self, event: &LoginEvent) -> R<()>;
    async fn login_events(&self, account: AccountId, limit: u32) -> R<Vec<LoginEvent>>;
    /// Retention: deletes login history entries from before `history_cutoff`, sessions that
    /// expired or were revoked, and verification codes that expired or were used, by `now`.
    async fn expire_account_records(
        &self,
        history_cutoff: Timestamp,
        now: Timestamp,
    ) -> R<crate::ExpiredAccountRecords>;
    /// Whether a successful login from that device MAC is on record.
    async fn device_known(&self, account: AccountId, device_mac: &[u8]) -> R<bool>;
    async fn login_failures(&self, contact_index: &[u8]) -> R<Option<LoginFailures>>;
    /// Counts one login attempt against an identifier under `rule`, in one atomic statement,
    /// and answers the count after it: the attempt that reaches the threshold sets the lock;
    /// while a lock holds, the count stays above the threshold; a new window (or the end of a
    /// lock) starts the count again. A successful login clears it.
    async fn count_login_attempt(
        &self,
        contact_index: &[u8],
        now: Timestamp,
        rule: LockoutRule,
    ) -> R<LoginFailures>;
    async fn clear_login_failures(&self, contact_index: &[u8]) -> R<()>;

    // Staff.
    async fn insert_staff(&self, staff: &Staff) -> R<()>;
    async fn staff_by_username(&self, username: &str) -> R<Option<Staff>>;
    async fn insert_staff_session(
        &self,
        staff: StaffId,
        token_hash: &[u8; 32],
        now: Timestamp,
        expires_at: Timestamp,
    ) -> R<()>;
    /// The staff member of a live staff session.
    async fn staff_by_session(&self, token_hash: &[u8; 32], now: Timestamp) -> R<Option<Staff>>;
}
