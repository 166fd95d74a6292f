//! `/api/v1/admin/*`: the operator's API, for staff sessions only.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kankan_protocol::v1::{
    ErrorBody, ProvisionRequest, ProvisionResponse, ProvisionedDevice, WorkerInfo, WorkerState,
    WorkersResponse,
};

use kankan_core::audit::{Actor, Record};

use crate::extract::{ApiJson, CurrentStaff};
use crate::{ApiError, AppState};

/// Most devices one API request provisions.
const MAX_API_BATCH: u32 = 1000;

/// Provision device identities: a UID and its own secret each (shown once).
#[utoipa::path(post, path = "/api/v1/admin/devices/provision", tag = "admin",
    request_body = ProvisionRequest,
    responses((status = 201, body = ProvisionResponse),
        (status = 400, body = ErrorBody, description = "invalid-device-input"),
        (status = 401, body = ErrorBody)))]
pub async fn provision(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
    ApiJson(req): ApiJson<ProvisionRequest>,
) -> Result<(StatusCode, Json<ProvisionResponse>), ApiError> {
    if req.count == 0 || req.count > MAX_API_BATCH {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-device-input",
            format!("provision 1-{MAX_API_BATCH} devices per request"),
        ));
    }
    let made = state.devices.provision(&req.model, req.count, &req.batch).await?;
    tracing::info!(staff = %staff.username, model = %req.model, count = made.len(), "devices provisioned");
    let actor = Actor::Staff(staff.id);
    let detail = format!("model={} count={} batch={}", req.model, made.len(), req.batch);
    let record = Record { actor: &actor, action: "devices-provisioned", subject: None, detail };
    state.audit.append(record).await?;
    let devices = made
        .into_iter()
        .map(|d| ProvisionedDevice { uid: d.uid, model: d.model, secret: d.secret })
        .collect();
    Ok((StatusCode::CREATED, Json(ProvisionResponse { devices })))
}

/// The background workers: state, restarts after failures, last error and last run.
#[utoipa::path(get, path = "/api/v1/admin/workers", tag = "admin",
    responses((status = 200, body = WorkersResponse),
        (status = 401, body = ErrorBody, description = "unauthenticated")))]
pub async fn workers(
    State(state): State<AppState>,
    CurrentStaff(staff): CurrentStaff,
) -> Result<Json<WorkersResponse>, ApiError> {
    let actor = Actor::Staff(staff.id);
    let record =
        Record { actor: &actor, action: "workers-listed", subject: None, detail: String::new() };
    state.audit.append(record).await?;
    let workers = state.workers.list().into_iter().map(worker_info).collect();
    Ok(Json(WorkersResponse { workers }))
}

fn worker_info(w: kankan_worker::WorkerStatus) -> WorkerInfo {
    use kankan_worker::WorkerState as S;
    WorkerInfo {
        name: w.name.to_string(),
        state: match w.state {
            S::Running => WorkerState::Running,
            S::Idle => WorkerState::Idle,
            S::BackingOff => WorkerState::BackingOff,
            S::Stopped => WorkerState::Stopped,
        },
        restarts: w.restarts,
        last_error: w.last_error,
        last_run_at: w.last_run_at.map(|t| t.to_rfc3339()),
        retry_at: w.retry_at.map(|t| t.to_rfc3339()),
    }
}
