//! `/api/v1/devices*`: pairing, the device list, info and settings, commands, unbinding.
//! Every handler reaches a device only through `Devices::authorize_device`, asking for the
//! capability its operation needs.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kankan_core::authz::Capability;
use kankan_devices::{CommandOutcome, DeviceView};
use kankan_devices::{CommandStatus as DbStatus, DeviceKind as DbKind};
use kankan_protocol::device::{CommandKind, DeviceKind, Settings};
use kankan_protocol::v1::{
    AddRtspCameraRequest, CommandInfo, CommandStatus, DeviceInfo, DeviceRole, ErrorBody,
    PairingRequest, PairingResponse, RenameDeviceRequest,
};

use crate::extract::{ApiJson, CurrentUser};
use crate::reject::ApiPath;
use crate::{ApiError, AppState};

/// How long a command request waits for the device's acknowledgement before answering 202.
const COMMAND_WAIT: Duration = Duration::from_secs(5);

fn info(v: DeviceView) -> DeviceInfo {
    let in_sync = v.shadow.in_sync();
    let s = v.shadow;
    DeviceInfo {
        uid: v.uid,
        model: v.model,
        kind: match v.kind {
            DbKind::Camera => DeviceKind::Camera,
            DbKind::Doorbell => DeviceKind::Doorbell,
        },
        name: v.name,
        online: s.online,
        last_seen: s.last_seen.map(|t| t.to_rfc3339()),
        bound_at: v.bound_at.map(|t| t.to_rfc3339()),
        reported: s.reported,
        reported_at: s.reported_at.map(|t| t.to_rfc3339()),
        reported_version: s.reported_version,
        desired: s.desired,
        desired_version: s.desired_version,
        in_sync,
        role: if v.owned { DeviceRole::Owner } else { DeviceRole::Member },
        capabilities: v.held.iter().map(|c| c.name().to_string()).collect(),
        shared_by: v.shared_by,
    }
}

pub(crate) fn command_info(o: CommandOutcome) -> (StatusCode, Json<CommandInfo>) {
    let status = match o.status {
        DbStatus::Sent => CommandStatus::Sent,
        DbStatus::Succeeded => CommandStatus::Succeeded,
        DbStatus::Failed => CommandStatus::Failed,
        DbStatus::TimedOut => CommandStatus::TimedOut,
    };
    let code = if status == CommandStatus::Sent { StatusCode::ACCEPTED } else { StatusCode::OK };
    (code, Json(CommandInfo { id: o.id, status, error: o.error }))
}

/// Devices bound to the caller, then the devices shared with it (`role` `member`, with the
/// capabilities it holds and the owner's nickname).
#[utoipa::path(get, path = "/api/v1/devices", tag = "devices",
    responses((status = 200, body = Vec<DeviceInfo>), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<Vec<DeviceInfo>>, ApiError> {
    Ok(Json(state.devices.list(&p).await?.into_iter().map(info).collect()))
}

/// Start adding a device: a single-use bind token for 10 minutes, with the Wi-Fi credentials
/// sealed for that device, as a QR code and as a sound signal.
#[utoipa::path(post, path = "/api/v1/devices/pairings", tag = "devices",
    request_body = PairingRequest,
    responses((status = 201, body = PairingResponse),
        (status = 400, body = ErrorBody, description = "invalid-device-input"),
        (status = 404, body = ErrorBody,
            description = "device-not-found: no such device, or it is bound (alike)")))]
pub async fn start_pairing(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<PairingRequest>,
) -> Result<(StatusCode, Json<PairingResponse>), ApiError> {
    let pairing = state.devices.start_pairing(&p, &req.uid, &req.ssid, &req.wifi_password).await?;
    Ok((
        StatusCode::CREATED,
        Json(PairingResponse {
            uid: pairing.uid,
            expires_at: pairing.expires_at.to_rfc3339(),
            qr_text: pairing.qr_text,
            qr_png_base64: STANDARD.encode(&pairing.qr_png),
            sound_wav_base64: STANDARD.encode(&pairing.wav),
        }),
    ))
}

/// Add an ordinary RTSP/ONVIF camera by its stream URL and credentials. The camera is
/// probed first (it must answer with H.264 video within 5 s); it is then bound to the caller
/// and recorded like a Kankan device.
#[utoipa::path(post, path = "/api/v1/cameras/rtsp", tag = "devices",
    request_body = AddRtspCameraRequest,
    responses((status = 201, body = DeviceInfo),
        (status = 400, body = ErrorBody, description = "invalid-device-input, \
            invalid-camera-url, camera-unreachable, camera-auth-failed, camera-bad-stream, \
            camera-unsupported-codec"),
        (status = 401, body = ErrorBody)))]
pub async fn add_rtsp_camera(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(req): ApiJson<AddRtspCameraRequest>,
) -> Result<(StatusCode, Json<DeviceInfo>), ApiError> {
    let view = state
        .devices
        .add_rtsp_camera(&p, &req.name, &req.url, req.username.as_deref(), req.password.as_deref())
        .await?;
    Ok((StatusCode::CREATED, Json(info(view))))
}

/// One device: info, telemetry, reported and desired settings.
#[utoipa::path(get, path = "/api/v1/devices/{uid}", tag = "devices",
    params(("uid" = String, Path)),
    responses((status = 200, body = DeviceInfo), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
) -> Result<Json<DeviceInfo>, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::View, &uid).await?;
    Ok(Json(info(state.devices.view(&h).await?)))
}

/// Rename a device.
#[utoipa::path(patch, path = "/api/v1/devices/{uid}", tag = "devices",
    params(("uid" = String, Path)), request_body = RenameDeviceRequest,
    responses((status = 200, body = DeviceInfo), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn rename(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
    ApiJson(req): ApiJson<RenameDeviceRequest>,
) -> Result<Json<DeviceInfo>, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::ChangeSettings, &uid).await?;
    Ok(Json(info(state.devices.rename(&h, &req.name).await?)))
}

/// Unbind the device and delete all of its data; a new owner can then bind it.
#[utoipa::path(delete, path = "/api/v1/devices/{uid}", tag = "devices",
    params(("uid" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn unbind(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::Unbind, &uid).await?;
    state.devices.unbind(&h).await?;
    // The recordings' key and index went with the binding; their objects go now.
    if let Err(e) = state.recordings.empty_trash().await {
        tracing::warn!(error = %e, "deleting an unbound device's recordings; the sweeper retries");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Set the desired settings; the device applies them when it is online.
#[utoipa::path(put, path = "/api/v1/devices/{uid}/settings", tag = "devices",
    params(("uid" = String, Path)), request_body = Settings,
    responses((status = 200, body = DeviceInfo),
        (status = 400, body = ErrorBody, description = "invalid-settings, invalid-body, \
            alert-on-person-needs-detection"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "vision-unavailable: person detection \
            turned on, and this server has no models (`vision.models_dir`)")))]
pub async fn put_settings(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
    ApiJson(settings): ApiJson<Settings>,
) -> Result<Json<DeviceInfo>, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::ChangeSettings, &uid).await?;
    if settings.person_detection && !state.events.person_detection_available() {
        // Refused when turned on; kept (and not analysed) when it was on already.
        let was_on =
            state.devices.stored_desired(&uid).await?.is_some_and(|d| d.settings.person_detection);
        if !was_on {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "vision-unavailable",
                "this server has no person detection (its operator sets vision.models_dir)",
            ));
        }
    }
    Ok(Json(info(state.devices.set_settings(&h, settings).await?)))
}

/// Send a command; waits up to 5 s for the device's acknowledgement.
#[utoipa::path(post, path = "/api/v1/devices/{uid}/commands", tag = "devices",
    params(("uid" = String, Path)), request_body = CommandKind,
    responses((status = 200, body = CommandInfo, description = "settled"),
        (status = 202, body = CommandInfo, description = "sent; poll its status"),
        (status = 400, body = ErrorBody, description = "invalid-command"),
        (status = 404, body = ErrorBody)))]
pub async fn send_command(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
    ApiJson(cmd): ApiJson<CommandKind>,
) -> Result<(StatusCode, Json<CommandInfo>), ApiError> {
    let h = state.devices.authorize_device(&p, Capability::for_command(&cmd), &uid).await?;
    if cmd.server_only() {
        return Err(kankan_core::CoreError::InvalidCommand(
            "this command is made by its own route (Wi-Fi, SD card)".into(),
        )
        .into());
    }
    Ok(command_info(state.devices.send_command(&h, cmd, COMMAND_WAIT).await?))
}

/// A command's status.
#[utoipa::path(get, path = "/api/v1/devices/{uid}/commands/{id}", tag = "devices",
    params(("uid" = String, Path), ("id" = uuid::Uuid, Path)),
    responses((status = 200, body = CommandInfo), (status = 202, body = CommandInfo),
        (status = 404, body = ErrorBody)))]
pub async fn get_command(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath((uid, id)): ApiPath<(String, String)>,
) -> Result<(StatusCode, Json<CommandInfo>), ApiError> {
    let h = state.devices.authorize_device(&p, Capability::View, &uid).await?;
    let id: uuid::Uuid = id
        .parse()
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such command"))?;
    Ok(command_info(state.devices.command(&h, id).await?))
}
