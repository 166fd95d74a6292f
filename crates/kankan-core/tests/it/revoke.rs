//! The registry of open streams: what each revocation ends, and what it leaves running.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kankan_base::{AccountId, SessionId, SimClock};
use kankan_core::authz::{Capability, CapabilitySet};
use kankan_core::{CoreError, DeviceAccess, Revocations, Revoke, StreamGuard, StreamScope};
use kankan_db::{SqlStore, Store};

async fn registry() -> (Revocations, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let url = kankan_db::testing::fresh_database_url(dir.path()).await.expect("database");
    let store = Arc::new(SqlStore::open(&url).await.expect("open"));
    store.migrate().await.expect("migrate");
    (Revocations::new(store, Arc::new(SimClock::new())), dir)
}

fn scope(account: AccountId, session: SessionId, device: Option<&str>) -> StreamScope {
    let need = CapabilitySet::from(Capability::ViewLive);
    StreamScope { account, session, device: device.map(str::to_string), need }
}

/// Ends within five seconds (it should at once), or panics.
async fn ends(g: &mut StreamGuard) {
    tokio::time::timeout(Duration::from_secs(5), g.revoked()).await.expect("stream revoked");
}

#[tokio::test]
async fn each_revocation_ends_exactly_the_streams_it_covers() {
    let (r, _d) = registry().await;
    let (alice, bob) = (AccountId::new(), AccountId::new());
    let (a1, a2, b1) = (SessionId::new(), SessionId::new(), SessionId::new());
    let cases: Vec<(Revoke, [bool; 5])> = vec![
        (Revoke::Session { account: alice, session: a1 }, [true, true, false, false, false]),
        (Revoke::Account { account: alice, except: Some(a1) }, [false, false, true, false, false]),
        (Revoke::Account { account: alice, except: None }, [true, true, true, false, false]),
        (Revoke::Device { uid: "KKCAM1".into() }, [true, false, true, true, false]),
        (
            Revoke::DeviceFor { account: bob, uid: "KKCAM1".into() },
            [false, false, false, true, false],
        ),
    ];
    for (what, expect) in cases {
        let guards = [
            r.register(scope(alice, a1, Some("KKCAM1"))),
            r.register(scope(alice, a1, None)),
            r.register(scope(alice, a2, Some("KKCAM1"))),
            r.register(scope(bob, b1, Some("KKCAM1"))),
            r.register(scope(bob, b1, Some("KKCAM2"))),
        ];
        let n = r.revoke(&what);
        let got: Vec<bool> = guards.iter().map(StreamGuard::is_revoked).collect();
        assert_eq!(got, expect, "{what:?}");
        assert_eq!(n, expect.iter().filter(|x| **x).count(), "{what:?}");
        for (mut g, hit) in guards.into_iter().zip(expect) {
            if hit {
                ends(&mut g).await;
            }
        }
        assert_eq!(r.open_streams(), 0, "dropped guards unregister");
    }
}

#[tokio::test]
async fn the_sweep_ends_streams_whose_session_is_not_live_in_the_store() {
    // A session that exists in no store (revoked by another process, say) is not live.
    let (r, _d) = registry().await;
    let mut g = r.register(scope(AccountId::new(), SessionId::new(), Some("KKCAM1")));
    assert_eq!(r.sweep().await.expect("sweep"), 1);
    ends(&mut g).await;
    assert_eq!(r.sweep().await.expect("sweep"), 0, "a stream is ended once");
}

/// A device decision that answers from a table (what each account holds on each device) and
/// counts the questions it is asked.
#[derive(Default)]
struct Table {
    held: HashMap<(AccountId, String), CapabilitySet>,
    asked: Mutex<Vec<(AccountId, String, CapabilitySet)>>,
}

#[async_trait::async_trait]
impl DeviceAccess for Table {
    async fn holds(
        &self,
        account: AccountId,
        uid: &str,
        need: CapabilitySet,
    ) -> Result<bool, CoreError> {
        self.asked.lock().expect("lock").push((account, uid.to_string(), need));
        let held = self.held.get(&(account, uid.to_string())).copied().unwrap_or_default();
        Ok(!need.is_empty() && held.covers(need))
    }
}

#[tokio::test]
async fn the_sweep_ends_the_streams_whose_account_no_longer_holds_what_they_need() {
    let (r, _d) = registry().await;
    let (owner, member) = (AccountId::new(), AccountId::new());
    let (o, m) = (SessionId::new(), SessionId::new());
    let live = CapabilitySet::from(Capability::ViewLive);
    let talk = live.union(Capability::Talk.into());
    let on = |account, session, uid: Option<&str>, need| StreamScope {
        account,
        session,
        device: uid.map(str::to_string),
        need,
    };
    // The member kept live view on KKCAM1 but lost talk; its time box on KKCAM2 has passed.
    let access = Table {
        held: HashMap::from([
            ((owner, "KKCAM1".to_string()), CapabilitySet::all()),
            ((member, "KKCAM1".to_string()), CapabilitySet::member_default()),
        ]),
        ..Table::default()
    };
    let guards = [
        r.register(on(owner, o, Some("KKCAM1"), live)),
        r.register(on(owner, o, Some("KKCAM1"), talk)),
        r.register(on(owner, o, Some("KKCAM1"), live)),
        r.register(on(member, m, Some("KKCAM1"), live)),
        r.register(on(member, m, Some("KKCAM1"), talk)),
        r.register(on(member, m, Some("KKCAM2"), live)),
        r.register(on(member, m, None, CapabilitySet::EMPTY)),
    ];
    assert_eq!(r.sweep_access(&access).await.expect("sweep"), 2);
    let got: Vec<bool> = guards.iter().map(StreamGuard::is_revoked).collect();
    assert_eq!(got, [false, false, false, false, true, true, false]);
    // The owner's three streams on one device cost one question, with what they need together.
    let asked = access.asked.lock().expect("lock").clone();
    let owners: Vec<_> = asked.iter().filter(|(a, _, _)| *a == owner).collect();
    assert_eq!(owners, [&(owner, "KKCAM1".to_string(), talk)]);
    // The member's: one on each device, then one per need where that was refused.
    assert_eq!(asked.len(), 1 + 3 + 1, "{asked:?}");
    assert!(asked.iter().all(|(_, _, need)| !need.is_empty()), "the event stream is not asked");
    assert_eq!(r.sweep_access(&access).await.expect("sweep"), 0, "a stream is ended once");
    for (mut g, hit) in guards.into_iter().zip(got) {
        if hit {
            ends(&mut g).await;
        }
    }
}
