//! Counters of what the gateway let through and what it refused.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the gateway's counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GatewayStats {
    /// Devices connected now (embedded) or reported online by presence (external).
    pub connected: u64,
    /// Device messages handed to the server.
    pub messages_in: u64,
    /// Messages the server published to devices.
    pub messages_out: u64,
    /// Device publishes on topics that are not version-1 topics.
    pub rejected_malformed: u64,
    /// Device publishes with a payload over the limit (or bad presence payloads).
    pub rejected_oversized: u64,
    /// Publishes, subscriptions and last wills refused by the topic rules.
    pub denied_acl: u64,
    /// Logins refused (bad secret, anonymous, client id != username, bad will).
    pub auth_failures: u64,
    /// Device messages lost because the server stopped receiving.
    pub dropped: u64,
    /// Device messages over the device's pace (`limit`): made to wait (embedded broker) or
    /// dropped (external broker).
    pub rate_limited: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub messages_in: AtomicU64,
    pub messages_out: AtomicU64,
    pub rejected_malformed: AtomicU64,
    pub rejected_oversized: AtomicU64,
    pub denied_acl: AtomicU64,
    pub auth_failures: AtomicU64,
    pub dropped: AtomicU64,
    pub rate_limited: AtomicU64,
}

pub(crate) fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub fn snapshot(&self, connected: u64) -> GatewayStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        GatewayStats {
            connected,
            messages_in: get(&self.messages_in),
            messages_out: get(&self.messages_out),
            rejected_malformed: get(&self.rejected_malformed),
            rejected_oversized: get(&self.rejected_oversized),
            denied_acl: get(&self.denied_acl),
            auth_failures: get(&self.auth_failures),
            dropped: get(&self.dropped),
            rate_limited: get(&self.rate_limited),
        }
    }
}
