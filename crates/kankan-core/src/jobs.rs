//! Durable delivery of messages through the job queue.
//!
//! [`DeliveryQueue::enqueue`] seals the message (it holds a contact and perhaps a code) under
//! a server key and stores it as a job; [`JobRunner`] claims due jobs, sends them through the
//! [`Messenger`], and retries transient failures with exponential backoff until the job's
//! attempts run out. Done and dead jobs have their payload erased. The runner is a
//! [`Worker`]: woken on enqueue, and polling once a second on the clock.

use std::sync::Arc;
use std::time::Duration;

use kankan_base::{Clocks, JobId};
use kankan_crypto::Keyring;
use kankan_db::{Job, NewJob, Store};
use kankan_notify::{Message, Messenger, Recipient};
use kankan_worker::{Step, WorkError, Worker};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::CoreError;

pub const DELIVER_MESSAGE: &str = "deliver-message";
const SEAL_PURPOSE: &str = "job/deliver-message";
const MAX_ATTEMPTS: u32 = 8;
const LEASE: Duration = Duration::from_secs(60);
const IDLE_POLL: Duration = Duration::from_secs(1);

#[derive(Serialize, Deserialize)]
struct Sealed {
    email: Option<String>,
    phone: Option<String>,
    subject: String,
    body: String,
}

/// A queue whose payloads hold secrets (contacts, codes, push keys): each is sealed under a
/// server key with its own purpose before it is stored, and erased once the job is done.
#[derive(Debug, Clone, Copy)]
pub struct SealedJob {
    pub queue: &'static str,
    pub purpose: &'static str,
    pub max_attempts: u32,
}

impl SealedJob {
    /// Seals `value` (as JSON) and stores it as a job due `now`.
    pub async fn enqueue<T: Serialize>(
        self,
        store: &dyn Store,
        keyring: &Keyring,
        now: kankan_base::Timestamp,
        value: &T,
    ) -> Result<JobId, CoreError> {
        let plain = serde_json::to_vec(value).map_err(|e| CoreError::Internal(e.to_string()))?;
        let id = JobId::new();
        let job = NewJob {
            id,
            queue: self.queue,
            payload: keyring.seal_server_data(self.purpose, &plain)?,
            max_attempts: self.max_attempts,
            run_after: now,
        };
        store.enqueue_job(&job, now).await?;
        Ok(id)
    }
}

/// Opens a payload [`SealedJob::enqueue`] sealed under `purpose`.
pub fn open_sealed<T: serde::de::DeserializeOwned>(
    keyring: &Keyring,
    purpose: &str,
    sealed: &[u8],
) -> Result<T, String> {
    let plain = keyring.open_server_data(purpose, sealed).map_err(|e| format!("payload: {e}"))?;
    serde_json::from_slice(&plain).map_err(|e| format!("payload: {e}"))
}

/// Puts messages on the durable queue.
#[derive(Clone)]
pub struct DeliveryQueue {
    store: Arc<dyn Store>,
    keyring: Keyring,
    clock: Clocks,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for DeliveryQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeliveryQueue")
    }
}

impl DeliveryQueue {
    pub fn new(store: Arc<dyn Store>, keyring: Keyring, clock: Clocks) -> Self {
        DeliveryQueue { store, keyring, clock, wake: Arc::new(Notify::new()) }
    }

    pub async fn enqueue(&self, msg: Message) -> Result<JobId, CoreError> {
        let (email, phone) = match msg.to {
            Recipient::Email(e) => (Some(e), None),
            Recipient::Phone(p) => (None, Some(p)),
        };
        let sealed = Sealed { email, phone, subject: msg.subject, body: msg.body };
        let job =
            SealedJob { queue: DELIVER_MESSAGE, purpose: SEAL_PURPOSE, max_attempts: MAX_ATTEMPTS };
        let id = job.enqueue(self.store.as_ref(), &self.keyring, self.clock.now(), &sealed).await?;
        self.wake.notify_one();
        Ok(id)
    }

    fn open(&self, job: &Job) -> Result<Message, String> {
        let s: Sealed = open_sealed(&self.keyring, SEAL_PURPOSE, &job.payload)?;
        let to = match (s.email, s.phone) {
            (Some(e), None) => Recipient::Email(e),
            (None, Some(p)) => Recipient::Phone(p),
            _ => return Err("payload names no single recipient".into()),
        };
        Ok(Message { to, subject: s.subject, body: s.body })
    }
}

/// The worker that drains the delivery queue.
pub struct JobRunner {
    queue: DeliveryQueue,
    messenger: Arc<dyn Messenger>,
}

/// Delay before attempt `n + 1` after `n` failed attempts: 2, 4, 8 ... seconds, at most 5 min.
pub fn backoff(attempts: u32) -> Duration {
    Duration::from_secs(2u64.saturating_pow(attempts.min(16)).min(300))
}

impl JobRunner {
    pub fn new(queue: DeliveryQueue, messenger: Arc<dyn Messenger>) -> Self {
        JobRunner { queue, messenger }
    }

    /// Runs one due job, if any. Returns whether one ran.
    pub async fn step(&self) -> Result<bool, CoreError> {
        let q = &self.queue;
        let now = q.clock.now();
        let Some(job) = q.store.claim_job(DELIVER_MESSAGE, now, now.plus(LEASE)).await? else {
            return Ok(false);
        };
        let msg = match q.open(&job) {
            Ok(m) => m,
            Err(e) => {
                q.store.abort_job(job.id, &e, now).await?;
                tracing::error!(job = %job.id, error = %e, "undeliverable job aborted");
                return Ok(true);
            }
        };
        let result = self.messenger.send(&msg).await;
        let now = q.clock.now();
        match result {
            Ok(()) => q.store.complete_job(job.id, now).await?,
            Err(e) if e.is_transient() && job.attempts < job.max_attempts => {
                let delay = backoff(job.attempts);
                tracing::warn!(job = %job.id, attempt = job.attempts, error = %e, ?delay, "delivery failed; will retry");
                q.store.retry_job(job.id, now.plus(delay), &e.to_string()).await?;
            }
            Err(e) => {
                tracing::error!(job = %job.id, attempt = job.attempts, error = %e, "delivery failed for good");
                q.store.abort_job(job.id, &e.to_string(), now).await?;
            }
        }
        Ok(true)
    }
}

/// Drains due jobs; when none is due, waits for an enqueue or the poll interval (on the
/// clock). The supervisor backs off after a failed step.
impl Worker for JobRunner {
    fn name(&self) -> &'static str {
        "jobs"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        Ok(if self.step().await? { Step::Busy } else { Step::Idle })
    }

    async fn wait_for_work(&mut self) {
        let q = &self.queue;
        tokio::select! {
            () = q.wake.notified() => {}
            () = q.clock.sleep(IDLE_POLL) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(2));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(40), Duration::from_secs(300));
    }
}
