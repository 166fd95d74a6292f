//! Support tickets, the staff's side (`/api/v1/admin/tickets*`): the queue, a thread,
//! assigning, replying, closing, and the attachments for the ticket's assignee only. Each
//! route's permission is in the route table; every action is in the audit log.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kankan_base::StaffId;
use kankan_protocol::v1::{
    AssignTicket, ErrorBody, NewTicketMessage, TicketAttachmentText, TicketDetail, TicketList,
    TicketMessageInfo,
};
use kankan_support::staff::QueueFilter;
use serde::Deserialize;

use crate::extract::{ApiJson, CurrentStaff};
use crate::handlers::tickets::{message_dto, thread_dto, ticket_dto};
use crate::reject::{ApiPath, ApiQuery};
use crate::{ApiError, AppState};

/// The queue's filter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueQuery {
    /// `open` or `closed`; any when absent.
    pub state: Option<String>,
    /// `true`: only the tickets assigned to you.
    pub mine: Option<bool>,
}

/// The ticket queue, latest activity first (`tickets-read`).
#[utoipa::path(get, path = "/api/v1/admin/tickets", tag = "admin", params(QueueQuery),
    responses((status = 200, body = TicketList),
        (status = 400, body = ErrorBody, description = "invalid-ticket: the state"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn queue(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> Result<Json<TicketList>, ApiError> {
    let f = QueueFilter { state: q.state, mine: q.mine.unwrap_or(false) };
    let tickets = state.support.queue(&staff, f).await?;
    Ok(Json(TicketList { tickets: tickets.into_iter().map(|t| ticket_dto(t, true)).collect() }))
}

/// A ticket's thread and its attachments' metadata (`tickets-read`).
#[utoipa::path(get, path = "/api/v1/admin/tickets/{id}", tag = "admin",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = TicketDetail), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "ticket-not-found")))]
pub async fn get(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<Json<TicketDetail>, ApiError> {
    Ok(Json(thread_dto(state.support.staff_ticket(&staff, id).await?, true)))
}

/// Assign a ticket: to yourself (`tickets-reply`), or to another staff member who reads
/// tickets (`tickets-assign` too). Answers the ticket as it is now.
#[utoipa::path(post, path = "/api/v1/admin/tickets/{id}/assign", tag = "admin",
    params(("id" = uuid::Uuid, Path)), request_body = AssignTicket,
    responses((status = 200, body = TicketDetail),
        (status = 400, body = ErrorBody, description = "invalid-ticket: not a staff member who reads tickets"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "staff-forbidden"),
        (status = 404, body = ErrorBody, description = "ticket-not-found")))]
pub async fn assign(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiPath(id): ApiPath<uuid::Uuid>,
    ApiJson(req): ApiJson<AssignTicket>,
) -> Result<Json<TicketDetail>, ApiError> {
    state.support.assign(&staff, id, req.staff_id.map(StaffId)).await?;
    Ok(Json(thread_dto(state.support.staff_ticket(&staff, id).await?, true)))
}

/// Reply on an open ticket (`tickets-reply`): the user is told "Support replied to your
/// ticket" and reads the reply in the thread.
#[utoipa::path(post, path = "/api/v1/admin/tickets/{id}/messages", tag = "admin",
    params(("id" = uuid::Uuid, Path)), request_body = NewTicketMessage,
    responses((status = 201, body = TicketMessageInfo),
        (status = 400, body = ErrorBody, description = "invalid-ticket"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "ticket-not-found"),
        (status = 409, body = ErrorBody, description = "ticket-closed")))]
pub async fn reply(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiPath(id): ApiPath<uuid::Uuid>,
    ApiJson(req): ApiJson<NewTicketMessage>,
) -> Result<(StatusCode, Json<TicketMessageInfo>), ApiError> {
    let m = state.support.staff_reply(&staff, id, &req.body).await?;
    Ok((StatusCode::CREATED, Json(message_dto(m))))
}

/// Close a ticket (`tickets-reply`).
#[utoipa::path(post, path = "/api/v1/admin/tickets/{id}/close", tag = "admin",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "ticket-not-found"),
        (status = 409, body = ErrorBody, description = "ticket-closed")))]
pub async fn close(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<StatusCode, ApiError> {
    state.support.staff_close(&staff, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An attachment of a ticket (a camera's logs): `tickets-read` and the ticket's assignee
/// only, whatever the role (`staff-forbidden` otherwise). Logged.
#[utoipa::path(get, path = "/api/v1/admin/tickets/{id}/attachments/{att}", tag = "admin",
    params(("id" = uuid::Uuid, Path), ("att" = String, Path)),
    responses((status = 200, body = TicketAttachmentText), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "staff-forbidden: not the assignee"),
        (status = 404, body = ErrorBody, description = "ticket-not-found, attachment-not-found")))]
pub async fn attachment(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiPath((id, att)): ApiPath<(uuid::Uuid, String)>,
) -> Result<Json<TicketAttachmentText>, ApiError> {
    let a = state.support.attachment(&staff, id, &att).await?;
    Ok(Json(TicketAttachmentText { id: a.id, kind: a.kind.into(), text: a.text }))
}
