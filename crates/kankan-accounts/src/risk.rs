//! Risk control: request throttles (per client IP and per identifier) and the lockout rule.
//!
//! Throttles live in memory, per node: they bound abuse of one node; the lockout, which must
//! hold across nodes and restarts, is kept in the database.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kankan_base::{Clocks, Timestamp};
use kankan_db::LoginFailures;

use crate::{AccountsConfig, CoreError, RateLimit};

/// Fixed-window counters keyed by a string such as `login-ip:203.0.113.9`.
pub struct RateLimiter {
    clock: Clocks,
    windows: Mutex<HashMap<String, (Timestamp, u32)>>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RateLimiter")
    }
}

const PRUNE_AT: usize = 100_000;

impl RateLimiter {
    pub fn new(clock: Clocks) -> Self {
        RateLimiter { clock, windows: Mutex::new(HashMap::new()) }
    }

    /// Counts one request against `key`; refuses with the time until the window resets.
    pub fn check(&self, key: &str, limit: RateLimit) -> Result<(), CoreError> {
        let now = self.clock.now();
        let window = Duration::from_secs(u64::from(limit.per_secs));
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= PRUNE_AT {
            map.retain(|_, (start, _)| start.plus(window) > now);
        }
        let entry = map.entry(key.to_string()).or_insert((now, 0));
        if entry.0.plus(window) <= now {
            *entry = (now, 0);
        }
        if entry.1 >= limit.count {
            let retry_after = now.until(entry.0.plus(window)).max(Duration::from_secs(1));
            return Err(CoreError::RateLimited { retry_after });
        }
        entry.1 += 1;
        Ok(())
    }
}

/// Whether an identifier is locked out now, and for how much longer.
pub fn locked_for(f: Option<&LoginFailures>, now: Timestamp) -> Option<Duration> {
    f.and_then(|f| f.locked_until).filter(|until| *until > now).map(|until| now.until(until))
}

/// The failure record after one more failed login at `now`.
pub fn after_failure(
    prev: Option<LoginFailures>,
    now: Timestamp,
    cfg: &AccountsConfig,
) -> LoginFailures {
    let window = Duration::from_secs(u64::from(cfg.lockout_window_minutes) * 60);
    let mut f = match prev {
        Some(p) if p.window_start.plus(window) > now => p,
        _ => LoginFailures { failures: 0, window_start: now, locked_until: None },
    };
    f.failures += 1;
    if f.failures >= cfg.lockout_threshold {
        f.locked_until = Some(now.plus(Duration::from_secs(u64::from(cfg.lockout_minutes) * 60)));
        f.failures = 0;
        f.window_start = now;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use kankan_base::SimClock;
    use std::sync::Arc;

    #[test]
    fn limiter_refuses_past_the_count_then_resets_with_the_window() {
        let clock = SimClock::new();
        let rl = RateLimiter::new(Arc::new(clock.clone()));
        let lim = RateLimit { count: 2, per_secs: 60 };
        assert!(rl.check("k", lim).is_ok());
        assert!(rl.check("k", lim).is_ok());
        let err = rl.check("k", lim).expect_err("third is refused");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(60)));
        assert!(rl.check("other", lim).is_ok(), "keys are independent");
        clock.advance(Duration::from_secs(60));
        assert!(rl.check("k", lim).is_ok());
    }

    #[test]
    fn lockout_starts_at_the_threshold_and_ends_after_its_time() {
        let cfg = AccountsConfig::default();
        let t0 = Timestamp(1_000_000);
        let mut f = None;
        for _ in 0..cfg.lockout_threshold - 1 {
            f = Some(after_failure(f, t0, &cfg));
            assert_eq!(locked_for(f.as_ref(), t0), None);
        }
        f = Some(after_failure(f, t0, &cfg));
        assert_eq!(locked_for(f.as_ref(), t0), Some(Duration::from_secs(15 * 60)));
        assert_eq!(locked_for(f.as_ref(), t0.plus(Duration::from_secs(15 * 60))), None);
    }

    #[test]
    fn failures_outside_the_window_start_a_new_count() {
        let cfg = AccountsConfig::default();
        let t0 = Timestamp(0);
        let f = after_failure(None, t0, &cfg);
        let later = t0.plus(Duration::from_secs(16 * 60));
        assert_eq!(after_failure(Some(f), later, &cfg).failures, 1);
    }
}
