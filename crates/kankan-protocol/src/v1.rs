//! HTTP API v1 request and response bodies.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

mod access;
mod billing;
mod cancellation;
mod consent;
mod exports;
mod faces;
mod firmware;
mod network;
pub use firmware::*;
mod notify;
pub use access::*;
pub use billing::*;
pub use cancellation::*;
pub use consent::*;
pub use exports::*;
pub use faces::*;
mod plans;
pub use plans::*;
mod privacy;
pub use privacy::*;
mod second_factor;
pub use second_factor::*;
mod sharing;
pub use network::*;
pub use notify::*;
pub use sharing::*;

/// Every error response: a stable code to match on and a message for people.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable kebab-case code, e.g. `invalid-credentials`.
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// An e-mail address or an E.164 phone number (`+8613800138000`).
    #[schema(
        pattern = "^(\\+[1-9][0-9]{7,14}|[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,32}(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,16})?@[A-Za-z0-9]{1,20}(-[A-Za-z0-9]{1,20})?\\.[A-Za-z]{2,10})$"
    )]
    pub identifier: String,
    /// At least 10 characters; common passwords are refused.
    #[schema(min_length = 10)]
    pub password: String,
    /// The privacy policy version the registrant read and accepts: the one in force
    /// (`GET /api/v1/privacy/policy`); anything else, or none, answers 422
    /// `policy-not-accepted`.
    #[serde(default)]
    pub accept_policy: Option<String>,
    /// The registrant is under the operator's child age (`GET /api/v1/about`: `child_age`,
    /// 14 by default): a child's account needs its guardian's consent.
    #[serde(default)]
    pub under_age: bool,
    /// A child's guardian: their e-mail address or E.164 phone number; they get a code.
    #[serde(default)]
    pub guardian: Option<String>,
}

/// A verification code was sent (or, where nothing may be revealed, would have been).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CodeSentResponse {
    /// Always `code-sent`.
    pub status: String,
    /// Seconds before another code may be requested.
    pub retry_after_s: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    #[schema(
        pattern = "^(\\+[1-9][0-9]{7,14}|[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,32}(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,16})?@[A-Za-z0-9]{1,20}(-[A-Za-z0-9]{1,20})?\\.[A-Za-z]{2,10})$"
    )]
    pub identifier: String,
    /// The 6-digit code.
    pub code: String,
    /// The password chosen when registering. Needed (`password-required`) when the identifier
    /// was registered more than once while pending; when given, it must be the one chosen
    /// with this code, or the code is refused.
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(
        pattern = "^(\\+[1-9][0-9]{7,14}|[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,32}(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,16})?@[A-Za-z0-9]{1,20}(-[A-Za-z0-9]{1,20})?\\.[A-Za-z]{2,10})$"
    )]
    pub identifier: String,
    pub password: String,
}

/// A new session. Browsers also receive it as the HttpOnly `kankan_session` cookie.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token for API clients: `Authorization: Bearer <token>`.
    pub token: String,
    /// Send as `X-CSRF-Token` with cookie-authenticated changes.
    pub csrf_token: String,
    pub account: Me,
    /// Present when the account is in its cancellation window: the session may only continue
    /// the login (`DELETE /api/v1/me/cancellation`), read the account, export or log out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation: Option<Cancellation>,
    /// The operator requires a second factor and the account has none: the session reaches
    /// only the enrolment routes (`/api/v1/me/second-factor*`), the account and logout.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub second_factor_enrolment_required: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    #[schema(
        pattern = "^(\\+[1-9][0-9]{7,14}|[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,32}(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,16})?@[A-Za-z0-9]{1,20}(-[A-Za-z0-9]{1,20})?\\.[A-Za-z]{2,10})$"
    )]
    pub identifier: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmRequest {
    #[schema(
        pattern = "^(\\+[1-9][0-9]{7,14}|[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,32}(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,16})?@[A-Za-z0-9]{1,20}(-[A-Za-z0-9]{1,20})?\\.[A-Za-z]{2,10})$"
    )]
    pub identifier: String,
    pub code: String,
    pub new_password: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum IdentifierKind {
    Email,
    Phone,
}

/// The caller's own account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Me {
    pub id: uuid::Uuid,
    pub identifier: String,
    pub identifier_kind: IdentifierKind,
    pub nickname: Option<String>,
    /// Where to fetch the avatar; changes when the avatar does.
    pub avatar_url: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    /// 0-32 characters, no control characters; empty clears it.
    #[schema(max_length = 32, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$")]
    pub nickname: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    pub current_password: String,
    pub new_password: String,
}

/// A live login session of the caller's account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionInfo {
    pub id: uuid::Uuid,
    /// The client's User-Agent.
    pub client: String,
    pub ip: String,
    pub created_at: String,
    pub last_used_at: String,
    /// Whether this is the session making the request.
    pub current: bool,
    /// How it signed in: `password`, `password+totp`, `password+recovery-code`,
    /// `password+passkey` or `passkey`.
    pub signed_in_with: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LoginOutcome {
    Success,
    BadPassword,
    Locked,
    Banned,
    /// The password was right, the second factor was not.
    SecondFactorFailed,
}

/// One login attempt on the caller's account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LoginRecord {
    pub at: String,
    pub ip: String,
    pub client: String,
    pub outcome: LoginOutcome,
    /// The first successful login from this client and IP.
    pub new_device: bool,
}

/// Liveness and readiness answers.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok`, or what is not ready.
    pub status: String,
}

/// A device bound to the caller, with its shadow.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeviceInfo {
    pub uid: String,
    pub model: String,
    pub kind: crate::device::DeviceKind,
    /// The owner's name for it, if set.
    pub name: Option<String>,
    pub online: bool,
    pub last_seen: Option<String>,
    pub bound_at: Option<String>,
    /// The device's last state report: telemetry and the settings it runs.
    pub reported: Option<crate::device::StateReport>,
    pub reported_at: Option<String>,
    /// The desired-settings version the device last applied.
    pub reported_version: u64,
    /// The settings the owner asked for, if ever changed.
    pub desired: Option<crate::device::Settings>,
    pub desired_version: u64,
    /// The device runs the settings last asked for.
    pub in_sync: bool,
    /// `owner`, or `member` for a device shared with the caller.
    pub role: DeviceRole,
    /// What the caller may do with it now (every capability for the owner).
    pub capabilities: Vec<String>,
    /// The owner's nickname, for a device shared with the caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_by: Option<String>,
}

/// The caller's relation to a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceRole {
    Owner,
    Member,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PairingRequest {
    /// The UID on the device's label: `KK` and 6-30 more letters and digits.
    #[schema(pattern = "^KK[A-Za-z0-9]{6,30}$")]
    pub uid: String,
    /// The Wi-Fi network the device should join: 1-32 bytes of UTF-8 (so 1-32 ASCII
    /// characters, fewer of other scripts).
    #[schema(min_length = 1, max_length = 32)]
    pub ssid: String,
    /// Sealed for that device: whoever sees the QR code or hears the sound cannot read it.
    pub wifi_password: String,
}

/// Show the QR code to the device's camera, or play the sound near it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PairingResponse {
    pub uid: String,
    /// The bind token in it expires then (RFC 3339).
    pub expires_at: String,
    /// The QR code's text.
    pub qr_text: String,
    /// The QR code as PNG, base64.
    pub qr_png_base64: String,
    /// The sound signal as WAV, base64.
    pub sound_wav_base64: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameDeviceRequest {
    /// 1-40 characters.
    #[schema(min_length = 1, max_length = 40)]
    pub name: String,
}

/// An ordinary RTSP/ONVIF camera to record, by its stream URL.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddRtspCameraRequest {
    /// 1-40 characters.
    #[schema(min_length = 1, max_length = 40)]
    pub name: String,
    /// `rtsp://host[:port]/path` (e.g. `rtsp://192.168.1.20:554/stream1`); credentials in
    /// the URL are taken out of it. At most 1024 bytes.
    #[schema(min_length = 1, max_length = 1024, pattern = "^[Rr][Tt][Ss][Pp]://")]
    pub url: String,
    /// The camera's RTSP username, if it asks for one (Basic or Digest).
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

impl std::fmt::Debug for AddRtspCameraRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddRtspCameraRequest")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CommandStatus {
    Sent,
    Succeeded,
    Failed,
    TimedOut,
}

/// Where a command stands. 200 when settled within the wait, 202 while still `sent`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CommandInfo {
    pub id: uuid::Uuid,
    pub status: CommandStatus,
    /// The device's reason when `failed`.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffLoginRequest {
    pub username: String,
    pub password: String,
}

/// A staff session: `Authorization: Bearer <token>` on `/api/v1/admin/*`, for 8 hours.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffLoginResponse {
    pub token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvisionRequest {
    /// e.g. `KK-C1`, `KK-C2`, `KK-D1`.
    pub model: String,
    /// 1-1000 per request (the CLI does larger batches).
    pub count: u32,
    /// A label for the batch.
    pub batch: String,
}

/// A new device identity. The secret is shown this once; the server keeps only a MAC.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProvisionedDevice {
    pub uid: String,
    pub model: String,
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProvisionResponse {
    pub devices: Vec<ProvisionedDevice>,
}

/// Where a background worker is in its loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WorkerState {
    /// In a step of work.
    Running,
    /// Waiting for work.
    Idle,
    /// Waiting, after a failure or panic, before it runs again.
    BackingOff,
    /// Finished, or stopped at shutdown.
    Stopped,
}

/// A background worker (retention sweeper, job runner, RTSP bridge ...), as its supervisor
/// sees it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkerInfo {
    /// e.g. `retention`, `jobs`, `notify`, `rtsp-bridge`.
    pub name: String,
    pub state: WorkerState,
    /// Times it was run again after a failed or panicking step.
    pub restarts: u64,
    /// The latest failure, kept after it recovers.
    pub last_error: Option<String>,
    /// When its latest successful step ended (RFC 3339).
    pub last_run_at: Option<String>,
    /// While backing off: when it runs again (RFC 3339).
    pub retry_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WorkersResponse {
    pub workers: Vec<WorkerInfo>,
}

/// A stretch of recorded footage; the timeline's gaps lie between spans.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct RecordedSpan {
    /// Milliseconds since the Unix epoch (UTC).
    pub start_ms: i64,
    pub end_ms: i64,
}

/// The recorded spans of a range.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Timeline {
    pub from_ms: i64,
    pub to_ms: i64,
    pub spans: Vec<RecordedSpan>,
}

/// What a media link is for; a link opens nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LinkPurpose {
    /// Recorded footage: playlist, init and segments, snapshots, MP4 export.
    Playback,
    /// The live picture: the live WebSocket and WebRTC (WHEP) without talk.
    Live,
    /// WebRTC (WHEP) live view with its talk channel.
    Talk,
}

/// Asks for a media link for one purpose.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaLinkRequest {
    pub purpose: LinkPurpose,
}

/// A short-lived link to a device's media, for one purpose, that ends with the session that
/// asked for it. Append `?t=<token>` to: for `playback`, `<media_base>/playlist.m3u8?from=..&to=..`,
/// `/export.mp4?from=..&to=..` and `/snapshot.jpg?at=..` (times in milliseconds since the
/// epoch); for `live`, `/live` (WebSocket) and `/whep`; for `talk`, `/whep`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecordingLink {
    pub token: String,
    pub purpose: LinkPurpose,
    /// The path the media URLs start with, e.g. `/media/v1/KK7Q2M9XD4TA`.
    pub media_base: String,
    pub expires_at: String,
    /// For `live` and `talk` links: the ICE servers (STUN, and TURN with a credential of its
    /// own that expires on its own) to give `RTCPeerConnection` before making the WHEP offer,
    /// in `RTCIceServer` form. Empty when the server has none configured, and for `playback`.
    #[serde(default)]
    pub ice_servers: Vec<IceServer>,
}

/// One ICE server for the browser's `RTCPeerConnection`, as `RTCIceServer`. A TURN server's
/// `username` is `<expiry, Unix seconds>:<random id>` and its `credential` the server's HMAC of
/// it (the TURN REST convention): short-lived, made for this link, naming no account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IceServer {
    /// `stun:`, `turn:` or `turns:` URLs.
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// The caller's recording storage.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StorageInfo {
    pub used_bytes: u64,
    pub quota_bytes: u64,
    pub retention_days: u32,
    /// Footage removed before its time because the quota was full.
    pub evicted_bytes: u64,
    /// Set when the quota last forced footage out: the user should free space or upgrade.
    pub quota_alert_at: Option<String>,
}

/// What deleting a range of a device's recordings removed.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct RecordingsDeleted {
    /// Segments deleted, every stream.
    pub segments: u64,
    /// Their stored (sealed) size.
    pub bytes: u64,
}

/// What one ingest request recorded.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct IngestResult {
    pub fragments: u64,
    pub segments: u64,
    /// Fragments not stored: before the first keyframe, or already recorded (backfill).
    pub skipped: u64,
    pub bytes: u64,
    /// Fragments offered to live viewers only, not stored: the camera records to its SD card
    /// only (`card-only`).
    #[serde(default)]
    pub relayed: u64,
}

/// Save the picture a camera streams now to the Album.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScreenshotRequest {
    /// The camera's UID.
    pub device: String,
}

/// Save the last seconds of a camera's recorded footage to the Album.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClipRequest {
    /// The camera's UID.
    pub device: String,
    /// 1-60.
    #[schema(minimum = 1, maximum = 60)]
    pub seconds: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlbumKind {
    /// A JPEG.
    Screenshot,
    /// An MP4.
    Clip,
}

/// Something one of the caller's devices noticed (the Message Center's rows).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventItem {
    pub id: uuid::Uuid,
    /// `motion`, `press` (doorbell button), `loiter` (presence in front of a doorbell for
    /// longer than its `loiter_secs`), `tamper` (removed from its mount) or `sound` (a sound
    /// alarm: a loud noise or a sustained sound).
    pub kind: String,
    /// The device's UID.
    pub device: String,
    /// Milliseconds since the Unix epoch.
    pub started_at_ms: i64,
    /// `null` while it goes on (a press or tamper: its start).
    pub ended_at_ms: Option<i64>,
    /// The activity zone it was mostly in, if the device has zones.
    pub zone: Option<u8>,
    pub read: bool,
    /// The footage to play for it (ms since the epoch): 5 s before it started ...
    pub clip_from_ms: i64,
    /// ... to 2 s after it ended (or after its start while it goes on).
    pub clip_to_ms: i64,
    /// Whether a picture exists (`GET /api/v1/events/{id}/thumbnail`).
    pub thumbnail: bool,
    /// One sentence describing the event, written by the AI model the operator configured,
    /// where the camera's owner turned AI descriptions on; `null` when none (yet).
    pub description: Option<String>,
    /// Sound events: the loudest peak, in dBFS (-100 to 0); `null` for other kinds.
    pub level_db: Option<i16>,
    /// Sound events that ended: how long the sound lasted (end - start); `null` otherwise.
    pub duration_ms: Option<i64>,
    /// What the server's person detection saw in it: `person`, or `null` (not analysed, or
    /// nobody seen).
    pub label: Option<String>,
    /// The detector's score for it, 0-1.
    pub score: Option<f32>,
    /// Where in the picture, relative to its size (drawn on the thumbnail too).
    #[serde(rename = "box")]
    pub bbox: Option<BoxItem>,
    /// Person detection's verdict on a motion event: `pending` (looking), `person`, `none`
    /// (the motion ended without one), `failed` (no picture could be analysed), or `null`
    /// (not analysed: detection off).
    pub detection: Option<String>,
    /// The face seen in it (familiar faces), `null` if none or not shown to the caller.
    pub face: Option<EventFaceItem>,
}

/// A box relative to the picture: each 0-1, from its top left corner.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BoxItem {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

/// `event: ring` on the event stream: a doorbell was pressed.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RingItem {
    /// The doorbell's UID.
    pub device: String,
    /// The press.
    pub event: EventItem,
}

/// `GET /api/v1/events` query: one device, one kind, a time window, how many.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Only this device's events.
    pub device: Option<String>,
    /// Only this kind: `motion`, `press`, `loiter` or `tamper` (else 422
    /// `unknown-event-kind`).
    #[param(pattern = "^(motion|press|loiter|tamper)$")]
    pub kind: Option<String>,
    /// Only events with this label: `person` (else 422 `unknown-event-label`).
    #[param(pattern = "^person$")]
    pub label: Option<String>,
    /// Events starting before this (ms since the epoch): the next page.
    pub before_ms: Option<i64>,
    /// Events starting at or after this (ms since the epoch).
    pub after_ms: Option<i64>,
    /// At most this many (1-200; default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// Only events whose AI description holds these words (1-8 words; each matches the start
    /// of a word, any case). Looks through the newest 1000 events matching the other
    /// parameters (from `before_ms`).
    #[param(max_length = 400)]
    pub q: Option<String>,
}

/// A screenshot or clip in the caller's Album.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AlbumItem {
    pub id: uuid::Uuid,
    pub kind: AlbumKind,
    /// The camera's UID.
    pub device: String,
    /// The camera's name when the item was saved, if it had one.
    pub device_name: Option<String>,
    /// Milliseconds since the Unix epoch of the picture (a clip: of its first frame).
    pub taken_at_ms: i64,
    /// 0 for a screenshot.
    pub duration_ms: u32,
    /// Size of the content.
    pub bytes: u64,
    /// When it was saved (RFC 3339).
    pub created_at: String,
    /// Where the content is: `GET` it with the session (`/api/v1/album/{id}/content`).
    pub content_url: String,
}
