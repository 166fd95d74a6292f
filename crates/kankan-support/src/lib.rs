//! Feedback and support tickets, with the camera's logs (the founding policy's "Help Center
//! ... Online Customer Service": device information, the issue and logs, collected only when
//! the user sends them).
//!
//! - **Logs** ([`logs`]): the user asks a camera for its logs (`logs-upload` over MQTT, the
//!   owner's `change-settings`); the camera posts its bounded log to the ingest with its own
//!   credentials; the text is sealed under the account's key and shown to the user, who then
//!   attaches it to a ticket or not. Logs attached to no ticket are deleted after a day.
//! - **Tickets** ([`tickets`]): category, subject, description, optionally a camera the user
//!   can see (its model, firmware and online state recorded) and its logs; a thread with the
//!   staff's replies (each reply tells the user: "Support replied to your ticket"); closing.
//!   Subjects and messages are sealed under the account's key; everything goes with the
//!   account (the crypto-shred makes it unreadable at once, the purge deletes the rows).
//! - **Staff** ([`staff`]): the queue, assigning (to oneself with `tickets-reply`, to another
//!   with `tickets-assign`), replying, closing; a ticket's attachments are readable by its
//!   assignee only, whatever the role. Every staff action goes to the audit log, without
//!   personal data in its detail.

pub mod logs;
pub mod staff;
pub mod tickets;

use std::sync::Arc;
use std::time::Duration;

use kankan_accounts::risk::RateLimiter;
use kankan_base::{Clocks, ErrorKind};
use kankan_core::{AuditLog, CoreError, DeliveryQueue, KeyVault};
use kankan_crypto::Keyring;
use kankan_db::Store;
use kankan_devices::Devices;
use kankan_worker::{Step, Ticker, WorkError, Worker};

pub use kankan_db::{LogRequestRow, TicketDeviceRow, TicketMessageRow, TicketRow};
pub use logs::{LOGS_TTL, LogsView, parse_upload};
pub use tickets::{CATEGORIES, MAX_BODY, MAX_SUBJECT, TICKETS_PER_HOUR, TicketView};

/// How often the sweep deletes logs attached to no ticket.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);

/// The support service. Cheap to clone.
#[derive(Clone)]
pub struct Support {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Support {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Support")
    }
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Clocks,
    devices: Devices,
    vault: KeyVault,
    audit: AuditLog,
    outbox: DeliveryQueue,
    limiter: RateLimiter,
}

impl Support {
    pub fn new(
        store: Arc<dyn Store>,
        keyring: &Keyring,
        clock: Clocks,
        devices: Devices,
        outbox: DeliveryQueue,
    ) -> Support {
        let vault = KeyVault::new(store.clone(), keyring.clone());
        let audit = AuditLog::new(store.clone(), keyring.clone(), clock.clone());
        let limiter = RateLimiter::for_store(clock.clone(), store.clone(), keyring);
        Support { inner: Arc::new(Inner { store, clock, devices, vault, audit, outbox, limiter }) }
    }

    fn now(&self) -> kankan_base::Timestamp {
        self.inner.clock.now()
    }

    /// Deletes the logs attached to no ticket whose day is up; how many.
    pub async fn sweep(&self) -> Result<u64, CoreError> {
        Ok(self.inner.store.expire_log_requests(self.now()).await?)
    }

    /// The worker that runs [`Support::sweep`] every [`SWEEP_EVERY`] on the clock.
    pub fn worker(&self) -> SupportWorker {
        SupportWorker { support: self.clone(), ticker: Ticker::after(SWEEP_EVERY, self.now()) }
    }
}

/// A support error with its stable code.
pub(crate) fn err(kind: ErrorKind, code: &'static str, message: impl Into<String>) -> CoreError {
    CoreError::Support { kind, code, message: message.into() }
}

pub(crate) fn not_found() -> CoreError {
    err(ErrorKind::NotFound, "ticket-not-found", "no such ticket")
}

pub(crate) fn logs_unavailable(message: impl Into<String>) -> CoreError {
    err(ErrorKind::NotFound, "logs-unavailable", message)
}

/// Deletes unattached logs whose day is up.
pub struct SupportWorker {
    support: Support,
    ticker: Ticker,
}

impl Worker for SupportWorker {
    fn name(&self) -> &'static str {
        "support"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        let clock = self.support.inner.clock.clone();
        if let Some(n) = self.ticker.run(clock.as_ref(), self.support.sweep()).await?
            && n > 0
        {
            tracing::debug!(deleted = n, "unattached device logs");
        }
        Ok(Step::Idle)
    }

    async fn wait_for_work(&mut self) {
        let clock = self.support.inner.clock.clone();
        self.ticker.wait(clock.as_ref()).await;
    }
}
