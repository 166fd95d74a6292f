//! Cloud-storage plans and 4G data: the catalogue from configuration (`[plans]`), each
//! device's entitlements (a paid plan order's period) and the limits they give the recording
//! domain (`device_limits`: retention, quota, the most the owner's recording mode may be),
//! renewals, expiry back to the free tier, refunds, the reminder before a plan ends, and 4G
//! data top-ups for a SIM card by its ICCID.
//!
//! The recording domain knows nothing of plans: it reads `device_limits` (and the free tier,
//! which the server hands it at start-up from [`PlansConfig::free`]). A plan ending never
//! deletes footage an event protects before its protection ends (the retention sweep skips
//! protected segments whatever the device's limits).

mod config;
mod entitlements;
mod fulfil;
mod sim;

use std::sync::Arc;

use kankan_base::Clocks;
use kankan_core::{DeliveryQueue, KeyVault};
use kankan_db::Store;
use kankan_devices::Devices;
use kankan_recording::Recordings;

pub use config::{DataSpec, FreeTier, Kind, Period, PlanSpec, PlansConfig};
pub use entitlements::{DevicePlan, PlansWorker};
pub use kankan_db::{DeviceLimits, Entitlement, EntitlementState, SimTopup};
pub use sim::SimView;

const DAY_MS: i64 = 86_400_000;

/// The plans service. Cheap to clone.
#[derive(Clone)]
pub struct Plans {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Plans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Plans")
    }
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Clocks,
    devices: Devices,
    recordings: Recordings,
    vault: KeyVault,
    delivery: DeliveryQueue,
    config: PlansConfig,
    /// Held through a `tick`: this node's passes run one after another, so a pass that
    /// returns finds every period the one before it moved already applied.
    passes: tokio::sync::Mutex<()>,
}

impl Plans {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Clocks,
        devices: Devices,
        recordings: Recordings,
        vault: KeyVault,
        delivery: DeliveryQueue,
        config: PlansConfig,
    ) -> Plans {
        Plans {
            inner: Arc::new(Inner {
                store,
                clock,
                devices,
                recordings,
                vault,
                delivery,
                config,
                passes: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The catalogue.
    pub fn config(&self) -> &PlansConfig {
        &self.inner.config
    }

    /// The account's entitlements and 4G top-ups, newest first (its data export).
    pub async fn records_of(
        &self,
        account: kankan_base::AccountId,
    ) -> Result<(Vec<Entitlement>, Vec<SimTopup>), kankan_core::CoreError> {
        let s = &self.inner;
        Ok((s.store.entitlements_of(account).await?, s.store.sim_topups_of(account).await?))
    }

    /// The limits of a device without a plan, from the free tier (its retention defaulting
    /// to `recording_retention_days`).
    pub fn free_limits(config: &PlansConfig, recording_retention_days: u32) -> DeviceLimits {
        DeviceLimits {
            kind: config.free.kind.mode(),
            retention_days: config.free.retention_days.unwrap_or(recording_retention_days),
            quota_mib: None,
            since: kankan_base::Timestamp(0),
        }
    }
}
