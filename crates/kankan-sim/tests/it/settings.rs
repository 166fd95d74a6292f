//! Desired settings: applied, persisted, reported, and kept across a restart.

use kankan_gateway::Outbound;
use kankan_protocol::device::{Desired, Settings, VideoQuality};
use kankan_sim::state;

use crate::support::{CAM, CAM_SECRET, SimDevice, TestGateway, config};

fn desired(version: u64, settings: &Settings) -> Vec<u8> {
    serde_json::to_vec(&Desired { version, settings: settings.clone() }).expect("ser")
}

#[tokio::test]
async fn desired_settings_are_applied_persisted_reported_and_kept_after_restart() {
    let mut gw = TestGateway::start().await;
    let dir = tempfile::tempdir().expect("tempdir");

    // Retained before the device ever connects: it gets them when it subscribes.
    let v1 = Settings { volume: 15, ..Settings::default() };
    gw.publish(CAM, Outbound::Desired, desired(1, &v1)).await;
    let device = SimDevice::start(config(CAM, CAM_SECRET, dir.path(), Some(gw.server())));
    let r = gw.report_where(CAM, |r| r.settings_version == 1).await;
    assert_eq!(r.settings, v1);

    // A change while connected.
    let v2 = Settings { video_quality: VideoQuality::FullHd, white_light: true, ..v1.clone() };
    gw.publish(CAM, Outbound::Desired, desired(2, &v2)).await;
    let r = gw.report_where(CAM, |r| r.settings_version == 2).await;
    assert_eq!(r.settings, v2);

    // Out of range, or older: ignored, the device keeps version 2.
    let bad = Settings { volume: 200, ..v2.clone() };
    gw.publish(CAM, Outbound::Desired, desired(3, &bad)).await;
    gw.publish(CAM, Outbound::Desired, desired(1, &v1)).await;
    device.stop().await;
    let stored = state::load(dir.path()).expect("load").expect("saved");
    assert_eq!((stored.settings, stored.settings_version), (v2.clone(), 2));

    // A fresh gateway has no retained message: what the device reports comes from its file.
    drop(gw);
    let mut gw = TestGateway::start().await;
    let device = SimDevice::start(config(CAM, CAM_SECRET, dir.path(), Some(gw.server())));
    let r = gw.next_report(CAM).await;
    assert_eq!((r.seq, r.settings_version, r.settings), (1, 2, v2));
    device.stop().await;
}
