//! `/api/v1/events*`: the Message Center. Events belong to the account that owned the device
//! when it noticed them and are reached through `Events::authorize_event`, which also lets in
//! the members holding `receive-alarms` on the device (with their own read state and
//! deletion), so any other account's event is not found.
//! `/api/v1/events/stream` pushes them as they happen (Server-Sent Events).

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use kankan_base::Timestamp;
use kankan_core::StreamScope;
use kankan_events::{Event, EventKind};
use kankan_events::{ListQuery, LiveEvent};
use kankan_protocol::v1::{BoxItem, ErrorBody, EventFaceItem, EventItem, EventQuery, RingItem};

use crate::extract::CurrentUser;
use crate::reject::{ApiPath, ApiQuery};
use crate::{ApiError, AppState};

/// How often an idle stream sends a comment, so proxies keep it open.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// The API view of an event, with its AI description if it has one.
pub fn item(e: Event, description: Option<String>) -> EventItem {
    let sound = e.kind == EventKind::Sound;
    let duration_ms = e.ended_at.filter(|_| sound).map(|t| t.0 - e.started_at.0);
    EventItem {
        level_db: e.level_db,
        duration_ms,
        id: e.id,
        kind: e.kind.as_str().to_string(),
        device: e.uid,
        started_at_ms: e.started_at.0,
        ended_at_ms: e.ended_at.map(|t| t.0),
        zone: e.zone,
        read: e.read_at.is_some(),
        clip_from_ms: e.clip_from.0,
        clip_to_ms: e.clip_to.0,
        thumbnail: e.thumbnail,
        description,
        label: e.sighting.as_ref().map(|s| s.label.clone()),
        score: e.sighting.as_ref().map(|s| s.score),
        bbox: e.sighting.as_ref().map(|s| BoxItem {
            x: s.bbox.x,
            y: s.bbox.y,
            w: s.bbox.w,
            h: s.bbox.h,
        }),
        detection: e.verdict.map(|v| v.as_str().to_string()),
        face: None,
    }
}

/// The event's AI description, if it has one (a failure to read it is logged: the event is
/// shown without).
async fn description(state: &AppState, e: &Event) -> Option<String> {
    state.events.description_of(e).await.unwrap_or_else(|err| {
        tracing::warn!(id = %e.id, error = %err, "reading an event's description");
        None
    })
}

/// [`item`] with the event's description looked up (the caller may see the event).
async fn described(state: &AppState, e: Event) -> EventItem {
    let d = description(state, &e).await;
    item(e, d)
}

/// The API view of an event as `viewer` sees it: with its AI description and the face seen in
/// it, which the event's owner sees and a member only while holding `see-faces` on the camera.
pub async fn item_for(
    state: &AppState,
    viewer: kankan_base::AccountId,
    e: Event,
    description: Option<String>,
) -> Result<EventItem, ApiError> {
    let face = state.faces.on_event(viewer, &e).await?.map(|f| EventFaceItem {
        id: f.id,
        name: f.name,
        stranger: f.stranger,
    });
    Ok(EventItem { face, ..item(e, description) })
}

/// The caller's events, newest first: of one device, one kind, a time window; with `q`, those
/// whose AI description holds its words.
#[utoipa::path(get, path = "/api/v1/events", tag = "events", params(EventQuery),
    responses((status = 200, body = Vec<EventItem>),
        (status = 400, body = ErrorBody, description = "invalid-search: q is not 1-8 words"),
        (status = 422, body = ErrorBody, description = "unknown-event-kind, unknown-event-label"),
        (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<EventQuery>,
) -> Result<Json<Vec<EventItem>>, ApiError> {
    let kind = q
        .kind
        .as_deref()
        .map(|k| {
            EventKind::parse(k).ok_or_else(|| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unknown-event-kind",
                    format!("no event kind {k:?}: motion, press, loiter or tamper"),
                )
            })
        })
        .transpose()?;
    if let Some(l) = q.label.as_deref().filter(|l| *l != kankan_events::PERSON) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-event-label",
            format!("no event label {l:?}: person"),
        ));
    }
    let query = ListQuery {
        device: q.device,
        kind,
        label: q.label,
        before: q.before_ms.map(Timestamp),
        after: q.after_ms.map(Timestamp),
        limit: q.limit,
        q: q.q,
    };
    let rows = state.events.list_described(&p, query).await?;
    let mut items = Vec::with_capacity(rows.len());
    for d in rows {
        items.push(item_for(&state, p.account_id, d.event, d.description).await?);
    }
    Ok(Json(items))
}

/// The caller's events as they happen: `event: event` with an [`EventItem`] for every new or
/// changed event, `event: ring` with a [`RingItem`] when a doorbell is pressed, and a
/// `: keepalive` comment every 15 s. It ends when the server stops, and at once when the
/// session ends (logout, signed out, password change or reset, ban).
#[utoipa::path(get, path = "/api/v1/events/stream", tag = "events",
    responses((status = 200, content_type = "text/event-stream", body = String),
        (status = 401, body = ErrorBody)))]
pub async fn stream(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let events = state.events.subscribe(&p);
    let guard = state.revocations.register(StreamScope {
        account: p.account_id,
        session: p.session_id,
        device: None,
        need: kankan_core::authz::CapabilitySet::EMPTY,
    });
    let viewer = p.account_id;
    let stream = futures_util::stream::unfold(
        (events, guard, state),
        move |(mut events, mut guard, state)| async move {
            let next = tokio::select! {
                biased;
                () = guard.revoked() => return None,
                next = events.next() => next?,
            };
            let msg = match next {
                LiveEvent::Event(e) => {
                    let d = description(&state, &e).await;
                    let face_or_none = match item_for(&state, viewer, e.clone(), d.clone()).await {
                        Ok(i) => i,
                        Err(_) => item(e, d),
                    };
                    sse("event", &face_or_none)
                }
                LiveEvent::Ring(e) => {
                    let device = e.uid.clone();
                    sse("ring", &RingItem { device, event: described(&state, e).await })
                }
            };
            Some((Ok(msg), (events, guard, state)))
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEPALIVE).text("keepalive"))
}

fn sse(name: &str, data: &impl serde::Serialize) -> SseEvent {
    // Invariant: the DTOs are plain structs, which serde_json always serializes.
    let json = serde_json::to_string(data).expect("event DTOs serialize");
    SseEvent::default().event(name).data(json)
}

/// One of the caller's events.
#[utoipa::path(get, path = "/api/v1/events/{id}", tag = "events",
    params(("id" = uuid::Uuid, Path, description = "event id")),
    responses((status = 200, body = EventItem),
        (status = 404, body = ErrorBody, description = "not-found"),
        (status = 401, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<EventItem>, ApiError> {
    let e = state.events.authorize_event(&p, &id).await?.into_event();
    let d = description(&state, &e).await;
    Ok(Json(item_for(&state, p.account_id, e, d).await?))
}

/// The event's picture (taken when it started), decrypted. A capture still in progress is
/// waited for briefly.
#[utoipa::path(get, path = "/api/v1/events/{id}/thumbnail", tag = "events",
    params(("id" = uuid::Uuid, Path, description = "event id")),
    responses((status = 200, content((Vec<u8> = "image/jpeg"))),
        (status = 404, body = ErrorBody, description = "not-found: no such event, or no picture"),
        (status = 401, body = ErrorBody)))]
pub async fn thumbnail(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let h = state.events.authorize_event(&p, &id).await?;
    let jpeg = state.events.thumbnail(&h).await?;
    let mut resp = jpeg.into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=86400"));
    Ok(resp)
}

/// Marks one of the caller's events read.
#[utoipa::path(post, path = "/api/v1/events/{id}/read", tag = "events",
    params(("id" = uuid::Uuid, Path, description = "event id")),
    responses((status = 204), (status = 404, body = ErrorBody, description = "not-found"),
        (status = 401, body = ErrorBody)))]
pub async fn read(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let h = state.events.authorize_event(&p, &id).await?;
    state.events.mark_read(&h).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes one of the caller's events and its picture.
#[utoipa::path(delete, path = "/api/v1/events/{id}", tag = "events",
    params(("id" = uuid::Uuid, Path, description = "event id")),
    responses((status = 204), (status = 404, body = ErrorBody, description = "not-found"),
        (status = 401, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let h = state.events.authorize_event(&p, &id).await?;
    state.events.delete(&h).await?;
    Ok(StatusCode::NO_CONTENT)
}
