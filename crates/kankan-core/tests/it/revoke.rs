//! The registry of open streams: what each revocation ends, and what it leaves running.

use std::sync::Arc;
use std::time::Duration;

use kankan_base::{AccountId, SessionId, SimClock};
use kankan_core::{Revocations, Revoke, StreamGuard, StreamScope};
use kankan_db::{SqlStore, Store};

async fn registry() -> (Revocations, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let url = kankan_db::testing::fresh_database_url(dir.path()).await.expect("database");
    let store = Arc::new(SqlStore::open(&url).await.expect("open"));
    store.migrate().await.expect("migrate");
    (Revocations::new(store, Arc::new(SimClock::new())), dir)
}

fn scope(account: AccountId, session: SessionId, device: Option<&str>) -> StreamScope {
    StreamScope { account, session, device: device.map(str::to_string) }
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
