//! `/api/v1/me/exports*`: "Download my data". An export is the caller's own: started, listed,
//! downloaded and deleted only by its account (another account's answers `not-found`). The
//! cameras a request names must be ones the caller may download from (`device-not-found`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use kankan_export::{Export, Status};
use kankan_protocol::v1::{
    CreateExportRequest, CreatedExport, ErrorBody, ExportProgress, ExportStateView, ExportView,
};

use crate::extract::{ApiJson, CurrentUser};
use crate::reject::ApiPath;
use crate::{ApiError, AppState};

fn view(e: Export) -> ExportView {
    ExportView {
        id: e.id,
        state: match e.status {
            Status::Queued => ExportStateView::Queued,
            Status::Running => ExportStateView::Running,
            Status::Ready => ExportStateView::Ready,
            Status::Failed => ExportStateView::Failed,
            Status::Expired => ExportStateView::Expired,
        },
        progress: ExportProgress { done: e.done, total: e.total },
        size_bytes: e.size_bytes,
        media: e.media,
        error: e.error,
        created_at_ms: e.created_at.0,
        ready_at_ms: e.ready_at.map(|t| t.0),
        expires_at_ms: e.expires_at.0,
    }
}

/// Start building a ZIP of the caller's data with the media chosen; it is built in the
/// background (follow it with `GET /api/v1/me/exports/{id}`).
#[utoipa::path(post, path = "/api/v1/me/exports", tag = "me",
    request_body = CreateExportRequest,
    responses((status = 202, body = CreatedExport),
        (status = 400, body = ErrorBody,
            description = "too-many-export-ranges, export-range-invalid, invalid-body"),
        (status = 404, body = ErrorBody, description = "device-not-found (a camera named)"),
        (status = 409, body = ErrorBody, description = "export-running"),
        (status = 429, body = ErrorBody, description = "too-many-requests"),
        (status = 401, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<CreateExportRequest>,
) -> Result<(StatusCode, Json<CreatedExport>), ApiError> {
    let e = state.exports.start(&p, req.media).await?;
    Ok((StatusCode::ACCEPTED, Json(CreatedExport { id: e.id })))
}

/// The caller's exports, the newest first.
#[utoipa::path(get, path = "/api/v1/me/exports", tag = "me",
    responses((status = 200, body = Vec<ExportView>), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<Vec<ExportView>>, ApiError> {
    Ok(Json(state.exports.list(&p).await?.into_iter().map(view).collect()))
}

/// One export: its state and progress.
#[utoipa::path(get, path = "/api/v1/me/exports/{id}", tag = "me",
    params(("id" = uuid::Uuid, Path, description = "export id")),
    responses((status = 200, body = ExportView),
        (status = 404, body = ErrorBody, description = "not-found"),
        (status = 401, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ExportView>, ApiError> {
    Ok(Json(view(state.exports.get(&p, &id).await?)))
}

/// Delete an export (a build in progress stops).
#[utoipa::path(delete, path = "/api/v1/me/exports/{id}", tag = "me",
    params(("id" = uuid::Uuid, Path, description = "export id")),
    responses((status = 204), (status = 404, body = ErrorBody, description = "not-found"),
        (status = 401, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.exports.delete(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The ZIP of a ready export, decrypted as it streams (as an attachment).
#[utoipa::path(get, path = "/api/v1/me/exports/{id}/download", tag = "me",
    params(("id" = uuid::Uuid, Path, description = "export id")),
    responses((status = 200, content((Vec<u8> = "application/zip"))),
        (status = 404, body = ErrorBody, description = "not-found"),
        (status = 409, body = ErrorBody, description = "export-not-ready, export-expired"),
        (status = 401, body = ErrorBody)))]
pub async fn download(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let d = state.exports.download(&p, &id).await?;
    // Streamed as it is decrypted; a failure half-way ends the body early, which the client
    // sees as a short download against Content-Length.
    let chunks = futures_util::stream::unfold(d.chunks, |mut rx| async move {
        rx.recv().await.map(|c| (c.map_err(std::io::Error::other), rx))
    });
    let mut resp = Response::new(axum::body::Body::from_stream(chunks));
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(d.len));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    let name = format!("attachment; filename=\"{}\"", d.file_name);
    if let Ok(v) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
