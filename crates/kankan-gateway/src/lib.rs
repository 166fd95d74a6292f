//! The device control plane over MQTT: an embedded broker, or a client of an external one.
//!
//! Devices talk MQTT on the topics described in [`topics`]. The server sees them through this
//! crate only:
//!
//! - [`start`] runs the gateway and returns a [`Gateway`]: a [`GatewayHandle`] to publish to
//!   devices, the [`DeviceMessage`]s devices sent, in [`LANES`] lanes (a device's messages
//!   always on the same lane, in order), and the address the embedded broker listens on.
//! - In **embedded** mode (the default) an rmqtt broker runs inside this process. It asks the
//!   server's [`DeviceAuthenticator`] whether a device's secret is right, enforces the topic
//!   rules itself, and reports presence from its own view of the connections.
//! - In **external** mode the server is one MQTT client among many server nodes, reading
//!   device messages through shared subscriptions; the external broker authenticates devices
//!   and enforces the same rules (see [`external`] for a Mosquitto configuration).
//!
//! Payloads are opaque bytes here: the server decodes them (the JSON shapes belong to
//! `kankan-protocol`).

pub mod config;
mod embedded;
pub mod error;
pub mod external;
mod limit;
pub mod stats;
pub mod topics;

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use kankan_base::ShutdownSignal;
use tokio::sync::mpsc;

pub use config::{GatewayConfig, TlsFiles};
pub use error::GatewayError;
pub use stats::GatewayStats;
pub use topics::{Inbound, MAX_PAYLOAD_BYTES, Outbound};

use stats::{Counters, bump};

/// How many lanes device messages come in. Each device hashes to one lane, and is held to its
/// own pace before it gets there (see `limit`: a flooding device's excess is dropped, not
/// queued); a lane that is full (its consumer behind: a slow write) slows down only the
/// devices of that lane, in embedded mode (one connection waits for its own lane). An external broker's
/// messages arrive on one connection: there a full lane holds up that connection.
pub const LANES: usize = 32;
/// How many messages may wait in one lane before its devices are slowed down.
const LANE_CAPACITY: usize = 64;

/// Checks device credentials for the embedded broker.
#[async_trait]
pub trait DeviceAuthenticator: Send + Sync + 'static {
    /// True if `secret` is the secret of device `uid` (the server checks a hash).
    ///
    /// Called only with a well-formed uid; failures are counted and logged by the gateway.
    async fn authenticate(&self, uid: &str, secret: &str) -> bool;
}

/// A message a device sent, with the uid the gateway vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceMessage {
    /// The sender: in embedded mode the logged-in identity, in external mode the uid in the
    /// topic (which the broker's rules tie to the login).
    pub uid: String,
    pub kind: Inbound,
    pub payload: Bytes,
}

/// A running gateway, as returned by [`start`].
#[derive(Debug)]
pub struct Gateway {
    /// Cloneable handle for publishing and status.
    pub handle: GatewayHandle,
    /// Messages from devices, in [`LANES`] lanes: all of a device's messages on one lane
    /// ([`lane_of`]), in arrival order. A device is slowed down (its messages are not dropped)
    /// while its lane is full; dropping a lane makes the gateway drop and count its messages.
    pub lanes: Vec<mpsc::Receiver<DeviceMessage>>,
    /// Where the embedded broker listens (`None` in external mode).
    pub local_addr: Option<SocketAddr>,
}

/// Starts a gateway without a TLS identity: an external broker, or an embedded one in a lab
/// (`plain = true`); see [`start_with_tls`].
pub async fn start(
    cfg: &GatewayConfig,
    auth: Arc<dyn DeviceAuthenticator>,
    shutdown: ShutdownSignal,
) -> Result<Gateway, GatewayError> {
    start_with_tls(cfg, None, auth, shutdown).await
}

/// Starts the gateway; it runs until `shutdown` fires.
///
/// The embedded broker serves MQTT over TLS with `tls` (required unless the configuration
/// says `plain`). `auth` is used by the embedded broker only (an external broker checks
/// secrets itself).
pub async fn start_with_tls(
    cfg: &GatewayConfig,
    tls: Option<&TlsFiles>,
    auth: Arc<dyn DeviceAuthenticator>,
    shutdown: ShutdownSignal,
) -> Result<Gateway, GatewayError> {
    cfg.validate()?;
    let (lanes_tx, lanes): (Vec<_>, Vec<_>) =
        (0..LANES).map(|_| mpsc::channel(LANE_CAPACITY)).unzip();
    let inbox = Arc::new(Inbox {
        lanes: lanes_tx,
        counters: Counters::default(),
        limits: limit::DeviceLimits::default(),
    });
    let (backend, local_addr) = match cfg {
        GatewayConfig::Embedded { listen, plain } => {
            let tls = match (tls, plain) {
                (_, true) => None,
                (Some(files), false) => Some(files),
                (None, false) => {
                    return Err(GatewayError::Config(
                        "the embedded broker needs a TLS certificate and key (or plain = true \
                         in a lab)"
                            .into(),
                    ));
                }
            };
            let (broker, addr) =
                embedded::start(*listen, tls, auth, inbox.clone(), shutdown).await?;
            (Backend::Embedded(broker), Some(addr))
        }
        GatewayConfig::External { .. } => {
            (Backend::External(external::Client::start(cfg, inbox.clone(), shutdown)?), None)
        }
    };
    let handle = GatewayHandle { inner: Arc::new(Inner { backend, inbox }) };
    Ok(Gateway { handle, lanes, local_addr })
}

/// Publishes to devices and reports on them; cheap to clone.
#[derive(Clone)]
pub struct GatewayHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for GatewayHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.inner.backend {
            Backend::Embedded(_) => "embedded",
            Backend::External(_) => "external",
        };
        f.debug_struct("GatewayHandle").field("mode", &mode).finish_non_exhaustive()
    }
}

struct Inner {
    backend: Backend,
    inbox: Arc<Inbox>,
}

enum Backend {
    Embedded(embedded::Broker),
    External(external::Client),
}

impl GatewayHandle {
    /// Sends `payload` to device `uid` on the `kind` topic with QoS 1.
    ///
    /// `Desired` is retained by the broker. A device with a persistent session that is offline
    /// gets the message when it comes back (within the broker's queue limits); a device that
    /// never subscribed does not get it. `Ok` means the broker accepted the message, not that
    /// the device received it: commands are acknowledged on the `ack` topic.
    pub async fn publish(
        &self,
        uid: &str,
        kind: Outbound,
        payload: impl Into<Bytes>,
    ) -> Result<(), GatewayError> {
        let payload = payload.into();
        if !topics::is_valid_uid(uid) {
            return Err(GatewayError::InvalidUid(uid.to_string()));
        }
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(GatewayError::PayloadTooLarge {
                size: payload.len(),
                max: MAX_PAYLOAD_BYTES,
            });
        }
        let topic = topics::outbound_topic(uid, kind);
        match &self.inner.backend {
            Backend::Embedded(b) => b.publish(topic, kind.retained(), payload).await?,
            Backend::External(c) => c.publish(topic, kind.retained(), payload).await?,
        }
        bump(&self.inner.inbox.counters.messages_out);
        Ok(())
    }

    /// The gateway's counters.
    pub fn stats(&self) -> GatewayStats {
        let connected = match &self.inner.backend {
            Backend::Embedded(b) => b.connected_count(),
            Backend::External(c) => c.online_count(),
        };
        self.inner.inbox.counters.snapshot(connected)
    }

    /// Whether the gateway can carry messages now: the embedded broker is running, or the
    /// connection to the external broker is up with its subscriptions in place.
    pub fn is_ready(&self) -> bool {
        match &self.inner.backend {
            Backend::Embedded(b) => b.is_running(),
            Backend::External(c) => c.is_ready(),
        }
    }

    /// Whether device `uid` is connected now: known by the embedded broker, or in external
    /// mode the last presence the device (or its last will) reported.
    pub fn is_connected(&self, uid: &str) -> bool {
        match &self.inner.backend {
            Backend::Embedded(b) => b.is_connected(uid),
            Backend::External(c) => c.is_online(uid),
        }
    }
}

/// The lane of a device's messages: a stable hash (FNV-1a) of its UID.
pub fn lane_of(uid: &str) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in uid.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    usize::try_from(h % LANES as u64).unwrap_or(0)
}

/// Merges lanes into one stream, for consumers that take one message at a time (tests). The
/// order of each device's messages is kept.
pub fn merge_lanes(lanes: Vec<mpsc::Receiver<DeviceMessage>>) -> mpsc::Receiver<DeviceMessage> {
    let (tx, rx) = mpsc::channel(LANE_CAPACITY);
    for mut lane in lanes {
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(m) = lane.recv().await {
                if tx.send(m).await.is_err() {
                    return;
                }
            }
        });
    }
    rx
}

/// Where both modes put device messages, and the counters they share.
pub(crate) struct Inbox {
    lanes: Vec<mpsc::Sender<DeviceMessage>>,
    pub(crate) counters: Counters,
    /// Each device's pace ([`limit`]).
    limits: limit::DeviceLimits,
}

impl Inbox {
    /// Hands a message to the server on its device's lane, waiting while that lane is full;
    /// drops (and counts) a message over the device's limits ([`limit`]). For a connection
    /// shared by many devices (an external broker's).
    pub(crate) async fn deliver(&self, msg: DeviceMessage) {
        if !self.limits.admit(&msg.uid, msg.kind, tokio::time::Instant::now()) {
            bump(&self.counters.rate_limited);
            return;
        }
        self.enqueue(msg).await;
    }

    /// Like [`Inbox::deliver`], but a device over its limits waits for its turn instead: for a
    /// connection of that device alone (the embedded broker's), which it stalls.
    pub(crate) async fn deliver_paced(&self, msg: DeviceMessage) {
        if self.limits.pace(&msg.uid, msg.kind).await {
            bump(&self.counters.rate_limited);
        }
        self.enqueue(msg).await;
    }

    async fn enqueue(&self, msg: DeviceMessage) {
        let lane = &self.lanes[lane_of(&msg.uid)];
        if lane.send(msg).await.is_ok() {
            bump(&self.counters.messages_in);
        } else {
            bump(&self.counters.dropped);
        }
    }
}
