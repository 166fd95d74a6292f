//! `/api/v1/me*`: the caller's profile, avatar, password, sessions and login history.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kankan_accounts::LoginOutcome as DbOutcome;
use kankan_base::SessionId;
use kankan_protocol::v1::{
    ChangePasswordRequest, ErrorBody, LoginOutcome, LoginRecord, Me, SessionInfo, UpdateMeRequest,
};

use super::me_dto;
use crate::extract::{ApiJson, CurrentUser};
use crate::reject::ApiPath;
use crate::{ApiError, AppState};

/// The caller's account.
#[utoipa::path(get, path = "/api/v1/me", tag = "me",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
pub async fn get_me(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<Me>, ApiError> {
    Ok(Json(me_dto(state.accounts.profile(&p).await?)))
}

/// Change the nickname.
#[utoipa::path(patch, path = "/api/v1/me", tag = "me", request_body = UpdateMeRequest,
    responses((status = 200, body = Me), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn patch_me(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<UpdateMeRequest>,
) -> Result<Json<Me>, ApiError> {
    Ok(Json(me_dto(state.accounts.set_nickname(&p, &req.nickname).await?)))
}

/// Upload an avatar: the raw PNG or JPEG bytes as the body (at most 2 MiB).
#[utoipa::path(put, path = "/api/v1/me/avatar", tag = "me",
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 200, body = Me),
        (status = 400, body = ErrorBody, description = "invalid-image"),
        (status = 413, body = ErrorBody, description = "payload-too-large"),
        (status = 415, body = ErrorBody, description = "unsupported-media-type")))]
pub async fn put_avatar(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Me>, ApiError> {
    let body = body.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "an avatar is at most 2 MiB",
        )
    })?;
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let ct = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if ct != "image/png" && ct != "image/jpeg" {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "upload the avatar as image/png or image/jpeg",
        ));
    }
    Ok(Json(me_dto(state.accounts.set_avatar(&p, body.to_vec(), &ct).await?)))
}

/// The avatar (PNG).
#[utoipa::path(get, path = "/api/v1/me/avatar", tag = "me",
    responses((status = 200, content_type = "image/png", body = Vec<u8>),
        (status = 404, body = ErrorBody)))]
pub async fn get_avatar(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Response, ApiError> {
    match state.accounts.avatar(&p).await? {
        Some(png) => Ok((
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "private, max-age=86400"),
            ],
            png,
        )
            .into_response()),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "not-found", "no avatar is set")),
    }
}

/// Change the password; every other session is signed out.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "me", request_body = ChangePasswordRequest,
    responses((status = 204),
        (status = 400, body = ErrorBody, description = "wrong-password, weak-password"),
        (status = 401, body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    state.accounts.change_password(&p, &req.current_password, &req.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Live sessions of the account.
#[utoipa::path(get, path = "/api/v1/me/sessions", tag = "me",
    responses((status = 200, body = Vec<SessionInfo>), (status = 401, body = ErrorBody)))]
pub async fn sessions(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<Vec<SessionInfo>>, ApiError> {
    let list = state.accounts.sessions(&p).await?;
    Ok(Json(
        list.into_iter()
            .map(|s| SessionInfo {
                id: s.id.0,
                client: s.client,
                ip: s.ip,
                created_at: s.created_at.to_rfc3339(),
                last_used_at: s.last_used_at.to_rfc3339(),
                current: s.current,
                signed_in_with: s.signed_in_with,
            })
            .collect(),
    ))
}

/// Sign out one session.
#[utoipa::path(delete, path = "/api/v1/me/sessions/{id}", tag = "me",
    params(("id" = uuid::Uuid, Path, description = "session id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn revoke_session(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let id: SessionId = id.parse().map_err(|_| {
        ApiError::new(StatusCode::NOT_FOUND, "session-not-found", "no such session")
    })?;
    state.accounts.revoke_session(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Recent login attempts on the account.
#[utoipa::path(get, path = "/api/v1/me/logins", tag = "me",
    responses((status = 200, body = Vec<LoginRecord>), (status = 401, body = ErrorBody)))]
pub async fn logins(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<Vec<LoginRecord>>, ApiError> {
    let list = state.accounts.login_history(&p).await?;
    Ok(Json(
        list.into_iter()
            .map(|e| LoginRecord {
                at: e.at.to_rfc3339(),
                ip: e.ip,
                client: e.client,
                outcome: match e.outcome {
                    DbOutcome::Success => LoginOutcome::Success,
                    DbOutcome::BadPassword => LoginOutcome::BadPassword,
                    DbOutcome::Locked => LoginOutcome::Locked,
                    DbOutcome::Banned => LoginOutcome::Banned,
                    DbOutcome::SecondFactorFailed => LoginOutcome::SecondFactorFailed,
                },
                new_device: e.new_device,
            })
            .collect(),
    ))
}
