//! Retention and quota: footage older than the device's limits keep (its plan's, else the
//! free tier's) goes, unless an event protects it; a device over its own quota loses its
//! oldest unprotected footage; an events-only device's
//! footage that no event kept goes after the hold (`modes`); an account over its quota
//! loses its oldest unprotected footage first and sees an alert; trashed blobs are deleted;
//! the access log forgets what is older than 30 days.
//! [`RetentionWorker`] sweeps every `recording.sweep_secs` on the clock.

use std::time::Duration;

use kankan_base::{AccountId, Timestamp};
use kankan_db::Removed;
use kankan_worker::{Step, Ticker, WorkError, Worker};

use super::Recordings;
use crate::CoreError;

/// Segments one retention transaction removes.
const EXPIRE_BATCH: u32 = 500;
/// Blobs one trash pass deletes.
const TRASH_BATCH: u32 = 500;
const DAY_MS: i64 = 86_400_000;

/// What one sweep did.
#[derive(Debug, Clone, Default)]
pub struct SweepReport {
    pub expired: Removed,
    /// Events-only devices' footage that no event kept.
    pub unkept: Removed,
    pub evicted: Removed,
    pub blobs_deleted: u64,
    /// Access log entries older than 30 days, deleted.
    pub accesses_expired: u64,
}

/// An account's recording storage, as its owner sees it.
#[derive(Debug, Clone)]
pub struct StorageView {
    pub used_bytes: u64,
    pub quota_bytes: u64,
    pub retention_days: u32,
    pub evicted_bytes: u64,
    /// When the quota last forced footage out before its time.
    pub quota_alert_at: Option<Timestamp>,
}

impl Recordings {
    /// One pass of retention, quota eviction, trash deletion and the access log's expiry.
    pub async fn sweep(&self) -> Result<SweepReport, CoreError> {
        let s = &self.inner;
        let now = s.clock.now();
        let mut report = SweepReport::default();
        // The devices on the free tier, then those with their own limits, by retention.
        let mut classes = vec![(None, self.free_tier().retention_days)];
        classes.extend(s.store.limit_retentions().await?.into_iter().map(|d| (Some(d), d)));
        for (scope, days) in classes {
            let cutoff = Timestamp(now.0 - i64::from(days) * DAY_MS);
            loop {
                let r = s.store.expire_segments(scope, cutoff, now, EXPIRE_BATCH).await?;
                report.expired.segments += r.segments;
                report.expired.bytes += r.bytes;
                if r.segments < u64::from(EXPIRE_BATCH) {
                    break;
                }
            }
        }
        report.unkept = self.expire_unkept(now).await?;
        for d in s.store.devices_over_quota().await? {
            let r =
                s.store.evict_device_segments(&d.uid, d.used_bytes - d.quota_bytes, now).await?;
            tracing::warn!(uid = %d.uid, freed = r.bytes, "device quota full: oldest footage evicted");
            report.evicted.segments += r.segments;
            report.evicted.bytes += r.bytes;
        }
        let quota = s.config.quota_bytes();
        for (account, used) in s.store.accounts_over_quota(quota).await? {
            let r = s.store.evict_segments(account, used - quota, now).await?;
            tracing::warn!(account = %account, freed = r.bytes, "recording quota full: oldest footage evicted");
            report.evicted.segments += r.segments;
            report.evicted.bytes += r.bytes;
        }
        report.blobs_deleted = self.empty_trash().await?;
        report.accesses_expired = self.expire_access().await?;
        Ok(report)
    }

    /// Deletes the objects of trashed blobs (an unbound device's footage, say), then forgets
    /// them.
    pub async fn empty_trash(&self) -> Result<u64, CoreError> {
        let s = &self.inner;
        let mut n = 0;
        loop {
            let batch = s.store.trashed_blobs(TRASH_BATCH).await?;
            for b in &batch {
                s.blobs.delete(*b).await?;
            }
            s.store.forget_trash(&batch).await?;
            n += batch.len() as u64;
            if batch.len() < TRASH_BATCH as usize {
                return Ok(n);
            }
        }
    }

    /// The worker that sweeps every `recording.sweep_secs`, the first time one period after
    /// start-up.
    pub fn retention_worker(&self) -> RetentionWorker {
        let every = Duration::from_secs(u64::from(self.inner.config.sweep_secs));
        let ticker = Ticker::after(every, self.inner.clock.now());
        RetentionWorker { rec: self.clone(), ticker }
    }

    /// The worker that finishes, every `recording.sweep_secs`, the sealed segments of this
    /// node's journal whose indexing or upload failed (a busy database, an object store out
    /// of reach). It runs on every node, since the journal is the node's own; the retention
    /// sweep, shared work, runs on one.
    pub fn sealed_retry_worker(&self) -> SealedRetryWorker {
        let every = Duration::from_secs(u64::from(self.inner.config.sweep_secs));
        let ticker = Ticker::after(every, self.inner.clock.now());
        SealedRetryWorker { rec: self.clone(), ticker }
    }

    /// The account's storage and whether the quota has forced footage out.
    pub async fn storage(&self, account: AccountId) -> Result<StorageView, CoreError> {
        let s = &self.inner;
        let u = s.store.media_usage(account).await?;
        Ok(StorageView {
            used_bytes: u.bytes,
            quota_bytes: s.config.quota_bytes(),
            retention_days: s.config.retention_days,
            evicted_bytes: u.evicted_bytes,
            quota_alert_at: u.alert_at,
        })
    }
}

/// Sweeps retention, quota, trash and the access log every period; a failed sweep is tried again after the
/// supervisor's backoff.
pub struct RetentionWorker {
    rec: Recordings,
    ticker: Ticker,
}

impl Worker for RetentionWorker {
    fn name(&self) -> &'static str {
        "retention"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        let clock = self.rec.inner.clock.as_ref();
        if let Some(r) = self.ticker.run(clock, self.rec.sweep()).await? {
            tracing::debug!(report = ?r, "recording sweep");
        }
        Ok(Step::Idle)
    }

    async fn wait_for_work(&mut self) {
        self.ticker.wait(self.rec.inner.clock.as_ref()).await;
    }
}

/// Indexes and stores this node's sealed segments left behind by a failed ingest step.
pub struct SealedRetryWorker {
    rec: Recordings,
    ticker: Ticker,
}

impl Worker for SealedRetryWorker {
    fn name(&self) -> &'static str {
        "sealed-retry"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        let clock = self.rec.inner.clock.as_ref();
        if let Some(r) = self.ticker.run(clock, self.rec.retry_sealed()).await?
            && r.recovered > 0
        {
            tracing::warn!(segments = r.recovered, "stored segments left by a failed ingest");
        }
        Ok(Step::Idle)
    }

    async fn wait_for_work(&mut self) {
        self.ticker.wait(self.rec.inner.clock.as_ref()).await;
    }
}
