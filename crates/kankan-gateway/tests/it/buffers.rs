//! The broker's per-connection buffers (rmqtt-net, patched: `patches/rmqtt-net`): small while a
//! connection is idle, grown for a large packet, released again after it. Driven through
//! rmqtt-net's own listener and stream with a client speaking raw MQTT 3.1.1 bytes.

use bytes::Bytes;
use rmqtt::codec::types::{Publish, QoS};
use rmqtt::codec::v3::{ConnectAckReason, Packet};
use rmqtt::net::{Builder, DEFAULT_READ_BUFFER_CAPACITY, MqttStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::WAIT;

/// A payload many times the initial read buffer.
const BIG: usize = 20 * DEFAULT_READ_BUFFER_CAPACITY;

/// MQTT's variable-length "remaining length".
fn remaining_length(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let byte = (n % 128) as u8;
        n /= 128;
        out.push(if n > 0 { byte | 0x80 } else { byte });
        if n == 0 {
            return;
        }
    }
}

/// A QoS 0 PUBLISH of `payload` on topic `t`.
fn publish_bytes(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x30];
    remaining_length(3 + payload.len(), &mut out);
    out.extend_from_slice(&[0, 1, b't']);
    out.extend_from_slice(payload);
    out
}

#[tokio::test]
async fn connection_buffers_start_small_grow_for_a_large_packet_and_are_released_after() {
    let listener = Builder::new()
        .laddr("127.0.0.1:0".parse().expect("addr"))
        .bind()
        .and_then(|l| l.tcp())
        .expect("listen");
    let addr = listener.local_addr().expect("addr");
    let mut client = TcpStream::connect(addr).await.expect("connect");
    // CONNECT: MQTT 3.1.1, clean session, keep-alive 60 s, client id "t".
    let connect = [0x10, 13, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 60, 0, 1, b't'];
    client.write_all(&connect).await.expect("send CONNECT");

    let stream = listener.accept().await.expect("accept").tcp().expect("tcp");
    let Ok(MqttStream::V3(mut s)) = stream.mqtt().await else { panic!("not MQTT 3.1.1") };
    s.recv_connect(WAIT).await.expect("CONNECT");
    assert_eq!(s.io.read_buffer().capacity(), DEFAULT_READ_BUFFER_CAPACITY);
    s.send_connect_ack(ConnectAckReason::ConnectionAccepted, false).await.expect("CONNACK");
    assert_eq!(s.io.write_buffer().capacity(), 0, "no write buffer once flushed");
    let mut connack = [0; 4];
    client.read_exact(&mut connack).await.expect("CONNACK");
    assert_eq!(connack, [0x20, 2, 0, 0]);

    // Device to broker: the read buffer grows for it, and is back to its size after.
    let big: Vec<u8> = (0..BIG).map(|i| (i % 251) as u8).collect();
    client.write_all(&publish_bytes(&big)).await.expect("send PUBLISH");
    match s.recv(WAIT).await.expect("PUBLISH") {
        Some(Packet::Publish(p)) => assert_eq!(&p.payload[..], &big[..]),
        other => panic!("expected PUBLISH, got {other:?}"),
    }
    assert_eq!(s.io.read_buffer().capacity(), DEFAULT_READ_BUFFER_CAPACITY);

    // Broker to device: written whole, and the write buffer is freed after.
    let publish = Publish {
        dup: false,
        retain: false,
        qos: QoS::AtMostOnce,
        topic: "t".into(),
        packet_id: None,
        payload: Bytes::from(big.clone()),
        properties: None,
    };
    s.send_publish(Box::new(publish)).await.expect("send PUBLISH");
    assert_eq!(s.io.write_buffer().capacity(), 0);
    let expected = publish_bytes(&big);
    let mut got = vec![0; expected.len()];
    client.read_exact(&mut got).await.expect("PUBLISH");
    assert_eq!(got, expected);

    // A small packet after the large one still goes through.
    client.write_all(&publish_bytes(b"small")).await.expect("send PUBLISH");
    match s.recv(WAIT).await.expect("PUBLISH") {
        Some(Packet::Publish(p)) => assert_eq!(&p.payload[..], b"small"),
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}
