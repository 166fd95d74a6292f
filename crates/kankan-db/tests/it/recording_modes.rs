//! Recording modes in the store: the mode goes with the desired settings (a member's settings
//! cannot change it), the footage an events-only device's events did not keep is deleted, and
//! an owner's range deletion removes rows, usage and spans with the blobs trashed.

use kankan_base::{BlobId, Timestamp};
use kankan_db::{NewSegment, RecordingMode, Span, Store};

use crate::devices::T0;
use crate::media::{UID, bind_with_init};
use crate::store;

fn at(s: i64) -> Timestamp {
    Timestamp(T0.0 + s * 1000)
}

fn seg(init: i64, stream: u8, start_s: i64) -> NewSegment {
    NewSegment {
        uid: UID.into(),
        stream,
        init_id: init,
        start: at(start_s),
        duration_ms: 4000,
        bytes: 1000,
        frames: 60,
        blob: BlobId::new(),
    }
}

async fn starts(s: &dyn Store, stream: u8) -> Vec<i64> {
    let all = s.segments(UID, stream, Timestamp(0), Timestamp(i64::MAX / 2), 100).await;
    all.expect("segments").iter().map(|g| (g.start.0 - T0.0) / 1000).collect()
}

#[tokio::test]
async fn the_mode_is_stored_with_the_settings_and_a_fixed_mode_is_not_changed() {
    let (s, _d) = store().await;
    bind_with_init(s.as_ref()).await;
    let st = s.device_state(UID).await.expect("q").expect("state");
    assert_eq!((st.recording_mode, st.recording_mode_since), (RecordingMode::Continuous, None));

    let v = s.set_desired(UID, b"a", RecordingMode::CardOnly, false, at(10)).await.expect("set");
    assert_eq!(v, Some(1));
    let st = s.device_state(UID).await.expect("q").expect("state");
    assert_eq!(
        (st.recording_mode, st.recording_mode_since),
        (RecordingMode::CardOnly, Some(at(10)))
    );

    // Settings that keep the mode do not move when it was chosen.
    s.set_desired(UID, b"b", RecordingMode::CardOnly, false, at(20)).await.expect("same mode");
    // A member's settings (the mode fixed) are stored only with the mode in force.
    let refused = s.set_desired(UID, b"c", RecordingMode::Continuous, true, at(30)).await;
    assert_eq!(refused.expect("answered"), None);
    let kept = s.set_desired(UID, b"d", RecordingMode::CardOnly, true, at(40)).await;
    assert_eq!(kept.expect("answered"), Some(3));
    let st = s.device_state(UID).await.expect("q").expect("state");
    assert_eq!(
        (st.recording_mode, st.recording_mode_since),
        (RecordingMode::CardOnly, Some(at(10)))
    );
    assert_eq!(st.desired_enc.as_deref(), Some(&b"d"[..]));
    assert!(s.set_desired("KKNOSUCH01", b"x", RecordingMode::Events, false, T0).await.is_err());
}

#[tokio::test]
async fn an_events_only_device_loses_the_footage_no_event_keeps_from_when_the_mode_was_chosen() {
    let (s, _d) = store().await;
    let (_owner, init) = bind_with_init(s.as_ref()).await;
    for start in [0, 4, 8, 12, 16, 20, 24] {
        s.insert_segment(&seg(init, 0, start)).await.expect("insert").expect("new");
    }
    assert!(s.devices_recording(RecordingMode::Events).await.expect("q").is_empty());
    s.set_desired(UID, b"a", RecordingMode::Events, false, at(4)).await.expect("events");
    assert_eq!(
        s.devices_recording(RecordingMode::Events).await.expect("q"),
        vec![(UID.to_string(), at(4))]
    );
    // An event protects 12..16.
    s.protect_segments(UID, at(13), at(15), at(1000)).await.expect("protect");

    let now = at(100);
    let r = s.expire_unkept_segments(UID, at(4), at(22), now, 100).await.expect("expire");
    // 0 was recorded before the mode; 12 is protected; 20 ends after the cutoff.
    assert_eq!(r.segments, 3, "4, 8 and 16");
    assert_eq!(starts(s.as_ref(), 0).await, vec![0, 12, 20, 24]);
    assert_eq!(s.trashed_blobs(100).await.expect("trash").len(), 3);
}

#[tokio::test]
async fn deleting_a_range_removes_every_overlapping_segment_of_every_stream() {
    let (s, _d) = store().await;
    let (owner, init) = bind_with_init(s.as_ref()).await;
    for start in [0, 4, 8, 12, 16] {
        s.insert_segment(&seg(init, 0, start)).await.expect("insert").expect("new");
        s.insert_segment(&seg(init, 1, start)).await.expect("insert").expect("new");
    }
    // Protection by an event does not keep footage its owner deletes.
    s.protect_segments(UID, at(5), at(6), at(1000)).await.expect("protect");
    let mut gone = 0;
    loop {
        // Two at a time: the caller pages through a long range.
        let r = s.delete_segments_between(UID, at(6), at(13), at(50), 2).await.expect("delete");
        gone += r.segments;
        if r.segments < 2 {
            break;
        }
    }
    assert_eq!(gone, 6, "4, 8 and 12 of both streams");
    assert_eq!(starts(s.as_ref(), 0).await, vec![0, 16]);
    assert_eq!(starts(s.as_ref(), 1).await, vec![0, 16]);
    assert_eq!(s.media_usage(owner).await.expect("usage").bytes, 4_000);
    assert_eq!(s.trashed_blobs(100).await.expect("trash").len(), 6);
    let spans = s.spans(UID, 0, Timestamp(0), Timestamp(i64::MAX / 2)).await.expect("spans");
    assert_eq!(spans, vec![Span { start: at(0), end: at(4) }, Span { start: at(16), end: at(20) }]);
}

#[tokio::test]
async fn the_chosen_mode_and_the_limits_cap_are_read_together_each_absent_without_its_row() {
    let (s, _d) = store().await;
    let none = s.recording_mode_and_cap("KKNOSUCH01").await.expect("q");
    assert_eq!(none, (None, None), "an unknown device has neither");
    bind_with_init(s.as_ref()).await;
    let bound = s.recording_mode_and_cap(UID).await.expect("q");
    assert_eq!(bound, (Some(RecordingMode::Continuous), None), "no limits of its own");

    s.set_desired(UID, b"a", RecordingMode::Events, false, at(10)).await.expect("events");
    let limits = kankan_db::DeviceLimits {
        kind: RecordingMode::CardOnly,
        retention_days: 7,
        quota_mib: None,
        since: at(20),
    };
    s.set_device_limits(UID, Some(&limits)).await.expect("limits");
    let both = s.recording_mode_and_cap(UID).await.expect("q");
    assert_eq!(both, (Some(RecordingMode::Events), Some(RecordingMode::CardOnly)));
    // Another device's limits are not this one's.
    assert_eq!(s.recording_mode_and_cap("KKNOSUCH01").await.expect("q"), (None, None));

    s.set_device_limits(UID, None).await.expect("back to the free tier");
    assert_eq!(
        s.recording_mode_and_cap(UID).await.expect("q"),
        (Some(RecordingMode::Events), None)
    );
}
