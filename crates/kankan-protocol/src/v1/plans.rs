//! Cloud-storage plans and 4G data: the catalogue, a device's plan, its SIM, and the
//! checkouts that buy them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /api/v1/plans`: what the operator sells.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Catalogue {
    /// What a camera without a plan gets.
    pub free: Limits,
    pub plans: Vec<PlanOffer>,
    pub data: Vec<DataOffer>,
}

/// What a camera's footage follows: how long it is kept, how much of it, and the most its
/// owner's recording mode may be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Limits {
    /// `continuous` | `events` | `card-only`.
    pub kind: String,
    pub retention_days: u32,
    /// The camera's own quota in MiB; none: only the account's.
    pub quota_mib: Option<u64>,
}

/// A cloud-storage plan of the catalogue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PlanOffer {
    pub sku: String,
    pub title: String,
    /// `continuous` | `events`.
    pub kind: String,
    /// 3, 7 or 30.
    pub retention_days: u32,
    /// `month` (30 days) | `year` (365 days).
    pub period: String,
    pub period_days: u32,
    /// The price in minor units (cents) of `currency`.
    pub amount_minor: i64,
    pub currency: String,
    pub quota_mib: Option<u64>,
}

/// A 4G data package of the catalogue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DataOffer {
    pub sku: String,
    pub title: String,
    pub mb: u64,
    pub days: u32,
    pub amount_minor: i64,
    pub currency: String,
}

/// One paid period of a plan for a camera.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EntitlementInfo {
    pub order_id: String,
    pub sku: String,
    /// The catalogue's title (the sku if the catalogue no longer sells it).
    pub title: String,
    pub kind: String,
    pub retention_days: u32,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
    /// `scheduled` (a renewal) | `active`.
    pub state: String,
}

/// `GET /api/v1/devices/{uid}/plan`: the camera's plan and what its footage follows now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DevicePlanInfo {
    /// The period in force; none: the free tier.
    pub current: Option<EntitlementInfo>,
    /// Renewals that follow it.
    pub scheduled: Vec<EntitlementInfo>,
    /// When the camera falls back to the free tier unless renewed.
    pub ends_at_ms: Option<i64>,
    /// What the camera's footage follows now.
    pub effective: Limits,
    /// The sku that renews the current plan (buy it again to extend from its end).
    pub renew_sku: Option<String>,
}

/// `POST /api/v1/devices/{uid}/plan/checkout`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanCheckoutRequest {
    pub sku: String,
    /// A configured payment provider, e.g. `stripe`.
    pub provider: String,
    #[serde(default)]
    pub coupon: Option<String>,
}

/// `POST /api/v1/devices/{uid}/sim/checkout`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimCheckoutRequest {
    pub sku: String,
    pub provider: String,
    #[serde(default)]
    pub coupon: Option<String>,
}

/// A checkout started: send the buyer to `redirect_url` (the provider's payment page).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CheckoutStarted {
    pub order_id: String,
    pub redirect_url: String,
}

/// One 4G data top-up of a SIM.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TopupInfo {
    pub order_id: String,
    pub sku: String,
    pub allowance_kb: u64,
    pub starts_at_ms: i64,
    pub ends_at_ms: i64,
}

/// `GET /api/v1/devices/{uid}/sim`: the camera's SIM card and its data.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SimInfo {
    /// Masked to its last four digits.
    pub iccid: String,
    pub status: String,
    /// Data the camera counted since the SIM was activated, KiB.
    pub used_kb: u64,
    /// The allowance of the top-ups in force now, KiB.
    pub allowance_kb: u64,
    pub topups: Vec<TopupInfo>,
}
