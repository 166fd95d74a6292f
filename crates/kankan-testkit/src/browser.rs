//! A small W3C WebDriver client for browser tests.
//!
//! [`Browser::launch`] starts Debian's `chromedriver` on a free port, opens a headless Chromium
//! session with a throw-away profile, and offers the handful of commands the web app's tests
//! need. Every wait polls with a timeout (default [`DEFAULT_TIMEOUT`]) and fails with an error
//! that says what it waited for and which URL the browser was on.
//!
//! Requires the `chromium` and `chromium-driver` Debian packages (override the binaries with the
//! `CHROMEDRIVER` and `CHROMIUM` environment variables).

use std::fmt;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use reqwest::Method;
use serde_json::{Value, json};

/// How long waits (`find`, `click`, `wait_for_text`, …) poll before giving up.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The phone-sized window every session starts with.
pub const PHONE_WINDOW: (u32, u32) = (390, 844);

const POLL_INTERVAL: Duration = Duration::from_millis(50);
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(20);
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
const DEFAULT_CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

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
    fn is_transient(&self) -> bool {
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

/// A cookie as reported by the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cookie {
    pub name: String,
    pub value: String,
    pub path: Option<String>,
    pub domain: Option<String>,
    pub secure: bool,
    pub http_only: bool,
    pub same_site: Option<String>,
    /// Expiry as seconds since the Unix epoch; `None` for session cookies.
    pub expiry: Option<u64>,
}

/// Options for [`Browser::launch_with`].
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// Initial window size in CSS pixels.
    pub window: (u32, u32),
    /// Timeout for every wait.
    pub timeout: Duration,
    /// Extra Chromium command-line arguments.
    pub extra_args: Vec<String>,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        Self { window: PHONE_WINDOW, timeout: DEFAULT_TIMEOUT, extra_args: Vec::new() }
    }
}

/// The HTTP side of one WebDriver session.
struct Session {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`
    url: String,
    id: String,
}

impl Session {
    async fn cmd(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, WebDriverError> {
        send(&self.http, method, &format!("{}{path}", self.url), body).await
    }

    async fn get(&self, path: &str) -> Result<Value, WebDriverError> {
        self.cmd(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, WebDriverError> {
        self.cmd(Method::POST, path, Some(body)).await
    }

    async fn find_all(&self, css: &str) -> Result<Vec<String>, WebDriverError> {
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

    async fn current_url(&self) -> Result<String, WebDriverError> {
        Ok(self.get("/url").await?.as_str().unwrap_or_default().to_owned())
    }
}

async fn send(
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
struct Driver {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Driver {
    fn log_tail(&self) -> String {
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

/// One element found in the page. Elements go stale when the page re-renders them; prefer
/// the CSS-based [`Browser`] methods, which find the element again on every retry.
#[derive(Clone)]
pub struct Element {
    session: Arc<Session>,
    id: String,
    css: String,
}

impl fmt::Debug for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Element({} #{})", self.css, self.id)
    }
}

impl Element {
    /// The WebDriver element reference, for passing to [`Browser::execute`] as an argument.
    pub fn to_json(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    fn path(&self, rest: &str) -> String {
        format!("/element/{}{rest}", self.id)
    }

    pub async fn click(&self) -> Result<()> {
        self.session
            .post(&self.path("/click"), json!({}))
            .await
            .with_context(|| format!("clicking `{}`", self.css))?;
        Ok(())
    }

    pub async fn clear(&self) -> Result<()> {
        self.session
            .post(&self.path("/clear"), json!({}))
            .await
            .with_context(|| format!("clearing `{}`", self.css))?;
        Ok(())
    }

    pub async fn send_keys(&self, text: &str) -> Result<()> {
        self.session
            .post(&self.path("/value"), json!({"text": text}))
            .await
            .with_context(|| format!("typing into `{}`", self.css))?;
        Ok(())
    }

    /// The rendered text (empty for hidden elements).
    pub async fn text(&self) -> Result<String> {
        let v = self
            .session
            .get(&self.path("/text"))
            .await
            .with_context(|| format!("reading text of `{}`", self.css))?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// An HTML attribute, `None` when absent.
    pub async fn attr(&self, name: &str) -> Result<Option<String>> {
        let v = self
            .session
            .get(&self.path(&format!("/attribute/{name}")))
            .await
            .with_context(|| format!("reading attribute `{name}` of `{}`", self.css))?;
        Ok(v.as_str().map(str::to_owned))
    }

    /// A DOM property, e.g. `value` or `checked`.
    pub async fn property(&self, name: &str) -> Result<Value> {
        self.session
            .get(&self.path(&format!("/property/{name}")))
            .await
            .with_context(|| format!("reading property `{name}` of `{}`", self.css))
    }

    pub async fn is_displayed(&self) -> Result<bool> {
        Ok(self.session.get(&self.path("/displayed")).await?.as_bool().unwrap_or(false))
    }

    pub async fn is_enabled(&self) -> Result<bool> {
        Ok(self.session.get(&self.path("/enabled")).await?.as_bool().unwrap_or(false))
    }
}

/// What one polling attempt saw.
enum Step<T> {
    Done(T),
    /// Not yet; the text describes what was seen instead (for the timeout error).
    Wait(String),
}

/// A headless Chromium driven through chromedriver. The session is deleted and chromedriver
/// stopped on drop; [`Browser::close`] does the same asynchronously.
pub struct Browser {
    session: Arc<Session>,
    timeout: Duration,
    closed: bool,
    driver: Driver,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium at phone size (390×844).
    pub async fn launch() -> Result<Browser> {
        Self::launch_with(LaunchOptions::default()).await
    }

    /// Starts chromedriver and a headless Chromium with the given options.
    pub async fn launch_with(options: LaunchOptions) -> Result<Browser> {
        // reqwest is built with `rustls-no-provider`; chromedriver is plain HTTP, but building a
        // client still needs a process-wide provider. Ignore "already installed".
        let _ = rustls::crypto::ring::default_provider().install_default();

        let chromedriver = binary("CHROMEDRIVER", DEFAULT_CHROMEDRIVER, "chromedriver")?;
        let chromium = binary("CHROMIUM", DEFAULT_CHROMIUM, "chromium")?;
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(90))
            .build()
            .context("building the WebDriver HTTP client")?;

        let driver = start_driver(&chromedriver, &http).await?;
        let profile = driver.dir.path().join("profile");
        let (w, h) = options.window;
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--lang=en-US",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.push(format!("--window-size={w},{h}"));
        args.push(format!("--user-data-dir={}", profile.display()));
        args.extend(options.extra_args.iter().cloned());

        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "timeouts": { "pageLoad": 30_000, "script": 30_000, "implicit": 0 },
                    "goog:chromeOptions": { "binary": chromium.to_string_lossy(), "args": args }
                }
            }
        });
        let base = format!("http://127.0.0.1:{}", driver.port);
        let created = send(&http, Method::POST, &format!("{base}/session"), Some(capabilities))
            .await
            .map_err(|e| anyhow!("{e}\nchromedriver log:\n{}", driver.log_tail()))
            .context("creating a Chromium session")?;
        let id = created
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("chromedriver answered without a sessionId: {created}"))?
            .to_owned();
        let session = Arc::new(Session { http, url: format!("{base}/session/{id}"), id });
        let browser = Browser { session, timeout: options.timeout, closed: false, driver };
        browser.set_window_size(w, h).await?;
        Ok(browser)
    }

    /// The timeout used by every wait.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Deletes the session and stops chromedriver.
    pub async fn close(mut self) -> Result<()> {
        self.closed = true;
        self.session
            .cmd(Method::DELETE, "", None)
            .await
            .context("deleting the WebDriver session")?;
        Ok(())
    }

    /// Navigates to `url` and waits for the page load.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.session
            .post("/url", json!({"url": url}))
            .await
            .with_context(|| format!("navigating to {url}"))?;
        Ok(())
    }

    pub async fn current_url(&self) -> Result<String> {
        Ok(self.session.current_url().await?)
    }

    pub async fn title(&self) -> Result<String> {
        Ok(self.session.get("/title").await?.as_str().unwrap_or_default().to_owned())
    }

    pub async fn refresh(&self) -> Result<()> {
        self.session.post("/refresh", json!({})).await?;
        Ok(())
    }

    pub async fn back(&self) -> Result<()> {
        self.session.post("/back", json!({})).await?;
        Ok(())
    }

    /// Sets the page viewport to exactly `width`×`height` CSS pixels (e.g. 1280×800 for the
    /// desktop layout). Headless Chromium clamps windows to at least 500 px wide and keeps room
    /// for (invisible) browser UI, so the window is resized and the viewport then pinned with a
    /// DevTools device-metrics override. Below 600 px wide it emulates a mobile device, so, as
    /// on a real phone, pages need `<meta name="viewport" content="width=device-width">` (the
    /// web app has it) or they are laid out 980 px wide.
    pub async fn set_window_size(&self, width: u32, height: u32) -> Result<()> {
        self.session
            .post("/window/rect", json!({"width": width.max(500), "height": height + 200}))
            .await
            .context("resizing the window")?;
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}),
        )
        .await?;
        Ok(())
    }

    /// Runs a Chrome DevTools Protocol command through chromedriver (e.g.
    /// `Emulation.setEmulatedMedia` for dark mode, `Network.emulateNetworkConditions` for
    /// offline tests).
    pub async fn cdp(&self, command: &str, params: Value) -> Result<Value> {
        self.session
            .post("/goog/cdp/execute", json!({"cmd": command, "params": params}))
            .await
            .with_context(|| format!("DevTools command {command}"))
    }

    /// Waits until an element matching `css` exists and is displayed, and returns it.
    pub async fn find(&self, css: &str) -> Result<Element> {
        self.poll(&format!("`{css}` to be displayed"), async || match self.displayed(css).await? {
            Some(el) => Ok(Step::Done(el)),
            None => Ok(Step::Wait("no displayed match".into())),
        })
        .await
    }

    /// All elements matching `css` right now (no waiting; hidden ones included).
    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>> {
        let ids = self.session.find_all(css).await.with_context(|| format!("finding `{css}`"))?;
        Ok(ids.into_iter().map(|id| self.element(id, css)).collect())
    }

    /// Whether a displayed element matches `css` right now (no waiting).
    pub async fn is_displayed(&self, css: &str) -> Result<bool> {
        Ok(self.displayed(css).await.with_context(|| format!("looking for `{css}`"))?.is_some())
    }

    /// Waits until no displayed element matches `css`.
    pub async fn wait_gone(&self, css: &str) -> Result<()> {
        self.poll(&format!("`{css}` to disappear"), async || match self.displayed(css).await? {
            Some(_) => Ok(Step::Wait("still displayed".into())),
            None => Ok(Step::Done(())),
        })
        .await
    }

    /// Waits until a displayed element matching `css` has text containing `needle`; returns
    /// that element's whole text.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> Result<String> {
        self.poll(&format!("`{css}` to contain text {needle:?}"), async || {
            let mut seen = Vec::new();
            for id in self.session.find_all(css).await? {
                let text = match self.session.get(&format!("/element/{id}/text")).await {
                    Ok(v) => v.as_str().unwrap_or_default().to_owned(),
                    Err(e) if e.is_transient() => continue,
                    Err(e) => return Err(e),
                };
                if text.contains(needle) {
                    return Ok(Step::Done(text));
                }
                seen.push(text);
            }
            Ok(Step::Wait(if seen.is_empty() {
                "no match".into()
            } else {
                format!("texts were {seen:?}")
            }))
        })
        .await
    }

    /// Waits until the current URL contains `needle`; returns the URL.
    pub async fn wait_for_url(&self, needle: &str) -> Result<String> {
        self.poll(&format!("the URL to contain {needle:?}"), async || {
            let url = self.session.current_url().await?;
            Ok(if url.contains(needle) { Step::Done(url) } else { Step::Wait(String::new()) })
        })
        .await
    }

    /// Waits until the JavaScript function body `script` (called with `args`) returns a truthy
    /// value, and returns that value. `what` describes the condition for the error message.
    pub async fn wait_until(&self, what: &str, script: &str, args: &[Value]) -> Result<Value> {
        self.poll(what, async || {
            let v =
                self.session.post("/execute/sync", json!({"script": script, "args": args})).await?;
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            Ok(if truthy { Step::Done(v) } else { Step::Wait(format!("it returned {v}")) })
        })
        .await
    }

    /// Waits for `css` to be displayed and enabled, then clicks it.
    pub async fn click(&self, css: &str) -> Result<()> {
        self.poll(&format!("to click `{css}`"), async || {
            let Some(el) = self.displayed(css).await? else {
                return Ok(Step::Wait("no displayed match".into()));
            };
            if !self.enabled(&el).await? {
                return Ok(Step::Wait("it is disabled".into()));
            }
            self.session.post(&el.path("/click"), json!({})).await?;
            Ok(Step::Done(()))
        })
        .await
    }

    /// Waits for the input `css` to be displayed and enabled, clears it and types `text`.
    pub async fn fill(&self, css: &str, text: &str) -> Result<()> {
        self.poll(&format!("to fill `{css}`"), async || {
            let Some(el) = self.displayed(css).await? else {
                return Ok(Step::Wait("no displayed match".into()));
            };
            if !self.enabled(&el).await? {
                return Ok(Step::Wait("it is disabled".into()));
            }
            self.session.post(&el.path("/clear"), json!({})).await?;
            self.session.post(&el.path("/value"), json!({"text": text})).await?;
            Ok(Step::Done(()))
        })
        .await
    }

    /// Waits for `css` to be displayed and returns its rendered text.
    pub async fn text(&self, css: &str) -> Result<String> {
        self.poll(&format!("to read the text of `{css}`"), async || {
            let Some(el) = self.displayed(css).await? else {
                return Ok(Step::Wait("no displayed match".into()));
            };
            let v = self.session.get(&el.path("/text")).await?;
            Ok(Step::Done(v.as_str().unwrap_or_default().to_owned()))
        })
        .await
    }

    /// Runs `script` as a function body with `args` (`arguments[0]`, …) and returns its result.
    /// A returned promise is awaited.
    pub async fn execute(&self, script: &str, args: &[Value]) -> Result<Value> {
        match self.session.post("/execute/sync", json!({"script": script, "args": args})).await {
            Ok(v) => Ok(v),
            Err(e) => Err(self.annotate(anyhow!(e), "running a script").await),
        }
    }

    /// A PNG screenshot of the viewport.
    pub async fn screenshot_png(&self) -> Result<Vec<u8>> {
        let v = self.session.get("/screenshot").await.context("taking a screenshot")?;
        base64_decode(v.as_str().ok_or_else(|| anyhow!("screenshot was not a string"))?)
    }

    /// Saves a PNG screenshot of the viewport to `path`.
    pub async fn screenshot(&self, path: impl AsRef<Path>) -> Result<()> {
        let png = self.screenshot_png().await?;
        let path = path.as_ref();
        std::fs::write(path, png).with_context(|| format!("writing screenshot {}", path.display()))
    }

    /// Puts the file at `path` into the `<input type=file>` matching `css` (which may be
    /// visually hidden; it only has to exist).
    pub async fn set_file_input(&self, css: &str, path: impl AsRef<Path>) -> Result<()> {
        let path = std::fs::canonicalize(path.as_ref())
            .with_context(|| format!("file {}", path.as_ref().display()))?;
        let path = path.to_string_lossy().into_owned();
        self.poll(&format!("to set file input `{css}`"), async || {
            let Some(id) = self.session.find_all(css).await?.into_iter().next() else {
                return Ok(Step::Wait("no match".into()));
            };
            self.session.post(&format!("/element/{id}/value"), json!({"text": path})).await?;
            Ok(Step::Done(()))
        })
        .await
    }

    /// All cookies visible to the current page (HttpOnly ones included).
    pub async fn cookies(&self) -> Result<Vec<Cookie>> {
        let v = self.session.get("/cookie").await.context("reading cookies")?;
        Ok(v.as_array().map(|all| all.iter().map(parse_cookie).collect()).unwrap_or_default())
    }

    /// The cookie called `name`, if set.
    pub async fn cookie(&self, name: &str) -> Result<Option<Cookie>> {
        Ok(self.cookies().await?.into_iter().find(|c| c.name == name))
    }

    pub async fn delete_cookies(&self) -> Result<()> {
        self.session.cmd(Method::DELETE, "/cookie", None).await.context("deleting cookies")?;
        Ok(())
    }

    fn element(&self, id: String, css: &str) -> Element {
        Element { session: Arc::clone(&self.session), id, css: css.to_owned() }
    }

    /// The first displayed element matching `css`, skipping ones that went stale.
    async fn displayed(&self, css: &str) -> Result<Option<Element>, WebDriverError> {
        for id in self.session.find_all(css).await? {
            match self.session.get(&format!("/element/{id}/displayed")).await {
                Ok(Value::Bool(true)) => return Ok(Some(self.element(id, css))),
                Ok(_) => {}
                Err(e) if e.is_transient() => {}
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    async fn enabled(&self, el: &Element) -> Result<bool, WebDriverError> {
        Ok(self.session.get(&el.path("/enabled")).await?.as_bool().unwrap_or(false))
    }

    /// Runs `attempt` until it is done, a non-transient error happens, or the timeout passes.
    async fn poll<T>(
        &self,
        what: &str,
        mut attempt: impl AsyncFnMut() -> Result<Step<T>, WebDriverError>,
    ) -> Result<T> {
        let deadline = Instant::now() + self.timeout;
        let mut last: String;
        loop {
            match attempt().await {
                Ok(Step::Done(value)) => return Ok(value),
                Ok(Step::Wait(seen)) => last = seen,
                Err(e) if e.is_transient() => last = e.to_string(),
                Err(e) => {
                    return Err(self.annotate(anyhow!(e), &format!("waiting for {what}")).await);
                }
            }
            if Instant::now() >= deadline {
                let seen =
                    if last.is_empty() { String::new() } else { format!(" (last seen: {last})") };
                let msg = format!("timed out after {:?} waiting for {what}{seen}", self.timeout);
                return Err(self.annotate(anyhow!(msg), "").await);
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Adds "(at URL …)" to an error, plus what was being done.
    async fn annotate(&self, err: anyhow::Error, doing: &str) -> anyhow::Error {
        let url = self.session.current_url().await.unwrap_or_else(|e| format!("<unknown: {e}>"));
        if doing.is_empty() {
            err.context(format!("at URL {url}"))
        } else {
            err.context(format!("{doing} at URL {url}"))
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.closed {
            // Drop cannot await: delete the session with a tiny blocking HTTP request so Chromium
            // quits before chromedriver is killed (Driver's own Drop runs after this).
            let _ = blocking_request(
                self.driver.port,
                "DELETE",
                &format!("/session/{}", self.session.id),
            );
        }
    }
}

fn binary(env: &str, default: &str, name: &str) -> Result<PathBuf> {
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

async fn start_driver(chromedriver: &Path, http: &reqwest::Client) -> Result<Driver> {
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
fn blocking_request(port: u16, method: &str, path: &str) -> Option<String> {
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

fn parse_cookie(v: &Value) -> Cookie {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    Cookie {
        name: s("name").unwrap_or_default(),
        value: s("value").unwrap_or_default(),
        path: s("path"),
        domain: s("domain"),
        secure: v.get("secure").and_then(Value::as_bool).unwrap_or(false),
        http_only: v.get("httpOnly").and_then(Value::as_bool).unwrap_or(false),
        same_site: s("sameSite"),
        expiry: v.get("expiry").and_then(Value::as_u64),
    }
}

fn base64_decode(text: &str) -> Result<Vec<u8>> {
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
