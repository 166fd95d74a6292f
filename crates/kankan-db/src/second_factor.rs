//! Rows of the accounts' second factors (see [`crate::SecondFactorStore`]).

use kankan_base::{AccountId, Timestamp};

/// An account's authenticator app (`account_totp`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpRow {
    pub account_id: AccountId,
    /// The shared secret, sealed under the account key.
    pub secret_enc: Vec<u8>,
    /// `None` until a first code confirmed the enrolment.
    pub enabled_at: Option<Timestamp>,
    /// The last 30-second step whose code was accepted.
    pub last_step: Option<u64>,
    pub created_at: Timestamp,
}

/// A password login waiting for its second factor (`second_factor_tickets`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecondFactorTicket {
    /// SHA-256 of the ticket handed to the client.
    pub token_hash: [u8; 32],
    pub account_id: AccountId,
    /// The WebAuthn challenge of this ticket.
    pub challenge: Vec<u8>,
    /// Attempts claimed so far.
    pub attempts: u32,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A browser whose logins skip the second factor (`remembered_devices`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RememberedDevice {
    pub id: uuid::Uuid,
    pub account_id: AccountId,
    /// SHA-256 of the device cookie.
    pub token_hash: [u8; 32],
    /// The User-Agent it was remembered from, sealed under the account key.
    pub client_enc: Vec<u8>,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    pub expires_at: Timestamp,
}
