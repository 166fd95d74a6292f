//! The supervisor: one task per worker, run again with exponential backoff (on the clock)
//! after a failed or panicking step, stopped at shutdown and waited for.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt as _;
use kankan_base::{Clocks, ShutdownSignal};
use tokio::task::JoinSet;

use crate::{Step, Worker, WorkerState, WorkerStatus, Workers};

/// The wait before a failed worker runs again: `first`, doubled for each further failure in
/// a row, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { first: Duration::from_secs(1), max: Duration::from_secs(300) }
    }
}

impl Backoff {
    /// The wait after `failures` failures in a row (1 or more).
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.first.saturating_mul(1u32 << doublings).min(self.max)
    }
}

/// Runs workers until shutdown. Built and driven only by `kankan-server`.
pub struct Supervisor {
    clock: Clocks,
    shutdown: ShutdownSignal,
    backoff: Backoff,
    workers: Workers,
    tasks: JoinSet<()>,
}

impl std::fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor").field("workers", &self.workers.list()).finish()
    }
}

impl Supervisor {
    pub fn new(clock: Clocks, shutdown: ShutdownSignal) -> Supervisor {
        Supervisor {
            clock,
            shutdown,
            backoff: Backoff::default(),
            workers: Workers::default(),
            tasks: JoinSet::new(),
        }
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Supervisor {
        self.backoff = backoff;
        self
    }

    /// The status table, for `/metrics` and the admin API.
    pub fn workers(&self) -> Workers {
        self.workers.clone()
    }

    /// Starts `worker` on a task of its own.
    pub fn spawn<W: Worker>(&mut self, worker: W) {
        let index = self.workers.add(worker.name());
        let run = Run {
            index,
            workers: self.workers.clone(),
            clock: self.clock.clone(),
            shutdown: self.shutdown.clone(),
            backoff: self.backoff,
        };
        self.tasks.spawn(run.supervise(worker));
    }

    /// Waits until every worker has stopped: at shutdown, or when each is done.
    pub async fn stopped(mut self) {
        while let Some(joined) = self.tasks.join_next().await {
            if let Err(e) = joined {
                tracing::error!(error = %e, "a worker's supervising task failed");
            }
        }
    }
}

/// What one worker's task needs.
struct Run {
    index: usize,
    workers: Workers,
    clock: Clocks,
    shutdown: ShutdownSignal,
    backoff: Backoff,
}

impl Run {
    fn set(&self, f: impl FnOnce(&mut WorkerStatus)) {
        self.workers.update(self.index, f);
    }

    async fn supervise<W: Worker>(mut self, mut w: W) {
        let name = w.name();
        let mut failures = 0u32;
        loop {
            if self.shutdown.is_triggered() {
                break;
            }
            self.set(|s| s.state = WorkerState::Running);
            let step = match AssertUnwindSafe(w.work()).catch_unwind().await {
                Ok(Ok(step)) => Ok(step),
                Ok(Err(e)) => Err(e.to_string()),
                Err(panic) => Err(format!("panicked: {}", panic_message(&*panic))),
            };
            let error = match step {
                Ok(step) => {
                    failures = 0;
                    let now = self.clock.now();
                    self.set(|s| {
                        s.failures = 0;
                        s.last_run_at = Some(now);
                        s.retry_at = None;
                    });
                    match step {
                        Step::Busy => continue,
                        Step::Done => break,
                        Step::Idle => {}
                    }
                    self.set(|s| s.state = WorkerState::Idle);
                    let waited = tokio::select! {
                        () = self.shutdown.wait() => break,
                        r = AssertUnwindSafe(w.wait_for_work()).catch_unwind() => r,
                    };
                    match waited {
                        Ok(()) => continue,
                        Err(panic) => format!("panicked waiting: {}", panic_message(&*panic)),
                    }
                }
                Err(e) => e,
            };
            failures = failures.saturating_add(1);
            let delay = self.backoff.delay(failures);
            let retry_at = self.clock.now().plus(delay);
            tracing::error!(worker = name, %error, failures, ?delay, "worker failed; running it again after a backoff");
            self.set(|s| {
                s.state = WorkerState::BackingOff;
                s.failures = failures;
                s.last_error = Some(error);
                s.retry_at = Some(retry_at);
            });
            tokio::select! {
                () = self.shutdown.wait() => break,
                () = self.clock.sleep_until(retry_at) => {}
            }
            self.set(|s| s.restarts += 1);
        }
        if let Err(panic) = AssertUnwindSafe(w.stop()).catch_unwind().await {
            tracing::error!(
                worker = name,
                panic = panic_message(&*panic),
                "worker panicked stopping"
            );
        }
        self.set(|s| {
            s.state = WorkerState::Stopped;
            s.retry_at = None;
        });
        tracing::debug!(worker = name, "worker stopped");
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(no message)"
    }
}

#[cfg(test)]
mod tests;
