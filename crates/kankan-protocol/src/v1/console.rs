//! The operator's console (`/api/v1/admin/*`): staff second factor and sessions, staff
//! management, accounts and the fleet of devices.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A correct password from a staff member without a second factor (202): enrol one. The
/// secret is shown once; confirm with a code at `POST /api/v1/admin/login/enrol`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffEnrolmentResponse {
    /// Single use, for 10 minutes.
    pub enrolment_token: String,
    pub otpauth_uri: String,
    /// The secret in base32, to type into an authenticator app.
    pub secret: String,
    /// The otpauth URI as a QR code (SVG).
    pub qr_svg: String,
    pub expires_at_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffEnrolRequest {
    pub enrolment_token: String,
    /// A code from the new secret.
    pub code: String,
}

/// The signed-in staff member (`GET /api/v1/admin/me`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffMe {
    pub id: String,
    pub username: String,
    /// `support`, `operations` or `admin`.
    pub role: String,
    /// The permissions the role holds (`accounts-read`, `accounts-ban` ...).
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffMemberView {
    pub id: String,
    pub username: String,
    pub role: String,
    /// Whether a second factor is enrolled.
    pub second_factor: bool,
    pub disabled: bool,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StaffListResponse {
    pub staff: Vec<StaffMemberView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateStaffRequest {
    pub username: String,
    /// Their own password (they enrol a second factor at their first login).
    pub password: String,
    /// `support`, `operations` or `admin`.
    pub role: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffRoleRequest {
    pub role: String,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountSearchQuery {
    /// An exact e-mail address or phone number (looked up through the blind index), or an
    /// account id.
    pub q: String,
}

/// A ban or its lifting, with the reason staff wrote.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BanNoteView {
    /// `ban` or `unban`.
    pub action: String,
    /// The staff member; none for the operator at the command line.
    pub staff_id: Option<String>,
    pub reason: String,
    pub at_ms: i64,
}

/// An account as staff see it: no contact, no content.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConsoleAccount {
    pub id: String,
    /// `pending`, `active`, `banned`, `cancelling`, `cancelled`.
    pub state: String,
    pub created_at_ms: i64,
    pub verified_at_ms: Option<i64>,
    /// Devices it owns.
    pub devices: u64,
    pub banned: bool,
    pub ban_reason: Option<String>,
    /// Newest first.
    pub ban_notes: Vec<BanNoteView>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccountSearchResponse {
    pub accounts: Vec<ConsoleAccount>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BanRequest {
    /// Why (1-500 characters): kept with the ban, shown to staff.
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FleetQuery {
    pub model: Option<String>,
    pub firmware: Option<String>,
    pub online: Option<bool>,
    /// The last UID of the previous page.
    pub after: Option<String>,
    /// At most 500 (default 100).
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FleetCountView {
    pub model: String,
    /// None: not reported yet.
    pub firmware: Option<String>,
    pub online: bool,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FleetDeviceView {
    pub uid: String,
    pub model: String,
    pub kind: String,
    pub firmware: Option<String>,
    pub online: bool,
    pub last_seen_ms: Option<i64>,
    /// Whether an account owns it (never which).
    pub bound: bool,
    pub provisioned_at_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FleetResponse {
    pub counts: Vec<FleetCountView>,
    pub devices: Vec<FleetDeviceView>,
    /// Give as `after` for the next page; none on the last.
    pub next: Option<String>,
}

/// The health figures of the last state report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HealthReportView {
    pub reported_at_ms: Option<i64>,
    pub signal_dbm: i16,
    pub battery_pct: Option<u8>,
    pub charging: bool,
    pub sd_status: String,
    pub sd_total_mb: u64,
    pub sd_used_mb: u64,
    pub sim_status: Option<String>,
    pub settings_in_sync: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeviceProblemView {
    pub at_ms: i64,
    /// `command-failed`, `command-timed-out`, `firmware-failed`, `firmware-rolled-back`.
    pub kind: String,
    /// The command's name, or the version a failed update was leaving.
    pub what: String,
    pub error: Option<String>,
}

/// A device's health: never its video, recordings, events, name or owner.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeviceHealthResponse {
    pub device: FleetDeviceView,
    pub report: Option<HealthReportView>,
    /// Newest first.
    pub problems: Vec<DeviceProblemView>,
}
