//! Rows of the plans: entitlements (a paid plan order's period for one device) and 4G data
//! top-ups (a paid data order for one SIM card).

use kankan_base::{AccountId, Timestamp};

use crate::RecordingMode;

/// Where an entitlement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntitlementState {
    /// A renewal waiting for the period before it to end.
    Scheduled,
    /// In force: its limits are the device's.
    Active,
    /// Over: expired, replaced by another plan, refunded, or the device unbound.
    Ended,
}

impl EntitlementState {
    pub fn as_str(self) -> &'static str {
        match self {
            EntitlementState::Scheduled => "scheduled",
            EntitlementState::Active => "active",
            EntitlementState::Ended => "ended",
        }
    }

    pub fn parse(s: &str) -> Option<EntitlementState> {
        match s {
            "scheduled" => Some(EntitlementState::Scheduled),
            "active" => Some(EntitlementState::Active),
            "ended" => Some(EntitlementState::Ended),
            _ => None,
        }
    }
}

/// A plan order's period for one device (`plan_entitlements`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entitlement {
    pub order_id: uuid::Uuid,
    pub account_id: AccountId,
    pub uid: String,
    pub sku: String,
    pub kind: RecordingMode,
    pub retention_days: u32,
    pub quota_mib: Option<u64>,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub state: EntitlementState,
    /// `expired` | `replaced` | `refunded` | `unbound`.
    pub end_reason: Option<String>,
    pub ended_at: Option<Timestamp>,
    pub reminded_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// What a paid plan order grants, before the store places it in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntitlement {
    pub order_id: uuid::Uuid,
    pub account_id: AccountId,
    pub uid: String,
    pub sku: String,
    pub kind: RecordingMode,
    pub retention_days: u32,
    pub quota_mib: Option<u64>,
    /// How long the period lasts.
    pub period_ms: i64,
}

/// A paid 4G data order for one SIM card (`sim_topups`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimTopup {
    pub order_id: uuid::Uuid,
    pub account_id: AccountId,
    /// The full ICCID (the carrier needs it); shown masked.
    pub iccid: String,
    pub sku: String,
    pub allowance_kb: u64,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub refunded_at: Option<Timestamp>,
    pub created_at: Timestamp,
}
