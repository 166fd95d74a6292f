//! `/api/v1/auth/*`: register, verify, login, logout, password reset.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kankan_accounts::{CodeSent, LoginOk, LoginStep};
use kankan_protocol::v1::{
    Cancellation, CodeSentResponse, ErrorBody, LoginRequest, LoginResponse, RegisterRequest,
    ResetConfirmRequest, ResetRequest, SecondFactorChallenge, VerifyRequest,
};

use super::me_dto;
use crate::extract::{ApiJson, Client, CurrentUser};
use crate::{ApiError, AppState};

fn code_sent(c: CodeSent) -> (StatusCode, Json<CodeSentResponse>) {
    let body =
        CodeSentResponse { status: "code-sent".into(), retry_after_s: c.retry_after.as_secs() };
    (StatusCode::ACCEPTED, Json(body))
}

fn cookie_header(
    state: &AppState,
    name: &str,
    value: &str,
    http_only: bool,
    max_age: u64,
) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; SameSite=Strict; Max-Age={max_age}");
    if http_only {
        c.push_str("; HttpOnly");
    }
    if state.config.cookie_secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// How long the remembered-device cookie lives (`kankan_accounts::mfa::REMEMBER_FOR`).
const DEVICE_COOKIE_SECS: u64 = kankan_accounts::mfa::REMEMBER_FOR.as_secs();

/// The answer of a successful login: the session and CSRF cookies (and a remembered
/// device's cookie) and the session in the body.
pub(crate) async fn logged_in(state: &AppState, ok: LoginOk) -> Result<Response, ApiError> {
    let profile = state.accounts.profile(&ok.principal).await?;
    let ttl = state.config.session_ttl_secs;
    let mut headers = HeaderMap::new();
    headers.append(
        header::SET_COOKIE,
        cookie_header(state, state.config.session_cookie(), &ok.token, true, ttl),
    );
    headers.append(
        header::SET_COOKIE,
        cookie_header(state, state.config.csrf_cookie(), &ok.csrf_token, false, ttl),
    );
    if let Some(device) = &ok.device_token {
        headers.append(
            header::SET_COOKIE,
            cookie_header(state, state.config.device_cookie(), device, true, DEVICE_COOKIE_SECS),
        );
    }
    let body = LoginResponse {
        token: ok.token,
        csrf_token: ok.csrf_token,
        account: me_dto(profile),
        cancellation: ok.cancellation.map(|t| Cancellation { ends_at_ms: t.0 }),
        second_factor_enrolment_required: ok.enrolment_required,
    };
    Ok((headers, Json(body)).into_response())
}

/// Start a registration: a verification code goes to the identifier.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 202, body = CodeSentResponse),
        (status = 400, body = ErrorBody, description = "invalid-identifier, weak-password, invalid-json"),
        (status = 422, body = ErrorBody, description = "policy-not-accepted, guardian-required"),
        (status = 429, body = ErrorBody, description = "too-many-requests (Retry-After)")))]
pub async fn register(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let r = kankan_accounts::Registration {
        identifier: &req.identifier,
        password: &req.password,
        accept_policy: req.accept_policy.as_deref(),
        under_age: req.under_age,
        guardian: req.guardian.as_deref(),
    };
    Ok(code_sent(state.accounts.register(&r, &client).await?))
}

/// Finish a registration with the code; logs in.
#[utoipa::path(post, path = "/api/v1/auth/register/verify", tag = "auth",
    request_body = VerifyRequest,
    responses(
        (status = 200, body = LoginResponse, description = "sets the kankan_session and kankan_csrf cookies"),
        (status = 400, body = ErrorBody, description = "invalid-code, password-required"),
        (status = 403, body = ErrorBody, description = "guardian-consent-pending: a child's account before its guardian consented"),
        (status = 429, body = ErrorBody)))]
pub async fn verify(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<VerifyRequest>,
) -> Result<Response, ApiError> {
    let ok = state
        .accounts
        .verify_registration(&req.identifier, &req.code, req.password.as_deref(), &client)
        .await?;
    logged_in(&state, ok).await
}

/// Log in with identifier and password. An account with a second factor, from a browser not
/// remembered for it, answers 202 with a ticket for `POST /api/v1/auth/second-factor`.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = LoginResponse, description = "sets the kankan_session and kankan_csrf cookies"),
        (status = 202, body = SecondFactorChallenge, description = "the second factor is needed: no session yet"),
        (status = 401, body = ErrorBody, description = "invalid-credentials"),
        (status = 403, body = ErrorBody, description = "account-banned (the ban notice), account-not-verified, guardian-consent-pending"),
        (status = 429, body = ErrorBody, description = "too-many-requests, account-locked (Retry-After)")))]
pub async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    match state.accounts.login(&req.identifier, &req.password, &client).await? {
        LoginStep::Session(ok) => logged_in(&state, ok).await,
        LoginStep::SecondFactor(need) => {
            let body = SecondFactorChallenge {
                ticket: need.ticket,
                methods: need.methods.iter().map(|m| (*m).to_string()).collect(),
                expires_at_ms: need.expires_at.0,
            };
            Ok((StatusCode::ACCEPTED, Json(body)).into_response())
        }
    }
}

/// End the current session.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Response, ApiError> {
    state.accounts.logout(&p).await?;
    let mut headers = HeaderMap::new();
    headers.append(
        header::SET_COOKIE,
        cookie_header(&state, state.config.session_cookie(), "", true, 0),
    );
    headers.append(
        header::SET_COOKIE,
        cookie_header(&state, state.config.csrf_cookie(), "", false, 0),
    );
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}

/// Ask for a password-reset code. Answers the same whether or not the account exists.
#[utoipa::path(post, path = "/api/v1/auth/password-reset", tag = "auth",
    request_body = ResetRequest,
    responses((status = 202, body = CodeSentResponse), (status = 400, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn reset(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<ResetRequest>,
) -> Result<impl IntoResponse, ApiError> {
    Ok(code_sent(state.accounts.request_password_reset(&req.identifier, &client).await?))
}

/// Set a new password with the reset code; every session of the account ends.
#[utoipa::path(post, path = "/api/v1/auth/password-reset/confirm", tag = "auth",
    request_body = ResetConfirmRequest,
    responses((status = 204), (status = 400, body = ErrorBody, description = "invalid-code, weak-password"),
        (status = 429, body = ErrorBody)))]
pub async fn reset_confirm(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(req): ApiJson<ResetConfirmRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .accounts
        .confirm_password_reset(&req.identifier, &req.code, &req.new_password, &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
