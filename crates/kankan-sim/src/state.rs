//! The device's flash: one JSON file in its state directory, replaced atomically.
//!
//! `state.json` keeps what a real device keeps across power cycles: identity, where it is
//! bound, the Wi-Fi network's name (never its password), the applied settings with their
//! version, the pan/tilt position and presets, the SD card and the battery level.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use kankan_protocol::device::{DeviceKind, SdCard, SdStatus, Settings};
use serde::{Deserialize, Serialize};

use crate::SimError;

/// The file name inside the state directory.
pub const STATE_FILE: &str = "state.json";
/// The layout version written in `format`.
pub const FORMAT: u32 = 1;
/// Size of the simulated SD card.
pub const SD_TOTAL_MB: u64 = 32 * 1024;

/// A pan/tilt position in degrees.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub pan: i16,
    pub tilt: i16,
}

/// Everything the device persists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredState {
    /// Always [`FORMAT`].
    pub format: u32,
    pub uid: String,
    pub model: String,
    pub kind: DeviceKind,
    pub timezone: String,
    /// The server address, `mqtts://host:port`, from pairing or `--server`.
    pub server: Option<String>,
    /// The server's TLS public key (hex SHA-256 of its SubjectPublicKeyInfo), from pairing or
    /// `--pin`: the device connects to no other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
    /// The Wi-Fi network joined while pairing.
    pub ssid: Option<String>,
    /// Whether the server accepted this device's claim (devices provisioned as already bound
    /// run without it).
    pub bound: bool,
    pub settings: Settings,
    /// The desired-settings version `settings` came from; 0 for factory settings.
    pub settings_version: u64,
    pub ptz: Position,
    /// Saved positions by slot (1 to 8).
    pub presets: BTreeMap<u8, Position>,
    pub sd_card: SdCard,
    /// Battery level of battery devices at the last save.
    pub battery_pct: Option<u8>,
    /// The device secret the server rotated to, once received (it replaces the factory
    /// secret from then on); `None` while the factory secret is the current one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl StoredState {
    /// A device fresh from the factory.
    pub fn factory(uid: &str, model: &str, timezone: &str) -> StoredState {
        let kind = crate::config::kind_of_model(model);
        StoredState {
            format: FORMAT,
            uid: uid.to_string(),
            model: model.to_string(),
            kind,
            timezone: timezone.to_string(),
            server: None,
            pin: None,
            ssid: None,
            bound: false,
            settings: Settings { time_zone: timezone.to_string(), ..Settings::default() },
            settings_version: 0,
            ptz: Position::default(),
            presets: BTreeMap::new(),
            sd_card: SdCard { status: SdStatus::Ok, total_mb: SD_TOTAL_MB, used_mb: 1_024 },
            battery_pct: (kind == DeviceKind::Doorbell).then_some(90),
            secret: None,
        }
    }
}

/// The device's current secret: the one its state file in `dir` holds (after a rotation),
/// else `factory`.
pub fn current_secret(dir: &Path, factory: &str) -> Result<String, SimError> {
    Ok(load(dir)?.and_then(|s| s.secret).unwrap_or_else(|| factory.to_string()))
}

/// The state file's path in `dir`.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join(STATE_FILE)
}

/// Reads the state file from `dir`; `None` if there is none yet.
pub fn load(dir: &Path) -> Result<Option<StoredState>, SimError> {
    let path = path_in(dir);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(SimError::io(path, e)),
    };
    let state: StoredState = serde_json::from_slice(&bytes)
        .map_err(|e| SimError::StateFile { path: path.clone(), reason: e.to_string() })?;
    if state.format != FORMAT {
        return Err(SimError::StateFile {
            path,
            reason: format!("format {} is not supported (expected {FORMAT})", state.format),
        });
    }
    Ok(Some(state))
}

/// Writes the state file into `dir` (created if missing): a temporary file, flushed, then
/// renamed over the old one, so a crash leaves either the old or the new state, never half.
pub fn save(dir: &Path, state: &StoredState) -> Result<(), SimError> {
    let mut json = serde_json::to_vec_pretty(state)
        .map_err(|e| SimError::StateFile { path: path_in(dir), reason: e.to_string() })?;
    json.push(b'\n');
    write_atomic(dir, STATE_FILE, &json)
}

/// Writes `bytes` to `dir/name` (the directory created if missing) through a flushed
/// temporary file renamed over the old one: a crash leaves the old or the new file.
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), SimError> {
    std::fs::create_dir_all(dir).map_err(|e| SimError::io(dir, e))?;
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    };
    write().map_err(|e| SimError::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| SimError::io(&path, e))?;
    // Make the rename itself durable; not every platform can open a directory.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(load(dir.path()).expect("load"), None);
        let mut s = StoredState::factory("KK1A2B3C4D5E", "KK-D1", "Europe/Paris");
        s.presets.insert(3, Position { pan: 20, tilt: -10 });
        s.settings_version = 7;
        save(dir.path(), &s).expect("save");
        save(dir.path(), &s).expect("save over");
        assert_eq!(load(dir.path()).expect("load"), Some(s));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
            .collect();
        assert_eq!(names, [STATE_FILE]);
    }

    #[test]
    fn a_damaged_or_foreign_state_file_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(path_in(dir.path()), "{not json").expect("write");
        let e = load(dir.path()).expect_err("damaged").to_string();
        assert!(e.contains("state.json"), "{e}");
        let mut v =
            serde_json::to_value(StoredState::factory("KK1A2B3C", "KK-C1", "UTC")).expect("ser");
        v["format"] = 99.into();
        std::fs::write(path_in(dir.path()), v.to_string()).expect("write");
        assert!(load(dir.path()).expect_err("format").to_string().contains("format 99"));
    }

    #[test]
    fn cameras_have_no_battery_and_doorbells_do() {
        assert_eq!(StoredState::factory("KK1A2B3C", "KK-C1", "UTC").battery_pct, None);
        assert!(StoredState::factory("KK1A2B3C", "KK-D2", "UTC").battery_pct.is_some());
    }
}
