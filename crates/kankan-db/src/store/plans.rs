//! [`PlanStore`]: cloud-storage entitlements and 4G data top-ups.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};

use crate::{DbError, DeviceLimits, Entitlement, EntitlementState, NewEntitlement, SimTopup};

type R<T> = Result<T, DbError>;

/// Entitlements (one per paid plan order, keyed by the order) and SIM top-ups.
///
/// Invariants: an order grants at most once (the order id is the key: a second grant
/// returns the first); a device has at most one active entitlement; a renewal (the same
/// sku as every period the device has left) starts where the last one ends, another plan
/// ends those periods (`replaced`) and starts at once; the granting transaction decides
/// both.
#[async_trait]
pub trait PlanStore: Send + Sync {
    /// Grants the order's period (see the invariants); false with the existing row when the
    /// order was granted already.
    async fn grant_entitlement(
        &self,
        new: &NewEntitlement,
        now: Timestamp,
    ) -> R<(Entitlement, bool)>;
    async fn entitlement(&self, order_id: uuid::Uuid) -> R<Option<Entitlement>>;
    /// Writes the device's limits (`device_limits`) from its active entitlement, or removes
    /// them when it has none, in one transaction that reads the entitlements as they are then
    /// (concurrent changes end with the limits of the last state). Unchanged limits keep
    /// their `since`.
    async fn sync_device_limits(&self, uid: &str) -> R<Option<DeviceLimits>>;
    /// Moves an entitlement from `from` to `to` (ending it with `reason` at `now` when `to`
    /// is `Ended`); false if it was not in `from` any more.
    async fn move_entitlement(
        &self,
        order_id: uuid::Uuid,
        from: EntitlementState,
        to: EntitlementState,
        reason: Option<&str>,
        now: Timestamp,
    ) -> R<bool>;
    /// The device's entitlements not ended, in time order.
    async fn live_entitlements(&self, uid: &str) -> R<Vec<Entitlement>>;
    /// Entitlements whose state is due to change at `now`: scheduled ones that start, active
    /// ones that end.
    async fn due_entitlements(&self, now: Timestamp, limit: u32) -> R<Vec<Entitlement>>;
    /// Active entitlements ending before `before`, not yet reminded, that no renewal follows.
    async fn entitlements_to_remind(&self, before: Timestamp, limit: u32) -> R<Vec<Entitlement>>;
    /// Marks the entitlement reminded; false if it was already (another node's pass).
    async fn mark_reminded(&self, order_id: uuid::Uuid, now: Timestamp) -> R<bool>;
    /// Every entitlement of the account (its data export), newest first.
    async fn entitlements_of(&self, account: AccountId) -> R<Vec<Entitlement>>;

    /// Stores a top-up; false (nothing stored) when the order was stored already.
    async fn add_sim_topup(&self, t: &SimTopup) -> R<bool>;
    async fn sim_topup(&self, order_id: uuid::Uuid) -> R<Option<SimTopup>>;
    /// Marks a top-up refunded; false if it was already.
    async fn refund_sim_topup(&self, order_id: uuid::Uuid, now: Timestamp) -> R<bool>;
    /// The SIM's top-ups not refunded that end after `after`, oldest first.
    async fn sim_topups(&self, iccid: &str, after: Timestamp) -> R<Vec<SimTopup>>;
    /// Every top-up of the account (its data export), newest first.
    async fn sim_topups_of(&self, account: AccountId) -> R<Vec<SimTopup>>;
}
