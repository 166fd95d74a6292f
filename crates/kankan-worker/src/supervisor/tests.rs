//! The supervisor on simulated time: restarts, backoff deadlines, shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use kankan_base::{Shutdown, SimClock, Timestamp};

use super::*;
use crate::WorkError;

const T0: Timestamp = Timestamp(1_000_000);

/// A bound on how long a test may hang if the supervisor is broken; never an assertion.
async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f).await.expect("the supervisor got there")
}

/// A worker that plays a script of step results, then idles for ever.
struct Scripted {
    name: &'static str,
    script: Vec<&'static str>,
    steps: Arc<AtomicU32>,
    stopped: Arc<AtomicBool>,
}

impl Scripted {
    fn new(name: &'static str, script: &[&'static str]) -> Scripted {
        Scripted {
            name,
            script: script.iter().rev().copied().collect(),
            steps: Arc::default(),
            stopped: Arc::default(),
        }
    }
}

impl Worker for Scripted {
    fn name(&self) -> &'static str {
        self.name
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        self.steps.fetch_add(1, Ordering::SeqCst);
        tokio::task::yield_now().await;
        match self.script.pop().unwrap_or("idle") {
            "panic" => panic!("boom"),
            "error" => Err("the database is down".into()),
            "error-forever" => {
                self.script.push("error-forever");
                Err("still down".into())
            }
            "busy" => Ok(Step::Busy),
            "done" => Ok(Step::Done),
            _ => Ok(Step::Idle),
        }
    }

    async fn wait_for_work(&mut self) {
        std::future::pending::<()>().await
    }

    async fn stop(&mut self) {
        // Takes a moment, so the supervisor is seen to wait for it.
        tokio::task::yield_now().await;
        self.stopped.store(true, Ordering::SeqCst);
    }
}

fn supervisor() -> (Supervisor, SimClock, Shutdown) {
    let clock = SimClock::starting_at(T0);
    let (shutdown, signal) = Shutdown::new();
    let backoff = Backoff { first: Duration::from_secs(1), max: Duration::from_secs(8) };
    (Supervisor::new(Arc::new(clock.clone()), signal).with_backoff(backoff), clock, shutdown)
}

#[test]
fn backoff_doubles_per_failure_up_to_its_cap() {
    let b = Backoff { first: Duration::from_secs(1), max: Duration::from_secs(8) };
    let table = [(1, 1), (2, 2), (3, 4), (4, 8), (5, 8), (u32::MAX, 8)];
    for (failures, secs) in table {
        assert_eq!(b.delay(failures), Duration::from_secs(secs), "{failures}");
    }
}

#[tokio::test]
async fn a_worker_that_panics_is_restarted_after_backoff_and_shows_its_restarts_and_last_error() {
    let (mut sup, clock, _shutdown) = supervisor();
    let w = Scripted::new("retention", &["panic", "idle"]);
    let steps = w.steps.clone();
    sup.spawn(w);
    let workers = sup.workers();
    let s = within(workers.wait_for("retention", |s| s.state == WorkerState::BackingOff)).await;
    assert_eq!((s.restarts, s.failures), (0, 1));
    assert_eq!(s.last_error.as_deref(), Some("panicked: boom"));
    assert_eq!(s.retry_at, Some(T0.plus(Duration::from_secs(1))));
    within(clock.wait_for_deadline(T0.plus(Duration::from_secs(1)))).await;
    assert_eq!(steps.load(Ordering::SeqCst), 1, "not run again before the clock moves");

    clock.advance(Duration::from_secs(1));
    let s = within(workers.wait_for("retention", |s| s.state == WorkerState::Idle)).await;
    assert_eq!((s.restarts, s.failures, steps.load(Ordering::SeqCst)), (1, 0, 2));
    assert_eq!(s.last_error.as_deref(), Some("panicked: boom"), "the last error stays shown");
    assert_eq!(s.last_run_at, Some(T0.plus(Duration::from_secs(1))));
}

#[tokio::test]
async fn a_worker_that_errors_backs_off_exponentially_on_the_simulated_clock() {
    let (mut sup, clock, _shutdown) = supervisor();
    sup.spawn(Scripted::new("jobs", &["error-forever"]));
    let workers = sup.workers();
    // Failures at T0, +1 s, +3 s, +7 s, +15 s: waits of 1, 2, 4, 8 and (capped) 8 s.
    let mut at = T0;
    for (n, wait) in [1u64, 2, 4, 8, 8].into_iter().enumerate() {
        let deadline = at.plus(Duration::from_secs(wait));
        within(clock.wait_for_deadline(deadline)).await;
        let s = workers.get("jobs").expect("listed");
        assert_eq!((s.state, s.retry_at), (WorkerState::BackingOff, Some(deadline)));
        assert_eq!((s.failures, s.restarts), (n as u32 + 1, n as u64));
        assert_eq!(s.last_error.as_deref(), Some("still down"));
        assert_eq!(clock.deadlines(), [deadline], "nothing else waits");
        clock.advance(Duration::from_secs(wait));
        at = deadline;
    }
}

#[tokio::test]
async fn a_failure_after_a_success_starts_the_backoff_again() {
    let (mut sup, clock, _shutdown) = supervisor();
    sup.spawn(Scripted::new("events", &["error", "error", "busy", "error", "idle"]));
    let workers = sup.workers();
    within(clock.wait_for_deadline(T0.plus(Duration::from_secs(1)))).await;
    clock.advance(Duration::from_secs(1));
    within(clock.wait_for_deadline(T0.plus(Duration::from_secs(3)))).await;
    clock.advance(Duration::from_secs(2));
    // A step succeeded in between: the next failure waits the first backoff again.
    within(clock.wait_for_deadline(T0.plus(Duration::from_secs(4)))).await;
    clock.advance(Duration::from_secs(1));
    let s = within(workers.wait_for("events", |s| s.state == WorkerState::Idle)).await;
    assert_eq!((s.restarts, s.failures), (3, 0));
}

#[tokio::test]
async fn a_worker_that_is_done_stops_and_is_not_restarted() {
    let (mut sup, _clock, _shutdown) = supervisor();
    let w = Scripted::new("pump", &["busy", "done"]);
    let stopped = w.stopped.clone();
    sup.spawn(w);
    let workers = sup.workers();
    within(sup.stopped()).await;
    let s = workers.get("pump").expect("listed");
    assert_eq!((s.state, s.restarts), (WorkerState::Stopped, 0));
    assert!(stopped.load(Ordering::SeqCst));
}

#[tokio::test]
async fn shutdown_stops_every_worker_and_the_supervisor_waits_for_them() {
    let (mut sup, _clock, shutdown) = supervisor();
    let idle = Scripted::new("idle", &[]);
    let failing = Scripted::new("failing", &["error-forever"]);
    let flags = [idle.stopped.clone(), failing.stopped.clone()];
    sup.spawn(idle);
    sup.spawn(failing);
    let workers = sup.workers();
    within(workers.wait_for("idle", |s| s.state == WorkerState::Idle)).await;
    within(workers.wait_for("failing", |s| s.state == WorkerState::BackingOff)).await;

    shutdown.trigger();
    within(sup.stopped()).await;
    assert!(flags.iter().all(|f| f.load(Ordering::SeqCst)), "every worker's stop ran");
    let states: Vec<_> = workers.list().iter().map(|s| (s.name, s.state)).collect();
    assert_eq!(states, [("idle", WorkerState::Stopped), ("failing", WorkerState::Stopped)]);
}
