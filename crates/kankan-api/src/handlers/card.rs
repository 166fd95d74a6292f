//! The SD card from afar: its footage by day (`/api/v1/devices/{uid}/card`), played through
//! a `playback` link (`/media/v1/{uid}/card.mp4`), and the device's answers
//! (`/ingest/v1/{uid}/card/{request}`), relayed in memory to the viewer who asked. The server
//! stores nothing of it.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use kankan_core::CoreError;
use kankan_core::authz::Capability;
use kankan_protocol::v1::{CardDay, CardSpanInfo, ErrorBody};
use kankan_recording::{CardAnswer, LinkPurpose, MAX_LISTING_BYTES};
use serde::Deserialize;

use crate::extract::CurrentUser;
use crate::handlers::ingest::{challenge, device_authenticated};
use crate::reject::{ApiPath, ApiQuery};
use crate::{ApiError, AppState};

/// How far back a listing asks the card (it holds less: a ring that overwrites the oldest).
const LIST_BACK_MS: i64 = 366 * 86_400_000;
/// The longest footage answer a device may post (an hour of a high bit rate).
const MAX_FOOTAGE_BYTES: usize = 2 << 30;

/// The day to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CardQuery {
    /// `YYYY-MM-DD` in the device's time zone; default: the latest day with footage.
    pub day: Option<String>,
}

fn bad_day() -> ApiError {
    CoreError::InvalidRange("day is a date, YYYY-MM-DD".into()).into()
}

/// The SD card's footage of one day, the days it holds footage of, and its state
/// (`play-back`, as recordings). The device is asked now: an offline one answers 409
/// `device-offline`; one without a card or that does not answer, 503 `card-unavailable`.
#[utoipa::path(get, path = "/api/v1/devices/{uid}/card", tag = "recordings",
    params(("uid" = String, Path), CardQuery),
    responses((status = 200, body = CardDay),
        (status = 400, body = ErrorBody, description = "invalid-range: not a date"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "device-offline"),
        (status = 503, body = ErrorBody, description = "card-unavailable")))]
pub async fn card_day(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
    ApiQuery(q): ApiQuery<CardQuery>,
) -> Result<Json<CardDay>, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::PlayBack, &uid).await?;
    let asked = match q.day.as_deref() {
        Some(d) => Some(d.parse::<jiff::civil::Date>().map_err(|_| bad_day())?),
        None => None,
    };
    // The card's state and the time zone come from the last report (`view`, which a holder
    // of `play-back` normally has too; without it the card shows no state).
    let reported = match state.devices.authorize_device(&p, Capability::View, &uid).await {
        Ok(v) => state.devices.view(&v).await.ok().and_then(|v| v.shadow.reported),
        Err(_) => None,
    };
    let time_zone = reported.as_ref().map_or_else(|| "UTC".to_string(), |r| r.timezone.clone());
    let tz = jiff::tz::TimeZone::get(&time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let now = state.recordings.now().0;
    let spans = state.recordings.card_list(&h, now - LIST_BACK_MS, now + 86_400_000).await?;
    let day_of =
        |ms: i64| jiff::Timestamp::from_millisecond(ms).map(|t| t.to_zoned(tz.clone()).date()).ok();
    let mut days: Vec<jiff::civil::Date> = Vec::new();
    for s in &spans {
        let (Some(mut d), Some(last)) = (day_of(s.start_ms), day_of(s.end_ms - 1)) else {
            continue;
        };
        while d <= last {
            if !days.contains(&d) {
                days.push(d);
            }
            let Ok(next) = d.tomorrow() else { break };
            d = next;
        }
    }
    days.sort();
    let Some(day) = asked.or_else(|| days.last().copied()) else {
        return Ok(Json(CardDay {
            day: String::new(),
            time_zone,
            days: vec![],
            spans: vec![],
            card: reported.map(|r| r.sd_card),
        }));
    };
    let start = day.to_zoned(tz.clone()).map_err(|_| bad_day())?;
    let end = start.tomorrow().map_err(|_| bad_day())?;
    let (from, to) = (start.timestamp().as_millisecond(), end.timestamp().as_millisecond());
    let spans = spans
        .iter()
        .filter(|s| s.end_ms > from && s.start_ms < to)
        .map(|s| CardSpanInfo { start_ms: s.start_ms.max(from), end_ms: s.end_ms.min(to) })
        .collect();
    Ok(Json(CardDay {
        day: day.to_string(),
        time_zone,
        days: days.iter().map(ToString::to_string).collect(),
        spans,
        card: reported.map(|r| r.sd_card),
    }))
}

/// The range to play and the link.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CardPlayQuery {
    #[param(ignore)]
    t: String,
    /// Start, milliseconds since the Unix epoch.
    from: i64,
    /// End (exclusive), at most an hour after `from`.
    to: i64,
}

/// Play the SD card's footage of a range from afar (a `playback` link carrying `play-back`):
/// fragmented MP4 for Media Source Extensions (the init segment, then the fragments from the
/// keyframe at or before `from`), relayed from the camera as it sends it and stored nowhere.
#[utoipa::path(get, path = "/media/v1/{uid}/card.mp4", tag = "media",
    params(("uid" = String, Path), CardPlayQuery),
    responses((status = 200, content_type = "video/mp4", body = Vec<u8>),
        (status = 400, body = ErrorBody, description = "invalid-command: the range"),
        (status = 401, body = ErrorBody, description = "invalid-link"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "device-offline"),
        (status = 503, body = ErrorBody, description = "card-unavailable")))]
pub async fn card_play(
    State(state): State<AppState>,
    ApiPath(uid): ApiPath<String>,
    ApiQuery(q): ApiQuery<CardPlayQuery>,
) -> Result<Response, ApiError> {
    let purpose = LinkPurpose::PlayBack;
    let h = state.recordings.authorize_link(&uid, &q.t, purpose, Capability::PlayBack).await?.0;
    let stream = state.recordings.card_play(&h, q.from, q.to).await?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("video/mp4")),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// The device's answer to a card command (its own credentials): the listing (JSON) or the
/// footage (fMP4), relayed to the viewer waiting on `request` and kept nowhere. 404 when
/// nobody waits for it (the viewer gave up, or it is not this device's request).
#[utoipa::path(post, path = "/ingest/v1/{uid}/card/{request}", tag = "ingest",
    params(("uid" = String, Path), ("request" = uuid::Uuid, Path)),
    request_body(content = Vec<u8>, content_type = "video/mp4"),
    responses((status = 204, description = "relayed"),
        (status = 401, body = ErrorBody, description = "invalid-device-credentials"),
        (status = 404, body = ErrorBody, description = "not-found: nobody waits for it"),
        (status = 410, body = ErrorBody, description = "viewer-gone: the viewer left mid-way"),
        (status = 413, body = ErrorBody, description = "card-answer-too-large")))]
pub async fn card_answer(
    State(state): State<AppState>,
    ApiPath((uid, request)): ApiPath<(String, uuid::Uuid)>,
    headers: HeaderMap,
    mut body: Body,
) -> Result<Response, ApiError> {
    if !device_authenticated(&state, &uid, &headers).await {
        return Ok(challenge());
    }
    let delivery = state.recordings.card_delivery(&uid, request)?;
    let max = match delivery.kind {
        CardAnswer::Listing => MAX_LISTING_BYTES,
        CardAnswer::Footage => MAX_FOOTAGE_BYTES,
    };
    let mut sent = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "card-answer-broken", e.to_string())
        })?;
        let Ok(data) = frame.into_data() else { continue };
        sent += data.len();
        if sent > max {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "card-answer-too-large",
                format!("a card answer has at most {max} bytes"),
            ));
        }
        if delivery.tx.send(data).await.is_err() {
            return Err(ApiError::new(StatusCode::GONE, "viewer-gone", "the viewer left"));
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
