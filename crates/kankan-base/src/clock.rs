//! Time, read and waited for only through a [`Clock`] so tests can run on simulated time.
//!
//! Invariant: no Kankan code calls `SystemTime::now()` outside [`RealClock`], and background
//! loops wait for time with [`Clock::sleep`], never with `tokio::time::sleep`: on a
//! [`SimClock`] a sleep ends when a test advances the clock past its deadline, never on real
//! time.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;

/// Milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn as_millis(self) -> i64 {
        self.0
    }

    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
    }

    pub fn minus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)))
    }

    /// Time from `self` until `later`, zero if `later` is not after `self`.
    pub fn until(self, later: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(later.0.saturating_sub(self.0)).unwrap_or(0))
    }

    /// RFC 3339 in UTC with millisecond precision, for the wire.
    pub fn to_rfc3339(self) -> String {
        match jiff::Timestamp::from_millisecond(self.0) {
            Ok(t) => format!("{t:.3}"),
            Err(_) => String::from("invalid-time"),
        }
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// A wait on a [`Clock`]: completes once the clock has reached its deadline.
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A source of the current time, and of waits measured on it.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;

    /// Completes once `d` has passed on this clock.
    fn sleep(&self, d: Duration) -> Sleep;

    /// Completes once this clock reads `t` or later (at once if it already does).
    fn sleep_until(&self, t: Timestamp) -> Sleep {
        self.sleep(self.now().until(t))
    }
}

/// The shared handle every component takes.
pub type Clocks = Arc<dyn Clock>;

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealClock;

impl Clock for RealClock {
    fn now(&self) -> Timestamp {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        Timestamp(ms)
    }

    fn sleep(&self, d: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(d))
    }
}

/// A clock that moves only when told to; starts at the real time so data looks plausible.
///
/// Its sleeps end when [`SimClock::advance`] moves it to or past their deadline; the pending
/// deadlines can be read ([`SimClock::deadlines`]) and waited for
/// ([`SimClock::wait_for_deadline`]), so a test can see what a worker waits for before it
/// moves time on.
#[derive(Clone)]
pub struct SimClock {
    inner: Arc<SimInner>,
}

struct SimInner {
    /// Milliseconds since the epoch; every advance wakes the sleeps.
    now_ms: watch::Sender<i64>,
    /// The deadlines of the sleeps not yet ended, by sleep number.
    sleeps: watch::Sender<BTreeMap<u64, Timestamp>>,
    next_sleep: AtomicU64,
}

impl fmt::Debug for SimClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimClock").field("now", &self.now()).finish_non_exhaustive()
    }
}

impl SimClock {
    pub fn new() -> Self {
        Self::starting_at(RealClock.now())
    }

    pub fn starting_at(t: Timestamp) -> Self {
        SimClock {
            inner: Arc::new(SimInner {
                now_ms: watch::Sender::new(t.0),
                sleeps: watch::Sender::new(BTreeMap::new()),
                next_sleep: AtomicU64::new(0),
            }),
        }
    }

    /// Moves the clock on; every sleep whose deadline it reaches ends.
    pub fn advance(&self, d: Duration) {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self.inner.now_ms.send_modify(|t| *t = t.saturating_add(ms));
    }

    /// The deadlines of the sleeps waiting on this clock now, earliest first.
    pub fn deadlines(&self) -> Vec<Timestamp> {
        let mut d: Vec<Timestamp> = self.inner.sleeps.borrow().values().copied().collect();
        d.sort();
        d
    }

    /// Waits (in real time, for the tasks to get there) until some sleep waits for `t`.
    pub async fn wait_for_deadline(&self, t: Timestamp) {
        let mut rx = self.inner.sleeps.subscribe();
        // The sender lives in `self`, so the wait ends only when such a sleep appears.
        let _ = rx.wait_for(|m| m.values().any(|d| *d == t)).await;
    }
}

/// Takes a sleep's deadline off the list when the sleep ends or is dropped.
struct Pending {
    inner: Arc<SimInner>,
    id: u64,
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.inner.sleeps.send_modify(|m| {
            m.remove(&self.id);
        });
    }
}

impl Default for SimClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        Timestamp(*self.inner.now_ms.borrow())
    }

    fn sleep(&self, d: Duration) -> Sleep {
        self.sleep_until(self.now().plus(d))
    }

    fn sleep_until(&self, t: Timestamp) -> Sleep {
        let id = self.inner.next_sleep.fetch_add(1, Ordering::Relaxed);
        self.inner.sleeps.send_modify(|m| {
            m.insert(id, t);
        });
        let pending = Pending { inner: self.inner.clone(), id };
        let mut now = self.inner.now_ms.subscribe();
        Box::pin(async move {
            // `pending` keeps the sender alive: the wait ends only by reaching `t`.
            let _ = now.wait_for(|ms| *ms >= t.0).await;
            drop(pending);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_clock_moves_only_when_advanced() {
        let c = SimClock::starting_at(Timestamp(1_000));
        assert_eq!(c.now(), Timestamp(1_000));
        c.advance(Duration::from_secs(2));
        assert_eq!(c.now(), Timestamp(3_000));
    }

    #[tokio::test]
    async fn a_sim_clock_sleep_completes_only_when_the_clock_is_advanced() {
        let c = SimClock::starting_at(Timestamp(1_000));
        let mut sleep = c.sleep(Duration::from_secs(5));
        assert_eq!(c.deadlines(), [Timestamp(6_000)]);
        let still = |s: &mut Sleep| {
            let waker = std::task::Waker::noop();
            s.as_mut().poll(&mut std::task::Context::from_waker(waker)).is_pending()
        };
        assert!(still(&mut sleep), "no time has passed");
        tokio::task::yield_now().await;
        assert!(still(&mut sleep), "real time does not count");
        c.advance(Duration::from_millis(4_999));
        assert!(still(&mut sleep), "a millisecond short");
        c.advance(Duration::from_millis(1));
        sleep.await;
        assert!(c.deadlines().is_empty(), "an ended sleep waits for nothing");
        // A deadline already reached ends at once; a dropped sleep is forgotten.
        c.sleep_until(Timestamp(2_000)).await;
        drop(c.sleep(Duration::from_secs(1)));
        assert!(c.deadlines().is_empty());
    }

    #[tokio::test]
    async fn a_test_can_wait_for_a_task_to_start_sleeping() {
        let c = SimClock::starting_at(Timestamp(0));
        let task = tokio::spawn({
            let c = c.clone();
            async move { c.sleep(Duration::from_secs(2)).await }
        });
        c.wait_for_deadline(Timestamp(2_000)).await;
        c.advance(Duration::from_secs(2));
        task.await.expect("the sleep ends");
    }

    #[tokio::test]
    async fn the_real_clock_sleeps_on_tokio_time() {
        RealClock.sleep(Duration::ZERO).await;
        RealClock.sleep_until(Timestamp(0)).await;
    }

    #[test]
    fn until_is_zero_for_the_past() {
        assert_eq!(Timestamp(5).until(Timestamp(3)), Duration::ZERO);
        assert_eq!(Timestamp(3).until(Timestamp(5)), Duration::from_millis(2));
    }

    #[test]
    fn rfc3339_has_millis_and_zulu() {
        assert_eq!(Timestamp(1_700_000_000_123).to_rfc3339(), "2023-11-14T22:13:20.123Z");
    }
}
