//! Passkeys: `/api/v1/me/passkeys*` (add, list, rename, remove) and passkey-only login
//! (`/api/v1/auth/passkey/*`).
//!
//! The relying party is the site's public address (`server.public_url`), else the host the
//! request was sent to; WebAuthn needs a host name (an IP address cannot be an RP ID).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use kankan_accounts::{PasskeyOptions, PasskeyRelyingParty, PasskeyView};
use kankan_protocol::v1::{ErrorBody, LoginResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::logged_in;
use crate::extract::{ApiJson, Client, CurrentUser};
use crate::reject::ApiPath;
use crate::{ApiError, AppState};

/// The name browsers and authenticators show for the site.
const RP_NAME: &str = "Kankan";

/// The relying party passkeys are made for and checked against.
pub(crate) fn relying_party(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<PasskeyRelyingParty, ApiError> {
    let origin = match &state.config.public_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
            let scheme = if state.config.cookie_secure { "https" } else { "http" };
            format!("{scheme}://{host}")
        }
    };
    PasskeyRelyingParty::for_origin(&origin, RP_NAME).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "passkey-unavailable",
            "passkeys need the site to be reached by its host name, not an IP address",
        )
    })
}

/// Options for `navigator.credentials.create` or `.get`, and the challenge to answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyOptionsResponse {
    /// Sent back with the answer; absent for a second factor (the login's ticket holds the
    /// challenge).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge_id: Option<uuid::Uuid>,
    /// `publicKey` options with binary fields in base64url.
    #[schema(value_type = Object)]
    pub public_key: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<i64>,
}

impl From<PasskeyOptions> for PasskeyOptionsResponse {
    fn from(o: PasskeyOptions) -> Self {
        PasskeyOptionsResponse {
            challenge_id: o.challenge_id,
            public_key: o.public_key,
            expires_at_ms: o.expires_at.map(|t| t.0),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasskeyOptionsRequest {
    /// The account's password, given again.
    pub current_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AddPasskeyRequest {
    pub challenge_id: uuid::Uuid,
    /// `PublicKeyCredential.toJSON()` of the new credential.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RenamePasskeyRequest {
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasskeyLoginRequest {
    pub challenge_id: uuid::Uuid,
    /// `PublicKeyCredential.toJSON()` of the assertion.
    #[schema(value_type = Object)]
    pub credential: serde_json::Value,
}

/// A passkey of the account.
#[derive(Debug, Serialize, ToSchema)]
pub struct Passkey {
    pub id: uuid::Uuid,
    pub name: String,
    pub created_at_ms: i64,
    pub last_used_at_ms: Option<i64>,
    /// A synced passkey (it may be backed up to the user's cloud account).
    pub backup_eligible: bool,
    pub backed_up: bool,
}

impl From<PasskeyView> for Passkey {
    fn from(v: PasskeyView) -> Self {
        Passkey {
            id: v.id,
            name: v.name,
            created_at_ms: v.created_at.0,
            last_used_at_ms: v.last_used_at.map(|t| t.0),
            backup_eligible: v.backup_eligible,
            backed_up: v.backed_up,
        }
    }
}

fn passkey_id(s: &str) -> Result<uuid::Uuid, ApiError> {
    s.parse().map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such passkey"))
}

/// Options to add a passkey (the account's password again).
#[utoipa::path(post, path = "/api/v1/me/passkeys/options", tag = "me",
    request_body = PasskeyOptionsRequest,
    responses((status = 200, body = PasskeyOptionsResponse),
        (status = 400, body = ErrorBody, description = "wrong-password, passkey-unavailable (the site reached by an IP address)"),
        (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "passkey-limit"),
        (status = 429, body = ErrorBody)))]
pub async fn creation_options(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    headers: HeaderMap,
    ApiJson(req): ApiJson<PasskeyOptionsRequest>,
) -> Result<Json<PasskeyOptionsResponse>, ApiError> {
    let rp = relying_party(&state, &headers)?;
    let o = state.accounts.passkey_creation_options(&p, &req.current_password, &rp).await?;
    Ok(Json(o.into()))
}

/// Add a passkey: the browser's answer to the options.
#[utoipa::path(post, path = "/api/v1/me/passkeys", tag = "me",
    request_body = AddPasskeyRequest,
    responses((status = 201, body = Passkey),
        (status = 400, body = ErrorBody, description = "passkey-invalid (with the reason), invalid-passkey-name"),
        (status = 401, body = ErrorBody)))]
pub async fn add(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    headers: HeaderMap,
    ApiJson(req): ApiJson<AddPasskeyRequest>,
) -> Result<(StatusCode, Json<Passkey>), ApiError> {
    let rp = relying_party(&state, &headers)?;
    let v =
        state.accounts.add_passkey(&p, req.challenge_id, &req.credential, &req.name, &rp).await?;
    Ok((StatusCode::CREATED, Json(v.into())))
}

/// The account's passkeys.
#[utoipa::path(get, path = "/api/v1/me/passkeys", tag = "me",
    responses((status = 200, body = Vec<Passkey>), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<Vec<Passkey>>, ApiError> {
    Ok(Json(state.accounts.passkeys(&p).await?.into_iter().map(Passkey::from).collect()))
}

/// Rename a passkey.
#[utoipa::path(patch, path = "/api/v1/me/passkeys/{id}", tag = "me",
    params(("id" = uuid::Uuid, Path, description = "passkey id")),
    request_body = RenamePasskeyRequest,
    responses((status = 204),
        (status = 400, body = ErrorBody, description = "invalid-passkey-name"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rename(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<RenamePasskeyRequest>,
) -> Result<StatusCode, ApiError> {
    state.accounts.rename_passkey(&p, passkey_id(&id)?, &req.name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Remove a passkey: it signs in no more.
#[utoipa::path(delete, path = "/api/v1/me/passkeys/{id}", tag = "me",
    params(("id" = uuid::Uuid, Path, description = "passkey id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.accounts.delete_passkey(&p, passkey_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Options for a passkey-only login: they name no account (the authenticator offers its
/// passkeys for this site).
#[utoipa::path(post, path = "/api/v1/auth/passkey/options", tag = "auth",
    responses((status = 200, body = PasskeyOptionsResponse),
        (status = 400, body = ErrorBody, description = "passkey-unavailable"),
        (status = 429, body = ErrorBody)))]
pub async fn login_options(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
) -> Result<Json<PasskeyOptionsResponse>, ApiError> {
    let rp = relying_party(&state, &headers)?;
    Ok(Json(state.accounts.passkey_login_options(&rp, &client).await?.into()))
}

/// Log in with a passkey alone: a session exactly like a password login's.
#[utoipa::path(post, path = "/api/v1/auth/passkey/login", tag = "auth",
    request_body = PasskeyLoginRequest,
    responses(
        (status = 200, body = LoginResponse, description = "sets the kankan_session and kankan_csrf cookies"),
        (status = 400, body = ErrorBody, description = "passkey-invalid (with the reason: wrong challenge or origin, bad signature, sign-count: a cloned authenticator), passkey-unavailable"),
        (status = 403, body = ErrorBody, description = "account-banned, guardian-consent-pending"),
        (status = 429, body = ErrorBody, description = "too-many-requests, account-locked (Retry-After)")))]
pub async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    headers: HeaderMap,
    ApiJson(req): ApiJson<PasskeyLoginRequest>,
) -> Result<Response, ApiError> {
    let rp = relying_party(&state, &headers)?;
    let ok = state.accounts.passkey_login(req.challenge_id, &req.credential, &rp, &client).await?;
    logged_in(&state, ok).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SecondFactorPasskeyOptionsRequest {
    /// The ticket of the login that answered 202.
    pub ticket: String,
}

/// Options for the passkey second factor of a password login (the ticket's challenge, the
/// account's passkeys); the answer goes in `passkey` of `POST /api/v1/auth/second-factor`.
#[utoipa::path(post, path = "/api/v1/auth/second-factor/passkey-options", tag = "auth",
    request_body = SecondFactorPasskeyOptionsRequest,
    responses((status = 200, body = PasskeyOptionsResponse),
        (status = 400, body = ErrorBody, description = "passkey-unavailable"),
        (status = 401, body = ErrorBody, description = "second-factor-invalid: unknown, used or expired ticket"),
        (status = 409, body = ErrorBody, description = "second-factor-not-enrolled: the account has no passkey")))]
pub async fn second_factor_options(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SecondFactorPasskeyOptionsRequest>,
) -> Result<Json<PasskeyOptionsResponse>, ApiError> {
    let rp = relying_party(&state, &headers)?;
    Ok(Json(state.accounts.passkey_second_factor_options(&req.ticket, &rp).await?.into()))
}
