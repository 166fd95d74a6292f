//! Entitlements: a paid plan order grants its device a period (a renewal, the same plan
//! again, extends from the current end; another plan replaces it from now), idempotent by
//! order id; a refund ends it; [`PlansWorker`] starts renewals and ends periods on the clock
//! (back to the free tier) and reminds the owner a few days before a plan ends with no
//! renewal. After every change the device's limits (`device_limits`) are written from its
//! active entitlement, or removed (the free tier).

use std::time::Duration;

use kankan_base::{AccountId, Timestamp};
use kankan_core::CoreError;
use kankan_core::authz::Capability;
use kankan_db::{DeviceLimits, Entitlement, EntitlementState, NewEntitlement};
use kankan_devices::DeviceHandle;
use kankan_notify::{Message, Recipient};
use kankan_worker::{Step, Ticker, WorkError, Worker};

use super::{DAY_MS, Plans};

/// Entitlements one worker pass handles at most.
const BATCH: u32 = 200;

/// A device's plan as its owner sees it.
#[derive(Debug, Clone)]
pub struct DevicePlan {
    /// The period in force, if any.
    pub current: Option<Entitlement>,
    /// Renewals waiting for it to end.
    pub scheduled: Vec<Entitlement>,
    /// What the device's footage follows now (the plan's, else the free tier's).
    pub limits: DeviceLimits,
    /// When the device falls back to the free tier unless renewed.
    pub ends_at: Option<Timestamp>,
    /// The sku that renews the current plan, if the catalogue still sells it.
    pub renew_sku: Option<String>,
}

fn unknown_plan(sku: &str) -> CoreError {
    CoreError::Billing {
        kind: kankan_base::ErrorKind::InvalidArgument,
        code: "unknown-plan",
        message: format!("no plan {sku:?} in the catalogue"),
    }
}

impl Plans {
    /// The device's plan (`view`: whoever may see the device).
    pub async fn device_plan(&self, h: &DeviceHandle) -> Result<DevicePlan, CoreError> {
        h.require(Capability::View)?;
        let s = &self.inner;
        let live = s.store.live_entitlements(h.uid()).await?;
        let current = live.iter().find(|e| e.state == EntitlementState::Active).cloned();
        let scheduled: Vec<_> =
            live.iter().filter(|e| e.state == EntitlementState::Scheduled).cloned().collect();
        let ends_at = live.iter().map(|e| e.ends_at).max_by_key(|t| t.0);
        let renew_sku =
            current.as_ref().filter(|c| s.config.plan(&c.sku).is_some()).map(|c| c.sku.clone());
        let limits = s.recordings.limits_of(h.uid()).await?;
        Ok(DevicePlan { current, scheduled, limits, ends_at, renew_sku })
    }

    /// Grants the plan `sku` bought by `order_id` to `account`'s device `uid` (a paid order;
    /// once per order). A device no longer `account`'s gets nothing (the order stays
    /// refundable).
    pub async fn grant_plan(
        &self,
        order_id: uuid::Uuid,
        account: AccountId,
        uid: &str,
        sku: &str,
    ) -> Result<(), CoreError> {
        let s = &self.inner;
        let spec = s.config.plan(sku).ok_or_else(|| unknown_plan(sku))?;
        let device = s.store.device(uid).await?;
        if device.and_then(|d| d.owner) != Some(account) {
            tracing::warn!(%order_id, uid, "plan paid for a device its buyer no longer owns");
            return Ok(());
        }
        let now = s.clock.now();
        let new = NewEntitlement {
            order_id,
            account_id: account,
            uid: uid.to_owned(),
            sku: spec.sku.clone(),
            kind: spec.kind.mode(),
            retention_days: spec.retention_days,
            quota_mib: spec.quota_mib,
            period_ms: i64::from(spec.period.days()) * DAY_MS,
        };
        let (e, fresh) = s.store.grant_entitlement(&new, now).await?;
        if fresh {
            tracing::info!(%order_id, uid, sku, state = e.state.as_str(), "plan granted");
        }
        // Also when the same order was granted by a delivery beside this one: when either
        // returns, the device's limits follow the plan (the writing is idempotent).
        self.apply(uid).await
    }

    /// Takes back what is left of a refunded plan order: its period ends now (a renewal not
    /// yet started never starts).
    pub async fn refund_plan(&self, order_id: uuid::Uuid) -> Result<(), CoreError> {
        let s = &self.inner;
        let Some(e) = s.store.entitlement(order_id).await? else { return Ok(()) };
        if e.state == EntitlementState::Ended {
            return Ok(());
        }
        let now = s.clock.now();
        let ended = s
            .store
            .move_entitlement(order_id, e.state, EntitlementState::Ended, Some("refunded"), now)
            .await?;
        if ended {
            tracing::info!(%order_id, uid = e.uid, "plan refunded");
        }
        // Also when a refund or a pass beside this one ended it first (see `tick`).
        self.apply(&e.uid).await
    }

    /// Writes the device's limits from its active entitlement, or removes them (free tier).
    async fn apply(&self, uid: &str) -> Result<(), CoreError> {
        self.inner.store.sync_device_limits(uid).await?;
        Ok(())
    }

    /// One pass: renewals whose time came start, periods past their end end (their devices
    /// back to the free tier unless a renewal follows), owners of plans ending within
    /// `plans.reminder_days` are reminded once. How many entitlements changed.
    pub async fn tick(&self) -> Result<u64, CoreError> {
        let s = &self.inner;
        let _one_at_a_time = s.passes.lock().await;
        let now = s.clock.now();
        let mut changed = 0;
        // Ends first, so that a renewal starting at the same instant finds the device free.
        let mut due = s.store.due_entitlements(now, BATCH).await?;
        due.sort_by_key(|e| (e.state == EntitlementState::Scheduled, e.ends_at.0));
        // A device's limits are written once, after all of its moves: a renewal taking over
        // from the period it follows never shows the free tier in between, even to a pass
        // running beside this one.
        let mut touched: Vec<String> = Vec::new();
        for e in due {
            let (to, reason) = match e.state {
                EntitlementState::Active => (EntitlementState::Ended, Some("expired")),
                EntitlementState::Scheduled if e.ends_at.0 <= now.0 => {
                    (EntitlementState::Ended, Some("expired"))
                }
                EntitlementState::Scheduled => (EntitlementState::Active, None),
                EntitlementState::Ended => continue,
            };
            if s.store.move_entitlement(e.order_id, e.state, to, reason, now).await? {
                tracing::info!(order_id = %e.order_id, uid = e.uid, to = to.as_str(), "plan period");
                changed += 1;
            }
            // A move a pass on another node made first is applied here too: when a pass
            // returns, the limits of every device it found due follow its entitlements, even
            // if the other pass has not written them yet (the writing is idempotent).
            if !touched.contains(&e.uid) {
                touched.push(e.uid);
            }
        }
        for uid in &touched {
            self.apply(uid).await?;
        }
        if s.config.reminder_days > 0 {
            let before = Timestamp(now.0 + i64::from(s.config.reminder_days) * DAY_MS);
            for e in s.store.entitlements_to_remind(before, BATCH).await? {
                // Marked first: a pass running beside this one does not remind again.
                if s.store.mark_reminded(e.order_id, now).await? {
                    self.remind(&e).await?;
                }
            }
        }
        Ok(changed)
    }

    /// Tells the owner the plan ends soon (by the account's own contact).
    async fn remind(&self, e: &Entitlement) -> Result<(), CoreError> {
        let s = &self.inner;
        let Some(account) = s.store.account(e.account_id).await? else { return Ok(()) };
        let Some(key) = s.vault.account_key(e.account_id).await? else { return Ok(()) };
        let contact = key.open_string("contact", &account.contact_enc)?;
        let to = match account.contact_kind {
            kankan_db::ContactKind::Email => Recipient::Email(contact),
            kankan_db::ContactKind::Phone => Recipient::Phone(contact),
        };
        let title = s.config.plan(&e.sku).map_or(e.sku.as_str(), |p| p.title.as_str());
        let days = ((e.ends_at.0 - s.clock.now().0).max(0) + DAY_MS - 1) / DAY_MS;
        let body = format!(
            "Your cloud-storage plan \"{title}\" for camera {} ends in {days} day(s). Renew it in \
             the app to keep its recordings; after it ends the camera goes back to the free tier \
             and footage older than the free tier keeps is deleted.",
            e.uid
        );
        s.delivery
            .enqueue(Message { to, subject: "Your cloud-storage plan ends soon".into(), body })
            .await?;
        Ok(())
    }

    /// The worker that runs [`Plans::tick`] every `plans.sweep_secs` on the clock.
    pub fn worker(&self) -> PlansWorker {
        let every = Duration::from_secs(u64::from(self.inner.config.sweep_secs));
        PlansWorker { plans: self.clone(), ticker: Ticker::after(every, self.inner.clock.now()) }
    }
}

/// Starts and ends plan periods and sends the reminders.
pub struct PlansWorker {
    plans: Plans,
    ticker: Ticker,
}

impl Worker for PlansWorker {
    fn name(&self) -> &'static str {
        "plans"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        let clock = self.plans.inner.clock.as_ref();
        if let Some(n) = self.ticker.run(clock, self.plans.tick()).await?
            && n > 0
        {
            tracing::debug!(changed = n, "plan periods");
        }
        Ok(Step::Idle)
    }

    async fn wait_for_work(&mut self) {
        self.ticker.wait(self.plans.inner.clock.as_ref()).await;
    }
}
