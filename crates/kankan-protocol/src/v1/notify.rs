//! Notification preferences, push subscriptions, webhooks and delivery records.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /api/v1/push/vapid-public-key`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VapidPublicKey {
    /// Base64url (no padding) of the uncompressed P-256 point: `applicationServerKey`.
    pub key: String,
}

/// A browser's `PushSubscription.toJSON()`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PushSubscriptionBody {
    /// The push service URL (https).
    pub endpoint: String,
    /// Ignored (the push service says when a subscription is gone).
    #[serde(default, rename = "expirationTime")]
    pub expiration_time: Option<f64>,
    pub keys: PushKeys,
}

/// The subscription's keys, base64url.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PushKeys {
    /// The browser's P-256 public key (65 bytes, uncompressed).
    pub p256dh: String,
    /// The 16-byte authentication secret.
    pub auth: String,
}

/// `DELETE /api/v1/me/push-subscriptions`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PushUnsubscribe {
    pub endpoint: String,
}

/// Something created: its id.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Created {
    pub id: uuid::Uuid,
}

/// Quiet hours in the account's time zone; the end may come before the start (overnight).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// `HH:MM`, e.g. `22:00`.
    pub start: String,
    /// `HH:MM`, e.g. `07:00` (not quiet from then on).
    pub end: String,
}

/// `GET/PUT /api/v1/me/notification-settings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettings {
    /// `push`, `email`, `sms`, `call` or `none`.
    #[schema(pattern = "^(push|email|sms|call|none)$")]
    pub method: String,
    /// `null`: no quiet hours. Tamper alarms ignore them.
    pub quiet_hours: Option<QuietHours>,
    /// IANA time zone of the quiet hours and of "until tomorrow"; default `UTC`.
    pub time_zone: String,
}

/// An event kind's name, for the document (the field stays a string, so an unknown kind is
/// refused with its own code).
#[derive(ToSchema)]
#[schema(as = EventKindName)]
#[allow(dead_code)]
enum EventKindName {
    #[schema(rename = "motion")]
    Motion,
    #[schema(rename = "press")]
    Press,
    #[schema(rename = "loiter")]
    Loiter,
    #[schema(rename = "tamper")]
    Tamper,
    #[schema(rename = "sound")]
    Sound,
}

/// `GET/PUT /api/v1/devices/{uid}/notifications`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceNotifications {
    /// Event kinds that notify: `motion`, `press`, `loiter`, `tamper`, `sound`.
    #[schema(inline, value_type = Vec<EventKindName>)]
    pub kinds: Vec<String>,
    /// Unix ms until which the device notifies nobody (tamper alarms excepted); `null`: not
    /// snoozed.
    pub snoozed_until_ms: Option<i64>,
}

/// `POST /api/v1/devices/{uid}/snooze`: `{"minutes": 30}` or `{"until": "tomorrow"}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeRequest {
    /// 1 to 1440.
    pub minutes: Option<u32>,
    /// `tomorrow`: until the next midnight in the account's time zone.
    pub until: Option<String>,
}

/// The snooze in force.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SnoozeResponse {
    pub snoozed_until_ms: i64,
}

/// A registered webhook.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookItem {
    pub id: uuid::Uuid,
    pub url: String,
    pub created_at_ms: i64,
}

/// `POST /api/v1/me/webhooks`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `https://` (or `http://`) URL that receives a signed POST per event.
    pub url: String,
}

/// A new webhook with its signing secret, shown only this once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct WebhookCreated {
    pub id: uuid::Uuid,
    pub url: String,
    /// The HMAC-SHA256 key of the `Kankan-Signature` header (its UTF-8 bytes).
    pub secret: String,
}

/// One delivery attempt of an event's notification (or a decision not to send one).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveryItem {
    /// `push`, `webhook`, `email`, `sms` or `call`.
    pub channel: String,
    /// 1, 2, ...; 0 for a suppressed decision.
    pub attempt: u32,
    /// `sent`, `retry`, `dead`, `suppressed` or `gone`.
    pub status: String,
    /// Why, in words.
    pub detail: String,
    pub at_ms: i64,
}

/// `GET /api/v1/me/deliveries` query.
#[derive(Debug, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryQuery {
    /// Only records with this status: `sent`, `retry`, `dead` (the dead letters),
    /// `suppressed` or `gone` (else 422 `invalid-delivery-status`).
    #[param(pattern = "^(sent|retry|dead|suppressed|gone)$")]
    pub status: Option<String>,
}

/// One delivery record of the caller's account: a `DeliveryItem` and the event it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AccountDeliveryItem {
    pub event_id: uuid::Uuid,
    #[serde(flatten)]
    pub delivery: DeliveryItem,
}
