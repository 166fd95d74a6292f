//! Support grants: the user lets staff play back some of their devices' recordings for 1-72
//! hours (`/api/v1/me/support-grants*`); staff take a playback link under one
//! (`/api/v1/admin/support/...`), logged for the user to see. Without a live grant the device
//! answers `device-not-found`, as if it did not exist.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kankan_base::AccountId;
use kankan_core::authz::Capability;
use kankan_devices::SupportGrant;
use kankan_protocol::v1::{
    ErrorBody, LinkPurpose as WirePurpose, NewSupportGrant, RecordingLink, SupportGrantInfo,
    SupportGrantList,
};

use crate::extract::{ApiJson, CurrentStaff, CurrentUser};
use crate::reject::ApiPath;
use crate::{ApiError, AppState};

fn info(g: SupportGrant, live: bool) -> SupportGrantInfo {
    SupportGrantInfo {
        id: g.id,
        live,
        devices: g.devices,
        created_at_ms: g.created_at.0,
        expires_at_ms: g.expires_at.0,
        withdrawn_at_ms: g.withdrawn_at.map(|t| t.0),
    }
}

/// Let staff play back the recordings of some of your devices for 1-72 hours. Logged, and you
/// get a notice.
#[utoipa::path(post, path = "/api/v1/me/support-grants", tag = "me",
    request_body = NewSupportGrant,
    responses((status = 201, body = SupportGrantInfo),
        (status = 400, body = ErrorBody, description = "invalid-request"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "device-not-found: not one of yours")))]
pub async fn give(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<NewSupportGrant>,
) -> Result<(StatusCode, Json<SupportGrantInfo>), ApiError> {
    let g = state.devices.give_support_grant(&p, req.hours, &req.devices).await?;
    Ok((StatusCode::CREATED, Json(info(g, true))))
}

/// Your support grants, newest first.
#[utoipa::path(get, path = "/api/v1/me/support-grants", tag = "me",
    responses((status = 200, body = SupportGrantList), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<SupportGrantList>, ApiError> {
    let grants = state.devices.support_grants(&p).await?;
    Ok(Json(SupportGrantList { grants: grants.into_iter().map(|(g, l)| info(g, l)).collect() }))
}

/// Withdraw a support grant at once. Logged, and you get a notice.
#[utoipa::path(delete, path = "/api/v1/me/support-grants/{id}", tag = "me",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no live grant of yours")))]
pub async fn withdraw(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<StatusCode, ApiError> {
    state.devices.withdraw_support_grant(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A playback link for an account's device under the account's live support grant (staff
/// only). Each one is written to the audit log, which the account reads; without a live grant
/// naming the device: `device-not-found`.
#[utoipa::path(post, path = "/api/v1/admin/support/{account}/devices/{uid}/recordings/link",
    tag = "admin", params(("account" = uuid::Uuid, Path), ("uid" = String, Path)),
    responses((status = 200, body = RecordingLink), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "device-not-found")))]
pub async fn staff_link(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiPath((account, uid)): ApiPath<(uuid::Uuid, String)>,
) -> Result<Json<RecordingLink>, ApiError> {
    let account = AccountId(account);
    let h = state
        .devices
        .support_access(staff.id, account, &uid, Capability::PlayBack, "purpose=playback")
        .await?;
    let l = state.recordings.support_link(staff.id, &h)?;
    Ok(Json(RecordingLink {
        token: l.token,
        purpose: WirePurpose::Playback,
        media_base: format!("/media/v1/{}", h.uid()),
        expires_at: l.expires_at.to_rfc3339(),
        ice_servers: Vec::new(),
    }))
}
