//! The device grant part of the `Store` contract: stored, counted only while live (not
//! expired, not revoked), deleted with the device's unbinding.

use kankan_base::{AccountId, Timestamp};
use kankan_db::DeviceGrant;

use crate::devices::{T0, account, bound};
use crate::store;

const UID: &str = "KKGRANT01";

fn grant(uid: &str, to: AccountId, by: AccountId, expires: Option<i64>) -> DeviceGrant {
    DeviceGrant {
        id: uuid::Uuid::now_v7(),
        uid: uid.into(),
        account_id: to,
        granted_by: by,
        capabilities: "view-live,play-back".into(),
        created_at: T0,
        expires_at: expires.map(|ms| Timestamp(T0.0 + ms)),
        revoked_at: None,
        schedule: None,
    }
}

#[tokio::test]
async fn grants_count_until_they_expire_or_are_revoked() {
    let (s, _dir) = store().await;
    let (alice, bob, carol) = (account(&*s, 1).await, account(&*s, 2).await, account(&*s, 3).await);
    bound(&*s, UID, alice).await;
    let lasting = grant(UID, bob, alice, None);
    let mut brief = grant(UID, bob, alice, Some(60_000));
    brief.created_at = Timestamp(T0.0 + 1);
    s.insert_device_grant(&lasting).await.expect("insert");
    s.insert_device_grant(&brief).await.expect("insert");
    s.insert_device_grant(&grant(UID, carol, alice, None)).await.expect("insert");

    let now = s.device_grants_of(UID, bob, T0).await.expect("q");
    assert_eq!(now, vec![lasting.clone(), brief.clone()], "oldest first");
    let later = s.device_grants_of(UID, bob, Timestamp(T0.0 + 60_000)).await.expect("q");
    assert_eq!(later, vec![lasting.clone()], "expired at expires_at_ms");

    assert!(s.revoke_device_grant(lasting.id, Timestamp(T0.0 + 1)).await.expect("revoke"));
    assert!(!s.revoke_device_grant(lasting.id, Timestamp(T0.0 + 2)).await.expect("q"), "once");
    assert_eq!(s.device_grants_of(UID, bob, Timestamp(T0.0 + 2)).await.expect("q"), vec![brief]);
    assert_eq!(s.device_grants_of(UID, carol, T0).await.expect("q").len(), 1);
}

#[tokio::test]
async fn unbinding_deletes_the_devices_grants() {
    let (s, _dir) = store().await;
    let (alice, bob) = (account(&*s, 1).await, account(&*s, 2).await);
    bound(&*s, UID, alice).await;
    s.insert_device_grant(&grant(UID, bob, alice, None)).await.expect("insert");
    assert!(s.unbind_device(UID, alice).await.expect("unbind"));
    assert!(s.device_grants_of(UID, bob, T0).await.expect("q").is_empty());
}
