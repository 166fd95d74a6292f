//! MQTT payloads between devices and the gateway, version 1 (topics `kk/v1/{uid}/...`).
//!
//! Every payload is JSON and decodes into exhaustive types: unknown fields and unknown enum
//! values are refused, so a device speaking a newer dialect fails loudly instead of being
//! half-understood. Shared by the server and `kankan-cam`.

use serde::{Deserialize, Serialize};

/// Largest payload either side sends or accepts.
pub const MAX_PAYLOAD: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceKind {
    Camera,
    Doorbell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum VideoQuality {
    Auto,
    Sd,
    Hd,
    FullHd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WorkingMode {
    /// Always on, records continuously.
    Continuous,
    /// Sleeps between events (battery devices).
    PowerSaving,
    /// Highest frame rate, more power.
    Performance,
}

/// What of the camera's video the server keeps (the owner's choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RecordingMode {
    /// Cloud storage, continuous: everything the camera records is uploaded and kept for the
    /// retention period.
    #[default]
    Continuous,
    /// Cloud storage of events only: the footage around each event (its pre-roll and clip)
    /// is kept, the rest deleted once no event can claim it any more.
    Events,
    /// Card recording: video stays on the camera's SD card; nothing of it is uploaded or
    /// kept by the server. Live view still works on demand.
    CardOnly,
}

impl RecordingMode {
    /// The stable name (the wire form).
    pub fn name(self) -> &'static str {
        match self {
            RecordingMode::Continuous => "continuous",
            RecordingMode::Events => "events",
            RecordingMode::CardOnly => "card-only",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CallMode {
    /// A doorbell press rings the app.
    Ring,
    /// A press only sends a message.
    Message,
    /// Presses are ignored.
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PictureRotation {
    Normal,
    Flip,
    Mirror,
    Rotate180,
}

/// Motion detection as the device applies it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MotionSettings {
    pub enabled: bool,
    /// 1 (least sensitive) to 100.
    #[schema(minimum = 1, maximum = 100)]
    pub sensitivity: u8,
    /// Activity zones drawn on a snapshot; empty: the whole picture (below the on-screen
    /// clock). At most 8.
    #[serde(default)]
    #[schema(max_items = 8)]
    pub zones: Vec<ZoneSpec>,
    /// When detection runs, in the device's time zone; `None`: always.
    #[serde(default)]
    pub schedule: Option<ScheduleSpec>,
}

impl Default for MotionSettings {
    fn default() -> Self {
        MotionSettings { enabled: true, sensitivity: 50, zones: Vec::new(), schedule: None }
    }
}

/// A zone's corner, relative to the picture: 0.0 left/top to 1.0 right/bottom.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZonePoint {
    pub x: f32,
    pub y: f32,
}

/// An activity zone: a polygon of 3 to 32 corners inside the picture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    pub points: Vec<ZonePoint>,
}

/// The detection schedule: periods of local time per weekday.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    pub periods: Vec<PeriodSpec>,
}

/// One period: `day` (`mon` ... `sun`) from `start` to `end` (`HH:MM`, end exclusive, up to
/// `24:00`), on the device's wall clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodSpec {
    pub day: String,
    pub start: String,
    pub end: String,
}

impl MotionSettings {
    /// The detector configuration for these settings: the user's zones, or `fallback` when
    /// they drew none.
    pub fn detector_config(
        &self,
        fallback: Vec<kankan_motion::Zone>,
    ) -> Result<kankan_motion::MotionConfig, kankan_motion::MotionError> {
        let zones = if self.zones.is_empty() {
            fallback
        } else {
            self.zones.iter().map(ZoneSpec::to_zone).collect::<Result<_, _>>()?
        };
        let config = kankan_motion::MotionConfig {
            zones,
            sensitivity: self.sensitivity,
            ..kankan_motion::MotionConfig::default()
        };
        config.validate()?;
        Ok(config)
    }
}

impl DeviceEvent {
    /// A detector's verdict as a device reports it.
    pub fn from_motion(e: kankan_motion::MotionEvent) -> DeviceEvent {
        let zone = |z: Option<usize>| z.and_then(|z| u8::try_from(z).ok());
        match e {
            kankan_motion::MotionEvent::Start { at_ms, zone: z, .. } => DeviceEvent::Motion {
                phase: MotionPhase::Start,
                at_ms,
                started_ms: at_ms,
                zone: zone(z),
            },
            kankan_motion::MotionEvent::End { started_ms, at_ms } => {
                DeviceEvent::Motion { phase: MotionPhase::End, at_ms, started_ms, zone: None }
            }
        }
    }
}

impl ZoneSpec {
    /// The checked polygon.
    pub fn to_zone(&self) -> Result<kankan_motion::Zone, kankan_motion::MotionError> {
        kankan_motion::Zone::new(
            self.points.iter().map(|p| kankan_motion::Point { x: p.x, y: p.y }).collect(),
        )
    }
}

impl ScheduleSpec {
    /// The checked schedule.
    pub fn to_schedule(&self) -> Result<kankan_motion::Schedule, kankan_motion::MotionError> {
        use kankan_motion::{MotionError, Period, parse_day, parse_time};
        let period = |p: &PeriodSpec| {
            let bad = || MotionError::PeriodFormat(format!("{} {}-{}", p.day, p.start, p.end));
            Ok(Period {
                day: parse_day(&p.day).ok_or_else(bad)?,
                start: parse_time(&p.start).ok_or_else(bad)?,
                end: parse_time(&p.end).ok_or_else(bad)?,
            })
        };
        let periods = self.periods.iter().map(period).collect::<Result<Vec<_>, _>>()?;
        kankan_motion::Schedule::new(periods)
    }
}

/// Settings refused by [`Settings::validate`]: a stable code and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    pub code: &'static str,
    pub message: String,
}

impl SettingsError {
    fn new(code: &'static str, message: impl Into<String>) -> SettingsError {
        SettingsError { code, message: message.into() }
    }
}

impl From<kankan_motion::MotionError> for SettingsError {
    fn from(e: kankan_motion::MotionError) -> SettingsError {
        SettingsError::new(e.code(), e.to_string())
    }
}

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Everything a user can set on a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub indicator_light: bool,
    pub sd_recording: bool,
    pub white_light: bool,
    pub motion: MotionSettings,
    pub video_quality: VideoQuality,
    pub working_mode: WorkingMode,
    pub call_mode: CallMode,
    /// Speaker volume, 0-100.
    #[schema(minimum = 0, maximum = 100)]
    pub volume: u8,
    pub picture: PictureRotation,
    /// The device's IANA time zone (`Europe/Berlin`): the motion schedule is read on its clock.
    #[serde(default = "utc")]
    pub time_zone: String,
    /// Doorbells: presence in view longer than this many seconds raises a loitering alarm;
    /// 0: off.
    #[serde(default = "default_loiter_secs")]
    #[schema(minimum = 0, maximum = 600)]
    pub loiter_secs: u16,
    /// What of the video the server keeps: `continuous` (the default), `events` or
    /// `card-only` (nothing uploaded, not even backfill; live view on demand). Only the owner
    /// may change it.
    #[serde(default)]
    pub recording_mode: RecordingMode,
    /// A sentence describing each event, written by the AI model the operator configured
    /// (`[ai]`); off by default, and only for an owner who consented to `ai-descriptions`.
    #[serde(default)]
    pub ai_descriptions: bool,
    /// Sound alarms: a loud noise or a sustained sound above the camera's background level
    /// raises a `sound` event. Off by default.
    #[serde(default)]
    pub sound_alarm: SoundAlarm,
    /// The server looks for people in the picture while a motion event lasts (server
    /// setting `vision.models_dir` must name the models: `vision-unavailable` otherwise);
    /// events then carry a label, score and box. Off by default.
    #[serde(default)]
    pub person_detection: bool,
    /// Which motion alerts: `any` (the default) or `person` (only the motion events the
    /// server saw a person in; needs `person_detection`).
    #[serde(default)]
    pub alert_on: AlertOn,
    /// Familiar faces: the faces of people this camera sees are matched against the owner's
    /// gallery (only with the owner's `face-recognition` consent; never for a child's
    /// account). Off by default.
    #[serde(default)]
    pub familiar_faces: bool,
    /// With familiar faces on: a face the gallery does not know alerts as "Stranger". Off by
    /// default.
    #[serde(default)]
    pub stranger_alerts: bool,
    /// The camera installs the firmware its operator rolls out by itself (privacy policy:
    /// "upgrade automatically ... enabled by default"). On by default; off, an update is
    /// installed only when the owner presses Update.
    #[serde(default = "default_auto_update")]
    pub auto_update: bool,
}

/// Which motion events alert ([`Settings::alert_on`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AlertOn {
    /// Every motion event.
    #[default]
    Any,
    /// Only those with a person seen in them.
    Person,
}

/// Sound alarms as the device applies them (`kankan_motion::sound`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SoundAlarm {
    pub enabled: bool,
    /// 1 (only very loud sounds) to 100.
    #[schema(minimum = 1, maximum = 100)]
    pub sensitivity: u8,
}

impl Default for SoundAlarm {
    fn default() -> Self {
        SoundAlarm { enabled: false, sensitivity: kankan_motion::sound::DEFAULT_SENSITIVITY }
    }
}

impl SoundAlarm {
    /// The sensitivity the detector applies now, `None` when off.
    pub fn active(&self) -> Option<u8> {
        self.enabled.then_some(self.sensitivity)
    }
}

fn utc() -> String {
    "UTC".into()
}

fn default_loiter_secs() -> u16 {
    20
}

fn default_auto_update() -> bool {
    true
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            indicator_light: true,
            sd_recording: true,
            white_light: false,
            motion: MotionSettings::default(),
            video_quality: VideoQuality::Auto,
            working_mode: WorkingMode::Continuous,
            call_mode: CallMode::Ring,
            volume: 60,
            picture: PictureRotation::Normal,
            time_zone: utc(),
            loiter_secs: default_loiter_secs(),
            recording_mode: RecordingMode::Continuous,
            ai_descriptions: false,
            sound_alarm: SoundAlarm::default(),
            person_detection: false,
            alert_on: AlertOn::Any,
            familiar_faces: false,
            stranger_alerts: false,
            auto_update: true,
        }
    }
}

impl Settings {
    /// Checks serde cannot express: ranges, zones, the schedule and the time zone.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if !(1..=100).contains(&self.motion.sensitivity) {
            return Err(kankan_motion::MotionError::Sensitivity.into());
        }
        if self.volume > 100 {
            return Err(SettingsError::new("invalid-settings", "volume must be 0-100"));
        }
        if self.loiter_secs > 600 {
            return Err(SettingsError::new("invalid-settings", "loiter_secs must be 0-600"));
        }
        if !(1..=100).contains(&self.sound_alarm.sensitivity) {
            return Err(SettingsError::new(
                "invalid-settings",
                "sound_alarm.sensitivity must be 1-100",
            ));
        }
        if self.motion.zones.len() > kankan_motion::MAX_ZONES {
            return Err(kankan_motion::MotionError::TooManyZones.into());
        }
        for zone in &self.motion.zones {
            zone.to_zone()?;
        }
        if let Some(schedule) = &self.motion.schedule {
            schedule.to_schedule()?;
        }
        kankan_motion::time_zone(&self.time_zone)?;
        if self.alert_on == AlertOn::Person && !self.person_detection {
            return Err(SettingsError::new(
                "alert-on-person-needs-detection",
                "alert_on person needs person_detection on",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SdStatus {
    Absent,
    Ok,
    Formatting,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SdCard {
    pub status: SdStatus,
    pub total_mb: u64,
    pub used_mb: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimCard {
    /// The SIM's ICCID; the API shows it masked to its last four digits.
    pub iccid: String,
    /// e.g. `active`, `no-service`.
    pub status: String,
    /// Mobile data used since the SIM was activated, in KiB (counted by the device).
    #[serde(default)]
    pub used_kb: u64,
}

/// `kk/v1/{uid}/state`: what the device is and how it is set, sent on connect and on change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StateReport {
    /// Increases with every report of this device boot.
    pub seq: u64,
    pub model: String,
    pub firmware: String,
    /// The Wi-Fi MAC address; the API shows it masked (`**:**:**:**:00:01`).
    pub mac: String,
    /// IANA time zone, e.g. `Asia/Shanghai`.
    pub timezone: String,
    pub lan_ip: String,
    pub ssid: String,
    /// Wi-Fi signal in dBm (e.g. -55).
    pub signal_dbm: i16,
    /// None for mains-powered devices.
    pub battery_pct: Option<u8>,
    pub charging: bool,
    pub sd_card: SdCard,
    pub sim: Option<SimCard>,
    pub settings: Settings,
    /// The desired-settings version these settings came from (0: factory).
    pub settings_version: u64,
    /// A firmware update in progress or just finished (none before the first offer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<FirmwareProgress>,
}

pub use crate::firmware::{FirmwareOffer, FirmwareProgress, UpdatePhase};

impl StateReport {
    /// The report as people are shown it: the device identifiers (MAC, SIM ICCID) masked to
    /// their last four letters or digits (`**:**:**:**:00:01`), as privacy promise 13 says.
    pub fn with_identifiers_masked(mut self) -> StateReport {
        self.mac = mask_identifier(&self.mac);
        if let Some(sim) = &mut self.sim {
            sim.iccid = mask_identifier(&sim.iccid);
        }
        self
    }
}

/// Replaces every letter or digit but the last four with `*`, keeping separators; an
/// identifier with fewer than eight letters and digits is masked whole.
pub fn mask_identifier(id: &str) -> String {
    let total = id.chars().filter(char::is_ascii_alphanumeric).count();
    let keep = if total >= 8 { 4 } else { 0 };
    let mut seen = 0;
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                seen += 1;
                if seen > total - keep { c } else { '*' }
            } else if c.is_ascii_punctuation() || c == ' ' {
                c
            } else {
                '*'
            }
        })
        .collect()
}

/// `kk/v1/{uid}/secret`: the device's next secret, sealed under the pairing key of its
/// current one (`kankan_crypto::pairing::seal_new_secret`), base64url. The device keeps it,
/// then logs in with it: the server accepts the old secret only until that first login with
/// the new one (the confirmation), and sends this again each time the device connects until
/// then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSecret {
    pub sealed: String,
}

/// `kk/v1/{uid}/desired` (retained): the settings the owner wants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Desired {
    pub version: u64,
    pub settings: Settings,
}

/// What a command asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "name", rename_all = "kebab-case", deny_unknown_fields)]
pub enum CommandKind {
    Reboot,
    /// Move by steps: pan -10..=10 (left..right), tilt -10..=10 (down..up).
    PtzMove {
        #[schema(minimum = -10, maximum = 10)]
        pan: i8,
        #[schema(minimum = -10, maximum = 10)]
        tilt: i8,
    },
    PresetSave {
        slot: u8,
    },
    PresetGoto {
        slot: u8,
    },
    FormatSd,
    /// Start uploading stream `stream` (0 main, 1 sub) live, from the current keyframe: a
    /// viewer is waiting and the camera is not uploading continuously.
    StreamStart {
        stream: u8,
    },
    /// The last viewer left: stop the on-demand upload of `stream`.
    StreamStop {
        stream: u8,
    },
    /// Open the talk channel (`/ingest/v1/{uid}/talk`): someone holds "Talk".
    TalkStart,
    /// Close the talk channel.
    TalkStop,
    /// Install this firmware (acknowledged when the download starts; progress follows in
    /// the state reports).
    FirmwareUpdate {
        offer: FirmwareOffer,
    },
    /// Join another Wi-Fi network: `sealed` is the SSID and password sealed under the
    /// device's pairing key (`kankan_crypto::pairing::seal_wifi`, base64url; only the device
    /// opens it). The device keeps its binding, settings and recordings and reconnects on the
    /// new network. Made by `POST /api/v1/devices/{uid}/wifi` only.
    WifiSet {
        sealed: String,
    },
    /// List the footage on the SD card within `[from_ms, to_ms)`: the device posts a
    /// [`CardListing`] to `/ingest/v1/{uid}/card/{request}`. Made by the card routes only.
    CardList {
        request: uuid::Uuid,
        from_ms: i64,
        to_ms: i64,
    },
    /// Play the SD card's footage of `[from_ms, to_ms)` to a viewer: the device posts the
    /// main stream's init segment and its fragments from the keyframe at or before `from_ms`
    /// (fMP4, `video/mp4`) to `/ingest/v1/{uid}/card/{request}`, which the server relays to
    /// the viewer without storing. Made by the card routes only.
    CardPlay {
        request: uuid::Uuid,
        from_ms: i64,
        to_ms: i64,
    },
    /// Upload the device's own log (what it did: connections, errors, commands, firmware,
    /// recording and upload problems; never a secret) as plain UTF-8 text to
    /// `/ingest/v1/{uid}/logs/{request}`, at most [`LOGS_MAX_BYTES`]. Made by
    /// `POST /api/v1/devices/{uid}/logs` only (a support ticket's attachment).
    LogsUpload {
        request: String,
    },
}

/// The largest log a device uploads (and the ingest accepts), in bytes.
pub const LOGS_MAX_BYTES: usize = 256 * 1024;

/// Whether `request` is a logs request id as the server makes them: 1-64 characters of
/// ASCII letters, digits and `-` (it becomes a path segment of the upload).
pub fn valid_logs_request(request: &str) -> bool {
    (1..=64).contains(&request.len())
        && request.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

pub use crate::card::{
    CARD_MAX_LIST_MS, CARD_MAX_PLAY_MS, CARD_SPAN_GAP_MS, CardListing, CardSpan,
};

impl CommandKind {
    pub const MAX_PRESET: u8 = 8;

    /// Commands only the server makes, with arguments of its own (sealed for the device, or
    /// naming a relay it waits on): the generic commands route refuses them.
    pub fn server_only(&self) -> bool {
        matches!(
            self,
            CommandKind::WifiSet { .. }
                | CommandKind::CardList { .. }
                | CommandKind::CardPlay { .. }
                | CommandKind::LogsUpload { .. }
        )
    }

    /// The arguments as the commands table keeps them: a sealed Wi-Fi network is not kept
    /// at all (only that one was sent).
    pub fn args_for_log(&self) -> Result<String, serde_json::Error> {
        match self {
            CommandKind::WifiSet { .. } => Ok(r#"{"name":"wifi-set"}"#.to_string()),
            other => serde_json::to_string(other),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        match self {
            CommandKind::PtzMove { pan, tilt }
                if !(-10..=10).contains(pan) || !(-10..=10).contains(tilt) =>
            {
                Err("pan and tilt are -10 to 10".into())
            }
            CommandKind::PresetSave { slot } | CommandKind::PresetGoto { slot }
                if !(1..=Self::MAX_PRESET).contains(slot) =>
            {
                Err(format!("preset slots are 1 to {}", Self::MAX_PRESET))
            }
            CommandKind::StreamStart { stream } | CommandKind::StreamStop { stream }
                if *stream > 1 =>
            {
                Err("streams are 0 (main) and 1 (sub)".into())
            }
            CommandKind::WifiSet { sealed } if sealed.is_empty() || sealed.len() > 512 => {
                Err("a sealed Wi-Fi network has 1-512 characters".into())
            }
            CommandKind::CardList { from_ms, to_ms, .. }
                if to_ms <= from_ms || to_ms - from_ms > CARD_MAX_LIST_MS =>
            {
                Err("a card listing covers a non-empty range of at most 400 days".into())
            }
            CommandKind::CardPlay { from_ms, to_ms, .. }
                if to_ms <= from_ms || to_ms - from_ms > CARD_MAX_PLAY_MS =>
            {
                Err("a card playback covers a non-empty range of at most one hour".into())
            }
            CommandKind::LogsUpload { request } if !valid_logs_request(request) => {
                Err("a logs request id is 1-64 letters, digits and dashes".into())
            }
            _ => Ok(()),
        }
    }
}

/// `kk/v1/{uid}/cmd`: a command with its id and deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Command {
    pub id: uuid::Uuid,
    pub command: CommandKind,
    /// Unix ms after which the device should not run it.
    pub deadline_ms: i64,
}

/// `kk/v1/{uid}/ack`: the outcome of a command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ack {
    pub id: uuid::Uuid,
    pub ok: bool,
    /// Why it failed (ok = false).
    pub error: Option<String>,
}

/// `kk/v1/{uid}/event`: something the device noticed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum DeviceEvent {
    /// Motion in the picture: `start` when it began (the first frame of the debounce run),
    /// `end` (with the start again) after the cooldown without motion.
    Motion {
        phase: MotionPhase,
        /// Unix ms of the start (`start`) or of the last frame with motion (`end`).
        at_ms: i64,
        /// The start, repeated on `end`.
        started_ms: i64,
        /// The activity zone it was mostly in (index), if zones are set.
        zone: Option<u8>,
    },
    /// Someone pressed the doorbell's button (doorbells only).
    Press {
        /// Unix ms of the press.
        at_ms: i64,
    },
    /// The device was removed from its mount.
    Tamper {
        /// Unix ms of the removal.
        at_ms: i64,
    },
    /// Presence in a doorbell's view longer than `settings.loiter_secs`: `start` once a
    /// motion event has lasted that long, `end` with that motion's end (doorbells only).
    Loiter {
        phase: MotionPhase,
        /// Unix ms when the presence became loitering (`start`) or ended (`end`).
        at_ms: i64,
        /// The start of the motion (presence) it belongs to, on both.
        started_ms: i64,
    },
    /// A sound alarm (`settings.sound_alarm`): a loud noise or a sustained sound above the
    /// background. `start` when it began, `end` after 3 s of quiet.
    Sound {
        phase: MotionPhase,
        /// Unix ms of the start (`start`) or of the last loud moment (`end`).
        at_ms: i64,
        /// The start, repeated on `end`.
        started_ms: i64,
        /// The loudest peak so far, in dBFS (-100 to 0).
        level_db: i16,
        /// `at_ms - started_ms` (0 on `start`).
        duration_ms: i64,
    },
}

impl DeviceEvent {
    /// Checks what serde cannot: times are after 1970 and nothing ends before it starts.
    pub fn validate(&self) -> Result<(), String> {
        let (at_ms, started_ms) = match self {
            DeviceEvent::Motion { at_ms, started_ms, .. }
            | DeviceEvent::Loiter { at_ms, started_ms, .. }
            | DeviceEvent::Sound { at_ms, started_ms, .. } => (*at_ms, *started_ms),
            DeviceEvent::Press { at_ms } | DeviceEvent::Tamper { at_ms } => (*at_ms, *at_ms),
        };
        if at_ms < 0 || started_ms < 0 {
            return Err("event times are milliseconds since 1970, not negative".into());
        }
        if started_ms > at_ms {
            return Err("an event ends before it starts".into());
        }
        if let DeviceEvent::Sound { level_db, duration_ms, .. } = self
            && (!(-100..=0).contains(level_db) || *duration_ms != at_ms - started_ms)
        {
            return Err("a sound's level is -100 to 0 dBFS and its duration its span".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MotionPhase {
    Start,
    End,
}

/// `kk/v1/{uid}/claim`: the device presents the bind token it received while pairing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    pub token: String,
}

/// `kk/v1/{uid}/claim/result`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimResult {
    pub ok: bool,
    /// A stable code when refused: `invalid-token`, `already-bound`.
    pub code: Option<String>,
}

/// Decodes a device payload, refusing oversized or malformed ones with a reason.
pub fn decode<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, String> {
    if payload.len() > MAX_PAYLOAD {
        return Err(format!("payload of {} bytes exceeds {MAX_PAYLOAD}", payload.len()));
    }
    serde_json::from_slice(payload).map_err(|e| e.to_string())
}

#[cfg(test)]
#[path = "device_tests.rs"]
mod tests;
