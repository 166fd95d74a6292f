//! Presence as the embedded broker sees it: connect, clean or abrupt loss, silence, takeover.

use kankan_gateway::Inbound;
use kankan_gateway::topics::inbound_topic;

use crate::support::{A, B, DevEvent, SECRET_A, SECRET_B, TestGateway, eventually};

#[tokio::test]
async fn connect_is_online_and_an_abrupt_drop_is_offline() {
    let mut gw = TestGateway::start().await;
    let a = gw
        .device(A, SECRET_A)
        .will(&inbound_topic(A, Inbound::Presence), "offline")
        .connect()
        .await
        .expect("A");
    gw.presence(A, "online").await;
    assert!(gw.handle.is_connected(A));
    assert_eq!(gw.handle.stats().connected, 1);

    drop(a); // the socket closes without a DISCONNECT
    gw.presence(A, "offline").await;
    assert!(!gw.handle.is_connected(A));
    assert_eq!(gw.handle.stats().connected, 0);

    // The last will did not add a second "offline": the next message is B's arrival.
    let _b = gw.device(B, SECRET_B).connect().await.expect("B");
    let m = gw.next().await;
    assert_eq!((m.uid.as_str(), m.kind, &m.payload[..]), (B, Inbound::Presence, &b"online"[..]));
}

#[tokio::test]
async fn silent_device_goes_offline_after_its_keep_alive() {
    let mut gw = TestGateway::start().await;
    let mut a = gw.device(A, SECRET_A).keep_alive(1).connect().await.expect("A");
    gw.presence(A, "online").await;
    a.freeze(); // socket open, but no more pings
    gw.presence(A, "offline").await;
    assert!(!gw.handle.is_connected(A));
}

#[tokio::test]
async fn reconnecting_with_the_same_uid_leaves_the_device_online() {
    let mut gw = TestGateway::start().await;
    let mut first = gw.device(A, SECRET_A).connect().await.expect("first");
    gw.presence(A, "online").await;
    let _second = gw.device(A, SECRET_A).connect().await.expect("second");
    // The broker drops the older connection.
    assert!(matches!(
        first.wait_for(|e| matches!(e, DevEvent::Closed(_))).await,
        DevEvent::Closed(_)
    ));

    // Whatever order the broker reported the two connections in, A ends up online.
    let _b = gw.device(B, SECRET_B).connect().await.expect("B");
    let mut last_of_a = None;
    loop {
        let m = gw.next().await;
        assert_eq!(m.kind, Inbound::Presence);
        if m.uid == B {
            break;
        }
        last_of_a = Some(m.payload);
    }
    assert_eq!(last_of_a.as_deref(), Some(&b"online"[..]));
    eventually("A counted once", || gw.handle.stats().connected == 2).await;
    assert!(gw.handle.is_connected(A));
}
