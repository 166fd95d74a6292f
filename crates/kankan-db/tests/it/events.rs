//! Event rows: a start and its end make one row, redelivery changes nothing, and every read
//! and write is scoped to the owning account.

use kankan_base::Timestamp;
use kankan_db::{Event, EventKind};

use crate::devices::{T0, account};
use crate::store;

fn motion(owner: kankan_base::AccountId, start_s: i64, end_s: Option<i64>) -> Event {
    Event {
        id: uuid::Uuid::now_v7(),
        account_id: owner,
        uid: "KKEVENTS0001".into(),
        kind: EventKind::Motion,
        started_at: Timestamp(T0.0 + start_s * 1000),
        ended_at: end_s.map(|e| Timestamp(T0.0 + e * 1000)),
        zone: Some(1),
        read_at: None,
        created_at: T0,
    }
}

#[tokio::test]
async fn a_start_and_its_end_make_one_row_and_redelivery_changes_nothing() {
    let (s, _d) = store().await;
    let owner = account(s.as_ref(), 1).await;
    let far = Timestamp(i64::MAX / 2);
    s.record_event(&motion(owner, 10, None)).await.expect("start");
    s.record_event(&motion(owner, 10, None)).await.expect("start again");
    s.record_event(&motion(owner, 10, Some(25))).await.expect("end");
    s.record_event(&motion(owner, 30, None)).await.expect("next");
    let list = s.events(owner, None, far, 10).await.expect("list");
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0].started_at, Timestamp(T0.0 + 30_000), "newest first");
    assert_eq!(list[1].ended_at, Some(Timestamp(T0.0 + 25_000)));
    let older = s.events(owner, Some("KKEVENTS0001"), list[0].started_at, 10).await.expect("page");
    assert_eq!(older.len(), 1, "a page before the newest");
    assert!(s.events(owner, Some("KKOTHER00001"), far, 10).await.expect("other").is_empty());
}

#[tokio::test]
async fn only_the_owner_reads_marks_and_deletes_and_old_events_expire() {
    let (s, _d) = store().await;
    let (owner, other) = (account(s.as_ref(), 1).await, account(s.as_ref(), 2).await);
    let far = Timestamp(i64::MAX / 2);
    s.record_event(&motion(owner, 10, Some(12))).await.expect("old");
    s.record_event(&motion(owner, 100, None)).await.expect("new");
    let id = s.events(owner, None, far, 10).await.expect("list")[0].id;
    assert!(s.events(other, None, far, 10).await.expect("other").is_empty());
    assert!(!s.mark_event_read(other, id, T0).await.expect("other marks"));
    assert!(!s.delete_event(other, id).await.expect("other deletes"));
    assert!(s.mark_event_read(owner, id, Timestamp(T0.0 + 5)).await.expect("mark"));
    assert_eq!(
        s.events(owner, None, far, 1).await.expect("l")[0].read_at,
        Some(Timestamp(T0.0 + 5))
    );
    assert_eq!(s.expire_events(Timestamp(T0.0 + 50_000)).await.expect("expire"), 1);
    assert!(s.delete_event(owner, id).await.expect("delete"));
    assert!(s.events(owner, None, far, 10).await.expect("empty").is_empty());
}
