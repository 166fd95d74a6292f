//! Children's accounts (policy VII: "When minors use our products (or services), the consent
//! and authorization of their guardians are required"). A registrant under `privacy.child_age`
//! names a guardian (an e-mail address or phone number, stored only sealed under the child's
//! account key and as a keyed blind index); the guardian gets a code, proves their identifier
//! with it and accepts the policy on the child's behalf. Until then the child's account is not
//! usable: its code still verifies the child's contact, but no session starts (verifying and
//! logging in answer `guardian-consent-pending`), so nothing is done on its behalf.

use kankan_base::AccountId;
use kankan_db::{Account, AccountState, CodePurpose, GuardianRow};

use super::{Accounts, ClientInfo, Inner};
use crate::consent::HOW_GUARDIAN;
use crate::{CoreError, Identifier, Registration};

impl Inner {
    /// `policy-not-accepted` unless `version` is the policy version in force.
    pub(crate) fn check_policy_accepted(&self, version: Option<&str>) -> Result<(), CoreError> {
        let current = &self.privacy.current().version;
        if version != Some(current.as_str()) {
            return Err(CoreError::Consent {
                code: "policy-not-accepted",
                message: format!(
                    "read and accept the privacy policy (version {current}) to register"
                ),
            });
        }
        Ok(())
    }

    /// The guardian a child's registration names (with its blind index); `guardian-required`
    /// for a child without one, or naming themselves.
    pub(crate) fn guardian_of_registration(
        &self,
        r: &Registration<'_>,
        child: &Identifier,
    ) -> Result<Option<(Identifier, Vec<u8>)>, CoreError> {
        if !r.under_age {
            return Ok(None);
        }
        let required = |message: String| CoreError::Consent { code: "guardian-required", message };
        let Some(g) = r.guardian.filter(|g| !g.trim().is_empty()) else {
            return Err(required(format!(
                "under {}, a guardian's e-mail address or phone number is needed: the guardian consents for you",
                self.privacy.child_age
            )));
        };
        let g = Identifier::parse(g)?;
        if g.as_str() == child.as_str() {
            return Err(required("the guardian must be another person".into()));
        }
        let idx = self.contact_index(&g);
        Ok(Some((g, idx)))
    }

    /// The guardian row of a new child account, the identifier sealed under the child's key.
    pub(crate) fn guardian_row(
        &self,
        child: &Account,
        guardian: &Identifier,
        guardian_index: Vec<u8>,
    ) -> Result<GuardianRow, CoreError> {
        let key = self.key_of(child)?;
        Ok(GuardianRow {
            account_id: child.id,
            guardian_index,
            guardian_enc: key.seal("guardian", guardian.as_str().as_bytes())?,
            created_at: self.now(),
            consented_at: None,
        })
    }

    /// A child's account registered again (pending, or verified but still waiting for its
    /// guardian): a new code to its guardian, if the request names the same guardian and they
    /// have not consented yet.
    pub(crate) async fn resend_guardian_code(
        &self,
        a: &Account,
        guardian: Option<&(Identifier, Vec<u8>)>,
    ) -> Result<(), CoreError> {
        let Some((gid, gidx)) = guardian else { return Ok(()) };
        if let Some(g) = self.store.guardian(a.id).await?
            && g.consented_at.is_none()
            && kankan_base::constant_time_eq(&g.guardian_index, gidx)
        {
            self.send_code(CodePurpose::Guardian, gid, gidx.clone(), None).await?;
        }
        Ok(())
    }

    /// `guardian-consent-pending` for a child account whose guardian has not consented.
    pub(crate) async fn require_guardian_consent(&self, id: AccountId) -> Result<(), CoreError> {
        match self.store.guardian(id).await? {
            Some(g) if g.consented_at.is_none() => Err(CoreError::GuardianConsentPending),
            _ => Ok(()),
        }
    }
}

impl Accounts {
    /// The guardian's consent for a child's account: the guardian's code (sent when the child
    /// registered) proves the guardian's identifier, and the guardian accepts the policy
    /// version in force on the child's behalf. One answer (`invalid-code`) for a wrong code,
    /// an unknown child, and a child whose guardian is someone else or already consented.
    pub async fn guardian_consent(
        &self,
        child: &str,
        guardian: &str,
        code: &str,
        accept_policy: &str,
        client: &ClientInfo,
    ) -> Result<(), CoreError> {
        let s = &self.inner;
        s.limiter.check(&format!("login-ip:{}", client.network()), s.limits.login_per_ip).await?;
        s.check_policy_accepted(Some(accept_policy))?;
        let child = Identifier::parse(child)?;
        let gidx = s.contact_index(&Identifier::parse(guardian)?);
        let row = s.check_code(CodePurpose::Guardian, &gidx, code).await?;
        let account = s
            .store
            .account_by_contact(&s.contact_index(&child))
            .await?
            .filter(|a| a.state != AccountState::Banned)
            .ok_or(CoreError::InvalidCode)?;
        let consent = s.consent_row(account.id, "policy", true, HOW_GUARDIAN);
        s.consume_code(&row).await?;
        if !s.store.guardian_consents(account.id, &gidx, &consent).await? {
            return Err(CoreError::InvalidCode);
        }
        Ok(())
    }
}
