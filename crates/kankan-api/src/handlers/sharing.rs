//! Sharing: invitations (`/api/v1/shares`, `/api/v1/invitations/*`), a device's members, the
//! caller leaving a shared device, and the membership history. The device routes reach the
//! device through `Devices::authorize_device` with `share` (the owner only).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use kankan_base::{AccountId, Timestamp};
use kankan_core::authz::Capability;
use kankan_devices::{MemberView, NamedDevice};
use kankan_protocol::v1::{
    AcceptedInvitation, CreateShareRequest, CreatedShare, ErrorBody, InvitationPreview,
    InvitationToken, Member, MembershipChange, OfferedDevice, PendingShare, SharedDeviceRef,
    UpdateMemberRequest,
};

use crate::extract::{ApiJson, CurrentUser};
use crate::reject::ApiPath;
use crate::{ApiError, AppState};

fn device_refs(devices: Vec<NamedDevice>) -> Vec<SharedDeviceRef> {
    devices.into_iter().map(|(uid, name)| SharedDeviceRef { uid, name }).collect()
}

fn member_dto(m: MemberView) -> Member {
    Member {
        account: m.account.0,
        nickname: m.nickname,
        capabilities: m.capabilities.iter().map(|c| c.name().to_string()).collect(),
        until_ms: m.until.map(|t| t.0),
        schedule: m.schedule,
        joined_at_ms: m.joined_at.0,
    }
}

/// The origin links are made with: `server.public_url`, else the one the request named.
fn origin(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = &state.config.public_url {
        return u.trim_end_matches('/').to_string();
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
    let scheme = if state.config.cookie_secure { "https" } else { "http" };
    format!("{scheme}://{host}")
}

fn account_of(s: &str) -> Result<AccountId, ApiError> {
    s.parse()
        .map(AccountId)
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such member"))
}

/// Invite someone to one or more of the caller's devices: a single-use link and QR code,
/// expiring (24 hours by default), optionally only for one e-mail address or phone number.
#[utoipa::path(post, path = "/api/v1/shares", tag = "sharing",
    request_body = CreateShareRequest,
    responses((status = 201, body = CreatedShare),
        (status = 400, body = ErrorBody, description = "invalid-share, invalid-identifier"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody,
            description = "device-not-found: a device is not the caller's own"),
        (status = 429, body = ErrorBody, description = "too-many-requests: 20 an hour")))]
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    headers: HeaderMap,
    ApiJson(req): ApiJson<CreateShareRequest>,
) -> Result<(StatusCode, Json<CreatedShare>), ApiError> {
    let origin = origin(&state, &headers);
    let inv = state
        .devices
        .create_invitation(&p, &req.devices, req.bound_to.as_deref(), req.expires_in_hours, &origin)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedShare {
            id: inv.id,
            token: inv.token,
            link: inv.link,
            qr_svg: inv.qr_svg,
            expires_at_ms: inv.expires_at.0,
            devices: device_refs(inv.devices),
        }),
    ))
}

/// The caller's pending invitations (not used, expired or withdrawn), newest first.
#[utoipa::path(get, path = "/api/v1/shares", tag = "sharing",
    responses((status = 200, body = Vec<PendingShare>), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<Vec<PendingShare>>, ApiError> {
    let pending = state.devices.pending_invitations(&p).await?;
    Ok(Json(
        pending
            .into_iter()
            .map(|i| PendingShare {
                id: i.id,
                devices: device_refs(i.devices),
                bound: i.bound,
                expires_at_ms: i.expires_at.0,
                created_at_ms: i.created_at.0,
            })
            .collect(),
    ))
}

/// Withdraw one of the caller's pending invitations.
#[utoipa::path(delete, path = "/api/v1/shares/{id}", tag = "sharing",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "not-found")))]
pub async fn revoke(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.devices.revoke_invitation(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What an invitation offers: the inviter's nickname and the cameras' names, nothing else.
#[utoipa::path(post, path = "/api/v1/invitations/preview", tag = "sharing",
    request_body = InvitationToken,
    responses((status = 200, body = InvitationPreview), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "invitation-invalid: unknown, used, \
            expired, withdrawn or bound to someone else (one answer)")))]
pub async fn preview(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<InvitationToken>,
) -> Result<Json<InvitationPreview>, ApiError> {
    let offer = state.devices.preview_invitation(&p, &req.token).await?;
    Ok(Json(InvitationPreview {
        inviter: offer.inviter,
        devices: offer.devices.into_iter().map(|name| OfferedDevice { name }).collect(),
        expires_at_ms: offer.expires_at.0,
    }))
}

/// Accept an invitation: the caller becomes a member of the cameras offered, with live view
/// and their alarms. Single use; the owner is told.
#[utoipa::path(post, path = "/api/v1/invitations/accept", tag = "sharing",
    request_body = InvitationToken,
    responses((status = 200, body = AcceptedInvitation), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "invitation-invalid"),
        (status = 409, body = ErrorBody, description = "invitation-own")))]
pub async fn accept(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<InvitationToken>,
) -> Result<Json<AcceptedInvitation>, ApiError> {
    let devices = state.devices.accept_invitation(&p, &req.token).await?;
    Ok(Json(AcceptedInvitation { devices }))
}

/// The device's members and what each may do.
#[utoipa::path(get, path = "/api/v1/devices/{uid}/members", tag = "sharing",
    params(("uid" = String, Path)),
    responses((status = 200, body = Vec<Member>), (status = 404, body = ErrorBody)))]
pub async fn members(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
) -> Result<Json<Vec<Member>>, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::Share, &uid).await?;
    Ok(Json(state.devices.members(&h).await?.into_iter().map(member_dto).collect()))
}

/// Set what a member may do with the device, optionally until a moment and inside a weekly
/// schedule. Sharing onward and unbinding are never granted.
#[utoipa::path(put, path = "/api/v1/devices/{uid}/members/{account}", tag = "sharing",
    params(("uid" = String, Path), ("account" = uuid::Uuid, Path)),
    request_body = UpdateMemberRequest,
    responses((status = 200, body = Member),
        (status = 400, body = ErrorBody, description = "invalid-share, a schedule's code"),
        (status = 404, body = ErrorBody, description = "device-not-found, not-found"),
        (status = 422, body = ErrorBody, description = "capability-not-grantable")))]
pub async fn update_member(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath((uid, account)): ApiPath<(String, String)>,
    ApiJson(req): ApiJson<UpdateMemberRequest>,
) -> Result<Json<Member>, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::Share, &uid).await?;
    let member = account_of(&account)?;
    let until = req.until_ms.map(Timestamp);
    let m = state.devices.update_member(&h, member, &req.capabilities, until, req.schedule).await?;
    Ok(Json(member_dto(m)))
}

/// Remove a member: its access ends at once, open streams included.
#[utoipa::path(delete, path = "/api/v1/devices/{uid}/members/{account}", tag = "sharing",
    params(("uid" = String, Path), ("account" = uuid::Uuid, Path)),
    responses((status = 204),
        (status = 404, body = ErrorBody, description = "device-not-found, not-found")))]
pub async fn remove_member(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath((uid, account)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::Share, &uid).await?;
    let member = account_of(&account)?;
    state.devices.remove_member(&h, member).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Leave a device shared with the caller.
#[utoipa::path(delete, path = "/api/v1/devices/{uid}/membership", tag = "sharing",
    params(("uid" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "device-not-found: not a member")))]
pub async fn leave(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.devices.leave(&p, &uid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who was invited, joined, changed, was removed or left, newest first.
#[utoipa::path(get, path = "/api/v1/devices/{uid}/members/history", tag = "sharing",
    params(("uid" = String, Path)),
    responses((status = 200, body = Vec<MembershipChange>), (status = 404, body = ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
) -> Result<Json<Vec<MembershipChange>>, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::Share, &uid).await?;
    let rows = state.devices.membership_history(&h).await?;
    Ok(Json(
        rows.into_iter()
            .map(|e| MembershipChange {
                at_ms: e.at.0,
                action: e.action.as_str().to_string(),
                member: e.member,
            })
            .collect(),
    ))
}
