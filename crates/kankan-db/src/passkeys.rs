//! Rows of passkeys (WebAuthn credentials) and their ceremonies' challenges.

use kankan_base::{AccountId, Timestamp};

/// One passkey of an account: its public key only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyRow {
    pub id: uuid::Uuid,
    pub account_id: AccountId,
    /// The authenticator's credential id (unique across accounts).
    pub credential_id: Vec<u8>,
    /// The COSE_Key as the authenticator sent it.
    pub public_key: Vec<u8>,
    pub alg: i64,
    /// The signature counter last seen.
    pub sign_count: u32,
    /// The name the user gave it, sealed under the account key.
    pub name_enc: Vec<u8>,
    pub backup_eligible: bool,
    pub backed_up: bool,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// What a challenge was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyPurpose {
    /// An account adds a passkey.
    Register,
    /// Passkey-only login (no account until the answer names one).
    Login,
    /// The second factor of a password login (bound to its ticket).
    SecondFactor,
}

impl PasskeyPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            PasskeyPurpose::Register => "register",
            PasskeyPurpose::Login => "login",
            PasskeyPurpose::SecondFactor => "second-factor",
        }
    }
}

/// A challenge issued and not yet answered; only its SHA-256 is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyChallengeRow {
    pub id: uuid::Uuid,
    pub purpose: PasskeyPurpose,
    /// The account it is bound to (none for passkey-only login).
    pub account_id: Option<AccountId>,
    /// SHA-256 of the second-factor ticket it is bound to.
    pub ticket_hash: Option<Vec<u8>>,
    pub challenge_hash: Vec<u8>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}
