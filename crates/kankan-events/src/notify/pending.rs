//! The dispatch worker: turns stored, not yet dispatched events into queued deliveries
//! ([`Dispatcher::dispatch_pending`]), off the device message path. It runs when the events
//! service signals a new event, and every [`SWEEP_EVERY`] on the clock (events a crash or a
//! failed dispatch left behind; an event that failed is tried again at the next sweep, not in
//! a loop).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use kankan_worker::{Step, Ticker, WorkError, Worker};
use tokio::sync::Notify;

use super::Dispatcher;

/// How often undispatched events are looked for without a signal.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// [`Dispatcher::dispatch_pending`] under the supervisor.
pub struct DispatchWorker {
    dispatcher: Dispatcher,
    /// Raised by the events service whenever it stores a new event.
    new_events: Arc<Notify>,
    sweep: Ticker,
    /// Events whose dispatch failed since the last sweep.
    failed: HashSet<uuid::Uuid>,
}

impl DispatchWorker {
    pub fn new(dispatcher: Dispatcher, new_events: Arc<Notify>) -> DispatchWorker {
        let sweep = Ticker::after(SWEEP_EVERY, dispatcher.inner.clock.now());
        DispatchWorker { dispatcher, new_events, sweep, failed: HashSet::new() }
    }
}

impl Worker for DispatchWorker {
    fn name(&self) -> &'static str {
        "dispatch"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        let now = self.dispatcher.inner.clock.now();
        if self.sweep.take(now) {
            self.failed.clear();
        }
        let done = self.dispatcher.dispatch_pending(&self.failed).await?;
        let progressed = done.dispatched > 0;
        self.failed.extend(done.failed);
        // A full batch may have left more behind: step again at once.
        Ok(if progressed { Step::Busy } else { Step::Idle })
    }

    async fn wait_for_work(&mut self) {
        let clock = self.dispatcher.inner.clock.clone();
        tokio::select! {
            () = self.new_events.notified() => {}
            () = self.sweep.wait(clock.as_ref()) => {}
        }
    }
}
