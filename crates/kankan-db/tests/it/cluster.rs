//! What several nodes share through the store: throttle windows, leases, dispatch claims and
//! notes (`ClusterStore`, `NotifyStore::claim_event_dispatch`).

use std::time::Duration;

use kankan_base::Timestamp;
use kankan_db::{Engine, Event, EventKind, RateWindow};

use crate::devices::{T0, account, bound};
use crate::store;

const MIN: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_throttle_window_counts_until_it_ends_then_starts_again() {
    let (s, _d) = store().await;
    let at = |ms: i64| Timestamp(T0.0 + ms);
    let count = |key: &'static str, ms: i64| {
        let s = s.clone();
        async move { s.count_request(key, at(ms), MIN).await.expect("count") }
    };
    assert_eq!(count("k/60", 0).await, RateWindow { count: 1, ends_at: at(60_000) });
    assert_eq!(count("k/60", 59_999).await, RateWindow { count: 2, ends_at: at(60_000) });
    assert_eq!(count("other/60", 10).await.count, 1, "keys are independent");
    assert_eq!(count("k/60", 60_000).await, RateWindow { count: 1, ends_at: at(120_000) });
    assert_eq!(s.sweep_rate_windows(at(70_000)).await.expect("sweep"), 1, "other's ended");
    assert_eq!(count("k/60", 70_000).await.count, 2, "a live window survives the sweep");
}

#[tokio::test]
async fn concurrent_requests_are_each_counted_once() {
    let (s, _d) = store().await;
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { s.count_request("burst/60", T0, MIN).await.expect("count") })
        })
        .collect();
    let mut counts = Vec::new();
    for t in tasks {
        counts.push(t.await.expect("task").count);
    }
    counts.sort_unstable();
    assert_eq!(counts, (1..=20).collect::<Vec<u32>>(), "no two requests saw the same count");
}

#[tokio::test]
async fn a_lease_is_held_by_one_node_until_it_lapses_or_is_released() {
    let (s, _d) = store().await;
    let ttl = Duration::from_secs(30);
    let hold = |who: &'static str, ms: i64| {
        let s = s.clone();
        async move { s.hold_lease("retention", who, Timestamp(T0.0 + ms), ttl).await.expect("hold") }
    };
    assert!(hold("a", 0).await, "free: taken");
    assert!(!hold("b", 1_000).await, "held by a");
    assert!(hold("a", 20_000).await, "renewed until 50 s");
    assert!(!hold("b", 49_999).await, "still a's");
    assert!(hold("b", 50_000).await, "lapsed: b takes it over");
    assert!(!hold("a", 50_001).await, "a lost it");
    s.release_lease("retention", "a").await.expect("a's release does nothing");
    assert!(!hold("a", 50_002).await);
    s.release_lease("retention", "b").await.expect("release");
    assert!(hold("a", 50_003).await, "released: taken at once");
}

fn event(owner: kankan_base::AccountId) -> Event {
    Event {
        id: uuid::Uuid::now_v7(),
        account_id: owner,
        uid: "KKCLUSTER001".into(),
        kind: EventKind::Motion,
        started_at: T0,
        ended_at: None,
        zone: None,
        read_at: None,
        created_at: T0,
        clip_from: T0,
        clip_to: T0,
        thumbnail: false,
        verdict: None,
        hold_alert: false,
        sighting: None,
    }
}

#[tokio::test]
async fn one_dispatcher_at_a_time_claims_an_event_and_none_once_it_is_dispatched() {
    let (s, _d) = store().await;
    let a = account(s.as_ref(), 1).await;
    bound(s.as_ref(), "KKCLUSTER001", a).await;
    let e = event(a);
    s.record_event(&e).await.expect("record");
    let at = |ms: i64| Timestamp(T0.0 + ms);
    assert!(s.claim_event_dispatch(e.id, at(0), at(60_000)).await.expect("claim"));
    assert!(!s.claim_event_dispatch(e.id, at(1), at(60_001)).await.expect("held"));
    assert!(s.claim_event_dispatch(e.id, at(60_000), at(120_000)).await.expect("lapsed"));
    s.release_event_dispatch(e.id).await.expect("release");
    assert!(s.claim_event_dispatch(e.id, at(60_001), at(120_001)).await.expect("released"));
    assert!(s.mark_event_dispatched(e.id, at(60_002)).await.expect("mark"));
    assert!(!s.claim_event_dispatch(e.id, at(200_000), at(260_000)).await.expect("dispatched"));
}

#[tokio::test]
async fn notes_reach_listeners_on_postgresql_and_nothing_listens_on_sqlite() {
    let (s, _d) = store().await;
    let Some(mut feed) = s.listen("kankan_test").await.expect("listen") else {
        assert_eq!(kankan_db::testing::engine(), Engine::Sqlite);
        assert!(!s.is_shared());
        s.announce("kankan_test", "nobody hears this").await.expect("a no-op");
        return;
    };
    assert!(s.is_shared());
    s.announce("kankan_test", "n1 hello").await.expect("announce");
    let note = tokio::time::timeout(Duration::from_secs(10), feed.next()).await.expect("in time");
    assert_eq!(note.expect("read").as_deref(), Some("n1 hello"));
}
