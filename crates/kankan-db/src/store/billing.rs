//! [`BillingStore`]: orders, provider events, coupons and redemption codes.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};

use crate::{BillingEventRow, CouponRow, DbError, EventApplied, OrderRow, RedemptionCodeRow};

type R<T> = Result<T, DbError>;

/// Payments.
///
/// Invariants: a coupon's or a code's use is taken by one conditional `UPDATE` (never more
/// than `max_uses`, whatever runs at once) in the transaction that stores the order it is for;
/// a provider event is applied at most once (its `(provider, event_id)` row and the order's
/// change are written in one transaction); an order's status moves only pending → paid |
/// failed | cancelled, failed → paid, paid → refunded.
#[async_trait]
pub trait BillingStore: Send + Sync {
    /// Stores a new order; with `coupon`, first takes one use of it (unexpired at `now`, uses
    /// left) in the same transaction: false (nothing stored) when none is left.
    async fn insert_order(&self, order: &OrderRow, coupon: Option<&str>, now: Timestamp)
    -> R<bool>;
    /// One order.
    async fn order(&self, id: uuid::Uuid) -> R<Option<OrderRow>>;
    /// The order a provider's payment reference names.
    async fn order_by_payment(&self, provider: &str, payment_ref: &str) -> R<Option<OrderRow>>;
    /// The account's orders, newest first, at most `limit`.
    async fn orders_of(&self, account: AccountId, limit: u32) -> R<Vec<OrderRow>>;
    /// Sets the order's checkout reference (while pending).
    async fn set_order_provider_ref(
        &self,
        id: uuid::Uuid,
        provider_ref: &str,
        now: Timestamp,
    ) -> R<()>;
    /// Marks a pending order failed; gives its coupon's use back. False if it was not pending.
    async fn fail_order(&self, id: uuid::Uuid, status: &str, now: Timestamp) -> R<bool>;
    /// Applies a provider event once: records `(provider, event_id)`, then moves the order to
    /// `event.kind` if its status allows (`payment_ref` stored with a payment), in one
    /// transaction.
    async fn apply_billing_event(
        &self,
        event: &BillingEventRow,
        payment_ref: Option<&str>,
    ) -> R<EventApplied>;
    /// Marks a paid order refunded (with the provider's refund id); false if it was not paid.
    async fn refund_order(
        &self,
        id: uuid::Uuid,
        refund_ref: Option<&str>,
        now: Timestamp,
    ) -> R<bool>;
    /// Marks the order fulfilled (the `Fulfilment` granted it).
    async fn mark_fulfilled(&self, id: uuid::Uuid, now: Timestamp) -> R<()>;
    /// Stores a coupon; false if one with the code exists.
    async fn insert_coupon(&self, c: &CouponRow) -> R<bool>;
    async fn coupon(&self, code: &str) -> R<Option<CouponRow>>;
    /// Every coupon, newest first.
    async fn coupons(&self) -> R<Vec<CouponRow>>;
    /// Stores a redemption code; false if its hash exists.
    async fn insert_redemption_code(&self, c: &RedemptionCodeRow) -> R<bool>;
    async fn redemption_code(&self, code_hash: &[u8]) -> R<Option<RedemptionCodeRow>>;
    /// Takes one use of the code (unexpired at `order.created_at`, uses left) and stores the
    /// order (already paid) and its redemption row, in one transaction; false (nothing stored)
    /// when none is left.
    async fn redeem_code(&self, code_id: uuid::Uuid, order: &OrderRow) -> R<bool>;
}
