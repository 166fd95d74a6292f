//! Long-running background work: one [`Worker`] trait (a name, a step of work, a wait for
//! more) and the [`Supervisor`] that runs each worker on a task of its own, restarts it with
//! exponential backoff when a step fails or panics, stops them all at shutdown and keeps
//! their [`WorkerStatus`] for `/metrics` and the admin API. Modelled on Garage's `Worker`.
//!
//! Workers wait for time only through their [`kankan_base::Clock`], so on a simulated clock
//! a test moves them on by advancing it. Only `kankan-server` builds a supervisor.

mod status;
mod supervisor;

use std::future::Future;
use std::time::Duration;

use kankan_base::{Clock, Sleep, Timestamp};

pub use status::{WorkerState, WorkerStatus, Workers};
pub use supervisor::{Backoff, Supervisor};

/// What a step of work found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// There may be more to do at once: step again.
    Busy,
    /// Nothing to do now: wait for work, then step again.
    Idle,
    /// The worker has finished for good (its input closed).
    Done,
}

/// Why a step failed; the supervisor logs it, shows it and backs off.
pub type WorkError = Box<dyn std::error::Error + Send + Sync>;

/// A background loop, cut into steps the supervisor drives.
///
/// A worker that failed or panicked is run again as it is: what it holds (a receiver, the
/// tasks it started) survives; the step that failed is abandoned. Shutdown is checked between
/// steps and cancels [`Worker::wait_for_work`], never a step, so steps should be short.
pub trait Worker: Send + 'static {
    /// A short stable name: the `worker` label on `/metrics`.
    fn name(&self) -> &'static str;

    /// Does one piece of work.
    fn work(&mut self) -> impl Future<Output = Result<Step, WorkError>> + Send;

    /// Waits until there may be work again: a signal, or a time on the clock.
    fn wait_for_work(&mut self) -> impl Future<Output = ()> + Send;

    /// Releases what the worker holds, once, after its last step at shutdown.
    fn stop(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// Something due every `period` on a clock: sweeps, rescans, recovery passes.
#[derive(Debug, Clone)]
pub struct Ticker {
    period: Duration,
    next: Timestamp,
}

impl Ticker {
    /// First due one period after `now`.
    pub fn after(period: Duration, now: Timestamp) -> Ticker {
        Ticker { period, next: now.plus(period) }
    }

    /// First due at once.
    pub fn starting(period: Duration, now: Timestamp) -> Ticker {
        Ticker { period, next: now }
    }

    fn is_due(&self, now: Timestamp) -> bool {
        now >= self.next
    }

    /// If it is due at `now`, marks it done (next due one period after `now`) and says so.
    /// For work that cannot fail and takes no time.
    pub fn take(&mut self, now: Timestamp) -> bool {
        let due = self.is_due(now);
        if due {
            self.next = now.plus(self.period);
        }
        due
    }

    /// Runs `work` if it is due, reading `clock` once, before the work: when the clock moves
    /// on while the work runs (a simulated jump), the next run is a period after the work
    /// began, never a period after the jump, so nothing the jump made due is skipped. Marked
    /// done only when the work succeeds; a failed run is due again at once, after the
    /// supervisor's backoff.
    pub async fn run<T, E>(
        &mut self,
        clock: &dyn Clock,
        work: impl Future<Output = Result<T, E>>,
    ) -> Result<Option<T>, E> {
        let now = clock.now();
        if !self.is_due(now) {
            return Ok(None);
        }
        let out = work.await?;
        self.next = now.plus(self.period);
        Ok(Some(out))
    }

    /// When it is next due.
    pub fn next(&self) -> Timestamp {
        self.next
    }

    /// Waits on `clock` until it is due.
    pub fn wait(&self, clock: &dyn Clock) -> Sleep {
        clock.sleep_until(self.next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticker_is_due_each_period_after_it_was_taken() {
        let mut t = Ticker::after(Duration::from_secs(60), Timestamp(0));
        assert!(!t.take(Timestamp(59_999)));
        assert!(t.take(Timestamp(61_000)));
        assert_eq!(t.next(), Timestamp(121_000));
        assert!(!t.take(Timestamp(61_000)), "taken once");
        assert!(Ticker::starting(Duration::from_secs(60), Timestamp(5)).take(Timestamp(5)));
    }

    #[tokio::test]
    async fn a_run_the_clock_jumps_during_is_next_due_a_period_after_it_began() {
        let clock = kankan_base::SimClock::starting_at(Timestamp(0));
        let mut t = Ticker::after(Duration::from_secs(3600), Timestamp(0));
        clock.advance(Duration::from_secs(3600));
        let ran = t
            .run(&clock, async {
                // The clock jumps while the work runs.
                clock.advance(Duration::from_secs(3600));
                Ok::<_, ()>(7)
            })
            .await;
        assert_eq!(ran, Ok(Some(7)));
        assert_eq!(t.next(), Timestamp(7_200_000), "a period after the run began");
        assert!(t.is_due(clock.now()), "the jump made it due again at once");
    }

    #[tokio::test]
    async fn a_failed_run_is_due_again_and_one_not_due_does_not_run() {
        let clock = kankan_base::SimClock::starting_at(Timestamp(0));
        let mut t = Ticker::after(Duration::from_secs(60), Timestamp(0));
        let early = t.run(&clock, async { Ok::<_, ()>(()) }).await;
        assert_eq!(early, Ok(None), "not due yet");
        clock.advance(Duration::from_secs(60));
        assert_eq!(t.run(&clock, async { Err::<(), _>("boom") }).await, Err("boom"));
        assert!(t.is_due(clock.now()), "a failed run stays due");
    }
}
