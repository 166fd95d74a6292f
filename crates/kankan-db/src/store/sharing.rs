//! [`ShareStore`]: invitations to share devices, memberships (the grants they create) and the
//! membership history.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};

use crate::{DbError, DeviceGrant, Invitation, MembershipAction, MembershipEvent};

type R<T> = Result<T, DbError>;

/// Sharing devices with other accounts.
///
/// Invariants: an invitation is accepted at most once, and only while pending (unused,
/// unrevoked, unexpired), in one transaction with the grants it creates, which go only to
/// devices the inviter still owns; a membership is one (device, member) pair of the current
/// owner, whose unrevoked grant row a change replaces in one transaction; every change of a
/// membership writes its history row in the same transaction.
#[async_trait]
pub trait ShareStore: Send + Sync {
    /// Inserts an invitation and an `invited` history row for each device it offers.
    async fn insert_invitation(&self, invitation: &Invitation) -> R<()>;
    async fn invitation_by_token(&self, token_hash: &[u8; 32]) -> R<Option<Invitation>>;
    /// The inviter's invitations pending at `now`, newest first.
    async fn pending_invitations(&self, inviter: AccountId, now: Timestamp) -> R<Vec<Invitation>>;
    /// Revokes the inviter's invitation if it is still pending; false otherwise.
    async fn revoke_invitation(
        &self,
        id: uuid::Uuid,
        inviter: AccountId,
        now: Timestamp,
    ) -> R<bool>;
    /// Uses the invitation for `account` and, for each device it offers that the inviter still
    /// owns, replaces the account's grants from the inviter with one of `capabilities` and
    /// records `joined`; answers the UIDs shared. `NotFound("invitation")` when it is no longer
    /// pending.
    async fn accept_invitation(
        &self,
        id: uuid::Uuid,
        account: AccountId,
        capabilities: &str,
        now: Timestamp,
    ) -> R<Vec<String>>;
    /// The owner's unrevoked grants on the device (its members, whether or not their time box
    /// lets them in now), oldest first.
    async fn device_members(&self, uid: &str, owner: AccountId) -> R<Vec<DeviceGrant>>;
    /// Replaces the member's unrevoked grants from `grant.granted_by` on `grant.uid` with
    /// `grant` and records `changed`. False (nothing stored) when the member has none or the
    /// granter no longer owns the device.
    async fn replace_member_grant(&self, grant: &DeviceGrant) -> R<bool>;
    /// Revokes the member's grants from `owner` on the device and records `action` (`removed`
    /// or `left`); false when there were none.
    async fn end_membership(
        &self,
        uid: &str,
        owner: AccountId,
        member: AccountId,
        action: MembershipAction,
        at: Timestamp,
    ) -> R<bool>;
    /// The device's membership history under `owner`, newest first, at most `limit` rows.
    async fn membership_history(
        &self,
        uid: &str,
        owner: AccountId,
        limit: u32,
    ) -> R<Vec<MembershipEvent>>;
}
