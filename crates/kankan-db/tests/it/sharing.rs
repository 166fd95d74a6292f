//! The sharing part of the `Store` contract: an invitation is used once, only while pending,
//! with the grants it makes (to devices its inviter still owns) in the same transaction; a
//! member's grant is replaced or ended as one, each change with its history row; unbinding
//! deletes the history with the grants.

use kankan_base::{AccountId, Timestamp};
use kankan_db::{DbError, DeviceGrant, Invitation, MembershipAction};

use crate::devices::{T0, account, bound, device};
use crate::store;

const UID: &str = "KKSHARE01";
const OTHER: &str = "KKSHARE02";

fn invitation(inviter: AccountId, devices: &[&str], hash: u8) -> Invitation {
    Invitation {
        id: uuid::Uuid::now_v7(),
        token_hash: [hash; 32],
        inviter,
        devices: devices.iter().map(|d| d.to_string()).collect(),
        bound_index: None,
        created_at: T0,
        expires_at: Timestamp(T0.0 + 3_600_000),
        used_at: None,
        used_by: None,
        revoked_at: None,
    }
}

fn actions(h: &[kankan_db::MembershipEvent]) -> Vec<(MembershipAction, Option<AccountId>)> {
    h.iter().map(|e| (e.action, e.member)).collect()
}

#[tokio::test]
async fn an_invitation_is_accepted_once_and_shares_only_what_its_inviter_still_owns() {
    let (s, _dir) = store().await;
    let (alice, bob, carol) = (account(&*s, 1).await, account(&*s, 2).await, account(&*s, 3).await);
    bound(&*s, UID, alice).await;
    // Carol's device (bound with a token of its own).
    s.insert_devices(&[device(OTHER)]).await.expect("device");
    let token = kankan_db::BindToken {
        token_hash: [8; 32],
        account_id: carol,
        uid: OTHER.into(),
        created_at: T0,
        expires_at: Timestamp(T0.0 + 600_000),
    };
    s.insert_bind_token(&token).await.expect("token");
    s.claim_device(&[8; 32], OTHER, T0).await.expect("bind");
    let inv = invitation(alice, &[UID, OTHER], 1);
    s.insert_invitation(&inv).await.expect("insert");
    assert_eq!(s.invitation_by_token(&[1; 32]).await.expect("q"), Some(inv.clone()));
    assert_eq!(s.pending_invitations(alice, T0).await.expect("q"), vec![inv.clone()]);

    let now = Timestamp(T0.0 + 10);
    let shared = s.accept_invitation(inv.id, bob, "view,view-live", now).await.expect("accept");
    assert_eq!(shared, vec![UID.to_string()], "not the device alice does not own");
    let again = s.accept_invitation(inv.id, carol, "view", now).await;
    assert!(matches!(again, Err(DbError::NotFound("invitation"))), "{again:?}");
    let used = s.invitation_by_token(&[1; 32]).await.expect("q").expect("row");
    assert_eq!((used.used_at, used.used_by), (Some(now), Some(bob)));
    assert!(s.pending_invitations(alice, now).await.expect("q").is_empty());

    let members = s.device_members(UID, alice).await.expect("members");
    assert_eq!(members.len(), 1);
    assert_eq!((members[0].account_id, members[0].capabilities.as_str()), (bob, "view,view-live"));
    assert!(s.device_members(OTHER, carol).await.expect("q").is_empty());
    let history = s.membership_history(UID, alice, 10).await.expect("history");
    assert_eq!(
        actions(&history),
        vec![(MembershipAction::Joined, Some(bob)), (MembershipAction::Invited, None)]
    );
}

#[tokio::test]
async fn an_expired_or_withdrawn_invitation_is_not_accepted() {
    let (s, _dir) = store().await;
    let (alice, bob) = (account(&*s, 1).await, account(&*s, 2).await);
    bound(&*s, UID, alice).await;
    let expiring = invitation(alice, &[UID], 1);
    s.insert_invitation(&expiring).await.expect("insert");
    let late = expiring.expires_at;
    let r = s.accept_invitation(expiring.id, bob, "view", late).await;
    assert!(matches!(r, Err(DbError::NotFound(_))), "{r:?}");
    let withdrawn = invitation(alice, &[UID], 2);
    s.insert_invitation(&withdrawn).await.expect("insert");
    assert!(!s.revoke_invitation(withdrawn.id, bob, T0).await.expect("q"), "only its inviter");
    assert!(s.revoke_invitation(withdrawn.id, alice, T0).await.expect("revoke"));
    assert!(!s.revoke_invitation(withdrawn.id, alice, T0).await.expect("q"), "once");
    let r = s.accept_invitation(withdrawn.id, bob, "view", T0).await;
    assert!(matches!(r, Err(DbError::NotFound(_))), "{r:?}");
    assert!(s.device_members(UID, alice).await.expect("q").is_empty());
}

#[tokio::test]
async fn a_membership_is_replaced_and_ended_as_one_and_unbinding_forgets_it() {
    let (s, _dir) = store().await;
    let (alice, bob) = (account(&*s, 1).await, account(&*s, 2).await);
    bound(&*s, UID, alice).await;
    let inv = invitation(alice, &[UID], 1);
    s.insert_invitation(&inv).await.expect("insert");
    s.accept_invitation(inv.id, bob, "view", T0).await.expect("accept");
    let at = Timestamp(T0.0 + 5);
    let wider = DeviceGrant {
        id: uuid::Uuid::now_v7(),
        uid: UID.into(),
        account_id: bob,
        granted_by: alice,
        capabilities: "view,play-back".into(),
        created_at: at,
        expires_at: Some(Timestamp(T0.0 + 60_000)),
        revoked_at: None,
        schedule: Some(r#"{"time_zone":"UTC","periods":[]}"#.into()),
    };
    assert!(s.replace_member_grant(&wider).await.expect("replace"));
    assert_eq!(s.device_members(UID, alice).await.expect("q"), vec![wider.clone()]);
    assert_eq!(s.device_grants_of(UID, bob, at).await.expect("q"), vec![wider.clone()]);
    // Someone who is not a member, or a granter who does not own the device: nothing stored.
    let carol = account(&*s, 3).await;
    let stranger = DeviceGrant { id: uuid::Uuid::now_v7(), account_id: carol, ..wider.clone() };
    assert!(!s.replace_member_grant(&stranger).await.expect("q"));
    let usurper = DeviceGrant { id: uuid::Uuid::now_v7(), granted_by: carol, ..wider.clone() };
    assert!(!s.replace_member_grant(&usurper).await.expect("q"));

    let later = Timestamp(T0.0 + 9);
    assert!(s.end_membership(UID, alice, bob, MembershipAction::Left, later).await.expect("end"));
    assert!(!s.end_membership(UID, alice, bob, MembershipAction::Removed, later).await.expect("q"));
    assert!(s.device_members(UID, alice).await.expect("q").is_empty());
    assert!(s.device_grants_of(UID, bob, later).await.expect("q").is_empty());
    let history = s.membership_history(UID, alice, 10).await.expect("history");
    assert_eq!(
        actions(&history),
        vec![
            (MembershipAction::Left, Some(bob)),
            (MembershipAction::Changed, Some(bob)),
            (MembershipAction::Joined, Some(bob)),
            (MembershipAction::Invited, None),
        ]
    );
    assert!(s.unbind_device(UID, alice).await.expect("unbind"));
    assert!(s.membership_history(UID, alice, 10).await.expect("q").is_empty());
}

/// Fails without the fix: accepting a second invitation replaced the member's grant with the
/// defaults, taking back what the owner had granted without the owner's say.
#[tokio::test]
async fn a_member_accepting_again_keeps_what_the_owner_granted() {
    let (s, _dir) = store().await;
    let (alice, bob) = (account(&*s, 1).await, account(&*s, 2).await);
    bound(&*s, UID, alice).await;
    let first = invitation(alice, &[UID], 1);
    s.insert_invitation(&first).await.expect("insert");
    s.accept_invitation(first.id, bob, "view", T0).await.expect("accept");
    let wider = DeviceGrant {
        id: uuid::Uuid::now_v7(),
        uid: UID.into(),
        account_id: bob,
        granted_by: alice,
        capabilities: "view,play-back".into(),
        created_at: Timestamp(T0.0 + 5),
        expires_at: None,
        revoked_at: None,
        schedule: None,
    };
    assert!(s.replace_member_grant(&wider).await.expect("replace"));
    let second = invitation(alice, &[UID], 2);
    s.insert_invitation(&second).await.expect("insert");
    let now = Timestamp(T0.0 + 10);
    let shared = s.accept_invitation(second.id, bob, "view", now).await.expect("accept");
    assert_eq!(shared, vec![UID.to_string()]);
    assert_eq!(s.device_grants_of(UID, bob, now).await.expect("q"), vec![wider]);
}
