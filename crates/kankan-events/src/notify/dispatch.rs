//! The dispatcher: for each new event, decides who hears about it and how, and puts one
//! durable job per delivery on the `notify-event` queue (or records why not).
//!
//! Who: the device's owner, and every member holding `receive-alarms` on the device when the
//! event is dispatched (the device policy decides: a revoked, expired or out-of-schedule grant
//! gives nothing). Each recipient is told under its own preferences (method, quiet hours, time
//! zone, the kinds and snooze it set for the device), and its deliveries are recorded under
//! its own account.
//!
//! Rules, in order, for each recipient:
//! - every webhook of the account gets every event (integrations want the full record);
//! - the person is told by their method (`push` to every subscribed browser, `email`, `sms`,
//!   `call`, `none`) if the device's kinds include the event's kind, the device is not
//!   snoozed and it is not quiet hours in the account's time zone;
//! - tamper alarms ignore snooze and quiet hours: someone removing a camera is exactly what
//!   must wake its owner (the kinds list can still turn them off).
//!
//! - a motion event of a camera set to alert only on a person (`alert_on = person`) waits
//!   until person detection gave its verdict (at most [`HOLD_MAX`]): with a person it alerts
//!   ("Person at …"), without one it is suppressed with reason `no-person`. When no picture
//!   could be analysed (verdict `failed`, or no verdict within [`HOLD_MAX`]: a server stopped
//!   mid-analysis) it alerts as motion: a missed intruder costs more than a needless alert.
//!   Webhooks get every event, as always.
//!
//! A decision not to tell is a delivery record with status `suppressed` and the reason.
//!
//! It works from the durable "not yet dispatched" state, never inline on the device message
//! path: the events service stores an event unmarked and signals; the dispatch worker
//! ([`super::DispatchWorker`]) runs [`Dispatcher::dispatch_pending`], which queues the
//! deliveries of every recent unmarked event and then marks it (`dispatched_at_ms`). A slow
//! database or a hanging webhook therefore never holds up a device's messages, and a server
//! that stopped between storing an event and queueing its notifications dispatches it after
//! restarting. At least once: a crash after queueing and before the mark sends those deliveries
//! twice.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use kankan_base::{AccountId, Clocks, JobId, Timestamp};
use kankan_crypto::{AccountKey, Keyring};
use kankan_db::{
    ContactKind, Delivery, DeliveryStatus, DeviceNotificationRow, Event, NotificationSettingsRow,
    Store, Verdict,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::{NotifyConfig, rules};
use crate::CoreError;
use kankan_core::KeyVault;
use kankan_core::authz::Capability;
use kankan_core::jobs::{SealedJob, open_sealed};
use kankan_devices::Devices;

/// One millisecond: "created up to now" is "created before now + 1 ms".
const MS: Duration = Duration::from_millis(1);

/// What one [`Dispatcher::dispatch_pending`] pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pending {
    pub dispatched: usize,
    pub failed: Vec<uuid::Uuid>,
}

/// The job queue of notification deliveries.
pub const QUEUE: &str = "notify-event";
const SEAL_PURPOSE: &str = "job/notify-event";
pub(crate) const MAX_ATTEMPTS: u32 = 8;
/// Events older than this are not dispatched late: a notification this stale helps nobody.
pub const RECOVERY_WINDOW: Duration = Duration::from_secs(10 * 60);
/// How long a dispatcher's claim on an event holds before another node may take it over.
pub const DISPATCH_CLAIM: Duration = Duration::from_secs(60);
/// The longest an event's alerts wait for its person-detection verdict (the analysis' own
/// limit and some margin).
pub const HOLD_MAX: Duration = Duration::from_secs(90);
/// The reason recorded for a motion without a person, on a camera alerting only on one.
pub const NO_PERSON: &str = "no-person";
/// Most events one pass dispatches.
const PENDING_BATCH: u32 = 500;

/// A delivery channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Push,
    Webhook,
    Email,
    Sms,
    Call,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Push => "push",
            Channel::Webhook => "webhook",
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Call => "call",
        }
    }

    fn of_method(method: &str) -> Option<Channel> {
        match method {
            "push" => Some(Channel::Push),
            "email" => Some(Channel::Email),
            "sms" => Some(Channel::Sms),
            "call" => Some(Channel::Call),
            _ => None,
        }
    }
}

/// What the push service worker, webhooks and messages get (the contract's push payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    pub title: String,
    pub body: String,
    pub event_id: uuid::Uuid,
    pub device: String,
    pub kind: String,
    pub at_ms: i64,
    pub url: String,
    pub thumbnail: String,
    /// What the server's detector saw (`person`), if anything.
    #[serde(default)]
    pub label: Option<String>,
}

/// One queued delivery (sealed under the server key: it names the device).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Job {
    pub channel: Channel,
    /// The account (`AccountId`'s UUID).
    pub account: uuid::Uuid,
    /// The push subscription or webhook.
    pub target: Option<uuid::Uuid>,
    pub payload: Payload,
}

pub(crate) struct Inner {
    pub store: Arc<dyn Store>,
    /// The device policy: which members receive a device's alarms.
    pub devices: Devices,
    pub keyring: Keyring,
    pub vault: KeyVault,
    pub clock: Clocks,
    pub wake: Notify,
    /// `https://kankan.example.com`, for links in e-mail and SMS.
    pub public_url: Option<String>,
    /// Whether push endpoints and webhooks may point at private addresses (the guard is off).
    pub allow_private_targets: bool,
    /// SMS and call notifications one account may be sent in 24 hours
    /// (`notify.sms_per_day`, `notify.calls_per_day`).
    pub sms_per_day: AtomicU32,
    pub calls_per_day: AtomicU32,
    /// Names the people seen in events (familiar faces), when the server has them.
    pub who: std::sync::OnceLock<Arc<dyn WhoWasSeen>>,
}

/// Turns new events into deliveries. Cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dispatcher")
    }
}

/// The defaults of an account that never saved its preferences.
pub(crate) fn default_settings() -> NotificationSettingsRow {
    NotificationSettingsRow { method: "push".into(), quiet_hours: None, time_zone: "UTC".into() }
}

/// The defaults of a device nobody configured: every kind notifies, no snooze.
pub(crate) fn default_device_settings() -> DeviceNotificationRow {
    DeviceNotificationRow { kinds: rules::KINDS.map(String::from).to_vec(), snoozed_until: None }
}

/// Who was seen in an event, as one recipient of its alert may be told: the name its owner
/// gave the face, or "Stranger" where the camera alerts on strangers; `None` to say "Person".
/// The familiar faces domain answers (it decides what the recipient may see).
#[async_trait::async_trait]
pub trait WhoWasSeen: Send + Sync + 'static {
    async fn who(&self, recipient: AccountId, ev: &Event) -> Result<Option<String>, CoreError>;
}

fn what(kind: &str, person: bool) -> (&'static str, &'static str) {
    match kind {
        "motion" if person => ("Person at", "A person was seen"),
        "press" => ("Doorbell pressed at", "Someone pressed the doorbell"),
        "loiter" => ("Someone lingering at", "Someone stayed in front of the door"),
        "tamper" => ("Tamper alarm at", "The device reports it was moved or opened"),
        "sound" => ("Sound at", "A loud or lasting sound was heard"),
        _ => ("Motion at", "Motion was detected"),
    }
}

impl Dispatcher {
    pub fn new(
        store: Arc<dyn Store>,
        keyring: Keyring,
        clock: Clocks,
        devices: Devices,
        public_url: Option<String>,
        allow_private_targets: bool,
    ) -> Dispatcher {
        let public_url = public_url.map(|u| u.trim_end_matches('/').to_string());
        Dispatcher {
            inner: Arc::new(Inner {
                vault: KeyVault::new(store.clone(), keyring.clone()),
                store,
                devices,
                keyring,
                clock,
                wake: Notify::new(),
                public_url,
                allow_private_targets,
                sms_per_day: AtomicU32::new(NotifyConfig::default().sms_per_day),
                calls_per_day: AtomicU32::new(NotifyConfig::default().calls_per_day),
                who: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Sets the daily caps on paid channels (`notify.sms_per_day`, `notify.calls_per_day`;
    /// the defaults until called).
    pub fn set_daily_caps(&self, sms_per_day: u32, calls_per_day: u32) {
        self.inner.sms_per_day.store(sms_per_day, Ordering::Relaxed);
        self.inner.calls_per_day.store(calls_per_day, Ordering::Relaxed);
    }

    /// Lets alerts of events a person was seen in name who it was ([`WhoWasSeen`]); set once.
    pub fn set_who(&self, who: Arc<dyn WhoWasSeen>) {
        let _ = self.inner.who.set(who);
    }

    /// The 24-hour cap of a paid channel, if `channel` is one.
    pub(crate) fn daily_cap(&self, channel: Channel) -> Option<u32> {
        match channel {
            Channel::Sms => Some(self.inner.sms_per_day.load(Ordering::Relaxed)),
            Channel::Call => Some(self.inner.calls_per_day.load(Ordering::Relaxed)),
            _ => None,
        }
    }

    /// Whether the outbound target guard is off (`notify.allow_private_targets`).
    pub fn allows_private_targets(&self) -> bool {
        self.inner.allow_private_targets
    }

    pub(crate) async fn account_key(&self, account: AccountId) -> Result<AccountKey, CoreError> {
        self.inner.vault.account_key(account).await?.ok_or(CoreError::NotFound("account"))
    }

    /// Queues the event's deliveries, then marks it dispatched; false (nothing done) when it
    /// is dispatched already or another dispatcher's claim on it holds.
    pub async fn on_event(&self, ev: &Event) -> Result<bool, CoreError> {
        let s = &self.inner;
        // Another node's dispatcher may be reading the same undispatched events: one claim
        // each, so an event's deliveries are queued once (a dead node's claim lapses).
        let now = s.clock.now();
        let until = now.plus(DISPATCH_CLAIM);
        if !s.store.claim_event_dispatch(ev.id, now, until).await? {
            return Ok(false);
        }
        if let Err(e) = self.dispatch(ev).await {
            if let Err(release) = s.store.release_event_dispatch(ev.id).await {
                tracing::warn!(event = %ev.id, error = %release, "dispatch claim kept");
            }
            return Err(e);
        }
        s.store.mark_event_dispatched(ev.id, s.clock.now()).await?;
        Ok(true)
    }

    /// Dispatches the events of the last [`RECOVERY_WINDOW`] that are not marked dispatched
    /// and not deleted, oldest first, except those in `skip` (they failed a moment ago). What
    /// it did: the events dispatched, and those that failed (logged; tried again later).
    pub async fn dispatch_pending(&self, skip: &HashSet<uuid::Uuid>) -> Result<Pending, CoreError> {
        let s = &self.inner;
        let now = s.clock.now();
        let window = i64::try_from(RECOVERY_WINDOW.as_millis()).unwrap_or(i64::MAX);
        let from = Timestamp(now.0.saturating_sub(window));
        let events = s.store.undispatched_events(from, now.plus(MS), PENDING_BATCH).await?;
        let mut done = Pending::default();
        let hold = i64::try_from(HOLD_MAX.as_millis()).unwrap_or(i64::MAX);
        let waits = |e: &&Event| {
            e.hold_alert
                && e.verdict == Some(Verdict::Pending)
                && e.created_at.0 > now.0.saturating_sub(hold)
        };
        for ev in events.iter().filter(|e| !skip.contains(&e.id) && !waits(e)) {
            match self.on_event(ev).await {
                Ok(true) => done.dispatched += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(event = %ev.id, error = %e, "dispatch failed; will retry");
                    done.failed.push(ev.id);
                }
            }
        }
        Ok(done)
    }

    /// The deliveries of one event: for its owner, and for every member holding
    /// `receive-alarms` on its device now (the device policy's one rule), each under its own
    /// preferences and recorded under its own account.
    async fn dispatch(&self, ev: &Event) -> Result<(), CoreError> {
        let s = &self.inner;
        let owner_key = self.account_key(ev.account_id).await?;
        let name = match s.store.device(&ev.uid).await?.and_then(|d| d.name_enc) {
            Some(enc) => owner_key.open_string(&format!("device-name/{}", ev.uid), &enc)?,
            None => ev.uid.clone(),
        };
        // The owner's first, and the runner woken after each recipient's: one recipient's
        // push does not wait for the next ones to be queued.
        let members = s.devices.members_holding(&ev.uid, Capability::ReceiveAlarms).await?;
        for account in std::iter::once(ev.account_id).chain(members) {
            let queued = self.dispatch_to(ev, account, &name).await?;
            self.wake_if(queued);
        }
        Ok(())
    }

    /// Who `account` may be told was seen in the event (a failure is logged: the alert then
    /// says "Person").
    async fn who(&self, account: AccountId, ev: &Event) -> Option<String> {
        let seen = ev.sighting.as_ref().is_some_and(|s| s.label == crate::PERSON);
        let who = self.inner.who.get().filter(|_| seen)?;
        who.who(account, ev).await.unwrap_or_else(|err| {
            tracing::warn!(id = %ev.id, error = %err, "naming who was seen");
            None
        })
    }

    /// One recipient's deliveries of the event, by its preferences; how many were queued.
    async fn dispatch_to(
        &self,
        ev: &Event,
        account: AccountId,
        name: &str,
    ) -> Result<usize, CoreError> {
        let s = &self.inner;
        let settings =
            s.store.notification_settings(account).await?.unwrap_or_else(default_settings);
        let device = s
            .store
            .device_notification_settings(account, &ev.uid)
            .await?
            .unwrap_or_else(default_device_settings);
        let tz = rules::time_zone(&settings.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let who = self.who(account, ev).await;
        let payload = payload(ev, name, &tz, who.as_deref());
        let mut queued = 0;

        for w in s.store.webhooks(account).await? {
            self.enqueue(Channel::Webhook, account, Some(w.id), &payload).await?;
            queued += 1;
        }

        let Some(channel) = Channel::of_method(&settings.method) else {
            return Ok(queued);
        };
        let kind = ev.kind.as_str();
        let now = s.clock.now();
        let why_not = if ev.hold_alert && ev.verdict == Some(Verdict::NoPerson) {
            Some(format!("{NO_PERSON}: no person was seen in the motion"))
        } else if !device.kinds.iter().any(|k| k == kind) {
            Some(format!("{kind} events of this device are turned off"))
        } else if kind == "tamper" {
            None
        } else if let Some(until) = device.snoozed_until.filter(|u| *u > now) {
            Some(format!("the device is snoozed until {}", local_hhmm(until, &tz)))
        } else if let Some(q) = settings.quiet_hours.filter(|q| rules::in_quiet_hours(now, *q, &tz))
        {
            Some(format!(
                "quiet hours {}-{} ({})",
                rules::format_hhmm(q.0),
                rules::format_hhmm(q.1),
                settings.time_zone
            ))
        } else {
            None
        };
        if let Some(why) = why_not {
            self.suppress(ev, account, channel, &why).await?;
            return Ok(queued);
        }
        match channel {
            Channel::Push => {
                let subs = s.store.push_subscriptions(account).await?;
                if subs.is_empty() {
                    self.suppress(ev, account, channel, "no browser is subscribed to push").await?;
                }
                for sub in subs {
                    self.enqueue(channel, account, Some(sub.id), &payload).await?;
                    queued += 1;
                }
            }
            Channel::Email | Channel::Sms | Channel::Call => {
                let a = s.store.account(account).await?.ok_or(CoreError::NotFound("account"))?;
                let wanted =
                    if channel == Channel::Email { ContactKind::Email } else { ContactKind::Phone };
                if a.contact_kind == wanted {
                    self.enqueue(channel, account, None, &payload).await?;
                    queued += 1;
                } else {
                    let what = if wanted == ContactKind::Email {
                        "e-mail address"
                    } else {
                        "phone number"
                    };
                    let why = format!("the account has no {what}");
                    self.suppress(ev, account, channel, &why).await?;
                }
            }
            Channel::Webhook => {}
        }
        Ok(queued)
    }

    fn wake_if(&self, queued: usize) {
        if queued > 0 {
            self.inner.wake.notify_one();
        }
    }

    /// Wakes the delivery runner (deliveries were queued).
    pub(crate) fn wake_runner(&self) {
        self.inner.wake.notify_one();
    }

    pub(crate) async fn enqueue(
        &self,
        channel: Channel,
        account: AccountId,
        target: Option<uuid::Uuid>,
        payload: &Payload,
    ) -> Result<JobId, CoreError> {
        let s = &self.inner;
        let job = Job { channel, account: account.0, target, payload: payload.clone() };
        let queue = SealedJob { queue: QUEUE, purpose: SEAL_PURPOSE, max_attempts: MAX_ATTEMPTS };
        queue.enqueue(s.store.as_ref(), &s.keyring, s.clock.now(), &job).await
    }

    pub(crate) fn open(&self, sealed: &[u8]) -> Result<Job, String> {
        open_sealed(&self.inner.keyring, SEAL_PURPOSE, sealed)
    }

    async fn suppress(
        &self,
        ev: &Event,
        account: AccountId,
        channel: Channel,
        why: &str,
    ) -> Result<(), CoreError> {
        tracing::debug!(event = %ev.id, channel = channel.as_str(), why, "notification suppressed");
        self.record(ev.id, account, channel, None, 0, DeliveryStatus::Suppressed, why).await
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn record(
        &self,
        event: uuid::Uuid,
        account: AccountId,
        channel: Channel,
        target: Option<uuid::Uuid>,
        attempt: u32,
        status: DeliveryStatus,
        detail: &str,
    ) -> Result<(), CoreError> {
        let d = Delivery {
            id: uuid::Uuid::now_v7(),
            event_id: event,
            account_id: account,
            channel: channel.as_str().to_string(),
            target_id: target,
            attempt,
            status,
            detail: detail.chars().take(300).collect(),
            at: self.inner.clock.now(),
        };
        self.inner.store.insert_delivery(&d).await?;
        Ok(())
    }
}

/// What one recipient is told: the device's name (opened with the owner's key), who was seen
/// where the recipient may know it, and the time in the recipient's time zone.
fn payload(ev: &Event, name: &str, tz: &jiff::tz::TimeZone, who: Option<&str>) -> Payload {
    let kind = ev.kind.as_str();
    let person = ev.sighting.as_ref().is_some_and(|s| s.label == crate::PERSON);
    let (title, sentence) = what(kind, person);
    let at = ev.started_at.0;
    let hhmm = local_hhmm(ev.started_at, tz);
    let (title, body) = match who {
        Some(who) => (format!("{who} at {name}"), format!("{who} was seen at {hhmm}.")),
        None => (format!("{title} {name}"), format!("{sentence} at {hhmm}.")),
    };
    Payload {
        title,
        body,
        event_id: ev.id,
        device: ev.uid.clone(),
        kind: kind.to_string(),
        at_ms: at,
        url: format!("#/devices/{}/playback?at={at}", ev.uid),
        thumbnail: format!("/api/v1/events/{}/thumbnail", ev.id),
        label: ev.sighting.as_ref().map(|s| s.label.clone()),
    }
}

/// `HH:MM` of `at` in `tz`.
pub(crate) fn local_hhmm(at: Timestamp, tz: &jiff::tz::TimeZone) -> String {
    match jiff::Timestamp::from_millisecond(at.0) {
        Ok(t) => t.to_zoned(tz.clone()).strftime("%H:%M").to_string(),
        Err(_) => "?".into(),
    }
}
