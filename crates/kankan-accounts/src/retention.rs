//! Retention of what accounts leave behind: login history older than
//! `accounts.login_history_days`, sessions that expired or were revoked (their sealed client and
//! IP), verification codes that expired or were used (a pending registration's password hash
//! with them), sessions unused for `accounts.session_idle_days`, and accounts still pending
//! `accounts.pending_registration_days` after their last registration code (with their codes).
//! The `accounts-sweeper` worker runs it every hour on the clock.

use std::time::Duration;

use kankan_base::Timestamp;
use kankan_db::{ExpiredAccountRecords, ExpiredInactive};
use kankan_worker::{Step, Ticker, WorkError, Worker};

use crate::{Accounts, CoreError};

/// How often the sweeper runs.
pub const SWEEP_EVERY: Duration = Duration::from_secs(3600);

const DAY_MS: i64 = 86_400_000;

impl Accounts {
    /// Deletes what is past its retention now; what it deleted.
    pub async fn sweep(&self) -> Result<(ExpiredAccountRecords, ExpiredInactive), CoreError> {
        let s = &self.inner;
        let now = s.clock.now();
        let cutoff = days_before(now, s.cfg.login_history_days);
        let records = s.store.expire_account_records(cutoff, now).await?;
        let idle = days_before(now, s.cfg.session_idle_days);
        let pending = days_before(now, s.cfg.pending_registration_days);
        let inactive = s.store.expire_inactive(idle, pending).await?;
        // Throttle windows that ended (counted in the database only when it is shared).
        s.store.sweep_rate_windows(now).await?;
        // Passkey challenges never answered.
        s.store.delete_expired_passkey_challenges(now).await?;
        // Second-factor tickets used or expired, remembered devices expired.
        s.store.expire_second_factor_records(now).await?;
        Ok((records, inactive))
    }

    /// When a session last used before this has been idle too long (at `now`).
    pub(crate) fn idle_cutoff(&self, now: Timestamp) -> Timestamp {
        days_before(now, self.inner.cfg.session_idle_days)
    }

    /// The worker that sweeps every [`SWEEP_EVERY`] (the first time one period after start-up).
    pub fn sweeper(&self) -> AccountsSweeper {
        AccountsSweeper {
            accounts: self.clone(),
            ticker: Ticker::after(SWEEP_EVERY, self.inner.clock.now()),
        }
    }
}

fn days_before(now: Timestamp, days: u32) -> Timestamp {
    Timestamp(now.0 - i64::from(days) * DAY_MS)
}

/// Deletes expired login history, sessions and codes, idle sessions and stale pending
/// registrations every hour.
pub struct AccountsSweeper {
    accounts: Accounts,
    ticker: Ticker,
}

impl Worker for AccountsSweeper {
    fn name(&self) -> &'static str {
        "accounts-sweeper"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        let clock = self.accounts.inner.clock.as_ref();
        if let Some((n, i)) = self.ticker.run(clock, self.accounts.sweep()).await?
            && (n != ExpiredAccountRecords::default() || i != ExpiredInactive::default())
        {
            tracing::info!(
                login_events = n.login_events,
                sessions = n.sessions,
                codes = n.codes,
                idle_sessions = i.idle_sessions,
                pending_registrations = i.pending_registrations,
                "expired account records deleted"
            );
        }
        Ok(Step::Idle)
    }

    async fn wait_for_work(&mut self) {
        self.ticker.wait(self.accounts.inner.clock.as_ref()).await;
    }
}
