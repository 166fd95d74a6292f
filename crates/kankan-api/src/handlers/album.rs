//! `/api/v1/album*`: screenshots and clips saved from live view; listed, downloaded and
//! deleted. Saving one reaches the camera only through `Devices::authorize_device` (`download`;
//! a screenshot also `view-live`); the items then belong to the account and are reached through
//! `Album::authorize_item`, so another account's item is not found.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kankan_core::authz::Capability;
use kankan_protocol::v1::{AlbumItem, AlbumKind, ClipRequest, ErrorBody, ScreenshotRequest};
use kankan_recording::album::AlbumEntry;
use kankan_recording::album::AlbumKind as DbKind;

use crate::extract::{ApiJson, CurrentUser};
use crate::reject::ApiPath;
use crate::{ApiError, AppState};

fn item(e: AlbumEntry) -> AlbumItem {
    AlbumItem {
        id: e.id,
        kind: match e.kind {
            DbKind::Screenshot => AlbumKind::Screenshot,
            DbKind::Clip => AlbumKind::Clip,
        },
        device: e.uid,
        device_name: e.device_name,
        taken_at_ms: e.taken_at.0,
        duration_ms: e.duration_ms,
        bytes: e.bytes,
        created_at: e.created_at.to_rfc3339(),
        content_url: format!("/api/v1/album/{}/content", e.id),
    }
}

/// Save the picture the camera streams now (a JPEG).
#[utoipa::path(post, path = "/api/v1/album/screenshots", tag = "album",
    request_body = ScreenshotRequest,
    responses((status = 201, body = AlbumItem),
        (status = 404, body = ErrorBody, description = "device-not-found, not-live"),
        (status = 401, body = ErrorBody)))]
pub async fn screenshot(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<ScreenshotRequest>,
) -> Result<(StatusCode, Json<AlbumItem>), ApiError> {
    let need = Capability::ViewLive | Capability::Download;
    let h = state.devices.authorize_device(&p, need, &req.device).await?;
    Ok((StatusCode::CREATED, Json(item(state.album.screenshot(&h).await?))))
}

/// Save the last `seconds` (1-60) of the camera's newest recorded footage (an MP4).
#[utoipa::path(post, path = "/api/v1/album/clips", tag = "album",
    request_body = ClipRequest,
    responses((status = 201, body = AlbumItem),
        (status = 400, body = ErrorBody, description = "invalid-device-input (seconds), invalid-body"),
        (status = 404, body = ErrorBody, description = "device-not-found, no-recording"),
        (status = 401, body = ErrorBody)))]
pub async fn clip(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<ClipRequest>,
) -> Result<(StatusCode, Json<AlbumItem>), ApiError> {
    let h = state.devices.authorize_device(&p, Capability::Download, &req.device).await?;
    Ok((StatusCode::CREATED, Json(item(state.album.clip(&h, req.seconds).await?))))
}

/// The caller's Album, the most recently saved first (at most 1000 items).
#[utoipa::path(get, path = "/api/v1/album", tag = "album",
    responses((status = 200, body = Vec<AlbumItem>), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<Vec<AlbumItem>>, ApiError> {
    Ok(Json(state.album.list(&p).await?.into_iter().map(item).collect()))
}

/// An item's content, decrypted: `image/jpeg` or `video/mp4`, as an attachment.
#[utoipa::path(get, path = "/api/v1/album/{id}/content", tag = "album",
    params(("id" = uuid::Uuid, Path, description = "album item id")),
    responses((status = 200, content((Vec<u8> = "image/jpeg"), (Vec<u8> = "video/mp4"))),
        (status = 404, body = ErrorBody, description = "not-found"),
        (status = 401, body = ErrorBody)))]
pub async fn content(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let h = state.album.authorize_item(&p, &id).await?;
    let c = state.album.content(&h).await?;
    let (ctype, ext) = match c.entry.kind {
        DbKind::Screenshot => ("image/jpeg", "jpg"),
        DbKind::Clip => ("video/mp4", "mp4"),
    };
    let name =
        format!("attachment; filename=\"kankan-{}-{}.{ext}\"", c.entry.uid, c.entry.taken_at.0);
    let mut resp = c.bytes.into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    if let Ok(v) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// Delete an item and its content.
#[utoipa::path(delete, path = "/api/v1/album/{id}", tag = "album",
    params(("id" = uuid::Uuid, Path, description = "album item id")),
    responses((status = 204), (status = 404, body = ErrorBody, description = "not-found"),
        (status = 401, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let h = state.album.authorize_item(&p, &id).await?;
    state.album.delete(&h).await?;
    Ok(StatusCode::NO_CONTENT)
}
