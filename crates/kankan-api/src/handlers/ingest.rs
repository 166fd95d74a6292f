//! `/ingest/v1/{uid}/...`: devices (and `ffmpeg`) send fragmented MP4 to be recorded. The
//! device proves itself with its own UID and secret (HTTP Basic), as on MQTT.
//!
//! `POST .../live` is one long chunked request that the device keeps open while it records;
//! `PUT .../backfill` uploads a stored recording after an outage. See docs/ref/ingest.md.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http_body_util::BodyExt as _;
use kankan_protocol::v1::{ErrorBody, IngestResult};
use kankan_recording::IngestOptions;
use serde::Deserialize;

use crate::reject::{ApiPath, ApiQuery};
use crate::{ApiError, AppState};

/// The header that places media time 0 on the wall clock (milliseconds since the epoch).
pub const EPOCH_HEADER: &str = "kankan-media-epoch";
/// A live upload that completes no media fragment for this long is closed (its footage
/// kept): silence, or bytes trickling in too slowly to make one.
const IDLE: std::time::Duration = std::time::Duration::from_secs(20);

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IngestQuery {
    /// 0 main stream (default), 1 sub-stream.
    #[param(minimum = 0, maximum = 1)]
    pub stream: Option<u8>,
}

/// A 401 that tells HTTP clients (ffmpeg among them) to send Basic credentials.
pub(crate) fn challenge() -> Response {
    let mut r = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid-device-credentials",
        "send the device's UID and secret with HTTP Basic authentication",
    )
    .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"kankan-ingest\""),
    );
    r
}

pub(crate) async fn device_authenticated(state: &AppState, uid: &str, headers: &HeaderMap) -> bool {
    let Some(b64) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    let Ok(raw) = STANDARD.decode(b64.trim()) else { return false };
    let Ok(text) = String::from_utf8(raw) else { return false };
    match text.split_once(':') {
        Some((user, secret)) if user == uid => state.devices.authenticate(uid, secret).await,
        _ => false,
    }
}

fn options(
    headers: &HeaderMap,
    q: &IngestQuery,
    backfill: bool,
) -> Result<IngestOptions, ApiError> {
    let epoch_ms = match headers.get(EPOCH_HEADER) {
        None => None,
        Some(v) => {
            Some(v.to_str().ok().and_then(|s| s.trim().parse::<i64>().ok()).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "media-bad-time",
                    "Kankan-Media-Epoch must be milliseconds since the Unix epoch",
                )
            })?)
        }
    };
    Ok(IngestOptions { stream: q.stream.unwrap_or(0), epoch_ms, backfill })
}

/// Record a live stream: the body is the device's fMP4 as it is produced.
#[utoipa::path(post, path = "/ingest/v1/{uid}/live", tag = "ingest",
    params(("uid" = String, Path), IngestQuery,
        ("Kankan-Media-Epoch" = Option<i64>, Header, description = "wall clock (ms) of media time 0")),
    request_body(content = Vec<u8>, content_type = "video/mp4"),
    responses((status = 200, body = IngestResult),
        (status = 400, body = ErrorBody, description = "media-* codes: the stream was refused from that point; media-empty: no body"),
        (status = 401, body = ErrorBody, description = "invalid-device-credentials"),
        (status = 409, body = ErrorBody, description = "device-not-bound")))]
pub async fn live(
    State(state): State<AppState>,
    ApiPath(uid): ApiPath<String>,
    ApiQuery(q): ApiQuery<IngestQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    record(state, uid, &headers, &q, body, false).await
}

/// Upload a recording the device stored while it was offline; what is already recorded is
/// skipped.
#[utoipa::path(put, path = "/ingest/v1/{uid}/backfill", tag = "ingest",
    params(("uid" = String, Path), IngestQuery,
        ("Kankan-Media-Epoch" = i64, Header, description = "wall clock (ms) of media time 0")),
    request_body(content = Vec<u8>, content_type = "video/mp4"),
    responses((status = 200, body = IngestResult), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "device-not-bound; recording-card-only: the camera records to its SD card only")))]
pub async fn backfill(
    State(state): State<AppState>,
    ApiPath(uid): ApiPath<String>,
    ApiQuery(q): ApiQuery<IngestQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    record(state, uid, &headers, &q, body, true).await
}

/// Authenticates the device, then records the body on a task of its own: a client that hangs
/// up (ffmpeg closes as soon as it has sent the last chunk) drops this handler, but never what
/// it already sent.
async fn record(
    state: AppState,
    uid: String,
    headers: &HeaderMap,
    q: &IngestQuery,
    body: Body,
    backfill: bool,
) -> Result<Response, ApiError> {
    if !device_authenticated(&state, &uid, headers).await {
        return Ok(challenge());
    }
    let opts = options(headers, q, backfill)?;
    tokio::spawn(async move { feed(&state, &uid, opts, body).await }).await.map_err(|e| {
        ApiError::from(kankan_core::CoreError::Internal(format!("ingest task: {e}")))
    })?
}

/// Feeds the body to an ingest as it arrives. A refused fragment ends the request with its
/// error, and everything before it stays recorded; a cut connection keeps what arrived. The
/// ingest opens with the first bytes: a body with none is refused (`media-empty`) and leaves
/// nothing behind.
async fn feed(
    state: &AppState,
    uid: &str,
    opts: IngestOptions,
    mut body: Body,
) -> Result<Response, ApiError> {
    let mut opts = Some(opts);
    let mut ingest: Option<kankan_recording::Ingest> = None;
    let mut stopping = state.shutdown.clone();
    // Progress is a complete fragment, not a byte: one byte a second would otherwise hold
    // the connection (and an ingest) forever.
    let mut deadline = tokio::time::Instant::now() + IDLE;
    let mut done = 0;
    // Behind a proxy that routes by UID, a long upload is ended now and then so that the
    // camera comes back through the proxy to the node its UID routes to now (docs/deploy.md).
    let max = state.recordings.config().live_upload_max_secs;
    let rehome_at = (max > 0 && !opts.as_ref().is_some_and(|o| o.backfill))
        .then(|| tokio::time::Instant::now() + std::time::Duration::from_secs(u64::from(max)));
    loop {
        let next = tokio::select! {
            next = tokio::time::timeout_at(deadline, body.frame()) => next,
            // The server stops: keep what arrived and let the device come back later (it
            // uploads what it missed from its SD card).
            () = stopping.wait() => {
                close(ingest).await?;
                return Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "server-stopping",
                    "the server is stopping; upload again later",
                ));
            }
        };
        let Ok(next) = next else {
            // A device whose network vanished sends nothing and no FIN either.
            tracing::info!(uid, "ingest idle; closing it");
            close(ingest).await?;
            return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "ingest-idle",
                "no complete media fragment for 20 s",
            ));
        };
        match next {
            None => break,
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else { continue };
                if data.is_empty() {
                    continue;
                }
                if let Some(o) = opts.take() {
                    // Which node records a camera (behind a proxy, the one its UID hashes to).
                    tracing::info!(uid, backfill = o.backfill, "ingest opened");
                    ingest = Some(state.recordings.open_ingest(uid, o).await?);
                }
                let Some(ing) = ingest.as_mut() else { continue };
                if let Err(e) = ing.push_bytes(&data).await {
                    close(ingest).await?;
                    return Err(e.into());
                }
                if ing.ended() {
                    // The camera sends the rest again, from this keyframe, in a new upload.
                    tracing::info!(uid, "live upload ended to route it again");
                    let r = result(&ing.stats());
                    close(ingest).await?;
                    return Ok(Json(r).into_response());
                }
                let stats = ing.stats();
                let seen = stats.fragments + stats.skipped + stats.relayed;
                if seen > done {
                    done = seen;
                    deadline = tokio::time::Instant::now() + IDLE;
                    if rehome_at.is_some_and(|t| deadline - IDLE >= t) {
                        ing.end_at_next_keyframe();
                    }
                }
            }
            Some(Err(e)) => {
                tracing::info!(uid, error = %e, "ingest connection cut");
                close(ingest).await?;
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "media-truncated",
                    "the upload was cut",
                ));
            }
        }
    }
    let Some(ingest) = ingest else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "media-empty",
            "the upload carried no media; send the init segment and fragments as the body",
        ));
    };
    let s = ingest.finish().await?;
    Ok(Json(result(&s)).into_response())
}

fn result(s: &kankan_recording::IngestStats) -> IngestResult {
    IngestResult {
        fragments: s.fragments,
        segments: s.segments,
        skipped: s.skipped,
        bytes: s.bytes,
        relayed: s.relayed,
    }
}

/// Closes an ingest if one was opened, keeping what it recorded.
async fn close(ingest: Option<kankan_recording::Ingest>) -> Result<(), ApiError> {
    if let Some(i) = ingest {
        i.close().await?;
    }
    Ok(())
}
