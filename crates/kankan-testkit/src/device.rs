//! A bare MQTT device for tests: a rumqttc client with a device's credentials that records
//! what it receives and sends raw payloads, for journeys and hostile input alike. Journeys
//! that need firmware behaviour use `kankan-cam` instead.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long waits for messages last.
const WAIT: Duration = Duration::from_secs(15);

/// A connected test device.
pub struct TestDevice {
    pub uid: String,
    client: AsyncClient,
    inbox: mpsc::UnboundedReceiver<(String, Vec<u8>)>,
    task: JoinHandle<()>,
}

impl Drop for TestDevice {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestDevice {
    /// Connects as `uid` with `secret`, with a last will on its presence topic, and
    /// subscribes to its command, desired and claim-result topics. A test server's TLS
    /// broker is reached over TLS, held to the server's key ([`crate::broker_pin`]).
    pub async fn connect(addr: SocketAddr, uid: &str, secret: &str) -> Result<TestDevice> {
        let mut opts = MqttOptions::new(uid, addr.ip().to_string(), addr.port());
        if let Some(pin) = crate::broker_pin(addr) {
            let tls = kankan_crypto::tls::pinned_client_config(pin);
            opts.set_transport(rumqttc::Transport::Tls(rumqttc::TlsConfiguration::Rustls(
                std::sync::Arc::new(tls),
            )));
        }
        opts.set_credentials(uid, secret);
        opts.set_keep_alive(Duration::from_secs(5));
        opts.set_last_will(LastWill::new(
            format!("kk/v1/{uid}/presence"),
            "offline",
            QoS::AtLeastOnce,
            false,
        ));
        let (client, mut eventloop) = AsyncClient::new(opts, 64);
        let (tx, inbox) = mpsc::unbounded_channel();
        let (ready_tx, mut ready_rx) = mpsc::unbounded_channel::<Result<(), String>>();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = ready_tx.send(Ok(()));
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let _ = tx.send((p.topic.clone(), p.payload.to_vec()));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                }
            }
        });
        match tokio::time::timeout(WAIT, ready_rx.recv()).await {
            Ok(Some(Ok(()))) => {}
            Ok(Some(Err(e))) => bail!("device {uid} could not connect: {e}"),
            _ => bail!("device {uid} got no CONNACK"),
        }
        for t in ["cmd", "desired", "claim/result"] {
            client.subscribe(format!("kk/v1/{uid}/{t}"), QoS::AtLeastOnce).await?;
        }
        Ok(TestDevice { uid: uid.to_string(), client, inbox, task })
    }

    /// Publishes raw bytes to one of its topics (`state`, `ack`, `claim`, ...).
    pub async fn publish(&self, topic: &str, payload: impl Into<Vec<u8>>) -> Result<()> {
        let t = format!("kk/v1/{}/{topic}", self.uid);
        self.client.publish(t, QoS::AtLeastOnce, false, payload.into()).await?;
        Ok(())
    }

    /// Publishes a JSON value.
    pub async fn publish_json(&self, topic: &str, v: &serde_json::Value) -> Result<()> {
        self.publish(topic, serde_json::to_vec(v)?).await
    }

    /// Waits for the next message on `kk/v1/{uid}/{topic}` and parses it as JSON.
    pub async fn next_on(&mut self, topic: &str) -> Result<serde_json::Value> {
        let want = format!("kk/v1/{}/{topic}", self.uid);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let (t, payload) = tokio::time::timeout(left, self.inbox.recv())
                .await
                .with_context(|| format!("no message on {want}"))?
                .context("device connection closed")?;
            if t == want {
                return serde_json::from_slice(&payload).context("payload is not JSON");
            }
        }
    }

    /// Waits for the next message on any of its topics: the topic's last levels (after
    /// `kk/v1/{uid}/`) and the payload, in the order they arrived.
    pub async fn next_message(&mut self) -> Result<(String, Vec<u8>)> {
        let (topic, payload) = tokio::time::timeout(WAIT, self.inbox.recv())
            .await
            .context("no message")?
            .context("device connection closed")?;
        let prefix = format!("kk/v1/{}/", self.uid);
        Ok((topic.strip_prefix(&prefix).unwrap_or(&topic).to_string(), payload))
    }

    /// Disconnects cleanly (no last will).
    pub async fn disconnect(self) -> Result<()> {
        self.client.disconnect().await?;
        Ok(())
    }
}

/// A state report with the given settings version, as firmware would send it.
pub fn state_report(seq: u64, settings: serde_json::Value, version: u64) -> serde_json::Value {
    serde_json::json!({
        "seq": seq, "model": "KK-C1", "firmware": "1.0.0-test", "mac": "02:00:00:00:00:01",
        "timezone": "Asia/Shanghai", "lan_ip": "192.168.1.20", "ssid": "Home",
        "signal_dbm": -55, "battery_pct": null, "charging": false,
        "sd_card": {"status": "ok", "total_mb": 32000, "used_mb": 1000},
        "sim": null, "settings": settings, "settings_version": version
    })
}
