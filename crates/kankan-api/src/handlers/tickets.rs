//! Support tickets, the user's side (`/api/v1/support/tickets*`), and a camera's logs for one:
//! asked (`POST /api/v1/devices/{uid}/logs`), polled and read before sending
//! (`GET /api/v1/devices/{uid}/logs/{request}`), and posted by the camera with its own
//! credentials (`POST /ingest/v1/{uid}/logs/{request}`).

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use kankan_core::authz::Capability;
use kankan_protocol::device::LOGS_MAX_BYTES;
use kankan_protocol::v1::{
    DeviceLogsInfo, ErrorBody, NewTicket, NewTicketMessage, TicketAttachmentInfo, TicketDetail,
    TicketDevice, TicketInfo, TicketList, TicketMessageInfo,
};
use kankan_support::LogsView;
use kankan_support::tickets::{MessageView, Thread, TicketView};

use crate::extract::{ApiJson, CurrentUser};
use crate::handlers::ingest::{challenge, device_authenticated};
use crate::reject::ApiPath;
use crate::{ApiError, AppState};

fn logs_dto(v: LogsView) -> DeviceLogsInfo {
    DeviceLogsInfo {
        id: v.id,
        uid: v.uid,
        state: v.state,
        text: v.text,
        bytes: v.bytes,
        created_at_ms: v.created_at.0,
        expires_at_ms: v.expires_at.0,
    }
}

pub(crate) fn ticket_dto(t: TicketView, staff: bool) -> TicketInfo {
    TicketInfo {
        id: t.id,
        category: t.category,
        subject: t.subject,
        state: t.state,
        device_uid: t.device.map(|d| d.uid),
        assignee: if staff { t.assignee.map(|s| s.0) } else { None },
        unread: t.unread,
        created_at_ms: t.created_at.0,
        updated_at_ms: t.updated_at.0,
    }
}

pub(crate) fn message_dto(m: MessageView) -> TicketMessageInfo {
    TicketMessageInfo { id: m.id, author: m.author, body: m.body, at_ms: m.at.0, unread: m.unread }
}

pub(crate) fn thread_dto(t: Thread, staff: bool) -> TicketDetail {
    let device = t.ticket.device.clone().map(|d| TicketDevice {
        uid: d.uid,
        model: d.model,
        firmware: d.firmware,
        online: d.online,
    });
    TicketDetail {
        ticket: ticket_dto(t.ticket, staff),
        device,
        messages: t.messages.into_iter().map(message_dto).collect(),
        attachments: t
            .attachments
            .into_iter()
            .map(|a| TicketAttachmentInfo {
                id: a.id,
                kind: a.kind.into(),
                bytes: a.bytes,
                created_at_ms: a.created_at.0,
            })
            .collect(),
    }
}

/// Ask the camera for its logs, to attach to a support ticket (`change-settings`: the
/// owner's by default). The camera uploads them at once; poll the request until it is
/// `ready` and read them before deciding to send them. Deleted after a day unless attached.
#[utoipa::path(post, path = "/api/v1/devices/{uid}/logs", tag = "support",
    params(("uid" = String, Path)),
    responses((status = 202, body = DeviceLogsInfo), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "device-not-found"),
        (status = 409, body = ErrorBody, description = "device-offline"),
        (status = 404, body = ErrorBody, description = "logs-unavailable: the camera refused")))]
pub async fn request_logs(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
) -> Result<(StatusCode, Json<DeviceLogsInfo>), ApiError> {
    let h = state.devices.authorize_device(&p, Capability::ChangeSettings, &uid).await?;
    let v = state.support.request_logs(&p, &h).await?;
    Ok((StatusCode::ACCEPTED, Json(logs_dto(v))))
}

/// A logs request of yours: `waiting` until the camera uploads, then `ready` with the text.
#[utoipa::path(get, path = "/api/v1/devices/{uid}/logs/{request}", tag = "support",
    params(("uid" = String, Path), ("request" = String, Path)),
    responses((status = 200, body = DeviceLogsInfo), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "device-not-found, logs-unavailable")))]
pub async fn read_logs(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath((uid, request)): ApiPath<(String, String)>,
) -> Result<Json<DeviceLogsInfo>, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::ChangeSettings, &uid).await?;
    Ok(Json(logs_dto(state.support.logs(&p, h.uid(), &request).await?)))
}

/// The camera's logs (its own credentials): UTF-8 text, at most 256 KiB, for a request
/// waiting for them. 404 when none waits (unknown, answered, expired, another camera's).
#[utoipa::path(post, path = "/ingest/v1/{uid}/logs/{request}", tag = "ingest",
    params(("uid" = String, Path), ("request" = String, Path)),
    request_body(content = String, content_type = "text/plain"),
    responses((status = 204, description = "stored"),
        (status = 400, body = ErrorBody, description = "invalid-logs: not UTF-8 text"),
        (status = 401, body = ErrorBody, description = "invalid-device-credentials"),
        (status = 404, body = ErrorBody, description = "not-found: nobody waits for it"),
        (status = 413, body = ErrorBody, description = "logs-too-large")))]
pub async fn logs_upload(
    State(state): State<AppState>,
    ApiPath((uid, request)): ApiPath<(String, String)>,
    headers: HeaderMap,
    mut body: Body,
) -> Result<Response, ApiError> {
    if !device_authenticated(&state, &uid, &headers).await {
        return Ok(challenge());
    }
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid-logs", e.to_string()))?;
        let Ok(data) = frame.into_data() else { continue };
        bytes.extend_from_slice(&data);
        if bytes.len() > LOGS_MAX_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "logs-too-large",
                format!("logs are at most {LOGS_MAX_BYTES} bytes"),
            ));
        }
    }
    state.support.receive_logs(&uid, &request, &bytes).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Open a support ticket: a category, a subject, what happened, optionally the camera it is
/// about (its model, firmware and whether it is online are recorded) and that camera's logs
/// you read first. At most 10 an hour.
#[utoipa::path(post, path = "/api/v1/support/tickets", tag = "support",
    request_body = NewTicket,
    responses((status = 201, body = TicketInfo),
        (status = 400, body = ErrorBody, description = "invalid-ticket"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "device-not-found, logs-unavailable"),
        (status = 429, body = ErrorBody, description = "too-many-requests")))]
pub async fn open(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<NewTicket>,
) -> Result<(StatusCode, Json<TicketInfo>), ApiError> {
    let new = kankan_support::tickets::NewTicket {
        category: req.category,
        subject: req.subject,
        body: req.body,
        device_uid: req.device_uid,
        logs_request: req.logs_request,
    };
    let t = state.support.open_ticket(&p, new).await?;
    Ok((StatusCode::CREATED, Json(ticket_dto(t, false))))
}

/// Your tickets, latest activity first, each with the staff replies you have not read.
#[utoipa::path(get, path = "/api/v1/support/tickets", tag = "support",
    responses((status = 200, body = TicketList), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<TicketList>, ApiError> {
    let tickets = state.support.my_tickets(&p).await?;
    Ok(Json(TicketList { tickets: tickets.into_iter().map(|t| ticket_dto(t, false)).collect() }))
}

/// One of your tickets with its thread; staff replies you had not read are marked `unread`
/// (and are read from now on).
#[utoipa::path(get, path = "/api/v1/support/tickets/{id}", tag = "support",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = TicketDetail), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "ticket-not-found")))]
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<Json<TicketDetail>, ApiError> {
    Ok(Json(thread_dto(state.support.my_ticket(&p, id).await?, false)))
}

/// Add a message to your open ticket.
#[utoipa::path(post, path = "/api/v1/support/tickets/{id}/messages", tag = "support",
    params(("id" = uuid::Uuid, Path)), request_body = NewTicketMessage,
    responses((status = 201, body = TicketMessageInfo),
        (status = 400, body = ErrorBody, description = "invalid-ticket"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "ticket-not-found"),
        (status = 409, body = ErrorBody, description = "ticket-closed")))]
pub async fn reply(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
    ApiJson(req): ApiJson<NewTicketMessage>,
) -> Result<(StatusCode, Json<TicketMessageInfo>), ApiError> {
    let m = state.support.user_reply(&p, id, &req.body).await?;
    Ok((StatusCode::CREATED, Json(message_dto(m))))
}

/// Close your ticket.
#[utoipa::path(post, path = "/api/v1/support/tickets/{id}/close", tag = "support",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "ticket-not-found"),
        (status = 409, body = ErrorBody, description = "ticket-closed")))]
pub async fn close(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<StatusCode, ApiError> {
    state.support.user_close(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
