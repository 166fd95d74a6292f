//! Rows of the device grants: capabilities an owner gave another account on one device.

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
}
