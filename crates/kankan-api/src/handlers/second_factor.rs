//! Two-step login: `POST /api/v1/auth/second-factor` (the login's second step) and
//! `/api/v1/me/second-factor*` (the authenticator app, recovery codes, remembered devices).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use kankan_accounts::{SecondFactorProof, SecondFactorStatus};
use kankan_protocol::v1::{
    ErrorBody, LoginResponse, PasswordAgainRequest, RecoveryCodesResponse, RememberedDeviceInfo,
    SecondFactorRequest, SecondFactorStatusResponse, TotpConfirmRequest, TotpDisableRequest,
    TotpEnrolmentResponse,
};

use super::auth::logged_in;
use crate::extract::{ApiJson, Client, CurrentUser};
use crate::reject::ApiPath;
use crate::{ApiError, AppState};

fn one_factor(req: &SecondFactorRequest) -> Result<(), ApiError> {
    let given = [req.totp.is_some(), req.recovery_code.is_some(), req.passkey.is_some()];
    if given.iter().filter(|g| **g).count() != 1 {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-body",
            "send exactly one of totp, recovery_code, passkey",
        ));
    }
    Ok(())
}

/// Finish a login that answered 202 with its ticket and a second factor.
#[utoipa::path(post, path = "/api/v1/auth/second-factor", tag = "auth",
    request_body = SecondFactorRequest,
    responses(
        (status = 200, body = LoginResponse, description = "sets the kankan_session and kankan_csrf cookies (and kankan_device with remember_device)"),
        (status = 400, body = ErrorBody, description = "invalid-body: not exactly one second factor"),
        (status = 401, body = ErrorBody, description = "second-factor-invalid: wrong or used code, unknown, used or expired ticket, or its 5 attempts spent"),
        (status = 403, body = ErrorBody, description = "account-banned"),
        (status = 429, body = ErrorBody, description = "too-many-requests: too many second-factor attempts on the account (Retry-After)")))]
pub async fn second_factor(
    State(state): State<AppState>,
    Client(client): Client,
    headers: axum::http::HeaderMap,
    ApiJson(req): ApiJson<SecondFactorRequest>,
) -> Result<Response, ApiError> {
    one_factor(&req)?;
    let remember = req.remember_device;
    let ok = if let Some(code) = &req.totp {
        let proof = SecondFactorProof::Totp(code);
        state.accounts.finish_second_factor(&req.ticket, proof, &client, remember).await?
    } else if let Some(code) = &req.recovery_code {
        let proof = SecondFactorProof::RecoveryCode(code);
        state.accounts.finish_second_factor(&req.ticket, proof, &client, remember).await?
    } else if let Some(assertion) = &req.passkey {
        let rp = super::passkeys::relying_party(&state, &headers)?;
        state.accounts.passkey_second_factor(&req.ticket, assertion, &rp, &client, remember).await?
    } else {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid-body", "no second factor"));
    };
    logged_in(&state, ok).await
}

fn status_dto(s: SecondFactorStatus) -> SecondFactorStatusResponse {
    SecondFactorStatusResponse {
        methods: s.methods.iter().map(|m| (*m).to_string()).collect(),
        totp_pending: s.totp_pending,
        recovery_codes_left: s.recovery_codes_left,
        remembered_devices: s
            .remembered_devices
            .into_iter()
            .map(|d| RememberedDeviceInfo {
                id: d.id,
                client: d.client,
                created_at: d.created_at.to_rfc3339(),
                last_used_at: d.last_used_at.to_rfc3339(),
                expires_at: d.expires_at.to_rfc3339(),
            })
            .collect(),
        required: s.required,
    }
}

/// Where the account's second factor stands: methods, recovery codes left, remembered
/// devices.
#[utoipa::path(get, path = "/api/v1/me/second-factor", tag = "me",
    responses((status = 200, body = SecondFactorStatusResponse), (status = 401, body = ErrorBody)))]
pub async fn status(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<SecondFactorStatusResponse>, ApiError> {
    Ok(Json(status_dto(state.accounts.second_factor_status(&p).await?)))
}

/// Start enrolling an authenticator app (the password again): the QR code and the secret.
#[utoipa::path(post, path = "/api/v1/me/second-factor/totp", tag = "me",
    request_body = PasswordAgainRequest,
    responses((status = 200, body = TotpEnrolmentResponse),
        (status = 400, body = ErrorBody, description = "wrong-password"),
        (status = 409, body = ErrorBody, description = "second-factor-already-enrolled"),
        (status = 429, body = ErrorBody)))]
pub async fn start_totp(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<PasswordAgainRequest>,
) -> Result<Json<TotpEnrolmentResponse>, ApiError> {
    let e = state.accounts.start_totp_enrolment(&p, &req.password).await?;
    Ok(Json(TotpEnrolmentResponse {
        otpauth_uri: e.otpauth_uri,
        secret: e.secret,
        qr_svg: e.qr_svg,
    }))
}

/// Confirm the enrolment with a first code: the app is enabled, and the answer holds the
/// recovery codes, shown this once.
#[utoipa::path(post, path = "/api/v1/me/second-factor/totp/confirm", tag = "me",
    request_body = TotpConfirmRequest,
    responses((status = 200, body = RecoveryCodesResponse),
        (status = 401, body = ErrorBody, description = "second-factor-invalid"),
        (status = 409, body = ErrorBody, description = "second-factor-not-enrolled: no enrolment started"),
        (status = 429, body = ErrorBody)))]
pub async fn confirm_totp(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<TotpConfirmRequest>,
) -> Result<Json<RecoveryCodesResponse>, ApiError> {
    let recovery_codes = state.accounts.confirm_totp_enrolment(&p, &req.code).await?;
    Ok(Json(RecoveryCodesResponse { recovery_codes }))
}

/// Disable the authenticator app: the password and a current code or a recovery code.
#[utoipa::path(post, path = "/api/v1/me/second-factor/totp/disable", tag = "me",
    request_body = TotpDisableRequest,
    responses((status = 204),
        (status = 400, body = ErrorBody, description = "wrong-password"),
        (status = 401, body = ErrorBody, description = "second-factor-invalid"),
        (status = 429, body = ErrorBody)))]
pub async fn disable_totp(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<TotpDisableRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .accounts
        .disable_totp(&p, &req.password, req.code.as_deref(), req.recovery_code.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// New recovery codes (the password again); the old ones stop working.
#[utoipa::path(post, path = "/api/v1/me/second-factor/recovery-codes", tag = "me",
    request_body = PasswordAgainRequest,
    responses((status = 200, body = RecoveryCodesResponse),
        (status = 400, body = ErrorBody, description = "wrong-password"),
        (status = 409, body = ErrorBody, description = "second-factor-not-enrolled"),
        (status = 429, body = ErrorBody)))]
pub async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<PasswordAgainRequest>,
) -> Result<Json<RecoveryCodesResponse>, ApiError> {
    let recovery_codes = state.accounts.regenerate_recovery_codes(&p, &req.password).await?;
    Ok(Json(RecoveryCodesResponse { recovery_codes }))
}

/// Forget every remembered device: their next login asks for the second factor.
#[utoipa::path(delete, path = "/api/v1/me/second-factor/devices", tag = "me",
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn forget_devices(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<StatusCode, ApiError> {
    state.accounts.forget_devices(&p, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Forget one remembered device.
#[utoipa::path(delete, path = "/api/v1/me/second-factor/devices/{id}", tag = "me",
    params(("id" = uuid::Uuid, Path, description = "remembered device id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn forget_device(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id: uuid::Uuid = id.parse().map_err(|_| {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such remembered device")
    })?;
    state.accounts.forget_devices(&p, Some(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
