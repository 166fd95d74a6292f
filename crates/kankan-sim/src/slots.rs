//! The device's two firmware slots (A/B) and its boot rule, kept in `firmware/` inside the
//! state directory.
//!
//! `slots.json` (written atomically, like the state file) names the *active* slot (the
//! confirmed one, booted by default), each slot's version, and a *pending* mark: a slot just
//! written that the next boot tries once. The images are `slot-a.bin` and `slot-b.bin`; a new
//! device gets the factory image in slot A.
//!
//! Booting ([`Flash::boot`]): a pending slot not yet tried is booted and marked tried; a
//! pending slot already tried means the device went down between switching and confirming
//! (a crash, a failed health check), so the active slot boots and the mark is cleared: the
//! rollback on the next boot. A slot whose image does not parse does not boot either.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::SimError;
use crate::image::{firmware_image, parse_image};
use crate::state::write_atomic;

/// The folder inside the state directory.
pub const DIR: &str = "firmware";
/// The slot table's file name.
pub const SLOTS_FILE: &str = "slots.json";
/// Layout version of `slots.json`.
const FORMAT: u32 = 1;

/// One of the two slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Slot {
    A,
    B,
}

impl Slot {
    pub fn other(self) -> Slot {
        match self {
            Slot::A => Slot::B,
            Slot::B => Slot::A,
        }
    }

    fn file(self) -> &'static str {
        match self {
            Slot::A => "slot-a.bin",
            Slot::B => "slot-b.bin",
        }
    }
}

/// A slot written and waiting for its first boot and confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    pub slot: Slot,
    /// Booted once already, not confirmed yet.
    pub tried: bool,
}

/// `slots.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slots {
    pub format: u32,
    pub active: Slot,
    /// Slot A's version, if it holds an image.
    pub a: Option<String>,
    pub b: Option<String>,
    pub pending: Option<Pending>,
}

impl Slots {
    pub fn version(&self, slot: Slot) -> Option<&str> {
        match slot {
            Slot::A => self.a.as_deref(),
            Slot::B => self.b.as_deref(),
        }
    }

    fn set_version(&mut self, slot: Slot, version: Option<String>) {
        match slot {
            Slot::A => self.a = version,
            Slot::B => self.b = version,
        }
    }
}

/// What a boot found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Boot {
    /// The active slot, nothing pending.
    Normal { version: String },
    /// The pending slot, for the first time: its health decides ([`Flash::confirm`] or
    /// [`Flash::reject`]).
    Trying { version: String, previous: String },
    /// The pending slot had been tried and never confirmed (or does not boot): the active
    /// slot again.
    RolledBack { version: String, failed: String },
}

/// The slots on the device's flash.
#[derive(Debug)]
pub struct Flash {
    dir: PathBuf,
    pub slots: Slots,
}

impl Flash {
    /// Opens the slots in `state_dir`, making the factory ones (slot A holding `factory`
    /// for `model`) on a new device.
    pub fn open(state_dir: &Path, model: &str, factory: &str) -> Result<Flash, SimError> {
        let dir = state_dir.join(DIR);
        let path = dir.join(SLOTS_FILE);
        let slots = match std::fs::read(&path) {
            Ok(bytes) => {
                let slots: Slots = serde_json::from_slice(&bytes).map_err(|e| {
                    SimError::StateFile { path: path.clone(), reason: e.to_string() }
                })?;
                if slots.format != FORMAT {
                    return Err(SimError::StateFile {
                        path,
                        reason: format!("format {} is not supported", slots.format),
                    });
                }
                slots
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let image = firmware_image(model, factory, 0);
                write_atomic(&dir, Slot::A.file(), &image)?;
                let slots = Slots {
                    format: FORMAT,
                    active: Slot::A,
                    a: Some(factory.into()),
                    b: None,
                    pending: None,
                };
                let flash = Flash { dir, slots };
                flash.save()?;
                return Ok(flash);
            }
            Err(e) => return Err(SimError::io(path, e)),
        };
        Ok(Flash { dir, slots })
    }

    /// The folder of the slots (downloads go there too).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn save(&self) -> Result<(), SimError> {
        let mut json = serde_json::to_vec_pretty(&self.slots).map_err(|e| SimError::StateFile {
            path: self.dir.join(SLOTS_FILE),
            reason: e.to_string(),
        })?;
        json.push(b'\n');
        write_atomic(&self.dir, SLOTS_FILE, &json)
    }

    /// The version slot `slot`'s image boots as, if it boots.
    fn boots_as(&self, slot: Slot) -> Option<String> {
        let bytes = std::fs::read(self.dir.join(slot.file())).ok()?;
        parse_image(&bytes).ok().map(|h| h.version)
    }

    /// Power-on: picks the slot to run by the boot rule and saves the decision before the
    /// slot runs.
    pub fn boot(&mut self) -> Result<Boot, SimError> {
        let active = self.slots.active;
        let current =
            || self.boots_as(active).or_else(|| self.slots.version(active).map(Into::into));
        let previous = current().unwrap_or_default();
        let Some(pending) = self.slots.pending else {
            return Ok(Boot::Normal { version: previous });
        };
        let failed = self.slots.version(pending.slot).unwrap_or_default().to_string();
        match (pending.tried, self.boots_as(pending.slot)) {
            (false, Some(version)) => {
                self.slots.pending = Some(Pending { tried: true, ..pending });
                self.save()?;
                Ok(Boot::Trying { version, previous })
            }
            _ => {
                self.slots.pending = None;
                self.save()?;
                Ok(Boot::RolledBack { version: previous, failed })
            }
        }
    }

    /// Writes a verified image into the inactive slot (moving `image`, a file in [`dir`])
    /// and marks it pending: the next boot tries it.
    ///
    /// [`dir`]: Flash::dir
    pub fn install(&mut self, image: &Path, version: &str) -> Result<(), SimError> {
        let slot = self.slots.active.other();
        let target = self.dir.join(slot.file());
        std::fs::rename(image, &target).map_err(|e| SimError::io(&target, e))?;
        if let Ok(d) = std::fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        self.slots.set_version(slot, Some(version.into()));
        self.slots.pending = Some(Pending { slot, tried: false });
        self.save()
    }

    /// The tried slot is healthy: it becomes the active one.
    pub fn confirm(&mut self) -> Result<(), SimError> {
        if let Some(p) = self.slots.pending.take() {
            self.slots.active = p.slot;
            self.save()?;
        }
        Ok(())
    }

    /// The tried slot is not healthy: the active slot boots next.
    pub fn reject(&mut self) -> Result<(), SimError> {
        if self.slots.pending.take().is_some() {
            self.save()?;
        }
        Ok(())
    }

    /// Whether a slot is waiting for its health check.
    pub fn trying(&self) -> bool {
        self.slots.pending.is_some_and(|p| p.tried)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged(flash: &Flash, version: &str) -> PathBuf {
        let path = flash.dir().join("download.part");
        std::fs::write(&path, firmware_image("KK-C1", version, 64)).expect("write");
        path
    }

    #[test]
    fn a_new_device_boots_its_factory_slot() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut flash = Flash::open(dir.path(), "KK-C1", "1.0.0").expect("open");
        assert_eq!(flash.boot().expect("boot"), Boot::Normal { version: "1.0.0".into() });
        let again = Flash::open(dir.path(), "KK-C1", "9.9.9").expect("reopen");
        assert_eq!(again.slots.a.as_deref(), Some("1.0.0"), "the factory image stays");
    }

    #[test]
    fn an_installed_slot_is_tried_once_then_confirmed() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut flash = Flash::open(dir.path(), "KK-C1", "1.0.0").expect("open");
        let image = staged(&flash, "1.1.0");
        flash.install(&image, "1.1.0").expect("install");
        assert_eq!(
            flash.boot().expect("boot"),
            Boot::Trying { version: "1.1.0".into(), previous: "1.0.0".into() }
        );
        assert!(flash.trying());
        flash.confirm().expect("confirm");
        let mut reopened = Flash::open(dir.path(), "KK-C1", "1.0.0").expect("reopen");
        assert_eq!(reopened.slots.active, Slot::B);
        assert_eq!(reopened.boot().expect("boot"), Boot::Normal { version: "1.1.0".into() });
        // The next update goes to slot A.
        let image = staged(&reopened, "1.2.0");
        reopened.install(&image, "1.2.0").expect("install");
        assert_eq!(reopened.slots.pending.map(|p| p.slot), Some(Slot::A));
    }

    #[test]
    fn a_crash_before_confirmation_boots_the_old_slot() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut flash = Flash::open(dir.path(), "KK-C1", "1.0.0").expect("open");
        let image = staged(&flash, "1.1.0");
        flash.install(&image, "1.1.0").expect("install");
        assert!(matches!(flash.boot().expect("boot"), Boot::Trying { .. }));
        drop(flash); // the power goes before the health check
        let mut after = Flash::open(dir.path(), "KK-C1", "1.0.0").expect("reopen");
        assert_eq!(
            after.boot().expect("boot"),
            Boot::RolledBack { version: "1.0.0".into(), failed: "1.1.0".into() }
        );
        assert_eq!(after.boot().expect("boot"), Boot::Normal { version: "1.0.0".into() });
    }

    #[test]
    fn a_rejected_or_unbootable_slot_is_not_booted() {
        let dir = tempfile::tempdir().expect("tmp");
        let mut flash = Flash::open(dir.path(), "KK-C1", "1.0.0").expect("open");
        let image = staged(&flash, "1.1.0");
        flash.install(&image, "1.1.0").expect("install");
        flash.boot().expect("boot");
        flash.reject().expect("reject");
        assert_eq!(flash.boot().expect("boot"), Boot::Normal { version: "1.0.0".into() });

        let image = flash.dir().join("download.part");
        std::fs::write(&image, b"not an image").expect("write");
        flash.install(&image, "1.1.0").expect("install");
        assert!(matches!(flash.boot().expect("boot"), Boot::RolledBack { .. }));
    }
}
