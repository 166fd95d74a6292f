//! Firmware in a real headless Chromium: the device page shows the installed and available
//! firmware; Update sends the offer to the camera, the progress bar follows the camera's
//! reports, and a rollback says the camera went back to its version.
//!
//! Every step waits for an element, a text or an MQTT message; nothing sleeps a fixed time.

use anyhow::Result;
use kankan_protocol::device::Settings;
use serde_json::json;

use super::admin::staff_token;
use super::browser::{log_in_watching_csp, open_app, save_screenshot, tid, wait_for_hash};
use super::devices::{PW, bind, provision};
use super::firmware::{fw_app, key, next_offer, released, report};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_from_the_device_page_shows_progress_and_then_the_rollback() -> Result<()> {
    let key = key();
    let app = fw_app(&key, 50).await;
    let staff = staff_token(&app).await;
    let email = "firmware@example.com";
    let token = app.register(email, PW).await;
    let creds = provision(&app, "KK-C1").await;
    let mut dev = bind(&app, &token, &creds).await;
    // The owner turned automatic updates off: the rollout leaves the camera to the owner.
    let off = Settings { auto_update: false, ..Settings::default() };
    report(&app, &dev, &creds, "1.0.0", off, None).await;
    released(&app, &staff, &key, 100, &[]).await;

    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.click(&tid("device-card")).await?;
    wait_for_hash(&browser, &format!("#/devices/{}", creds.uid)).await?;
    browser.wait_for_text(&tid("firmware-installed"), "1.0.0").await?;
    browser.wait_for_text(&tid("firmware-available"), "1.1.0").await?;
    browser.wait_for_text(&tid("firmware-auto"), "Automatic updates are off").await?;
    browser.click(&tid("firmware-update")).await?;

    let cmd = next_offer(&mut dev).await;
    dev.publish_json("ack", &json!({"id": cmd["id"], "ok": true, "error": null})).await?;
    let down = json!({"version": "1.1.0", "phase": "downloading", "percent": 40});
    report(&app, &dev, &creds, "1.0.0", Settings::default(), Some(down)).await;
    browser.wait_for_text(&tid("firmware-phase"), "Downloading 1.1.0 · 40%").await?;
    browser
        .wait_until(
            "the progress bar at 40 %",
            "const p = document.querySelector('[data-testid=firmware-progress]');
             return p && p.value === 40;",
            &[],
        )
        .await?;
    save_screenshot(&browser, "firmware-progress").await?;

    let back = json!({"version": "1.1.0", "phase": "rolled-back", "percent": 100, "error": "health-check"});
    report(&app, &dev, &creds, "1.0.0", Settings::default(), Some(back)).await;
    browser
        .wait_for_text(
            &tid("firmware-failed"),
            "The update to 1.1.0 failed and the camera went back to 1.0.0",
        )
        .await?;
    save_screenshot(&browser, "firmware-rolled-back").await?;
    browser.close().await?;
    Ok(())
}
