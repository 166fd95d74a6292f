//! Adding an RTSP camera from the web app end to end: a real headless Chromium fills the
//! "Add an RTSP camera" form against a local gst-rtsp-server camera. Input the server refuses
//! is shown at the field it is about (the address, the password); the right login adds the
//! camera, opens its page and lists it.
//!
//! Every step waits for an element, a text, a URL or a script condition; nothing sleeps a fixed
//! time. Timeouts are generous because these tests share a small machine with the rest of the
//! suite.

use anyhow::{Context as _, Result, ensure};
use kankan_testkit::TestApp;
use kankan_testkit::browser::Browser;
use kankan_testkit::rtsp::RtspCamera;
use serde_json::json;

use super::browser::{open_app, save_screenshot, wait_for_hash};
use super::devices::PW;

const USER: &str = "admin";
const PASSWORD: &str = "cam-pass-7";

/// A `[data-testid=…]` selector.
fn tid(id: &str) -> String {
    format!("[data-testid={id}]")
}

/// The attribute `name` of the element `testid` (which must be displayed).
async fn attr(browser: &Browser, testid: &str, name: &str) -> Result<Option<String>> {
    browser.find(&tid(testid)).await?.attr(name).await
}

/// Starts recording, in `window.busySeen`, whether the submit button went busy and the
/// "Checking the camera…" line showed (the probe may be over before a poll could see either).
async fn watch_busy(browser: &Browser) -> Result<()> {
    let script = "window.busySeen = { button: false, checking: false };
        const button = document.querySelector('[data-testid=rtsp-submit]');
        const checking = document.querySelector('[data-testid=rtsp-checking]');
        new MutationObserver((records) => {
          for (const r of records) {
            if (r.target === button && r.attributeName === 'aria-busy' && r.oldValue === null)
              window.busySeen.button = true;
            if (r.target === checking && r.attributeName === 'hidden' && r.oldValue !== null)
              window.busySeen.checking = true;
          }
        }).observe(document.querySelector('[data-testid=rtsp-form]'),
          { subtree: true, attributes: true, attributeOldValue: true,
            attributeFilter: ['aria-busy', 'hidden'] });";
    browser.execute(script, &[]).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rtsp_camera_is_added_from_the_web_form_after_a_wrong_password() -> Result<()> {
    // The test camera is on loopback, which only an explicit allow-list entry opens.
    let app = TestApp::spawn_with(kankan_testkit::rtsp::allow_loopback_cameras).await;
    let email = "rtsp-web@example.com";
    let token = app.register(email, PW).await;
    let cam = RtspCamera::start(USER, PASSWORD).await?;

    let browser = open_app(&app).await?;
    // The app is one page: whatever the CSP blocks, and any uncaught error, is recorded.
    let watch = "window.cspViolations = []; window.jsErrors = [];
        document.addEventListener('securitypolicyviolation',
          (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
        window.addEventListener('error', (e) => window.jsErrors.push(String(e.message)));
        window.addEventListener('unhandledrejection',
          (e) => window.jsErrors.push(String(e.reason)));";
    browser.execute(watch, &[]).await?;
    browser.fill(&tid("login-identifier"), email).await?;
    browser.fill(&tid("login-password"), PW).await?;
    browser.click(&tid("login-submit")).await?;
    wait_for_hash(&browser, "#/devices").await?;

    // From the empty list to the Kankan-device add page, and on to the RTSP form.
    browser.wait_for_text(&tid("devices-empty"), "No devices yet").await?;
    browser.find(&tid("devices-empty-add-rtsp")).await?;
    browser.click(&tid("devices-empty-add")).await?;
    wait_for_hash(&browser, "#/devices/add").await?;
    browser.click(&tid("add-rtsp-link")).await?;
    wait_for_hash(&browser, "#/devices/add-rtsp").await?;
    browser.find(&tid("page-device-add-rtsp")).await?;
    let help = browser.text(&tid("rtsp-help")).await?;
    ensure!(help.contains("H.264") && help.contains("encrypted"), "help text: {help}");
    let placeholder = attr(&browser, "rtsp-url", "placeholder").await?;
    assert_eq!(placeholder.as_deref(), Some("rtsp://192.168.1.20:554/stream1"));
    assert_eq!(attr(&browser, "rtsp-password", "type").await?.as_deref(), Some("password"));

    // A name is asked for before anything is sent.
    browser.click(&tid("rtsp-submit")).await?;
    browser.wait_for_text(&tid("rtsp-name-error"), "Give the camera a name").await?;
    assert_eq!(attr(&browser, "rtsp-name", "aria-invalid").await?.as_deref(), Some("true"));

    // An address that is not rtsp:// is refused at the URL field.
    browser.fill(&tid("rtsp-name"), "Porch").await?;
    browser.fill(&tid("rtsp-url"), "http://127.0.0.1/cam").await?;
    browser.click(&tid("rtsp-submit")).await?;
    browser.wait_for_text(&tid("rtsp-url-error"), "Only rtsp:// URLs are supported").await?;
    ensure!(!browser.is_displayed(&tid("rtsp-name-error")).await?, "the name error is gone");

    // The wrong password: the camera refuses it, and the form says so at the password field.
    browser.fill(&tid("rtsp-url"), &cam.url()).await?;
    browser.fill(&tid("rtsp-username"), USER).await?;
    browser.fill(&tid("rtsp-password"), "wrong-password").await?;
    watch_busy(&browser).await?;
    browser.click(&tid("rtsp-submit")).await?;
    let error = browser.wait_for_text(&tid("rtsp-password-error"), "username or password").await?;
    ensure!(error.starts_with("The camera refused"), "password error: {error}");
    assert_eq!(attr(&browser, "rtsp-password", "aria-invalid").await?.as_deref(), Some("true"));
    let described = attr(&browser, "rtsp-password", "aria-describedby").await?.unwrap_or_default();
    let error_id = attr(&browser, "rtsp-password-error", "id").await?.context("an error id")?;
    ensure!(described.split(' ').any(|id| id == error_id), "described by the error: {described}");
    ensure!(!browser.is_displayed(&tid("rtsp-url-error")).await?, "the URL error is gone");
    ensure!(!browser.is_displayed(&tid("rtsp-alert")).await?, "no form-wide error");
    let seen = browser.execute("return window.busySeen;", &[]).await?;
    assert_eq!(seen, json!({"button": true, "checking": true}), "busy while probing");
    ensure!(!browser.is_displayed(&tid("rtsp-checking")).await?, "no longer checking");
    assert_eq!(
        attr(&browser, "rtsp-submit", "aria-busy").await?,
        None,
        "the button is ready again"
    );
    wait_for_hash(&browser, "#/devices/add-rtsp").await?;
    assert_eq!(app.get_authed("/api/v1/devices", &token).await.1, json!([]), "nothing added");
    save_screenshot(&browser, "rtsp-add-wrong-password.png").await?;

    // The right password adds the camera and opens its page.
    browser.fill(&tid("rtsp-password"), PASSWORD).await?;
    ensure!(!browser.is_displayed(&tid("rtsp-password-error")).await?, "typing clears the error");
    browser.click(&tid("rtsp-submit")).await?;
    let hash = browser
        .wait_until(
            "the new camera's page to open",
            "const m = location.hash.match(/^#\\/devices\\/([^/?]+)$/);
             return m && m[1] !== 'add-rtsp' ? decodeURIComponent(m[1]) : null;",
            &[],
        )
        .await?;
    let uid = hash.as_str().context("a uid")?.to_owned();
    browser.wait_for_text(&tid("toast"), "Camera added").await?;
    browser.wait_for_text(&tid("device-name-text"), "Porch").await?;
    assert_eq!(browser.text(&tid("info-uid")).await?, uid);
    ensure!(browser.text(&tid("info-model")).await?.contains("RTSP"), "the model is RTSP");
    let kankan_only = browser
        .execute(
            "return ['device-settings', 'device-controls', 'device-playback']
                .map((t) => document.querySelector(`[data-testid=${t}]`) !== null);",
            &[],
        )
        .await?;
    assert_eq!(
        kankan_only,
        serde_json::json!([false, false, true]),
        "an RTSP camera has Playback but no Kankan settings or controls"
    );
    let (s, list) = app.get_authed("/api/v1/devices", &token).await;
    assert_eq!(s, 200);
    assert_eq!(list[0]["uid"], uid.as_str(), "{list}");
    assert_eq!(list[0]["name"], "Porch", "{list}");
    save_screenshot(&browser, "rtsp-device.png").await?;

    // The list shows it.
    browser.click(&tid("device-back")).await?;
    wait_for_hash(&browser, "#/devices").await?;
    browser.wait_for_text(&tid("device-card-name"), "Porch").await?;
    let card = browser.find(&tid("device-card")).await?;
    assert_eq!(card.attr("data-uid").await?.as_deref(), Some(uid.as_str()));
    ensure!(browser.find_all(&tid("device-card")).await?.len() == 1, "one card");
    save_screenshot(&browser, "rtsp-devices-list.png").await?;

    let blocked = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "nothing was blocked by the CSP");
    let errors = browser.execute("return window.jsErrors;", &[]).await?;
    assert_eq!(errors, json!([]), "no uncaught errors");

    browser.close().await?;
    drop(cam);
    app.stop().await;
    Ok(())
}
