//! Events' AI descriptions: stored only for an event of that account that still exists, one
//! per event, read by event ids, deleted with the event (deleted, expired, the device
//! unbound) and all of an account's at once.

use kankan_base::{AccountId, Timestamp};
use kankan_db::{Event, EventKind, Recorded, Store};

use crate::devices::{T0, account, bound};
use crate::store;

const UID: &str = "KKDESCRIBE01";

async fn new_event(s: &dyn Store, owner: AccountId, start_s: i64) -> Event {
    let at = Timestamp(T0.0 + start_s * 1000);
    let e = Event {
        id: uuid::Uuid::now_v7(),
        account_id: owner,
        uid: UID.into(),
        kind: EventKind::Tamper,
        started_at: at,
        ended_at: Some(at),
        zone: None,
        read_at: None,
        created_at: T0,
        clip_from: at,
        clip_to: at,
        thumbnail: false,
        level_db: None,
        verdict: None,
        hold_alert: false,
        sighting: None,
    };
    let Recorded::New(e) = s.record_event(&e).await.expect("record") else { panic!("new") };
    e
}

#[tokio::test]
async fn a_description_is_kept_for_its_event_only_and_goes_with_it() {
    let (s, _d) = store().await;
    let (owner, other) = (account(s.as_ref(), 1).await, account(s.as_ref(), 2).await);
    bound(s.as_ref(), UID, owner).await;
    let (a, b, c) = (
        new_event(s.as_ref(), owner, 10).await,
        new_event(s.as_ref(), owner, 20).await,
        new_event(s.as_ref(), owner, 30).await,
    );
    assert!(!s.put_event_description(other, a.id, b"x", T0).await.expect("other"), "not theirs");
    for e in [&a, &b, &c] {
        assert!(s.put_event_description(owner, e.id, b"sealed", T0).await.expect("put"));
    }
    assert!(s.put_event_description(owner, a.id, b"newer", T0).await.expect("again"));
    let read = s.event_descriptions(&[a.id, b.id]).await.expect("read");
    assert_eq!(read.len(), 2);
    let first = read.iter().find(|d| d.event_id == a.id).expect("a");
    assert_eq!((first.account_id, first.text_enc.as_slice()), (owner, &b"newer"[..]));
    assert!(s.event_descriptions(&[]).await.expect("none").is_empty());
    let many: Vec<uuid::Uuid> = (0..501).map(|_| uuid::Uuid::now_v7()).collect();
    assert!(s.event_descriptions(&many).await.is_err(), "at most 500 ids");

    // Deleted with its event; a tombstone takes none.
    assert!(s.delete_event(owner, a.id, T0).await.expect("delete"));
    assert!(s.event_descriptions(&[a.id]).await.expect("read").is_empty());
    assert!(!s.put_event_description(owner, a.id, b"late", T0).await.expect("late"));
    // Expired with it.
    s.expire_events(Timestamp(T0.0 + 25_000)).await.expect("expire");
    assert!(s.event_descriptions(&[b.id]).await.expect("read").is_empty());
    assert_eq!(s.count_descriptions_of(owner).await.expect("count"), 1);
    // All of an account's at once.
    assert_eq!(s.delete_descriptions_of(other).await.expect("other"), 0);
    assert_eq!(s.delete_descriptions_of(owner).await.expect("all"), 1);
    assert_eq!(s.count_descriptions_of(owner).await.expect("count"), 0);
}
