//! `GET /ingest/v1/{uid}/talk` (WebSocket): the camera's end of two-way talk, opened by the
//! camera after a `talk-start` command and authenticated like the ingest (HTTP Basic with
//! the device's UID and secret).
//!
//! Binary messages are G.711 µ-law (PCMU, 8 kHz) frames, 20 ms (160 bytes) each: server to
//! camera, what the browsers say; camera to server, its microphone, relayed to every WebRTC
//! viewer. The server closes with 1000 "stopped" after the last talker (when it also sends
//! `talk-stop`) and 1001 when it shuts down. Nothing of it is stored.

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kankan_protocol::v1::ErrorBody;
use kankan_webrtc::DeviceEnd;

use super::ingest::{challenge, device_authenticated};
use crate::reject::ApiPath;
use crate::{ApiError, AppState};

#[utoipa::path(get, path = "/ingest/v1/{uid}/talk", tag = "ingest",
    description = "The camera's end of two-way talk: a WebSocket of G.711 µ-law frames; see docs/ref/live.md.",
    params(("uid" = String, Path), crate::doc::WebSocketHeaders),
    responses((status = 101, description = "switching to the WebSocket"),
        (status = 401, body = ErrorBody, description = "invalid-device-credentials"),
        (status = 409, body = ErrorBody, description = "talk-not-requested"),
        (status = 426, body = ErrorBody, description = "upgrade-required")))]
/// The camera connects its talk channel.
pub async fn talk(
    State(state): State<AppState>,
    ApiPath(uid): ApiPath<String>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    // Credentials first: a caller without them learns nothing else (not even that the route
    // is a WebSocket).
    if !device_authenticated(&state, &uid, &headers).await {
        return Ok(challenge());
    }
    let ws = ws.map_err(crate::reject::websocket)?;
    let end = state.webrtc.talk().attach(&uid).ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "talk-not-requested",
            "nobody is talking to this camera",
        )
    })?;
    Ok(super::bounded(ws, 4096).on_upgrade(move |socket| relay(socket, end)))
}

async fn relay(mut socket: WebSocket, mut end: DeviceEnd) {
    let mut shutdown = end.shutdown_signal();
    let close = |code, reason: &'static str| {
        Message::Close(Some(CloseFrame { code, reason: reason.into() }))
    };
    loop {
        tokio::select! {
            frame = end.to_device.recv() => match frame {
                Some(frame) => {
                    if socket.send(Message::Binary(frame)).await.is_err() {
                        return;
                    }
                }
                None => {
                    let _ = socket.send(close(1000, "stopped")).await;
                    return;
                }
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Binary(frame))) => end.heard(frame),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            () = shutdown.wait() => {
                let _ = socket.send(close(1001, "server stopping")).await;
                return;
            }
        }
    }
}
