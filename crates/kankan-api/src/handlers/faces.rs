//! `/api/v1/faces*`: familiar faces, the account's own (its gallery of named faces and the
//! strangers of the last two days, their pictures, naming and deleting), and
//! `/api/v1/devices/{uid}/faces*`: the faces seen on one camera, for its owner and for a member
//! the owner granted `see-faces` (`Devices::authorize_device`; anything less answers
//! `device-not-found`).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kankan_core::CoreError;
use kankan_faces::{FaceView, Relation};
use kankan_protocol::v1::{
    DeviceFacesList, ErrorBody, FaceItem, FaceSightingItem, FacesList, NameFaceRequest,
};

use crate::extract::{ApiJson, CurrentUser};
use crate::reject::ApiPath;
use crate::{ApiError, AppState};

fn item(f: FaceView) -> FaceItem {
    FaceItem {
        id: f.id,
        name: f.name,
        relation: f.relation.map(|r| r.as_str().to_string()),
        first_seen_ms: f.first_seen.0,
        last_seen_ms: f.last_seen.0,
        sightings: f
            .sightings
            .into_iter()
            .map(|s| FaceSightingItem {
                id: s.id,
                event_id: s.event_id,
                device: s.uid,
                seen_at_ms: s.seen_at.0,
            })
            .collect(),
    }
}

fn id_of(s: &str) -> Result<uuid::Uuid, CoreError> {
    uuid::Uuid::parse_str(s).map_err(|_| CoreError::NotFound("face"))
}

fn jpeg(bytes: Vec<u8>) -> Response {
    let mut resp = bytes.into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    resp
}

/// The caller's faces: the gallery (named) and the strangers seen in the last two days, each
/// with its sightings of the last two days (event and camera: the clip to open).
#[utoipa::path(get, path = "/api/v1/faces", tag = "faces",
    responses((status = 200, body = FacesList), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<FacesList>, ApiError> {
    let enabled = state.faces.enabled_for(p.account_id).await?;
    let l = state.faces.list(&p).await?;
    Ok(Json(FacesList {
        enabled,
        gallery: l.gallery.into_iter().map(item).collect(),
        strangers: l.strangers.into_iter().map(item).collect(),
    }))
}

/// The picture of the face's newest sighting (a JPEG).
#[utoipa::path(get, path = "/api/v1/faces/{id}/picture", tag = "faces",
    params(("id" = uuid::Uuid, Path, description = "face id")),
    responses((status = 200, content((Vec<u8> = "image/jpeg"))),
        (status = 404, body = ErrorBody, description = "not-found"),
        (status = 401, body = ErrorBody)))]
pub async fn picture(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    Ok(jpeg(state.faces.picture(&p, id_of(&id)?).await?))
}

/// Names or renames a face (kept until deleted), with its relation (`family`, `friend`);
/// `name: null` takes the name away (a stranger again, deleted two days after its last
/// sighting).
#[utoipa::path(put, path = "/api/v1/faces/{id}", tag = "faces",
    params(("id" = uuid::Uuid, Path, description = "face id")),
    request_body = NameFaceRequest,
    responses((status = 200, body = FaceItem),
        (status = 400, body = ErrorBody, description = "invalid-face-name, invalid-face-relation, invalid-body"),
        (status = 404, body = ErrorBody, description = "not-found"),
        (status = 401, body = ErrorBody)))]
pub async fn name(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<NameFaceRequest>,
) -> Result<Json<FaceItem>, ApiError> {
    let relation = match req.relation.as_deref() {
        None => None,
        Some(r) => Some(Relation::parse(r).ok_or_else(|| CoreError::InvalidSettings {
            code: "invalid-face-relation",
            message: format!("no relation {r:?}: family or friend"),
        })?),
    };
    let f = state.faces.name(&p, id_of(&id)?, req.name.as_deref(), relation).await?;
    Ok(Json(item(f)))
}

/// Deletes a face: its template, name, sightings and pictures, at once.
#[utoipa::path(delete, path = "/api/v1/faces/{id}", tag = "faces",
    params(("id" = uuid::Uuid, Path, description = "face id")),
    responses((status = 204), (status = 404, body = ErrorBody, description = "not-found"),
        (status = 401, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.faces.delete(&p, id_of(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The faces seen on the camera in the last two days with their sightings there (`see-faces`:
/// the owner, or a member the owner granted it).
#[utoipa::path(get, path = "/api/v1/devices/{uid}/faces", tag = "faces",
    params(("uid" = String, Path, description = "device UID")),
    responses((status = 200, body = DeviceFacesList),
        (status = 404, body = ErrorBody, description = "device-not-found"),
        (status = 401, body = ErrorBody)))]
pub async fn on_device(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
) -> Result<Json<DeviceFacesList>, ApiError> {
    let l = state.faces.on_device(&p, &uid).await?;
    Ok(Json(DeviceFacesList { faces: l.faces.into_iter().map(item).collect() }))
}

/// The picture of one sighting on the camera (a JPEG; `see-faces`).
#[utoipa::path(get, path = "/api/v1/devices/{uid}/faces/sightings/{id}/picture", tag = "faces",
    params(("uid" = String, Path, description = "device UID"),
        ("id" = uuid::Uuid, Path, description = "sighting id")),
    responses((status = 200, content((Vec<u8> = "image/jpeg"))),
        (status = 404, body = ErrorBody, description = "device-not-found, not-found"),
        (status = 401, body = ErrorBody)))]
pub async fn sighting_picture(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath((uid, id)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    Ok(jpeg(state.faces.sighting_picture(&p, &uid, &id).await?))
}
