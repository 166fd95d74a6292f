//! [`SecondFactorStore`]: accounts' TOTP, recovery codes, second-factor tickets and
//! remembered devices.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};

use crate::{DbError, RememberedDevice, SecondFactorTicket, TotpRow};

type R<T> = Result<T, DbError>;

/// The second factor of user accounts.
///
/// Invariants: a TOTP step is accepted at most once per account (`use_totp_step` compares
/// and sets the last step in one statement); a recovery code and a ticket are used at most
/// once, and a ticket's attempt limit is checked and counted in one statement, so racing
/// requests cannot exceed it; only live tickets and devices (unexpired at `now`) are answered.
#[async_trait]
pub trait SecondFactorStore: Send + Sync {
    // TOTP.
    async fn totp(&self, account: AccountId) -> R<Option<TotpRow>>;
    /// Starts (or restarts) an enrolment with a new sealed secret; `Conflict("totp")` when
    /// the account has an enabled one.
    async fn begin_totp(&self, account: AccountId, secret_enc: &[u8], now: Timestamp) -> R<()>;
    /// Enables the pending enrolment, with `step` (the confirming code's) as its last step,
    /// and replaces the recovery codes with `codes`, in one transaction; false when there is
    /// no pending enrolment.
    async fn enable_totp(
        &self,
        account: AccountId,
        step: u64,
        codes: &[Vec<u8>],
        now: Timestamp,
    ) -> R<bool>;
    /// Records `step` as used; false (nothing changed) when that step or a later one was.
    async fn use_totp_step(&self, account: AccountId, step: u64) -> R<bool>;
    /// Removes the authenticator (and with `recovery_codes_too` the recovery codes), in one
    /// transaction; false when there was none.
    async fn delete_totp(&self, account: AccountId, recovery_codes_too: bool) -> R<bool>;

    // Recovery codes (keyed MACs).
    async fn replace_recovery_codes(
        &self,
        account: AccountId,
        codes: &[Vec<u8>],
        now: Timestamp,
    ) -> R<()>;
    /// Uses an unused code; false when it is unknown or used.
    async fn use_recovery_code(&self, account: AccountId, mac: &[u8], now: Timestamp) -> R<bool>;
    async fn recovery_codes_left(&self, account: AccountId) -> R<u32>;

    // Tickets.
    async fn insert_ticket(&self, t: &SecondFactorTicket) -> R<()>;
    /// The live ticket (unused, unexpired) with that hash.
    async fn ticket(&self, token_hash: &[u8; 32], now: Timestamp) -> R<Option<SecondFactorTicket>>;
    /// Counts an attempt on a live ticket with fewer than `max` attempts, in one statement;
    /// `None` when the ticket is unknown, used, expired or out of attempts.
    async fn claim_ticket_attempt(
        &self,
        token_hash: &[u8; 32],
        max: u32,
        now: Timestamp,
    ) -> R<Option<SecondFactorTicket>>;
    /// Uses the ticket up; false when it was already (a racing request won).
    async fn consume_ticket(&self, token_hash: &[u8; 32], now: Timestamp) -> R<bool>;

    // Remembered devices.
    async fn insert_remembered_device(&self, d: &RememberedDevice) -> R<()>;
    /// Whether the device cookie with that hash is remembered (and live) for the account;
    /// a match is marked used at `now`.
    async fn use_remembered_device(
        &self,
        account: AccountId,
        token_hash: &[u8; 32],
        now: Timestamp,
    ) -> R<bool>;
    /// The account's live remembered devices, most recently used first.
    async fn remembered_devices(
        &self,
        account: AccountId,
        now: Timestamp,
    ) -> R<Vec<RememberedDevice>>;
    /// Forgets one device (`Some(id)`) or all of them; answers how many were forgotten.
    async fn forget_remembered_devices(&self, account: AccountId, id: Option<uuid::Uuid>)
    -> R<u64>;
    /// Deletes tickets used or expired and devices expired at `now`; answers how many.
    async fn expire_second_factor_records(&self, now: Timestamp) -> R<u64>;
}
