//! Event rows: a start and its end make one row, redelivery changes nothing, a deleted event
//! stays deleted when its end arrives, thumbnails go with their event, and every read and
//! write is scoped to the owning account.

use kankan_base::{AccountId, Timestamp};
use kankan_db::{Event, EventFilter, EventKind, Recorded, Store};

use crate::devices::{T0, account, bound};
use crate::store;

fn at(s: i64) -> Timestamp {
    Timestamp(T0.0 + s * 1000)
}

fn event(owner: AccountId, kind: EventKind, start_s: i64, end_s: Option<i64>) -> Event {
    Event {
        id: uuid::Uuid::now_v7(),
        account_id: owner,
        uid: "KKEVENTS0001".into(),
        kind,
        started_at: at(start_s),
        ended_at: end_s.map(at),
        zone: Some(1),
        read_at: None,
        created_at: T0,
        clip_from: at(start_s - 5),
        clip_to: at(end_s.unwrap_or(start_s) + 2),
        thumbnail: false,
        verdict: None,
        hold_alert: false,
        sighting: None,
    }
}

fn motion(owner: AccountId, start_s: i64, end_s: Option<i64>) -> Event {
    event(owner, EventKind::Motion, start_s, end_s)
}

/// An account that owns the device the events come from (rows are written only for the
/// device's owner).
async fn owner(s: &dyn Store) -> AccountId {
    let owner = account(s, 1).await;
    bound(s, "KKEVENTS0001", owner).await;
    owner
}

async fn all(s: &dyn Store, owner: AccountId) -> Vec<Event> {
    s.events(owner, &EventFilter::default()).await.expect("list")
}

#[tokio::test]
async fn a_start_and_its_end_make_one_row_and_redelivery_changes_nothing() {
    let (s, _d) = store().await;
    let owner = owner(s.as_ref()).await;
    let Recorded::New(first) = s.record_event(&motion(owner, 10, None)).await.expect("start")
    else {
        panic!("a new row")
    };
    assert_eq!((first.clip_from, first.clip_to), (at(5), at(12)), "5 s pre-roll, 2 s after");
    let again = s.record_event(&motion(owner, 10, None)).await.expect("start again");
    assert!(matches!(again, Recorded::Updated(ref e) if e.id == first.id), "{again:?}");
    let Recorded::Updated(ended) = s.record_event(&motion(owner, 10, Some(25))).await.expect("end")
    else {
        panic!("the same row")
    };
    assert_eq!((ended.id, ended.ended_at, ended.clip_to), (first.id, Some(at(25)), at(27)));
    s.record_event(&motion(owner, 30, None)).await.expect("next");
    let list = all(s.as_ref(), owner).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0].started_at, at(30), "newest first");
    assert_eq!(list[1].ended_at, Some(at(25)));
    let page = EventFilter {
        uid: Some("KKEVENTS0001".into()),
        before: list[0].started_at,
        ..EventFilter::default()
    };
    assert_eq!(s.events(owner, &page).await.expect("page").len(), 1, "a page before the newest");
    let other = EventFilter { uid: Some("KKOTHER00001".into()), ..EventFilter::default() };
    assert!(s.events(owner, &other).await.expect("other").is_empty());
}

#[tokio::test]
async fn events_are_filtered_by_kind_and_time() {
    let (s, _d) = store().await;
    let owner = owner(s.as_ref()).await;
    for (kind, start) in [
        (EventKind::Motion, 10),
        (EventKind::Press, 20),
        (EventKind::Loiter, 30),
        (EventKind::Tamper, 40),
    ] {
        let end = (kind != EventKind::Loiter).then_some(start);
        s.record_event(&event(owner, kind, start, end)).await.expect("record");
    }
    let press = EventFilter { kind: Some(EventKind::Press), ..EventFilter::default() };
    let list = s.events(owner, &press).await.expect("presses");
    assert_eq!(list.iter().map(|e| e.kind).collect::<Vec<_>>(), [EventKind::Press]);
    let window = EventFilter { after: at(20), before: at(40), ..EventFilter::default() };
    let kinds: Vec<_> =
        s.events(owner, &window).await.expect("window").iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [EventKind::Loiter, EventKind::Press], "after is inclusive, before is not");
}

#[tokio::test]
async fn a_deleted_event_stays_deleted_when_its_end_arrives() {
    let (s, _d) = store().await;
    let owner = owner(s.as_ref()).await;
    let Recorded::New(e) = s.record_event(&motion(owner, 10, None)).await.expect("start") else {
        panic!("new")
    };
    assert!(s.put_event_thumbnail(e.id, b"sealed", T0).await.expect("thumb"));
    assert!(s.delete_event(owner, e.id, T0).await.expect("delete"));
    assert_eq!(s.record_event(&motion(owner, 10, Some(20))).await.expect("end"), Recorded::Deleted);
    assert_eq!(s.record_event(&motion(owner, 10, None)).await.expect("again"), Recorded::Deleted);
    assert!(all(s.as_ref(), owner).await.is_empty());
    assert!(s.event(owner, e.id).await.expect("get").is_none());
    assert!(s.event_thumbnail(owner, e.id).await.expect("thumb").is_none(), "gone with it");
    assert!(!s.put_event_thumbnail(e.id, b"late", T0).await.expect("late"), "not stored");
    assert!(!s.mark_event_read(owner, e.id, T0).await.expect("read"));
    assert!(!s.delete_event(owner, e.id, T0).await.expect("twice"));
    assert_eq!(s.expire_events(at(11)).await.expect("expire"), 1, "the sweeper removes it");
}

#[tokio::test]
async fn a_thumbnail_is_stored_once_and_only_its_owner_reads_it() {
    let (s, _d) = store().await;
    let (owner, other) = (owner(s.as_ref()).await, account(s.as_ref(), 2).await);
    let Recorded::New(e) = s.record_event(&motion(owner, 10, None)).await.expect("start") else {
        panic!("new")
    };
    assert!(s.put_event_thumbnail(e.id, b"first", T0).await.expect("put"));
    assert!(!s.put_event_thumbnail(e.id, b"second", T0).await.expect("again"), "the first stays");
    assert_eq!(s.event_thumbnail(owner, e.id).await.expect("get").as_deref(), Some(&b"first"[..]));
    assert!(s.event_thumbnail(other, e.id).await.expect("other").is_none());
    assert!(all(s.as_ref(), owner).await[0].thumbnail);
    assert!(s.event(owner, e.id).await.expect("one").expect("found").thumbnail);
    assert_eq!(s.expire_events(at(11)).await.expect("expire"), 1);
    assert!(s.event_thumbnail(owner, e.id).await.expect("expired").is_none());
}

#[tokio::test]
async fn only_the_owner_reads_marks_and_deletes_and_old_events_expire() {
    let (s, _d) = store().await;
    let (owner, other) = (owner(s.as_ref()).await, account(s.as_ref(), 2).await);
    s.record_event(&motion(owner, 10, Some(12))).await.expect("old");
    s.record_event(&motion(owner, 100, None)).await.expect("new");
    let id = all(s.as_ref(), owner).await[0].id;
    assert!(all(s.as_ref(), other).await.is_empty());
    assert!(s.event(other, id).await.expect("other gets").is_none());
    assert!(!s.mark_event_read(other, id, T0).await.expect("other marks"));
    assert!(!s.delete_event(other, id, T0).await.expect("other deletes"));
    assert!(s.mark_event_read(owner, id, Timestamp(T0.0 + 5)).await.expect("mark"));
    assert_eq!(all(s.as_ref(), owner).await[0].read_at, Some(Timestamp(T0.0 + 5)));
    assert_eq!(s.expire_events(at(50)).await.expect("expire"), 1);
    assert!(s.delete_event(owner, id, T0).await.expect("delete"));
    assert!(all(s.as_ref(), owner).await.is_empty());
}

// Fails without the fix: the rows were keyed by device alone, so an event of the device's
// next owner with the same kind and start completed (and was swallowed by) the previous
// owner's row, and an event racing an unbinding was stored for the previous owner.
#[tokio::test]
async fn rows_are_keyed_by_owner_and_written_only_for_the_current_owner() {
    let (s, _d) = store().await;
    let (first, second) = (owner(s.as_ref()).await, account(s.as_ref(), 2).await);
    let Recorded::New(theirs) = s.record_event(&motion(first, 10, None)).await.expect("first")
    else {
        panic!("new")
    };
    // The device changes hands; a late message for the first owner is not stored.
    assert!(s.unbind_device("KKEVENTS0001", first).await.expect("unbind"));
    assert_eq!(
        s.record_event(&motion(first, 10, Some(20))).await.expect("late"),
        Recorded::Deleted
    );
    assert!(all(s.as_ref(), first).await.is_empty(), "unbinding deleted the first owner's rows");
    let token = kankan_db::BindToken {
        token_hash: [8; 32],
        account_id: second,
        uid: "KKEVENTS0001".into(),
        created_at: T0,
        expires_at: Timestamp(T0.0 + 600_000),
    };
    s.insert_bind_token(&token).await.expect("token");
    s.claim_device(&[8; 32], "KKEVENTS0001", T0).await.expect("rebind");
    let Recorded::New(mine) = s.record_event(&motion(second, 10, None)).await.expect("second")
    else {
        panic!("a new row of the second owner's")
    };
    assert_ne!(mine.id, theirs.id);
    assert_eq!(all(s.as_ref(), second).await.len(), 1);
}

/// The device's events as `viewer` sees them, when the device is shared with it.
async fn seen(s: &dyn Store, viewer: AccountId, owner: AccountId) -> Vec<Event> {
    let shared = [("KKEVENTS0001".to_string(), owner)];
    s.events_seen_by(viewer, &shared, &EventFilter::default()).await.expect("list")
}

#[tokio::test]
async fn a_member_sees_the_shared_devices_events_with_its_own_read_state_and_deletion() {
    let (s, _d) = store().await;
    let (owner, member) = (owner(s.as_ref()).await, account(s.as_ref(), 2).await);
    let other = account(s.as_ref(), 3).await;
    let Recorded::New(a) = s.record_event(&motion(owner, 10, None)).await.expect("a") else {
        panic!("new")
    };
    let Recorded::New(b) = s.record_event(&motion(owner, 20, None)).await.expect("b") else {
        panic!("new")
    };
    // Nothing without the device among the shared ones, or with another owner named.
    assert!(s.events_seen_by(member, &[], &EventFilter::default()).await.expect("q").is_empty());
    let wrong = [("KKEVENTS0001".to_string(), other)];
    assert!(s.events_seen_by(member, &wrong, &EventFilter::default()).await.expect("q").is_empty());
    assert_eq!(seen(s.as_ref(), member, owner).await.len(), 2);

    // Reading is the member's own; the owner's read state is the owner's.
    assert!(s.mark_event_read_as_member(member, a.id, at(30)).await.expect("read"));
    assert!(s.mark_event_read_as_member(member, a.id, at(40)).await.expect("again"));
    let mine = seen(s.as_ref(), member, owner).await;
    assert_eq!((mine[1].id, mine[1].read_at), (a.id, Some(at(30))), "the first time counts");
    assert_eq!(s.event_seen_by(member, a.id).await.expect("one").expect("a").read_at, Some(at(30)));
    assert_eq!(all(s.as_ref(), owner).await[1].read_at, None, "the owner has not read it");
    assert!(s.mark_event_read(owner, b.id, at(50)).await.expect("owner reads"));
    assert_eq!(seen(s.as_ref(), member, owner).await[0].read_at, None, "nor the member b");

    // A member's delete hides it from that member only.
    assert!(s.delete_event_as_member(member, a.id, at(60)).await.expect("delete"));
    assert!(!s.delete_event_as_member(member, a.id, at(61)).await.expect("twice"));
    assert!(!s.mark_event_read_as_member(member, a.id, at(62)).await.expect("read deleted"));
    assert!(s.event_seen_by(member, a.id).await.expect("one").is_none());
    assert_eq!(
        seen(s.as_ref(), member, owner).await.iter().map(|e| e.id).collect::<Vec<_>>(),
        [b.id]
    );
    assert_eq!(all(s.as_ref(), owner).await.len(), 2, "the owner still has both");
    assert_eq!(seen(s.as_ref(), other, owner).await.len(), 2, "another member too");

    // The owner's delete is everyone's.
    assert!(s.delete_event(owner, b.id, at(70)).await.expect("owner deletes"));
    assert!(seen(s.as_ref(), member, owner).await.is_empty());
    assert!(s.event_seen_by(member, b.id).await.expect("one").is_none());
    assert!(!s.mark_event_read_as_member(member, b.id, at(71)).await.expect("tombstone"));
    assert!(!s.mark_event_read_as_member(member, uuid::Uuid::now_v7(), at(71)).await.expect("q"));
}

#[tokio::test]
async fn ending_a_membership_deletes_its_state_records_and_settings_and_unbinding_its_state() {
    let (s, _d) = store().await;
    let (owner, member) = (owner(s.as_ref()).await, account(s.as_ref(), 2).await);
    let Recorded::New(a) = s.record_event(&motion(owner, 10, None)).await.expect("a") else {
        panic!("new")
    };
    let Recorded::New(b) = s.record_event(&motion(owner, 20, None)).await.expect("b") else {
        panic!("new")
    };
    let settings =
        kankan_db::DeviceNotificationRow { kinds: vec!["press".into()], snoozed_until: None };
    s.put_device_notification_settings(member, "KKEVENTS0001", &settings).await.expect("settings");
    s.put_device_notification_settings(owner, "KKEVENTS0001", &settings).await.expect("owner's");
    s.mark_event_read_as_member(member, a.id, at(30)).await.expect("read");
    s.delete_event_as_member(member, b.id, at(30)).await.expect("delete");
    let delivery = |account| kankan_db::Delivery {
        id: uuid::Uuid::now_v7(),
        event_id: a.id,
        account_id: account,
        channel: "push".into(),
        target_id: None,
        attempt: 1,
        status: kankan_db::DeliveryStatus::Sent,
        detail: "sent".into(),
        at: at(31),
    };
    assert!(s.insert_delivery(&delivery(member)).await.expect("member's"));
    assert!(s.insert_delivery(&delivery(owner)).await.expect("owner's"));

    let grant = kankan_db::DeviceGrant {
        id: uuid::Uuid::now_v7(),
        uid: "KKEVENTS0001".into(),
        account_id: member,
        granted_by: owner,
        capabilities: "view,view-live,receive-alarms".into(),
        created_at: at(1),
        expires_at: None,
        revoked_at: None,
        schedule: None,
    };
    s.insert_device_grant(&grant).await.expect("grant");
    let removed = kankan_db::MembershipAction::Removed;
    assert!(s.end_membership("KKEVENTS0001", owner, member, removed, at(32)).await.expect("end"));
    assert!(s.deliveries(member, a.id).await.expect("q").is_empty(), "its records go");
    assert_eq!(s.deliveries(owner, a.id).await.expect("q").len(), 1, "the owner's stay");
    let fresh = seen(s.as_ref(), member, owner).await;
    assert_eq!(fresh.len(), 2, "no state left: both unread and not deleted");
    assert!(fresh.iter().all(|e| e.read_at.is_none()));
    assert!(s.device_notification_settings(member, "KKEVENTS0001").await.expect("q").is_none());
    assert!(
        s.device_notification_settings(owner, "KKEVENTS0001").await.expect("q").is_some(),
        "the owner's settings stay"
    );

    // Unbinding deletes the events with every member's state on them.
    s.mark_event_read_as_member(member, a.id, at(40)).await.expect("read");
    assert!(s.unbind_device("KKEVENTS0001", owner).await.expect("unbind"));
    assert!(seen(s.as_ref(), member, owner).await.is_empty());
    assert!(s.event_seen_by(member, a.id).await.expect("one").is_none());
}
