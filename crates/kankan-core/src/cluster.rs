//! Work one node at a time does, when several nodes share the database: a [`NodeLease`] in
//! the store ([`kankan_db::ClusterStore::hold_lease`]), held by renewing it and taken over by
//! another node once it lapses ([`LEASE_TTL`] after the holder's last renewal, so at most that
//! long after a node dies); [`Leased`] runs a worker's steps only on the holder. On a database
//! one node uses alone (SQLite) the lease is always held and touches no SQL.
//!
//! A step that outlasts the lease may overlap the next holder's first: the steps run under a
//! lease are idempotent (sweeps, a cursor advanced after its page, deletions that find nothing
//! the second time); the lease keeps the work from being done once per node.

use std::sync::Arc;
use std::time::Duration;

use kankan_base::Clocks;
use kankan_db::Store;
use kankan_worker::{Step, WorkError, Worker};

use crate::CoreError;

/// How long a lease holds after its last renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(30);
/// How often a holder renews (and a waiting node tries to take over).
pub const RENEW_EVERY: Duration = Duration::from_secs(10);

/// One named lease, as this node asks for it.
#[derive(Clone)]
pub struct NodeLease {
    store: Arc<dyn Store>,
    clock: Clocks,
    node: Arc<str>,
    name: &'static str,
}

impl std::fmt::Debug for NodeLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeLease").field("name", &self.name).field("node", &self.node).finish()
    }
}

impl NodeLease {
    /// The lease `name` for the node `node` (an id unique to this process).
    pub fn new(store: Arc<dyn Store>, clock: Clocks, node: &str, name: &'static str) -> Self {
        NodeLease { store, clock, node: node.into(), name }
    }

    /// Whether other nodes may hold it (the database is shared).
    pub fn is_shared(&self) -> bool {
        self.store.is_shared()
    }

    /// Takes or renews the lease: whether this node holds it now.
    pub async fn hold(&self) -> Result<bool, CoreError> {
        if !self.is_shared() {
            return Ok(true);
        }
        let now = self.clock.now();
        Ok(self.store.hold_lease(self.name, &self.node, now, LEASE_TTL).await?)
    }

    /// Gives the lease up (stopping), so another node takes it at once.
    pub async fn release(&self) {
        if self.is_shared()
            && let Err(e) = self.store.release_lease(self.name, &self.node).await
        {
            tracing::warn!(lease = self.name, error = %e, "lease not released; it lapses");
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// A worker whose steps run only on the node holding its lease.
pub struct Leased<W> {
    inner: W,
    lease: NodeLease,
    held: bool,
}

impl<W: Worker> Leased<W> {
    pub fn new(inner: W, lease: NodeLease) -> Self {
        Leased { inner, lease, held: false }
    }

    async fn renew(&mut self) -> Result<bool, CoreError> {
        let held = self.lease.hold().await?;
        if held != self.held {
            tracing::info!(lease = self.lease.name, held, "lease changed hands");
            self.held = held;
        }
        Ok(held)
    }
}

impl<W: Worker + Sync> Worker for Leased<W> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        if !self.renew().await? {
            return Ok(Step::Idle);
        }
        self.inner.work().await
    }

    async fn wait_for_work(&mut self) {
        if !self.lease.is_shared() {
            return self.inner.wait_for_work().await;
        }
        loop {
            let held = self.held;
            let clock = self.lease.clock.clone();
            tokio::select! {
                () = self.inner.wait_for_work(), if held => return,
                () = clock.sleep(RENEW_EVERY) => {}
            }
            match self.lease.hold().await {
                Ok(h) if h == held => {}
                // Taken over, lost, or the database failing: a step decides.
                _ => return,
            }
        }
    }

    async fn stop(&mut self) {
        self.inner.stop().await;
        if self.held {
            self.lease.release().await;
        }
    }
}
