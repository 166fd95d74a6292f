//! The RTSP camera part of the `Store` contract: added bound, listed with the owner,
//! forgotten on unbind.

use kankan_db::{DbError, RtspCamera};

use crate::devices::{T0, account, device};
use crate::store;

fn camera(uid: &str, owner: kankan_base::AccountId) -> (kankan_db::Device, RtspCamera) {
    let mut d = device(uid);
    d.model = "RTSP".into();
    d.owner = Some(owner);
    d.bound_at = Some(T0);
    d.name_enc = Some(vec![3; 40]);
    (d, RtspCamera { uid: uid.into(), owner, source_enc: vec![4; 80], created_at: T0 })
}

#[tokio::test]
async fn an_rtsp_camera_is_added_bound_and_listed_with_its_owner() {
    let (s, _dir) = store().await;
    let alice = account(&*s, 1).await;
    let (d, cam) = camera("KKRTSP0001", alice);
    assert!(s.insert_rtsp_camera(&d, &cam, 8).await.expect("insert"));
    let stored = s.device("KKRTSP0001").await.expect("q").expect("device row");
    assert_eq!((stored.owner, stored.model.as_str()), (Some(alice), "RTSP"));
    assert_eq!(stored.name_enc, d.name_enc);
    assert!(!s.device_state("KKRTSP0001").await.expect("q").expect("shadow").online);
    let all = s.rtsp_cameras().await.expect("list");
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].uid.as_str(), all[0].owner), ("KKRTSP0001", alice));
    assert_eq!(all[0].source_enc, cam.source_enc);
    let again = s.insert_rtsp_camera(&d, &cam, 8).await;
    assert!(matches!(again, Err(DbError::Conflict("device"))), "{again:?}");
}

#[tokio::test]
async fn unbinding_an_rtsp_camera_forgets_its_source() {
    let (s, _dir) = store().await;
    let alice = account(&*s, 1).await;
    let bob = account(&*s, 2).await;
    for (uid, owner) in [("KKRTSP0001", alice), ("KKRTSP0002", bob)] {
        let (d, cam) = camera(uid, owner);
        assert!(s.insert_rtsp_camera(&d, &cam, 8).await.expect("insert"));
    }
    assert!(s.unbind_device("KKRTSP0001", alice).await.expect("unbind"));
    let left: Vec<String> =
        s.rtsp_cameras().await.expect("list").into_iter().map(|c| c.uid).collect();
    assert_eq!(left, ["KKRTSP0002"]);
}

#[tokio::test]
async fn an_owner_with_the_most_rtsp_cameras_allowed_gets_no_more() {
    // fails without the fix: any account could add cameras without end.
    let (s, _dir) = store().await;
    let alice = account(&*s, 1).await;
    let bob = account(&*s, 2).await;
    for uid in ["KKRTSP0001", "KKRTSP0002"] {
        let (d, cam) = camera(uid, alice);
        assert!(s.insert_rtsp_camera(&d, &cam, 2).await.expect("insert"));
    }
    let (d, cam) = camera("KKRTSP0003", alice);
    assert!(!s.insert_rtsp_camera(&d, &cam, 2).await.expect("refused"), "a third one");
    assert!(s.device("KKRTSP0003").await.expect("q").is_none(), "nothing half-stored");
    let (d, cam) = camera("KKRTSP0004", bob);
    assert!(s.insert_rtsp_camera(&d, &cam, 2).await.expect("insert"), "counted per owner");
    assert!(s.unbind_device("KKRTSP0001", alice).await.expect("unbind"));
    let (d, cam) = camera("KKRTSP0005", alice);
    assert!(s.insert_rtsp_camera(&d, &cam, 2).await.expect("insert"), "room again after unbind");
}
