//! The device control plane over MQTT: an embedded broker, or a client of an external one.
//!
//! Devices talk MQTT on the topics described in [`topics`]. The server sees them through this
//! crate only:
//!
//! - [`start`] runs the gateway and returns a [`Gateway`]: a [`GatewayHandle`] to publish to
//!   devices, the stream of [`DeviceMessage`]s devices sent, and the address the embedded
//!   broker listens on.
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
pub mod stats;
pub mod topics;

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use kankan_base::ShutdownSignal;
use tokio::sync::mpsc;

pub use config::GatewayConfig;
pub use error::GatewayError;
pub use stats::GatewayStats;
pub use topics::{Inbound, MAX_PAYLOAD_BYTES, Outbound};

use stats::{Counters, bump};

/// How many device messages may wait for the server before devices are slowed down.
const INBOX_CAPACITY: usize = 1024;

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
    /// Messages from devices, in arrival order per device. Devices are slowed down (not
    /// dropped) while this is full; dropping it makes the gateway drop and count messages.
    pub messages: mpsc::Receiver<DeviceMessage>,
    /// Where the embedded broker listens (`None` in external mode).
    pub local_addr: Option<SocketAddr>,
}

/// Starts the gateway; it runs until `shutdown` fires.
///
/// `auth` is used by the embedded broker only (an external broker checks secrets itself).
pub async fn start(
    cfg: &GatewayConfig,
    auth: Arc<dyn DeviceAuthenticator>,
    shutdown: ShutdownSignal,
) -> Result<Gateway, GatewayError> {
    cfg.validate()?;
    let (tx, messages) = mpsc::channel(INBOX_CAPACITY);
    let inbox = Arc::new(Inbox { tx, counters: Counters::default() });
    let (backend, local_addr) = match cfg {
        GatewayConfig::Embedded { listen } => {
            let (broker, addr) = embedded::start(*listen, auth, inbox.clone(), shutdown).await?;
            (Backend::Embedded(broker), Some(addr))
        }
        GatewayConfig::External { .. } => {
            (Backend::External(external::Client::start(cfg, inbox.clone(), shutdown)?), None)
        }
    };
    let handle = GatewayHandle { inner: Arc::new(Inner { backend, inbox }) };
    Ok(Gateway { handle, messages, local_addr })
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

/// Where both modes put device messages, and the counters they share.
pub(crate) struct Inbox {
    tx: mpsc::Sender<DeviceMessage>,
    pub(crate) counters: Counters,
}

impl Inbox {
    /// Hands a message to the server, waiting while the server is behind.
    pub(crate) async fn deliver(&self, msg: DeviceMessage) {
        if self.tx.send(msg).await.is_ok() {
            bump(&self.counters.messages_in);
        } else {
            bump(&self.counters.dropped);
        }
    }
}
