//! A real S3 server for tests: the one `KANKAN_TEST_S3_ENDPOINT` names (the test command
//! starts one moto server for the whole run), else a moto server of this test's own
//! (`python3 -m moto.server`, PyPI's `moto[server]`), stopped when dropped. Each test gets a
//! bucket of its own.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::TryStreamExt;
use kankan_base::Secret;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::BlobsConfig;

/// The moto server, or the shared one.
#[derive(Debug)]
pub struct S3Server {
    child: Option<Child>,
    endpoint: String,
}

impl S3Server {
    /// The shared server, or a new one on a free loopback port once it answers.
    pub async fn start() -> Result<S3Server, String> {
        crate::tls_provider();
        if let Ok(endpoint) = std::env::var("KANKAN_TEST_S3_ENDPOINT") {
            return Ok(S3Server { child: None, endpoint });
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("python3 -m moto.server (pip install 'moto[server]'): {e}"))?;
        let server = S3Server { child: Some(child), endpoint: format!("http://127.0.0.1:{port}") };
        server.wait_until_up().await?;
        Ok(server)
    }

    async fn wait_until_up(&self) -> Result<(), String> {
        let http = reqwest::Client::new();
        for _ in 0..600 {
            if http.get(&self.endpoint).send().await.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("the S3 server at {} did not come up in 30 s", self.endpoint))
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Creates an empty bucket with a unique name and returns a config for it, under `prefix`.
    pub async fn bucket(&self, prefix: &str) -> Result<BlobsConfig, String> {
        let name = format!("t-{}", uuid_like());
        let url = format!("{}/{name}", self.endpoint);
        let r = reqwest::Client::new().put(&url).send().await.map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("creating bucket {name}: {}", r.status()));
        }
        Ok(BlobsConfig {
            url: format!("s3://{name}/{prefix}"),
            endpoint: Some(self.endpoint.clone()),
            region: "us-east-1".into(),
            access_key_id: Some("kankan-test".into()),
            secret_access_key: Some(Secret::new("kankan-test-secret")),
            path_style: true,
            ..BlobsConfig::default()
        })
    }

    /// The raw bytes of the object `key` (the whole key, prefix included) in the config's
    /// bucket, read past the blob store, to check what it holds; None when absent.
    pub async fn object(&self, cfg: &BlobsConfig, key: &str) -> Result<Option<Vec<u8>>, String> {
        let raw = raw_client(cfg)?;
        match raw.get(&ObjectPath::from(key)).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(|e| e.to_string())?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Every key in the config's bucket.
    pub async fn keys(&self, cfg: &BlobsConfig) -> Result<Vec<String>, String> {
        let raw = raw_client(cfg)?;
        let metas: Vec<_> = raw.list(None).try_collect().await.map_err(|e| e.to_string())?;
        Ok(metas.into_iter().map(|m| m.location.to_string()).collect())
    }
}

fn raw_client(cfg: &BlobsConfig) -> Result<object_store::aws::AmazonS3, String> {
    let Ok(crate::Location::S3 { bucket, .. }) = cfg.location() else {
        return Err("not an s3:// config".into());
    };
    crate::s3::client(cfg, &bucket).map_err(|e| e.to_string())
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// 16 random hex digits (bucket names are lowercase).
fn uuid_like() -> String {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap_or_default();
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A proxy in front of an S3 server that answers 503 instead of forwarding: to the first
/// `refuse_first` connections, and to every one while [`Gate::down`] is set. For tests of
/// retries and of a store out of reach.
#[derive(Debug)]
pub struct Gate {
    /// The endpoint to give the store instead of the server's.
    pub url: String,
    pub down: Arc<AtomicBool>,
    /// Connections refused so far.
    pub refused: Arc<AtomicUsize>,
}

impl Gate {
    pub async fn start(upstream: &str, refuse_first: usize) -> Result<Gate, String> {
        let listener =
            tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (down, refused) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
        let (flag, count) = (down.clone(), refused.clone());
        let upstream = upstream.trim_start_matches("http://").to_string();
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { return };
                if flag.load(Ordering::SeqCst) || count.load(Ordering::SeqCst) < refuse_first {
                    count.fetch_add(1, Ordering::SeqCst);
                    let mut head = [0u8; 4096];
                    let _ = client.read(&mut head).await;
                    let _ = client.write_all(REFUSAL).await;
                    continue;
                }
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Ok(Gate { url: format!("http://{addr}"), down, refused })
    }
}

const REFUSAL: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
