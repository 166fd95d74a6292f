//! Consent rows (consents given and withdrawn, policy versions accepted), guardians of child
//! accounts and the operator's announcements.

use kankan_base::{AccountId, Timestamp};

/// One consent given or withdrawn, or one acceptance of a policy version (append-only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    pub id: uuid::Uuid,
    pub account_id: AccountId,
    /// `policy`, a processing purpose (`face-recognition`, ...) or `camera-disclaimer`.
    pub purpose: String,
    /// The policy version in force (for `policy`: the version accepted).
    pub version: String,
    pub granted: bool,
    /// `registration`, `settings`, `guardian` or `policy-update`.
    pub how: String,
    pub at: Timestamp,
}

/// The guardian of a child account (the identifier sealed under the child's account key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardianRow {
    pub account_id: AccountId,
    pub guardian_index: Vec<u8>,
    pub guardian_enc: Vec<u8>,
    pub created_at: Timestamp,
    pub consented_at: Option<Timestamp>,
}

/// A notice from the operator to every user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncementRow {
    pub id: uuid::Uuid,
    pub title: String,
    pub body: String,
    pub staff_id: String,
    pub created_at: Timestamp,
    /// The last push subscription queued (subscriptions are queued in id order).
    pub pushed_through: Option<uuid::Uuid>,
    /// When every subscription was queued.
    pub push_done_at: Option<Timestamp>,
}
