//! `/media/v1/{uid}/live`: live view over a WebSocket carrying fMP4 for Media Source
//! Extensions. The link token is the recordings' one (`POST .../recordings/link`), checked
//! against the device policy before the upgrade.
//!
//! Messages: binary ones are fMP4 (the init segment, then the current GOP from its keyframe,
//! then each fragment as the camera sends it); a text message `{"type":"init"}` announces a new
//! init segment (the camera restarted its encoder: reset the player). The server closes with
//! 1000 "ended" when the camera's stream ends.

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use kankan_core::CoreError;
use kankan_core::live::{LivePart, Viewer};
use serde::Deserialize;

use crate::{ApiError, AppState};

#[derive(Debug, Deserialize)]
pub struct LiveQuery {
    t: String,
    stream: Option<u8>,
}

/// Watch a camera live.
pub async fn live(
    State(state): State<AppState>,
    Path(uid): Path<String>,
    Query(q): Query<LiveQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let h = state.recordings.authorize_link(&uid, &q.t).await?;
    let viewer = state
        .recordings
        .live()
        .subscribe(h.uid(), q.stream.unwrap_or(0))
        .ok_or(CoreError::NotLive)?;
    Ok(ws.on_upgrade(move |socket| watch(socket, viewer)))
}

async fn watch(mut socket: WebSocket, mut viewer: Viewer) {
    for part in std::mem::take(&mut viewer.start) {
        if socket.send(Message::Binary(part)).await.is_err() {
            return;
        }
    }
    loop {
        tokio::select! {
            part = viewer.next() => {
                let sent = match part {
                    Some(LivePart::Fragment { bytes, .. }) => socket.send(Message::Binary(bytes)).await,
                    Some(LivePart::Init(bytes)) => {
                        let _ = socket.send(Message::Text(r#"{"type":"init"}"#.into())).await;
                        socket.send(Message::Binary(bytes)).await
                    }
                    None => {
                        let close = CloseFrame { code: 1000, reason: "ended".into() };
                        let _ = socket.send(Message::Close(Some(close))).await;
                        return;
                    }
                };
                if sent.is_err() {
                    return;
                }
            }
            msg = socket.recv() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
