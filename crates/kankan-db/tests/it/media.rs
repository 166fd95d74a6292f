//! The recording part of the `Store` contract: segments, timeline spans, usage, retention,
//! quota eviction, the blob trash, and unbinding.

use kankan_base::{AccountId, BlobId, Timestamp};
use kankan_db::{MediaInit, MediaKey, NewSegment, Span, Store};

use crate::devices::{T0, account, bound};
use crate::store;

pub(crate) const UID: &str = "KKMEDIA0001";

/// A store with one camera bound to an account, its data key and an init segment.
async fn recording_store() -> (std::sync::Arc<dyn Store>, tempfile::TempDir, AccountId, i64) {
    let (s, dir) = store().await;
    let (owner, init) = bind_with_init(s.as_ref()).await;
    (s, dir, owner, init)
}

/// Binds the camera `UID` to a new account and gives it a data key and an init segment.
pub(crate) async fn bind_with_init(s: &dyn Store) -> (AccountId, i64) {
    let owner = account(s, 1).await;
    bound(s, UID, owner).await;
    let key = MediaKey { uid: UID.into(), account_id: owner, key_enc: vec![1; 61], created_at: T0 };
    s.put_media_key(&key).await.expect("key");
    let init = MediaInit {
        id: 0,
        uid: UID.into(),
        digest: vec![2; 32],
        blob: BlobId::new(),
        codecs: "avc1.42c01e".into(),
        width: 320,
        height: 180,
        created_at: T0,
    };
    let init = s.put_media_init(&init).await.expect("init");
    (owner, init.id)
}

fn seg(init: i64, start_s: i64, secs: u32) -> NewSegment {
    NewSegment {
        uid: UID.into(),
        stream: 0,
        init_id: init,
        start: Timestamp(T0.0 + start_s * 1000),
        duration_ms: secs * 1000,
        bytes: 1000,
        frames: secs * 15,
        blob: BlobId::new(),
    }
}

fn span(a: i64, b: i64) -> Span {
    Span { start: Timestamp(T0.0 + a * 1000), end: Timestamp(T0.0 + b * 1000) }
}

async fn spans(s: &dyn Store) -> Vec<Span> {
    s.spans(UID, 0, Timestamp(0), Timestamp(i64::MAX / 2)).await.expect("spans")
}

#[tokio::test]
async fn segments_join_into_spans_and_a_backfill_bridges_a_gap() {
    let (s, _d, owner, init) = recording_store().await;
    for (start, secs) in [(0, 4), (4, 4), (20, 4), (24, 4)] {
        s.insert_segment(&seg(init, start, secs)).await.expect("insert").expect("new");
    }
    assert_eq!(spans(s.as_ref()).await, vec![span(0, 8), span(20, 28)]);
    for start in [8, 12, 16] {
        s.insert_segment(&seg(init, start, 4)).await.expect("insert").expect("new");
    }
    assert_eq!(spans(s.as_ref()).await, vec![span(0, 28)], "the backfill joins both spans");
    assert_eq!(s.media_usage(owner).await.expect("usage").bytes, 7_000);
    assert_eq!(s.insert_segment(&seg(init, 8, 4)).await.expect("insert"), None, "one per start");
    assert_eq!(s.media_usage(owner).await.expect("usage").bytes, 7_000);
}

#[tokio::test]
async fn a_segment_cut_inside_a_gop_is_replaced_whole_in_one_step() {
    let (s, _d, owner, init) = recording_store().await;
    s.insert_segment(&seg(init, 0, 4)).await.expect("insert").expect("new");
    // The upload was cut 1 s into the GOP that starts at 4 s.
    let cut = s.insert_segment(&seg(init, 4, 1)).await.expect("insert").expect("new");
    let whole = seg(init, 4, 4);
    let id = s.replace_segment(cut, &whole, T0).await.expect("replace").expect("new row");
    let left = s.segments(UID, 0, Timestamp(0), Timestamp(i64::MAX / 2), 10).await.expect("list");
    assert_eq!(left.iter().map(|x| x.id).collect::<Vec<_>>().len(), 2);
    assert!(left.iter().any(|x| x.id == id && x.duration_ms == 4_000 && x.blob == whole.blob));
    assert_eq!(spans(s.as_ref()).await, vec![span(0, 8)]);
    assert_eq!(s.media_usage(owner).await.expect("usage").bytes, 2_000, "the old bytes went");
    assert_eq!(s.trashed_blobs(10).await.expect("trash").len(), 1, "the old blob is trashed");
    // A start taken by another segment changes nothing; a missing one is an error.
    let clash = seg(init, 0, 2);
    assert_eq!(s.replace_segment(id, &clash, T0).await.expect("replace"), None);
    assert_eq!(spans(s.as_ref()).await, vec![span(0, 8)]);
    assert!(s.replace_segment(9_999, &seg(init, 20, 4), T0).await.is_err());
}

#[tokio::test]
async fn retention_keeps_protected_segments_and_repairs_the_spans() {
    let (s, _d, owner, init) = recording_store().await;
    for k in 0..10 {
        s.insert_segment(&seg(init, k * 4, 4)).await.expect("insert").expect("new");
    }
    let until = Timestamp(T0.0 + 86_400_000);
    let kept = s.protect_segments(UID, span(8, 12).start, span(8, 12).end, until).await;
    assert_eq!(kept.expect("protect"), 1);
    // Everything that starts before 24 s is past retention; the protected one stays.
    let r = s.expire_segments(None, Timestamp(T0.0 + 24_000), Timestamp(T0.0 + 1), 100).await;
    assert_eq!(r.expect("expire").segments, 5);
    assert_eq!(spans(s.as_ref()).await, vec![span(8, 12), span(24, 40)]);
    assert_eq!(s.media_usage(owner).await.expect("usage").bytes, 5_000);
    assert_eq!(s.trashed_blobs(100).await.expect("trash").len(), 5);
}

#[tokio::test]
async fn eviction_frees_just_enough_of_the_oldest_footage_and_records_an_alert() {
    let (s, _d, owner, init) = recording_store().await;
    for k in 0..10 {
        s.insert_segment(&seg(init, k * 4, 4)).await.expect("insert").expect("new");
    }
    let r = s.evict_segments(owner, 2_500, Timestamp(T0.0 + 1)).await.expect("evict");
    assert_eq!((r.segments, r.bytes), (3, 3_000));
    let u = s.media_usage(owner).await.expect("usage");
    assert_eq!((u.bytes, u.evicted_bytes, u.alert_at), (7_000, 3_000, Some(Timestamp(T0.0 + 1))));
    assert_eq!(spans(s.as_ref()).await, vec![span(12, 40)]);
    assert_eq!(s.accounts_over_quota(6_999).await.expect("over").len(), 1);
    assert_eq!(s.accounts_over_quota(7_000).await.expect("over").len(), 0);
}

#[tokio::test]
async fn unbinding_deletes_the_key_the_index_and_trashes_every_blob() {
    let (s, _d, owner, init) = recording_store().await;
    for k in 0..3 {
        s.insert_segment(&seg(init, k * 4, 4)).await.expect("insert").expect("new");
    }
    assert!(s.unbind_device(UID, owner).await.expect("unbind"));
    assert!(s.media_key(UID).await.expect("key").is_none());
    assert!(spans(s.as_ref()).await.is_empty());
    let trash = s.trashed_blobs(100).await.expect("trash");
    assert_eq!(trash.len(), 4, "three segments and the init");
    s.forget_trash(&trash).await.expect("forget");
    assert!(s.trashed_blobs(100).await.expect("trash").is_empty());
    assert_eq!(s.media_usage(owner).await.expect("usage").bytes, 0);
    let err = s.insert_segment(&seg(init, 20, 4)).await;
    assert!(err.is_err(), "an unbound device cannot gain footage");
}

/// A motion event of the camera from `start_s`, its clip 5 s before to 2 s after.
fn event_at(owner: AccountId, start_s: i64) -> kankan_db::Event {
    kankan_db::Event {
        id: uuid::Uuid::now_v7(),
        account_id: owner,
        uid: UID.into(),
        kind: kankan_db::EventKind::Motion,
        started_at: Timestamp(T0.0 + start_s * 1000),
        ended_at: None,
        zone: None,
        read_at: None,
        created_at: T0,
        clip_from: Timestamp(T0.0 + (start_s - 5) * 1000),
        clip_to: Timestamp(T0.0 + (start_s + 2) * 1000),
        level_db: None,
        thumbnail: false,
        verdict: None,
        hold_alert: false,
        sighting: None,
    }
}

#[tokio::test]
async fn deleting_an_event_lifts_its_protection_but_not_another_events() {
    let (s, _d, owner, init) = recording_store().await;
    for k in 0..6 {
        s.insert_segment(&seg(init, k * 4, 4)).await.expect("insert").expect("new");
    }
    // Two events: one over 6-11 s (segments at 4 and 8), one over 13-20 s (12 and 16).
    let (a, b) = (event_at(owner, 11), event_at(owner, 18));
    for e in [&a, &b] {
        s.record_event(e).await.expect("record");
        let until = Timestamp(e.started_at.0 + kankan_db::EVENT_RETENTION_MS);
        s.protect_segments(UID, e.clip_from, e.clip_to, until).await.expect("protect");
    }
    let protected = |list: Vec<kankan_db::Segment>| -> Vec<i64> {
        list.iter()
            .filter(|g| g.protected_until.is_some())
            .map(|g| (g.start.0 - T0.0) / 1000)
            .collect()
    };
    let all = || s.segments(UID, 0, Timestamp(0), Timestamp(i64::MAX / 2), 100);
    assert_eq!(protected(all().await.expect("list")), vec![4, 8, 12, 16]);

    assert!(s.delete_event(owner, a.id, T0).await.expect("delete"));
    assert_eq!(protected(all().await.expect("list")), vec![12, 16], "only b's footage stays kept");
    // Past retention, a's footage goes now; b's stays.
    let r = s.expire_segments(None, Timestamp(T0.0 + 24_000), Timestamp(T0.0 + 1), 100).await;
    assert_eq!(r.expect("expire").segments, 4);
}

#[tokio::test]
async fn a_segment_indexed_after_its_event_is_protected_as_it_is_indexed() {
    let (s, _d, owner, init) = recording_store().await;
    let e = event_at(owner, 11);
    s.record_event(&e).await.expect("record");
    // The segments under the clip (6-13 s) are cut after the event's messages arrived.
    for k in 0..5 {
        s.insert_segment(&seg(init, k * 4, 4)).await.expect("insert").expect("new");
    }
    let list = s.segments(UID, 0, Timestamp(0), Timestamp(i64::MAX / 2), 100).await.expect("list");
    let kept: Vec<(i64, Option<Timestamp>)> =
        list.iter().map(|g| ((g.start.0 - T0.0) / 1000, g.protected_until)).collect();
    let until = Some(Timestamp(e.started_at.0 + kankan_db::EVENT_RETENTION_MS));
    assert_eq!(kept, vec![(0, None), (4, until), (8, until), (12, until), (16, None)]);
}
