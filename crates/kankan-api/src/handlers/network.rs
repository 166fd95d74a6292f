//! A bound device's network settings: a new Wi-Fi network for a camera that is online, and a
//! rejoin QR/sound code for one that lost its network. The password goes sealed for the
//! device; nothing here stores or logs it.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kankan_core::authz::Capability;
use kankan_protocol::v1::{CommandInfo, ErrorBody, PairingResponse, WifiRequest};

use crate::extract::{ApiJson, CurrentUser};
use crate::handlers::devices::command_info;
use crate::reject::ApiPath;
use crate::{ApiError, AppState};

/// How long a Wi-Fi change waits for the device's acknowledgement before answering 202.
const WIFI_WAIT: Duration = Duration::from_secs(5);

/// Move an online camera to another Wi-Fi network (`change-settings`): the name and password
/// are sealed for that device as at pairing and sent as the `wifi-set` command; the camera
/// joins it and reconnects, keeping its owner, settings and recordings. The password is
/// never stored or logged.
#[utoipa::path(post, path = "/api/v1/devices/{uid}/wifi", tag = "devices",
    params(("uid" = String, Path)), request_body = WifiRequest,
    responses((status = 200, body = CommandInfo, description = "settled (succeeded, or failed with the device's reason)"),
        (status = 202, body = CommandInfo, description = "sent; poll its status"),
        (status = 400, body = ErrorBody, description = "invalid-device-input: SSID or password"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "device-offline: show a rejoin code instead")))]
pub async fn set_wifi(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
    ApiJson(req): ApiJson<WifiRequest>,
) -> Result<(StatusCode, Json<CommandInfo>), ApiError> {
    let h = state.devices.authorize_device(&p, Capability::ChangeSettings, &uid).await?;
    let outcome = state.devices.set_wifi(&h, &req.ssid, &req.password, WIFI_WAIT).await?;
    Ok(command_info(outcome))
}

/// A new QR code and sound for the caller's own camera that lost its network: the same
/// formats as pairing, carrying the new Wi-Fi network sealed for that device and a
/// single-use rejoin token (10 minutes). The camera claims it while bound to this account
/// and keeps its binding, settings and recordings. The owner only.
#[utoipa::path(post, path = "/api/v1/devices/{uid}/wifi/code", tag = "devices",
    params(("uid" = String, Path)), request_body = WifiRequest,
    responses((status = 201, body = PairingResponse),
        (status = 400, body = ErrorBody, description = "invalid-device-input"),
        (status = 404, body = ErrorBody)))]
pub async fn rejoin_code(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
    ApiJson(req): ApiJson<WifiRequest>,
) -> Result<(StatusCode, Json<PairingResponse>), ApiError> {
    let h = state.devices.authorize_device(&p, Capability::Unbind, &uid).await?;
    let code = state.devices.rejoin_code(&p, &h, &req.ssid, &req.password).await?;
    Ok((
        StatusCode::CREATED,
        Json(PairingResponse {
            uid: code.uid,
            expires_at: code.expires_at.to_rfc3339(),
            qr_text: code.qr_text,
            qr_png_base64: STANDARD.encode(&code.qr_png),
            sound_wav_base64: STANDARD.encode(&code.wav),
        }),
    ))
}
