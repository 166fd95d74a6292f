//! Consents and policy versions, the About page, and the operator's announcements.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One version of the privacy policy, without its text.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyVersionInfo {
    pub version: String,
    /// A major version must be accepted again before the app can be used.
    pub major: bool,
    /// `YYYY-MM-DD`.
    pub published: String,
    /// What changed from the version before.
    pub changes: String,
}

/// One version of the privacy policy with its text.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyDocument {
    #[serde(flatten)]
    pub info: PolicyVersionInfo,
    /// Markdown.
    pub text: String,
    /// Whether this is the version in force.
    pub current: bool,
}

/// Which version `GET /api/v1/privacy/policy` answers.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PolicyQuery {
    /// A published version; unset: the version in force.
    pub version: Option<String>,
}

/// What the About page shows.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct About {
    /// The policy's versions, oldest first (texts at `GET /api/v1/privacy/policy?version=`).
    pub policies: Vec<PolicyVersionInfo>,
    pub current_version: String,
    /// The operator's disclaimer (Markdown).
    pub disclaimer: String,
    /// The operator's contact details (Markdown); empty when not configured.
    pub contact: String,
    /// Working days within which the operator answers a request.
    pub response_working_days: u32,
    /// Under this age an account is a child's and needs a guardian's consent.
    pub child_age: u32,
    /// Whether cloud recording is optional processing with a consent of its own.
    pub cloud_recording_optional: bool,
    /// Whether this server can describe events with AI (its operator configured a model's
    /// endpoint); each owner still turns it on per camera, after consenting to
    /// `ai-descriptions`.
    pub ai_descriptions: bool,
    /// Where AI descriptions send an event's frames: the host of the operator's endpoint
    /// (`null` when they are off). Kankan keeps only the sentence, not the frames.
    pub ai_endpoint_host: Option<String>,
}

/// One purpose's state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PurposeConsent {
    /// `face-recognition`, `ai-descriptions` or `cloud-recording`.
    pub purpose: String,
    pub granted: bool,
    /// When it was last given or withdrawn; null if never.
    pub at_ms: Option<i64>,
    /// Whether the account may turn it on (never for a child's face recognition or AI
    /// descriptions; cloud recording only where the operator makes it optional).
    pub available: bool,
}

/// One row of the consent history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConsentEntry {
    /// `policy`, a purpose, or `camera-disclaimer`.
    pub purpose: String,
    /// The policy version in force (for `policy`: the version accepted).
    pub version: String,
    pub granted: bool,
    /// `registration`, `settings`, `guardian` or `policy-update`.
    pub how: String,
    pub at_ms: i64,
}

/// The account's consents and where it stands with the policy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConsentsResponse {
    pub purposes: Vec<PurposeConsent>,
    /// The policy version the account accepted last; null if none.
    pub accepted_version: Option<String>,
    pub current_version: String,
    /// A major version newer than the one accepted is in force: the app answers
    /// `policy-acceptance-required` until it is accepted (`POST /api/v1/me/policy/accept`).
    pub acceptance_required: bool,
    /// The versions published since the one accepted (a minor one is a notice), oldest first.
    pub newer_versions: Vec<PolicyVersionInfo>,
    /// The account is a child's.
    pub child: bool,
    /// The camera disclaimer was shown to the account.
    pub disclaimer_acknowledged: bool,
    /// Every consent given or withdrawn and every acceptance, oldest first.
    pub history: Vec<ConsentEntry>,
}

/// Give or withdraw a consent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    pub granted: bool,
}

/// Accept a policy version.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptPolicyRequest {
    /// The version in force.
    pub version: String,
}

/// A guardian consents for a child's account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardianConsentRequest {
    /// The child's e-mail address or phone number.
    pub child: String,
    /// The guardian's own e-mail address or phone number (where the code went).
    pub guardian: String,
    pub code: String,
    /// The policy version the guardian read and accepts on the child's behalf.
    pub accept_policy: String,
}

/// A notice from the operator to every user.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Announcement {
    pub id: uuid::Uuid,
    pub title: String,
    /// Plain text.
    pub body: String,
    pub at_ms: i64,
}

/// Send an announcement.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnnouncementRequest {
    /// 1-120 characters.
    #[schema(min_length = 1, max_length = 120)]
    pub title: String,
    /// 1-4000 characters of plain text.
    #[schema(min_length = 1, max_length = 4000)]
    pub body: String,
}
