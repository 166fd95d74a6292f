//! The embedded broker: rmqtt inside this process, with Kankan's rules as hooks.
//!
//! rmqtt is used as a library: a `ServerContext` with our hook handlers (see [`hooks`]) and
//! our retained-message store (see [`retain`]), one listener that speaks MQTT 3.1.1 and 5 over
//! TLS (rustls, the server's certificate and key files), or over plain TCP in a lab.
//! The server's own messages to devices do not go through a loopback client: they enter the
//! broker's router directly (`SessionState::forwards`), exactly as a client's publish would
//! after its checks, so retained `desired` messages and queues of offline persistent
//! sessions behave as for any publish.
//!
//! rmqtt facts this module relies on (0.24.0; keep tests that prove each):
//! - with no hook answering, everything is allowed, and anonymous logins pass unless the
//!   listener refuses them: we refuse both in the listener and in the hook;
//! - the `MessagePublish` hook runs *before* the publish ACL hook, and last wills skip the ACL
//!   hook entirely: device messages are therefore taken in the ACL hook, once allowed, and a
//!   last will's topic is checked at CONNECT;
//! - retained messages need a storage whose `enable()` is true (upstream ships it as the
//!   `rmqtt-retainer` plugin; ours is a small in-memory store for `desired` only).

mod hooks;
mod retain;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use kankan_base::ShutdownSignal;
use rmqtt::codec::types::{Publish as CodecPublish, QoS};
use rmqtt::context::ServerContext;
use rmqtt::hook::Type;
use rmqtt::net::Builder;
use rmqtt::server::MqttServer;
use rmqtt::session::SessionState;
use rmqtt::types::{From, Id, Message, Publish, Reason, TopicName};

use crate::{DeviceAuthenticator, GatewayError, Inbox, MAX_PAYLOAD_BYTES, TlsFiles};

/// Hard limit on an MQTT packet; publishes between [`MAX_PAYLOAD_BYTES`] and this are dropped
/// and counted, larger packets close the connection in the codec.
const MAX_PACKET_BYTES: u32 = 4 * MAX_PAYLOAD_BYTES as u32;

/// Our hooks run before any other handler and end the chain.
const HOOK_PRIORITY: u32 = 1_000;

/// The client id the server's own publishes carry inside the broker (never a valid uid).
const SERVER_ID: &str = "kankan-server";

/// State the hooks and the handle share.
pub(crate) struct State {
    pub inbox: Arc<Inbox>,
    pub auth: Arc<dyn DeviceAuthenticator>,
    /// The current connection of each connected device (a takeover replaces it).
    sessions: Mutex<HashMap<String, Id>>,
}

impl State {
    fn sessions(&self) -> MutexGuard<'_, HashMap<String, Id>> {
        // The map stays consistent even if a holder panicked: every update is one insert/remove.
        self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records `id` as the device's connection.
    pub fn connected(&self, uid: &str, id: &Id) {
        self.sessions().insert(uid.to_string(), id.clone());
    }

    /// Forgets the connection `id`; false if the device has since connected again.
    pub fn disconnected(&self, uid: &str, id: &Id) -> bool {
        let mut sessions = self.sessions();
        if sessions.get(uid) == Some(id) {
            sessions.remove(uid);
            true
        } else {
            false
        }
    }
}

/// The embedded broker, as the handle sees it.
pub(crate) struct Broker {
    scx: ServerContext,
    state: Arc<State>,
    server_id: Id,
    stopped: Arc<AtomicBool>,
}

/// How long a client may take over its TLS handshake.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub(crate) async fn start(
    listen: SocketAddr,
    tls: Option<&TlsFiles>,
    auth: Arc<dyn DeviceAuthenticator>,
    inbox: Arc<Inbox>,
    shutdown: ShutdownSignal,
) -> Result<(Broker, SocketAddr), GatewayError> {
    // The busy check refuses logins when the host's CPU load is high; on a small shared node
    // that would turn a busy minute into devices locked out, so it stays off.
    let scx = ServerContext::new().busy_check_enable(false).build().await;
    *scx.extends.retain_mut().await = Box::new(retain::DesiredStore::default());

    let state = Arc::new(State { inbox, auth, sessions: Mutex::new(HashMap::new()) });
    let register = scx.extends.hook_mgr().register();
    for typ in [
        Type::ClientAuthenticate,
        Type::ClientSubscribeCheckAcl,
        Type::MessagePublishCheckAcl,
        Type::MessagePublish,
        Type::ClientConnected,
        Type::ClientDisconnected,
    ] {
        register.add_priority(typ, HOOK_PRIORITY, Box::new(hooks::Hooks::new(state.clone()))).await;
    }
    register.start().await;

    let bind_err = |e: rmqtt::Error| GatewayError::Bind { addr: listen, message: e.to_string() };
    let builder = Builder::new()
        .name(if tls.is_some() { "kankan/tls" } else { "kankan/tcp" })
        .laddr(listen)
        // A restarted server must get its port back at once, while the old connections
        // linger in TIME_WAIT.
        .reuseaddr(Some(true))
        .allow_anonymous(false)
        // Presence depends on keep-alive: a device must send one.
        .allow_zero_keepalive(false)
        .max_packet_size(MAX_PACKET_BYTES)
        .handshake_timeout(HANDSHAKE_TIMEOUT);
    let listener = match tls {
        Some(files) => builder
            .tls_cert(Some(files.cert.display().to_string()))
            .tls_key(Some(files.key.display().to_string()))
            .bind()
            .and_then(|l| l.tls()),
        None => builder.bind().and_then(|l| l.tcp()),
    }
    .map_err(bind_err)?;
    let local_addr = listener.local_addr().map_err(bind_err)?;
    let server = MqttServer::new(scx.clone()).listener_by_id(listener, 1).build();

    let stopped = Arc::new(AtomicBool::new(false));
    tokio::spawn(run(server, scx.clone(), shutdown, stopped.clone()));
    tracing::info!(%local_addr, tls = tls.is_some(), "embedded MQTT broker listening");

    let server_id = Id::from(scx.node.id(), SERVER_ID.into());
    Ok((Broker { scx, state, server_id, stopped }, local_addr))
}

/// Serves until shutdown, then closes every device connection.
async fn run(
    server: MqttServer,
    scx: ServerContext,
    mut shutdown: ShutdownSignal,
    stopped: Arc<AtomicBool>,
) {
    tokio::select! {
        res = server.run() => {
            if let Err(e) = res {
                tracing::error!(error = %e, "embedded MQTT broker stopped");
            }
        }
        () = shutdown.wait() => {}
    }
    stopped.store(true, Ordering::SeqCst);
    // Dropping `server.run()` closed the listener; now end the sessions it started.
    let txs: Vec<_> = scx.extends.shared().await.iter().filter_map(|entry| entry.tx()).collect();
    for tx in txs {
        let _ = tx.unbounded_send(Message::Closed(Reason::from_static("server shutting down")));
    }
    tracing::info!("embedded MQTT broker stopped");
}

impl Broker {
    pub async fn publish(
        &self,
        topic: String,
        retain: bool,
        payload: Bytes,
    ) -> Result<(), GatewayError> {
        if self.stopped.load(Ordering::SeqCst) {
            return Err(GatewayError::Stopped);
        }
        let publish = Publish::from(CodecPublish {
            dup: false,
            retain,
            qos: QoS::AtLeastOnce,
            topic: TopicName::from(topic),
            packet_id: None,
            payload,
            properties: None,
        })
        // The broker ages queued messages from this, on its own clock.
        .create_time(rmqtt::utils::timestamp_millis());
        SessionState::forwards(
            &self.scx,
            From::from_system(self.server_id.clone()),
            publish,
            false,
            None,
        )
        .await
        .map_err(|e| GatewayError::Broker(e.to_string()))
    }

    pub fn is_running(&self) -> bool {
        !self.stopped.load(Ordering::SeqCst)
    }

    pub fn connected_count(&self) -> u64 {
        self.state.sessions().len() as u64
    }

    pub fn is_connected(&self, uid: &str) -> bool {
        self.state.sessions().contains_key(uid)
    }
}
