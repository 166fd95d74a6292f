//! A small W3C WebDriver client for browser tests.
//!
//! [`Browser::launch`] starts Debian's `chromedriver` on a free port, opens a headless Chromium
//! session with a throw-away profile, and offers the handful of commands the web app's tests
//! need. Every wait polls with a timeout (default [`DEFAULT_TIMEOUT`]) and fails with an error
//! that says what it waited for and which URL the browser was on.
//!
//! Requires the `chromium` and `chromium-driver` Debian packages (override the binaries with the
//! `CHROMEDRIVER` and `CHROMIUM` environment variables).
//!
//! This module holds [`Browser`] itself (launch, navigation, scripts, screenshots, cookies);
//! `wait` its polling commands (`find`, `click`, `wait_for_*`, …), `element` the [`Element`]
//! handle and [`Cookie`], and `driver` the chromedriver process and the WebDriver wire.

mod driver;
mod element;
mod wait;
mod webauthn;

pub use driver::WebDriverError;
pub use element::{Cookie, Element};

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use reqwest::Method;
use serde_json::{Value, json};

use driver::{DEFAULT_CHROMEDRIVER, DEFAULT_CHROMIUM, Driver, Session, base64_decode, binary};
use driver::{blocking_request, send, start_driver};
use element::parse_cookie;

/// How long waits (`find`, `click`, `wait_for_text`, …) poll before giving up.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The phone-sized window every session starts with.
pub const PHONE_WINDOW: (u32, u32) = (390, 844);

const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Options for [`Browser::launch_with`].
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// Initial window size in CSS pixels.
    pub window: (u32, u32),
    /// Timeout for every wait.
    pub timeout: Duration,
    /// Extra Chromium command-line arguments.
    pub extra_args: Vec<String>,
    /// Run Chromium inside this network namespace (`ip netns exec`; chromedriver stays in the
    /// test's own and talks to it over a pipe), e.g. a viewer behind a NAT ([`crate::netns`]).
    pub netns: Option<String>,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        Self { window: PHONE_WINDOW, timeout: DEFAULT_TIMEOUT, extra_args: Vec::new(), netns: None }
    }
}

/// A headless Chromium driven through chromedriver. The session is deleted and chromedriver
/// stopped on drop; [`Browser::close`] does the same asynchronously.
pub struct Browser {
    session: Arc<Session>,
    timeout: Duration,
    closed: bool,
    driver: Driver,
}

/// A script that runs `chromium` with its arguments in network namespace `ns`.
fn netns_wrapper(dir: &Path, ns: &str, chromium: &Path) -> Result<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let path = dir.join("chromium-in-netns");
    let script = format!(
        "#!/bin/sh\nexec ip netns exec {} {} \"$@\"\n",
        quote(ns),
        quote(&chromium.to_string_lossy())
    );
    std::fs::write(&path, script).context("writing the netns wrapper")?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path)
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
        let chromium = match &options.netns {
            None => chromium,
            Some(ns) => {
                // chromedriver reaches Chromium's DevTools on 127.0.0.1 of its own namespace
                // unless they talk over a pipe, which `ip netns exec` passes through.
                args.push("--remote-debugging-pipe".into());
                netns_wrapper(driver.dir.path(), ns, &chromium)?
            }
        };

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
