//! A device's firmware: what its state reports say (version, auto-update switch, the update's
//! progress), what its owner sees, and the owner's Update.

use std::time::Duration;

use kankan_core::CoreError;
use kankan_core::authz::Capability;
use kankan_db::{FIRMWARE_ACTIVE_PHASES, FirmwareImage, FirmwareUpdateRow};
use kankan_devices::DeviceHandle;
use kankan_protocol::device::{StateReport, UpdatePhase};

use crate::rollouts::reaches;
use crate::{Firmware, newer};

/// How long the owner's Update waits for the device to acknowledge.
const UPDATE_WAIT: Duration = Duration::from_secs(5);

/// Where the device's last update stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateView {
    pub version: String,
    /// `offered`, or the device's phase (`downloading` ... `rolled-back`).
    pub phase: String,
    pub percent: u8,
    pub error: Option<String>,
    /// The version the device ran before: where a failed update leaves it.
    pub from_version: String,
}

/// A device's firmware as its owner (or a member) sees it.
#[derive(Debug, Clone)]
pub struct DeviceFirmware {
    /// The version it last reported (none before its first report).
    pub installed: Option<String>,
    /// A newer image released to it (a running rollout that reaches it).
    pub available: Option<FirmwareImage>,
    /// The last update offered to it.
    pub update: Option<UpdateView>,
    /// Automatic updates (its settings' `auto_update`, as the owner last set it).
    pub auto_update: bool,
}

fn phase_name(p: UpdatePhase) -> &'static str {
    match p {
        UpdatePhase::Downloading => "downloading",
        UpdatePhase::Verifying => "verifying",
        UpdatePhase::Installing => "installing",
        UpdatePhase::Rebooting => "rebooting",
        UpdatePhase::Confirmed => "confirmed",
        UpdatePhase::Failed => "failed",
        UpdatePhase::RolledBack => "rolled-back",
    }
}

fn terminal(phase: &str) -> bool {
    !FIRMWARE_ACTIVE_PHASES.contains(&phase)
}

impl Firmware {
    /// A state report the device service accepted: the version and switch it reports, and
    /// the progress of its update. A terminal phase reported while an offer is not started
    /// yet is the end of an earlier attempt and is ignored.
    pub async fn on_state(&self, uid: &str, report: &StateReport) -> Result<(), CoreError> {
        let s = &self.inner;
        if s.store.device(uid).await?.is_none() {
            return Ok(());
        }
        let now = s.clock.now();
        let version: String = report.firmware.chars().take(64).collect();
        s.store.put_firmware_device(uid, &version, report.settings.auto_update, now).await?;
        let Some(p) = &report.update else { return Ok(()) };
        let phase = phase_name(p.phase);
        for row in s.store.firmware_updates_of(uid).await? {
            let Some(image) = s.store.firmware_image(row.image_id).await? else { continue };
            if image.version != p.version {
                continue;
            }
            let error: Option<String> = p.error.as_ref().map(|e| e.chars().take(64).collect());
            let same = row.phase == phase && row.percent == p.percent && row.error == error;
            if same || (row.phase == "offered" && terminal(phase)) {
                return Ok(());
            }
            s.store
                .set_firmware_progress(
                    uid,
                    row.image_id,
                    phase,
                    p.percent.min(100),
                    error.as_deref(),
                    now,
                )
                .await?;
            if terminal(phase) {
                tracing::info!(uid, version = %p.version, phase, error = ?p.error, "firmware update ended");
            }
            return Ok(());
        }
        Ok(())
    }

    /// The device's firmware (`view`).
    pub async fn status(&self, h: &DeviceHandle) -> Result<DeviceFirmware, CoreError> {
        h.require(Capability::View)?;
        self.status_of(h).await
    }

    /// The device's firmware, for a handle already checked for what the caller does.
    async fn status_of(&self, h: &DeviceHandle) -> Result<DeviceFirmware, CoreError> {
        let s = &self.inner;
        let uid = h.uid();
        let reported = s.store.firmware_device(uid).await?;
        let desired = s.devices.stored_desired(uid).await?;
        let auto_update = desired
            .map(|d| d.settings.auto_update)
            .or(reported.as_ref().map(|r| r.1))
            .unwrap_or(true);
        let installed = reported.map(|r| r.0);
        let available = match &installed {
            Some(v) => self.available_for(h, v).await?,
            None => None,
        };
        // Only updates since the device was bound to its owner: a previous owner's are not
        // this owner's business.
        let since = h.device().bound_at.unwrap_or(kankan_base::Timestamp(0));
        let last = s.store.firmware_updates_of(uid).await?.into_iter().next();
        let update = match last.filter(|u| u.offered_at >= since) {
            Some(row) => Some(self.view_of(row).await?),
            None => None,
        };
        Ok(DeviceFirmware { installed, available, update, auto_update })
    }

    async fn view_of(&self, row: FirmwareUpdateRow) -> Result<UpdateView, CoreError> {
        let image = self.image(row.image_id).await?;
        Ok(UpdateView {
            version: image.version,
            phase: row.phase,
            percent: row.percent,
            error: row.error,
            from_version: row.from_version,
        })
    }

    /// The newest image of the device's model, newer than `installed`, that a running
    /// rollout reaches it with.
    async fn available_for(
        &self,
        h: &DeviceHandle,
        installed: &str,
    ) -> Result<Option<FirmwareImage>, CoreError> {
        if !self.inner.config.enabled() {
            return Ok(None);
        }
        let mut best: Option<FirmwareImage> = None;
        for r in self.inner.store.firmware_rollouts().await? {
            if r.paused || !reaches(&r, h.uid()) {
                continue;
            }
            let image = self.image(r.image_id).await?;
            if image.model != h.device().model || !newer(&image.version, installed) {
                continue;
            }
            if best.as_ref().is_none_or(|b| newer(&image.version, &b.version)) {
                best = Some(image);
            }
        }
        Ok(best)
    }

    /// Installs the available image now (`change-settings`, as the device's other commands
    /// that change it): `no-firmware-update` when there is none, `firmware-update-running`
    /// while one is under way.
    pub async fn update_now(&self, h: &DeviceHandle) -> Result<DeviceFirmware, CoreError> {
        h.require(Capability::ChangeSettings)?;
        let s = &self.inner;
        let uid = h.uid();
        let installed = s.store.firmware_device(uid).await?.map(|r| r.0);
        let image = match &installed {
            Some(v) => self.available_for(h, v).await?,
            None => None,
        };
        let (Some(image), Some(installed)) = (image, installed) else {
            return Err(CoreError::FirmwareState {
                code: "no-firmware-update",
                message: "no newer firmware is available for this camera".into(),
            });
        };
        if let Some(last) = s.store.firmware_updates_of(uid).await?.first()
            && !terminal(&last.phase)
        {
            return Err(CoreError::FirmwareState {
                code: "firmware-update-running",
                message: "an update of this camera is under way".into(),
            });
        }
        self.offer(&image, None, uid, &installed).await?;
        let kind = Self::command_for(&image, uid);
        let outcome = s.devices.send_command(h, kind, UPDATE_WAIT).await;
        self.sent(&image, uid, outcome).await?;
        tracing::info!(uid, version = %image.version, "firmware update asked by the owner");
        self.status_of(h).await
    }
}
