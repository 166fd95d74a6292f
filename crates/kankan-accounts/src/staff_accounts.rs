//! The console's view of accounts: found by exact e-mail or phone through the blind index
//! (never by decrypting contacts), their state and devices count, bans with the reason staff
//! wrote (kept with the account in its ban notes, not in the audit log).

use kankan_base::{AccountId, StaffId, Timestamp};
use kankan_db::{AccountState, BanNote};

use super::Accounts;
use crate::{CoreError, Identifier};

/// Longest ban reason.
pub const MAX_REASON: usize = 500;

/// What staff see of an account: nothing of its contact or content.
#[derive(Debug, Clone)]
pub struct AccountOverview {
    pub id: AccountId,
    pub state: AccountState,
    pub created_at: Timestamp,
    pub verified_at: Option<Timestamp>,
    pub devices: u64,
    /// The reason of the ban in force.
    pub ban_reason: Option<String>,
    /// Bans and their lifting, newest first.
    pub ban_notes: Vec<BanNote>,
}

fn reason_of(reason: &str) -> Result<&str, CoreError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(CoreError::InvalidRequest(format!(
            "give a reason of 1-{MAX_REASON} characters"
        )));
    }
    Ok(reason)
}

impl Accounts {
    /// The accounts matching `query`: an account id, or an exact e-mail address or phone
    /// number looked up through its blind index. Zero or one.
    pub async fn search_accounts(&self, query: &str) -> Result<Vec<AccountOverview>, CoreError> {
        let s = &self.inner;
        let query = query.trim();
        let account = if let Ok(id) = query.parse::<AccountId>() {
            s.store.account(id).await?
        } else {
            let id = Identifier::parse(query)?;
            s.store.account_by_contact(&s.contact_index(&id)).await?
        };
        match account {
            Some(a) => Ok(vec![self.account_overview(a.id).await?]),
            None => Ok(Vec::new()),
        }
    }

    pub async fn account_overview(&self, id: AccountId) -> Result<AccountOverview, CoreError> {
        let s = &self.inner;
        let a = s.store.account(id).await?.ok_or(CoreError::NotFound("account"))?;
        let banned = a.state == AccountState::Banned;
        Ok(AccountOverview {
            id: a.id,
            state: a.state,
            created_at: a.created_at,
            verified_at: a.verified_at,
            devices: s.store.owned_device_count(id).await?,
            ban_reason: a.state_reason.filter(|_| banned),
            ban_notes: s.store.ban_notes(id).await?,
        })
    }

    /// Bans an account with staff's reason (kept in its ban notes). `staff` None: the
    /// operator at the command line.
    pub async fn ban_with_reason(
        &self,
        account: AccountId,
        staff: Option<StaffId>,
        reason: &str,
    ) -> Result<(), CoreError> {
        let reason = reason_of(reason)?;
        let s = &self.inner;
        let a = s.store.account(account).await?.ok_or(CoreError::NotFound("account"))?;
        if matches!(a.state, AccountState::Cancelled) {
            return Err(CoreError::NotFound("account"));
        }
        self.ban(account, reason).await?;
        s.store.add_ban_note(account, "ban", staff, reason, s.now()).await?;
        Ok(())
    }

    /// Lifts a ban with staff's reason; an account not banned is left as it is (and answers
    /// `false`).
    pub async fn unban_with_reason(
        &self,
        account: AccountId,
        staff: Option<StaffId>,
        reason: &str,
    ) -> Result<bool, CoreError> {
        let reason = reason_of(reason)?;
        let s = &self.inner;
        let a = s.store.account(account).await?.ok_or(CoreError::NotFound("account"))?;
        if a.state != AccountState::Banned {
            return Ok(false);
        }
        self.unban(account).await?;
        s.store.add_ban_note(account, "unban", staff, reason, s.now()).await?;
        Ok(true)
    }
}
