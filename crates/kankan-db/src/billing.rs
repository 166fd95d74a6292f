//! Rows of payments: orders, the provider events applied to them, coupons and redemption codes
//! (kankan-billing gives them their meaning).

use kankan_base::{AccountId, Timestamp};

/// One order: what was bought, for which device or SIM, the amount and whether it was paid,
/// plus the payment provider's opaque references. Never card or payer-account data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRow {
    /// UUIDv7.
    pub id: uuid::Uuid,
    pub account_id: AccountId,
    /// `plan` or `data`.
    pub kind: String,
    pub sku: String,
    /// `device` or `sim`.
    pub target_kind: String,
    /// The device UID or the SIM's ICCID.
    pub target: String,
    pub title: String,
    /// The catalogue price, before a coupon.
    pub list_amount_minor: i64,
    /// What is charged, after a coupon.
    pub amount_minor: i64,
    /// ISO 4217, upper case.
    pub currency: String,
    pub coupon: Option<String>,
    /// `pending`, `paid`, `failed`, `cancelled` or `refunded`.
    pub status: String,
    pub provider: String,
    pub provider_ref: Option<String>,
    pub payment_ref: Option<String>,
    pub refund_ref: Option<String>,
    pub created_at: Timestamp,
    pub paid_at: Option<Timestamp>,
    pub refunded_at: Option<Timestamp>,
    pub fulfilled_at: Option<Timestamp>,
    pub updated_at: Timestamp,
}

/// A provider event to apply to an order once (by provider and event id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingEventRow {
    pub provider: String,
    pub event_id: String,
    pub order_id: uuid::Uuid,
    /// `paid`, `failed` or `refunded`.
    pub kind: String,
    pub received_at: Timestamp,
}

/// What applying a provider event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventApplied {
    /// The event was seen before: nothing changed.
    Replay,
    /// Recorded, and the order moved to the event's status.
    Changed,
    /// Recorded, but the order was already past it (paid twice, refunded before): unchanged.
    Unchanged,
}

/// A coupon: percent or amount off, limited uses, expiry, optional SKUs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CouponRow {
    /// Upper case.
    pub code: String,
    pub percent_off: Option<i64>,
    pub amount_off_minor: Option<i64>,
    pub currency: Option<String>,
    pub max_uses: i64,
    pub used: i64,
    pub expires_at: Option<Timestamp>,
    /// Empty: every SKU.
    pub skus: Vec<String>,
    pub created_by: String,
    pub created_at: Timestamp,
}

/// A redemption code: a product (without target) for nothing, limited uses, expiry. Only the
/// code's SHA-256 is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedemptionCodeRow {
    /// UUIDv7.
    pub id: uuid::Uuid,
    pub code_hash: Vec<u8>,
    pub kind: String,
    pub sku: String,
    pub title: String,
    pub currency: String,
    pub max_uses: i64,
    pub used: i64,
    pub expires_at: Option<Timestamp>,
    pub created_by: String,
    pub created_at: Timestamp,
}
