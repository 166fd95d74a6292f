//! Payments: orders and their receipts, redeeming a code, and the staff's refunds, coupons
//! and redemption codes. Amounts are integer minor units of an ISO 4217 currency.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One order: what it bought, for which device or SIM, the amount and whether it was paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrderItem {
    pub id: uuid::Uuid,
    /// `plan` (cloud storage for a device) or `data` (4G data for a SIM).
    pub kind: String,
    pub sku: String,
    pub title: String,
    /// `device` or `sim`.
    pub target_kind: String,
    /// The device UID, or the SIM's ICCID masked.
    pub target: String,
    /// The catalogue price, before a coupon.
    pub list_amount_minor: i64,
    /// What was charged.
    pub amount_minor: i64,
    pub currency: String,
    /// `amount_minor` as a decimal in the currency's major unit (`19.99`).
    pub amount: String,
    pub coupon: Option<String>,
    /// `pending`, `paid`, `failed`, `cancelled` or `refunded`.
    pub status: String,
    /// `stripe`, `alipay`, `wechat`, `code` (a redemption code), `coupon` (free after a
    /// coupon), `free`.
    pub provider: String,
    pub created_at_ms: i64,
    pub paid_at_ms: Option<i64>,
    pub refunded_at_ms: Option<i64>,
}

/// `GET /api/v1/orders`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OrdersList {
    pub orders: Vec<OrderItem>,
}

/// `POST /api/v1/billing/redeem`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeemRequest {
    pub code: String,
    /// The device UID (a plan's code) or the SIM's ICCID (a data code).
    pub target: String,
    /// `device` (default) or `sim`.
    #[serde(default)]
    pub target_kind: Option<String>,
}

/// `POST /api/v1/admin/billing/coupons`: `percent_off`, or `amount_off_minor` with its
/// `currency`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCouponRequest {
    /// 3-32 of A-Z, 0-9, '-' (lower case is taken as upper case).
    pub code: String,
    #[serde(default)]
    pub percent_off: Option<i64>,
    #[serde(default)]
    pub amount_off_minor: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    /// 1-1000000.
    pub max_uses: i64,
    #[serde(default)]
    pub expires_at_ms: Option<i64>,
    /// Only for these SKUs; empty: every SKU.
    #[serde(default)]
    pub skus: Vec<String>,
}

/// A coupon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CouponItem {
    pub code: String,
    pub percent_off: Option<i64>,
    pub amount_off_minor: Option<i64>,
    pub currency: Option<String>,
    pub max_uses: i64,
    pub used: i64,
    pub expires_at_ms: Option<i64>,
    pub skus: Vec<String>,
    pub created_at_ms: i64,
}

/// `GET /api/v1/admin/billing/coupons`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CouponsList {
    pub coupons: Vec<CouponItem>,
}

/// `POST /api/v1/admin/billing/codes`: a redemption code for a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRedemptionCodeRequest {
    /// `plan` or `data`.
    pub kind: String,
    pub sku: String,
    pub title: String,
    /// The currency of its orders (amount 0).
    pub currency: String,
    /// 1-1000000.
    pub max_uses: i64,
    #[serde(default)]
    pub expires_at_ms: Option<i64>,
}

/// A redemption code as created: the code is shown this once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RedemptionCodeItem {
    pub id: uuid::Uuid,
    pub code: String,
    pub kind: String,
    pub sku: String,
    pub title: String,
    pub max_uses: i64,
    pub expires_at_ms: Option<i64>,
}
