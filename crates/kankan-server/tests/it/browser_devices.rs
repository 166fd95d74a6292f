//! The device pages end to end: a real headless Chromium adds a device by showing its pairing
//! QR code, a bare MQTT device reads that code off the page (as a camera would), claims it and
//! reports its state; the user then renames it, changes a setting, moves it and unbinds it.
//!
//! Every step waits for an element, a text, a URL or an MQTT message; nothing sleeps a fixed
//! time. Timeouts are generous because these tests share a small machine with the rest of the
//! suite.

use std::path::PathBuf;

use anyhow::{Context as _, Result, ensure};
use base64::Engine as _;
use kankan_crypto::pairing::{open_pairing, pairing_from_qr_text, pairing_key, token_text};
use kankan_protocol::device::Settings;
use kankan_testkit::browser::{Browser, PHONE_WINDOW};
use kankan_testkit::{TestApp, TestDevice, state_report};
use serde_json::{Value, json};

use super::browser::{
    loaded_image_src, log_in_watching_csp, open_app, save_screenshot, wait_for_hash,
};
use super::devices::{PW, provision};

/// A `[data-testid=…]` selector.
fn tid(id: &str) -> String {
    format!("[data-testid={id}]")
}

/// A screenshot of the whole page: the viewport is made as tall as the page for the shot, then
/// restored to `window`.
async fn save_full_page(browser: &Browser, name: &str, window: (u32, u32)) -> Result<PathBuf> {
    let height = browser
        .execute("window.scrollTo(0, 0); return document.documentElement.scrollHeight;", &[])
        .await?
        .as_u64()
        .context("page height")?;
    let height = u32::try_from(height)?.clamp(window.1, 4000);
    browser.set_window_size(window.0, height).await?;
    let path = save_screenshot(browser, name).await;
    browser.set_window_size(window.0, window.1).await?;
    path
}

/// Reads the QR code in a `data:image/png;base64,…` URL, as a camera would: the text in it.
fn read_qr(data_url: &str) -> Result<String> {
    let b64 = data_url.strip_prefix("data:image/png;base64,").context("a PNG data URL")?;
    let png = base64::engine::general_purpose::STANDARD.decode(b64)?;
    let img = image::load_from_memory(&png)?.to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    ensure!(grids.len() == 1, "one QR code in the image, found {}", grids.len());
    let (_meta, text) = grids[0].decode().context("decoding the QR code")?;
    Ok(text)
}

/// Moves the range input `testid` to `value` as a drag would end: `input`, then `change`.
async fn set_range(browser: &Browser, testid: &str, value: u32) -> Result<()> {
    browser.find(&tid(testid)).await?;
    browser
        .execute(
            "const el = document.querySelector(`[data-testid=${arguments[0]}]`);
             el.value = String(arguments[1]);
             el.dispatchEvent(new Event('input', { bubbles: true }));
             el.dispatchEvent(new Event('change', { bubbles: true }));",
            &[json!(testid), json!(value)],
        )
        .await?;
    Ok(())
}

/// What the test device reports: the testkit's report, on battery, with `settings`.
fn report(seq: u64, settings: Value, version: u64) -> Value {
    let mut r = state_report(seq, settings, version);
    r["battery_pct"] = json!(76);
    r["signal_dbm"] = json!(-61);
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_is_added_with_its_qr_code_then_set_moved_and_unbound() -> Result<()> {
    let app = TestApp::spawn().await;
    let email = "cams@example.com";
    let token = app.register(email, PW).await;
    let creds = provision(&app, "KK-C1").await;
    let uid = creds.uid.clone();

    let browser = open_app(&app).await?;
    // Whatever the CSP blocks from here on is recorded.
    log_in_watching_csp(&browser, email).await?;

    // No devices yet: the empty state leads to the add flow.
    browser.wait_for_text(&tid("devices-empty"), "No devices yet").await?;
    browser.click(&tid("devices-empty-add")).await?;
    wait_for_hash(&browser, "#/devices/add").await?;

    // A UID that is not on any label is explained.
    browser.fill(&tid("add-uid"), "KKNOSUCHDEV1").await?;
    browser.fill(&tid("add-ssid"), "Home WiFi").await?;
    browser.fill(&tid("add-password"), "wifi-secret-99").await?;
    browser.click(&tid("add-submit")).await?;
    let alert = browser.wait_for_text(&tid("add-alert"), "UID").await?;
    assert_eq!(alert, "No device with this UID — check the label.");
    save_screenshot(&browser, "device-add-form.png").await?;

    // The UID as read off the label (lower case, grouped) is accepted.
    let typed = format!("{} {}", &uid[..6], &uid[6..]).to_lowercase();
    browser.fill(&tid("add-uid"), &typed).await?;
    browser.click(&tid("add-submit")).await?;
    let src = loaded_image_src(&browser, "add-qr").await?;
    assert_eq!(browser.text(&tid("add-target-uid")).await?, uid);
    browser.wait_for_text(&tid("add-countdown"), "Code valid for ").await?;
    let countdown = browser.text(&tid("add-countdown")).await?;
    assert!(
        countdown.contains("for 10:00") || countdown.contains("for 9:"),
        "a 10-minute code: {countdown}"
    );
    browser.wait_for_text(&tid("add-waiting"), "Waiting for the device").await?;
    // The sound signal plays from a Blob URL (the CSP allows `media-src blob:`), and stops.
    browser.click(&tid("add-play-sound")).await?;
    browser.wait_for_text(&tid("add-play-sound"), "Stop sound").await?;
    browser.click(&tid("add-play-sound")).await?;
    browser.wait_for_text(&tid("add-play-sound"), "Play sound").await?;
    save_screenshot(&browser, "device-add-qr.png").await?;

    // The device reads the code on the screen: only its own secret opens the Wi-Fi password.
    let qr_text = read_qr(&src)?;
    ensure!(qr_text.starts_with("KKP1:"), "a pairing code: {qr_text}");
    let sealed = pairing_from_qr_text(&qr_text)?;
    let payload = open_pairing(&sealed, &pairing_key(&creds.secret))?;
    assert_eq!(
        (payload.ssid.as_str(), payload.wifi_password.as_str()),
        ("Home WiFi", "wifi-secret-99")
    );
    assert_eq!((payload.server, payload.pin), (app.device_server(), app.pin()));

    // It joins, claims the token and reports; the page moves on by itself.
    let mut dev = TestDevice::connect(app.mqtt_addr(), &uid, &creds.secret).await?;
    dev.publish_json("claim", &json!({"token": token_text(&payload.token)})).await?;
    assert_eq!(dev.next_on("claim/result").await?, json!({"ok": true, "code": null}));
    dev.publish_json("state", &report(1, json!(Settings::default()), 0)).await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}")).await?;
    browser.wait_for_text(&tid("toast"), "Device added").await?;
    browser.wait_for_text(&tid("device-presence"), "Online").await?;
    browser.wait_for_text(&tid("info-firmware"), "1.0.0-test").await?;
    assert_eq!(browser.text(&tid("info-uid")).await?, uid);
    assert_eq!(browser.text(&tid("info-lan-ip")).await?, "192.168.1.20");
    assert_eq!(browser.text(&tid("info-mac")).await?, "**:**:**:**:00:01");
    assert_eq!(browser.text(&tid("info-timezone")).await?, "Asia/Shanghai");
    assert!(browser.text(&tid("info-battery")).await?.contains("76%"));
    assert!(browser.text(&tid("info-signal")).await?.contains("-61 dBm"));
    assert!(browser.text(&tid("info-sd")).await?.contains("1000 MB used of 31.3 GB"));
    let title = browser.text(&tid("device-name-text")).await?;
    assert_eq!(title, format!("KK-C1 {}", &uid[uid.len() - 4..]));
    browser.wait_for_text(&tid("device-settings-status"), "Applied").await?;
    ensure!(!browser.is_displayed(&tid("set-call-mode")).await?, "call mode is for doorbells only");
    save_full_page(&browser, "device-page.png", PHONE_WINDOW).await?;

    // Rename from the header.
    browser.click(&tid("device-name")).await?;
    browser.fill(&tid("device-rename-input"), "Front door").await?;
    browser.click(&tid("device-rename-save")).await?;
    browser.wait_for_text(&tid("device-name-text"), "Front door").await?;

    // A setting goes to the device as desired settings; "Applied" once it reports them.
    set_range(&browser, "set-motion-sensitivity", 80).await?;
    browser.wait_for_text(&tid("device-settings-status"), "Waiting for the device").await?;
    let desired = dev.next_on("desired").await?;
    assert_eq!(desired["settings"]["motion"]["sensitivity"], 80, "{desired}");
    assert_eq!(desired["settings"]["indicator_light"], true, "the rest is unchanged: {desired}");
    let version = desired["version"].as_u64().context("a desired version")?;
    dev.publish_json("state", &report(2, desired["settings"].clone(), version)).await?;
    browser.wait_for_text(&tid("device-settings-status"), "Applied").await?;
    assert_eq!(browser.text(&tid("set-motion-sensitivity-value")).await?, "80");

    // The pan/tilt pad sends a command; the device's acknowledgement shows as success.
    browser.click(&tid("ptz-left")).await?;
    let cmd = dev.next_on("cmd").await?;
    assert_eq!(cmd["command"], json!({"name": "ptz-move", "pan": -1, "tilt": 0}));
    dev.publish_json("ack", &json!({"id": cmd["id"], "ok": true, "error": null})).await?;
    browser.wait_for_text(&tid("device-command-status"), "Pan left: done").await?;

    // A preset the device refuses shows its reason.
    browser.click(&tid("preset-slot-3")).await?;
    browser.click(&tid("preset-goto")).await?;
    let cmd = dev.next_on("cmd").await?;
    assert_eq!(cmd["command"], json!({"name": "preset-goto", "slot": 3}));
    dev.publish_json("ack", &json!({"id": cmd["id"], "ok": false, "error": "preset 3 is not set"}))
        .await?;
    browser
        .wait_for_text(&tid("device-command-status"), "Go to preset 3 failed: preset 3 is not set")
        .await?;
    browser.set_window_size(1280, 800).await?;
    save_full_page(&browser, "device-page-desktop.png", (1280, 800)).await?;
    browser.set_window_size(PHONE_WINDOW.0, PHONE_WINDOW.1).await?;

    // The list shows the device's card; it opens the device again.
    browser.click(&tid("device-back")).await?;
    wait_for_hash(&browser, "#/devices").await?;
    browser.wait_for_text(&tid("device-card-name"), "Front door").await?;
    browser.wait_for_text(&tid("device-card-presence"), "Online").await?;
    browser.wait_for_text(&tid("device-card-battery"), "76%").await?;
    let bars = browser.find(&tid("device-card-signal")).await?.attr("data-level").await?;
    assert_eq!(bars.as_deref(), Some("3"), "-61 dBm is three bars");
    save_screenshot(&browser, "devices-list.png").await?;
    browser.set_window_size(1280, 800).await?;
    save_screenshot(&browser, "devices-list-desktop.png").await?;
    browser.set_window_size(PHONE_WINDOW.0, PHONE_WINDOW.1).await?;
    browser.click(&tid("device-card")).await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}")).await?;

    // Unbind and delete, after confirming: back to an empty list.
    browser.click(&tid("device-unbind")).await?;
    browser.wait_for_text(&tid("confirm"), "Remove Front door?").await?;
    save_screenshot(&browser, "device-unbind-confirm.png").await?;
    browser.click(&tid("confirm-ok")).await?;
    wait_for_hash(&browser, "#/devices").await?;
    browser.wait_for_text(&tid("devices-empty"), "No devices yet").await?;
    assert_eq!(app.get_authed("/api/v1/devices", &token).await.1, json!([]));

    let blocked = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "nothing was blocked by the CSP");

    // Its page is now a not-found state.
    browser.goto(&app.url(&format!("/#/devices/{uid}"))).await?;
    browser.wait_for_text(&tid("device-not-found"), "Device not found").await?;

    drop(dev);

    // A doorbell: call mode is offered, the pan/tilt pad is not; going away shows it offline.
    let bell = provision(&app, "KK-D1").await;
    let bell_dev = super::devices::bind(&app, &token, &bell).await;
    let mut r = report(1, json!(Settings::default()), 0);
    r["model"] = json!("KK-D1");
    bell_dev.publish_json("state", &r).await?;
    browser.click(&tid("device-not-found-back")).await?;
    browser.wait_for_text(&tid("device-card-presence"), "Online").await?;
    browser.click(&tid("device-card")).await?;
    wait_for_hash(&browser, &format!("#/devices/{}", bell.uid)).await?;
    browser.find(&tid("set-call-mode")).await?;
    ensure!(!browser.is_displayed(&tid("device-ptz")).await?, "a doorbell has no pan/tilt");
    bell_dev.disconnect().await?;
    browser.wait_for_text(&tid("device-presence"), "Offline · last seen").await?;
    browser.find(&tid("device-controls-offline")).await?;
    let dark = json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]});
    browser.cdp("Emulation.setEmulatedMedia", dark).await?;
    save_full_page(&browser, "doorbell-dark.png", PHONE_WINDOW).await?;

    browser.close().await?;
    app.stop().await;
    Ok(())
}
