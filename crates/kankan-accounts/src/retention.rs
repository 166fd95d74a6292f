//! Retention of what accounts leave behind: login history older than
//! `accounts.login_history_days`, sessions that expired or were revoked (their sealed client and
//! IP), verification codes that expired or were used (a pending registration's password hash
//! with them). The `accounts-sweeper` worker runs it every hour on the clock.

use std::time::Duration;

use kankan_base::Timestamp;
use kankan_db::ExpiredAccountRecords;
use kankan_worker::{Step, Ticker, WorkError, Worker};

use crate::{Accounts, CoreError};

/// How often the sweeper runs.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);

const DAY_MS: i64 = 86_400_000;

impl Accounts {
    /// Deletes what is past its retention now; what it deleted.
    pub async fn sweep(&self) -> Result<ExpiredAccountRecords, CoreError> {
        let s = &self.inner;
        let now = s.clock.now();
        let cutoff = Timestamp(now.0 - i64::from(s.cfg.login_history_days) * DAY_MS);
        Ok(s.store.expire_account_records(cutoff, now).await?)
    }

    /// The worker that sweeps every [`SWEEP_EVERY`] (the first time one period after start-up).
    pub fn sweeper(&self) -> AccountsSweeper {
        AccountsSweeper {
            accounts: self.clone(),
            ticker: Ticker::after(SWEEP_EVERY, self.inner.clock.now()),
        }
    }
}

/// Deletes expired login history, sessions and codes every hour.
pub struct AccountsSweeper {
    accounts: Accounts,
    ticker: Ticker,
}

impl Worker for AccountsSweeper {
    fn name(&self) -> &'static str {
        "accounts-sweeper"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        let clock = &self.accounts.inner.clock;
        if self.ticker.is_due(clock.now()) {
            let n = self.accounts.sweep().await?;
            if n != ExpiredAccountRecords::default() {
                tracing::info!(
                    login_events = n.login_events,
                    sessions = n.sessions,
                    codes = n.codes,
                    "expired account records deleted"
                );
            }
            self.ticker.done(clock.now());
        }
        Ok(Step::Idle)
    }

    async fn wait_for_work(&mut self) {
        self.ticker.wait(self.accounts.inner.clock.as_ref()).await;
    }
}
