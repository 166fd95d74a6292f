//! Commands over the wire: each kind gets the right ack, and a reboot reconnects.

use kankan_gateway::Inbound;
use kankan_protocol::device::{CommandKind, SdStatus};
use kankan_sim::state::{self, Position};
use kankan_sim::{DEGREES_PER_STEP, PAN_LIMIT};

use crate::support::{BELL, BELL_SECRET, CAM, CAM_SECRET, SimDevice, TestGateway, config, now_ms};

#[tokio::test]
async fn each_command_kind_gets_the_right_ack() {
    let mut gw = TestGateway::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let device = SimDevice::start(config(CAM, CAM_SECRET, dir.path(), Some(gw.server())));
    gw.next_report(CAM).await;

    let id = gw.command(CAM, CommandKind::PtzMove { pan: 2, tilt: 1 }).await;
    let ack = gw.next_ack(CAM).await;
    assert_eq!((ack.id, ack.ok, ack.error), (id, true, None));
    let at = Position { pan: 2 * DEGREES_PER_STEP, tilt: DEGREES_PER_STEP };
    assert_eq!(device.handle.status().stored.ptz, at);

    gw.command(CAM, CommandKind::PresetSave { slot: 1 }).await;
    assert!(gw.next_ack(CAM).await.ok);
    for _ in 0..3 {
        gw.command(CAM, CommandKind::PtzMove { pan: 10, tilt: 0 }).await;
        assert!(gw.next_ack(CAM).await.ok);
    }
    assert_eq!(device.handle.status().stored.ptz.pan, PAN_LIMIT, "clamped");

    let id = gw.command(CAM, CommandKind::PresetGoto { slot: 4 }).await;
    let ack = gw.next_ack(CAM).await;
    assert_eq!((ack.id, ack.ok, ack.error.as_deref()), (id, false, Some("preset 4 is not set")));
    gw.command(CAM, CommandKind::PresetGoto { slot: 1 }).await;
    assert!(gw.next_ack(CAM).await.ok);
    assert_eq!(device.handle.status().stored.ptz, at);

    let id = gw.command(CAM, CommandKind::FormatSd).await;
    let formatting = gw.next_report(CAM).await;
    assert_eq!(formatting.sd_card.status, SdStatus::Formatting);
    let done = gw.next_report(CAM).await;
    assert_eq!((done.sd_card.status, done.sd_card.used_mb), (SdStatus::Ok, 0));
    let ack = gw.next_ack(CAM).await;
    assert_eq!((ack.id, ack.ok), (id, true));

    let id = gw.command_due(CAM, CommandKind::PtzMove { pan: -1, tilt: 0 }, now_ms() - 1_000).await;
    let ack = gw.next_ack(CAM).await;
    assert_eq!((ack.id, ack.ok, ack.error.as_deref()), (id, false, Some("expired")));

    device.stop().await;
    let stored = state::load(dir.path()).expect("load").expect("saved");
    assert_eq!((stored.ptz, stored.presets.get(&1)), (at, Some(&at)));
    assert_eq!(stored.sd_card.used_mb, 0);
}

#[tokio::test]
async fn reboot_is_acked_then_the_device_reconnects_with_its_reports_renumbered() {
    let mut gw = TestGateway::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = config(BELL, BELL_SECRET, dir.path(), Some(gw.server()));
    cfg.model = Some("KK-D1".into());
    let device = SimDevice::start(cfg);
    gw.presence(BELL, "online").await;
    let first = gw.next_report(BELL).await;
    assert_eq!(first.seq, 1);
    assert!(first.battery_pct.is_some(), "doorbells report their battery");
    // A second report in the same boot, so the renumbering is visible.
    gw.command(BELL, CommandKind::FormatSd).await;
    let r = gw.report_where(BELL, |r| r.sd_card.status == SdStatus::Ok).await;
    assert!(r.seq > 1);
    assert!(gw.next_ack(BELL).await.ok);

    let id = gw.command(BELL, CommandKind::Reboot).await;
    let ack = gw.next_ack(BELL).await;
    assert_eq!((ack.id, ack.ok), (id, true));
    gw.presence(BELL, "offline").await;
    gw.presence(BELL, "online").await;
    let after = gw.next_report(BELL).await;
    assert_eq!(after.seq, 1, "a new boot numbers its reports from 1");
    let status = device.wait("the second boot is connected", |s| s.boots == 2 && s.connected).await;
    assert_eq!(status.connections, 2);

    // A doorbell has no pan/tilt head.
    gw.command(BELL, CommandKind::PtzMove { pan: 1, tilt: 0 }).await;
    let ack = gw.next_ack(BELL).await;
    assert!(!ack.ok && ack.error.is_some());
    device.stop().await;
    assert_eq!(gw.next_of(BELL, Inbound::Presence).await.payload, &b"offline"[..]);
}
