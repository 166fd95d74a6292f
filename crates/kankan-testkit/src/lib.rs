//! Test harness: [`TestApp`] runs the real server in-process on a free port with a temporary
//! data directory and a simulated clock; [`browser`] drives a real Chromium.
//! [`push`], [`webhook`], [`twilio`] and [`smtp`] are local stand-ins for a Web Push service, a
//! webhook receiver, Twilio's SMS and Voice APIs and an SMTP server; [`local`] holds what they
//! share.
//!
//! Readiness is awaited by polling `/readyz`, never by sleeping a fixed time.

pub mod alipay;
pub mod browser;
pub mod cluster;
pub mod coturn;
mod device;
pub mod engines;
pub mod local;
pub mod netns;
pub mod passkey;
mod process;
pub mod push;
pub mod relay;
pub mod rtsp;
pub mod smtp;
pub mod stripe;
pub mod twilio;
pub mod webhook;
pub mod wechat;

pub use device::{TestDevice, state_report};
pub use process::ServerProcess;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use kankan_base::SimClock;
use kankan_server::{Config, Running};
use serde_json::{Value, json};

/// A running server for one test.
pub struct TestApp {
    pub base_url: String,
    pub clock: SimClock,
    pub config: Config,
    pub http: reqwest::Client,
    data_dir: tempfile::TempDir,
    running: Option<Running>,
    /// On the object-store run of the suite (`KANKAN_TEST_BLOBS=s3`), the S3 server this
    /// app's bucket is on.
    s3: Option<kankan_blobs::testing::S3Server>,
}

/// One line of the development outbox.
#[derive(Debug, Clone)]
pub struct OutboxEntry {
    pub recipient_masked: String,
    pub subject: String,
    pub body: String,
}

impl OutboxEntry {
    /// The 6-digit code in the body, if it carries one.
    pub fn code(&self) -> Option<String> {
        let rest = self.body.split("Your code is ").nth(1)?;
        let code: String = rest.chars().take_while(char::is_ascii_digit).collect();
        (code.len() == 6).then_some(code)
    }
}

/// A reqwest client for tests (no proxy, short timeouts).
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .user_agent("kankan-testkit")
        .build()
        .expect("a plain HTTP client builds")
}

/// A reqwest client for an HTTPS server holding the key `pin` (the server's own identity).
pub fn https_client(pin: kankan_crypto::tls::Pin) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .user_agent("kankan-testkit")
        .tls_backend_preconfigured(kankan_crypto::tls::pinned_client_config(pin))
        .build()
        .expect("a pinned HTTPS client builds")
}

/// The embedded brokers of this process's test servers that speak TLS, by address, with the
/// pin of their key: [`TestDevice::connect`] looks its broker up here.
static TLS_BROKERS: std::sync::Mutex<Vec<(std::net::SocketAddr, kankan_crypto::tls::Pin)>> =
    std::sync::Mutex::new(Vec::new());

/// The pin of the TLS broker at `addr`, if a test server here runs one.
pub fn broker_pin(addr: std::net::SocketAddr) -> Option<kankan_crypto::tls::Pin> {
    let brokers = TLS_BROKERS.lock().unwrap_or_else(|p| p.into_inner());
    brokers.iter().rev().find(|(a, _)| *a == addr).map(|(_, pin)| *pin)
}

/// Polls `url` until it answers 200 or `timeout` passes.
pub async fn wait_ready(http: &reqwest::Client, url: &str, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(r) = http.get(url).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{url} did not become ready within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with a configuration adjusted by `adjust` (data dir, ports and
    /// `notify.allow_private_targets = true` are set first). The embedded broker speaks MQTT
    /// over TLS, as by default; with `server.tls` the HTTP side is HTTPS too and
    /// [`TestApp::http`] holds the server to its key.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
        Self::try_spawn(adjust).await.expect("test server starts")
    }

    /// [`TestApp::spawn_with`], answering why the server did not start instead of panicking.
    pub async fn try_spawn(adjust: impl FnOnce(&mut Config)) -> Result<TestApp> {
        let data_dir = tempfile::tempdir()?;
        let mut config = Config { data_dir: data_dir.path().join("data"), ..Config::default() };
        config.server.listen = "127.0.0.1:0".parse()?;
        config.gateway =
            kankan_server::GatewayConfig::Embedded { listen: "127.0.0.1:0".parse()?, plain: false };
        // The push service, webhook and provider stand-ins listen on 127.0.0.1: let the server
        // send there (tests of the outbound guard turn this off again).
        config.notify.allow_private_targets = true;
        // On the PostgreSQL run of the suite, a database of its own on the test server.
        if kankan_db::testing::engine() == kankan_db::Engine::Postgres {
            config.database.url =
                Some(kankan_db::testing::fresh_database_url(data_dir.path()).await?);
        }
        // On the object-store run of the suite, blobs go to a bucket of their own.
        let s3 = match std::env::var("KANKAN_TEST_BLOBS").as_deref() {
            Ok("s3") => {
                let server =
                    kankan_blobs::testing::S3Server::start().await.map_err(anyhow::Error::msg)?;
                config.blobs = server.bucket("kankan").await.map_err(anyhow::Error::msg)?;
                Some(server)
            }
            _ => None,
        };
        adjust(&mut config);
        let clock = SimClock::new();
        let running = kankan_server::start(&config, Arc::new(clock.clone())).await?;
        let (base_url, http) = match (running.https, running.pin) {
            (true, Some(pin)) => (format!("https://{}", running.addr), https_client(pin)),
            _ => (format!("http://{}", running.addr), http_client()),
        };
        if let Some(addr) = running.mqtt_addr {
            // A port an earlier test server used may come back: this server's entry wins.
            let mut brokers = TLS_BROKERS.lock().unwrap_or_else(|p| p.into_inner());
            brokers.retain(|(a, _)| *a != addr);
            if let (Some(pin), true) = (running.pin, config.mqtt_tls()) {
                brokers.push((addr, pin));
            }
        }
        wait_ready(&http, &format!("{base_url}/readyz"), Duration::from_secs(20)).await?;
        Ok(TestApp { base_url, clock, config, http, data_dir, running: Some(running), s3 })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Where the embedded MQTT broker listens.
    pub fn mqtt_addr(&self) -> std::net::SocketAddr {
        self.running().mqtt_addr.expect("the test server runs the embedded broker")
    }

    /// The embedded broker as a device's address: `mqtts://127.0.0.1:PORT` (or `mqtt://` on
    /// a plain lab broker).
    pub fn device_server(&self) -> String {
        let scheme = if self.config.mqtt_tls() { "mqtts" } else { "mqtt" };
        format!("{scheme}://{}", self.mqtt_addr())
    }

    /// The pin of the server's TLS key, which its devices hold it to.
    pub fn pin(&self) -> Option<kankan_crypto::tls::Pin> {
        self.running().pin
    }

    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    /// Everything the server has stored: each file under the data directory, and every value
    /// of its database (which may be PostgreSQL, with no file here), for tests that look for
    /// data that must never be stored in clear.
    pub async fn stored_bytes(&self) -> Vec<(String, Vec<u8>)> {
        let mut all: Vec<(String, Vec<u8>)> = files_under(self.data_dir())
            .into_iter()
            .map(|f| (f.display().to_string(), std::fs::read(&f).unwrap_or_default()))
            .collect();
        let db = kankan_db::SqlStore::open(&self.config.database_url()).await.expect("database");
        all.push(("the database's values".into(), db.all_values().await.expect("values")));
        db.close().await;
        if self.s3.is_some() {
            all.extend(self.blobs().await);
        }
        all
    }

    /// Every blob the server stored, whichever the store (the blob directory, or the S3
    /// bucket on the object-store run): each one's name (`<id>.blob`) and bytes, by name.
    pub async fn blobs(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = match (&self.s3, self.config.blobs.location()) {
            (Some(s3), Ok(kankan_blobs::Location::S3 { .. })) => {
                let keys = s3.keys(&self.config.blobs).await.expect("listing the bucket");
                let mut out = Vec::new();
                for key in keys {
                    let bytes = s3.object(&self.config.blobs, &key).await.expect("object");
                    let name = key.rsplit('/').next().unwrap_or_default().to_string();
                    out.push((name, bytes.unwrap_or_default()));
                }
                out
            }
            (_, Ok(kankan_blobs::Location::Dir(dir))) => files_under(&self.data_dir().join(dir))
                .into_iter()
                .filter(|f| f.extension().is_some_and(|e| e == "blob"))
                .map(|f| {
                    let name = f.file_name().unwrap_or_default().to_string_lossy().into_owned();
                    (name, std::fs::read(&f).unwrap_or_default())
                })
                .collect(),
            (s3, location) => panic!("blob store {location:?} with S3 server {s3:?}"),
        };
        out.sort();
        out
    }

    /// The names of every stored blob (`<id>.blob`), whichever the store.
    pub async fn blob_names(&self) -> Vec<String> {
        self.blobs().await.into_iter().map(|(n, _)| n).collect()
    }

    pub fn temp_root(&self) -> PathBuf {
        self.data_dir.path().to_path_buf()
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().expect("running until dropped")
    }

    /// Everything in the development outbox so far.
    pub fn outbox(&self) -> Vec<OutboxEntry> {
        read_outbox(&self.config.outbox_path())
    }

    /// Waits until the outbox holds more than `seen` entries and returns the newest.
    pub async fn wait_for_message(&self, seen: usize) -> OutboxEntry {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let all = self.outbox();
            if all.len() > seen {
                return all.last().cloned().expect("non-empty");
            }
            assert!(Instant::now() < deadline, "no message arrived in the outbox");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for the next verification code after `seen` outbox entries.
    pub async fn wait_for_code(&self, seen: usize) -> String {
        self.wait_for_message(seen).await.code().expect("the newest message carries a code")
    }

    /// POSTs JSON and returns (status, JSON body or Null).
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(self.http.post(self.url(path)).json(&body)).await
    }

    /// Sends any request and returns (status, JSON body or Null).
    pub async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let resp = req.send().await.expect("request reaches the test server");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Registers, verifies with the code from the outbox, and returns the bearer token.
    pub async fn register(&self, identifier: &str, password: &str) -> String {
        let seen = self.outbox().len();
        let (s, b) = self
            .post(
                "/api/v1/auth/register",
                json!({"identifier": identifier, "password": password, "accept_policy": "1"}),
            )
            .await;
        assert_eq!(s, 202, "register answered {b}");
        let code = self.wait_for_code(seen).await;
        let (s, b) = self
            .post("/api/v1/auth/register/verify", json!({"identifier": identifier, "code": code}))
            .await;
        assert_eq!(s, 200, "verify answered {b}");
        b["token"].as_str().expect("token").to_string()
    }

    pub async fn login(&self, identifier: &str, password: &str) -> (u16, Value) {
        self.post("/api/v1/auth/login", json!({"identifier": identifier, "password": password}))
            .await
    }

    /// GET with a bearer token.
    pub async fn get_authed(&self, path: &str, token: &str) -> (u16, Value) {
        self.send(self.http.get(self.url(path)).bearer_auth(token)).await
    }

    /// Stops the server and waits for its tasks.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }
}

/// Every file under `dir`, recursively (for scans of the data directory).
/// The person and face models that `scripts/models` fetches and converts: the directory
/// `KANKAN_MODELS_DIR` names, else `~/.cache/kankan/models` (the script's default).
///
/// # Panics
/// When a model file is missing there: a test that needs the models fails, it does not pass
/// without them.
pub fn models_dir() -> PathBuf {
    let dir = match std::env::var_os("KANKAN_MODELS_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/kankan/models")
        }
    };
    for file in ["person.onnx", "face-detect.onnx", "face-embed.onnx"] {
        assert!(
            dir.join(file).is_file(),
            "the models are not in {} ({file} is missing): run scripts/models (or set \
             KANKAN_MODELS_DIR to where it put them)",
            dir.display()
        );
    }
    dir
}

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(files_under(&p)) } else { out.push(p) }
    }
    out
}

/// Parses the outbox file (`time \t masked recipient \t subject \t body`).
pub fn read_outbox(path: &Path) -> Vec<OutboxEntry> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    text.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(4, '\t');
            let _time = parts.next()?;
            Some(OutboxEntry {
                recipient_masked: parts.next()?.to_string(),
                subject: parts.next()?.to_string(),
                body: parts.next()?.to_string(),
            })
        })
        .collect()
}

/// Runs the `kankan` binary at `bin` with `args` and `env`, returning (status, stdout, stderr).
pub fn run_cli(
    bin: &Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: Option<&str>,
) -> Result<(i32, String, String)> {
    use std::io::Write as _;
    let mut cmd = std::process::Command::new(bin);
    cmd.args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().with_context(|| format!("running {}", bin.display()))?;
    if let (Some(mut pipe), Some(s)) = (child.stdin.take(), stdin) {
        pipe.write_all(s.as_bytes())?;
    }
    let out = child.wait_with_output()?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}
