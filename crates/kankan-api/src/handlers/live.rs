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
//! skips to keyframes; one whose connection takes nothing for 10 s is dropped. A viewer's own
//! messages are ignored, and one over 1 KiB closes the socket.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use kankan_core::authz::Capability;
use kankan_core::live::{LivePart, Viewer};
use kankan_core::{StreamGuard, StreamScope};
use kankan_protocol::v1::ErrorBody;
use kankan_recording::LinkPurpose;
use serde::Deserialize;

use crate::reject::{ApiPath, ApiQuery};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LiveQuery {
    #[param(ignore)]
    t: String,
    /// 0 main stream (default), 1 sub-stream.
    #[param(minimum = 0, maximum = 1)]
    stream: Option<u8>,
}

#[utoipa::path(get, path = "/media/v1/{uid}/live", tag = "media",
    description = "A WebSocket (send the upgrade headers) carrying fMP4 for Media Source Extensions; see docs/ref/live.md.",
    params(("uid" = String, Path), LiveQuery, crate::doc::WebSocketHeaders),
    responses((status = 101, description = "switching to the WebSocket"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "invalid-link"),
        (status = 404, body = ErrorBody), (status = 426, body = ErrorBody, description = "upgrade-required")))]
/// Watch a camera live.
pub async fn live(
    State(state): State<AppState>,
    ApiPath(uid): ApiPath<String>,
    ApiQuery(q): ApiQuery<LiveQuery>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let (h, grant) = state
        .recordings
        .authorize_link(&uid, &q.t, LinkPurpose::Live, Capability::ViewLive)
        .await?;
    let ws = ws.map_err(crate::reject::websocket)?;
    let guard = state.revocations.register(StreamScope {
        account: grant.account,
        session: grant.session,
        device: Some(h.uid().to_string()),
        need: Capability::ViewLive.into(),
    });
    let viewer = state.recordings.watch_live(&h, q.stream.unwrap_or(0)).await?;
    Ok(super::bounded(ws, MAX_CLIENT_MESSAGE).on_upgrade(move |s| watch(s, viewer, guard)))
}

/// The largest message a viewer may send (it has nothing to say: anything it sends is read
/// and dropped); a larger one closes the socket.
const MAX_CLIENT_MESSAGE: usize = 1024;

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
