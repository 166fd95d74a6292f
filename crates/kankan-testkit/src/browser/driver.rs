//! The chromedriver process and the WebDriver wire: starting and stopping chromedriver, the
//! JSON-over-HTTP commands of one session, WebDriver errors, and decoding screenshots.

use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use reqwest::Method;
use serde_json::{Value, json};

use super::POLL_INTERVAL;

const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(20);
pub(super) const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
pub(super) const DEFAULT_CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub(super) const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// An error answered by the WebDriver server (or a transport failure talking to it).
#[derive(Debug, Clone)]
pub struct WebDriverError {
    /// HTTP status (0 when the request itself failed).
    pub status: u16,
    /// The W3C error code, e.g. `no such element`, `stale element reference`.
    pub error: String,
    pub message: String,
}

impl fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = self.message.lines().next().unwrap_or_default();
        write!(f, "webdriver `{}` (HTTP {}): {}", self.error, self.status, message)
    }
}

impl std::error::Error for WebDriverError {}

impl WebDriverError {
    /// Errors that may go away if the page settles (re-render, animation, busy button).
    pub(super) fn is_transient(&self) -> bool {
        matches!(
            self.error.as_str(),
            "no such element"
                | "stale element reference"
                | "element click intercepted"
                | "element not interactable"
                | "invalid element state"
        )
    }
}

/// The HTTP side of one WebDriver session.
pub(super) struct Session {
    pub(super) http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`
    pub(super) url: String,
    pub(super) id: String,
}

impl Session {
    pub(super) async fn cmd(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, WebDriverError> {
        send(&self.http, method, &format!("{}{path}", self.url), body).await
    }

    pub(super) async fn get(&self, path: &str) -> Result<Value, WebDriverError> {
        self.cmd(Method::GET, path, None).await
    }

    pub(super) async fn post(&self, path: &str, body: Value) -> Result<Value, WebDriverError> {
        self.cmd(Method::POST, path, Some(body)).await
    }

    pub(super) async fn find_all(&self, css: &str) -> Result<Vec<String>, WebDriverError> {
        let found = self.post("/elements", json!({"using": "css selector", "value": css})).await?;
        Ok(found
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|e| e.get(ELEMENT_KEY).and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    pub(super) async fn current_url(&self) -> Result<String, WebDriverError> {
        Ok(self.get("/url").await?.as_str().unwrap_or_default().to_owned())
    }
}

pub(super) async fn send(
    http: &reqwest::Client,
    method: Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value, WebDriverError> {
    let transport = |e: &dyn fmt::Display| WebDriverError {
        status: 0,
        error: "transport".into(),
        message: e.to_string(),
    };
    let mut request = http.request(method.clone(), url);
    if method == Method::POST {
        request = request.json(&body.unwrap_or_else(|| json!({})));
    }
    let response = request.send().await.map_err(|e| transport(&e))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| transport(&e))?;
    let parsed: Value = serde_json::from_str(&text)
        .map_err(|e| transport(&format!("bad JSON from {url}: {e}: {text}")))?;
    let value = parsed.get("value").cloned().unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(value);
    }
    Err(WebDriverError {
        status: status.as_u16(),
        error: value.get("error").and_then(Value::as_str).unwrap_or("unknown error").to_owned(),
        message: value.get("message").and_then(Value::as_str).unwrap_or(&text).to_owned(),
    })
}

/// The chromedriver child process; killed on drop, which also removes its temp directory.
pub(super) struct Driver {
    child: Child,
    pub(super) port: u16,
    pub(super) dir: tempfile::TempDir,
}

impl Driver {
    pub(super) fn log_tail(&self) -> String {
        let log =
            std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn binary(env: &str, default: &str, name: &str) -> Result<PathBuf> {
    let path = std::env::var_os(env).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(default));
    if !path.is_file() {
        bail!(
            "{name} not found at {} (set {env} to override): install chromium and chromium-driver; \
             the project's test script does",
            path.display()
        );
    }
    Ok(path)
}

pub(super) async fn start_driver(chromedriver: &Path, http: &reqwest::Client) -> Result<Driver> {
    let mut last_error = None;
    // A free port can be taken between probing and chromedriver binding it: retry a few times.
    for _ in 0..3 {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let dir = tempfile::Builder::new()
            .prefix("kankan-browser-")
            .tempdir()
            .context("creating a temp dir")?;
        let log = std::fs::File::create(dir.path().join("chromedriver.log"))?;
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", chromedriver.display()))?;
        let mut driver = Driver { child, port, dir };
        match wait_ready(&mut driver, http).await {
            Ok(()) => return Ok(driver),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| anyhow!("chromedriver did not start")))
}

async fn wait_ready(driver: &mut Driver, http: &reqwest::Client) -> Result<()> {
    let url = format!("http://127.0.0.1:{}/status", driver.port);
    let deadline = Instant::now() + DRIVER_START_TIMEOUT;
    loop {
        if let Some(status) = driver.child.try_wait()? {
            bail!(
                "chromedriver exited with {status} before becoming ready:\n{}",
                driver.log_tail()
            );
        }
        if let Ok(v) = send(http, Method::GET, &url, None).await
            && v.get("ready").and_then(Value::as_bool) == Some(true)
        {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "chromedriver was not ready at {url} after {DRIVER_START_TIMEOUT:?}:\n{}",
                driver.log_tail()
            );
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// A minimal blocking HTTP/1.1 request to chromedriver (for Drop, which cannot await).
pub(super) fn blocking_request(port: u16, method: &str, path: &str) -> Option<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(15))).ok()?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).ok()?;
    // chromedriver keeps the connection open, so stop once Content-Length bytes have arrived.
    let mut response = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(&chunk[..n]);
        let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if response.len() >= end + 4 + length {
            break;
        }
    }
    Some(String::from_utf8_lossy(&response).into_owned())
}

pub(super) fn base64_decode(text: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' | b'\r' | b'\n' => continue,
            _ => bail!("invalid base64 byte {c:#04x} in screenshot"),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::base64_decode;

    #[test]
    fn decodes_base64() -> anyhow::Result<()> {
        assert_eq!(base64_decode("iVBORw0KGgo=")?, b"\x89PNG\r\n\x1a\n");
        assert_eq!(base64_decode("aGVsbG8gd29ybGQ=")?, b"hello world");
        assert!(base64_decode("a*b").is_err());
        Ok(())
    }
}
