//! Messages between devices and the server through the embedded broker.

use std::time::Duration;

use kankan_base::ErrorKind;
use kankan_gateway::topics::{Inbound, inbound_topic, outbound_topic};
use kankan_gateway::{GatewayError, MAX_PAYLOAD_BYTES, Outbound};
use rumqttc::SubscribeReasonCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{A, B, DevEvent, SECRET_A, SECRET_B, TestGateway, WAIT, eventually};

#[tokio::test]
async fn server_command_reaches_the_device() {
    let gw = TestGateway::start().await;
    let mut a = gw.device(A, SECRET_A).connect().await.expect("A");
    assert!(matches!(
        a.subscribe(&outbound_topic(A, Outbound::Cmd)).await,
        SubscribeReasonCode::Success(_)
    ));
    assert!(matches!(
        a.subscribe(&outbound_topic(A, Outbound::ClaimResult)).await,
        SubscribeReasonCode::Success(_)
    ));

    gw.handle.publish(A, Outbound::Cmd, br#"{"id":1,"op":"reboot"}"#.to_vec()).await.expect("cmd");
    let (topic, payload, retain) = a.recv().await;
    assert_eq!(topic, outbound_topic(A, Outbound::Cmd));
    assert_eq!(payload, br#"{"id":1,"op":"reboot"}"#);
    assert!(!retain);

    gw.handle.publish(A, Outbound::ClaimResult, b"{}".to_vec()).await.expect("claim result");
    assert_eq!(a.recv().await.0, "kk/v1/KKAAAA000001/claim/result");
    assert_eq!(gw.handle.stats().messages_out, 2);
}

#[tokio::test]
async fn desired_is_retained_for_a_later_subscriber() {
    let gw = TestGateway::start().await;
    // Published while no device is connected; only the latest counts.
    gw.handle.publish(A, Outbound::Desired, &br#"{"version":1}"#[..]).await.expect("v1");
    gw.handle.publish(A, Outbound::Desired, &br#"{"version":2}"#[..]).await.expect("v2");
    gw.handle.publish(A, Outbound::Cmd, &b"not retained"[..]).await.expect("cmd");

    let mut a = gw.device(A, SECRET_A).connect().await.expect("A");
    assert!(matches!(
        a.subscribe(&outbound_topic(A, Outbound::Cmd)).await,
        SubscribeReasonCode::Success(_)
    ));
    assert!(matches!(
        a.subscribe(&outbound_topic(A, Outbound::Desired)).await,
        SubscribeReasonCode::Success(_)
    ));
    let (topic, payload, retain) = a.recv().await;
    assert_eq!(
        (topic.as_str(), &payload[..], retain),
        ("kk/v1/KKAAAA000001/desired", &br#"{"version":2}"#[..], true)
    );

    // B subscribing to its own desired gets nothing of A's: the next thing B sees is its own.
    let mut b = gw.device(B, SECRET_B).connect().await.expect("B");
    assert!(matches!(
        b.subscribe(&outbound_topic(B, Outbound::Desired)).await,
        SubscribeReasonCode::Success(_)
    ));
    gw.handle.publish(B, Outbound::Desired, &b"for B"[..]).await.expect("B desired");
    assert_eq!(b.recv().await.1, b"for B");
}

#[tokio::test]
async fn command_is_queued_for_an_offline_persistent_session() {
    let gw = TestGateway::start().await;
    let mut a = gw.device(A, SECRET_A).persistent().connect().await.expect("A");
    assert!(matches!(
        a.subscribe(&outbound_topic(A, Outbound::Cmd)).await,
        SubscribeReasonCode::Success(_)
    ));
    a.disconnect().await;
    eventually("A is offline", || !gw.handle.is_connected(A)).await;

    gw.handle.publish(A, Outbound::Cmd, &b"while you were away"[..]).await.expect("cmd");

    let mut a = gw.device(A, SECRET_A).persistent().connect().await.expect("A again");
    let (topic, payload, _) = a.recv().await;
    assert_eq!(
        (topic.as_str(), &payload[..]),
        ("kk/v1/KKAAAA000001/cmd", &b"while you were away"[..])
    );
}

#[tokio::test]
async fn device_messages_arrive_with_the_true_sender() {
    let mut gw = TestGateway::start().await;
    let mut a = gw.device(A, SECRET_A).connect().await.expect("A");
    let mut b = gw.device(B, SECRET_B).connect().await.expect("B");
    for kind in [Inbound::State, Inbound::Event, Inbound::Ack, Inbound::Claim] {
        a.publish(&inbound_topic(A, kind), format!("{kind:?} of A")).await;
        let m = gw.next_data().await;
        assert_eq!((m.uid.as_str(), m.kind), (A, kind));
        assert_eq!(m.payload, format!("{kind:?} of A").as_bytes());
    }
    b.publish(&inbound_topic(B, Inbound::State), "state of B").await;
    let m = gw.next_data().await;
    assert_eq!((m.uid.as_str(), m.kind, &m.payload[..]), (B, Inbound::State, &b"state of B"[..]));
    assert_eq!(gw.handle.stats().messages_in, 5 + 2, "five messages and two presences");
}

#[tokio::test]
async fn oversized_payload_is_dropped_and_counted() {
    let mut gw = TestGateway::start().await;
    let mut a = gw.device(A, SECRET_A).connect().await.expect("A");
    a.publish(&inbound_topic(A, Inbound::Event), vec![b'x'; MAX_PAYLOAD_BYTES + 1]).await;
    a.publish(&inbound_topic(A, Inbound::Event), vec![b'y'; MAX_PAYLOAD_BYTES]).await;
    let m = gw.next_data().await;
    assert_eq!((m.uid.as_str(), m.payload.len(), m.payload[0]), (A, MAX_PAYLOAD_BYTES, b'y'));
    assert_eq!(gw.handle.stats().rejected_oversized, 1);

    let too_big = vec![0; MAX_PAYLOAD_BYTES + 1];
    let err = gw.handle.publish(A, Outbound::Cmd, too_big).await.expect_err("too big");
    assert!(matches!(err, GatewayError::PayloadTooLarge { .. }), "{err}");
    let err = gw.handle.publish("not-a-uid", Outbound::Cmd, vec![]).await.expect_err("bad uid");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

/// Connections start with a 1 KiB read buffer and no write buffer (the patched rmqtt-net):
/// messages many times that size, and small ones after them, still go through both ways.
#[tokio::test]
async fn messages_larger_than_the_connection_buffers_go_through_both_ways() {
    let mut gw = TestGateway::start().await;
    let mut a = gw.device(A, SECRET_A).connect().await.expect("A");
    assert!(matches!(
        a.subscribe(&outbound_topic(A, Outbound::Cmd)).await,
        SubscribeReasonCode::Success(_)
    ));
    let big: Vec<u8> = (0..MAX_PAYLOAD_BYTES).map(|i| (i % 251) as u8).collect();
    for payload in [&big[..], b"small after big", &big[..20_000]] {
        a.publish(&inbound_topic(A, Inbound::Event), payload).await;
        let m = gw.next_data().await;
        assert_eq!((m.uid.as_str(), &m.payload[..]), (A, payload));

        gw.handle.publish(A, Outbound::Cmd, payload.to_vec()).await.expect("cmd");
        let (topic, got, _) = a.recv().await;
        assert_eq!((topic, &got[..]), (outbound_topic(A, Outbound::Cmd), payload));
    }
}

#[tokio::test]
async fn garbage_on_the_socket_does_not_disturb_other_devices() {
    let mut gw = TestGateway::start().await;
    let mut a = gw.device(A, SECRET_A).connect().await.expect("A");

    let junk: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let mut raw = TcpStream::connect(gw.addr).await.expect("raw connect");
    raw.write_all(&junk).await.expect("write junk");
    // A CONNECT header announcing 256 MiB, then silence.
    let mut huge = TcpStream::connect(gw.addr).await.expect("raw connect");
    huge.write_all(&[0x10, 0xff, 0xff, 0xff, 0x7f]).await.expect("write header");
    // The broker hangs up on the junk.
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(WAIT, async {
        loop {
            match raw.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the broker kept a connection that sent junk");

    // The device that was there, and a new one, still work.
    a.publish(&inbound_topic(A, Inbound::State), "still here").await;
    assert_eq!(gw.next_data().await.payload, "still here".as_bytes());
    let mut b = gw.device(B, SECRET_B).connect().await.expect("B after the junk");
    b.publish(&inbound_topic(B, Inbound::State), "new").await;
    assert_eq!(gw.next_data().await.uid, B);
    drop(huge);
}

#[tokio::test]
async fn mqtt5_device_works_on_the_same_port() {
    use rumqttc::v5::mqttbytes::QoS;
    use rumqttc::v5::mqttbytes::v5::Packet;
    use rumqttc::v5::{AsyncClient, Event, MqttOptions};

    let mut gw = TestGateway::start().await;
    let mut opts = MqttOptions::new(A, gw.addr.ip().to_string(), gw.addr.port());
    opts.set_credentials(A, SECRET_A);
    opts.set_keep_alive(Duration::from_secs(5));
    let (client, mut eventloop) = AsyncClient::new(opts, 16);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let _ = tx.send((p.topic.to_vec(), p.payload.to_vec()));
                }
                Ok(_) => {}
                Err(e) => panic!("MQTT 5 device failed: {e}"),
            }
        }
    });
    client.subscribe(outbound_topic(A, Outbound::Cmd), QoS::AtLeastOnce).await.expect("sub");
    client
        .publish(inbound_topic(A, Inbound::State), QoS::AtLeastOnce, false, "v5 state")
        .await
        .expect("pub");
    let m = gw.next_data().await;
    assert_eq!((m.uid.as_str(), &m.payload[..]), (A, &b"v5 state"[..]));

    // The subscription was made before the publish above was handled (one connection, in order).
    gw.handle.publish(A, Outbound::Cmd, &b"to v5"[..]).await.expect("cmd");
    let (topic, payload) =
        tokio::time::timeout(WAIT, rx.recv()).await.expect("cmd in time").expect("cmd");
    assert_eq!(
        (&topic[..], &payload[..]),
        (outbound_topic(A, Outbound::Cmd).as_bytes(), &b"to v5"[..])
    );
    task.abort();
}

#[tokio::test]
async fn shutdown_closes_device_connections_and_stops_publishing() {
    let (shutdown, signal) = kankan_base::Shutdown::new();
    let cfg =
        kankan_gateway::GatewayConfig::Embedded { listen: ([127, 0, 0, 1], 0).into(), plain: true };
    let secrets = std::sync::Arc::new(crate::support::Secrets::ab());
    let gw = kankan_gateway::start(&cfg, secrets, signal).await.expect("start");
    let addr = gw.local_addr.expect("addr");
    let mut a = crate::support::DeviceOpts::new(addr, A, SECRET_A).connect().await.expect("A");

    shutdown.trigger();
    assert!(matches!(a.wait_for(|e| matches!(e, DevEvent::Closed(_))).await, DevEvent::Closed(_)));
    let deadline = tokio::time::Instant::now() + WAIT;
    while gw.handle.publish(A, Outbound::Cmd, Vec::new()).await.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "publishing still works after shutdown");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(TcpStream::connect(addr).await.is_err(), "the listener is closed");
}

#[tokio::test]
async fn a_restarted_gateway_gets_its_port_back_at_once() {
    let cfg =
        kankan_gateway::GatewayConfig::Embedded { listen: ([127, 0, 0, 1], 0).into(), plain: true };
    let secrets = std::sync::Arc::new(crate::support::Secrets::ab());
    let (shutdown, signal) = kankan_base::Shutdown::new();
    let gw = kankan_gateway::start(&cfg, secrets.clone(), signal).await.expect("start");
    let addr = gw.local_addr.expect("addr");
    let mut a = crate::support::DeviceOpts::new(addr, A, SECRET_A).connect().await.expect("A");
    shutdown.trigger();
    a.wait_for(|e| matches!(e, DevEvent::Closed(_))).await;
    // The closed connections linger in TIME_WAIT; the same port must bind again anyway.
    let again = kankan_gateway::GatewayConfig::Embedded { listen: addr, plain: true };
    let (_shutdown, signal) = kankan_base::Shutdown::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    let gw2 = loop {
        match kankan_gateway::start(&again, secrets.clone(), signal.clone()).await {
            Ok(gw) => break gw,
            // The old listener may take a moment to close after shutdown is triggered.
            Err(e) => {
                assert!(tokio::time::Instant::now() < deadline, "port not reusable: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    assert_eq!(gw2.local_addr, Some(addr));
    crate::support::DeviceOpts::new(addr, A, SECRET_A).connect().await.expect("reconnects");
}

#[tokio::test]
async fn a_flooding_device_is_held_to_its_pace_loses_nothing_and_others_still_get_through() {
    // fails without the fix: A's whole flood went through at once, nothing held back (the
    // pace is what keeps a flood from filling its lane and the database's writer).
    let mut gw = TestGateway::start().await;
    let a = gw.device(A, SECRET_A).connect().await.expect("A");
    let mut b = gw.device(B, SECRET_B).connect().await.expect("B");
    let topic = inbound_topic(A, Inbound::State);
    for i in 0..400 {
        a.client
            .publish(&topic, rumqttc::QoS::AtMostOnce, false, format!("{i}"))
            .await
            .expect("queued");
    }
    b.publish(&inbound_topic(B, Inbound::Event), "B").await;
    let mut from_a_before_b = 0;
    loop {
        let m = gw.next_data().await;
        if m.uid == B {
            break;
        }
        from_a_before_b += 1;
    }
    assert!(from_a_before_b < 400, "B's message is not queued behind A's whole flood");
    // Nothing of A's is lost: the rest arrives at A's pace.
    let mut rest = 0;
    while from_a_before_b + rest < 400 {
        let m = gw.next_data().await;
        assert_eq!(m.uid, A);
        rest += 1;
    }
    assert!(gw.handle.stats().rate_limited > 0, "A was held back");
}
