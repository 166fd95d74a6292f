//! The firmware's logic without the network: state reports, desired settings and commands.
//!
//! Everything here is synchronous and deterministic given its random generator, so the rules
//! are tested directly; the device loop in `device.rs` only moves bytes and persists.

use std::collections::VecDeque;

use kankan_protocol::device::{
    Ack, Command, CommandKind, Desired, DeviceKind, FirmwareOffer, FirmwareProgress, SdStatus,
    SimCard, StateReport, decode,
};

use crate::config::{FIRMWARE, fnv1a, lan_ip_of, mac_of};
use crate::state::StoredState;
use crate::telemetry::{Rng, Telemetry};

/// Degrees one pan or tilt step turns.
pub const DEGREES_PER_STEP: i16 = 10;
/// How far the head pans, degrees either side of centre.
pub const PAN_LIMIT: i16 = 170;
/// How far the head tilts down and up, degrees.
pub const TILT_RANGE: (i16, i16) = (-20, 90);
/// How many acks are remembered so a redelivered command is answered, not run again.
const RECENT_ACKS: usize = 64;

/// What running one command asks of the device loop.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    /// State reports to publish, in order, before the ack.
    pub reports: Vec<StateReport>,
    pub ack: Ack,
    /// The stored state changed and must be saved.
    pub persist: bool,
    /// Reboot once the ack is out.
    pub reboot: bool,
    /// A command for the device loop to carry out: a media command (stream, talk, SD card)
    /// with its video, or a Wi-Fi change (`wifi.rs`) with its secret.
    pub media: Option<CommandKind>,
    /// A firmware update for the device loop to start (it may still refuse it).
    pub update: Option<FirmwareOffer>,
}

/// A device's mind: its stored state plus what it only keeps in memory.
#[derive(Debug)]
pub struct Firmware {
    pub state: StoredState,
    telemetry: Telemetry,
    rng: Rng,
    /// The sequence number of the last report of this boot.
    seq: u64,
    recent: VecDeque<Ack>,
    mac: String,
    lan_ip: String,
    /// The version of the firmware slot booted.
    pub running: String,
    /// Where the last firmware update stands, reported until the next one.
    pub progress: Option<FirmwareProgress>,
}

impl Firmware {
    pub fn new(state: StoredState, mut rng: Rng) -> Firmware {
        let telemetry = Telemetry::new(state.battery_pct, &mut rng);
        let mac = mac_of(&state.uid);
        let lan_ip = lan_ip_of(&state.uid);
        Firmware {
            state,
            telemetry,
            rng,
            seq: 0,
            recent: VecDeque::new(),
            mac,
            lan_ip,
            running: FIRMWARE.into(),
            progress: None,
        }
    }

    /// The generator, for reconnection jitter.
    pub fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }

    /// Power-on: report numbering restarts.
    pub fn boot(&mut self) {
        self.seq = 0;
    }

    /// The next state report of this boot (the first has `seq` 1).
    pub fn report(&mut self) -> StateReport {
        self.seq += 1;
        let s = &self.state;
        let sim = s.model.contains("4G").then(|| SimCard {
            iccid: format!("8986{:016}", fnv1a(s.uid.as_bytes()) % 10_u64.pow(16)),
            status: "active".into(),
            used_kb: crate::mobile::used_kb(&s.uid),
        });
        StateReport {
            seq: self.seq,
            model: s.model.clone(),
            firmware: self.running.clone(),
            mac: self.mac.clone(),
            timezone: s.timezone.clone(),
            lan_ip: self.lan_ip.clone(),
            ssid: s.ssid.clone().unwrap_or_default(),
            signal_dbm: self.telemetry.signal_dbm,
            battery_pct: self.telemetry.battery_pct(),
            charging: self.telemetry.charging,
            sd_card: s.sd_card.clone(),
            sim,
            settings: s.settings.clone(),
            settings_version: s.settings_version,
            update: self.progress.clone(),
        }
    }

    /// One telemetry period passes.
    pub fn tick(&mut self) {
        self.telemetry.tick(&mut self.rng);
        self.state.battery_pct = self.telemetry.battery_pct();
    }

    /// Applies a `desired` message. `Ok(Some(version))` when applied; `Ok(None)` when there
    /// is nothing to do (cleared, or not newer than what the device has: the retained message
    /// comes again on every subscription); `Err` says why a message was refused.
    pub fn apply_desired(&mut self, payload: &[u8]) -> Result<Option<u64>, String> {
        if payload.is_empty() {
            return Ok(None);
        }
        let desired: Desired =
            decode(payload).map_err(|e| format!("malformed desired settings: {e}"))?;
        desired.settings.validate().map_err(|e| format!("invalid desired settings: {e}"))?;
        if desired.version <= self.state.settings_version {
            return Ok(None);
        }
        // The owner's time zone becomes the device's clock zone (the state report's).
        self.state.timezone.clone_from(&desired.settings.time_zone);
        self.state.settings = desired.settings;
        self.state.settings_version = desired.version;
        Ok(Some(desired.version))
    }

    /// Runs a `cmd` message received at `now_ms` (Unix ms). `None` when it is too broken to
    /// answer (no command id can be read from it).
    pub fn execute(&mut self, payload: &[u8], now_ms: i64) -> Option<Execution> {
        let cmd: Command = match decode(payload) {
            Ok(c) => c,
            Err(e) => {
                let id = serde_json::from_slice::<serde_json::Value>(payload)
                    .ok()
                    .and_then(|v| v.get("id").and_then(|id| id.as_str()).map(str::to_owned))
                    .and_then(|id| uuid::Uuid::parse_str(&id).ok())?;
                return Some(self.finish(failed(id, format!("malformed command: {e}")), false));
            }
        };
        if let Some(ack) = self.recent.iter().find(|a| a.id == cmd.id) {
            tracing::debug!(id = %cmd.id, "command delivered again; answering as before");
            return Some(Execution {
                reports: vec![],
                ack: ack.clone(),
                persist: false,
                reboot: false,
                media: None,
                update: None,
            });
        }
        if cmd.deadline_ms < now_ms {
            return Some(self.finish(failed(cmd.id, "expired".into()), false));
        }
        if let Err(e) = cmd.command.validate() {
            return Some(self.finish(failed(cmd.id, e), false));
        }
        let mut reports = vec![];
        let mut reboot = false;
        let mut media = None;
        let mut update = None;
        let result = match cmd.command {
            CommandKind::Reboot => {
                reboot = true;
                Ok(false)
            }
            CommandKind::PtzMove { pan, tilt } => self.ptz_move(pan, tilt).map(|()| true),
            CommandKind::PresetSave { slot } => self.has_ptz().map(|()| {
                self.state.presets.insert(slot, self.state.ptz);
                true
            }),
            CommandKind::PresetGoto { slot } => self.has_ptz().and_then(|()| {
                let p = self.state.presets.get(&slot).ok_or(format!("preset {slot} is not set"))?;
                self.state.ptz = *p;
                Ok(true)
            }),
            CommandKind::FormatSd => {
                if self.state.sd_card.status == SdStatus::Absent {
                    Err("no SD card".to_string())
                } else {
                    self.state.sd_card.status = SdStatus::Formatting;
                    reports.push(self.report());
                    self.state.sd_card.status = SdStatus::Ok;
                    self.state.sd_card.used_mb = 0;
                    reports.push(self.report());
                    Ok(true)
                }
            }
            kind @ (CommandKind::StreamStart { .. }
            | CommandKind::StreamStop { .. }
            | CommandKind::TalkStart
            | CommandKind::TalkStop
            | CommandKind::WifiSet { .. }
            | CommandKind::CardList { .. }
            | CommandKind::CardPlay { .. }
            | CommandKind::LogsUpload { .. }) => {
                media = Some(kind);
                Ok(false)
            }
            CommandKind::FirmwareUpdate { offer } => {
                update = Some(offer);
                Ok(false)
            }
        };
        let (ack, persist) = match result {
            Ok(persist) => (Ack { id: cmd.id, ok: true, error: None }, persist),
            Err(e) => (failed(cmd.id, e), false),
        };
        let mut exec = self.finish(ack, persist);
        exec.reports = reports;
        exec.reboot = reboot;
        exec.media = media;
        exec.update = update;
        Some(exec)
    }

    fn has_ptz(&self) -> Result<(), String> {
        match self.state.kind {
            DeviceKind::Camera => Ok(()),
            DeviceKind::Doorbell => Err("this model has no pan/tilt head".into()),
        }
    }

    fn ptz_move(&mut self, pan: i8, tilt: i8) -> Result<(), String> {
        self.has_ptz()?;
        let p = &mut self.state.ptz;
        p.pan = (p.pan + i16::from(pan) * DEGREES_PER_STEP).clamp(-PAN_LIMIT, PAN_LIMIT);
        p.tilt = (p.tilt + i16::from(tilt) * DEGREES_PER_STEP).clamp(TILT_RANGE.0, TILT_RANGE.1);
        Ok(())
    }

    /// Remembers the ack for redeliveries and wraps it.
    fn finish(&mut self, ack: Ack, persist: bool) -> Execution {
        if self.recent.len() == RECENT_ACKS {
            self.recent.pop_front();
        }
        self.recent.push_back(ack.clone());
        Execution { reports: vec![], ack, persist, reboot: false, media: None, update: None }
    }
}

fn failed(id: uuid::Uuid, error: String) -> Ack {
    Ack { id, ok: false, error: Some(error) }
}

#[cfg(test)]
#[path = "firmware_tests.rs"]
mod tests;
