//! The access log part of the `Store` contract: repeats within the window are one row, each
//! owner reads only their own period of the device, old rows expire, unbinding deletes them.

use kankan_base::{AccountId, Timestamp};
use kankan_db::DeviceAccess;

use crate::devices::{T0, account, bound};
use crate::store;

const UID: &str = "KKACCESS1";

fn access(owner: AccountId, who: AccountId, kind: &str, at: i64) -> DeviceAccess {
    DeviceAccess {
        uid: UID.into(),
        owner,
        account: who,
        kind: kind.into(),
        at: Timestamp(T0.0 + at),
    }
}

#[tokio::test]
async fn repeats_are_one_row_and_the_log_reads_newest_first() {
    let (s, _dir) = store().await;
    let (alice, bob) = (account(&*s, 1).await, account(&*s, 2).await);
    bound(&*s, UID, alice).await;
    let since = |at: i64| Timestamp(T0.0 + at - 300_000 + 1);
    assert!(s.record_device_access(&access(alice, bob, "live", 0), since(0)).await.expect("q"));
    assert!(!s.record_device_access(&access(alice, bob, "live", 10), since(10)).await.expect("q"));
    assert!(s.record_device_access(&access(alice, bob, "talk", 20), since(20)).await.expect("q"));
    assert!(s.record_device_access(&access(alice, alice, "live", 30), since(30)).await.expect("q"));
    let later = 300_000;
    assert!(
        s.record_device_access(&access(alice, bob, "live", later), since(later)).await.expect("q")
    );
    let log = s.device_access_log(UID, alice, T0, 100).await.expect("log");
    let got: Vec<_> = log.iter().map(|a| (a.account, a.kind.as_str(), a.at.0 - T0.0)).collect();
    assert_eq!(
        got,
        vec![(bob, "live", later), (alice, "live", 30), (bob, "talk", 20), (bob, "live", 0)]
    );
    assert_eq!(
        s.device_access_log(UID, alice, Timestamp(T0.0 + 21), 100).await.expect("q").len(),
        2
    );
    assert_eq!(s.device_access_log(UID, alice, T0, 1).await.expect("q").len(), 1, "the limit");
    assert!(s.device_access_log(UID, bob, T0, 100).await.expect("q").is_empty(), "the owner's");

    assert_eq!(s.expire_device_access(Timestamp(T0.0 + 21)).await.expect("expire"), 2);
    assert_eq!(s.device_access_log(UID, alice, T0, 100).await.expect("q").len(), 2);
}

#[tokio::test]
async fn unbinding_deletes_the_devices_access_log() {
    let (s, _dir) = store().await;
    let (alice, bob) = (account(&*s, 1).await, account(&*s, 2).await);
    bound(&*s, UID, alice).await;
    s.record_device_access(&access(alice, bob, "playback", 0), T0).await.expect("q");
    assert!(s.unbind_device(UID, alice).await.expect("unbind"));
    assert!(s.device_access_log(UID, alice, T0, 100).await.expect("q").is_empty());
}
