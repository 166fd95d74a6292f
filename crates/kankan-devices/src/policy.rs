//! The one decision for every device access by a person: which capabilities a requester holds
//! on a device (see [`crate::authz`]).

use kankan_base::{AccountId, Timestamp};
use kankan_crypto::AccountKey;
use kankan_db::{Device, DeviceGrant};
use kankan_protocol::v1::GrantSchedule;

use super::Devices;
use crate::{CoreError, Principal};
use kankan_core::authz::{Capability, CapabilitySet, Requester};

/// Proof that a requester holds capabilities on a device: only the decision makes one.
#[derive(Debug, Clone)]
pub struct DeviceHandle {
    pub(super) device: Device,
    /// The owner's account key, which seals the device's data.
    pub(super) key: AccountKey,
    /// The requester's account key (the owner's, for the owner).
    pub(super) account_key: AccountKey,
    pub(super) granted: CapabilitySet,
    pub(super) principal: AccountId,
}

impl DeviceHandle {
    pub fn uid(&self) -> &str {
        &self.device.uid
    }

    /// An ordinary RTSP camera the server pulls, not a Kankan device on MQTT.
    pub fn is_rtsp(&self) -> bool {
        self.device.model == super::provision::RTSP_MODEL
    }

    /// The capabilities this handle was granted for.
    pub fn granted(&self) -> CapabilitySet {
        self.granted
    }

    /// Checks that the handle was granted `c`: every operation asks for the one it needs.
    /// A missing one answers like a missing device.
    pub fn require(&self, c: Capability) -> Result<(), CoreError> {
        if self.granted.contains(c) { Ok(()) } else { Err(CoreError::DeviceNotFound) }
    }

    /// The account acting (the owner, or an account the owner granted capabilities).
    pub fn account(&self) -> AccountId {
        self.principal
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The owner's account key: it wraps the device's data keys and seals its name and
    /// settings.
    pub fn device_key(&self) -> &AccountKey {
        &self.key
    }

    /// The acting account's key: what the requester keeps for itself (Album items) is sealed
    /// under it.
    pub fn account_key(&self) -> &AccountKey {
        &self.account_key
    }
}

/// A device shared with an account: whose it is and what the account holds on it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedDevice {
    pub uid: String,
    pub owner: AccountId,
    pub granted: CapabilitySet,
}

/// What grants give together at `now`: a grant outside its weekly schedule gives nothing
/// (its expiry and revocation the store has applied). A grant never gives `unbind` or
/// `share`: those stay the owner's.
pub(super) fn held_from<'a>(
    grants: impl Iterator<Item = &'a kankan_db::DeviceGrant>,
    now: kankan_base::Timestamp,
) -> CapabilitySet {
    grants
        .filter(|g| in_schedule(g, now))
        .map(|g| CapabilitySet::from_names(&g.capabilities))
        .fold(CapabilitySet::EMPTY, CapabilitySet::union)
        .intersection(CapabilitySet::grantable())
}

/// Whether a grant's weekly schedule (if any) lets it count at `now`. A schedule that cannot
/// be read gives nothing.
fn in_schedule(g: &DeviceGrant, now: Timestamp) -> bool {
    match &g.schedule {
        None => true,
        Some(json) => serde_json::from_str::<GrantSchedule>(json).is_ok_and(|s| s.active_at(now.0)),
    }
}

/// What a decision asks for.
#[derive(Debug, Clone, Copy)]
enum Need {
    /// Every one of them; the handle carries exactly these.
    All(CapabilitySet),
    /// At least one of them; the handle carries those held.
    Any(CapabilitySet),
}

impl Devices {
    /// Decides whether `p` holds `need` (one capability or a set, all of them) on `uid`. The
    /// owner holds every capability; another account those of its live grants. A device that
    /// does not exist, one that is not the requester's, and a capability not held all answer
    /// the same `DeviceNotFound`.
    pub async fn authorize_device(
        &self,
        p: &Principal,
        need: impl Into<CapabilitySet>,
        uid: &str,
    ) -> Result<DeviceHandle, CoreError> {
        self.decide(Requester::Account(p.account_id), Need::All(need.into()), uid).await
    }

    /// The same decision for whichever of `any` the requester holds (at least one): a
    /// signed media link carries what its holder may do with it.
    pub async fn authorize_device_any(
        &self,
        p: &Principal,
        any: CapabilitySet,
        uid: &str,
    ) -> Result<DeviceHandle, CoreError> {
        self.decide(Requester::Account(p.account_id), Need::Any(any), uid).await
    }

    /// [`Devices::authorize_device`] for an account proven another way (a signed media link
    /// names the account it was issued to; the server captures an event's thumbnail for the
    /// account it was recorded for).
    pub async fn authorize_account(
        &self,
        account: AccountId,
        need: impl Into<CapabilitySet>,
        uid: &str,
    ) -> Result<DeviceHandle, CoreError> {
        self.decide(Requester::Account(account), Need::All(need.into()), uid).await
    }

    /// The same decision for a staff member helping `account` (see [`Requester::Support`]):
    /// `DeviceNotFound` unless the account owns the device and its live support grant names
    /// it, and for anything beyond [`CapabilitySet::support`].
    pub async fn authorize_support(
        &self,
        staff: kankan_base::StaffId,
        account: AccountId,
        need: impl Into<CapabilitySet>,
        uid: &str,
    ) -> Result<DeviceHandle, CoreError> {
        self.decide(Requester::Support { staff, account }, Need::All(need.into()), uid).await
    }

    async fn decide(
        &self,
        who: Requester,
        need: Need,
        uid: &str,
    ) -> Result<DeviceHandle, CoreError> {
        let s = &self.inner;
        let account = match who {
            Requester::Account(a) | Requester::Support { account: a, .. } => a,
        };
        if !super::valid_uid(uid) {
            return Err(CoreError::DeviceNotFound);
        }
        let device = s.store.device(uid).await?.ok_or(CoreError::DeviceNotFound)?;
        let owner = device.owner.ok_or(CoreError::DeviceNotFound)?;
        let held = match who {
            // Staff hold what a support grant gives, only on the account's own device and
            // only while the account's grant naming it is live.
            Requester::Support { .. } => {
                let live = owner == account
                    && s.store.live_support_grant(account, uid, s.clock.now()).await?.is_some();
                if live { CapabilitySet::support() } else { CapabilitySet::EMPTY }
            }
            Requester::Account(_) if owner == account => CapabilitySet::all(),
            Requester::Account(_) => self.granted_to(uid, owner, account).await?,
        };
        let granted = match need {
            Need::All(set) if held.covers(set) && !set.is_empty() => set,
            Need::Any(set) if !held.intersection(set).is_empty() => held.intersection(set),
            _ => return Err(CoreError::DeviceNotFound),
        };
        let account_key = self.key_of_account(account).await?;
        let key = if owner == account {
            account_key.clone()
        } else {
            // An owner who may not act any more (banned) shares nothing.
            self.key_of_account(owner).await.map_err(|e| match e {
                CoreError::Unauthenticated => CoreError::DeviceNotFound,
                other => other,
            })?
        };
        Ok(DeviceHandle { device, key, account_key, granted, principal: account })
    }

    /// What the live grants of `owner` give `account` on the device now. A grant never gives
    /// `unbind`, and one left by a previous owner gives nothing.
    pub(super) async fn granted_to(
        &self,
        uid: &str,
        owner: AccountId,
        account: AccountId,
    ) -> Result<CapabilitySet, CoreError> {
        let s = &self.inner;
        let now = s.clock.now();
        let grants = s.store.device_grants_of(uid, account, now).await?;
        Ok(held_from(grants.iter().filter(|g| g.granted_by == owner), now))
    }

    /// The accounts other than the owner that hold `c` on the device now (its members'
    /// share of its alarms, its streams): the same rule as [`Devices::authorize_device`].
    /// Empty for an unbound device.
    pub async fn members_holding(
        &self,
        uid: &str,
        c: Capability,
    ) -> Result<Vec<AccountId>, CoreError> {
        let s = &self.inner;
        let Some(owner) = s.store.device(uid).await?.and_then(|d| d.owner) else {
            return Ok(Vec::new());
        };
        let now = s.clock.now();
        let grants = s.store.device_grants_on(uid, now).await?;
        let mut by_account: Vec<(AccountId, CapabilitySet)> = Vec::new();
        for g in grants.iter().filter(|g| g.granted_by == owner && g.account_id != owner) {
            let held = held_from(std::iter::once(g), now);
            match by_account.iter_mut().find(|(a, _)| *a == g.account_id) {
                Some((_, set)) => *set = set.union(held),
                None => by_account.push((g.account_id, held)),
            }
        }
        Ok(by_account.into_iter().filter(|(_, set)| set.contains(c)).map(|(a, _)| a).collect())
    }

    /// The devices shared with `account` now, with their owner and what it holds on each:
    /// the same rule as [`Devices::authorize_device`] (a grant whose granter no longer owns
    /// the device gives nothing).
    pub async fn shared_with(&self, account: AccountId) -> Result<Vec<SharedDevice>, CoreError> {
        let s = &self.inner;
        let now = s.clock.now();
        let grants = s.store.device_grants_held(account, now).await?;
        let mut out: Vec<SharedDevice> = Vec::new();
        for g in &grants {
            let held = held_from(std::iter::once(g), now);
            if let Some(d) = out.iter_mut().find(|d| d.uid == g.uid && d.owner == g.granted_by) {
                d.granted = d.granted.union(held);
                continue;
            }
            out.push(SharedDevice { uid: g.uid.clone(), owner: g.granted_by, granted: held });
        }
        let mut live = Vec::with_capacity(out.len());
        for d in out {
            let owner = s.store.device(&d.uid).await?.and_then(|dev| dev.owner);
            if owner == Some(d.owner) && d.owner != account && !d.granted.is_empty() {
                live.push(d);
            }
        }
        Ok(live)
    }

    /// A handle for the owner's own devices, listed or just added (the query selects by
    /// owner, which is the decision for them).
    pub(super) fn owner_handle(
        &self,
        device: Device,
        key: AccountKey,
        principal: AccountId,
    ) -> DeviceHandle {
        DeviceHandle {
            device,
            account_key: key.clone(),
            key,
            granted: CapabilitySet::all(),
            principal,
        }
    }

    /// The caller's account key, if the account may act at all.
    pub async fn key_of(&self, p: &Principal) -> Result<AccountKey, CoreError> {
        self.key_of_account(p.account_id).await
    }

    pub async fn key_of_account(&self, id: AccountId) -> Result<AccountKey, CoreError> {
        self.inner.vault.active_key(id).await?.ok_or(CoreError::Unauthenticated)
    }
}

#[cfg(test)]
mod tests {
    use kankan_base::{AccountId, Timestamp};
    use kankan_db::DeviceGrant;
    use kankan_protocol::v1::GrantSchedule;

    use super::in_schedule;

    #[test]
    fn a_grant_counts_only_inside_its_schedule() {
        let schedule = GrantSchedule {
            time_zone: "UTC".into(),
            periods: vec![kankan_protocol::device::PeriodSpec {
                day: "mon".into(),
                start: "09:00".into(),
                end: "17:00".into(),
            }],
        };
        let grant = DeviceGrant {
            id: uuid::Uuid::now_v7(),
            uid: "KKTEST0001".into(),
            account_id: AccountId::new(),
            granted_by: AccountId::new(),
            capabilities: "view".into(),
            created_at: Timestamp(0),
            expires_at: None,
            revoked_at: None,
            schedule: Some(serde_json::to_string(&schedule).expect("json")),
        };
        // 2024-01-01 was a Monday.
        let monday_noon = Timestamp(1_704_110_400_000);
        let monday_night = Timestamp(1_704_150_000_000);
        assert!(in_schedule(&grant, monday_noon));
        assert!(!in_schedule(&grant, monday_night));
        let broken = DeviceGrant { schedule: Some("{not json".into()), ..grant.clone() };
        assert!(!in_schedule(&broken, monday_noon));
        let always = DeviceGrant { schedule: None, ..grant };
        assert!(in_schedule(&always, monday_night));
    }
}
