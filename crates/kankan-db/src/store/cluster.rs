//! [`ClusterStore`]: what several nodes on one database share instead of keeping it in memory.

use std::time::Duration;

use async_trait::async_trait;
use kankan_base::Timestamp;

use crate::DbError;

type R<T> = Result<T, DbError>;

/// One fixed window of a request throttle after counting a request in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateWindow {
    /// Requests counted in the window, this one included.
    pub count: u32,
    pub ends_at: Timestamp,
}

/// Shared throttles, leases on work one node does at a time, and notes between nodes.
///
/// Invariant: on a database only one node can use (SQLite), [`ClusterStore::is_shared`] is
/// false and callers keep such state in memory instead.
#[async_trait]
pub trait ClusterStore: Send + Sync {
    /// Whether several nodes can share this database (PostgreSQL).
    fn is_shared(&self) -> bool;
    /// Counts one request against `key`'s window of length `window` in one atomic statement:
    /// a window that ended at `now` starts again with this request.
    async fn count_request(&self, key: &str, now: Timestamp, window: Duration) -> R<RateWindow>;
    /// Deletes the windows that ended before `now`; how many.
    async fn sweep_rate_windows(&self, now: Timestamp) -> R<u64>;
    /// Takes or renews the lease `name` for `holder` until `now + ttl`, in one statement:
    /// true when `holder` holds it now (it was free, lapsed or already its own).
    async fn hold_lease(&self, name: &str, holder: &str, now: Timestamp, ttl: Duration) -> R<bool>;
    /// Gives a lease up (a node stopping), so another node takes it at once.
    async fn release_lease(&self, name: &str, holder: &str) -> R<()>;
    /// Sends `payload` to every node listening on `channel` (PostgreSQL `NOTIFY`; nothing
    /// on SQLite, whose one node needs no note).
    async fn announce(&self, channel: &str, payload: &str) -> R<()>;
    /// Listens on `channel` on a connection of its own; `None` on SQLite.
    async fn listen(&self, channel: &str) -> R<Option<NoteFeed>>;
}

/// Notes other nodes sent on one channel.
pub struct NoteFeed {
    pub(crate) listener: sqlx::postgres::PgListener,
}

impl std::fmt::Debug for NoteFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NoteFeed")
    }
}

impl NoteFeed {
    /// The next note; `Ok(None)` when the connection was lost (notes sent until it is back,
    /// which the next call waits for, are missed).
    pub async fn next(&mut self) -> R<Option<String>> {
        Ok(self.listener.try_recv().await?.map(|n| n.payload().to_string()))
    }
}
