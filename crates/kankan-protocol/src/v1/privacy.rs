//! The user's rights over their data: the accesses to it (from the audit log), data-subject
//! requests, and staff's view of the request queue and the audit log.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One access to the caller's data or account by staff or the system.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DataAccessEntry {
    /// Milliseconds since the Unix epoch.
    pub at_ms: i64,
    /// `staff` or `system` (or `operator`: the operator at the server's command line; or
    /// `you`: something the account itself set in motion).
    pub by: String,
    /// The staff member's user name and role (`alice (admin)`), the system part's name
    /// (`system:accounts-sweeper`), the operator's name; null for `you`.
    pub who: Option<String>,
    /// What was done, stable kebab-case (`privacy-request-read`, `account-banned` ...).
    pub action: String,
    /// Ids and kinds, never personal data.
    pub detail: String,
}

/// What `GET /api/v1/me/data-access` answers: newest first, at most 200.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DataAccessResponse {
    pub entries: Vec<DataAccessEntry>,
}

/// File a data-subject request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPrivacyRequest {
    /// `access`, `export`, `rectification`, `erasure`, `cancellation`, `objection` or `other`.
    pub kind: String,
    /// What you ask, at most 4000 characters (stored sealed under your account's key).
    #[serde(default)]
    pub message: Option<String>,
}

/// A data-subject request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PrivacyRequestInfo {
    pub id: uuid::Uuid,
    /// The account it is about (staff views; the caller's own otherwise).
    pub account: uuid::Uuid,
    pub kind: String,
    /// `user` (filed by the account) or `system` (filed by the product: a cancellation, an
    /// export).
    pub origin: String,
    pub received_at_ms: i64,
    /// The deadline: `privacy.response_working_days` working days after it arrived.
    pub due_at_ms: i64,
    /// `open`, `done` or `refused`.
    pub state: String,
    pub closed_at_ms: Option<i64>,
    /// Open and past its deadline.
    pub overdue: bool,
    /// Whether it came with a message.
    pub has_message: bool,
    /// The message: in the caller's own list, and when staff open one request (logged).
    pub message: Option<String>,
}

/// A list of requests.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PrivacyRequestList {
    pub requests: Vec<PrivacyRequestInfo>,
}

/// Close a request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClosePrivacyRequest {
    /// `done` or `refused`.
    pub state: String,
}

/// One entry of the audit log, for staff.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEntryInfo {
    pub seq: i64,
    pub at_ms: i64,
    /// `staff:<id>`, `system:<part>`, `account:<id>` or `operator:<name>`.
    pub actor: String,
    pub action: String,
    pub subject: Option<uuid::Uuid>,
    pub detail: String,
    /// The chain link, hex.
    pub hash: String,
}

/// A page of the audit log, in order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntryInfo>,
}

/// `GET /api/v1/admin/audit` query: entries after a seq, how many.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Entries with a seq above this (0, the default: from the first).
    pub after: Option<i64>,
    /// At most this many (1-1000, default 200).
    pub limit: Option<u32>,
}

/// `GET /api/v1/admin/requests` query.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RequestQueueQuery {
    /// Closed requests too (default: the open ones only).
    pub all: Option<bool>,
}

/// Give staff a support grant.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSupportGrant {
    /// How long, 1-72 hours.
    #[schema(minimum = 1, maximum = 72)]
    pub hours: u32,
    /// The UIDs of 1-50 of your own devices staff may see the recordings of.
    pub devices: Vec<String>,
}

/// A support grant: staff may play back these devices' recordings until it expires or is
/// withdrawn.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SupportGrantInfo {
    pub id: uuid::Uuid,
    pub devices: Vec<String>,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
    pub withdrawn_at_ms: Option<i64>,
    /// Neither expired nor withdrawn.
    pub live: bool,
}

/// The caller's support grants, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SupportGrantList {
    pub grants: Vec<SupportGrantInfo>,
}
