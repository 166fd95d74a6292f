//! A device may touch only its own topics, whatever it tries.

use kankan_gateway::Outbound;
use kankan_gateway::topics::{Inbound, inbound_topic, outbound_topic};
use rumqttc::{ConnectionError, QoS, SubscribeReasonCode};

use crate::support::{A, B, SECRET_A, SECRET_B, TestGateway};

#[tokio::test]
async fn device_cannot_subscribe_to_another_devices_topics() {
    let gw = TestGateway::start().await;
    let mut a = gw.device(A, SECRET_A).connect().await.expect("A");
    for filter in [
        outbound_topic(B, Outbound::Cmd),
        outbound_topic(B, Outbound::Desired),
        "kk/v1/+/cmd".to_string(),
        format!("kk/v1/{A}/#"),
        "#".to_string(),
        "$share/g/kk/v1/+/cmd".to_string(),
        // Its own device-to-server topic is not readable either.
        inbound_topic(A, Inbound::State),
    ] {
        assert_eq!(a.subscribe(&filter).await, SubscribeReasonCode::Failure, "{filter}");
    }
    let denied = gw.handle.stats().denied_acl;
    assert_eq!(denied, 7);

    let granted = a.subscribe(&outbound_topic(A, Outbound::Cmd)).await;
    assert_eq!(granted, SubscribeReasonCode::Success(QoS::AtLeastOnce));

    // B's command does not reach A; A's own does, and it is the first thing A gets.
    gw.handle.publish(B, Outbound::Cmd, &b"for B"[..]).await.expect("publish to B");
    gw.handle.publish(A, Outbound::Cmd, &b"for A"[..]).await.expect("publish to A");
    let (topic, payload, _) = a.recv().await;
    assert_eq!((topic.as_str(), &payload[..]), (&*outbound_topic(A, Outbound::Cmd), &b"for A"[..]));
}

#[tokio::test]
async fn device_cannot_forge_another_devices_messages() {
    let mut gw = TestGateway::start().await;
    let mut a = gw.device(A, SECRET_A).connect().await.expect("A");
    let mut b = gw.device(B, SECRET_B).connect().await.expect("B");
    assert!(matches!(
        b.subscribe(&outbound_topic(B, Outbound::Cmd)).await,
        SubscribeReasonCode::Success(_)
    ));

    a.publish(&inbound_topic(B, Inbound::State), "forged state of B").await;
    a.publish(&inbound_topic(B, Inbound::Presence), "offline").await;
    a.publish(&outbound_topic(B, Outbound::Cmd), "forged command to B").await;
    a.publish(&outbound_topic(A, Outbound::Desired), "own desired").await;
    a.publish("kk/v1/KKAAAA000001/nonsense", "x").await;
    a.publish("devices/B/state", "x").await;
    a.publish(&inbound_topic(A, Inbound::State), "marker").await;

    // The server's first data message is A's marker, with A as the sender.
    let m = gw.next_data().await;
    assert_eq!((m.uid.as_str(), m.kind, &m.payload[..]), (A, Inbound::State, &b"marker"[..]));
    let s = gw.handle.stats();
    assert_eq!((s.denied_acl, s.rejected_malformed), (4, 2), "{s:?}");
    assert!(gw.handle.is_connected(B), "a forged presence does not change B's state");

    // B never got the forged command: its first message is the server's.
    gw.handle.publish(B, Outbound::Cmd, &b"real"[..]).await.expect("publish");
    let (_, payload, _) = b.recv().await;
    assert_eq!(payload, b"real");
}

#[tokio::test]
async fn last_will_on_another_devices_topic_is_refused() {
    let gw = TestGateway::start().await;
    let forged = gw
        .device(A, SECRET_A)
        .will(&inbound_topic(B, Inbound::Presence), "offline")
        .connect()
        .await;
    assert!(matches!(forged, Err(ConnectionError::ConnectionRefused(_))), "{:?}", forged.err());
    let to_cmd =
        gw.device(A, SECRET_A).will(&outbound_topic(A, Outbound::Cmd), "boom").connect().await;
    assert!(matches!(to_cmd, Err(ConnectionError::ConnectionRefused(_))));
    assert_eq!(gw.handle.stats().denied_acl, 2);

    // Its own presence topic is the right place for a will.
    gw.device(A, SECRET_A)
        .will(&inbound_topic(A, Inbound::Presence), "offline")
        .connect()
        .await
        .expect("own will accepted");
}
