//! External-broker mode against a real Mosquitto configured as the `external` docs say.

use std::net::{SocketAddr, TcpListener};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use kankan_base::{Secret, Shutdown};
use kankan_gateway::topics::{Inbound, inbound_topic, outbound_topic};
use kankan_gateway::{Gateway, GatewayConfig, Outbound};
use rumqttc::SubscribeReasonCode;
use tokio::process::{Child, Command};

use crate::support::{A, B, DeviceOpts, SECRET_A, SECRET_B, Secrets, WAIT, eventually, tool};

const NODE: &str = "kankan-node-1";
const NODE_SECRET: &str = "node-secret";

/// A Mosquitto broker on a free port with a password file and an ACL; killed on drop.
struct Mosquitto {
    addr: SocketAddr,
    conf: std::path::PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Mosquitto {
    async fn start() -> Mosquitto {
        let dir = tempfile::tempdir().expect("tempdir");
        let passwd = dir.path().join("passwd");
        for (i, (user, secret)) in
            [(NODE, NODE_SECRET), (A, SECRET_A), (B, SECRET_B)].iter().enumerate()
        {
            let mut cmd = Command::new(tool("mosquitto_passwd"));
            if i == 0 {
                cmd.arg("-c");
            }
            let status =
                cmd.arg("-b").arg(&passwd).args([user, secret]).status().await.expect("run");
            assert!(status.success(), "mosquitto_passwd: {status}");
        }
        let mut acl = format!("user {NODE}\n");
        for k in Inbound::ALL {
            acl += &format!("topic read kk/v1/+/{}\n", k.suffix());
        }
        for k in Outbound::ALL {
            acl += &format!("topic write kk/v1/+/{}\n", k.suffix());
        }
        acl += "\n";
        for k in Inbound::ALL {
            acl += &format!("pattern write kk/v1/%u/{}\n", k.suffix());
        }
        for k in Outbound::ALL {
            acl += &format!("pattern read kk/v1/%u/{}\n", k.suffix());
        }
        std::fs::write(dir.path().join("acl"), acl).expect("write acl");

        let port =
            TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port();
        let mut conf = format!(
            "listener {port} 127.0.0.1\nallow_anonymous false\nuse_username_as_clientid true\n\
             password_file {}\nacl_file {}\nmax_packet_size 70000\npersistence false\nlog_dest stderr\n",
            passwd.display(),
            dir.path().join("acl").display()
        );
        // As root, Mosquitto would switch to its own user, which cannot read our temp dir.
        if is_root().await {
            conf += "user root\n";
        }
        let conf_path = dir.path().join("mosquitto.conf");
        std::fs::write(&conf_path, conf).expect("write conf");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let child = spawn(&conf_path, addr).await;
        Mosquitto { addr, conf: conf_path, child, _dir: dir }
    }

    /// Kills the broker (as a crash would) and starts it again on the same port.
    async fn restart(&mut self, between: impl AsyncFnOnce()) {
        self.child.kill().await.expect("kill mosquitto");
        between().await;
        self.child = spawn(&self.conf, self.addr).await;
    }

    async fn gateway(&self) -> (Gateway, Shutdown) {
        let (shutdown, signal) = Shutdown::new();
        let cfg = GatewayConfig::External {
            host: self.addr.ip().to_string(),
            port: self.addr.port(),
            ca_file: None,
            plain: true,
            client_id: NODE.into(),
            username: NODE.into(),
            password: Secret::new(NODE_SECRET),
            shared_group: "kankan".into(),
        };
        let gw = kankan_gateway::start(&cfg, Arc::new(Secrets::ab()), signal).await.expect("start");
        assert!(gw.local_addr.is_none());
        eventually("the gateway subscribed", || gw.handle.is_ready()).await;
        (gw, shutdown)
    }
}

/// Starts Mosquitto and waits until it accepts connections.
async fn spawn(conf: &std::path::Path, addr: SocketAddr) -> Child {
    let child = Command::new(tool("mosquitto"))
        .arg("-c")
        .arg(conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start mosquitto");
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "mosquitto did not start listening");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child
}

async fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().await.expect("run id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// The next message on any lane.
async fn next(gw: &mut Gateway) -> kankan_gateway::DeviceMessage {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        for lane in &mut gw.lanes {
            if let Ok(m) = lane.try_recv() {
                return m;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "a message in time");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn external_mode_carries_device_messages_and_commands() {
    let broker = Mosquitto::start().await;
    let (mut gw, _shutdown) = broker.gateway().await;

    let mut a = DeviceOpts::new(broker.addr, A, SECRET_A).connect().await.expect("A");
    assert!(matches!(
        a.subscribe(&outbound_topic(A, Outbound::Cmd)).await,
        SubscribeReasonCode::Success(_)
    ));
    a.publish(&inbound_topic(A, Inbound::State), r#"{"battery":97}"#).await;
    let m = next(&mut gw).await;
    assert_eq!(
        (m.uid.as_str(), m.kind, &m.payload[..]),
        (A, Inbound::State, &br#"{"battery":97}"#[..])
    );

    gw.handle.publish(A, Outbound::Cmd, &b"snapshot"[..]).await.expect("cmd");
    let (topic, payload, _) = a.recv().await;
    assert_eq!((topic.as_str(), &payload[..]), ("kk/v1/KKAAAA000001/cmd", &b"snapshot"[..]));

    // Desired settings are retained by the external broker too: once B got them live, a
    // later subscription gets them again.
    let mut b = DeviceOpts::new(broker.addr, B, SECRET_B).connect().await.expect("B");
    b.subscribe(&outbound_topic(B, Outbound::Desired)).await;
    gw.handle.publish(B, Outbound::Desired, &b"v1"[..]).await.expect("desired");
    assert_eq!(b.recv().await.1, b"v1");
    drop(b);
    let mut b = DeviceOpts::new(broker.addr, B, SECRET_B).connect().await.expect("B again");
    b.subscribe(&outbound_topic(B, Outbound::Desired)).await;
    let (_, payload, retain) = b.recv().await;
    assert_eq!((&payload[..], retain), (&b"v1"[..], true));
}

#[tokio::test]
async fn external_broker_rules_keep_devices_apart() {
    let broker = Mosquitto::start().await;
    let (mut gw, _shutdown) = broker.gateway().await;
    let mut a = DeviceOpts::new(broker.addr, A, SECRET_A).connect().await.expect("A");

    a.publish(&inbound_topic(B, Inbound::State), "forged").await;
    a.publish(&inbound_topic(A, Inbound::State), "marker").await;
    let m = next(&mut gw).await;
    assert_eq!((m.uid.as_str(), &m.payload[..]), (A, &b"marker"[..]));

    a.subscribe(&outbound_topic(B, Outbound::Cmd)).await;
    a.subscribe(&outbound_topic(A, Outbound::Cmd)).await;
    gw.handle.publish(B, Outbound::Cmd, &b"for B"[..]).await.expect("cmd B");
    gw.handle.publish(A, Outbound::Cmd, &b"for A"[..]).await.expect("cmd A");
    assert_eq!(a.recv().await.1, b"for A");

    // Wrong secret.
    assert!(DeviceOpts::new(broker.addr, A, "wrong").connect().await.is_err());
}

#[tokio::test]
async fn external_mode_presence_follows_the_devices_last_will() {
    let broker = Mosquitto::start().await;
    let (mut gw, _shutdown) = broker.gateway().await;
    let presence = inbound_topic(A, Inbound::Presence);
    let mut a = DeviceOpts::new(broker.addr, A, SECRET_A)
        .will(&presence, "offline")
        .connect()
        .await
        .expect("A");
    a.publish(&presence, "online").await;
    let m = next(&mut gw).await;
    assert_eq!((m.uid.as_str(), m.kind, &m.payload[..]), (A, Inbound::Presence, &b"online"[..]));
    assert!(gw.handle.is_connected(A));
    assert_eq!(gw.handle.stats().connected, 1);

    drop(a); // no DISCONNECT: the broker publishes the will
    let m = next(&mut gw).await;
    assert_eq!((m.uid.as_str(), m.kind, &m.payload[..]), (A, Inbound::Presence, &b"offline"[..]));
    assert!(!gw.handle.is_connected(A));
}

#[tokio::test]
async fn external_mode_recovers_after_a_broker_restart() {
    let mut broker = Mosquitto::start().await;
    let (mut gw, _shutdown) = broker.gateway().await;
    let handle = gw.handle.clone();
    broker
        .restart(async || {
            eventually("the gateway notices the broker is gone", || !handle.is_ready()).await
        })
        .await;
    eventually("the gateway subscribed again", || gw.handle.is_ready()).await;

    let mut a = DeviceOpts::new(broker.addr, A, SECRET_A).connect().await.expect("A");
    a.publish(&inbound_topic(A, Inbound::Event), "after the restart").await;
    let m = next(&mut gw).await;
    assert_eq!((m.uid.as_str(), &m.payload[..]), (A, &b"after the restart"[..]));
}
