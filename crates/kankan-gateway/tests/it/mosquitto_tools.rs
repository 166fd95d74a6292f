//! Debian's Mosquitto command-line clients, as devices, against the embedded broker.

use std::process::Stdio;

use kankan_gateway::Outbound;
use kankan_gateway::topics::{Inbound, inbound_topic, outbound_topic};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::support::{A, SECRET_A, TestGateway, WAIT, tool};

fn client(gw: &TestGateway, name: &str, uid: &str, secret: &str) -> Command {
    let mut cmd = Command::new(tool(name));
    cmd.args(["-h", "127.0.0.1", "-p", &gw.addr.port().to_string()])
        .args(["-i", uid, "-u", uid, "-P", secret, "-q", "1"])
        .kill_on_drop(true);
    cmd
}

#[tokio::test]
async fn mosquitto_pub_with_device_credentials_reaches_the_server() {
    let mut gw = TestGateway::start().await;
    for version in ["mqttv311", "mqttv5"] {
        let status = client(&gw, "mosquitto_pub", A, SECRET_A)
            .args(["-V", version, "-t", &inbound_topic(A, Inbound::Event), "-m", version])
            .status()
            .await
            .expect("run mosquitto_pub");
        assert!(status.success(), "mosquitto_pub -V {version}: {status}");
        let m = gw.next_data().await;
        assert_eq!(
            (m.uid.as_str(), m.kind, &m.payload[..]),
            (A, Inbound::Event, version.as_bytes())
        );
    }

    let refused = client(&gw, "mosquitto_pub", A, "wrong")
        .args(["-t", &inbound_topic(A, Inbound::Event), "-m", "x"])
        .stderr(Stdio::null())
        .status()
        .await
        .expect("run mosquitto_pub");
    assert!(!refused.success());
}

#[tokio::test]
async fn mosquitto_sub_receives_desired_settings_and_commands() {
    let gw = TestGateway::start().await;
    gw.handle.publish(A, Outbound::Desired, &br#"{"version":7}"#[..]).await.expect("desired");

    let mut sub = client(&gw, "mosquitto_sub", A, SECRET_A)
        .args(["-v", "-C", "2", "-W", "30"])
        .args([
            "-t",
            &outbound_topic(A, Outbound::Desired),
            "-t",
            &outbound_topic(A, Outbound::Cmd),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("run mosquitto_sub");
    let mut lines = BufReader::new(sub.stdout.take().expect("stdout")).lines();
    let mut next_line = async || {
        tokio::time::timeout(WAIT, lines.next_line()).await.expect("line in time").expect("read")
    };

    // The retained desired settings arrive once the subscriptions are in place...
    let first = next_line().await.expect("desired line");
    assert_eq!(first, format!("{} {{\"version\":7}}", outbound_topic(A, Outbound::Desired)));
    // ...so a command sent now is delivered too.
    gw.handle.publish(A, Outbound::Cmd, &b"reboot"[..]).await.expect("cmd");
    let second = next_line().await.expect("cmd line");
    assert_eq!(second, format!("{} reboot", outbound_topic(A, Outbound::Cmd)));
    let status = tokio::time::timeout(WAIT, sub.wait()).await.expect("exit in time").expect("wait");
    assert!(status.success(), "{status}");
}

/// Interop over TLS: Mosquitto's clients trust the broker's certificate with `--cafile`;
/// a client speaking plain MQTT to the TLS port gets nothing through.
///
/// Fails without the fix: the embedded broker spoke plain TCP only, so every CONNECT carried
/// the device's secret in clear.
#[tokio::test]
async fn mosquitto_clients_reach_the_broker_over_tls_with_its_certificate() {
    let mut gw = TestGateway::start_tls().await;
    let cafile = gw.cafile.clone().expect("TLS broker");
    let cafile = cafile.to_str().expect("utf-8 path");
    gw.handle.publish(A, Outbound::Desired, &br#"{"version":3}"#[..]).await.expect("desired");

    let status = client(&gw, "mosquitto_pub", A, SECRET_A)
        .args(["--cafile", cafile, "-t", &inbound_topic(A, Inbound::Event), "-m", "over-tls"])
        .status()
        .await
        .expect("run mosquitto_pub");
    assert!(status.success(), "mosquitto_pub --cafile: {status}");
    let m = gw.next_data().await;
    assert_eq!((m.uid.as_str(), &m.payload[..]), (A, &b"over-tls"[..]));

    let out = client(&gw, "mosquitto_sub", A, SECRET_A)
        .args(["--cafile", cafile, "-C", "1", "-W", "20"])
        .args(["-t", &outbound_topic(A, Outbound::Desired)])
        .output();
    let out = tokio::time::timeout(WAIT, out).await.expect("in time").expect("run mosquitto_sub");
    assert!(out.status.success(), "mosquitto_sub --cafile: {}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), r#"{"version":3}"#);

    // Plain MQTT to the TLS listener: refused, nothing delivered.
    let plain = client(&gw, "mosquitto_pub", A, SECRET_A)
        .args(["-t", &inbound_topic(A, Inbound::Event), "-m", "in-clear"])
        .stderr(Stdio::null())
        .status();
    let plain = tokio::time::timeout(WAIT, plain).await.expect("in time").expect("run");
    assert!(!plain.success(), "plain MQTT to the TLS port must fail");
    // A certificate it does not trust: refused too.
    let other = tempfile::tempdir().expect("tmp");
    let stranger = kankan_crypto::tls::load_or_create(other.path(), &[]).expect("identity");
    let untrusted = client(&gw, "mosquitto_pub", A, SECRET_A)
        .args(["--cafile", stranger.cert.to_str().expect("utf-8")])
        .args(["-t", &inbound_topic(A, Inbound::Event), "-m", "x"])
        .stderr(Stdio::null())
        .status();
    let untrusted = tokio::time::timeout(WAIT, untrusted).await.expect("in time").expect("run");
    assert!(!untrusted.success(), "a broker certificate the client does not trust");
}
