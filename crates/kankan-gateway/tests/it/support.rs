//! Test harness: a gateway on a free port, devices as real rumqttc clients, polling helpers.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kankan_base::Shutdown;
use kankan_gateway::{DeviceAuthenticator, DeviceMessage, GatewayConfig, GatewayHandle, Inbound};
use rumqttc::{
    AsyncClient, ConnectionError, Event, LastWill, MqttOptions, Outgoing, Packet, QoS,
    SubscribeReasonCode,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// How long any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(15);

pub const A: &str = "KKAAAA000001";
pub const B: &str = "KKBBBB000002";
pub const SECRET_A: &str = "secret-of-a";
pub const SECRET_B: &str = "secret-of-b";

/// Devices A and B with their secrets.
pub struct Secrets(HashMap<String, String>);

impl Secrets {
    pub fn ab() -> Self {
        Secrets(HashMap::from([(A.into(), SECRET_A.into()), (B.into(), SECRET_B.into())]))
    }
}

#[async_trait]
impl DeviceAuthenticator for Secrets {
    async fn authenticate(&self, uid: &str, secret: &str) -> bool {
        self.0.get(uid).is_some_and(|s| s == secret)
    }
}

/// An embedded gateway on a free loopback port; shut down on drop.
pub struct TestGateway {
    pub handle: GatewayHandle,
    pub messages: mpsc::Receiver<DeviceMessage>,
    pub addr: SocketAddr,
    /// The broker's certificate (a self-signed one), when it speaks TLS.
    pub cafile: Option<PathBuf>,
    _shutdown: Shutdown,
    _dir: Option<tempfile::TempDir>,
}

impl TestGateway {
    /// A lab broker on plain TCP.
    pub async fn start() -> Self {
        Self::start_with(false).await
    }

    /// A broker on MQTT over TLS with a freshly generated identity.
    pub async fn start_tls() -> Self {
        Self::start_with(true).await
    }

    async fn start_with(tls: bool) -> Self {
        let (shutdown, signal) = Shutdown::new();
        let listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let cfg = GatewayConfig::Embedded { listen, plain: !tls };
        let dir = tls.then(|| tempfile::tempdir().expect("tmp"));
        let files = dir.as_ref().map(|d| {
            let f = kankan_crypto::tls::load_or_create(d.path(), &[]).expect("identity");
            kankan_gateway::TlsFiles { cert: f.cert, key: f.key }
        });
        let gw =
            kankan_gateway::start_with_tls(&cfg, files.as_ref(), Arc::new(Secrets::ab()), signal)
                .await
                .expect("start");
        let addr = gw.local_addr.expect("embedded mode has an address");
        TestGateway {
            handle: gw.handle,
            messages: kankan_gateway::merge_lanes(gw.lanes),
            addr,
            cafile: files.map(|f| f.cert),
            _shutdown: shutdown,
            _dir: dir,
        }
    }

    /// The next device message the server gets.
    pub async fn next(&mut self) -> DeviceMessage {
        tokio::time::timeout(WAIT, self.messages.recv())
            .await
            .expect("timed out waiting for a device message")
            .expect("gateway message stream ended")
    }

    /// The next message that is not presence.
    pub async fn next_data(&mut self) -> DeviceMessage {
        loop {
            let m = self.next().await;
            if m.kind != Inbound::Presence {
                return m;
            }
        }
    }

    /// Waits for the presence `status` of `uid`, skipping other presence messages.
    pub async fn presence(&mut self, uid: &str, status: &str) {
        loop {
            let m = self.next().await;
            if m.kind == Inbound::Presence && m.uid == uid && m.payload == status.as_bytes() {
                return;
            }
            assert_eq!(m.kind, Inbound::Presence, "unexpected message while waiting: {m:?}");
        }
    }

    pub fn device(&self, uid: &str, secret: &str) -> DeviceOpts {
        DeviceOpts::new(self.addr, uid, secret)
    }
}

/// Polls `cond` until it holds, failing the test after [`WAIT`].
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How a test device connects.
pub struct DeviceOpts {
    pub opts: MqttOptions,
}

impl DeviceOpts {
    pub fn new(addr: SocketAddr, uid: &str, secret: &str) -> Self {
        let mut opts = MqttOptions::new(uid, addr.ip().to_string(), addr.port());
        opts.set_credentials(uid, secret);
        opts.set_keep_alive(Duration::from_secs(5));
        opts.set_max_packet_size(256 * 1024, 256 * 1024);
        DeviceOpts { opts }
    }

    pub fn client_id(mut self, id: &str) -> Self {
        self.opts.set_client_id(id.to_string());
        self
    }

    pub fn anonymous(mut self) -> Self {
        // rumqttc has no "clear credentials": rebuild without them.
        let (host, port) = self.opts.broker_address();
        let mut opts = MqttOptions::new(self.opts.client_id(), host, port);
        opts.set_keep_alive(self.opts.keep_alive());
        self.opts = opts;
        self
    }

    pub fn will(mut self, topic: &str, payload: &str) -> Self {
        self.opts.set_last_will(LastWill::new(topic, payload, QoS::AtLeastOnce, false));
        self
    }

    pub fn keep_alive(mut self, secs: u64) -> Self {
        self.opts.set_keep_alive(Duration::from_secs(secs));
        self
    }

    pub fn persistent(mut self) -> Self {
        self.opts.set_clean_session(false);
        self
    }

    pub async fn connect(self) -> Result<Device, ConnectionError> {
        Device::connect(self.opts).await
    }
}

/// What a device's event loop saw.
#[derive(Debug)]
pub enum DevEvent {
    ConnAck,
    Publish {
        topic: String,
        payload: Vec<u8>,
        retain: bool,
    },
    SubAck(Vec<SubscribeReasonCode>),
    PubAck,
    /// The device sent DISCONNECT and stopped.
    Disconnected,
    Closed(ConnectionError),
}

/// A device: a rumqttc client whose event loop runs in a task. Dropping it drops the socket
/// without a DISCONNECT (an abrupt loss, as when a camera loses power).
pub struct Device {
    pub client: AsyncClient,
    events: mpsc::UnboundedReceiver<DevEvent>,
    pending: VecDeque<DevEvent>,
    freeze: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Drop for Device {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Device {
    async fn connect(opts: MqttOptions) -> Result<Device, ConnectionError> {
        let (client, mut eventloop) = AsyncClient::new(opts, 64);
        let (tx, events) = mpsc::unbounded_channel();
        let (freeze, mut frozen) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            loop {
                let ev = tokio::select! {
                    _ = &mut frozen => {
                        // Keep the socket open but never read, write or ping again.
                        let _keep = eventloop;
                        std::future::pending::<()>().await;
                        return;
                    }
                    ev = eventloop.poll() => ev,
                };
                let ev = match ev {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => DevEvent::ConnAck,
                    Ok(Event::Incoming(Packet::Publish(p))) => DevEvent::Publish {
                        topic: p.topic,
                        payload: p.payload.to_vec(),
                        retain: p.retain,
                    },
                    Ok(Event::Incoming(Packet::SubAck(a))) => DevEvent::SubAck(a.return_codes),
                    Ok(Event::Incoming(Packet::PubAck(_))) => DevEvent::PubAck,
                    Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                        let _ = tx.send(DevEvent::Disconnected);
                        return;
                    }
                    Ok(_) => continue,
                    Err(e) => {
                        let _ = tx.send(DevEvent::Closed(e));
                        return;
                    }
                };
                if tx.send(ev).is_err() {
                    return;
                }
            }
        });
        let mut dev =
            Device { client, events, pending: VecDeque::new(), freeze: Some(freeze), task };
        match dev.wait_for(|e| matches!(e, DevEvent::ConnAck | DevEvent::Closed(_))).await {
            DevEvent::ConnAck => Ok(dev),
            DevEvent::Closed(e) => Err(e),
            other => unreachable!("{other:?}"),
        }
    }

    /// The first event matching `pred`; others are kept for later waits.
    pub async fn wait_for(&mut self, pred: impl Fn(&DevEvent) -> bool) -> DevEvent {
        if let Some(i) = self.pending.iter().position(&pred) {
            return self.pending.remove(i).expect("index from position");
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let ev = tokio::time::timeout_at(deadline, self.events.recv())
                .await
                .expect("timed out waiting for a device event")
                .expect("device event loop ended");
            if pred(&ev) {
                return ev;
            }
            self.pending.push_back(ev);
        }
    }

    /// Subscribes with QoS 1 and returns the broker's answer.
    pub async fn subscribe(&mut self, topic: &str) -> SubscribeReasonCode {
        self.client.subscribe(topic, QoS::AtLeastOnce).await.expect("queue subscribe");
        match self.wait_for(|e| matches!(e, DevEvent::SubAck(_) | DevEvent::Closed(_))).await {
            DevEvent::SubAck(codes) => codes[0],
            other => panic!("no SUBACK: {other:?}"),
        }
    }

    /// Publishes with QoS 1 and waits for the broker's PUBACK (so its hooks have run).
    pub async fn publish(&mut self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.client.publish(topic, QoS::AtLeastOnce, false, payload).await.expect("queue publish");
        match self.wait_for(|e| matches!(e, DevEvent::PubAck | DevEvent::Closed(_))).await {
            DevEvent::PubAck => {}
            other => panic!("no PUBACK: {other:?}"),
        }
    }

    /// The next message the broker delivered to this device.
    pub async fn recv(&mut self) -> (String, Vec<u8>, bool) {
        match self.wait_for(|e| matches!(e, DevEvent::Publish { .. } | DevEvent::Closed(_))).await {
            DevEvent::Publish { topic, payload, retain } => (topic, payload, retain),
            other => panic!("no message: {other:?}"),
        }
    }

    /// Sends DISCONNECT (a clean goodbye: no last will) and closes the connection.
    pub async fn disconnect(&mut self) {
        self.client.disconnect().await.expect("queue disconnect");
        let _ = self.wait_for(|e| matches!(e, DevEvent::Disconnected | DevEvent::Closed(_))).await;
    }

    /// Stops all traffic (no pings either) while keeping the TCP connection open.
    pub fn freeze(&mut self) {
        if let Some(f) = self.freeze.take() {
            let _ = f.send(());
        }
    }
}

/// Locates a Debian tool, or fails with what to run.
pub fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(["/usr/sbin".into(), "/usr/bin".into()]);
    for dir in dirs {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "`{name}` not found: run scripts/test, which installs Debian's mosquitto and \
         mosquitto-clients (or: apt-get install mosquitto mosquitto-clients)"
    );
}
