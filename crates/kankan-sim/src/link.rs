//! The device's MQTT connection: one rumqttc event loop in its own task that reconnects with
//! backoff, and a non-blocking way to publish.
//!
//! The event loop task never waits for the device and the device never waits for the event
//! loop (events go through an unbounded channel, publishes use `try_*`), so neither can stall
//! the other, whatever the network does.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use rumqttc::{AsyncClient, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, QoS};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::{Backoff, ServerAddr};
use crate::telemetry::Rng;

/// Requests the device may queue while the event loop is busy or offline.
const REQUEST_CAPACITY: usize = 256;
/// The largest packet either way (the gateway's payload limit is 64 KiB).
const MAX_PACKET: usize = 256 * 1024;

/// The topics of device `uid`.
#[derive(Debug, Clone)]
pub struct Topics {
    pub state: String,
    pub ack: String,
    pub claim: String,
    pub presence: String,
    pub cmd: String,
    pub desired: String,
    pub claim_result: String,
    pub event: String,
    pub secret: String,
}

impl Topics {
    pub fn new(uid: &str) -> Topics {
        let t = |suffix: &str| format!("kk/v1/{uid}/{suffix}");
        Topics {
            state: t("state"),
            ack: t("ack"),
            claim: t("claim"),
            event: t("event"),
            presence: t("presence"),
            cmd: t("cmd"),
            desired: t("desired"),
            claim_result: t("claim/result"),
            secret: t("secret"),
        }
    }
}

/// What the connection reports to the device.
#[derive(Debug)]
pub enum LinkEvent {
    /// CONNACK received: a (re)connection is up.
    Connected { session_present: bool },
    /// The connection (or an attempt) failed; the link retries after a backoff.
    Lost(String),
    /// A message arrived on a subscribed topic.
    Message { topic: String, payload: Bytes },
}

/// How to log in.
#[derive(Debug, Clone)]
pub struct Login<'a> {
    pub uid: &'a str,
    pub secret: &'a str,
    pub server: &'a ServerAddr,
    /// The server key to hold an `mqtts://` server to.
    pub pin: Option<crate::tls::Pin>,
    pub keep_alive: Duration,
    pub backoff: Backoff,
}

/// A live connection (or one trying to be).
pub struct Link {
    client: AsyncClient,
    /// Publishes queued and not acknowledged by the broker yet.
    unacked: Arc<AtomicUsize>,
    pub events: mpsc::UnboundedReceiver<LinkEvent>,
    task: JoinHandle<()>,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Link {
    /// Starts connecting: persistent session, last will `offline` on the presence topic; over
    /// TLS to an `mqtts://` server, which must present the pinned key (a device without a pin
    /// for it never connects).
    pub fn start(login: &Login<'_>, topics: &Topics, rng: Rng) -> Link {
        let mut opts = MqttOptions::new(login.uid, login.server.host.clone(), login.server.port);
        if login.server.tls {
            // Without a pin nothing matches: all-zero is no key's SHA-256.
            opts.set_transport(crate::tls::mqtt_transport(
                login.pin.unwrap_or(crate::tls::Pin([0; 32])),
            ));
        }
        opts.set_credentials(login.uid, login.secret);
        opts.set_clean_session(false);
        // rumqttc refuses keep-alives under a second.
        opts.set_keep_alive(login.keep_alive.max(Duration::from_secs(1)));
        opts.set_max_packet_size(MAX_PACKET, MAX_PACKET);
        opts.set_last_will(LastWill::new(&topics.presence, "offline", QoS::AtLeastOnce, false));
        let (client, eventloop) = AsyncClient::new(opts, REQUEST_CAPACITY);
        let (tx, events) = mpsc::unbounded_channel();
        let unacked = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(drive(eventloop, tx, login.backoff, rng, unacked.clone()));
        Link { client, unacked, events, task }
    }

    /// Queues a QoS 1 publish; false (and a log line) when the queue is full or closed.
    pub fn publish(&self, topic: &str, payload: Vec<u8>) -> bool {
        match self.client.try_publish(topic, QoS::AtLeastOnce, false, payload) {
            Ok(()) => {
                self.unacked.fetch_add(1, Ordering::SeqCst);
                true
            }
            Err(e) => {
                tracing::warn!(topic, error = %e, "publish dropped");
                false
            }
        }
    }

    /// Queues QoS 1 subscriptions.
    pub fn subscribe(&self, filters: &[&str]) {
        let many =
            filters.iter().map(|f| rumqttc::SubscribeFilter::new(f.to_string(), QoS::AtLeastOnce));
        if let Err(e) = self.client.try_subscribe_many(many) {
            tracing::warn!(error = %e, "subscribe dropped");
        }
    }

    /// Says goodbye once the broker acknowledged what was published (a reboot's last
    /// reports), then DISCONNECT; waits up to `wait` in all.
    pub async fn close(mut self, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        while self.unacked.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let wait = deadline.saturating_duration_since(tokio::time::Instant::now());
        if self.client.try_disconnect().is_ok() {
            let _ = tokio::time::timeout(wait, &mut self.task).await;
        }
    }
}

/// Polls the event loop forever, reconnecting after failures with jittered backoff; ends
/// after sending DISCONNECT or when the device is gone.
async fn drive(
    mut eventloop: EventLoop,
    tx: mpsc::UnboundedSender<LinkEvent>,
    backoff: Backoff,
    mut rng: Rng,
    unacked: Arc<AtomicUsize>,
) {
    let mut attempt = 0u32;
    loop {
        let event = match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                attempt = 0;
                LinkEvent::Connected { session_present: ack.session_present }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                LinkEvent::Message { topic: p.topic, payload: p.payload }
            }
            Ok(Event::Incoming(Packet::PubAck(_))) => {
                let _ =
                    unacked.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
                continue;
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => return,
            Ok(_) => continue,
            Err(e) => {
                let delay = backoff.delay(attempt, rng.unit());
                attempt = attempt.saturating_add(1);
                if attempt == 1 || attempt.is_multiple_of(10) {
                    tracing::warn!(error = %e, attempt, ?delay, "cannot reach the server; retrying");
                } else {
                    tracing::debug!(error = %e, attempt, ?delay, "cannot reach the server; retrying");
                }
                if tx.send(LinkEvent::Lost(e.to_string())).is_err() {
                    return;
                }
                tokio::time::sleep(delay).await;
                continue;
            }
        };
        if tx.send(event).is_err() {
            return;
        }
    }
}
