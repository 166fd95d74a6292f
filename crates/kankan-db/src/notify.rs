//! Notification rows: push subscriptions, webhooks, preferences, delivery records and server
//! secrets. Secrets and addresses arrive sealed (`*_enc`); this crate never sees them in clear.

use kankan_base::{AccountId, Timestamp};

/// One browser's push subscription (endpoint and keys sealed under the account key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSubscriptionRow {
    pub id: uuid::Uuid,
    pub account_id: AccountId,
    /// Keyed blind index of the endpoint URL: the same browser subscribing again replaces it.
    pub endpoint_index: Vec<u8>,
    pub sub_enc: Vec<u8>,
    pub created_at: Timestamp,
}

/// A webhook (URL and signing secret sealed under the account key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRow {
    pub id: uuid::Uuid,
    pub account_id: AccountId,
    pub url_enc: Vec<u8>,
    pub secret_enc: Vec<u8>,
    pub created_at: Timestamp,
}

/// How an account wants to be told about events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationSettingsRow {
    /// `push`, `email`, `sms`, `call` or `none`.
    pub method: String,
    /// Quiet hours as minutes after local midnight `(start, end)`; the end may come before the
    /// start (the quiet time crosses midnight).
    pub quiet_hours: Option<(u16, u16)>,
    /// IANA time zone name.
    pub time_zone: String,
}

/// A device's notification preferences for its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceNotificationRow {
    /// Event kinds (`motion`, `press`, ...) that notify.
    pub kinds: Vec<String>,
    pub snoozed_until: Option<Timestamp>,
}

/// What happened to one delivery attempt (or a decision not to deliver).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Sent,
    /// Failed; another attempt is scheduled.
    Retry,
    /// Failed for good (attempts exhausted or rejected): a dead letter.
    Dead,
    /// Not sent on purpose (quiet hours, snooze, no address).
    Suppressed,
    /// The push subscription no longer exists (404/410); it was deleted.
    Gone,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Retry => "retry",
            DeliveryStatus::Dead => "dead",
            DeliveryStatus::Suppressed => "suppressed",
            DeliveryStatus::Gone => "gone",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        Some(match s {
            "sent" => DeliveryStatus::Sent,
            "retry" => DeliveryStatus::Retry,
            "dead" => DeliveryStatus::Dead,
            "suppressed" => DeliveryStatus::Suppressed,
            "gone" => DeliveryStatus::Gone,
            _ => return None,
        })
    }
}

/// One delivery record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: uuid::Uuid,
    pub event_id: uuid::Uuid,
    pub account_id: AccountId,
    /// `push`, `webhook`, `email`, `sms` or `call`.
    pub channel: String,
    /// The push subscription or webhook it went to.
    pub target_id: Option<uuid::Uuid>,
    /// 1, 2, ...; 0 for a suppressed decision.
    pub attempt: u32,
    pub status: DeliveryStatus,
    /// Why, in words; never an address or a secret.
    pub detail: String,
    pub at: Timestamp,
}
