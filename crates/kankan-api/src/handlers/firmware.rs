//! Firmware updates: the operator's images and rollouts (`/api/v1/admin/firmware/*`, staff),
//! the image a device downloads (`/ingest/v1/{uid}/firmware/{image}`, the device's own
//! credentials, resumable with `Range`), and a device's firmware for its owner. See
//! docs/ref/firmware.md.

use super::console::audit_staff;
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kankan_core::authz::Capability;
use kankan_firmware::range::{RangeAsk, parse_range};
use kankan_protocol::v1::{
    AvailableFirmware, CreateRolloutRequest, DeviceFirmwareInfo, ErrorBody, FirmwareImageItem,
    FirmwareUpdateItem, FirmwareUploadQuery, RolloutFailure, RolloutItem,
};

use crate::extract::{ApiJson, CurrentStaff, CurrentUser};
use crate::reject::{ApiPath, ApiQuery};
use crate::{ApiError, AppState};

fn image_item(i: kankan_firmware::FirmwareImage) -> FirmwareImageItem {
    FirmwareImageItem {
        id: i.id,
        model: i.model,
        version: i.version,
        size: i.size,
        sha256: i.sha256,
        signature: i.signature,
        created_at: i.created_at.to_rfc3339(),
    }
}

fn rollout_item(p: kankan_firmware::RolloutProgress) -> RolloutItem {
    RolloutItem {
        id: p.rollout.id,
        image: image_item(p.image),
        percent: p.rollout.percent,
        cohort: p.rollout.cohort,
        paused: p.rollout.paused,
        created_at: p.rollout.created_at.to_rfc3339(),
        offered: p.phases.values().sum(),
        phases: p.phases,
        failures: p
            .failures
            .into_iter()
            .map(|u| RolloutFailure {
                uid: u.uid,
                phase: u.phase,
                error: u.error,
                from_version: u.from_version,
            })
            .collect(),
    }
}

/// Upload a firmware image for a model (the body is the image), signed with the operator's
/// key; the signature is checked against `firmware.public_key` before anything is stored.
#[utoipa::path(post, path = "/api/v1/admin/firmware/images", tag = "admin",
    params(FirmwareUploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = FirmwareImageItem),
        (status = 400, body = ErrorBody, description = "firmware-bad-signature, invalid-firmware"),
        (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "firmware-not-configured, firmware-exists"),
        (status = 413, body = ErrorBody, description = "payload-too-large: over firmware.max_image_mib")))]
pub async fn upload_image(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiQuery(q): ApiQuery<FirmwareUploadQuery>,
    body: Body,
) -> Result<(StatusCode, Json<FirmwareImageItem>), ApiError> {
    let max = state.firmware.config().max_image_bytes();
    let bytes = axum::body::to_bytes(body, max)
        .await
        .map_err(|_| ApiError::from(kankan_core::CoreError::ImageTooLarge(max)))?;
    let image = state.firmware.upload(&q.model, &q.version, &q.signature, bytes.to_vec()).await?;
    let detail = format!(
        "image={} model={} version={} size={}",
        image.id, image.model, image.version, image.size
    );
    audit_staff(&state, staff.id, "firmware-uploaded", None, detail).await?;
    Ok((StatusCode::CREATED, Json(image_item(image))))
}

/// The firmware images, newest first.
#[utoipa::path(get, path = "/api/v1/admin/firmware/images", tag = "admin",
    responses((status = 200, body = Vec<FirmwareImageItem>), (status = 401, body = ErrorBody)))]
pub async fn list_images(
    State(state): State<AppState>,
    CurrentStaff(_staff): CurrentStaff,
) -> Result<Json<Vec<FirmwareImageItem>>, ApiError> {
    Ok(Json(state.firmware.images().await?.into_iter().map(image_item).collect()))
}

/// Start a rollout of an image to a percentage of its model's devices and/or a cohort.
#[utoipa::path(post, path = "/api/v1/admin/firmware/rollouts", tag = "admin",
    request_body = CreateRolloutRequest,
    responses((status = 201, body = RolloutItem),
        (status = 400, body = ErrorBody, description = "invalid-rollout"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "not-found: no such image"),
        (status = 409, body = ErrorBody, description = "firmware-not-configured")))]
pub async fn create_rollout(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiJson(req): ApiJson<CreateRolloutRequest>,
) -> Result<(StatusCode, Json<RolloutItem>), ApiError> {
    let p = state.firmware.create_rollout(req.image_id, req.percent, req.cohort).await?;
    let detail = format!(
        "rollout={} image={} percent={} cohort={}",
        p.rollout.id,
        p.image.id,
        p.rollout.percent,
        p.rollout.cohort.len()
    );
    audit_staff(&state, staff.id, "firmware-rollout-created", None, detail).await?;
    Ok((StatusCode::CREATED, Json(rollout_item(p))))
}

/// The rollouts, newest first, with their progress.
#[utoipa::path(get, path = "/api/v1/admin/firmware/rollouts", tag = "admin",
    responses((status = 200, body = Vec<RolloutItem>), (status = 401, body = ErrorBody)))]
pub async fn list_rollouts(
    State(state): State<AppState>,
    CurrentStaff(_staff): CurrentStaff,
) -> Result<Json<Vec<RolloutItem>>, ApiError> {
    Ok(Json(state.firmware.rollouts().await?.into_iter().map(rollout_item).collect()))
}

/// A rollout's progress: devices per phase, and those that failed or rolled back with why.
#[utoipa::path(get, path = "/api/v1/admin/firmware/rollouts/{id}", tag = "admin",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = RolloutItem), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_rollout(
    State(state): State<AppState>,
    CurrentStaff(_staff): CurrentStaff,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<Json<RolloutItem>, ApiError> {
    Ok(Json(rollout_item(state.firmware.progress(id).await?)))
}

/// Pause a rollout: no new offers (updates under way go on).
#[utoipa::path(post, path = "/api/v1/admin/firmware/rollouts/{id}/pause", tag = "admin",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = RolloutItem), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn pause_rollout(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<Json<RolloutItem>, ApiError> {
    let p = state.firmware.set_paused(id, true).await?;
    audit_staff(&state, staff.id, "firmware-rollout-paused", None, format!("rollout={id}")).await?;
    Ok(Json(rollout_item(p)))
}

/// Resume a paused rollout.
#[utoipa::path(post, path = "/api/v1/admin/firmware/rollouts/{id}/resume", tag = "admin",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = RolloutItem), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn resume_rollout(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<Json<RolloutItem>, ApiError> {
    let p = state.firmware.set_paused(id, false).await?;
    audit_staff(&state, staff.id, "firmware-rollout-resumed", None, format!("rollout={id}"))
        .await?;
    Ok(Json(rollout_item(p)))
}

/// Download a firmware image offered to this device (its own UID and secret, HTTP Basic).
/// `Range: bytes=N-` resumes a download (206 with `Content-Range`).
#[utoipa::path(get, path = "/ingest/v1/{uid}/firmware/{image_id}", tag = "ingest",
    params(("uid" = String, Path), ("image_id" = uuid::Uuid, Path),
        ("Range" = Option<String>, Header, description = "bytes=N- to resume")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, content_type = "application/octet-stream", body = Vec<u8>),
        (status = 401, body = ErrorBody, description = "invalid-device-credentials"),
        (status = 404, body = ErrorBody, description = "not-found: no such image offered to this device"),
        (status = 416, body = ErrorBody, description = "range-not-satisfiable")))]
pub async fn download(
    State(state): State<AppState>,
    ApiPath((uid, image_id)): ApiPath<(String, uuid::Uuid)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if !super::ingest::device_authenticated(&state, &uid, &headers).await {
        return Ok(super::ingest::challenge());
    }
    let (image, bytes) = state.firmware.image_for_device(&uid, image_id).await?;
    let len = bytes.len() as u64;
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let etag = format!("\"{}\"", image.sha256);
    let (status, start, end) = match parse_range(range, len) {
        RangeAsk::Full => (StatusCode::OK, 0, len.saturating_sub(1)),
        RangeAsk::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end),
        RangeAsk::Unsatisfiable => {
            let mut r = ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range-not-satisfiable",
                format!("the image has {len} bytes"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(r);
        }
    };
    let body = if len == 0 {
        Vec::new()
    } else {
        // Positions inside the body (parse_range keeps them there).
        let (s, e) = (usize::try_from(start).unwrap_or(0), usize::try_from(end).unwrap_or(0));
        bytes[s..=e].to_vec()
    };
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}"))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(resp)
}

fn device_info(f: kankan_firmware::DeviceFirmware) -> DeviceFirmwareInfo {
    DeviceFirmwareInfo {
        installed: f.installed,
        available: f.available.map(|i| AvailableFirmware { version: i.version, size: i.size }),
        update: f.update.map(|u| FirmwareUpdateItem {
            version: u.version,
            phase: u.phase,
            percent: u.percent,
            error: u.error,
            from_version: u.from_version,
        }),
        auto_update: f.auto_update,
    }
}

/// The device's firmware: installed, available, the last update's progress, whether it
/// updates automatically.
#[utoipa::path(get, path = "/api/v1/devices/{uid}/firmware", tag = "devices",
    params(("uid" = String, Path)),
    responses((status = 200, body = DeviceFirmwareInfo), (status = 404, body = ErrorBody)))]
pub async fn device_firmware(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
) -> Result<Json<DeviceFirmwareInfo>, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::View, &uid).await?;
    Ok(Json(device_info(state.firmware.status(&h).await?)))
}

/// Install the available firmware now; its progress follows in `GET .../firmware`.
#[utoipa::path(post, path = "/api/v1/devices/{uid}/firmware/update", tag = "devices",
    params(("uid" = String, Path)),
    responses((status = 202, body = DeviceFirmwareInfo), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "no-firmware-update, firmware-update-running")))]
pub async fn update_device(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
) -> Result<(StatusCode, Json<DeviceFirmwareInfo>), ApiError> {
    let h = state.devices.authorize_device(&p, Capability::ChangeSettings, &uid).await?;
    Ok((StatusCode::ACCEPTED, Json(device_info(state.firmware.update_now(&h).await?))))
}
