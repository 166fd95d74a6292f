//! The end of an account's life, as the account system sees it: cancelling (with its window of
//! working days, which a login can end with "Continue login"), the crypto-shred that destroys
//! the account key (after the deletion receipt has been queued to the contact), the purge's
//! last step, deletion receipts, dormant accounts, and deleting login history on request.
//!
//! What the other domains hold of an account (devices, recordings, Album, events) is purged
//! by the server's wiring, which calls each domain's own forget operation between
//! [`Accounts::shred`] and [`Accounts::finish_purge`]: this crate may not call them.

use std::time::Duration;

use kankan_base::{AccountId, Timestamp};
use kankan_crypto::{TokenHash, random_token};
use kankan_db::{Account, AccountState, DeletionReason, DeletionReceipt, PendingPurge};

use super::{Accounts, Principal};
use crate::CoreError;
use kankan_core::Revoke;

const DAY: Duration = Duration::from_secs(86_400);

/// Accounts handled in one pass of each lifecycle query.
const BATCH: u32 = 100;

/// A shredded account: its receipt's token, shown once (the message to the contact carries
/// it; the operator's command prints it).
#[derive(Debug, Clone)]
pub struct Shredded {
    pub account: AccountId,
    pub receipt_token: String,
    pub counts: Vec<(String, u64)>,
}

impl Accounts {
    /// Asks for the caller's account to be cancelled, with its password re-entered (checked
    /// and throttled like a password change). The account is suspended at once (every session
    /// ends, its devices are served to nobody, its members lose access) until the window of
    /// `accounts.cancellation_working_days` working days ends; logging in during it offers
    /// "Continue login". Answers when the window ends.
    pub async fn cancel(&self, p: &Principal, password: &str) -> Result<Timestamp, CoreError> {
        let s = &self.inner;
        let a = s.account(p.account_id).await?;
        s.limiter
            .check(&format!("password-change:{}", a.id), s.limits.password_change_per_account)
            .await?;
        if !s.check_password(password, Some(&a.password_hash)).await? {
            return Err(CoreError::WrongPassword);
        }
        if a.state == AccountState::Cancelling {
            return s.store.cancellation_ends(a.id).await?.ok_or(CoreError::AccountCancelling);
        }
        self.start_cancellation(&a).await
    }

    /// Starts the window for an account on an operator's order (`kankan admin accounts
    /// cancel`); answers when it ends.
    pub async fn cancel_as_operator(&self, account: AccountId) -> Result<Timestamp, CoreError> {
        let s = &self.inner;
        let a = s.store.account(account).await?.ok_or(CoreError::NotFound("account"))?;
        if a.state == AccountState::Cancelling {
            return s.store.cancellation_ends(a.id).await?.ok_or(CoreError::AccountCancelling);
        }
        self.start_cancellation(&a).await
    }

    async fn start_cancellation(&self, a: &Account) -> Result<Timestamp, CoreError> {
        let s = &self.inner;
        let now = s.now();
        let ends_at = s.privacy.calendar.add_working_days(now, s.cfg.cancellation_working_days);
        s.store.start_cancellation(a.id, ends_at, now).await.map_err(|e| match e {
            kankan_db::DbError::NotFound(_) => CoreError::AccountCancelling,
            other => other.into(),
        })?;
        s.revocations.revoke(&Revoke::Account { account: a.id, except: None });
        let body = format!(
            "You asked to cancel your Kankan account. It is suspended now, and on {} it will be \
             deleted: its devices unbound, shared access ended, and its recordings, events, \
             Album, settings and contact details destroyed. To keep your account, log in before \
             then and choose \"Continue login\".",
            ends_at.to_rfc3339()
        );
        s.notify(a, "Your Kankan account is being cancelled", body).await?;
        Ok(ends_at)
    }

    /// When the caller's cancellation window ends (`None`: not cancelling).
    pub async fn cancellation(&self, p: &Principal) -> Result<Option<Timestamp>, CoreError> {
        Ok(self.inner.store.cancellation_ends(p.account_id).await?)
    }

    /// "Continue login": ends the caller's cancellation; the account is active again.
    pub async fn continue_account(&self, p: &Principal) -> Result<(), CoreError> {
        let s = &self.inner;
        if s.store.end_cancellation(p.account_id, s.now()).await? {
            Ok(())
        } else {
            Err(CoreError::NotFound("cancellation"))
        }
    }

    /// Deletes the caller's whole login history (the entry of the current login too); its
    /// sessions stay (Me → Sessions lists and ends them). Answers how many entries went.
    pub async fn delete_login_history(&self, p: &Principal) -> Result<u64, CoreError> {
        Ok(self.inner.store.delete_login_events(p.account_id).await?)
    }

    /// Accounts whose cancellation window has ended.
    pub async fn due_cancellations(&self) -> Result<Vec<AccountId>, CoreError> {
        let s = &self.inner;
        Ok(s.store.due_cancellations(s.now(), BATCH).await?)
    }

    /// Dormant accounts: sends the notice to those unused for `dormant_days -
    /// dormant_notice_days`, and answers those unused for `dormant_days` whose notice went at
    /// least `dormant_notice_days` ago (to be deleted).
    pub async fn dormant_step(&self) -> Result<Vec<AccountId>, CoreError> {
        let s = &self.inner;
        let now = s.now();
        let (dormant, notice) = (s.cfg.dormant_days, s.cfg.dormant_notice_days);
        let notice_from = now.minus(DAY * (dormant - notice));
        for id in s.store.dormant_unnoticed(notice_from, BATCH).await? {
            let Some(a) = s.store.account(id).await? else { continue };
            // Marked first: a notice that fails to queue is not repeated every pass.
            if s.store.mark_dormant_notice(id, notice_from, now).await? {
                let body = format!(
                    "Your Kankan account has not been used for a long time. Unless you log in \
                     within {notice} days, it will be anonymised: deleted with its devices' \
                     recordings, events, Album and settings, as our privacy policy says."
                );
                s.notify(&a, "Your unused Kankan account will be deleted", body).await?;
            }
        }
        let due =
            s.store.dormant_due(now.minus(DAY * dormant), now.minus(DAY * notice), BATCH).await?;
        Ok(due)
    }

    /// The crypto-shred. Counts what the account holds, queues the deletion receipt to its
    /// contact (sealed in the job queue: the contact is unreadable once the key is gone), then
    /// in one store transaction overwrites the wrapped account key (everything sealed under it
    /// is unreadable from then on), the contact, nickname and password, frees the identifier,
    /// writes the receipt and the purge row. `None` when the account is gone or shredded.
    pub async fn shred(
        &self,
        account: AccountId,
        reason: DeletionReason,
    ) -> Result<Option<Shredded>, CoreError> {
        self.shred_telling(account, reason, true).await
    }

    /// [`Accounts::shred`] without the message (an account shredded again after a database
    /// restore: its receipt went the first time).
    pub async fn shred_again(&self, account: AccountId) -> Result<Option<Shredded>, CoreError> {
        self.shred_telling(account, DeletionReason::Operator, false).await
    }

    async fn shred_telling(
        &self,
        account: AccountId,
        reason: DeletionReason,
        tell: bool,
    ) -> Result<Option<Shredded>, CoreError> {
        let s = &self.inner;
        let Some(a) = s.store.account(account).await? else { return Ok(None) };
        if a.state == AccountState::Cancelled {
            return Ok(None);
        }
        let counts = s.store.account_footprint(account).await?.counts();
        let (token, hash) = random_token()?;
        let now = s.now();
        let receipt = DeletionReceipt {
            id: uuid::Uuid::now_v7(),
            token_hash: hash.0.to_vec(),
            reason,
            shredded_at: now,
            purged_at: None,
            counts: counts.clone(),
            expires_at: now.plus(DAY * s.cfg.receipt_days),
        };
        if tell && a.state != AccountState::Pending {
            let what: Vec<String> = counts.iter().map(|(k, n)| format!("{k}: {n}")).collect();
            let body = format!(
                "Your Kankan account was deleted on {} ({}). Its key was destroyed, so \
                 everything stored for it is unreadable, and it is being removed. Deleted: {}. \
                 This receipt can be shown again for {} days with the code {token} (on the \
                 login page: Deletion receipt).",
                now.to_rfc3339(),
                reason_text(reason),
                what.join(", "),
                s.cfg.receipt_days
            );
            s.notify(&a, "Your Kankan account was deleted", body).await?;
        }
        if !s.store.shred_account(account, &receipt, now).await? {
            return Ok(None);
        }
        s.revocations.revoke(&Revoke::Account { account, except: None });
        tracing::info!(%account, reason = reason.as_str(), "account key shredded");
        Ok(Some(Shredded { account, receipt_token: token, counts }))
    }

    /// Shredded accounts whose purge is not finished.
    pub async fn pending_purges(&self) -> Result<Vec<PendingPurge>, CoreError> {
        Ok(self.inner.store.pending_purges(BATCH).await?)
    }

    /// The purge's last step, once the other domains have forgotten the account: its avatar
    /// object, then its row (sessions, login history and every row left that references it go
    /// with it) and its purge row; the receipt shows the purge done.
    pub async fn finish_purge(&self, purge: &PendingPurge) -> Result<(), CoreError> {
        let s = &self.inner;
        if let Some(a) = s.store.account(purge.account).await?
            && let Some(blob) = a.avatar_blob
        {
            s.blobs.delete(blob).await?;
        }
        s.store.finish_purge(purge, s.now()).await?;
        Ok(())
    }

    /// A deletion receipt, by the token its message carried.
    pub async fn deletion_receipt(&self, token: &str) -> Result<DeletionReceipt, CoreError> {
        let s = &self.inner;
        s.store
            .deletion_receipt(&TokenHash::of(token).0, s.now())
            .await?
            .ok_or(CoreError::NotFound("receipt"))
    }

    /// Deletes receipts past `accounts.receipt_days`; how many.
    pub async fn expire_receipts(&self) -> Result<u64, CoreError> {
        let s = &self.inner;
        Ok(s.store.expire_deletion_receipts(s.now()).await?)
    }
}

fn reason_text(r: DeletionReason) -> &'static str {
    match r {
        DeletionReason::Cancelled => "you cancelled it",
        DeletionReason::Dormant => "it was not used for the period our privacy policy states",
        DeletionReason::Operator => "by the operator",
    }
}
