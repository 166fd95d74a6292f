//! The operator's fleet view: devices counted by model, firmware version and online state, a
//! device's health (online, last seen, firmware, what its state report says of signal, power
//! and storage) and its recent problems. Never its video, recordings, events, name or owner.

use kankan_base::Timestamp;
use kankan_db::{DeviceProblem, FleetCount, FleetDevice, FleetFilter};
use kankan_protocol::device::StateReport;

use super::Devices;
use crate::CoreError;

/// Problems shown for one device.
pub const RECENT_PROBLEMS: u32 = 20;

/// The health figures of the last state report: no identifiers, no network names, no settings.
#[derive(Debug, Clone)]
pub struct HealthReport {
    pub reported_at: Option<Timestamp>,
    pub signal_dbm: i16,
    pub battery_pct: Option<u8>,
    pub charging: bool,
    /// `absent`, `ok`, `formatting`, `error`.
    pub sd_status: String,
    pub sd_total_mb: u64,
    pub sd_used_mb: u64,
    /// The SIM's status (`active`, `no-service`), for 4G devices.
    pub sim_status: Option<String>,
    /// The device runs the settings its owner last asked for.
    pub settings_in_sync: bool,
}

#[derive(Debug, Clone)]
pub struct DeviceHealth {
    pub device: FleetDevice,
    pub report: Option<HealthReport>,
    pub problems: Vec<DeviceProblem>,
}

impl Devices {
    /// The fleet's counts and one page of devices matching `filter`.
    pub async fn fleet(
        &self,
        filter: &FleetFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<FleetCount>, Vec<FleetDevice>), CoreError> {
        let s = &self.inner;
        let counts = s.store.fleet_counts().await?;
        let devices = s.store.fleet_devices(filter, after, limit).await?;
        Ok((counts, devices))
    }

    /// One device's health and recent problems.
    pub async fn device_health(&self, uid: &str) -> Result<DeviceHealth, CoreError> {
        let s = &self.inner;
        let device = s.store.fleet_device(uid).await?.ok_or(CoreError::DeviceNotFound)?;
        let report = self.health_report(uid).await?;
        let problems = s.store.device_problems(uid, RECENT_PROBLEMS).await?;
        Ok(DeviceHealth { device, report, problems })
    }

    /// The health figures of the device's last report, opened with its owner's key (an
    /// unbound device, or one whose owner's key is gone, shows none).
    async fn health_report(&self, uid: &str) -> Result<Option<HealthReport>, CoreError> {
        let s = &self.inner;
        let Some(d) = s.store.device(uid).await? else { return Ok(None) };
        let Some(owner) = d.owner else { return Ok(None) };
        let Some(st) = s.store.device_state(uid).await? else { return Ok(None) };
        let Some(enc) = st.reported_enc.as_deref() else { return Ok(None) };
        let Some(key) = s.vault.active_key(owner).await? else { return Ok(None) };
        let json = key.open(&format!("device-reported/{uid}"), enc)?;
        let r: StateReport = serde_json::from_slice(&json)
            .map_err(|e| CoreError::Internal(format!("stored report: {e}")))?;
        let sd_status = serde_json::to_value(r.sd_card.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        Ok(Some(HealthReport {
            reported_at: st.reported_at,
            signal_dbm: r.signal_dbm,
            battery_pct: r.battery_pct,
            charging: r.charging,
            sd_status,
            sd_total_mb: r.sd_card.total_mb,
            sd_used_mb: r.sd_card.used_mb,
            sim_status: r.sim.map(|s| s.status),
            settings_in_sync: st.reported_version >= st.desired_version,
        }))
    }
}
