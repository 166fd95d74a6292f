//! `/media/v1/{uid}/whep`: live view over WebRTC with WHEP-style signalling. The browser
//! POSTs its complete (non-trickle) SDP offer with a `live` or `talk` link token (`?t=`), and
//! gets `201 Created` with the SDP answer and the session's `Location`; `DELETE` on that
//! location (with a `live` or `talk` link of the same account) ends it.
//!
//! Talk rides on the same session: a browser's audio (PCMU) reaches the camera only when the
//! link is a `talk` link and the device policy still grants `talk`. The session is registered
//! under the link's session and the device, and ends (talk with it) as soon as either loses
//! access. See docs/ref/live.md.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kankan_core::StreamScope;
use kankan_core::authz::{Capability, CapabilitySet};
use kankan_devices::{DeviceHandle, Devices};
use kankan_protocol::device::CommandKind;
use kankan_protocol::v1::ErrorBody;
use kankan_recording::{LinkPurpose, MediaGrant};
use kankan_webrtc::{Offer, TalkSwitch, WebRtcError};
use serde::Deserialize;

use crate::reject::{ApiPath, ApiQuery};
use crate::{ApiError, AppState};

/// An SDP offer larger than this is refused before it is read.
pub const SDP_LIMIT: usize = 64 * 1024;
/// How long a talk command waits for the camera's acknowledgement (it runs on its own).
const TALK_COMMAND_WAIT: Duration = Duration::from_secs(10);

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WhepQuery {
    #[param(ignore)]
    t: String,
    /// 0 main stream (default), 1 sub-stream.
    #[param(minimum = 0, maximum = 1)]
    stream: Option<u8>,
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    t: String,
}

/// Opens and closes the camera's talk channel on behalf of `h` (which holds `talk`).
fn talk_switch(devices: Devices, h: DeviceHandle) -> TalkSwitch {
    Arc::new(move |open| {
        let (devices, h) = (devices.clone(), h.clone());
        let kind = if open { CommandKind::TalkStart } else { CommandKind::TalkStop };
        tokio::spawn(async move {
            match devices.send_command(&h, kind, TALK_COMMAND_WAIT).await {
                Ok(o) => tracing::debug!(uid = h.uid(), open, status = ?o.status, "talk command"),
                Err(e) => tracing::warn!(uid = h.uid(), open, error = %e, "talk command failed"),
            }
        });
    })
}

/// The verified link and its purpose, which WHEP takes when `live` or `talk`
/// (`wrong-link-purpose` for a playback link); `authorize_grant` decides the rest.
fn live_grant(
    state: &AppState,
    uid: &str,
    token: &str,
) -> Result<(MediaGrant, LinkPurpose), ApiError> {
    let grant = state.recordings.verify_link(uid, token)?;
    match grant.purpose {
        p @ (LinkPurpose::Live | LinkPurpose::Talk) => Ok((grant, p)),
        other => Err(kankan_core::CoreError::WrongLinkPurpose(other.as_str()).into()),
    }
}

#[utoipa::path(post, path = "/media/v1/{uid}/whep", tag = "media",
    params(("uid" = String, Path), WhepQuery),
    request_body(content = String, content_type = "application/sdp", description = "the complete SDP offer"),
    responses((status = 201, content_type = "application/sdp", body = String,
            headers(("Location" = String, description = "the session, to DELETE when done"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "invalid-link"),
        (status = 404, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 503, body = ErrorBody, description = "webrtc-disabled or no capacity")))]
/// Answer a browser's offer to watch (and talk to) a camera.
pub async fn offer(
    State(state): State<AppState>,
    ApiPath(uid): ApiPath<String>,
    ApiQuery(q): ApiQuery<WhepQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !state.webrtc.enabled() {
        return Err(WebRtcError::Disabled.into());
    }
    let (grant, purpose) = live_grant(&state, &uid, &q.t)?;
    let (h, grant) =
        state.recordings.authorize_grant(grant, &uid, purpose, Capability::ViewLive).await?;
    let sdp_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().is_some_and(|t| t.trim() == "application/sdp"));
    if !sdp_type {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "send the SDP offer as application/sdp",
        ));
    }
    let sdp = String::from_utf8(body.to_vec())
        .map_err(|_| WebRtcError::InvalidSdp("not UTF-8 text".into()))?;
    let viewer = state.recordings.watch_live(&h, q.stream.unwrap_or(0)).await?;
    // What the session must keep holding: live view, and talk for one that talks.
    let mut need = CapabilitySet::from(Capability::ViewLive);
    let talk = match purpose {
        LinkPurpose::Talk => {
            let (talk, _) =
                state.recordings.authorize_grant(grant, &uid, purpose, Capability::Talk).await?;
            need = need.union(Capability::Talk.into());
            Some(talk_switch(state.devices.clone(), talk))
        }
        _ => None,
    };
    let guard = state.revocations.register(StreamScope {
        account: grant.account,
        session: grant.session,
        device: Some(h.uid().to_string()),
        need,
    });
    let owner = h.account().to_string();
    let offer = Offer { uid: uid.clone(), owner, sdp, viewer, talk, guard };
    let answer = state.webrtc.open(offer).await?;
    let location = format!("/media/v1/{uid}/whep/{}", answer.session);
    let mut resp = (StatusCode::CREATED, answer.sdp).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/sdp"));
    if let Ok(v) = HeaderValue::from_str(&location) {
        headers.insert(header::LOCATION, v);
    }
    Ok(resp)
}

#[utoipa::path(delete, path = "/media/v1/{uid}/whep/{session}", tag = "media",
    params(("uid" = String, Path), ("session" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody, description = "invalid-link"),
        (status = 404, body = ErrorBody, description = "session-not-found")))]
/// End a session.
pub async fn delete(
    State(state): State<AppState>,
    ApiPath((uid, session)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<TokenQuery>,
) -> Result<StatusCode, ApiError> {
    let (grant, purpose) = live_grant(&state, &uid, &q.t)?;
    let (h, _) =
        state.recordings.authorize_grant(grant, &uid, purpose, Capability::ViewLive).await?;
    if state.webrtc.close(h.uid(), &session, &h.account().to_string()) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::new(StatusCode::NOT_FOUND, "session-not-found", "no such WebRTC session"))
    }
}
