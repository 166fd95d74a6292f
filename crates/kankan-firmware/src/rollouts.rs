//! Rollouts: created by staff for an image (a percentage of the model's devices and/or a
//! cohort of UIDs), paused and resumed, their progress; and the `firmware-rollout` worker
//! that offers the image to the devices they reach, at the configured pace.

use std::collections::BTreeMap;
use std::time::Duration;

use kankan_core::CoreError;
use kankan_db::{FirmwareImage, FirmwareRollout, FirmwareUpdateRow};
use kankan_devices::CommandStatus;
use kankan_protocol::device::{CommandKind, FirmwareOffer};
use kankan_worker::{Step, Ticker, WorkError, Worker};
use sha2::{Digest, Sha256};

use crate::{Firmware, image_path, newer};

/// The most UIDs in a cohort.
pub const MAX_COHORT: usize = 10_000;
/// An update that has not moved for this long is a failure (`stalled`): a device that never
/// came back from its reboot, or never answered.
pub const STALL: Duration = Duration::from_secs(3600);
/// Candidates read per query.
const PAGE: u32 = 500;

/// A rollout with its image and where its updates stand.
#[derive(Debug, Clone)]
pub struct RolloutProgress {
    pub rollout: FirmwareRollout,
    pub image: FirmwareImage,
    /// Updates per phase (`offered`, `downloading`, ... `rolled-back`).
    pub phases: BTreeMap<String, u64>,
    /// The devices whose update failed or rolled back, with the error they gave.
    pub failures: Vec<FirmwareUpdateRow>,
}

/// Whether a rollout reaches a device: in its cohort, or inside its percentage by a stable
/// hash of the rollout and the UID (the same devices whenever it is asked, and a larger
/// percentage reaches a superset).
pub fn reaches(rollout: &FirmwareRollout, uid: &str) -> bool {
    if rollout.cohort.iter().any(|c| c == uid) {
        return true;
    }
    bucket(rollout.id, uid) < u64::from(rollout.percent)
}

/// 0-99, from SHA-256 of the rollout id and the UID.
fn bucket(rollout: uuid::Uuid, uid: &str) -> u64 {
    let d = Sha256::digest(format!("{rollout}\n{uid}").as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_be_bytes(b) % 100
}

fn invalid(message: impl Into<String>) -> CoreError {
    CoreError::InvalidFirmware { code: "invalid-rollout", message: message.into() }
}

impl Firmware {
    /// Starts a rollout of an image to `percent` (0-100) of its model's devices and the
    /// devices of `cohort`; one of them must reach some device.
    pub async fn create_rollout(
        &self,
        image_id: uuid::Uuid,
        percent: u8,
        cohort: Vec<String>,
    ) -> Result<RolloutProgress, CoreError> {
        let s = &self.inner;
        if !s.config.enabled() {
            return Err(crate::images::not_configured());
        }
        if percent > 100 {
            return Err(invalid("percent must be 0-100"));
        }
        if cohort.len() > MAX_COHORT {
            return Err(invalid(format!("a cohort has at most {MAX_COHORT} devices")));
        }
        if let Some(bad) = cohort.iter().find(|u| !kankan_devices::valid_uid(u)) {
            return Err(invalid(format!("{bad:?} is not a device UID")));
        }
        if percent == 0 && cohort.is_empty() {
            return Err(invalid("give a percentage (1-100) or a cohort of UIDs"));
        }
        let image = self.image(image_id).await?;
        let now = s.clock.now();
        let mut cohort = cohort;
        cohort.sort();
        cohort.dedup();
        let rollout = FirmwareRollout {
            id: uuid::Uuid::now_v7(),
            image_id: image.id,
            percent,
            cohort,
            paused: false,
            created_at: now,
            updated_at: now,
        };
        s.store.insert_firmware_rollout(&rollout).await?;
        tracing::info!(rollout = %rollout.id, model = %image.model, version = %image.version,
            percent, "firmware rollout started");
        self.progress(rollout.id).await
    }

    /// Pauses (no new offers; owners no longer see the image as available) or resumes.
    pub async fn set_paused(
        &self,
        id: uuid::Uuid,
        paused: bool,
    ) -> Result<RolloutProgress, CoreError> {
        let s = &self.inner;
        if !s.store.set_firmware_rollout_paused(id, paused, s.clock.now()).await? {
            return Err(CoreError::NotFound("rollout"));
        }
        self.progress(id).await
    }

    /// A rollout and where its updates stand.
    pub async fn progress(&self, id: uuid::Uuid) -> Result<RolloutProgress, CoreError> {
        let s = &self.inner;
        let rollout = s.store.firmware_rollout(id).await?.ok_or(CoreError::NotFound("rollout"))?;
        self.progress_of(rollout).await
    }

    async fn progress_of(&self, rollout: FirmwareRollout) -> Result<RolloutProgress, CoreError> {
        let image = self.image(rollout.image_id).await?;
        let mut phases = BTreeMap::new();
        let mut failures = Vec::new();
        for u in self.inner.store.firmware_rollout_updates(rollout.id).await? {
            *phases.entry(u.phase.clone()).or_insert(0) += 1;
            if u.phase == "failed" || u.phase == "rolled-back" {
                failures.push(u);
            }
        }
        Ok(RolloutProgress { rollout, image, phases, failures })
    }

    /// Every rollout, newest first, with its progress.
    pub async fn rollouts(&self) -> Result<Vec<RolloutProgress>, CoreError> {
        let mut out = Vec::new();
        for r in self.inner.store.firmware_rollouts().await? {
            out.push(self.progress_of(r).await?);
        }
        Ok(out)
    }

    /// Offers `image` to a device: the update's row first (the device may download only what
    /// was offered to it), then the command. The owner's own Update goes through
    /// [`Firmware::update_now`], which checks the capability.
    pub(crate) async fn offer(
        &self,
        image: &FirmwareImage,
        rollout: Option<uuid::Uuid>,
        uid: &str,
        from_version: &str,
    ) -> Result<FirmwareUpdateRow, CoreError> {
        let s = &self.inner;
        let now = s.clock.now();
        let row = FirmwareUpdateRow {
            uid: uid.to_string(),
            image_id: image.id,
            rollout_id: rollout,
            from_version: from_version.to_string(),
            phase: "offered".into(),
            percent: 0,
            error: None,
            command_id: None,
            offered_at: now,
            updated_at: now,
        };
        s.store.put_firmware_update(&row).await?;
        Ok(row)
    }

    /// The `firmware-update` command of an image for a device.
    pub(crate) fn command_for(image: &FirmwareImage, uid: &str) -> CommandKind {
        CommandKind::FirmwareUpdate {
            offer: FirmwareOffer {
                version: image.version.clone(),
                url: image_path(uid, image.id),
                size: image.size,
                sha256: image.sha256.clone(),
                signature: image.signature.clone(),
            },
        }
    }

    /// Notes how sending the offer went: its command, or a failure (`not-sent`, or the
    /// device's refusal).
    pub(crate) async fn sent(
        &self,
        image: &FirmwareImage,
        uid: &str,
        outcome: Result<kankan_devices::CommandOutcome, CoreError>,
    ) -> Result<(), CoreError> {
        let s = &self.inner;
        let now = s.clock.now();
        match outcome {
            Ok(o) => {
                s.store.set_firmware_command(uid, image.id, o.id).await?;
                self.settle(uid, image.id, o.status, o.error.as_deref()).await?;
            }
            Err(e) => {
                tracing::warn!(uid, error = %e, "firmware offer not sent");
                s.store
                    .set_firmware_progress(uid, image.id, "failed", 0, Some("not-sent"), now)
                    .await?;
            }
        }
        Ok(())
    }

    /// An offer's command answered: refused (the device's reason), acknowledged (the
    /// download started), or never answered (`no-answer`).
    async fn settle(
        &self,
        uid: &str,
        image: uuid::Uuid,
        status: CommandStatus,
        error: Option<&str>,
    ) -> Result<(), CoreError> {
        let s = &self.inner;
        let now = s.clock.now();
        let current = s.store.firmware_updates_of(uid).await?;
        let Some(row) = current.iter().find(|u| u.image_id == image) else { return Ok(()) };
        if row.phase != "offered" {
            return Ok(());
        }
        let (phase, error) = match status {
            CommandStatus::Sent => return Ok(()),
            CommandStatus::Succeeded => ("downloading", None),
            CommandStatus::Failed => ("failed", Some(error.unwrap_or("refused"))),
            CommandStatus::TimedOut => ("failed", Some("no-answer")),
        };
        // Unless the device's own report moved it on meanwhile.
        let was = (row.phase.as_str(), row.updated_at);
        s.store.replace_firmware_progress(uid, image, was, phase, 0, error, now).await?;
        Ok(())
    }

    /// Settles offers the device answered (or never did) and fails updates that stalled.
    async fn settle_all(&self) -> Result<(), CoreError> {
        let s = &self.inner;
        let now = s.clock.now();
        for u in s.store.firmware_updates_active(10_000).await? {
            if u.phase == "offered"
                && let Some(cmd) = u.command_id
            {
                let o = s.devices.command_sent(&u.uid, cmd).await?;
                self.settle(&u.uid, u.image_id, o.status, o.error.as_deref()).await?;
            } else if now.0 - u.updated_at.0 > STALL.as_millis() as i64 {
                let was = (u.phase.as_str(), u.updated_at);
                s.store
                    .replace_firmware_progress(
                        &u.uid,
                        u.image_id,
                        was,
                        "failed",
                        u.percent,
                        Some("stalled"),
                        now,
                    )
                    .await?;
            }
        }
        Ok(())
    }

    /// One round of the rollout worker: settles answered offers, then offers the images of
    /// running rollouts, oldest rollout first, to at most `rollout_batch` devices and while
    /// fewer than `max_in_flight` updates are under way. Answers how many it offered.
    pub async fn offer_round(&self) -> Result<u32, CoreError> {
        let s = &self.inner;
        self.settle_all().await?;
        if !s.config.enabled() {
            return Ok(0);
        }
        let in_flight = s.store.firmware_updates_active(s.config.max_in_flight).await?.len();
        let room = (s.config.max_in_flight as usize).saturating_sub(in_flight);
        let mut budget = (s.config.rollout_batch as usize).min(room);
        let mut offered = 0;
        let mut rollouts = s.store.firmware_rollouts().await?;
        rollouts.reverse();
        for rollout in rollouts.into_iter().filter(|r| !r.paused) {
            if budget == 0 {
                break;
            }
            let image = self.image(rollout.image_id).await?;
            let mut after = String::new();
            'pages: loop {
                let page =
                    s.store.firmware_candidates(&image.model, image.id, &after, PAGE).await?;
                let Some(last) = page.last() else { break };
                after = last.uid.clone();
                for c in page {
                    if budget == 0 {
                        break 'pages;
                    }
                    if !newer(&image.version, &c.version) || !reaches(&rollout, &c.uid) {
                        continue;
                    }
                    // The owner's switch as last set, even before the device applied it.
                    let desired = s.devices.stored_desired(&c.uid).await?;
                    if desired.is_some_and(|d| !d.settings.auto_update) {
                        continue;
                    }
                    self.offer(&image, Some(rollout.id), &c.uid, &c.version).await?;
                    let kind = Self::command_for(&image, &c.uid);
                    let outcome = s.devices.send_to(&c.uid, kind, Duration::ZERO).await;
                    self.sent(&image, &c.uid, outcome).await?;
                    budget -= 1;
                    offered += 1;
                }
            }
        }
        if offered > 0 {
            tracing::info!(offered, "firmware offered");
        }
        Ok(offered)
    }

    /// The `firmware-rollout` worker.
    pub fn worker(&self) -> RolloutWorker {
        let period = Duration::from_secs(self.inner.config.rollout_tick_secs);
        RolloutWorker {
            firmware: self.clone(),
            ticker: Ticker::starting(period, self.inner.clock.now()),
        }
    }
}

/// Offers rollouts' images every `firmware.rollout_tick_secs` on the clock (run under a
/// lease, so one node does it when several share the database).
pub struct RolloutWorker {
    firmware: Firmware,
    ticker: Ticker,
}

impl Worker for RolloutWorker {
    fn name(&self) -> &'static str {
        "firmware-rollout"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        let clock = self.firmware.inner.clock.clone();
        self.ticker.run(clock.as_ref(), self.firmware.offer_round()).await?;
        Ok(Step::Idle)
    }

    async fn wait_for_work(&mut self) {
        self.ticker.wait(self.firmware.inner.clock.as_ref()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kankan_base::Timestamp;

    fn rollout(percent: u8, cohort: &[&str]) -> FirmwareRollout {
        FirmwareRollout {
            id: uuid::Uuid::from_u128(7),
            image_id: uuid::Uuid::from_u128(8),
            percent,
            cohort: cohort.iter().map(|s| s.to_string()).collect(),
            paused: false,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    #[test]
    fn a_percentage_reaches_about_that_share_and_a_larger_one_a_superset() {
        let uids: Vec<String> = (0..2000).map(|i| format!("KKTEST{i:06}")).collect();
        let ten = uids.iter().filter(|u| reaches(&rollout(10, &[]), u)).count();
        assert!((140..=260).contains(&ten), "10 % of 2000 reached {ten}");
        for u in &uids {
            if reaches(&rollout(10, &[]), u) {
                assert!(reaches(&rollout(50, &[]), u), "{u} left out at 50 %");
            }
        }
        assert_eq!(uids.iter().filter(|u| reaches(&rollout(100, &[]), u)).count(), 2000);
        assert!(uids.iter().all(|u| !reaches(&rollout(0, &[]), u)));
        assert!(reaches(&rollout(0, &["KKTEST000001"]), "KKTEST000001"));
    }
}
