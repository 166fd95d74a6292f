//! The two workers: `exports` builds queued exports one at a time, `exports-sweeper` deletes
//! expired ones every hour.

use std::time::Duration;

use kankan_core::CoreError;
use kankan_crypto::AeadKey;
use kankan_db::ExportRow;
use kankan_worker::{Step, Ticker, WorkError, Worker};

use crate::build::{self, LEASE, PartSink};
use crate::{ExportMedia, Exports, key_field, on_behalf_of};

/// How often the sweeper runs.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// How often the builder looks for an export whose worker died (its lease lapsed).
const POLL: Duration = Duration::from_secs(60);
/// Claims of one export before a transient failure fails it for good.
const MAX_ATTEMPTS: u32 = 3;
/// Expired exports deleted per sweep step.
const SWEEP_BATCH: u32 = 500;

impl Exports {
    /// Builds the next queued export, or one whose worker died, if any; whether one was
    /// claimed.
    pub async fn build_next(&self) -> Result<bool, CoreError> {
        let s = &self.inner;
        let now = s.clock.now();
        let Some(row) = s.store.claim_export(now, now.plus(LEASE)).await? else {
            return Ok(false);
        };
        match self.build(&row).await {
            Ok(()) => tracing::info!(export = %row.id, "export ready"),
            Err(CoreError::NotFound("export")) => {}
            Err(e) if e.kind().is_transient() && row.attempts < MAX_ATTEMPTS => {
                // Left running: claimed again once its lease lapses.
                tracing::warn!(export = %row.id, error = %e, "export build failed; will retry");
            }
            Err(e) => {
                tracing::warn!(export = %row.id, error = %e, "export failed");
                s.store.fail_export(row.id, e.code(), s.clock.now()).await?;
                if let Err(e) = s.src.recordings.empty_trash().await {
                    tracing::warn!(error = %e, "deleting a failed export's parts; the sweeper retries");
                }
            }
        }
        Ok(true)
    }

    /// Builds one claimed export from the start.
    async fn build(&self, row: &ExportRow) -> Result<(), CoreError> {
        let s = &self.inner;
        let p = on_behalf_of(row.account_id);
        // Only for an active account (the vault answers no key otherwise).
        let account_key = s.src.devices.key_of(&p).await?;
        let media: ExportMedia = serde_json::from_str(&row.media)
            .map_err(|e| CoreError::Internal(format!("export {}: media: {e}", row.id)))?;
        let plan = build::plan(s, &p, &media).await?;
        let key = AeadKey::generate()?;
        let key_enc = account_key.wrap_key(&key_field(row.id), &key)?;
        let now = s.clock.now();
        if !s.store.restart_export(row.id, &key_enc, plan.total(), now.plus(LEASE), now).await? {
            return Err(CoreError::NotFound("export"));
        }
        let mut sink = PartSink::new(s, row.id, key, row.created_at);
        let len = build::write_plan(s, &p, plan, &mut sink).await?;
        sink.finish().await?;
        let now = s.clock.now();
        if !s.store.finish_export(row.id, len, now, self.expiry_from(now)).await? {
            return Err(CoreError::NotFound("export"));
        }
        Ok(())
    }

    /// Deletes exports past their expiry (rows now, parts through the trash); how many.
    pub async fn sweep(&self) -> Result<u64, CoreError> {
        let s = &self.inner;
        let mut total = 0;
        loop {
            let n = s.store.delete_expired_exports(s.clock.now(), SWEEP_BATCH).await?;
            total += n;
            if n < u64::from(SWEEP_BATCH) {
                break;
            }
        }
        if total > 0 {
            s.src.recordings.empty_trash().await?;
        }
        Ok(total)
    }
}

/// Builds queued exports, one at a time; woken when one is queued, and every minute for those
/// whose worker died.
pub struct ExportWorker {
    exports: Exports,
}

impl ExportWorker {
    pub(crate) fn new(exports: Exports) -> ExportWorker {
        ExportWorker { exports }
    }
}

impl Worker for ExportWorker {
    fn name(&self) -> &'static str {
        "exports"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        Ok(if self.exports.build_next().await? { Step::Busy } else { Step::Idle })
    }

    async fn wait_for_work(&mut self) {
        let s = &self.exports.inner;
        tokio::select! {
            () = s.queued.notified() => {}
            () = s.clock.sleep(POLL) => {}
        }
    }
}

/// Deletes expired exports every hour.
pub struct ExportSweeper {
    exports: Exports,
    ticker: Ticker,
}

impl ExportSweeper {
    pub(crate) fn new(exports: Exports) -> ExportSweeper {
        let ticker = Ticker::after(SWEEP_EVERY, exports.inner.clock.now());
        ExportSweeper { exports, ticker }
    }
}

impl Worker for ExportSweeper {
    fn name(&self) -> &'static str {
        "exports-sweeper"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        let clock = self.exports.inner.clock.as_ref();
        if let Some(n) = self.ticker.run(clock, self.exports.sweep()).await?.filter(|n| *n > 0) {
            tracing::info!(exports = n, "expired exports deleted");
        }
        Ok(Step::Idle)
    }

    async fn wait_for_work(&mut self) {
        self.ticker.wait(self.exports.inner.clock.as_ref()).await;
    }
}
