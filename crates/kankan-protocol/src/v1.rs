//! HTTP API v1 request and response bodies.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
    pub identifier: String,
    /// At least 10 characters; common passwords are refused.
    pub password: String,
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
    pub identifier: String,
    /// The 6-digit code.
    pub code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
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
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    pub identifier: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmRequest {
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
    /// 0-32 characters; empty clears it.
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LoginOutcome {
    Success,
    BadPassword,
    Locked,
    Banned,
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
