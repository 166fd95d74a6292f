//! Familiar faces in the store: a face and its first sighting are one insert under the
//! account's cap, a sighting moves the last sighting forward, deleting a face (or its event,
//! or every face of the account) takes its sightings with it, the sweep deletes only unnamed
//! faces last seen before its limit, and every read is scoped to the account.

use kankan_base::{AccountId, Timestamp};
use kankan_db::{Event, EventKind, FaceRow, FaceSighting, Recorded, Store};

use crate::devices::{T0, account, bound};
use crate::store;

const UID: &str = "KKFACES00001";

fn at(s: i64) -> Timestamp {
    Timestamp(T0.0 + s * 1000)
}

async fn event(s: &dyn Store, owner: AccountId, start_s: i64) -> Event {
    let e = Event {
        id: uuid::Uuid::now_v7(),
        account_id: owner,
        uid: UID.into(),
        kind: EventKind::Motion,
        started_at: at(start_s),
        ended_at: None,
        zone: None,
        read_at: None,
        created_at: at(start_s),
        clip_from: at(start_s - 5),
        clip_to: at(start_s + 2),
        thumbnail: false,
        level_db: None,
        verdict: None,
        hold_alert: false,
        sighting: None,
    };
    match s.record_event(&e).await.expect("event") {
        Recorded::New(e) => e,
        other => panic!("not recorded: {other:?}"),
    }
}

fn face(owner: AccountId, seen_s: i64) -> FaceRow {
    FaceRow {
        id: uuid::Uuid::now_v7(),
        account_id: owner,
        template_enc: vec![1; 540],
        name_enc: None,
        relation: None,
        first_seen: at(seen_s),
        last_seen: at(seen_s),
        created_at: at(seen_s),
    }
}

fn sighting(f: &FaceRow, e: &Event, seen_s: i64) -> FaceSighting {
    FaceSighting {
        id: uuid::Uuid::now_v7(),
        face_id: f.id,
        account_id: f.account_id,
        event_id: e.id,
        uid: e.uid.clone(),
        seen_at: at(seen_s),
    }
}

async fn owner(s: &dyn Store, n: u8) -> AccountId {
    let a = account(s, n).await;
    bound(s, UID, a).await;
    a
}

#[tokio::test]
async fn a_face_is_stored_with_its_first_sighting_and_sightings_move_it_forward() {
    let (s, _d) = store().await;
    let alice = owner(&*s, 1).await;
    let e1 = event(&*s, alice, 10).await;
    let f = face(alice, 10);
    let first = sighting(&f, &e1, 10);
    assert!(s.insert_face(&f, &first, &[9; 70], 10).await.expect("insert"));
    assert_eq!(s.face(alice, f.id).await.expect("q"), Some(f.clone()));
    let e2 = event(&*s, alice, 100).await;
    let second = sighting(&f, &e2, 100);
    assert!(s.add_face_sighting(&second, &[8; 70]).await.expect("add"));
    let back = s.face(alice, f.id).await.expect("q").expect("there");
    assert_eq!((back.first_seen, back.last_seen), (at(10), at(100)));
    // An older sighting arriving late does not move it back.
    assert!(s.add_face_sighting(&sighting(&f, &e1, 50), &[7; 70]).await.expect("add"));
    assert_eq!(s.face(alice, f.id).await.expect("q").expect("there").last_seen, at(100));
    let seen = s.face_sightings_since(alice, at(60), 10).await.expect("since");
    assert_eq!(seen.iter().map(|x| x.id).collect::<Vec<_>>(), [second.id], "only those since");
    let (latest, crop) = s.latest_face_crop(alice, f.id).await.expect("q").expect("crop");
    assert_eq!((latest.id, crop), (second.id, vec![8; 70]));
    let (one, crop) = s.face_sighting(alice, first.id).await.expect("q").expect("one");
    assert_eq!((one, crop), (first, vec![9; 70]));
    assert_eq!(s.face_of_event(alice, e2.id).await.expect("q").map(|f| f.id), Some(f.id));
}

#[tokio::test]
async fn the_cap_refuses_a_new_face_and_stores_nothing() {
    let (s, _d) = store().await;
    let alice = owner(&*s, 1).await;
    let e = event(&*s, alice, 10).await;
    for _ in 0..2 {
        let f = face(alice, 10);
        assert!(s.insert_face(&f, &sighting(&f, &e, 10), &[1], 2).await.expect("insert"));
    }
    let extra = face(alice, 11);
    let refused = s.insert_face(&extra, &sighting(&extra, &e, 11), &[1], 2).await;
    assert!(!refused.expect("insert"), "the third is over the cap");
    assert_eq!(s.faces_of(alice).await.expect("list").len(), 2);
    assert!(s.face(alice, extra.id).await.expect("q").is_none());
    assert_eq!(s.face_sightings_since(alice, T0, 10).await.expect("q").len(), 2);
}

#[tokio::test]
async fn deleting_a_face_its_event_or_all_faces_takes_the_sightings_with_them() {
    let (s, _d) = store().await;
    let alice = owner(&*s, 1).await;
    let e = event(&*s, alice, 10).await;
    let f = face(alice, 10);
    let g = face(alice, 12);
    s.insert_face(&f, &sighting(&f, &e, 10), &[1], 10).await.expect("insert");
    s.insert_face(&g, &sighting(&g, &e, 12), &[2], 10).await.expect("insert");
    assert!(s.delete_face(alice, f.id).await.expect("delete"));
    assert!(s.latest_face_crop(alice, f.id).await.expect("q").is_none(), "sightings gone");
    assert!(!s.delete_face(alice, f.id).await.expect("again"), "already gone");
    assert!(s.delete_event(alice, e.id, at(20)).await.expect("delete event"));
    assert!(s.latest_face_crop(alice, g.id).await.expect("q").is_none(), "with its event");
    assert!(s.face(alice, g.id).await.expect("q").is_some(), "the face stays");
    assert_eq!(s.delete_faces_of(alice).await.expect("all"), 1);
    assert!(s.faces_of(alice).await.expect("list").is_empty());
}

#[tokio::test]
async fn the_sweep_deletes_only_unnamed_faces_last_seen_before_its_limit() {
    let (s, _d) = store().await;
    let alice = owner(&*s, 1).await;
    let e = event(&*s, alice, 10).await;
    let old = face(alice, 10);
    let named = face(alice, 10);
    let recent = face(alice, 500);
    for f in [&old, &named, &recent] {
        s.insert_face(f, &sighting(f, &e, 10), &[1], 10).await.expect("insert");
    }
    assert!(s.name_face(alice, named.id, Some(&[5; 40]), Some("family")).await.expect("name"));
    assert_eq!(s.delete_unnamed_faces_before(at(400)).await.expect("sweep"), 1);
    let left: Vec<_> = s.faces_of(alice).await.expect("list").into_iter().map(|f| f.id).collect();
    assert_eq!(left, [recent.id, named.id]);
    let n = s.face(alice, named.id).await.expect("q").expect("named");
    assert_eq!((n.name_enc, n.relation.as_deref()), (Some(vec![5; 40]), Some("family")));
    // Unnaming makes it sweepable again.
    assert!(s.name_face(alice, named.id, None, None).await.expect("unname"));
    assert_eq!(s.delete_unnamed_faces_before(at(400)).await.expect("sweep"), 1);
}

#[tokio::test]
async fn another_account_neither_sees_names_nor_deletes_a_face() {
    let (s, _d) = store().await;
    let alice = owner(&*s, 1).await;
    let bob = account(&*s, 2).await;
    let e = event(&*s, alice, 10).await;
    let f = face(alice, 10);
    let first = sighting(&f, &e, 10);
    s.insert_face(&f, &first, &[1], 10).await.expect("insert");
    assert!(s.faces_of(bob).await.expect("list").is_empty());
    assert!(s.face(bob, f.id).await.expect("q").is_none());
    assert!(!s.name_face(bob, f.id, Some(&[1]), None).await.expect("name"));
    assert!(!s.delete_face(bob, f.id).await.expect("delete"));
    assert_eq!(s.delete_faces_of(bob).await.expect("all"), 0);
    assert!(s.face_sighting(bob, first.id).await.expect("q").is_none());
    assert!(s.latest_face_crop(bob, f.id).await.expect("q").is_none());
    assert!(s.face_sightings_since(bob, T0, 10).await.expect("q").is_empty());
    assert!(s.face_of_event(bob, e.id).await.expect("q").is_none());
    let mut theirs = sighting(&f, &e, 20);
    theirs.account_id = bob;
    assert!(!s.add_face_sighting(&theirs, &[1]).await.expect("add"), "not bob's face");
    assert!(s.face(alice, f.id).await.expect("q").is_some());
}
