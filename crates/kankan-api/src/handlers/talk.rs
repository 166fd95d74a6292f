//! `GET /ingest/v1/{uid}/talk` (WebSocket): the camera's end of two-way talk, opened by the
//! camera after a `talk-start` command and authenticated like the ingest (HTTP Basic with
//! the device's UID and secret).
//!
//! Binary messages are G.711 µ-law (PCMU, 8 kHz) frames, 20 ms (160 bytes) each: server to
//! camera, what the browsers say; camera to server, its microphone, relayed to every WebRTC
//! viewer. The server closes with 1000 "stopped" after the last talker (when it also sends
//! `talk-stop`) and 1001 when it shuts down. Nothing of it is stored.

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kankan_webrtc::DeviceEnd;

use super::ingest::{challenge, device_authenticated};
use crate::{ApiError, AppState};

/// The camera connects its talk channel.
pub async fn talk(
    State(state): State<AppState>,
    Path(uid): Path<String>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    if !device_authenticated(&state, &uid, &headers).await {
        return Ok(challenge());
    }
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
