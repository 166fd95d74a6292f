//! Operator actions: bans and staff accounts. Reached from the admin CLI.

use kankan_base::{AccountId, StaffId};
use kankan_db::{AccountState, Staff};

use std::time::Duration;

use kankan_crypto::TokenHash;

use super::Accounts;
use crate::{CoreError, Identifier, password_policy};
use kankan_core::{Revoke, StaffRole};

/// How long a staff session lasts.
pub(crate) const STAFF_SESSION: Duration = Duration::from_secs(8 * 3600);

/// An authenticated staff member.
#[derive(Debug, Clone)]
pub struct StaffPrincipal {
    pub id: StaffId,
    pub username: String,
    pub role: StaffRole,
}

impl Accounts {
    /// Resolves a staff bearer token.
    pub async fn authenticate_staff(&self, token: &str) -> Result<StaffPrincipal, CoreError> {
        let s = &self.inner;
        let staff = s
            .store
            .staff_by_session(&TokenHash::of(token).0, s.now())
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        // A role this build does not know holds nothing: the session is refused.
        let role = StaffRole::parse(&staff.role).ok_or(CoreError::Unauthenticated)?;
        Ok(StaffPrincipal { id: staff.id, username: staff.username, role })
    }

    /// Finds the account that holds an identifier (for operators only).
    pub async fn find_by_identifier(&self, identifier: &str) -> Result<AccountId, CoreError> {
        let s = &self.inner;
        let id = Identifier::parse(identifier)?;
        let a = s.store.account_by_contact(&s.contact_index(&id)).await?;
        a.map(|a| a.id).ok_or(CoreError::NotFound("account"))
    }

    /// How many attempts the newest registration code sent to an identifier has had (for
    /// operators' diagnostics, and tests that count the guesses checked); `None` without one.
    pub async fn registration_code_attempts(
        &self,
        identifier: &str,
    ) -> Result<Option<u32>, CoreError> {
        let s = &self.inner;
        let id = Identifier::parse(identifier)?;
        let code =
            s.store.latest_code(kankan_db::CodePurpose::Register, &s.contact_index(&id)).await?;
        Ok(code.map(|c| c.attempts))
    }

    /// Bans an account permanently: its sessions end and logins show the ban notice.
    pub async fn ban(&self, account: AccountId, reason: &str) -> Result<(), CoreError> {
        let s = &self.inner;
        s.store.set_account_state(account, AccountState::Banned, Some(reason), s.now()).await?;
        s.revocations.revoke(&Revoke::Account { account, except: None });
        Ok(())
    }

    /// Lifts a ban made in error.
    pub async fn unban(&self, account: AccountId) -> Result<(), CoreError> {
        let s = &self.inner;
        let a = s.store.account(account).await?.ok_or(CoreError::NotFound("account"))?;
        if a.state != AccountState::Banned {
            return Ok(());
        }
        let state =
            if a.verified_at.is_some() { AccountState::Active } else { AccountState::Pending };
        s.store.set_account_state(account, state, None, s.now()).await?;
        Ok(())
    }

    /// Creates a staff administrator with their own password (no defaults exist).
    pub async fn create_staff_admin(
        &self,
        username: &str,
        password: &str,
    ) -> Result<StaffId, CoreError> {
        self.create_staff(username, password, StaffRole::Administrator).await
    }

    /// Creates a staff member with this role and their own password (no defaults exist).
    pub async fn create_staff(
        &self,
        username: &str,
        password: &str,
        role: StaffRole,
    ) -> Result<StaffId, CoreError> {
        let s = &self.inner;
        let username = username.trim();
        let valid = (3..=64).contains(&username.len())
            && username.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !valid {
            return Err(CoreError::InvalidIdentifier(
                "a staff username has 3-64 letters, digits, dots, dashes or underscores".into(),
            ));
        }
        password_policy::check(password, username)?;
        let staff = Staff {
            id: StaffId::new(),
            username: username.to_string(),
            password_hash: s.hash_password(password).await?.0,
            role: role.name().into(),
            created_at: s.now(),
        };
        s.store.insert_staff(&staff).await?;
        Ok(staff.id)
    }

    /// Creates an active account with this password, or, if the identifier already has one,
    /// sets its password (signing out its sessions). For operators and `kankan demo`.
    pub async fn provision_account(
        &self,
        identifier: &str,
        password: &str,
    ) -> Result<AccountId, CoreError> {
        let s = &self.inner;
        let id = Identifier::parse(identifier)?;
        password_policy::check(password, id.as_str())?;
        let idx = s.contact_index(&id);
        let hash = s.hash_password(password).await?;
        if let Some(a) = s.store.account_by_contact(&idx).await? {
            let now = s.now();
            s.store.set_password(a.id, &hash.0, None, now).await?;
            if a.state == AccountState::Pending {
                s.store.activate_account(a.id, None, now).await?;
            }
            return Ok(a.id);
        }
        let account = s.new_account(&id, hash.0, AccountState::Active)?;
        s.store.insert_account(&account).await?;
        Ok(account.id)
    }
}
