//! Risk control: request throttles (per client network and per identifier) and the lockout
//! rule.
//!
//! On a database several nodes share (PostgreSQL), throttles are counted there, one atomic
//! upsert per check (`ClusterStore::count_request`), so a limit holds across every node; on
//! the embedded SQLite database, which only one node can use, they live in memory (no write
//! to the single-writer database for every request checked). The lockout, which must hold
//! across restarts too, is always kept in the database and counted there atomically
//! (`AccountStore::count_login_attempt`).

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kankan_base::{Clocks, Timestamp};
use kankan_crypto::Keyring;
use kankan_db::{LockoutRule, LoginFailures, Store};

use crate::{AccountsConfig, CoreError, RateLimit};

/// Independent shards, so concurrent checks of different keys rarely wait on one lock.
const SHARDS: usize = 16;
/// A shard is swept only once it has grown to this many entries ...
const MIN_PRUNE_AT: usize = 1024;

/// One key's fixed window: when it ends, and the requests counted in it.
#[derive(Debug, Clone, Copy)]
struct Window {
    ends_at: Timestamp,
    count: u32,
}

#[derive(Debug)]
struct Shard {
    windows: HashMap<String, Window>,
    /// ... and then again only once it has doubled since the last sweep, so a sweep's cost is
    /// spread over the insertions that made it necessary (amortised O(1) per check).
    prune_at: usize,
    #[cfg(test)]
    sweeps: usize,
}

/// Fixed-window counters keyed by a string such as `login-ip:203.0.113.9`, each under its own
/// limit: a window ends `per_secs` after its first request, whatever other limits check, and
/// only ended windows are swept away.
pub struct RateLimiter {
    clock: Clocks,
    hasher: RandomState,
    shards: Vec<Mutex<Shard>>,
    /// The database the windows are counted in instead, when several nodes share it, and
    /// the keyring that turns each key into a keyed pseudonym there: keys name client
    /// networks, which the database never holds in clear.
    shared: Option<(Arc<dyn Store>, Keyring)>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RateLimiter")
    }
}

impl RateLimiter {
    /// Counts in `store` when several nodes can share it ([`kankan_db::ClusterStore::is_shared`]),
    /// in memory otherwise.
    pub fn for_store(clock: Clocks, store: Arc<dyn Store>, keyring: &Keyring) -> Self {
        let mut limiter = RateLimiter::new(clock);
        limiter.shared = store.is_shared().then(|| (store, keyring.clone()));
        limiter
    }

    /// Counts in memory, for this node alone.
    pub fn new(clock: Clocks) -> Self {
        let shards = (0..SHARDS)
            .map(|_| {
                Mutex::new(Shard {
                    windows: HashMap::new(),
                    prune_at: MIN_PRUNE_AT,
                    #[cfg(test)]
                    sweeps: 0,
                })
            })
            .collect();
        RateLimiter { clock, hasher: RandomState::new(), shards, shared: None }
    }

    /// Whether the windows are counted in the shared database.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Counts one request against `key` under `limit`; refuses with the time until its
    /// window ends. The same key checked under two limits keeps two windows.
    pub async fn check(&self, key: &str, limit: RateLimit) -> Result<(), CoreError> {
        let Some((store, keyring)) = &self.shared else { return self.check_here(key, limit) };
        let now = self.clock.now();
        let window = Duration::from_secs(u64::from(limit.per_secs));
        let stored = keyring.pseudonym("rate-window", &format!("{key}/{}", limit.per_secs));
        let w = store.count_request(&stored, now, window).await?;
        if w.count > limit.count {
            let retry_after = now.until(w.ends_at).max(Duration::from_secs(1));
            return Err(CoreError::RateLimited { retry_after });
        }
        Ok(())
    }

    /// [`RateLimiter::check`] in this node's memory.
    fn check_here(&self, key: &str, limit: RateLimit) -> Result<(), CoreError> {
        let now = self.clock.now();
        let window = Duration::from_secs(u64::from(limit.per_secs));
        let key = format!("{key}/{}", limit.per_secs);
        let shard = &self.shards[self.hasher.hash_one(&key) as usize % SHARDS];
        let mut shard = shard.lock().unwrap_or_else(|p| p.into_inner());
        if shard.windows.len() >= shard.prune_at {
            shard.windows.retain(|_, w| w.ends_at > now);
            shard.prune_at = (shard.windows.len() * 2).max(MIN_PRUNE_AT);
            #[cfg(test)]
            {
                shard.sweeps += 1;
            }
        }
        let w = shard.windows.entry(key).or_insert(Window { ends_at: now.plus(window), count: 0 });
        if w.ends_at <= now {
            *w = Window { ends_at: now.plus(window), count: 0 };
        }
        if w.count >= limit.count {
            let retry_after = now.until(w.ends_at).max(Duration::from_secs(1));
            return Err(CoreError::RateLimited { retry_after });
        }
        w.count += 1;
        Ok(())
    }

    /// (live, ended) windows held now.
    #[cfg(test)]
    fn windows(&self) -> (usize, usize) {
        let now = self.clock.now();
        let shards = self.shards.iter().map(|s| s.lock().expect("shard"));
        shards.fold((0, 0), |(live, ended), s| {
            let l = s.windows.values().filter(|w| w.ends_at > now).count();
            (live + l, ended + s.windows.len() - l)
        })
    }

    #[cfg(test)]
    fn sweeps(&self) -> usize {
        self.shards.iter().map(|s| s.lock().expect("shard").sweeps).sum()
    }
}

/// The network a client address is throttled as: an IPv4 address itself, an IPv6 address's
/// /64 (one subscriber's usual allocation, whose addresses are free to them), an IPv4 address
/// embedded in IPv6 as itself; anything unparsable as given.
pub fn network_of(ip: &str) -> String {
    match ip.parse::<IpAddr>().map(|a| a.to_canonical()) {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{net}/64")
        }
        Err(_) => ip.to_string(),
    }
}

/// The lockout rule of the configuration.
pub fn lockout_rule(cfg: &AccountsConfig) -> LockoutRule {
    LockoutRule {
        threshold: cfg.lockout_threshold,
        window: Duration::from_secs(u64::from(cfg.lockout_window_minutes) * 60),
        lock: Duration::from_secs(u64::from(cfg.lockout_minutes) * 60),
    }
}

/// Whether a counted attempt may be checked, or is refused because the identifier is locked
/// (and for how much longer). The attempt that reaches the threshold is still checked, as the
/// last of the allowed ones; every attempt counted after it, however concurrent, is refused.
pub fn locked_for(f: &LoginFailures, rule: LockoutRule, now: Timestamp) -> Option<Duration> {
    (f.failures > rule.threshold).then(|| {
        f.locked_until
            .map_or(Duration::from_secs(1), |until| now.until(until))
            .max(Duration::from_secs(1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kankan_base::SimClock;

    fn limiter() -> (SimClock, RateLimiter) {
        let clock = SimClock::new();
        (clock.clone(), RateLimiter::new(Arc::new(clock)))
    }

    #[test]
    fn limiter_refuses_past_the_count_then_resets_with_the_window() {
        let (clock, rl) = limiter();
        let lim = RateLimit { count: 2, per_secs: 60 };
        assert!(rl.check_here("k", lim).is_ok());
        assert!(rl.check_here("k", lim).is_ok());
        let err = rl.check_here("k", lim).expect_err("third is refused");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(60)));
        assert!(rl.check_here("other", lim).is_ok(), "keys are independent");
        clock.advance(Duration::from_secs(60));
        assert!(rl.check_here("k", lim).is_ok());
    }

    /// Fails without the fix: sweeps used the window of the check that triggered them, so a
    /// busy one-minute limit erased every hourly window older than a minute.
    #[test]
    fn minute_checks_never_reset_an_hourly_limit() {
        let (clock, rl) = limiter();
        let hourly = RateLimit { count: 2, per_secs: 3600 };
        let minute = RateLimit { count: 1000, per_secs: 60 };
        rl.check_here("codes-id:victim", hourly).expect("first");
        rl.check_here("codes-id:victim", hourly).expect("second");
        for step in 0..10u32 {
            clock.advance(Duration::from_secs(120));
            // Fresh keys: every shard is swept, and (120,000 keys in all) the old limiter's
            // 100,000-entry sweep would have run too.
            for i in 0..12_000u32 {
                rl.check_here(&format!("login-ip:{step}-{i}"), minute).expect("fresh key");
            }
        }
        assert!(rl.sweeps() > 0, "the sweeps ran");
        let err = rl.check_here("codes-id:victim", hourly).expect_err("still limited after 20 min");
        assert_eq!(err.retry_after(), Some(Duration::from_secs(3600 - 1200)));
        clock.advance(Duration::from_secs(2400));
        rl.check_here("codes-id:victim", hourly).expect("its own hour has passed");
    }

    #[test]
    fn a_key_under_two_limits_keeps_two_windows() {
        let (clock, rl) = limiter();
        let hourly = RateLimit { count: 1, per_secs: 3600 };
        let minute = RateLimit { count: 1, per_secs: 60 };
        rl.check_here("k", hourly).expect("hourly");
        rl.check_here("k", minute).expect("minute window is its own");
        clock.advance(Duration::from_secs(60));
        rl.check_here("k", minute).expect("the minute passed");
        assert!(rl.check_here("k", hourly).is_err(), "the hour did not");
    }

    #[test]
    fn sweeps_drop_only_ended_windows_and_are_amortised() {
        let (clock, rl) = limiter();
        let hourly = RateLimit { count: 5, per_secs: 3600 };
        let minute = RateLimit { count: 5, per_secs: 60 };
        for i in 0..2000 {
            rl.check_here(&format!("h{i}"), hourly).expect("hourly");
            rl.check_here(&format!("m{i}"), minute).expect("minute");
        }
        clock.advance(Duration::from_secs(61));
        let n = 200_000;
        for i in 0..n {
            rl.check_here(&format!("x{i}"), minute).expect("fresh");
        }
        // Each sweep doubles the size the next one waits for: a handful per shard, not one
        // per check (the old limiter scanned every entry on every check past 100,000).
        assert!(rl.sweeps() < SHARDS * 12, "{} sweeps for {n} checks", rl.sweeps());
        let (live, _) = rl.windows();
        assert_eq!(live, n + 2000, "every live window is kept (the hourly ones too)");
        for i in 0..2000 {
            rl.check_here(&format!("h{i}"), hourly).expect("hourly windows survive, counted");
        }
        clock.advance(Duration::from_secs(3600));
        for i in 0..2 * n {
            rl.check_here(&format!("y{i}"), minute).expect("fresh");
        }
        assert_eq!(rl.windows(), (2 * n, 0), "ended windows are swept as the shards grow");
    }

    #[test]
    fn ipv6_clients_are_throttled_per_64() {
        assert_eq!(network_of("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(network_of("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_ne!(network_of("2001:db8:1:3::1"), network_of("2001:db8:1:2::1"));
        assert_eq!(network_of("203.0.113.9"), "203.0.113.9");
        assert_eq!(network_of("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(network_of("unknown"), "unknown");
    }

    #[test]
    fn only_attempts_past_the_threshold_are_refused() {
        let rule = lockout_rule(&AccountsConfig::default());
        let t0 = Timestamp(1_000_000);
        let until = t0.plus(rule.lock);
        let f = |failures, locked_until| LoginFailures { failures, window_start: t0, locked_until };
        assert_eq!(locked_for(&f(4, None), rule, t0), None);
        assert_eq!(locked_for(&f(5, Some(until)), rule, t0), None, "the fifth is still checked");
        assert_eq!(locked_for(&f(6, Some(until)), rule, t0), Some(Duration::from_secs(15 * 60)));
    }
}
