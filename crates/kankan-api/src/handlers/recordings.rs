//! Recordings: the timeline, playback links and storage (`/api/v1/...`), and the media
//! those links open (`/media/v1/{uid}/...`: HLS playlist, init and segments, MP4 export,
//! snapshot). API routes authorize the session through `Devices::authorize_device`; media
//! routes take only `playback` links, check that the link carries the capability they need
//! (`play-back`, or `download` for the export), that its session is still live, and ask the
//! same policy again for the account it was issued to.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kankan_base::Timestamp;
use kankan_core::authz::Capability;
use kankan_protocol::v1::LinkPurpose as WirePurpose;
use kankan_protocol::v1::{
    ErrorBody, MediaLinkRequest, RecordedSpan, RecordingLink, RecordingsDeleted, StorageInfo,
    Timeline,
};
use kankan_recording::{LinkPurpose, Playlist};
use serde::Deserialize;

use crate::extract::{ApiJson, CurrentUser};
use crate::reject::{ApiPath, ApiQuery};
use crate::{ApiError, AppState};

/// A range of the timeline; defaults to the last 24 hours.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// Milliseconds since the Unix epoch.
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// 0 main stream (default), 1 sub-stream.
    #[param(minimum = 0, maximum = 1)]
    pub stream: Option<u8>,
}

/// Recorded spans of a range (at most 31 days).
#[utoipa::path(get, path = "/api/v1/devices/{uid}/recordings/timeline", tag = "recordings",
    params(("uid" = String, Path), RangeQuery),
    responses((status = 200, body = Timeline), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn timeline(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> Result<Json<Timeline>, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::PlayBack, &uid).await?;
    let to = q.to.unwrap_or_else(|| state.recordings.now().0);
    let from = q.from.unwrap_or(to - 86_400_000);
    let spans = state
        .recordings
        .timeline(&h, q.stream.unwrap_or(0), Timestamp(from), Timestamp(to))
        .await?;
    let spans = spans
        .into_iter()
        .map(|s| RecordedSpan { start_ms: s.start.0.max(from), end_ms: s.end.0.min(to) })
        .collect();
    Ok(Json(Timeline { from_ms: from, to_ms: to, spans }))
}

/// The range of recordings to delete.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteRangeQuery {
    /// Start, milliseconds since the Unix epoch (required).
    pub from_ms: Option<i64>,
    /// End (exclusive), at most 31 days after `from_ms` (required).
    pub to_ms: Option<i64>,
}

/// Delete the device's recordings of a range (every segment overlapping it, every stream,
/// footage kept for an event included): the owner only (`manage-recordings`, never granted
/// to a member). The timeline no longer shows it.
#[utoipa::path(delete, path = "/api/v1/devices/{uid}/recordings", tag = "recordings",
    params(("uid" = String, Path), DeleteRangeQuery),
    responses((status = 200, body = RecordingsDeleted),
        (status = 400, body = ErrorBody, description = "invalid-range: missing, empty, inverted or longer than 31 days"),
        (status = 404, body = ErrorBody)))]
pub async fn delete_range(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
    ApiQuery(q): ApiQuery<DeleteRangeQuery>,
) -> Result<Json<RecordingsDeleted>, ApiError> {
    // Decided before the range is read: another account learns nothing from a bad one.
    let h = state.devices.authorize_device(&p, Capability::ManageRecordings, &uid).await?;
    let (Some(from), Some(to)) = (q.from_ms, q.to_ms) else {
        return Err(kankan_core::CoreError::InvalidRange(
            "from_ms and to_ms (milliseconds since the epoch) are required".into(),
        )
        .into());
    };
    let r = state.recordings.delete_range(&h, Timestamp(from), Timestamp(to)).await?;
    Ok(Json(RecordingsDeleted { segments: r.segments, bytes: r.bytes }))
}

/// A short-lived link for this device's media, for one purpose: `playback` (playing,
/// downloading and snapshotting its recordings, as far as the caller may), `live` (the live
/// WebSocket and WebRTC without talk) or `talk` (WebRTC with talk). The link names the
/// caller's session: it stops working when the session ends (logout, signed out, password
/// change or reset, ban) or the caller loses the device. A `live` or `talk` link comes with
/// the ICE servers to offer WebRTC with (TURN with a short-lived credential of its own).
#[utoipa::path(post, path = "/api/v1/devices/{uid}/recordings/link", tag = "recordings",
    params(("uid" = String, Path)), request_body = MediaLinkRequest,
    responses((status = 200, body = RecordingLink), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn link(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
    ApiJson(req): ApiJson<MediaLinkRequest>,
) -> Result<Json<RecordingLink>, ApiError> {
    let purpose = match req.purpose {
        WirePurpose::Playback => LinkPurpose::PlayBack,
        WirePurpose::Live => LinkPurpose::Live,
        WirePurpose::Talk => LinkPurpose::Talk,
    };
    let h = state.devices.authorize_device_any(&p, purpose.capabilities(), &uid).await?;
    let l = state.recordings.link(&p, &h, purpose).await?;
    let ice_servers = match purpose {
        LinkPurpose::Live | LinkPurpose::Talk => state.webrtc.ice_servers(),
        LinkPurpose::PlayBack => Vec::new(),
    };
    Ok(Json(RecordingLink {
        token: l.token,
        purpose: req.purpose,
        media_base: format!("/media/v1/{uid}"),
        expires_at: l.expires_at.to_rfc3339(),
        ice_servers,
    }))
}

/// The caller's recording storage, and whether the quota has forced footage out.
#[utoipa::path(get, path = "/api/v1/me/storage", tag = "recordings",
    responses((status = 200, body = StorageInfo), (status = 401, body = ErrorBody)))]
pub async fn storage(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<StorageInfo>, ApiError> {
    let v = state.recordings.storage(p.account_id).await?;
    Ok(Json(StorageInfo {
        used_bytes: v.used_bytes,
        quota_bytes: v.quota_bytes,
        retention_days: v.retention_days,
        evicted_bytes: v.evicted_bytes,
        quota_alert_at: v.quota_alert_at.map(|t| t.to_rfc3339()),
    }))
}

/// The purpose of every link these routes take.
const PLAY: LinkPurpose = LinkPurpose::PlayBack;

/// The query of every media URL.
/// The media routes' query: the link (`t`, the `media_link` scheme) and what to serve.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MediaQuery {
    #[param(ignore)]
    t: String,
    /// Start of the range, milliseconds since the Unix epoch (playlist, export).
    from: Option<i64>,
    /// End of the range (playlist, export).
    to: Option<i64>,
    /// The moment to picture (snapshot).
    at: Option<i64>,
    /// 0 main stream (default), 1 sub-stream.
    #[param(minimum = 0, maximum = 1)]
    stream: Option<u8>,
}

impl MediaQuery {
    fn range(&self) -> Result<(Timestamp, Timestamp), ApiError> {
        match (self.from, self.to) {
            (Some(f), Some(t)) => Ok((Timestamp(f), Timestamp(t))),
            _ => Err(bad_request("from and to (milliseconds since the epoch) are required")),
        }
    }
}

fn bad_request(msg: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid-device-input", msg)
}

fn media(content_type: &'static str, bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300")),
        ],
        bytes,
    )
        .into_response()
}

#[utoipa::path(get, path = "/media/v1/{uid}/playlist.m3u8", tag = "media",
    params(("uid" = String, Path), MediaQuery),
    responses((status = 200, content_type = "application/vnd.apple.mpegurl", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "invalid-link"),
        (status = 404, body = ErrorBody)))]
/// An HLS VOD playlist over the stored segments (fMP4, `EXT-X-MAP`).
pub async fn playlist(
    State(state): State<AppState>,
    ApiPath(uid): ApiPath<String>,
    ApiQuery(q): ApiQuery<MediaQuery>,
) -> Result<Response, ApiError> {
    let h = state.recordings.authorize_link(&uid, &q.t, PLAY, Capability::PlayBack).await?.0;
    let (from, to) = q.range()?;
    let list = state.recordings.playlist(&h, q.stream.unwrap_or(0), from, to).await?;
    if list.segments.is_empty() {
        return Err(kankan_core::CoreError::NoRecording.into());
    }
    let text = hls(&list, &q.t);
    Ok(([(header::CONTENT_TYPE, "application/vnd.apple.mpegurl")], text).into_response())
}

/// Renders a VOD playlist; URLs are relative to the playlist's own.
fn hls(list: &Playlist, token: &str) -> String {
    use std::fmt::Write as _;
    let target = list.segments.iter().map(|s| s.duration_ms.div_ceil(1000)).max().unwrap_or(1);
    let mut out = format!(
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-PLAYLIST-TYPE:VOD\n\
         #EXT-X-INDEPENDENT-SEGMENTS\n"
    );
    let (mut init, mut end) = (None, None);
    for s in &list.segments {
        let gap = end.is_some_and(|e: i64| (s.start.0 - e).abs() > 1_000);
        if init.is_some() && (gap || init != Some(s.init_id)) {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        if init != Some(s.init_id) {
            let _ = writeln!(out, "#EXT-X-MAP:URI=\"init/{}.mp4?t={token}\"", s.init_id);
            init = Some(s.init_id);
        }
        if gap || end.is_none() {
            let _ = writeln!(out, "#EXT-X-PROGRAM-DATE-TIME:{}", s.start.to_rfc3339());
        }
        let _ = writeln!(
            out,
            "#EXTINF:{}.{:03},\nseg/{}.m4s?t={token}",
            s.duration_ms / 1000,
            s.duration_ms % 1000,
            s.id
        );
        end = Some(s.start.0 + i64::from(s.duration_ms));
    }
    out.push_str("#EXT-X-ENDLIST\n");
    out
}

/// The id of a media file named `<id>.<ext>`: players pick their parser by the extension
/// (ffmpeg's HLS reader refuses segment URLs without a media one).
fn media_id(file: &str, ext: &str) -> Result<i64, ApiError> {
    let id = file.strip_suffix(ext).and_then(|f| f.strip_suffix('.'));
    id.and_then(|id| id.parse().ok()).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("no such media file; ask for <id>.{ext}"),
        )
    })
}

#[utoipa::path(get, path = "/media/v1/{uid}/init/{file}", tag = "media",
    params(("uid" = String, Path), ("file" = String, Path, description = "`<id>.mp4`, as the playlist names it")),
    responses((status = 200, content_type = "video/mp4", body = Vec<u8>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "invalid-link"),
        (status = 404, body = ErrorBody)))]
/// The init segment a playlist maps (`init/<id>.mp4`).
pub async fn init(
    State(state): State<AppState>,
    ApiPath((uid, file)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<MediaQuery>,
) -> Result<Response, ApiError> {
    let id = media_id(&file, "mp4")?;
    let h = state.recordings.authorize_link(&uid, &q.t, PLAY, Capability::PlayBack).await?.0;
    Ok(media("video/mp4", state.recordings.init_bytes(&h, id).await?))
}

#[utoipa::path(get, path = "/media/v1/{uid}/seg/{file}", tag = "media",
    params(("uid" = String, Path), ("file" = String, Path, description = "`<id>.m4s`, as the playlist names it")),
    responses((status = 200, content_type = "video/iso.segment", body = Vec<u8>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "invalid-link"),
        (status = 404, body = ErrorBody)))]
/// One stored segment, decrypted (`seg/<id>.m4s`).
pub async fn segment(
    State(state): State<AppState>,
    ApiPath((uid, file)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<MediaQuery>,
) -> Result<Response, ApiError> {
    let id = media_id(&file, "m4s")?;
    let h = state.recordings.authorize_link(&uid, &q.t, PLAY, Capability::PlayBack).await?.0;
    Ok(media("video/iso.segment", state.recordings.segment_bytes(&h, id).await?))
}

#[utoipa::path(get, path = "/media/v1/{uid}/export.mp4", tag = "media",
    params(("uid" = String, Path), MediaQuery),
    responses((status = 200, content_type = "video/mp4", body = Vec<u8>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "invalid-link"),
        (status = 404, body = ErrorBody)))]
/// A range as a progressive MP4 download, streamed.
pub async fn export(
    State(state): State<AppState>,
    ApiPath(uid): ApiPath<String>,
    ApiQuery(q): ApiQuery<MediaQuery>,
) -> Result<Response, ApiError> {
    let h = state.recordings.authorize_link(&uid, &q.t, PLAY, Capability::Download).await?.0;
    let (from, to) = q.range()?;
    let mp4 = state.recordings.export_mp4(&h, q.stream.unwrap_or(0), from, to).await?;
    // Streamed as it is decrypted; a failure half-way ends the body early, which the client
    // sees as a short download against Content-Length.
    let chunks = futures_util::stream::unfold(mp4.chunks, |mut rx| async move {
        rx.recv().await.map(|c| (c.map_err(std::io::Error::other), rx))
    });
    let mut resp = Response::new(axum::body::Body::from_stream(chunks));
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("video/mp4"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(mp4.len));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    let name = format!("attachment; filename=\"kankan-{uid}-{}.mp4\"", from.0);
    if let Ok(v) = HeaderValue::from_str(&name) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

#[utoipa::path(get, path = "/media/v1/{uid}/snapshot.jpg", tag = "media",
    params(("uid" = String, Path), MediaQuery),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody, description = "invalid-link"),
        (status = 404, body = ErrorBody)))]
/// A JPEG of the picture recorded at `at`.
pub async fn snapshot(
    State(state): State<AppState>,
    ApiPath(uid): ApiPath<String>,
    ApiQuery(q): ApiQuery<MediaQuery>,
) -> Result<Response, ApiError> {
    let h = state.recordings.authorize_link(&uid, &q.t, PLAY, Capability::PlayBack).await?.0;
    let at = q.at.ok_or_else(|| bad_request("at (milliseconds since the epoch) is required"))?;
    Ok(media("image/jpeg", state.recordings.snapshot(&h, Timestamp(at)).await?))
}
