//! `/media/v1/{uid}/live`: live view over a WebSocket carrying fMP4 for Media Source
//! Extensions. The link token is a `live` link (`POST .../recordings/link`); its session must
//! still be live and the device policy decides `view-live` again before the upgrade. The
//! socket is registered under the link's session and the device: when either loses access
//! (logout, signed out, password change or reset, ban, unbind, grant revoked) the server
//! closes it with 1008 "revoked".
//!
//! Messages: binary ones are fMP4 (the init segment, then the current GOP from its keyframe,
//! then each fragment as the camera sends it); a text message `{"type":"init"}` announces a new
//! init segment (the camera restarted its encoder: reset the player). The server closes with
//! 1000 "ended" when the camera's stream ends. A viewer that stops reading falls behind and
//! skips to keyframes; one whose connection takes nothing for 10 s is dropped.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use kankan_core::authz::Capability;
use kankan_core::live::{LivePart, Viewer};
use kankan_core::{StreamGuard, StreamScope};
use kankan_recording::LinkPurpose;
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
    let (h, grant) = state
        .recordings
        .authorize_link(&uid, &q.t, LinkPurpose::Live, Capability::ViewLive)
        .await?;
    let guard = state.revocations.register(StreamScope {
        account: grant.account,
        session: grant.session,
        device: Some(h.uid().to_string()),
    });
    let viewer = state.recordings.watch_live(&h, q.stream.unwrap_or(0)).await?;
    Ok(ws.on_upgrade(move |socket| watch(socket, viewer, guard)))
}

/// A viewer whose connection takes no data for this long is dropped: one that never reads
/// holds a task and a socket, nothing more, and not for ever.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends within [`SEND_TIMEOUT`]; false when the viewer is gone or stuck.
async fn send(socket: &mut WebSocket, msg: Message) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, socket.send(msg)).await, Ok(Ok(())))
}

async fn watch(mut socket: WebSocket, mut viewer: Viewer, mut guard: StreamGuard) {
    for part in std::mem::take(&mut viewer.start) {
        if !send(&mut socket, Message::Binary(part)).await {
            return;
        }
    }
    loop {
        tokio::select! {
            () = guard.revoked() => {
                let close = CloseFrame { code: 1008, reason: "revoked".into() };
                send(&mut socket, Message::Close(Some(close))).await;
                return;
            }
            part = viewer.next() => {
                let sent = match part {
                    Some(LivePart::Fragment { bytes, .. }) => send(&mut socket, Message::Binary(bytes)).await,
                    Some(LivePart::Init(bytes)) => {
                        send(&mut socket, Message::Text(r#"{"type":"init"}"#.into())).await
                            && send(&mut socket, Message::Binary(bytes)).await
                    }
                    None => {
                        let close = CloseFrame { code: 1000, reason: "ended".into() };
                        send(&mut socket, Message::Close(Some(close))).await;
                        return;
                    }
                };
                if !sent {
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
