//! External-broker mode: the server is an MQTT client of a broker cluster.
//!
//! Each server node connects with its own client id and reads every device → server topic
//! through a shared subscription (`$share/{group}/kk/v1/+/state`, ...), so the nodes of one
//! group split the device traffic between them. It publishes to devices with QoS 1, `desired`
//! retained. The connection is TLS (rustls), trusting the certificate authorities in
//! `ca_file`; `plain = true` (lab only) connects over plain TCP.
//!
//! The broker, not this crate, then authenticates devices and enforces the topic rules of
//! [`crate::topics`]; the uid of a message is the one in its topic, which those rules tie to
//! the login. Presence comes from the devices' own `presence` messages and last wills.
//!
//! # Mosquitto (2.0) configuration
//!
//! Tested against Debian's Mosquitto 2.0.11 (see `tests/it/external.rs`).
//!
//! ```text
//! # /etc/mosquitto/conf.d/kankan.conf
//! listener 8883
//! certfile /etc/mosquitto/certs/broker.crt
//! keyfile /etc/mosquitto/certs/broker.key
//! allow_anonymous false
//! # The login name becomes the client id, so no device can take over another's session.
//! # Each server node therefore logs in with its own name (client_id = username).
//! use_username_as_clientid true
//! password_file /etc/mosquitto/kankan.passwd
//! acl_file /etc/mosquitto/kankan.acl
//! # a little above the gateway's 64 KiB payload limit
//! max_packet_size 70000
//! ```
//!
//! A password file holds the factory secrets, which the server then does not rotate. Where
//! the broker can ask over HTTP (EMQX's HTTP authenticator and authorizer), set
//! `devices.broker_token` and point it at `/internal/v1/mqtt/auth` and `/acl` instead: device
//! logins are then checked against the secrets the server holds, and rotated (docs/deploy.md).
//!
//! Passwords: `mosquitto_passwd -c -b /etc/mosquitto/kankan.passwd kankan-node-1 'NODE-SECRET'`
//! once (`-c` creates the file), then `mosquitto_passwd -b /etc/mosquitto/kankan.passwd
//! KK1A2B3C4D5E 'DEVICE-SECRET'` per device, then `kill -HUP` the broker to reload.
//!
//! ```text
//! # /etc/mosquitto/kankan.acl
//! # One block per Kankan server node (a name that cannot be a device uid).
//! user kankan-node-1
//! topic read kk/v1/+/state
//! topic read kk/v1/+/event
//! topic read kk/v1/+/ack
//! topic read kk/v1/+/claim
//! topic read kk/v1/+/presence
//! topic write kk/v1/+/cmd
//! topic write kk/v1/+/desired
//! topic write kk/v1/+/claim/result
//! topic write kk/v1/+/secret
//!
//! # Every device, %u being its username = uid: its own topics only.
//! pattern write kk/v1/%u/state
//! pattern write kk/v1/%u/event
//! pattern write kk/v1/%u/ack
//! pattern write kk/v1/%u/claim
//! pattern write kk/v1/%u/presence
//! pattern read kk/v1/%u/cmd
//! pattern read kk/v1/%u/desired
//! pattern read kk/v1/%u/claim/result
//! pattern read kk/v1/%u/secret
//! ```

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use kankan_base::ShutdownSignal;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS, SubscribeFilter};

use crate::stats::bump;
use crate::topics::{self, Inbound, MAX_PAYLOAD_BYTES, TopicKind};
use crate::{DeviceMessage, GatewayConfig, GatewayError, Inbox};

/// How long to wait before reconnecting after the broker connection failed.
const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// Outgoing messages that may wait (in memory) for the broker connection.
const OUTGOING_QUEUE: usize = 256;

/// How long a publish may wait for room in that queue before it fails.
const QUEUE_WAIT: Duration = Duration::from_secs(5);

/// The server's MQTT connection to the external broker.
pub(crate) struct Client {
    client: AsyncClient,
    online: Arc<Mutex<HashSet<String>>>,
    ready: Arc<AtomicBool>,
}

fn lock(online: &Mutex<HashSet<String>>) -> MutexGuard<'_, HashSet<String>> {
    // One insert or remove per update: the set stays consistent even after a panic.
    online.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Client {
    pub fn start(
        cfg: &GatewayConfig,
        inbox: Arc<Inbox>,
        shutdown: ShutdownSignal,
    ) -> Result<Client, GatewayError> {
        let GatewayConfig::External {
            host,
            port,
            ca_file,
            plain,
            client_id,
            username,
            password,
            shared_group,
        } = cfg
        else {
            return Err(GatewayError::Config("not an external-broker configuration".into()));
        };
        let mut opts = MqttOptions::new(client_id.clone(), host.clone(), *port);
        if !plain {
            let ca = ca_file.as_deref().ok_or_else(|| {
                GatewayError::Config("ca_file is required unless plain = true".into())
            })?;
            opts.set_transport(rumqttc::Transport::Tls(rumqttc::TlsConfiguration::Rustls(
                Arc::new(client_tls(ca)?),
            )));
        }
        opts.set_credentials(username.clone(), password.expose().to_string());
        opts.set_keep_alive(Duration::from_secs(30));
        // Subscriptions are renewed on every connect; the broker need not remember this node.
        opts.set_clean_session(true);
        let max_packet = 2 * MAX_PAYLOAD_BYTES;
        opts.set_max_packet_size(max_packet, max_packet);
        let (client, eventloop) = AsyncClient::new(opts, OUTGOING_QUEUE);

        let online = Arc::new(Mutex::new(HashSet::new()));
        let ready = Arc::new(AtomicBool::new(false));
        let session = Session {
            client: client.clone(),
            inbox,
            online: online.clone(),
            ready: ready.clone(),
            filters: Inbound::ALL
                .iter()
                .map(|k| {
                    SubscribeFilter::new(
                        topics::shared_inbound_filter(shared_group, *k),
                        QoS::AtLeastOnce,
                    )
                })
                .collect(),
        };
        tokio::spawn(session.run(eventloop, shutdown));
        Ok(Client { client, online, ready })
    }

    /// Queues a message for the broker; it is sent (again) once the connection is up.
    pub async fn publish(
        &self,
        topic: String,
        retain: bool,
        payload: Bytes,
    ) -> Result<(), GatewayError> {
        let queued = self.client.publish_bytes(topic, QoS::AtLeastOnce, retain, payload);
        match tokio::time::timeout(QUEUE_WAIT, queued).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(GatewayError::Stopped),
            Err(_) => Err(GatewayError::Backlogged),
        }
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    pub fn online_count(&self) -> u64 {
        lock(&self.online).len() as u64
    }

    pub fn is_online(&self, uid: &str) -> bool {
        lock(&self.online).contains(uid)
    }
}

/// A TLS client configuration trusting the PEM certificates in `ca_file`.
fn client_tls(ca_file: &std::path::Path) -> Result<rustls::ClientConfig, GatewayError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let bad = |e: String| GatewayError::Config(format!("ca_file {}: {e}", ca_file.display()));
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_file).map_err(|e| bad(e.to_string()))? {
        roots.add(cert.map_err(|e| bad(e.to_string()))?).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("no certificate in the file".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The task that drives the connection and reads device messages.
struct Session {
    client: AsyncClient,
    inbox: Arc<Inbox>,
    online: Arc<Mutex<HashSet<String>>>,
    ready: Arc<AtomicBool>,
    filters: Vec<SubscribeFilter>,
}

impl Session {
    async fn run(self, mut eventloop: EventLoop, mut shutdown: ShutdownSignal) {
        loop {
            let event = tokio::select! {
                () = shutdown.wait() => break,
                event = eventloop.poll() => event,
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    tracing::info!("connected to the external MQTT broker");
                    // Non-blocking: this task is the one that drains the request queue.
                    if let Err(e) = self.client.try_subscribe_many(self.filters.clone()) {
                        tracing::error!(error = %e, "cannot subscribe to device topics");
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(ack))) => {
                    let refused = ack
                        .return_codes
                        .iter()
                        .any(|c| matches!(c, rumqttc::SubscribeReasonCode::Failure));
                    if refused {
                        tracing::error!(
                            "the external broker refused a device-topic subscription: check its ACL"
                        );
                    }
                    self.ready.store(!refused, Ordering::SeqCst);
                }
                Ok(Event::Incoming(Packet::Publish(p))) => self.incoming(&p.topic, p.payload).await,
                Ok(_) => {}
                Err(e) => {
                    self.ready.store(false, Ordering::SeqCst);
                    tracing::warn!(error = %e, "external MQTT broker connection failed; retrying");
                    tokio::select! {
                        () = shutdown.wait() => break,
                        () = tokio::time::sleep(RECONNECT_DELAY) => {}
                    }
                }
            }
        }
        self.ready.store(false, Ordering::SeqCst);
        // Best effort: say goodbye and let the event loop send it.
        if self.client.try_disconnect().is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(1), eventloop.poll()).await;
        }
        tracing::info!("external MQTT gateway stopped");
    }

    async fn incoming(&self, topic: &str, payload: Bytes) {
        let counters = &self.inbox.counters;
        let (uid, kind) = match topics::parse(topic) {
            Some(t) => match t.kind {
                TopicKind::Inbound(kind) => (t.uid, kind),
                TopicKind::Outbound(_) => {
                    bump(&counters.rejected_malformed);
                    return;
                }
            },
            None => {
                bump(&counters.rejected_malformed);
                tracing::info!(topic = ?topic, "message on an unknown topic dropped");
                return;
            }
        };
        if payload.len() > MAX_PAYLOAD_BYTES {
            bump(&counters.rejected_oversized);
            tracing::info!(uid, size = payload.len(), "oversized message dropped");
            return;
        }
        if kind == Inbound::Presence {
            match &payload[..] {
                b"online" => {
                    lock(&self.online).insert(uid.to_string());
                }
                b"offline" => {
                    lock(&self.online).remove(uid);
                }
                _ => {
                    bump(&counters.rejected_malformed);
                    tracing::info!(uid, "presence message neither online nor offline dropped");
                    return;
                }
            }
        }
        self.inbox.deliver(DeviceMessage { uid: uid.to_string(), kind, payload }).await;
    }
}
