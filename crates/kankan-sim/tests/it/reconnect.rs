//! Losing the server: the device comes back after a gateway restart or a cut connection, and
//! commands sent while it was away reach it through its persistent session.

use kankan_protocol::device::CommandKind;

use crate::support::{CAM, CAM_SECRET, Relay, SimDevice, TestGateway, config, eventually};

/// The gateway stops and a new one (with no sessions and no retained messages) takes over
/// the address the device knows. The relay stands for that address: the embedded broker does
/// not set SO_REUSEADDR, so a new gateway cannot bind the very same port while the old one's
/// closed connections sit in TIME_WAIT (up to a minute on Linux).
#[tokio::test]
async fn the_device_reconnects_when_the_gateway_restarts_behind_its_address() {
    let mut gw = TestGateway::start().await;
    let relay = Relay::start(gw.addr).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let device = SimDevice::start(config(CAM, CAM_SECRET, dir.path(), Some(relay.server())));
    gw.presence(CAM, "online").await;
    assert_eq!(gw.next_report(CAM).await.seq, 1);

    relay.refuse(true);
    drop(gw);
    device.wait("the device notices", |s| !s.connected).await;
    let mut gw = TestGateway::start().await;
    relay.set_upstream(gw.addr);
    relay.refuse(false);
    gw.presence(CAM, "online").await;
    let r = gw.next_report(CAM).await;
    assert!(r.seq > 1, "same boot, so numbering goes on: {}", r.seq);
    let status = device.wait("reconnected", |s| s.connected).await;
    assert_eq!((status.boots, status.connections), (1, 2));

    // The new broker knew no session: the device subscribed again, so commands reach it.
    let id = gw.command(CAM, CommandKind::PtzMove { pan: 1, tilt: 0 }).await;
    assert_eq!(gw.next_ack(CAM).await.id, id);
    device.stop().await;
}

#[tokio::test]
async fn after_a_cut_the_device_reconnects_and_gets_what_was_sent_meanwhile() {
    let mut gw = TestGateway::start().await;
    let relay = Relay::start(gw.addr).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let device = SimDevice::start(config(CAM, CAM_SECRET, dir.path(), Some(relay.server())));
    gw.presence(CAM, "online").await;
    gw.next_report(CAM).await;

    // The network goes down: open connections die, new ones fail for a while.
    relay.refuse(true);
    relay.cut();
    gw.presence(CAM, "offline").await;
    device.wait("the device notices", |s| !s.connected).await;
    let id = gw.command(CAM, CommandKind::PresetSave { slot: 2 }).await;
    // Let a few reconnection attempts fail against the refusing relay.
    let attempts_before = device.handle.status().connections;
    eventually("the device keeps retrying", || relay.refused() >= 2).await;

    relay.refuse(false);
    gw.presence(CAM, "online").await;
    let ack = gw.next_ack(CAM).await;
    assert_eq!((ack.id, ack.ok), (id, true), "the queued command ran after the reconnection");
    let status = device.wait("reconnected", |s| s.connected).await;
    assert_eq!(status.connections, attempts_before + 1);
    device.stop().await;
}
