//! Two-step login: the second factor of a password login, and managing it (an authenticator
//! app, recovery codes, remembered devices).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `202` answer of `POST /api/v1/auth/login` when the account's second factor is needed:
/// finish with `POST /api/v1/auth/second-factor` and the ticket.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SecondFactorChallenge {
    /// Single use, valid until `expires_at_ms`, at most 5 attempts.
    pub ticket: String,
    /// The methods this account has: `totp`, `recovery-code`, `passkey`.
    pub methods: Vec<String>,
    pub expires_at_ms: i64,
}

/// The second step of a login: the ticket and one second factor.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondFactorRequest {
    pub ticket: String,
    /// A 6-digit code of the authenticator app.
    #[serde(default)]
    pub totp: Option<String>,
    /// One of the account's recovery codes (`xxxxx-xxxxx`); each works once.
    #[serde(default)]
    pub recovery_code: Option<String>,
    /// A WebAuthn assertion (`navigator.credentials.get`) for the ticket's challenge.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub passkey: Option<serde_json::Value>,
    /// Remember this browser for 30 days: its password logins skip the second factor
    /// (a `kankan_device` cookie).
    #[serde(default)]
    pub remember_device: bool,
}

/// The password again, before a change to the second factor.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordAgainRequest {
    pub password: String,
}

/// A started authenticator-app enrolment (shown once): scan the QR code or type the secret,
/// then confirm with a first code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TotpEnrolmentResponse {
    /// `otpauth://totp/Kankan:<account>?secret=...`
    pub otpauth_uri: String,
    /// The secret in base32.
    pub secret: String,
    /// The QR code of `otpauth_uri`, an SVG document.
    pub qr_svg: String,
}

/// A code of the authenticator app being enrolled.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpConfirmRequest {
    pub code: String,
}

/// New recovery codes, shown this once (only their keyed hashes are kept).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecoveryCodesResponse {
    pub recovery_codes: Vec<String>,
}

/// Disabling the authenticator app: the password and a current code or a recovery code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpDisableRequest {
    pub password: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub recovery_code: Option<String>,
}

/// A browser whose logins skip the second factor.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RememberedDeviceInfo {
    pub id: uuid::Uuid,
    /// The User-Agent it was remembered from.
    pub client: String,
    pub created_at: String,
    pub last_used_at: String,
    pub expires_at: String,
}

/// `GET /api/v1/me/second-factor`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SecondFactorStatusResponse {
    /// The methods a login may finish with: `totp`, `recovery-code`, `passkey`.
    pub methods: Vec<String>,
    /// An authenticator-app enrolment waits for its first code.
    pub totp_pending: bool,
    pub recovery_codes_left: u32,
    pub remembered_devices: Vec<RememberedDeviceInfo>,
    /// The operator requires a second factor of every account.
    pub required: bool,
}
