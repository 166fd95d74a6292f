//! Rows of the audit log, the data-subject requests and the support grants.

use kankan_base::{AccountId, Timestamp};

/// An entry to append to the audit log (its seq and hash are the store's to give).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub at: Timestamp,
    /// `staff:<StaffId>`, `system:<worker>`, `account:<AccountId>` or `operator:<cli>`.
    pub actor: String,
    /// Stable kebab-case.
    pub action: String,
    /// The account whose data or account it concerns.
    pub subject: Option<AccountId>,
    /// Ids and counts only, never personal data in clear.
    pub detail: String,
}

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: i64,
    pub entry: NewAuditEntry,
    pub hash: [u8; 32],
    /// For entries read for their subject: the staff member's user name and role when the
    /// actor is staff (looked up when read).
    pub staff: Option<(String, String)>,
}

/// The chain's head: the last entry's seq and hash (0 and zeros before the first), and when
/// the last checkpoint was signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: [u8; 32],
    pub checkpoint_at: Option<Timestamp>,
}

/// A signed checkpoint: the entry `seq` had `hash`, signed at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCheckpoint {
    pub seq: i64,
    pub hash: [u8; 32],
    pub at: Timestamp,
    pub mac: Vec<u8>,
}

/// What the caller computes for an append, given the head locked and the entry's seq: the
/// entry's hash, and a checkpoint when one is due.
pub type AuditLinker<'a> = &'a (
        dyn Fn(&AuditHead, i64, &NewAuditEntry) -> ([u8; 32], Option<AuditCheckpoint>) + Send + Sync
    );

/// A data-subject request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyRequest {
    pub id: uuid::Uuid,
    pub account: AccountId,
    /// `access`, `export`, `rectification`, `erasure`, `cancellation`, `objection`, `other`.
    pub kind: String,
    /// `user` or `system`.
    pub origin: String,
    /// Under the account key.
    pub message_enc: Option<Vec<u8>>,
    pub received_at: Timestamp,
    pub due_at: Timestamp,
    /// `open`, `done`, `refused`.
    pub state: String,
    pub closed_at: Option<Timestamp>,
    pub closed_by: Option<String>,
}

/// A user's support grant: staff may see these devices' video until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportGrant {
    pub id: uuid::Uuid,
    pub account: AccountId,
    pub devices: Vec<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub withdrawn_at: Option<Timestamp>,
}

/// What one pass over inactive records deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExpiredInactive {
    /// Sessions unused since the idle cutoff.
    pub idle_sessions: u64,
    /// Accounts still pending (contact never proven) since the cutoff, with their codes.
    pub pending_registrations: u64,
}
