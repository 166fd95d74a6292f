//! Deleting accounts, orchestrated across the domains (kankan-accounts may not call the
//! domains to its right): a cancellation window that ended, a dormant account, an operator's
//! order. First the crypto-shred ([`Accounts::shred`]: the receipt queued to the contact, then
//! the account key destroyed in one store statement), recorded beforehand in the shred ledger
//! beside the master key; then the purge, each step idempotent so a purge cut short resumes
//! on the next pass: every device unbound ([`Devices::forget_account`]: members' access ends,
//! recordings, events and keys deleted), the Album's items and objects
//! ([`Album::forget_account`]), the recordings' trash emptied, and last the account row with
//! everything that still references it ([`Accounts::finish_purge`]).
//!
//! The ledger: a restored database backup from before a shred still holds the wrapped key. At
//! start-up every account named in the ledger that is not shredded in the database is shredded
//! again (and purged), so a database restored without its ledger's latest lines is the only
//! way back to the data, and the ledger lives with the master key, not in the database.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use kankan_accounts::{Accounts, CoreError, DeletionReason, PendingPurge, Shredded};
use kankan_base::AccountId;
use kankan_devices::Devices;
use kankan_recording::{Recordings, album::Album};
use kankan_worker::{Step, Ticker, WorkError, Worker};

/// How often the lifecycle worker looks for windows that ended, dormant accounts and purges.
pub const EVERY: Duration = Duration::from_secs(60);

/// The shred ledger: one account id per line, appended (and synced) before each shred.
#[derive(Debug, Clone)]
pub struct ShredLedger {
    path: PathBuf,
}

impl ShredLedger {
    pub fn new(path: PathBuf) -> ShredLedger {
        ShredLedger { path }
    }

    fn record(&self, account: AccountId) -> Result<(), CoreError> {
        let io = |e: std::io::Error| CoreError::Internal(format!("shred ledger: {e}"));
        let mut f =
            std::fs::OpenOptions::new().create(true).append(true).open(&self.path).map_err(io)?;
        writeln!(f, "{account}").map_err(io)?;
        f.sync_all().map_err(io)
    }

    /// The accounts it names.
    pub fn accounts(&self) -> Result<Vec<AccountId>, CoreError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(CoreError::Internal(format!("shred ledger: {e}"))),
        };
        Ok(text.lines().filter_map(|l| l.trim().parse().ok().map(AccountId)).collect())
    }
}

/// The deletion of accounts across the domains. Cheap to clone.
#[derive(Clone)]
pub struct Lifecycle {
    pub accounts: Accounts,
    pub devices: Devices,
    pub album: Album,
    pub recordings: Recordings,
    pub ledger: ShredLedger,
    /// Every deletion is written to the audit log (the system's access to the account).
    pub audit: kankan_core::AuditLog,
    pub exports: kankan_export::Exports,
    /// The account's ratings of the app.
    pub help: kankan_help::Help,
}

impl std::fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lifecycle")
    }
}

impl Lifecycle {
    /// The crypto-shred, recorded in the ledger first.
    pub async fn shred(
        &self,
        account: AccountId,
        reason: DeletionReason,
    ) -> Result<Option<Shredded>, CoreError> {
        self.ledger.record(account)?;
        let shredded = self.accounts.shred(account, reason).await?;
        if let Some(done) = &shredded {
            let counts: Vec<String> = done.counts.iter().map(|(k, n)| format!("{k}={n}")).collect();
            self.audit
                .append(kankan_core::audit::Record {
                    actor: &kankan_core::audit::Actor::System("account-lifecycle"),
                    action: "account-shredded",
                    subject: Some(account),
                    detail: format!("reason={} {}", reason.as_str(), counts.join(" ")),
                })
                .await?;
        }
        Ok(shredded)
    }

    /// Removes what a shredded account left, domain by domain; each step can run again.
    pub async fn purge(&self, p: &PendingPurge) -> Result<(), CoreError> {
        let devices = self.devices.forget_account(p.account).await?;
        // Trashes the Album's objects and empties the trash: the footage of the devices
        // unbound above goes with them.
        let album = self.album.forget_account(p.account).await?;
        let exports = self.exports.forget_account(p.account).await?;
        let ratings = self.help.forget_account(p.account).await?;
        self.recordings.empty_trash().await?;
        self.accounts.finish_purge(p).await?;
        tracing::info!(account = %p.account, devices, album, exports, ratings, "account purged");
        Ok(())
    }

    /// Shreds and purges an account now (`kankan admin accounts delete`, `cancel --now`).
    pub async fn delete_now(
        &self,
        account: AccountId,
        reason: DeletionReason,
    ) -> Result<Option<Shredded>, CoreError> {
        let shredded = self.shred(account, reason).await?;
        for p in self.accounts.pending_purges().await? {
            if p.account == account {
                self.purge(&p).await?;
            }
        }
        Ok(shredded)
    }

    /// One pass: windows that ended and dormant accounts are shredded, purges advance, old
    /// receipts go. Answers how many accounts were shredded and purged.
    pub async fn step(&self) -> Result<(u64, u64), CoreError> {
        let mut shredded = 0;
        for a in self.accounts.due_cancellations().await? {
            shredded += u64::from(self.shred(a, DeletionReason::Cancelled).await?.is_some());
        }
        for a in self.accounts.dormant_step().await? {
            shredded += u64::from(self.shred(a, DeletionReason::Dormant).await?.is_some());
        }
        let mut purged = 0;
        for p in self.accounts.pending_purges().await? {
            self.purge(&p).await?;
            purged += 1;
        }
        self.accounts.expire_receipts().await?;
        Ok((shredded, purged))
    }

    /// At start-up: shreds again every account the ledger names that the database holds
    /// unshredded (a database restored from a backup taken before the shred).
    pub async fn reshred_from_ledger(&self) -> Result<u64, CoreError> {
        let mut n = 0;
        for a in self.ledger.accounts()? {
            if self.accounts.shred_again(a).await?.is_some() {
                tracing::warn!(account = %a, "a restored account was shredded again (ledger)");
                n += 1;
            }
        }
        Ok(n)
    }

    pub fn worker(&self, clock: &kankan_base::Clocks) -> LifecycleWorker {
        LifecycleWorker {
            lc: self.clone(),
            ticker: Ticker::after(EVERY, clock.now()),
            clock: clock.clone(),
        }
    }
}

/// Runs [`Lifecycle::step`] every [`EVERY`] on the clock.
pub struct LifecycleWorker {
    lc: Lifecycle,
    ticker: Ticker,
    clock: kankan_base::Clocks,
}

impl Worker for LifecycleWorker {
    fn name(&self) -> &'static str {
        "account-lifecycle"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        let stepped = self.ticker.run(self.clock.as_ref(), self.lc.step()).await?;
        if let Some((shredded, purged)) = stepped.filter(|(s, p)| s + p > 0) {
            tracing::info!(shredded, purged, "account lifecycle");
        }
        Ok(Step::Idle)
    }

    async fn wait_for_work(&mut self) {
        self.ticker.wait(self.clock.as_ref()).await;
    }
}
