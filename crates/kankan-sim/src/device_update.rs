//! The device's side of a firmware update: start the download on `firmware-update`, report
//! its progress, install a verified image into the inactive slot, reboot into it, confirm its
//! health or boot the old slot again.
//!
//! The phases reported (`update` in the state report): `downloading` (every 10 %),
//! `verifying`, `installing`, `rebooting`, then `confirmed` once the new version ran
//! connected for `timings.health_check`; `failed` (still the old version) when the image is
//! refused or cannot be downloaded; `rolled-back` (error `health-check`) when the new version
//! fails its health check or went down before confirming it.

use kankan_protocol::device::{FirmwareOffer, FirmwareProgress, UpdatePhase};
use tokio::time::Instant;

use super::Device;
use crate::link::Link;
use crate::slots::Boot;
use crate::telemetry::Rng;
use crate::update::{self, Download, UpdateEvent};

impl Device {
    /// Power-on: the boot rule picks the slot; its image's version is what runs.
    pub(super) fn boot_flash(&mut self) {
        self.health_due = None;
        let uid = self.cfg.uid.clone();
        match self.flash.boot() {
            Ok(Boot::Normal { version }) => self.fw.running = version,
            Ok(Boot::Trying { version, previous }) => {
                tracing::info!(%uid, %version, %previous, "booting new firmware on trial");
                self.fw.running.clone_from(&version);
                self.set_progress(&version, UpdatePhase::Rebooting, None);
            }
            Ok(Boot::RolledBack { version, failed }) => {
                tracing::warn!(%uid, %version, %failed, "new firmware never confirmed; back on the old slot");
                self.fw.running = version;
                self.set_progress(&failed, UpdatePhase::RolledBack, Some("health-check"));
            }
            Err(e) => tracing::error!(%uid, error = %e, "cannot read the firmware slots"),
        }
    }

    /// Arms the health check of firmware on trial (once connected).
    pub(super) fn start_health_check(&mut self) {
        if self.flash.trying() && self.health_due.is_none() {
            self.health_due = Some(Instant::now() + self.cfg.timings.health_check);
        }
    }

    /// The firmware on trial ran its health check: confirm it, or go back to the old slot.
    /// True when the device must reboot.
    pub(super) fn on_health_checked(&mut self, link: &Link) -> bool {
        self.health_due = None;
        let version = self.fw.running.clone();
        let uid = self.cfg.uid.clone();
        if self.cfg.fail_health {
            tracing::warn!(%uid, %version, "new firmware failed its health check; rolling back");
            if let Err(e) = self.flash.reject() {
                tracing::error!(%uid, error = %e, "cannot clear the pending slot");
            }
            self.set_progress(&version, UpdatePhase::RolledBack, Some("health-check"));
            return true;
        }
        if let Err(e) = self.flash.confirm() {
            // Not on flash: the next boot rolls back, as after a crash.
            tracing::error!(%uid, error = %e, "cannot confirm the new firmware");
            return false;
        }
        tracing::info!(%uid, %version, "new firmware confirmed");
        self.set_progress(&version, UpdatePhase::Confirmed, None);
        self.report_if_connected(link);
        false
    }

    /// `firmware-update`: starts the download, or says why not (the ack's error).
    pub(super) fn start_update(&mut self, link: &Link, offer: FirmwareOffer) -> Result<(), String> {
        let busy = self.download.as_ref().is_some_and(|d| !d.is_finished()) || self.flash.trying();
        let current = self.fw.progress.as_ref().map(|p| p.version.as_str());
        if busy {
            return if current == Some(offer.version.as_str()) {
                Ok(())
            } else {
                Err("update-in-progress".into())
            };
        }
        if offer.version == self.fw.running {
            self.set_progress(&offer.version, UpdatePhase::Confirmed, None);
            self.report_if_connected(link);
            return Ok(());
        }
        let refuse = |dev: &mut Device, code: &str| {
            dev.set_progress(&offer.version, UpdatePhase::Failed, Some(code));
            dev.report_if_connected(link);
            Err(code.to_string())
        };
        let Some(key) = self.cfg.firmware_key.clone() else {
            return refuse(self, "no-firmware-key");
        };
        let Some(base) = self.cfg.ingest_url.clone() else {
            tracing::warn!(uid = %self.cfg.uid, "firmware offered but no ingest URL configured");
            return refuse(self, "download");
        };
        if !offer.url.starts_with('/') || offer.url.starts_with("//") {
            return refuse(self, "download");
        }
        let http = match &self.cfg.http {
            Some(c) => c.clone(),
            None => match crate::tls::http_client(&base, self.pin) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(uid = %self.cfg.uid, error = %e, "no HTTP client");
                    return refuse(self, "download");
                }
            },
        };
        let secret = self.fw.state.secret.clone();
        let download = Download {
            url: format!("{}{}", base.trim_end_matches('/'), offer.url),
            uid: self.cfg.uid.clone(),
            secret: secret.unwrap_or_else(|| self.cfg.secret.expose().to_string()),
            http,
            dir: self.flash.dir().to_path_buf(),
            model: self.fw.state.model.clone(),
            key,
            backoff: self.cfg.timings.backoff,
            rng: Rng::new(self.fw.rng().next_u64()),
            offer,
        };
        tracing::info!(uid = %self.cfg.uid, version = %download.offer.version, "firmware download starting");
        self.set_progress(&download.offer.version, UpdatePhase::Downloading, None);
        self.report_if_connected(link);
        self.download = Some(update::spawn(download, self.updates.clone()));
        Ok(())
    }

    /// What the download task says. True when the device must reboot (into the new slot).
    pub(super) fn on_update_event(&mut self, link: &Link, ev: UpdateEvent) -> bool {
        let Some(version) = self.fw.progress.as_ref().map(|p| p.version.clone()) else {
            return false;
        };
        match ev {
            UpdateEvent::Progress(pct) => {
                self.set_progress(&version, UpdatePhase::Downloading, None);
                if let Some(p) = &mut self.fw.progress {
                    p.percent = pct;
                }
            }
            UpdateEvent::Verifying => self.set_progress(&version, UpdatePhase::Verifying, None),
            UpdateEvent::Failed(code) => {
                self.download = None;
                self.set_progress(&version, UpdatePhase::Failed, Some(code));
            }
            UpdateEvent::Ready(image) => {
                self.download = None;
                self.set_progress(&version, UpdatePhase::Installing, None);
                self.report_if_connected(link);
                if let Err(e) = self.flash.install(&image, &version) {
                    tracing::error!(uid = %self.cfg.uid, error = %e, "cannot write the slot");
                    update::discard(self.flash.dir());
                    self.set_progress(&version, UpdatePhase::Failed, Some("install"));
                } else {
                    tracing::info!(uid = %self.cfg.uid, %version, "firmware installed; rebooting into it");
                    self.set_progress(&version, UpdatePhase::Rebooting, None);
                    self.report_if_connected(link);
                    return true;
                }
            }
        }
        self.report_if_connected(link);
        false
    }

    fn set_progress(&mut self, version: &str, phase: UpdatePhase, error: Option<&str>) {
        match error {
            Some(e) => self.note(&format!("firmware {version} {phase:?}: {e}")),
            None => self.note(&format!("firmware {version} {phase:?}")),
        }
        let percent = match phase {
            UpdatePhase::Downloading => 0,
            UpdatePhase::Failed => self.fw.progress.as_ref().map_or(0, |p| p.percent),
            _ => 100,
        };
        self.fw.progress = Some(FirmwareProgress {
            version: version.to_string(),
            phase,
            percent,
            error: error.map(str::to_string),
        });
    }

    fn report_if_connected(&mut self, link: &Link) {
        if self.connected {
            self.report(link);
        }
    }
}
