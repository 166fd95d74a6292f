//! Notification preferences and destinations: the VAPID key, push subscriptions, the account's
//! method and quiet hours, per-device kinds and snooze, webhooks, and an event's delivery
//! records (per event, and the account's latest: its dead letters). Invalid preferences answer
//! 422 with a stable code; a device goes through `Devices::authorize_device` (`receive-alarms`),
//! so another account's device answers like a missing one.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kankan_base::Timestamp;
use kankan_core::CoreError;
use kankan_core::authz::Capability;
use kankan_events::notify::{Delivery, DeliveryStatus};
use kankan_events::notify::{DeviceSettings, PushSubscription, Settings, Snooze};
use kankan_protocol::v1::{
    AccountDeliveryItem, Created, DeliveryItem, DeliveryQuery, DeviceNotifications, ErrorBody,
    NewWebhook, NotificationSettings, PushSubscriptionBody, PushUnsubscribe, QuietHours,
    SnoozeRequest, SnoozeResponse, VapidPublicKey, WebhookCreated, WebhookItem,
};

use crate::extract::{ApiJson, CurrentUser};
use crate::reject::{ApiPath, ApiQuery};
use crate::{ApiError, AppState};

/// Refused preferences are 422 (the body parsed, its values do not make sense).
fn unprocessable(e: CoreError) -> ApiError {
    let invalid = matches!(e, CoreError::InvalidSettings { .. });
    let mut err = ApiError::from(e);
    if invalid {
        err.status = StatusCode::UNPROCESSABLE_ENTITY;
    }
    err
}

fn invalid(code: &'static str, message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

/// The key browsers subscribe with (`applicationServerKey`).
#[utoipa::path(get, path = "/api/v1/push/vapid-public-key", tag = "notifications",
    responses((status = 200, body = VapidPublicKey), (status = 401, body = ErrorBody)))]
pub async fn vapid_public_key(
    State(state): State<AppState>,
    CurrentUser(_p): CurrentUser,
) -> Json<VapidPublicKey> {
    Json(VapidPublicKey { key: state.notify.vapid_public_key().to_string() })
}

/// Subscribes this browser to push (the same endpoint again replaces its keys).
#[utoipa::path(post, path = "/api/v1/me/push-subscriptions", tag = "notifications",
    request_body = PushSubscriptionBody,
    responses((status = 201, body = Created),
        (status = 422, body = ErrorBody, description = "invalid-push-subscription"),
        (status = 401, body = ErrorBody)))]
pub async fn subscribe(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let body: PushSubscriptionBody = serde_json::from_value(body).map_err(|e| {
        invalid("invalid-push-subscription", format!("not a PushSubscription: {e}"))
    })?;
    let sub = PushSubscription {
        endpoint: body.endpoint,
        p256dh: body.keys.p256dh,
        auth: body.keys.auth,
    };
    let id = state.notify.subscribe(&p, sub).await.map_err(unprocessable)?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// Unsubscribes this browser.
#[utoipa::path(delete, path = "/api/v1/me/push-subscriptions", tag = "notifications",
    request_body = PushUnsubscribe,
    responses((status = 204), (status = 401, body = ErrorBody)))]
pub async fn unsubscribe(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(body): ApiJson<PushUnsubscribe>,
) -> Result<StatusCode, ApiError> {
    state.notify.unsubscribe(&p, &body.endpoint).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn settings_dto(s: Settings) -> NotificationSettings {
    NotificationSettings {
        method: s.method,
        quiet_hours: s.quiet_hours.map(|(start, end)| QuietHours { start, end }),
        time_zone: s.time_zone,
    }
}

/// How the caller is told about events.
#[utoipa::path(get, path = "/api/v1/me/notification-settings", tag = "notifications",
    responses((status = 200, body = NotificationSettings), (status = 401, body = ErrorBody)))]
pub async fn get_settings(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<NotificationSettings>, ApiError> {
    Ok(Json(settings_dto(state.notify.settings(&p).await?)))
}

/// Sets the method, quiet hours and time zone.
#[utoipa::path(put, path = "/api/v1/me/notification-settings", tag = "notifications",
    request_body = NotificationSettings,
    responses((status = 200, body = NotificationSettings),
        (status = 422, body = ErrorBody,
            description = "invalid-method, invalid-quiet-hours, invalid-time-zone"),
        (status = 401, body = ErrorBody)))]
pub async fn put_settings(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(body): ApiJson<NotificationSettings>,
) -> Result<Json<NotificationSettings>, ApiError> {
    let s = Settings {
        method: body.method,
        quiet_hours: body.quiet_hours.map(|q| (q.start, q.end)),
        time_zone: body.time_zone,
    };
    Ok(Json(settings_dto(state.notify.put_settings(&p, s).await.map_err(unprocessable)?)))
}

fn device_dto(s: DeviceSettings) -> DeviceNotifications {
    DeviceNotifications { kinds: s.kinds, snoozed_until_ms: s.snoozed_until.map(|t| t.0) }
}

/// Which of the device's events notify, and its snooze.
#[utoipa::path(get, path = "/api/v1/devices/{uid}/notifications", tag = "notifications",
    params(("uid" = String, Path)),
    responses((status = 200, body = DeviceNotifications),
        (status = 404, body = ErrorBody, description = "device-not-found"),
        (status = 401, body = ErrorBody)))]
pub async fn get_device(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
) -> Result<Json<DeviceNotifications>, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::ReceiveAlarms, &uid).await?;
    Ok(Json(device_dto(state.notify.device_settings(&h).await?)))
}

/// Sets which of the device's events notify, and its snooze.
#[utoipa::path(put, path = "/api/v1/devices/{uid}/notifications", tag = "notifications",
    params(("uid" = String, Path)), request_body = DeviceNotifications,
    responses((status = 200, body = DeviceNotifications),
        (status = 422, body = ErrorBody, description = "unknown-event-kind, invalid-snooze"),
        (status = 404, body = ErrorBody, description = "device-not-found"),
        (status = 401, body = ErrorBody)))]
pub async fn put_device(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
    ApiJson(body): ApiJson<DeviceNotifications>,
) -> Result<Json<DeviceNotifications>, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::ReceiveAlarms, &uid).await?;
    if body.snoozed_until_ms.is_some_and(|t| t < 0) {
        return Err(invalid("invalid-snooze", "snoozed_until_ms must be a time".into()));
    }
    let s =
        DeviceSettings { kinds: body.kinds, snoozed_until: body.snoozed_until_ms.map(Timestamp) };
    Ok(Json(device_dto(state.notify.put_device_settings(&h, s).await.map_err(unprocessable)?)))
}

/// Snoozes the device: `{"minutes": 30}`, `{"minutes": 60}` or `{"until": "tomorrow"}`.
#[utoipa::path(post, path = "/api/v1/devices/{uid}/snooze", tag = "notifications",
    params(("uid" = String, Path)), request_body = SnoozeRequest,
    responses((status = 200, body = SnoozeResponse),
        (status = 422, body = ErrorBody, description = "invalid-snooze"),
        (status = 404, body = ErrorBody, description = "device-not-found"),
        (status = 401, body = ErrorBody)))]
pub async fn snooze(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Json<SnoozeResponse>, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::ReceiveAlarms, &uid).await?;
    let bad = || {
        invalid("invalid-snooze", "send {\"minutes\": 1-1440} or {\"until\": \"tomorrow\"}".into())
    };
    let req: SnoozeRequest = serde_json::from_value(body).map_err(|_| bad())?;
    let how = match (req.minutes, req.until.as_deref()) {
        (Some(m), None) => Snooze::Minutes(m),
        (None, Some("tomorrow")) => Snooze::Tomorrow,
        _ => return Err(bad()),
    };
    let until = state.notify.snooze(&h, how).await.map_err(unprocessable)?;
    Ok(Json(SnoozeResponse { snoozed_until_ms: until.0 }))
}

/// Ends the device's snooze.
#[utoipa::path(delete, path = "/api/v1/devices/{uid}/snooze", tag = "notifications",
    params(("uid" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody, description = "device-not-found"),
        (status = 401, body = ErrorBody)))]
pub async fn unsnooze(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(uid): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let h = state.devices.authorize_device(&p, Capability::ReceiveAlarms, &uid).await?;
    state.notify.unsnooze(&h).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's webhooks (their secrets are never shown again).
#[utoipa::path(get, path = "/api/v1/me/webhooks", tag = "notifications",
    responses((status = 200, body = Vec<WebhookItem>), (status = 401, body = ErrorBody)))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
) -> Result<Json<Vec<WebhookItem>>, ApiError> {
    let list = state.notify.webhooks(&p).await?;
    Ok(Json(
        list.into_iter()
            .map(|w| WebhookItem { id: w.id, url: w.url, created_at_ms: w.created_at.0 })
            .collect(),
    ))
}

/// Registers a webhook: every event is POSTed to it, signed with the returned secret.
#[utoipa::path(post, path = "/api/v1/me/webhooks", tag = "notifications",
    request_body = NewWebhook,
    responses((status = 201, body = WebhookCreated),
        (status = 422, body = ErrorBody, description = "invalid-webhook-url, too-many-webhooks"),
        (status = 401, body = ErrorBody)))]
pub async fn add_webhook(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiJson(body): ApiJson<NewWebhook>,
) -> Result<(StatusCode, Json<WebhookCreated>), ApiError> {
    let (w, secret) = state.notify.add_webhook(&p, &body.url).await.map_err(unprocessable)?;
    Ok((StatusCode::CREATED, Json(WebhookCreated { id: w.id, url: w.url, secret })))
}

/// Deletes one of the caller's webhooks.
#[utoipa::path(delete, path = "/api/v1/me/webhooks/{id}", tag = "notifications",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 404, body = ErrorBody, description = "not-found"),
        (status = 401, body = ErrorBody)))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.notify.delete_webhook(&p, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How one of the caller's events was notified: every attempt, oldest first.
#[utoipa::path(get, path = "/api/v1/events/{id}/deliveries", tag = "notifications",
    params(("id" = uuid::Uuid, Path, description = "event id")),
    responses((status = 200, body = Vec<DeliveryItem>),
        (status = 404, body = ErrorBody, description = "not-found"),
        (status = 401, body = ErrorBody)))]
pub async fn deliveries(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<DeliveryItem>>, ApiError> {
    let h = state.events.authorize_event(&p, &id).await?;
    let list = state.notify.deliveries(&h).await?;
    Ok(Json(list.into_iter().map(delivery_item).collect()))
}

fn delivery_item(d: Delivery) -> DeliveryItem {
    DeliveryItem {
        channel: d.channel,
        attempt: d.attempt,
        status: d.status.as_str().to_string(),
        detail: d.detail,
        at_ms: d.at.0,
    }
}

/// The caller's latest 100 delivery records, newest first, of every event; `?status=dead`
/// lists the dead letters (deliveries that failed for good).
#[utoipa::path(get, path = "/api/v1/me/deliveries", tag = "notifications",
    params(DeliveryQuery),
    responses((status = 200, body = Vec<AccountDeliveryItem>),
        (status = 422, body = ErrorBody, description = "invalid-delivery-status"),
        (status = 401, body = ErrorBody)))]
pub async fn account_deliveries(
    State(state): State<AppState>,
    CurrentUser(p): CurrentUser,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> Result<Json<Vec<AccountDeliveryItem>>, ApiError> {
    let status = q
        .status
        .as_deref()
        .map(|s| {
            DeliveryStatus::parse(s).ok_or_else(|| {
                invalid(
                    "invalid-delivery-status",
                    format!("no delivery status {s:?}: sent, retry, dead, suppressed or gone"),
                )
            })
        })
        .transpose()?;
    let list = state.notify.account_deliveries(&p, status).await?;
    Ok(Json(
        list.into_iter()
            .map(|d| AccountDeliveryItem { event_id: d.event_id, delivery: delivery_item(d) })
            .collect(),
    ))
}
