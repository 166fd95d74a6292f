//! Sharing devices with other accounts (households): invitations by link and QR code, the
//! members of a device with the capabilities and time boxes their owner grants them, removal
//! and leaving, and the membership history. Every change is recorded and told to the owner.
//!
//! A membership is one (device, member) pair of the device's current owner; its one live grant
//! row (`device_grants`) is what [`Devices::authorize_device`] reads, and a change replaces it.

use std::time::Duration;

use kankan_accounts::Identifier;
use kankan_accounts::RateLimit;
use kankan_base::{AccountId, Timestamp};
use kankan_core::authz::{Capability, CapabilitySet};
use kankan_crypto::TokenHash;
use kankan_db::{DbError, DeviceGrant, Invitation, MembershipAction};
use kankan_protocol::v1::GrantSchedule;

use super::{DeviceHandle, Devices};
use crate::{CoreError, Principal};

/// Invitations an account may create an hour.
pub const INVITATIONS_PER_HOUR: u32 = 20;
/// Devices one invitation may offer.
pub const MAX_INVITATION_DEVICES: usize = 16;
/// How long an invitation may be accepted, by default and at most.
pub const DEFAULT_INVITATION_HOURS: u32 = 24;
pub const MAX_INVITATION_HOURS: u32 = 168;
/// What an invitation or a member list shows for an account without a nickname.
pub const NO_NICKNAME: &str = "Kankan user";
/// History rows a device list shows.
const HISTORY_ROWS: u32 = 200;

/// A device named to its owner (UID and the owner's name for it).
pub type NamedDevice = (String, Option<String>);

/// A new invitation: its token exists only here and in the link.
#[derive(Clone)]
pub struct NewInvitation {
    pub id: uuid::Uuid,
    pub token: String,
    pub link: String,
    pub qr_svg: String,
    pub expires_at: Timestamp,
    pub devices: Vec<NamedDevice>,
}

impl std::fmt::Debug for NewInvitation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewInvitation").field("id", &self.id).finish_non_exhaustive()
    }
}

/// One of the caller's pending invitations.
#[derive(Debug, Clone)]
pub struct PendingInvitation {
    pub id: uuid::Uuid,
    pub devices: Vec<NamedDevice>,
    pub bound: bool,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
}

/// What an invitation shows whoever holds it: the inviter's nickname and the cameras' names.
#[derive(Debug, Clone)]
pub struct InvitationOffer {
    pub inviter: String,
    pub devices: Vec<Option<String>>,
    pub expires_at: Timestamp,
}

/// A member of a device, as its owner sees it.
#[derive(Debug, Clone)]
pub struct MemberView {
    pub account: AccountId,
    pub nickname: String,
    pub capabilities: CapabilitySet,
    pub until: Option<Timestamp>,
    pub schedule: Option<GrantSchedule>,
    pub joined_at: Timestamp,
}

/// One row of a device's membership history.
#[derive(Debug, Clone)]
pub struct MembershipEntry {
    pub at: Timestamp,
    pub action: MembershipAction,
    pub member: Option<String>,
}

fn invalid<T>() -> Result<T, CoreError> {
    Err(CoreError::InvitationInvalid)
}

/// The capabilities an owner asks for, each grantable.
fn grantable_set(names: &[String]) -> Result<CapabilitySet, CoreError> {
    let mut set = CapabilitySet::EMPTY;
    for name in names {
        let c = Capability::parse(name.trim())
            .ok_or_else(|| CoreError::InvalidShare(format!("unknown capability {name:?}")))?;
        if !CapabilitySet::grantable().contains(c) {
            return Err(CoreError::CapabilityNotGrantable(c.name().to_string()));
        }
        set = set | c;
    }
    if set.is_empty() {
        return Err(CoreError::InvalidShare("a member holds at least one capability".into()));
    }
    Ok(set)
}

fn qr_svg(text: &str) -> Result<String, CoreError> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
        .map_err(|e| CoreError::Internal(format!("QR code: {e}")))?;
    Ok(code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(240, 240).build())
}

impl Devices {
    /// Creates an invitation to the devices `uids` (each the caller's own: `share`), for
    /// `hours` (1-168, default 24), optionally only for the account holding `bound_to`. The
    /// link is `<origin>/#/invite/<token>`.
    pub async fn create_invitation(
        &self,
        p: &Principal,
        uids: &[String],
        bound_to: Option<&str>,
        hours: Option<u32>,
        origin: &str,
    ) -> Result<NewInvitation, CoreError> {
        let s = &self.inner;
        if uids.is_empty() || uids.len() > MAX_INVITATION_DEVICES {
            return Err(CoreError::InvalidShare(format!(
                "an invitation offers 1-{MAX_INVITATION_DEVICES} devices"
            )));
        }
        let hours = hours.unwrap_or(DEFAULT_INVITATION_HOURS);
        if !(1..=MAX_INVITATION_HOURS).contains(&hours) {
            return Err(CoreError::InvalidShare(format!(
                "an invitation lasts 1-{MAX_INVITATION_HOURS} hours"
            )));
        }
        let bound_index = bound_to
            .map(|b| {
                Identifier::parse(b)
                    .map(|id| s.keyring.blind_index(id.kind().as_str(), id.as_str()))
            })
            .transpose()?;
        let limit = RateLimit { count: INVITATIONS_PER_HOUR, per_secs: 3600 };
        s.limiter.check(&format!("share-invite:{}", p.account_id), limit).await?;
        let mut devices: Vec<NamedDevice> = Vec::with_capacity(uids.len());
        for uid in uids {
            let uid = uid.trim().to_ascii_uppercase();
            if devices.iter().any(|(u, _)| *u == uid) {
                continue;
            }
            let h = self.authorize_device(p, Capability::Share, &uid).await?;
            let name = self.name_of(&h)?;
            devices.push((uid, name));
        }
        let (token, hash) = kankan_crypto::random_token()?;
        let now = s.clock.now();
        let expires_at = now.plus(Duration::from_secs(u64::from(hours) * 3600));
        let invitation = Invitation {
            id: uuid::Uuid::now_v7(),
            token_hash: hash.0,
            inviter: p.account_id,
            devices: devices.iter().map(|(u, _)| u.clone()).collect(),
            bound_index: bound_index.map(|i| i.to_vec()),
            created_at: now,
            expires_at,
            used_at: None,
            used_by: None,
            revoked_at: None,
        };
        s.store.insert_invitation(&invitation).await?;
        let link = format!("{}/#/invite/{token}", origin.trim_end_matches('/'));
        let qr_svg = qr_svg(&link)?;
        Ok(NewInvitation { id: invitation.id, token, link, qr_svg, expires_at, devices })
    }

    /// The caller's pending invitations, newest first.
    pub async fn pending_invitations(
        &self,
        p: &Principal,
    ) -> Result<Vec<PendingInvitation>, CoreError> {
        let s = &self.inner;
        let key = self.key_of(p).await?;
        let mut out = Vec::new();
        for inv in s.store.pending_invitations(p.account_id, s.clock.now()).await? {
            let mut devices = Vec::with_capacity(inv.devices.len());
            for uid in &inv.devices {
                let d = s.store.device(uid).await?.filter(|d| d.owner == Some(p.account_id));
                let name = match d.and_then(|d| d.name_enc) {
                    Some(enc) => Some(key.open_string(&format!("device-name/{uid}"), &enc)?),
                    None => None,
                };
                devices.push((uid.clone(), name));
            }
            out.push(PendingInvitation {
                id: inv.id,
                devices,
                bound: inv.bound_index.is_some(),
                expires_at: inv.expires_at,
                created_at: inv.created_at,
            });
        }
        Ok(out)
    }

    /// Withdraws one of the caller's pending invitations; `NotFound("invitation")` otherwise.
    pub async fn revoke_invitation(&self, p: &Principal, id: &str) -> Result<(), CoreError> {
        let s = &self.inner;
        let id: uuid::Uuid = id.parse().map_err(|_| CoreError::NotFound("invitation"))?;
        if s.store.revoke_invitation(id, p.account_id, s.clock.now()).await? {
            Ok(())
        } else {
            Err(CoreError::NotFound("invitation"))
        }
    }

    /// The invitation `token` names, if the caller may accept it now: pending and, when bound,
    /// bound to the caller's identifier. Every other case is the same `InvitationInvalid`.
    async fn open_invitation(&self, p: &Principal, token: &str) -> Result<Invitation, CoreError> {
        let s = &self.inner;
        if token.is_empty() || token.len() > 128 {
            return invalid();
        }
        let Some(inv) = s.store.invitation_by_token(&TokenHash::of(token).0).await? else {
            return invalid();
        };
        if !inv.pending(s.clock.now()) {
            return invalid();
        }
        if let Some(bound) = &inv.bound_index {
            let me = s.store.account(p.account_id).await?.ok_or(CoreError::Unauthenticated)?;
            if !kankan_crypto::constant_time_eq(bound, &me.contact_index) {
                return invalid();
            }
        }
        Ok(inv)
    }

    /// What an invitation offers: the inviter's nickname and the names of the cameras it
    /// still owns, nothing else of its account.
    pub async fn preview_invitation(
        &self,
        p: &Principal,
        token: &str,
    ) -> Result<InvitationOffer, CoreError> {
        let s = &self.inner;
        let inv = self.open_invitation(p, token).await?;
        // An inviter who may not act any more (banned) offers nothing.
        let Some(key) = s.vault.active_key(inv.inviter).await? else { return invalid() };
        let mut devices = Vec::new();
        for uid in &inv.devices {
            let Some(d) = s.store.device(uid).await?.filter(|d| d.owner == Some(inv.inviter))
            else {
                continue;
            };
            let name = d
                .name_enc
                .as_deref()
                .map(|n| key.open_string(&format!("device-name/{uid}"), n))
                .transpose()?;
            devices.push(name);
        }
        if devices.is_empty() {
            return invalid();
        }
        let inviter = self.nickname_of(inv.inviter).await?;
        Ok(InvitationOffer { inviter, devices, expires_at: inv.expires_at })
    }

    /// Accepts an invitation: the caller becomes a member of each device offered that the
    /// inviter still owns, with the default capabilities. Single use; the inviter is told.
    pub async fn accept_invitation(
        &self,
        p: &Principal,
        token: &str,
    ) -> Result<Vec<String>, CoreError> {
        let s = &self.inner;
        let inv = self.open_invitation(p, token).await?;
        if inv.inviter == p.account_id {
            return Err(CoreError::InvitationOwn);
        }
        if s.vault.active_key(inv.inviter).await?.is_none() {
            return invalid();
        }
        let caps = CapabilitySet::member_default().to_names();
        let shared =
            match s.store.accept_invitation(inv.id, p.account_id, &caps, s.clock.now()).await {
                Ok(shared) => shared,
                Err(DbError::NotFound(_)) => return invalid(),
                Err(e) => return Err(e.into()),
            };
        if !shared.is_empty() {
            let member = self.nickname_of(p.account_id).await?;
            let body = format!(
                "{member} accepted your invitation and can now see {} of your cameras live and \
                 receive their alarms. You can change what they may do, or remove them, in each \
                 camera's Share page.",
                shared.len()
            );
            self.tell_owner(inv.inviter, "Someone joined your Kankan cameras", body).await;
        }
        Ok(shared)
    }

    /// The members of the device of `h` (`share`), with what each is granted.
    pub async fn members(&self, h: &DeviceHandle) -> Result<Vec<MemberView>, CoreError> {
        h.require(Capability::Share)?;
        let s = &self.inner;
        let owner = h.device.owner.ok_or(CoreError::DeviceNotFound)?;
        let grants = s.store.device_members(h.uid(), owner).await?;
        let history = s.store.membership_history(h.uid(), owner, HISTORY_ROWS).await?;
        let mut out: Vec<MemberView> = Vec::new();
        for g in grants {
            let caps =
                CapabilitySet::from_names(&g.capabilities).intersection(CapabilitySet::grantable());
            if let Some(m) = out.iter_mut().find(|m| m.account == g.account_id) {
                m.capabilities = m.capabilities.union(caps);
                continue;
            }
            let joined_at = history
                .iter()
                .find(|e| e.member == Some(g.account_id) && e.action == MembershipAction::Joined)
                .map_or(g.created_at, |e| e.at);
            out.push(MemberView {
                account: g.account_id,
                nickname: self.nickname_of(g.account_id).await?,
                capabilities: caps,
                until: g.expires_at,
                schedule: g.schedule.as_deref().and_then(|j| serde_json::from_str(j).ok()),
                joined_at,
            });
        }
        Ok(out)
    }

    /// Sets what a member may do on the device of `h` (`share`): grantable capabilities only,
    /// optionally until `until` and inside a weekly schedule. The member's streams end when
    /// the change takes anything away.
    pub async fn update_member(
        &self,
        h: &DeviceHandle,
        member: AccountId,
        capabilities: &[String],
        until: Option<Timestamp>,
        schedule: Option<GrantSchedule>,
    ) -> Result<MemberView, CoreError> {
        h.require(Capability::Share)?;
        let s = &self.inner;
        let owner = h.device.owner.ok_or(CoreError::DeviceNotFound)?;
        let caps = grantable_set(capabilities)?;
        let now = s.clock.now();
        if until.is_some_and(|u| u <= now) {
            return Err(CoreError::InvalidShare("until_ms must be in the future".into()));
        }
        if let Some(sc) = &schedule {
            sc.check().map_err(|e| CoreError::InvalidSettings {
                code: e.code(),
                message: e.to_string(),
            })?;
        }
        let before = s.store.device_members(h.uid(), owner).await?;
        let before: Vec<_> = before.into_iter().filter(|g| g.account_id == member).collect();
        if before.is_empty() {
            return Err(CoreError::NotFound("member"));
        }
        let grant = DeviceGrant {
            id: uuid::Uuid::now_v7(),
            uid: h.uid().to_string(),
            account_id: member,
            granted_by: owner,
            capabilities: caps.to_names(),
            created_at: now,
            expires_at: until,
            revoked_at: None,
            schedule: schedule
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(|e| CoreError::Internal(e.to_string()))?,
        };
        if !s.store.replace_member_grant(&grant).await? {
            return Err(CoreError::NotFound("member"));
        }
        let held_before = super::policy::held_from(before.iter(), now);
        let held_after = super::policy::held_from(std::iter::once(&grant), now);
        let boxed = until.is_some() || schedule.is_some();
        if !held_after.covers(held_before) || boxed {
            // What the member's open streams were opened with may be gone: they end, and the
            // member opens them again if still allowed.
            s.revocations
                .revoke(&kankan_core::Revoke::DeviceFor { account: member, uid: h.uid().into() });
        }
        let nickname = self.nickname_of(member).await?;
        self.tell_owner(
            owner,
            "A member's access to your Kankan camera changed",
            format!("What {nickname} may do with one of your cameras was changed."),
        )
        .await;
        let joined_at = self.joined_at(h.uid(), owner, member).await?.unwrap_or(now);
        Ok(MemberView { account: member, nickname, capabilities: caps, until, schedule, joined_at })
    }

    async fn joined_at(
        &self,
        uid: &str,
        owner: AccountId,
        member: AccountId,
    ) -> Result<Option<Timestamp>, CoreError> {
        let history = self.inner.store.membership_history(uid, owner, HISTORY_ROWS).await?;
        Ok(history
            .iter()
            .find(|e| e.member == Some(member) && e.action == MembershipAction::Joined)
            .map(|e| e.at))
    }

    /// Removes a member from the device of `h` (`share`): its access ends at once, open
    /// streams included.
    pub async fn remove_member(
        &self,
        h: &DeviceHandle,
        member: AccountId,
    ) -> Result<(), CoreError> {
        h.require(Capability::Share)?;
        let owner = h.device.owner.ok_or(CoreError::DeviceNotFound)?;
        if !self.end_membership(h.uid(), owner, member, MembershipAction::Removed).await? {
            return Err(CoreError::NotFound("member"));
        }
        let nickname = self.nickname_of(member).await?;
        self.tell_owner(
            owner,
            "A member was removed from your Kankan camera",
            format!("{nickname} no longer has access to one of your cameras."),
        )
        .await;
        Ok(())
    }

    /// The caller leaves a device shared with it; `DeviceNotFound` when it is not a member.
    pub async fn leave(&self, p: &Principal, uid: &str) -> Result<(), CoreError> {
        let s = &self.inner;
        if !super::valid_uid(uid) {
            return Err(CoreError::DeviceNotFound);
        }
        let device = s.store.device(uid).await?.ok_or(CoreError::DeviceNotFound)?;
        let owner = device.owner.ok_or(CoreError::DeviceNotFound)?;
        if owner == p.account_id
            || !self.end_membership(uid, owner, p.account_id, MembershipAction::Left).await?
        {
            return Err(CoreError::DeviceNotFound);
        }
        let nickname = self.nickname_of(p.account_id).await?;
        self.tell_owner(
            owner,
            "A member left your Kankan camera",
            format!("{nickname} left one of the cameras you shared with them."),
        )
        .await;
        Ok(())
    }

    async fn end_membership(
        &self,
        uid: &str,
        owner: AccountId,
        member: AccountId,
        action: MembershipAction,
    ) -> Result<bool, CoreError> {
        let s = &self.inner;
        if !s.store.end_membership(uid, owner, member, action, s.clock.now()).await? {
            return Ok(false);
        }
        s.revocations.revoke(&kankan_core::Revoke::DeviceFor { account: member, uid: uid.into() });
        Ok(true)
    }

    /// The device's membership history (`share`), newest first.
    pub async fn membership_history(
        &self,
        h: &DeviceHandle,
    ) -> Result<Vec<MembershipEntry>, CoreError> {
        h.require(Capability::Share)?;
        let s = &self.inner;
        let owner = h.device.owner.ok_or(CoreError::DeviceNotFound)?;
        let mut out = Vec::new();
        for e in s.store.membership_history(h.uid(), owner, HISTORY_ROWS).await? {
            let member = match e.member {
                Some(m) => Some(self.nickname_of(m).await?),
                None => None,
            };
            out.push(MembershipEntry { at: e.at, action: e.action, member });
        }
        Ok(out)
    }

    /// An account's nickname as others see it ([`NO_NICKNAME`] when it has none, or its key
    /// cannot be opened).
    pub async fn nickname_of(&self, account: AccountId) -> Result<String, CoreError> {
        let s = &self.inner;
        let Some(a) = s.store.account(account).await? else { return Ok(NO_NICKNAME.into()) };
        let Some(enc) = a.nickname_enc.as_deref() else { return Ok(NO_NICKNAME.into()) };
        let key = s.vault.key_of(&a)?;
        Ok(key.open_string("nickname", enc)?)
    }

    /// Queues a notice to the owner's own contact. A notice that cannot be queued is logged:
    /// the change it tells of is stored and in the history.
    pub(super) async fn tell_owner(&self, owner: AccountId, subject: &str, body: String) {
        if let Err(e) = self.try_tell(owner, subject, body).await {
            tracing::warn!(error = %e, "membership notice not queued");
        }
    }

    async fn try_tell(
        &self,
        owner: AccountId,
        subject: &str,
        body: String,
    ) -> Result<(), CoreError> {
        let s = &self.inner;
        let Some(a) = s.store.account(owner).await? else { return Ok(()) };
        let Some(key) = s.vault.active_key(owner).await? else { return Ok(()) };
        let contact = key.open_string("contact", &a.contact_enc)?;
        let to = Identifier::from_stored(a.contact_kind, contact).recipient();
        s.outbox.enqueue(kankan_notify::Message { to, subject: subject.to_string(), body }).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_grantable_capabilities_are_granted() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let set = grantable_set(&names(&["view", "play-back"])).expect("grantable");
        assert_eq!(set, Capability::View | Capability::PlayBack);
        for never in ["share", "unbind", "manage-recordings"] {
            let e = grantable_set(&names(&["view", never])).expect_err("never grantable");
            assert_eq!(e.code(), "capability-not-grantable");
        }
        assert_eq!(
            grantable_set(&names(&["teleport"])).expect_err("unknown").code(),
            "invalid-share"
        );
        assert_eq!(grantable_set(&[]).expect_err("empty").code(), "invalid-share");
    }
}
