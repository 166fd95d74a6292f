//! Notifications: the account's preferences and destinations (push subscriptions, webhooks),
//! the [`Dispatcher`] that turns a new event into durable deliveries, and the
//! [`NotifyRunner`] that sends them with retries and records every attempt.
//!
//! Boundary: preferences of a device are reached only through a [`DeviceHandle`] holding
//! `receive-alarms` (`Devices::authorize_device`), so another account's device answers like a
//! missing one.

pub mod announce;
mod dispatch;
mod pending;
pub mod rules;
mod runner;
mod store;

use std::sync::Arc;

use base64::Engine as _;
use kankan_base::{Clocks, Timestamp};
use kankan_crypto::Keyring;
use kankan_db::{DeviceNotificationRow, NotificationSettingsRow, Store, WebhookRow};
use kankan_notify::guard::{self, TargetError};
pub use kankan_notify::webpush::{PushClient, PushSubscription, VapidKey};

pub use dispatch::{
    Channel, Dispatcher, HOLD_MAX, NO_PERSON, Payload, Pending, QUEUE, RECOVERY_WINDOW, WhoWasSeen,
};
/// The delivery records this module answers with.
pub use kankan_db::{Delivery, DeliveryStatus};
pub use pending::DispatchWorker;
pub use runner::{CONCURRENCY, Caller, Channels, NotifyRunner, NotifyWorker};

use crate::EventHandle;
use crate::{CoreError, Principal};
use kankan_core::authz::Capability;
use kankan_devices::DeviceHandle;
use rules::invalid;

/// Webhooks one account may register.
pub const MAX_WEBHOOKS: usize = 10;
/// Delivery records one listing shows.
pub const MAX_DELIVERIES: u32 = 100;
/// Browsers one account may subscribe.
pub const MAX_SUBSCRIPTIONS: usize = 20;
/// How far ahead a snooze may be set (a week).
const MAX_SNOOZE_AHEAD_MS: i64 = 7 * 86_400_000;
const VAPID_SECRET: &str = "vapid";
const VAPID_PURPOSE: &str = "server-secret/vapid";

/// `[notify]`: how the server sends notifications.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// The VAPID contact push services may use to reach the operator: `mailto:...` or
    /// `https://...`. Default: the server's https public URL, else `mailto:admin@localhost`.
    pub push_subject: Option<String>,
    /// Lets push endpoints and webhooks point at private addresses (loopback, the LAN, ...)
    /// and push endpoints use plain http. Off by default (server-side request forgery); a
    /// household that wants webhooks to its LAN (e.g. Home Assistant) turns it on.
    pub allow_private_targets: bool,
    /// SMS notifications one account may be sent in 24 hours (0-1000); past it, the rest are
    /// recorded `suppressed` with the reason. They cost the operator money.
    pub sms_per_day: u32,
    /// Voice-call notifications one account may get in 24 hours (0-1000), likewise.
    pub calls_per_day: u32,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            push_subject: None,
            allow_private_targets: false,
            sms_per_day: 20,
            calls_per_day: 10,
        }
    }
}

impl NotifyConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.sms_per_day > 1000 || self.calls_per_day > 1000 {
            return Err("notify.sms_per_day and notify.calls_per_day must be 0-1000".into());
        }
        match &self.push_subject {
            Some(s) if !(s.starts_with("mailto:") || s.starts_with("https://")) => {
                Err("notify.push_subject must start with mailto: or https://".into())
            }
            _ => Ok(()),
        }
    }

    /// The subject in force, given the server's public URL.
    pub fn push_subject(&self, public_url: Option<&str>) -> String {
        if let Some(s) = &self.push_subject {
            return s.clone();
        }
        match public_url {
            Some(u) if u.starts_with("https://") => u.trim_end_matches('/').to_string(),
            _ => "mailto:admin@localhost".into(),
        }
    }
}

/// The account's preferences as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub method: String,
    /// `("22:00", "07:00")`.
    pub quiet_hours: Option<(String, String)>,
    pub time_zone: String,
}

/// A device's preferences for its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSettings {
    pub kinds: Vec<String>,
    /// `None` when not snoozed (or the snooze has passed).
    pub snoozed_until: Option<Timestamp>,
}

/// How long to snooze a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Snooze {
    Minutes(u32),
    /// Until the next midnight in the account's time zone.
    Tomorrow,
}

/// A registered webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookInfo {
    pub id: uuid::Uuid,
    pub url: String,
    pub created_at: Timestamp,
}

/// Loads the server's VAPID key, generating and storing it (sealed under the server key) on
/// first start.
pub async fn load_vapid_key(
    store: &dyn Store,
    keyring: &Keyring,
    now: Timestamp,
) -> Result<VapidKey, CoreError> {
    let fresh = VapidKey::generate();
    let sealed = keyring.seal_server_data(VAPID_PURPOSE, &fresh.secret_bytes())?;
    let stored = store.server_secret_or_insert(VAPID_SECRET, &sealed, now).await?;
    let bytes = keyring.open_server_data(VAPID_PURPOSE, &stored)?;
    let bytes: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| CoreError::Internal("stored VAPID key is not 32 bytes".into()))?;
    VapidKey::from_secret_bytes(&bytes)
        .map_err(|e| CoreError::Internal(format!("stored VAPID key: {e}")))
}

/// The notification preferences service. Cheap to clone.
#[derive(Clone)]
pub struct Notifications {
    store: Arc<dyn Store>,
    keyring: Keyring,
    clock: Clocks,
    dispatcher: Dispatcher,
    vapid_public_key: String,
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Notifications")
    }
}

fn settings_view(row: NotificationSettingsRow) -> Settings {
    Settings {
        method: row.method,
        quiet_hours: row.quiet_hours.map(|(s, e)| (rules::format_hhmm(s), rules::format_hhmm(e))),
        time_zone: row.time_zone,
    }
}

impl Notifications {
    pub fn new(
        store: Arc<dyn Store>,
        keyring: Keyring,
        clock: Clocks,
        dispatcher: Dispatcher,
        vapid_public_key: String,
    ) -> Notifications {
        Notifications { store, keyring, clock, dispatcher, vapid_public_key }
    }

    /// The key browsers subscribe with (base64url of the uncompressed P-256 point).
    pub fn vapid_public_key(&self) -> &str {
        &self.vapid_public_key
    }

    fn endpoint_index(&self, endpoint: &str) -> Vec<u8> {
        self.keyring.blind_index("push-endpoint", endpoint).to_vec()
    }

    /// Stores the browser's subscription (the same endpoint again replaces it); its id.
    pub async fn subscribe(
        &self,
        p: &Principal,
        sub: PushSubscription,
    ) -> Result<uuid::Uuid, CoreError> {
        sub.validate().map_err(|e| invalid("invalid-push-subscription", e.to_string()))?;
        check_push_endpoint(&sub.endpoint, self.dispatcher.allows_private_targets()).await?;
        let index = self.endpoint_index(&sub.endpoint);
        let existing = self.store.push_subscriptions(p.account_id).await?;
        if existing.len() >= MAX_SUBSCRIPTIONS
            && !existing.iter().any(|r| r.endpoint_index == index)
        {
            return Err(invalid(
                "too-many-push-subscriptions",
                format!("at most {MAX_SUBSCRIPTIONS} browsers; unsubscribe one first"),
            ));
        }
        let key = self.dispatcher.account_key(p.account_id).await?;
        let row = kankan_db::PushSubscriptionRow {
            id: uuid::Uuid::now_v7(),
            account_id: p.account_id,
            endpoint_index: index,
            sub_enc: store::seal_subscription(&key, &sub)?,
            created_at: self.clock.now(),
        };
        Ok(self.store.put_push_subscription(&row).await?)
    }

    /// Forgets the browser's subscription (nothing to forget is fine).
    pub async fn unsubscribe(&self, p: &Principal, endpoint: &str) -> Result<(), CoreError> {
        self.store.delete_push_subscription(p.account_id, &self.endpoint_index(endpoint)).await?;
        Ok(())
    }

    pub async fn settings(&self, p: &Principal) -> Result<Settings, CoreError> {
        let row = self.store.notification_settings(p.account_id).await?;
        Ok(settings_view(row.unwrap_or_else(dispatch::default_settings)))
    }

    pub async fn put_settings(&self, p: &Principal, s: Settings) -> Result<Settings, CoreError> {
        if !rules::METHODS.contains(&s.method.as_str()) {
            return Err(invalid(
                "invalid-method",
                format!("method must be one of {}", rules::METHODS.join(", ")),
            ));
        }
        let quiet_hours =
            s.quiet_hours.as_ref().map(|(a, b)| rules::quiet_hours(a, b)).transpose()?;
        rules::time_zone(&s.time_zone)?;
        let row = NotificationSettingsRow { method: s.method, quiet_hours, time_zone: s.time_zone };
        self.store.put_notification_settings(p.account_id, &row, self.clock.now()).await?;
        Ok(settings_view(row))
    }

    /// Every per-device operation reads the row first: each needs `receive-alarms`.
    async fn device_row(&self, h: &DeviceHandle) -> Result<DeviceNotificationRow, CoreError> {
        h.require(Capability::ReceiveAlarms)?;
        let row = self.store.device_notification_settings(h.account(), h.uid()).await?;
        Ok(row.unwrap_or_else(dispatch::default_device_settings))
    }

    fn device_view(&self, row: DeviceNotificationRow) -> DeviceSettings {
        let now = self.clock.now();
        DeviceSettings { kinds: row.kinds, snoozed_until: row.snoozed_until.filter(|t| *t > now) }
    }

    pub async fn device_settings(&self, h: &DeviceHandle) -> Result<DeviceSettings, CoreError> {
        Ok(self.device_view(self.device_row(h).await?))
    }

    /// Sets the kinds that notify and the snooze (a time already past clears it).
    pub async fn put_device_settings(
        &self,
        h: &DeviceHandle,
        s: DeviceSettings,
    ) -> Result<DeviceSettings, CoreError> {
        h.require(Capability::ReceiveAlarms)?;
        let kinds = rules::kinds(&s.kinds)?;
        let now = self.clock.now();
        if let Some(t) = s.snoozed_until
            && t.0 > now.0 + MAX_SNOOZE_AHEAD_MS
        {
            return Err(invalid("invalid-snooze", "a snooze may last at most 7 days"));
        }
        let row =
            DeviceNotificationRow { kinds, snoozed_until: s.snoozed_until.filter(|t| *t > now) };
        self.store.put_device_notification_settings(h.account(), h.uid(), &row).await?;
        Ok(self.device_view(row))
    }

    /// Snoozes the device; until when.
    pub async fn snooze(&self, h: &DeviceHandle, how: Snooze) -> Result<Timestamp, CoreError> {
        let now = self.clock.now();
        let until = match how {
            Snooze::Minutes(m) if (1..=rules::MAX_SNOOZE_MINUTES).contains(&m) => {
                Timestamp(now.0 + i64::from(m) * 60_000)
            }
            Snooze::Minutes(_) => {
                return Err(invalid("invalid-snooze", "snooze for 1 to 1440 minutes"));
            }
            Snooze::Tomorrow => {
                let tz = self.settings_tz(h).await?;
                rules::tomorrow(now, &tz)?
            }
        };
        let mut row = self.device_row(h).await?;
        row.snoozed_until = Some(until);
        self.store.put_device_notification_settings(h.account(), h.uid(), &row).await?;
        Ok(until)
    }

    async fn settings_tz(&self, h: &DeviceHandle) -> Result<jiff::tz::TimeZone, CoreError> {
        let row = self.store.notification_settings(h.account()).await?;
        let name = row.map_or_else(|| "UTC".to_string(), |r| r.time_zone);
        Ok(rules::time_zone(&name).unwrap_or(jiff::tz::TimeZone::UTC))
    }

    pub async fn unsnooze(&self, h: &DeviceHandle) -> Result<(), CoreError> {
        let mut row = self.device_row(h).await?;
        row.snoozed_until = None;
        self.store.put_device_notification_settings(h.account(), h.uid(), &row).await?;
        Ok(())
    }

    pub async fn webhooks(&self, p: &Principal) -> Result<Vec<WebhookInfo>, CoreError> {
        let key = self.dispatcher.account_key(p.account_id).await?;
        let rows = self.store.webhooks(p.account_id).await?;
        rows.iter()
            .map(|r| {
                let (url, _) = store::open_webhook(&key, r)?;
                Ok(WebhookInfo { id: r.id, url, created_at: r.created_at })
            })
            .collect()
    }

    /// Registers a webhook; returns it with its signing secret (shown this once).
    pub async fn add_webhook(
        &self,
        p: &Principal,
        url: &str,
    ) -> Result<(WebhookInfo, String), CoreError> {
        let url = check_webhook_url(url, self.dispatcher.allows_private_targets()).await?;
        if self.store.webhooks(p.account_id).await?.len() >= MAX_WEBHOOKS {
            return Err(invalid(
                "too-many-webhooks",
                format!("at most {MAX_WEBHOOKS} webhooks; delete one first"),
            ));
        }
        let key = self.dispatcher.account_key(p.account_id).await?;
        let raw = kankan_crypto::random_bytes(32)?;
        let secret =
            format!("whsec_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw));
        let id = uuid::Uuid::now_v7();
        let row = WebhookRow {
            id,
            account_id: p.account_id,
            url_enc: key.seal(&store::url_field(id), url.as_bytes())?,
            secret_enc: key.seal(&store::secret_field(id), secret.as_bytes())?,
            created_at: self.clock.now(),
        };
        self.store.insert_webhook(&row).await?;
        Ok((WebhookInfo { id, url, created_at: row.created_at }, secret))
    }

    pub async fn delete_webhook(&self, p: &Principal, id: &str) -> Result<(), CoreError> {
        let id = uuid::Uuid::parse_str(id).map_err(|_| CoreError::NotFound("webhook"))?;
        if self.store.delete_webhook(p.account_id, id).await? {
            Ok(())
        } else {
            Err(CoreError::NotFound("webhook"))
        }
    }

    /// The delivery records of one of the caller's events, oldest first.
    pub async fn deliveries(&self, h: &EventHandle) -> Result<Vec<Delivery>, CoreError> {
        Ok(self.store.deliveries(h.account(), h.event().id).await?)
    }

    /// The caller's latest [`MAX_DELIVERIES`] delivery records, newest first; only those with
    /// `status` if given (`Dead`: the dead letters).
    pub async fn account_deliveries(
        &self,
        p: &Principal,
        status: Option<DeliveryStatus>,
    ) -> Result<Vec<Delivery>, CoreError> {
        Ok(self.store.account_deliveries(p.account_id, status, MAX_DELIVERIES).await?)
    }
}

/// What a refused target tells the user.
const PRIVATE_TARGET: &str = "points at a private address (loopback, the local network or \
                              another non-public range); this server sends only to public hosts";

/// An `http(s)://` URL with a host, at most 2048 characters, that (unless private targets are
/// allowed) does not point at a private address.
async fn check_webhook_url(url: &str, allow_private: bool) -> Result<String, CoreError> {
    let bad = |why: &str| invalid("invalid-webhook-url", format!("the webhook URL {why}"));
    let url = url.trim();
    if url.len() > 2048 {
        return Err(bad("is longer than 2048 characters"));
    }
    match guard::check_url(url, allow_private).await {
        Ok(parsed) => Ok(parsed.to_string()),
        Err(TargetError::Private) => Err(bad(PRIVATE_TARGET)),
        Err(TargetError::Invalid(why)) => Err(bad(&why)),
    }
}

/// Unless private targets are allowed: an https endpoint that does not point at a private
/// address.
async fn check_push_endpoint(endpoint: &str, allow_private: bool) -> Result<(), CoreError> {
    if allow_private {
        return Ok(());
    }
    let bad = |why: &str| invalid("invalid-push-subscription", format!("the push endpoint {why}"));
    if !endpoint.starts_with("https://") {
        return Err(bad("must be an https:// URL"));
    }
    match guard::check_url(endpoint, false).await {
        Ok(_) => Ok(()),
        Err(TargetError::Private) => Err(bad(PRIVATE_TARGET)),
        Err(TargetError::Invalid(why)) => Err(bad(&why)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn webhook_urls_must_be_http_with_a_host() {
        assert!(check_webhook_url("https://8.8.8.8/k?x=1", false).await.is_ok());
        assert!(check_webhook_url("http://127.0.0.1:9000/h", true).await.is_ok());
        for bad in
            ["", "hooks.example.com", "ftp://x.example.com/", "file:///etc/passwd", "https://"]
        {
            let e = check_webhook_url(bad, true).await.expect_err(bad);
            assert_eq!(e.code(), "invalid-webhook-url", "{bad}");
        }
    }

    #[tokio::test]
    async fn private_targets_are_refused_unless_allowed() {
        let e = check_webhook_url("http://127.0.0.1:9000/h", false).await.expect_err("loopback");
        assert_eq!(e.code(), "invalid-webhook-url");
        assert!(e.to_string().contains("points at a private address"), "{e}");
        let e = check_push_endpoint("http://push.example.com/x", false).await.expect_err("http");
        assert_eq!(e.code(), "invalid-push-subscription");
        let e = check_push_endpoint("https://[fd00::1]/x", false).await.expect_err("ula");
        assert!(e.to_string().contains("points at a private address"), "{e}");
        assert!(check_push_endpoint("http://127.0.0.1:8080/x", true).await.is_ok());
    }
}
