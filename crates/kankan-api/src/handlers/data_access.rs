//! The user's rights over their data (`/api/v1/me/data-access`, `/api/v1/me/requests`) and
//! the staff's side of them (`/api/v1/admin/requests*`, `/api/v1/admin/audit`). Every staff
//! action here is written to the audit log.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kankan_accounts::RequestView;
use kankan_core::audit::{Actor, Record};
use kankan_protocol::v1::{
    AuditEntryInfo, AuditPage, AuditQuery, ClosePrivacyRequest, DataAccessEntry,
    DataAccessResponse, ErrorBody, NewPrivacyRequest, PrivacyRequestInfo, PrivacyRequestList,
    RequestQueueQuery,
};

use crate::extract::{ApiJson, CurrentStaff, CurrentUser};
use crate::reject::{ApiPath, ApiQuery};
use crate::{ApiError, AppState};

/// Most entries the caller sees of the accesses to their data.
const DATA_ACCESS_LIMIT: u32 = 200;
/// Most requests one page of the staff queue shows.
const QUEUE_LIMIT: u32 = 500;

fn request_info(r: RequestView, message: Option<String>) -> PrivacyRequestInfo {
    PrivacyRequestInfo {
        id: r.id,
        account: r.account.0,
        kind: r.kind,
        origin: r.origin,
        received_at_ms: r.received_at.0,
        due_at_ms: r.due_at.0,
        state: r.state,
        closed_at_ms: r.closed_at.map(|t| t.0),
        overdue: r.overdue,
        has_message: r.has_message,
        message,
    }
}

/// Who did something, as the user reads it.
fn who(actor: &str, staff: Option<(String, String)>) -> (String, Option<String>) {
    match actor.split_once(':') {
        Some(("staff", _)) => {
            ("staff".into(), Some(staff.map_or("staff".into(), |(n, r)| format!("{n} ({r})"))))
        }
        Some(("system", _)) => ("system".into(), Some(actor.to_string())),
        Some(("operator", name)) => ("operator".into(), Some(name.to_string())),
        _ => ("you".into(), None),
    }
}

/// Accesses to the caller's data and account by staff and the system, from the audit log,
/// newest first (at most 200).
#[utoipa::path(get, path = "/api/v1/me/data-access", tag = "me",
    responses((status = 200, body = DataAccessResponse), (status = 401, body = ErrorBody)))]
pub async fn data_access(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<DataAccessResponse>, ApiError> {
    let rows = state.audit.about(p.account_id, DATA_ACCESS_LIMIT).await?;
    let entries = rows
        .into_iter()
        .map(|e| {
            let (by, who) = who(&e.entry.actor, e.staff);
            DataAccessEntry {
                at_ms: e.entry.at.0,
                by,
                who,
                action: e.entry.action,
                detail: e.entry.detail,
            }
        })
        .collect();
    Ok(Json(DataAccessResponse { entries }))
}

/// File a data-subject request; it is due within `privacy.response_working_days` working days.
#[utoipa::path(post, path = "/api/v1/me/requests", tag = "me", request_body = NewPrivacyRequest,
    responses((status = 201, body = PrivacyRequestInfo),
        (status = 400, body = ErrorBody, description = "invalid-request"),
        (status = 401, body = ErrorBody)))]
pub async fn file_request(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<NewPrivacyRequest>,
) -> Result<(StatusCode, Json<PrivacyRequestInfo>), ApiError> {
    let message = req.message.as_deref().map(str::trim).filter(|m| !m.is_empty());
    let r = state.requests.file(p.account_id, &req.kind, message).await?;
    let message = message.map(str::to_string);
    Ok((StatusCode::CREATED, Json(request_info(r, message))))
}

/// The caller's data-subject requests, newest first, with their messages.
#[utoipa::path(get, path = "/api/v1/me/requests", tag = "me",
    responses((status = 200, body = PrivacyRequestList), (status = 401, body = ErrorBody)))]
pub async fn my_requests(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<PrivacyRequestList>, ApiError> {
    let rows = state.requests.mine(p.account_id).await?;
    let requests = rows.into_iter().map(|(r, m)| request_info(r, m)).collect();
    Ok(Json(PrivacyRequestList { requests }))
}

/// The data-subject request queue, the earliest due first, with overdue flags (no messages:
/// open one to read it). Logged.
#[utoipa::path(get, path = "/api/v1/admin/requests", tag = "admin", params(RequestQueueQuery),
    responses((status = 200, body = PrivacyRequestList), (status = 401, body = ErrorBody)))]
pub async fn queue(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiQuery(q): ApiQuery<RequestQueueQuery>,
) -> Result<Json<PrivacyRequestList>, ApiError> {
    let all = q.all.unwrap_or(false);
    let rows = state.requests.queue(!all, QUEUE_LIMIT).await?;
    let actor = Actor::Staff(staff.id);
    let detail = format!("all={all} count={}", rows.len());
    state
        .audit
        .append(Record { actor: &actor, action: "privacy-requests-listed", subject: None, detail })
        .await?;
    let requests = rows.into_iter().map(|r| request_info(r, None)).collect();
    Ok(Json(PrivacyRequestList { requests }))
}

/// One request with its message: the reading is written to the audit log, which its account
/// sees.
#[utoipa::path(get, path = "/api/v1/admin/requests/{id}", tag = "admin",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = PrivacyRequestInfo), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn read_request(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<Json<PrivacyRequestInfo>, ApiError> {
    let (r, message) = state.requests.read(&Actor::Staff(staff.id), id).await?;
    Ok(Json(request_info(r, message)))
}

/// Close an open request as `done` or `refused` (logged).
#[utoipa::path(post, path = "/api/v1/admin/requests/{id}/close", tag = "admin",
    params(("id" = uuid::Uuid, Path)), request_body = ClosePrivacyRequest,
    responses((status = 200, body = PrivacyRequestInfo),
        (status = 400, body = ErrorBody, description = "invalid-request"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn close_request(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiPath(id): ApiPath<uuid::Uuid>,
    ApiJson(req): ApiJson<ClosePrivacyRequest>,
) -> Result<Json<PrivacyRequestInfo>, ApiError> {
    let r = state.requests.close(&Actor::Staff(staff.id), id, &req.state).await?;
    Ok(Json(request_info(r, None)))
}

/// The audit log in order, from an entry on (reading it is logged too).
#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 401, body = ErrorBody)))]
pub async fn audit(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let after = q.after.unwrap_or(0).max(0);
    let limit = q.limit.unwrap_or(200).clamp(1, 1000);
    let actor = Actor::Staff(staff.id);
    let detail = format!("after={after} limit={limit}");
    state
        .audit
        .append(Record { actor: &actor, action: "audit-read", subject: None, detail })
        .await?;
    let rows = state.audit.entries(after, limit).await?;
    let entries = rows
        .into_iter()
        .map(|e| AuditEntryInfo {
            seq: e.seq,
            at_ms: e.entry.at.0,
            actor: e.entry.actor,
            action: e.entry.action,
            subject: e.entry.subject.map(|a| a.0),
            detail: e.entry.detail,
            hash: e.hash.iter().map(|b| format!("{b:02x}")).collect(),
        })
        .collect();
    Ok(Json(AuditPage { entries }))
}
