//! The runner of the `notify-event` queue: claims due deliveries and sends each in a task of
//! its own (at most [`CONCURRENCY`] at once), so a webhook that hangs for its whole timeout
//! delays nobody else. Every attempt leaves a delivery record; transient failures are retried
//! with [`kankan_core::jobs::backoff`]; a push subscription the service reports gone (404/410) is
//! deleted; a delivery out of attempts or refused for good is a dead letter.
//!
//! Unless private targets are allowed, a push endpoint or webhook is checked again before each
//! send (its name may now resolve to a private address: dead at once), and the HTTP client
//! connects only to checked addresses ([`kankan_notify::guard`]). It runs as a [`Worker`]
//! ([`NotifyRunner::worker`]), woken when deliveries are queued and polling on the clock.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kankan_base::AccountId;
use kankan_db::{ContactKind, DeliveryStatus, Job as JobRow};
use kankan_notify::guard::{self, TargetError};
use kankan_notify::webpush::{PushClient, PushError, PushSubscription, Urgency};
use kankan_notify::{Message, Messenger, Recipient, SendError, webhook};
use kankan_worker::{Step, WorkError, Worker};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::dispatch::{Channel, Dispatcher, Job, Payload, QUEUE};
use super::store::{open_subscription, open_webhook};
use crate::CoreError;
use kankan_core::jobs::backoff;

/// Deliveries in flight at once.
pub const CONCURRENCY: usize = 32;
/// A claimed delivery is someone else's again after this (the longest send takes 10 s).
const LEASE: Duration = Duration::from_secs(60);
const IDLE_POLL: Duration = Duration::from_secs(1);
/// How long a push service keeps a message for an offline browser.
const PUSH_TTL_SECS: u32 = 3600;

/// Places voice calls that read a text aloud.
#[async_trait]
pub trait Caller: Send + Sync + 'static {
    async fn call(&self, to: &str, say: &str) -> Result<(), SendError>;
}

#[async_trait]
impl Caller for kankan_notify::TwilioSms {
    async fn call(&self, to: &str, say: &str) -> Result<(), SendError> {
        kankan_notify::TwilioSms::call(self, to, say).await
    }
}

/// The ways out.
pub struct Channels {
    /// Built on [`guard::guarded_client`] unless private targets are allowed.
    pub push: PushClient,
    /// For webhooks; built on [`guard::guarded_client`] unless private targets are allowed.
    pub http: reqwest::Client,
    /// E-mail and SMS (and calls, written as a message, when there is no [`Caller`]).
    pub messenger: Arc<dyn Messenger>,
    pub caller: Option<Arc<dyn Caller>>,
}

/// How one attempt ended.
enum Outcome {
    Sent(String),
    /// Not sent: the account's daily cap on the channel is reached.
    Capped(String),
    Gone(String),
    Transient(String),
    Failed(String),
}

/// The worker that drains the `notify-event` queue.
#[derive(Clone)]
pub struct NotifyRunner {
    d: Dispatcher,
    channels: Arc<Channels>,
}

impl NotifyRunner {
    pub fn new(dispatcher: Dispatcher, channels: Channels) -> Self {
        NotifyRunner { d: dispatcher, channels: Arc::new(channels) }
    }

    /// The worker: claims due deliveries while tasks are free, each sent on a task of its
    /// own; when none is due, waits until woken (an event was dispatched) or the poll
    /// interval passes.
    pub fn worker(self) -> NotifyWorker {
        NotifyWorker {
            runner: self,
            slots: Arc::new(Semaphore::new(CONCURRENCY)),
            tasks: JoinSet::new(),
        }
    }

    /// Sends one claimed delivery and settles its job and record.
    async fn attempt(&self, row: JobRow) -> Result<(), CoreError> {
        let s = &self.d.inner;
        let job = match self.d.open(&row.payload) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(job = %row.id, error = %e, "undeliverable notification aborted");
                s.store.abort_job(row.id, &e, s.clock.now()).await?;
                return Ok(());
            }
        };
        let outcome = self.send(&job).await;
        let now = s.clock.now();
        let n = row.attempts;
        let (status, detail) = match outcome {
            Outcome::Sent(d) => {
                s.store.complete_job(row.id, now).await?;
                (DeliveryStatus::Sent, d)
            }
            Outcome::Gone(d) => {
                s.store.complete_job(row.id, now).await?;
                (DeliveryStatus::Gone, d)
            }
            Outcome::Capped(d) => {
                s.store.complete_job(row.id, now).await?;
                (DeliveryStatus::Suppressed, d)
            }
            Outcome::Transient(e) if n < row.max_attempts => {
                let delay = backoff(n);
                s.store.retry_job(row.id, now.plus(delay), &e).await?;
                (DeliveryStatus::Retry, format!("{e}; next attempt in {} s", delay.as_secs()))
            }
            Outcome::Transient(e) | Outcome::Failed(e) => {
                s.store.abort_job(row.id, &e, now).await?;
                (DeliveryStatus::Dead, e)
            }
        };
        if status == DeliveryStatus::Dead {
            tracing::warn!(job = %row.id, channel = job.channel.as_str(), attempt = n, %detail, "notification dead");
        }
        let account = AccountId(job.account);
        self.d
            .record(job.payload.event_id, account, job.channel, job.target, n, status, &detail)
            .await
    }

    async fn send(&self, job: &Job) -> Outcome {
        match self.try_send(job).await {
            Ok(o) => o,
            // Our own trouble (database, keys): worth another try.
            Err(e) => Outcome::Transient(format!("internal error: {}", e.code())),
        }
    }

    async fn try_send(&self, job: &Job) -> Result<Outcome, CoreError> {
        let s = &self.d.inner;
        let account = AccountId(job.account);
        let p = &job.payload;
        match job.channel {
            Channel::Push => {
                let Some(row) = (match job.target {
                    Some(id) => s.store.push_subscription(id).await?,
                    None => None,
                }) else {
                    return Ok(Outcome::Gone("the browser unsubscribed".into()));
                };
                let key = self.d.account_key(account).await?;
                let sub: PushSubscription = open_subscription(&key, &row)?;
                if let Some(refused) = self.guard("push endpoint", &sub.endpoint, true).await {
                    return Ok(refused);
                }
                let body = serde_json::to_vec(p).map_err(|e| CoreError::Internal(e.to_string()))?;
                let urgency = if matches!(p.kind.as_str(), "press" | "tamper") {
                    Urgency::High
                } else {
                    Urgency::Normal
                };
                Ok(match self.channels.push.send(&sub, &body, PUSH_TTL_SECS, urgency).await {
                    Ok(()) => Outcome::Sent("accepted by the push service".into()),
                    Err(PushError::Gone) => {
                        s.store.delete_push_subscription_by_id(row.id).await?;
                        Outcome::Gone(
                            "the push service says the subscription is gone; removed".into(),
                        )
                    }
                    Err(e) if e.is_transient() => Outcome::Transient(e.to_string()),
                    Err(e) => Outcome::Failed(e.to_string()),
                })
            }
            Channel::Webhook => {
                let Some(row) = (match job.target {
                    Some(id) => s.store.webhook(id).await?,
                    None => None,
                }) else {
                    return Ok(Outcome::Failed("the webhook was deleted".into()));
                };
                let key = self.d.account_key(account).await?;
                let (url, secret) = open_webhook(&key, &row)?;
                if let Some(refused) = self.guard("webhook", &url, false).await {
                    return Ok(refused);
                }
                let body = serde_json::to_vec(p).map_err(|e| CoreError::Internal(e.to_string()))?;
                let now_s = s.clock.now().0.div_euclid(1000);
                Ok(match webhook::post(&self.channels.http, &url, &secret, &body, now_s).await {
                    Ok(()) => Outcome::Sent("accepted by the webhook".into()),
                    Err(e) if e.is_transient() => Outcome::Transient(e.to_string()),
                    Err(e) => Outcome::Failed(e.to_string()),
                })
            }
            Channel::Email | Channel::Sms | Channel::Call => {
                if let Some(capped) = self.over_daily_cap(job.channel, account).await? {
                    return Ok(capped);
                }
                let a = s.store.account(account).await?.ok_or(CoreError::NotFound("account"))?;
                let key = self.d.account_key(account).await?;
                let contact = key.open_string("contact", &a.contact_enc)?;
                let to = match a.contact_kind {
                    ContactKind::Email => Recipient::Email(contact),
                    ContactKind::Phone => Recipient::Phone(contact),
                };
                let result = match (job.channel, &self.channels.caller) {
                    (Channel::Call, Some(caller)) => {
                        caller
                            .call(to.address(), &format!("Kankan alarm. {}. {}", p.title, p.body))
                            .await
                    }
                    _ => self.channels.messenger.send(&self.message(to, p)).await,
                };
                Ok(match result {
                    Ok(()) => {
                        Outcome::Sent(format!("accepted by the {} provider", job.channel.as_str()))
                    }
                    Err(e) if e.is_transient() => Outcome::Transient(e.to_string()),
                    Err(e) => Outcome::Failed(e.to_string()),
                })
            }
        }
    }

    /// The refusal of an SMS or call past the account's cap for the last 24 hours (counted
    /// from what was sent; deliveries running at the same moment may pass it by a few).
    async fn over_daily_cap(
        &self,
        channel: Channel,
        account: AccountId,
    ) -> Result<Option<Outcome>, CoreError> {
        let Some(cap) = self.d.daily_cap(channel) else { return Ok(None) };
        let s = &self.d.inner;
        let since = kankan_base::Timestamp(s.clock.now().0.saturating_sub(86_400_000));
        let sent = s
            .store
            .count_deliveries_since(account, channel.as_str(), DeliveryStatus::Sent, since)
            .await?;
        if sent < u64::from(cap) {
            return Ok(None);
        }
        let what = if channel == Channel::Sms { "SMS notifications" } else { "calls" };
        Ok(Some(Outcome::Capped(format!(
            "daily limit reached: at most {cap} {what} in 24 hours; the app and e-mail still work"
        ))))
    }

    /// Checks a stored target again before sending (unless private targets are allowed): a
    /// target that now points at a private address, or a push endpoint that is not https, is
    /// refused for good.
    async fn guard(&self, what: &str, url: &str, https_only: bool) -> Option<Outcome> {
        if self.d.allows_private_targets() {
            return None;
        }
        if https_only && !url.starts_with("https://") {
            return Some(Outcome::Failed(format!("the {what} is not https; not sent")));
        }
        match guard::check_url(url, false).await {
            Ok(_) => None,
            Err(TargetError::Private) => {
                Some(Outcome::Failed(format!("the {what} points at a private address; not sent")))
            }
            Err(TargetError::Invalid(why)) => {
                Some(Outcome::Failed(format!("the {what} URL {why}; not sent")))
            }
        }
    }

    fn message(&self, to: Recipient, p: &Payload) -> Message {
        let link = match &self.d.inner.public_url {
            Some(base) => format!("\n\nOpen it: {base}/{}", p.url),
            None => String::new(),
        };
        Message { to, subject: p.title.clone(), body: format!("{}: {}{link}", p.title, p.body) }
    }
}

/// [`NotifyRunner`] under the supervisor.
pub struct NotifyWorker {
    runner: NotifyRunner,
    slots: Arc<Semaphore>,
    /// The deliveries being sent.
    tasks: JoinSet<()>,
}

impl Worker for NotifyWorker {
    fn name(&self) -> &'static str {
        "notify"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        while self.tasks.try_join_next().is_some() {}
        let s = &self.runner.d.inner;
        let Ok(permit) = self.slots.clone().try_acquire_owned() else {
            // Every slot is sending: wait for one to finish.
            return Ok(Step::Idle);
        };
        let now = s.clock.now();
        let Some(job) = s.store.claim_job(QUEUE, now, now.plus(LEASE)).await? else {
            return Ok(Step::Idle);
        };
        let me = self.runner.clone();
        self.tasks.spawn(async move {
            if let Err(e) = me.attempt(job).await {
                tracing::error!(error = %e, "notification attempt could not be settled");
            }
            drop(permit);
        });
        Ok(Step::Busy)
    }

    async fn wait_for_work(&mut self) {
        let s = &self.runner.d.inner;
        if self.slots.available_permits() == 0 {
            self.tasks.join_next().await;
            return;
        }
        tokio::select! {
            () = s.wake.notified() => {}
            () = s.clock.sleep(IDLE_POLL) => {}
        }
    }

    async fn stop(&mut self) {
        // Deliveries cut short are claimed again once their lease lapses.
        self.tasks.abort_all();
    }
}
