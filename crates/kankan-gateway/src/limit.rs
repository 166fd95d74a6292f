//! Per-device message limits: what one device sends is paced so that it cannot fill its lane
//! (or the database's writer) and delay the other devices. Each device has a token bucket
//! ([`PER_SEC`] messages a second, bursts of [`BURST`]); claims have a stricter one of their own
//! ([`CLAIMS_PER_MIN`] a minute), since a claim is a write transaction and a device claims once
//! when it is paired. In embedded mode a device over its pace waits (its own connection stalls,
//! nothing is lost: a QoS 1 publish gets its PUBACK later); on an external broker's one shared
//! connection waiting would stall everyone, so the excess is dropped. Both are counted
//! (`rate_limited` in [`crate::GatewayStats`]). Real time (tokio's clock): the limits bound
//! real work.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::Inbound;

/// Messages a second a device may send, on average.
pub const PER_SEC: f64 = 50.0;
/// Messages a device may send at once after a quiet while.
pub const BURST: f64 = 100.0;
/// Claims a minute a device may send (bursts of the same).
pub const CLAIMS_PER_MIN: f64 = 6.0;
/// Buckets idle this long are forgotten (they would be full again).
const FORGET_AFTER: Duration = Duration::from_secs(60);
/// The table is swept of idle buckets when it grows past this, at most once a [`FORGET_AFTER`].
const SWEEP_AT: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// Takes a token, or says how long until one is there.
    fn take(&mut self, now: Instant, per_sec: f64, burst: f64) -> Result<(), Duration> {
        let refill = now.saturating_duration_since(self.at).as_secs_f64() * per_sec;
        self.tokens = (self.tokens + refill).min(burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / per_sec))
        }
    }
}

#[derive(Debug, Default)]
struct Buckets {
    messages: HashMap<String, Bucket>,
    claims: HashMap<String, Bucket>,
    swept: Option<Instant>,
}

/// The per-device buckets of one gateway.
#[derive(Debug, Default)]
pub(crate) struct DeviceLimits {
    buckets: Mutex<Buckets>,
}

impl DeviceLimits {
    /// Whether device `uid` may send a message of `kind` now (and counts it).
    pub(crate) fn admit(&self, uid: &str, kind: Inbound, now: Instant) -> bool {
        self.try_admit(uid, kind, now).is_ok()
    }

    /// Waits until device `uid` may send a message of `kind`, and counts it. Answers whether it
    /// had to wait.
    pub(crate) async fn pace(&self, uid: &str, kind: Inbound) -> bool {
        let mut waited = false;
        while let Err(wait) = self.try_admit(uid, kind, Instant::now()) {
            waited = true;
            tokio::time::sleep(wait).await;
        }
        waited
    }

    /// Admits a message now, or says how long until it could be.
    fn try_admit(&self, uid: &str, kind: Inbound, now: Instant) -> Result<(), Duration> {
        // The broker's own presence reports are not the device's doing.
        if kind == Inbound::Presence {
            return Ok(());
        }
        let mut b = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if b.messages.len() + b.claims.len() > SWEEP_AT
            && b.swept.is_none_or(|t| now.saturating_duration_since(t) >= FORGET_AFTER)
        {
            b.messages.retain(|_, k| now.saturating_duration_since(k.at) < FORGET_AFTER);
            b.claims.retain(|_, k| now.saturating_duration_since(k.at) < FORGET_AFTER);
            b.swept = Some(now);
        }
        let fresh = |burst| Bucket { tokens: burst, at: now };
        if kind == Inbound::Claim {
            let claims = b.claims.entry(uid.to_string()).or_insert_with(|| fresh(CLAIMS_PER_MIN));
            claims.take(now, CLAIMS_PER_MIN / 60.0, CLAIMS_PER_MIN)?;
        }
        b.messages.entry(uid.to_string()).or_insert_with(|| fresh(BURST)).take(now, PER_SEC, BURST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flooding_device_is_held_to_its_rate_and_others_are_not_touched() {
        // fails without the fix: every message of a flooding device went to its lane.
        let l = DeviceLimits::default();
        let t0 = Instant::now();
        let passed = (0..10_000).filter(|_| l.admit("KKFLOOD01", Inbound::State, t0)).count();
        assert_eq!(passed as f64, BURST);
        assert!(l.admit("KKQUIET01", Inbound::Event, t0), "another device has its own bucket");
        let later = t0 + Duration::from_secs(1);
        let passed = (0..10_000).filter(|_| l.admit("KKFLOOD01", Inbound::State, later)).count();
        assert_eq!(passed as f64, PER_SEC, "a second later, a second's worth");
        assert!(l.admit("KKFLOOD01", Inbound::Presence, later), "presence is the broker's");
    }

    #[test]
    fn claims_are_few_per_device() {
        let l = DeviceLimits::default();
        let t0 = Instant::now();
        let passed = (0..100).filter(|_| l.admit("KKCLAIM01", Inbound::Claim, t0)).count();
        assert_eq!(passed as f64, CLAIMS_PER_MIN);
        assert!(l.admit("KKCLAIM01", Inbound::State, t0), "other messages still pass");
        let later = t0 + Duration::from_secs(10);
        assert!(l.admit("KKCLAIM01", Inbound::Claim, later), "one claim per 10 s comes back");
        assert!(!l.admit("KKCLAIM01", Inbound::Claim, later));
    }

    #[tokio::test]
    async fn a_device_over_its_pace_waits_for_its_turn_and_loses_nothing() {
        let l = DeviceLimits::default();
        for _ in 0..BURST as usize {
            assert!(!l.pace("KKPACE001", Inbound::Event).await, "the burst does not wait");
        }
        let wait = l.try_admit("KKPACE001", Inbound::Event, Instant::now()).expect_err("spent");
        assert!(wait <= Duration::from_secs_f64(1.0 / PER_SEC), "{wait:?}");
        let waited =
            tokio::time::timeout(Duration::from_secs(5), l.pace("KKPACE001", Inbound::Event))
                .await
                .expect("its turn comes");
        assert!(waited, "it was made to wait, not dropped");
    }
}
