//! Payments: orders for what Kankan sells (cloud-storage plans, 4G data), paid through a
//! payment provider's hosted checkout, with receipts, refunds, coupons and redemption codes.
//!
//! - An order names a [`Product`] (kind, catalogue SKU, the device or SIM it is for, a title and
//!   its price in integer minor units of an ISO 4217 currency; priced by kankan-plans), the
//!   amount after a coupon, its status and the provider with its opaque references. Nothing
//!   else is kept (policy line 48: "the type of Cloud Storage package you purchase, the smart
//!   hardware devices you select, and the status information of whether the payment is
//!   successful"): never card data nor anything from the payer's payment account.
//! - [`Billing::checkout`] stores a pending order and asks the [`Provider`] (Stripe, Alipay,
//!   WeChat Pay) for a checkout; the buyer pays on the provider's page; the provider's webhook
//!   ([`Billing::webhook`]) is verified first (a forged one changes nothing:
//!   `billing-bad-signature`), applied once per provider event id (a replay changes nothing),
//!   checked against the order's amount and currency, and then the order is paid and the
//!   [`Fulfilment`] (kankan-plans: the entitlement) is called once.
//! - Coupons (percent or amount off, limited uses, expiry, optional SKUs) apply in `checkout`;
//!   their use is taken by one conditional `UPDATE` with the order's insert, so concurrent
//!   checkouts never overrun it; an order that costs nothing after its coupon is paid at once.
//!   Redemption codes give a product for nothing: redeemed ([`Billing::redeem`]) they make a
//!   paid order of amount 0 with provider `code`, fulfilled at once, also race-safe.
//! - Staff refund paid orders ([`Billing::refund`]): the provider refunds, the order is
//!   `refunded` and the `Fulfilment` takes back what is left.

pub mod alipay;
mod billing;
pub mod config;
mod coupons;
pub mod provider;
mod rows;
pub mod rsa;
pub mod stripe;
pub mod wechat;

pub use billing::Billing;
pub use config::{AlipayConfig, BillingConfig, StripeConfig, WechatConfig};
pub use coupons::{Coupon, NewCoupon, NewRedemptionCode, RedemptionCode};
pub use provider::{
    CheckoutRequest, EventKind, OrderRef, Provider, ProviderCheckout, ProviderError, ProviderEvent,
    WebhookAnswer, format_major, is_currency, minor_digits, parse_major,
};

use async_trait::async_trait;
use kankan_base::{AccountId, ErrorKind, Timestamp};
use kankan_core::CoreError;

/// What an order buys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProductKind {
    /// A cloud-storage plan for a device.
    Plan,
    /// 4G data for a SIM.
    Data,
}

impl ProductKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProductKind::Plan => "plan",
            ProductKind::Data => "data",
        }
    }

    pub fn parse(s: &str) -> Option<ProductKind> {
        match s {
            "plan" => Some(ProductKind::Plan),
            "data" => Some(ProductKind::Data),
            _ => None,
        }
    }
}

/// What an order is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A device, by UID.
    Device(String),
    /// A SIM card, by ICCID.
    Sim(String),
}

impl Target {
    /// `device` or `sim`.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Device(_) => "device",
            Target::Sim(_) => "sim",
        }
    }

    /// The UID or ICCID.
    pub fn id(&self) -> &str {
        match self {
            Target::Device(s) | Target::Sim(s) => s,
        }
    }

    pub fn parse(kind: &str, id: &str) -> Option<Target> {
        match kind {
            "device" => Some(Target::Device(id.to_string())),
            "sim" => Some(Target::Sim(id.to_string())),
            _ => None,
        }
    }
}

/// What an order buys; priced by kankan-plans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub kind: ProductKind,
    /// The catalogue id, e.g. `events-7d-month`.
    pub sku: String,
    pub target: Target,
    pub title: String,
    /// The price, in minor units of `currency`.
    pub amount_minor: i64,
    /// ISO 4217, upper case.
    pub currency: String,
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    Pending,
    Paid,
    Failed,
    Cancelled,
    Refunded,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Failed => "failed",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        match s {
            "pending" => Some(OrderStatus::Pending),
            "paid" => Some(OrderStatus::Paid),
            "failed" => Some(OrderStatus::Failed),
            "cancelled" => Some(OrderStatus::Cancelled),
            "refunded" => Some(OrderStatus::Refunded),
            _ => None,
        }
    }
}

/// One order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: uuid::Uuid,
    pub account_id: AccountId,
    pub product: Product,
    pub status: OrderStatus,
    /// `stripe`, `alipay`, `wechat`; `code` for a redemption code, `coupon` for an order a
    /// coupon made free, `free` for a product priced at 0.
    pub provider: String,
    /// What is charged, after the coupon.
    pub amount_minor: i64,
    /// The coupon's code, if one applied.
    pub coupon: Option<String>,
    pub created_at: Timestamp,
    pub paid_at: Option<Timestamp>,
    pub refunded_at: Option<Timestamp>,
}

/// A checkout started: where to send the buyer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    pub order_id: uuid::Uuid,
    /// The provider's hosted payment page (or, for an order paid at once, its receipt page).
    pub redirect_url: String,
}

/// Grants what orders buy (kankan-plans: entitlements).
#[async_trait]
pub trait Fulfilment: Send + Sync + 'static {
    /// Called once per order when its payment succeeds (or a redemption code is redeemed):
    /// grant what it bought. Idempotent by order id.
    async fn paid(&self, order: &Order) -> Result<(), CoreError>;
    /// The order was refunded: take back what is left of it.
    async fn refunded(&self, order: &Order) -> Result<(), CoreError>;
}

/// A payment error with its stable code.
pub(crate) fn err(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> CoreError {
    CoreError::Billing { kind, code, message: message.into() }
}

/// Checks a product: SKU, title, amount, currency and target shaped as they must be.
pub fn validate_product(p: &Product) -> Result<(), CoreError> {
    let bad = |m: &str| err(ErrorKind::InvalidArgument, "invalid-product", m);
    if !is_sku(&p.sku) {
        return Err(bad("the SKU must be 1-64 of a-z, 0-9, '-', '_', '.'"));
    }
    if p.title.trim().is_empty()
        || p.title.chars().count() > 120
        || p.title.chars().any(char::is_control)
    {
        return Err(bad("the title must be 1-120 printable characters"));
    }
    if !(0..=MAX_AMOUNT_MINOR).contains(&p.amount_minor) {
        return Err(bad("the amount must be 0 to 10^12 minor units"));
    }
    if !is_currency(&p.currency) {
        return Err(bad("the currency must be an ISO 4217 code in upper case"));
    }
    validate_target(&p.target)
}

/// The largest amount an order may have, in minor units.
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;

/// Whether `s` is a catalogue SKU: 1-64 of `a-z 0-9 - _ .`.
pub fn is_sku(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
}

/// Checks a target: a device UID (1-64 printable ASCII, no spaces) or an ICCID (18-22 digits,
/// the last may be `F`).
pub fn validate_target(t: &Target) -> Result<(), CoreError> {
    let ok = match t {
        Target::Device(uid) => {
            (1..=64).contains(&uid.len()) && uid.bytes().all(|b| b.is_ascii_graphic())
        }
        Target::Sim(iccid) => {
            let digits = iccid.strip_suffix(['F', 'f']).unwrap_or(iccid);
            (18..=22).contains(&iccid.len()) && digits.bytes().all(|b| b.is_ascii_digit())
        }
    };
    if ok {
        Ok(())
    } else {
        Err(err(ErrorKind::InvalidArgument, "invalid-target", "not a device UID or an ICCID"))
    }
}
