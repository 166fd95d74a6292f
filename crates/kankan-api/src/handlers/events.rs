//! `/api/v1/events*`: the Message Center. Events belong to the account that owned the device
//! when it noticed them and are looked up under it, so another account's event is not found.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use kankan_base::Timestamp;
use kankan_protocol::v1::{ErrorBody, EventItem, EventQuery};

use crate::extract::CurrentUser;
use crate::{ApiError, AppState};

/// The caller's events, newest first.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventQuery),
    responses((status = 200, body = Vec<EventItem>), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    Query(q): Query<EventQuery>,
) -> Result<Json<Vec<EventItem>>, ApiError> {
    let before = q.before_ms.map(Timestamp);
    let rows = state.events.list(&p, q.device.as_deref(), before, q.limit.unwrap_or(50)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|e| EventItem {
                id: e.id,
                kind: e.kind.as_str().to_string(),
                device: e.uid,
                started_at_ms: e.started_at.0,
                ended_at_ms: e.ended_at.map(|t| t.0),
                zone: e.zone,
                read: e.read_at.is_some(),
            })
            .collect(),
    ))
}

/// Marks one of the caller's events read.
#[utoipa::path(post, path = "/api/v1/events/{id}/read", tag = "events",
    params(("id" = uuid::Uuid, Path, description = "event id")),
    responses((status = 204), (status = 404, body = ErrorBody, description = "not-found"),
        (status = 401, body = ErrorBody)))]
pub async fn read(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.events.mark_read(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes one of the caller's events.
#[utoipa::path(delete, path = "/api/v1/events/{id}", tag = "events",
    params(("id" = uuid::Uuid, Path, description = "event id")),
    responses((status = 204), (status = 404, body = ErrorBody, description = "not-found"),
        (status = 401, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.events.delete(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
