//! 4G data for cameras with a SIM card: the SIM as the device reports it (ICCID, status,
//! the data it counted), the data packages bought for its ICCID (`sim_topups`: a paid data
//! order adds its allowance for its days; a refund takes it back).

use kankan_base::{AccountId, Timestamp};
use kankan_core::CoreError;
use kankan_db::SimTopup;
use kankan_devices::DeviceHandle;
use kankan_protocol::device::SimCard;

use super::{DAY_MS, Plans};

/// A device's SIM and its data as its owner sees it.
#[derive(Debug, Clone)]
pub struct SimView {
    /// The ICCID whole: shown only masked ([`kankan_protocol::device::mask_identifier`]).
    pub card: SimCard,
    /// The top-ups in force or still to come, oldest first.
    pub topups: Vec<SimTopup>,
    /// The allowance of the top-ups in force now, in KiB.
    pub allowance_kb: u64,
}

fn no_sim() -> CoreError {
    CoreError::Billing {
        kind: kankan_base::ErrorKind::InvalidArgument,
        code: "no-sim",
        message: "this camera has reported no SIM card".into(),
    }
}

fn unknown_data(sku: &str) -> CoreError {
    CoreError::Billing {
        kind: kankan_base::ErrorKind::InvalidArgument,
        code: "unknown-plan",
        message: format!("no data package {sku:?} in the catalogue"),
    }
}

impl Plans {
    /// The device's SIM card as last reported (the ICCID whole), or `no-sim`.
    pub async fn sim_card(&self, h: &DeviceHandle) -> Result<SimCard, CoreError> {
        self.inner.devices.sim_card(h).await?.ok_or_else(no_sim)
    }

    /// The device's SIM, its data packages and allowance (`view`).
    pub async fn sim_view(&self, h: &DeviceHandle) -> Result<SimView, CoreError> {
        let card = self.sim_card(h).await?;
        let now = self.inner.clock.now();
        let topups = self.inner.store.sim_topups(&card.iccid, now).await?;
        let allowance_kb =
            topups.iter().filter(|t| t.starts_at.0 <= now.0).map(|t| t.allowance_kb).sum();
        Ok(SimView { card, topups, allowance_kb })
    }

    /// Adds the data package `sku` bought by `order_id` to the SIM `iccid` (a paid order;
    /// once per order): its allowance from now for its days.
    pub async fn grant_data(
        &self,
        order_id: uuid::Uuid,
        account: AccountId,
        iccid: &str,
        sku: &str,
    ) -> Result<(), CoreError> {
        let s = &self.inner;
        let spec = s.config.data_package(sku).ok_or_else(|| unknown_data(sku))?;
        let now = s.clock.now();
        let t = SimTopup {
            order_id,
            account_id: account,
            iccid: iccid.to_owned(),
            sku: spec.sku.clone(),
            allowance_kb: spec.mb * 1024,
            starts_at: now,
            ends_at: Timestamp(now.0 + i64::from(spec.days) * DAY_MS),
            refunded_at: None,
            created_at: now,
        };
        if s.store.add_sim_topup(&t).await? {
            tracing::info!(%order_id, sku, "4G data added");
        }
        Ok(())
    }

    /// Takes back a refunded data order's allowance.
    pub async fn refund_data(&self, order_id: uuid::Uuid) -> Result<(), CoreError> {
        let now = self.inner.clock.now();
        if self.inner.store.refund_sim_topup(order_id, now).await? {
            tracing::info!(%order_id, "4G data refunded");
        }
        Ok(())
    }
}
