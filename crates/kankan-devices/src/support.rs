//! Support grants: a user lets staff see some of their devices' recordings for 1-72 hours
//! (`Requester::Support` in the one device decision, [`Devices::authorize_support`]). Giving,
//! withdrawing and every link staff take under a grant go into the audit log, which the user
//! reads, and giving or withdrawing one sends the user a notice.

use std::time::Duration;

use kankan_base::{AccountId, StaffId};
use kankan_core::audit::{Actor, AuditLog, Record};
use kankan_db::{DbError, SupportGrant};

use super::{DeviceHandle, Devices};
use crate::{CoreError, Principal};

/// The longest support grant, in hours.
pub const MAX_SUPPORT_HOURS: u32 = 72;
/// Most devices one grant names.
pub const MAX_SUPPORT_DEVICES: usize = 50;

impl Devices {
    fn audit(&self) -> AuditLog {
        let s = &self.inner;
        AuditLog::new(s.store.clone(), s.keyring.clone(), s.clock.clone())
    }

    /// Gives staff a support grant on `devices` (each owned by the caller) for `hours` (1-72).
    /// Logged, and the account is told.
    pub async fn give_support_grant(
        &self,
        p: &Principal,
        hours: u32,
        devices: &[String],
    ) -> Result<SupportGrant, CoreError> {
        let s = &self.inner;
        if !(1..=MAX_SUPPORT_HOURS).contains(&hours) {
            return Err(CoreError::InvalidRequest(format!(
                "a support grant lasts 1-{MAX_SUPPORT_HOURS} hours"
            )));
        }
        let mut uids: Vec<String> = devices.iter().map(|u| u.trim().to_ascii_uppercase()).collect();
        uids.sort();
        uids.dedup();
        if uids.is_empty() || uids.len() > MAX_SUPPORT_DEVICES {
            return Err(CoreError::InvalidRequest(format!(
                "a support grant names 1-{MAX_SUPPORT_DEVICES} of your devices"
            )));
        }
        if !uids.iter().all(|u| super::valid_uid(u)) {
            return Err(CoreError::DeviceNotFound);
        }
        let now = s.clock.now();
        let grant = SupportGrant {
            id: uuid::Uuid::now_v7(),
            account: p.account_id,
            devices: uids,
            created_at: now,
            expires_at: now.plus(Duration::from_secs(u64::from(hours) * 3600)),
            withdrawn_at: None,
        };
        s.store.insert_support_grant(&grant).await.map_err(|e| match e {
            DbError::NotFound("device") => CoreError::DeviceNotFound,
            other => other.into(),
        })?;
        let actor = Actor::Account(p.account_id);
        let detail =
            format!("grant={} hours={hours} devices={}", grant.id, grant.devices.join(","));
        let record = Record {
            actor: &actor,
            action: "support-grant-given",
            subject: Some(p.account_id),
            detail,
        };
        self.audit().append(record).await?;
        let body = format!(
            "You let the operator's support staff see the recordings of {} until {}. You can \
             withdraw this at any time under Account and Security → Access to my data.",
            grant.devices.join(", "),
            grant.expires_at.to_rfc3339()
        );
        self.tell_owner(p.account_id, "Support access granted", body).await;
        Ok(grant)
    }

    /// The caller's support grants, newest first, each with whether it is live now.
    pub async fn support_grants(
        &self,
        p: &Principal,
    ) -> Result<Vec<(SupportGrant, bool)>, CoreError> {
        let now = self.inner.clock.now();
        let grants = self.inner.store.support_grants_of(p.account_id).await?;
        Ok(grants
            .into_iter()
            .map(|g| {
                let live = g.withdrawn_at.is_none() && g.expires_at > now;
                (g, live)
            })
            .collect())
    }

    /// Withdraws a live grant of the caller (`NotFound` if none); logged and told.
    pub async fn withdraw_support_grant(
        &self,
        p: &Principal,
        id: uuid::Uuid,
    ) -> Result<(), CoreError> {
        let s = &self.inner;
        if !s.store.withdraw_support_grant(p.account_id, id, s.clock.now()).await? {
            return Err(CoreError::NotFound("support grant"));
        }
        let actor = Actor::Account(p.account_id);
        let record = Record {
            actor: &actor,
            action: "support-grant-withdrawn",
            subject: Some(p.account_id),
            detail: format!("grant={id}"),
        };
        self.audit().append(record).await?;
        let body = "You withdrew the support staff's access to your recordings.".to_string();
        self.tell_owner(p.account_id, "Support access withdrawn", body).await;
        Ok(())
    }

    /// A staff member's handle on `account`'s device `uid` for `need`, under a live support
    /// grant (see [`Devices::authorize_support`]); each one given is logged for the account
    /// to see. Without a live grant: `DeviceNotFound`, as if the device did not exist.
    pub async fn support_access(
        &self,
        staff: StaffId,
        account: AccountId,
        uid: &str,
        need: kankan_core::authz::Capability,
        what: &str,
    ) -> Result<DeviceHandle, CoreError> {
        let h = self.authorize_support(staff, account, need, uid).await?;
        let actor = Actor::Staff(staff);
        let record = Record {
            actor: &actor,
            action: "support-media-access",
            subject: Some(account),
            detail: format!("device={} {what}", h.uid()),
        };
        self.audit().append(record).await?;
        Ok(h)
    }
}
