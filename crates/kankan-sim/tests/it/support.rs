//! Test harness: the real embedded gateway on a loopback port, simulated devices in-process,
//! pairing codes as files, and a TCP relay whose connections a test can cut.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use kankan_base::Shutdown;
use kankan_crypto::pairing::{PairingPayload, pairing_key, pairing_qr_text, seal_pairing};
use kankan_gateway::{
    DeviceAuthenticator, DeviceMessage, GatewayConfig, GatewayHandle, Inbound, Outbound,
};
use kankan_protocol::device::{Ack, Command, CommandKind, StateReport};
use kankan_sim::{Backoff, Device, DeviceConfig, DeviceHandle, ServerAddr, Status, Timings};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How long any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

pub const CAM: &str = "KKCAM0000001";
pub const CAM_SECRET: &str = "secret-of-the-camera";
pub const BELL: &str = "KKBELL000002";
pub const BELL_SECRET: &str = "secret-of-the-doorbell";
pub const WIFI_PASSWORD: &str = "wifi-pass-never-stored-42";

/// Knows the test devices' secrets (and any added later).
#[derive(Clone, Default)]
pub struct Secrets(Arc<Mutex<HashMap<String, String>>>);

impl Secrets {
    pub fn standard() -> Self {
        let s = Secrets::default();
        s.add(CAM, CAM_SECRET);
        s.add(BELL, BELL_SECRET);
        s
    }

    pub fn add(&self, uid: &str, secret: &str) {
        self.0.lock().expect("lock").insert(uid.into(), secret.into());
    }
}

#[async_trait]
impl DeviceAuthenticator for Secrets {
    async fn authenticate(&self, uid: &str, secret: &str) -> bool {
        self.0.lock().expect("lock").get(uid).is_some_and(|s| s == secret)
    }
}

/// An embedded gateway; stopped on drop.
pub struct TestGateway {
    pub handle: GatewayHandle,
    pub messages: mpsc::Receiver<DeviceMessage>,
    pub addr: SocketAddr,
    _shutdown: Shutdown,
}

impl TestGateway {
    pub async fn start() -> Self {
        Self::start_with(SocketAddr::from(([127, 0, 0, 1], 0)), Secrets::standard()).await
    }

    /// Starts on `listen`, retrying while the port is still held by a gateway just stopped.
    pub async fn start_with(listen: SocketAddr, secrets: Secrets) -> Self {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let (shutdown, signal) = Shutdown::new();
            // A lab broker: these tests are about the firmware; TLS and pins are tested
            // against the real server (kankan-server's tests/it/listener.rs).
            let cfg = GatewayConfig::Embedded { listen, plain: true };
            match kankan_gateway::start(&cfg, Arc::new(secrets.clone()), signal).await {
                Ok(gw) => {
                    let addr = gw.local_addr.expect("embedded mode has an address");
                    return TestGateway {
                        handle: gw.handle,
                        messages: kankan_gateway::merge_lanes(gw.lanes),
                        addr,
                        _shutdown: shutdown,
                    };
                }
                Err(e) => {
                    assert!(tokio::time::Instant::now() < deadline, "gateway did not start: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    pub fn server(&self) -> ServerAddr {
        ServerAddr::parse(&format!("mqtt://{}", self.addr)).expect("address")
    }

    /// The next device message the server gets.
    pub async fn next(&mut self) -> DeviceMessage {
        tokio::time::timeout(WAIT, self.messages.recv())
            .await
            .expect("timed out waiting for a device message")
            .expect("gateway message stream ended")
    }

    /// The next message of `kind` from `uid`, skipping others.
    pub async fn next_of(&mut self, uid: &str, kind: Inbound) -> DeviceMessage {
        loop {
            let m = self.next().await;
            if m.uid == uid && m.kind == kind {
                return m;
            }
        }
    }

    pub async fn presence(&mut self, uid: &str, status: &str) {
        loop {
            let m = self.next_of(uid, Inbound::Presence).await;
            if m.payload == status.as_bytes() {
                return;
            }
        }
    }

    pub async fn next_report(&mut self, uid: &str) -> StateReport {
        let m = self.next_of(uid, Inbound::State).await;
        serde_json::from_slice(&m.payload).expect("a state report")
    }

    /// The next report from `uid` that satisfies `pred`.
    pub async fn report_where(
        &mut self,
        uid: &str,
        pred: impl Fn(&StateReport) -> bool,
    ) -> StateReport {
        loop {
            let r = self.next_report(uid).await;
            if pred(&r) {
                return r;
            }
        }
    }

    pub async fn next_ack(&mut self, uid: &str) -> Ack {
        let m = self.next_of(uid, Inbound::Ack).await;
        serde_json::from_slice(&m.payload).expect("an ack")
    }

    pub async fn publish(&self, uid: &str, kind: Outbound, payload: Vec<u8>) {
        self.handle.publish(uid, kind, payload).await.expect("publish");
    }

    /// Sends a command due within a minute; answers its id.
    pub async fn command(&self, uid: &str, command: CommandKind) -> uuid::Uuid {
        let deadline = now_ms() + 60_000;
        self.command_due(uid, command, deadline).await
    }

    pub async fn command_due(
        &self,
        uid: &str,
        command: CommandKind,
        deadline_ms: i64,
    ) -> uuid::Uuid {
        let c = Command { id: uuid::Uuid::now_v7(), command, deadline_ms };
        self.publish(uid, Outbound::Cmd, serde_json::to_vec(&c).expect("ser")).await;
        c.id
    }
}

pub fn now_ms() -> i64 {
    use kankan_base::Clock as _;
    kankan_base::RealClock.now().as_millis()
}

/// Timings fit for tests: quick retries and reboots, telemetry out of the way.
pub fn fast() -> Timings {
    Timings {
        backoff: Backoff { base: Duration::from_millis(50), cap: Duration::from_millis(400) },
        telemetry: Duration::from_secs(3600),
        reboot_delay: Duration::from_millis(100),
        keep_alive: Duration::from_secs(5),
        health_check: Duration::from_millis(10),
    }
}

pub fn config(uid: &str, secret: &str, dir: &Path, server: Option<ServerAddr>) -> DeviceConfig {
    let mut cfg = DeviceConfig::new(uid, secret, dir.to_path_buf());
    cfg.server = server;
    cfg.timings = fast();
    cfg
}

/// A device running in a task; stopped (and its state saved) by [`SimDevice::stop`].
pub struct SimDevice {
    pub handle: DeviceHandle,
    shutdown: Shutdown,
    task: JoinHandle<Result<(), kankan_sim::SimError>>,
}

impl SimDevice {
    pub fn start(cfg: DeviceConfig) -> SimDevice {
        let device = Device::new(cfg).expect("device");
        let handle = device.handle();
        let (shutdown, signal) = Shutdown::new();
        let task = tokio::spawn(device.run(signal));
        SimDevice { handle, shutdown, task }
    }

    pub async fn wait(&self, what: &str, pred: impl FnMut(&Status) -> bool) -> Status {
        self.handle.wait_for(what, WAIT, pred).await.expect(what)
    }

    /// Pulls the power: the task ends at once, nothing is saved or said.
    pub fn crash(self) {
        self.task.abort();
    }

    pub async fn stop(self) {
        self.shutdown.trigger();
        tokio::time::timeout(WAIT, self.task)
            .await
            .expect("device stops")
            .expect("join")
            .expect("run");
    }
}

/// A pairing payload for the device with `secret`, pointing at `server`.
pub fn sealed_payload(secret: &str, server: &ServerAddr, token: [u8; 16]) -> Vec<u8> {
    let p = PairingPayload {
        token,
        server: server.to_string(),
        ssid: "Kankan Lab".into(),
        pin: None,
        wifi_password: WIFI_PASSWORD.into(),
        rejoin: false,
    };
    seal_pairing(&p, &pairing_key(secret)).expect("seal")
}

/// Writes the payload as a QR code PNG into `dir`.
pub fn qr_png(dir: &Path, payload: &[u8]) -> PathBuf {
    let code = qrcode::QrCode::new(pairing_qr_text(payload)).expect("qr");
    let img = code.render::<image::Luma<u8>>().min_dimensions(400, 400).build();
    let path = dir.join("pairing.png");
    img.save_with_format(&path, image::ImageFormat::Png).expect("png");
    path
}

/// Writes the payload as the pairing sound into `dir`, with white noise at `snr_db` (None:
/// clean) and half a second of noise either side.
pub fn wav(dir: &Path, payload: &[u8], snr_db: Option<f64>) -> PathBuf {
    let cfg = kankan_sonic::ModemConfig { sample_rate: 16_000, ..Default::default() };
    let mut samples = kankan_sonic::encode(payload, &cfg).expect("encode");
    if let Some(snr) = snr_db {
        let power =
            samples.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / samples.len() as f64;
        let sigma = (power / 10f64.powf(snr / 10.0)).sqrt();
        let mut rng = Noise::new(7);
        let pad = cfg.sample_rate as usize / 2;
        let mut noisy = rng.samples(pad, sigma);
        noisy.extend(samples.iter().map(|s| s + rng.gaussian(sigma)));
        noisy.extend(rng.samples(pad, sigma));
        samples = noisy;
    }
    let path = dir.join("pairing.wav");
    std::fs::write(&path, kankan_sonic::write_wav(&samples, cfg.sample_rate)).expect("write wav");
    path
}

/// Seeded Gaussian noise (xorshift + Box-Muller).
pub struct Noise(u64);

impl Noise {
    pub fn new(seed: u64) -> Noise {
        Noise(seed.max(1))
    }

    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    pub fn gaussian(&mut self, sigma: f64) -> f32 {
        let (u, v) = (self.unit(), self.unit());
        (sigma * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    }

    pub fn samples(&mut self, n: usize, sigma: f64) -> Vec<f32> {
        (0..n).map(|_| self.gaussian(sigma)).collect()
    }
}

/// Whether any file under `dir` contains `needle`.
pub fn dir_contains(dir: &Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).expect("ls").any(|e| {
        let path = e.expect("entry").path();
        if path.is_dir() {
            dir_contains(&path, needle)
        } else {
            let bytes = std::fs::read(&path).expect("read");
            bytes.windows(needle.len()).any(|w| w == needle)
        }
    })
}

/// A TCP relay in front of the gateway: `cut` drops every connection through it, `refuse`
/// makes it drop new ones at once (the network is down), and `set_upstream` puts another
/// gateway behind the same address (a server restarted).
pub struct Relay {
    pub addr: SocketAddr,
    upstream: Arc<Mutex<SocketAddr>>,
    refusing: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

impl Relay {
    pub async fn start(upstream: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let addr = listener.local_addr().expect("addr");
        let refusing = Arc::new(AtomicBool::new(false));
        let refused = Arc::new(AtomicUsize::new(0));
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let upstream = Arc::new(Mutex::new(upstream));
        let (r, n, c, u) = (refusing.clone(), refused.clone(), conns.clone(), upstream.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut down, _)) = listener.accept().await {
                if r.load(Ordering::SeqCst) {
                    n.fetch_add(1, Ordering::SeqCst);
                    continue; // dropped: the device sees the connection close
                }
                let to = *u.lock().expect("lock");
                let task = tokio::spawn(async move {
                    if let Ok(mut up) = TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
                c.lock().expect("lock").push(task);
            }
        });
        Relay { addr, upstream, refusing, refused, conns, accept }
    }

    pub fn server(&self) -> ServerAddr {
        ServerAddr::parse(&format!("mqtt://{}", self.addr)).expect("address")
    }

    /// Drops every open connection (both sides see it close).
    pub fn cut(&self) {
        for t in self.conns.lock().expect("lock").drain(..) {
            t.abort();
        }
    }

    /// New connections go to `to` from now on.
    pub fn set_upstream(&self, to: SocketAddr) {
        *self.upstream.lock().expect("lock") = to;
    }

    /// Connections turned away while refusing.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }

    pub fn refuse(&self, refusing: bool) {
        self.refusing.store(refusing, Ordering::SeqCst);
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
