//! Rows of the device grants (capabilities an owner gave another account on one device), the
//! invitations that create them, and the membership history.

use kankan_base::{AccountId, Timestamp};

/// One grant. `capabilities` holds stable capability names, comma-separated; kankan-core
/// reads them (this crate does not interpret them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceGrant {
    /// UUIDv7.
    pub id: uuid::Uuid,
    pub uid: String,
    /// The account it is shared with.
    pub account_id: AccountId,
    /// The owner who granted it; the grant counts only while that account owns the device.
    pub granted_by: AccountId,
    pub capabilities: String,
    pub created_at: Timestamp,
    /// When it stops counting; `None`: until revoked.
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    /// The weekly schedule it counts in (JSON, read by kankan-devices); `None`: always.
    pub schedule: Option<String>,
}

/// An invitation to share devices: its token is kept only as its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// UUIDv7.
    pub id: uuid::Uuid,
    pub token_hash: [u8; 32],
    /// The owner who offers the devices.
    pub inviter: AccountId,
    /// The UIDs offered, in the order the inviter named them.
    pub devices: Vec<String>,
    /// The keyed blind index of the one identifier it is for; `None`: whoever opens it.
    pub bound_index: Option<Vec<u8>>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
    pub used_by: Option<AccountId>,
    pub revoked_at: Option<Timestamp>,
}

impl Invitation {
    /// Neither used, revoked nor expired at `now`.
    pub fn pending(&self, now: Timestamp) -> bool {
        self.used_at.is_none() && self.revoked_at.is_none() && self.expires_at > now
    }
}

/// What happened to a membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipAction {
    Invited,
    Joined,
    Changed,
    Removed,
    Left,
}

impl MembershipAction {
    pub fn as_str(self) -> &'static str {
        match self {
            MembershipAction::Invited => "invited",
            MembershipAction::Joined => "joined",
            MembershipAction::Changed => "changed",
            MembershipAction::Removed => "removed",
            MembershipAction::Left => "left",
        }
    }

    pub fn parse(s: &str) -> Option<MembershipAction> {
        Some(match s {
            "invited" => MembershipAction::Invited,
            "joined" => MembershipAction::Joined,
            "changed" => MembershipAction::Changed,
            "removed" => MembershipAction::Removed,
            "left" => MembershipAction::Left,
            _ => return None,
        })
    }
}

/// One row of a device's membership history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipEvent {
    /// UUIDv7.
    pub id: uuid::Uuid,
    pub uid: String,
    pub owner: AccountId,
    /// The member concerned; `None` for an invitation (nobody yet).
    pub member: Option<AccountId>,
    pub action: MembershipAction,
    pub at: Timestamp,
}
