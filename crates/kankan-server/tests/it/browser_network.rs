//! Network settings and the SD card in a real headless Chromium: the owner types another Wi-Fi
//! network on the device page of an online `kankan-cam`; the camera joins it (the page's Info
//! shows the new name) and the password is not on the camera's flash. The SD card page lists
//! the card's footage and plays a span relayed from the camera in the page's player.
//!
//! Every step waits for an element or a value; nothing sleeps a fixed time.

use anyhow::{Context as _, Result};
use kankan_testkit::TestApp;

use super::browser::{log_in_watching_csp, open_app, tid, wait_for_hash};
use super::devices::eventually;
use super::live_on_demand::firmware_camera;
use super::recording::WAIT;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_network_settings_move_an_online_camera_to_another_wifi() -> Result<()> {
    let app = TestApp::spawn().await;
    let email = "network@example.com";
    let cam = firmware_camera(&app, email, None, None).await;
    let uid = cam.creds.uid.clone();

    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.click(&tid("device-card")).await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}")).await?;
    browser.find(&tid("network-form")).await?;
    browser.wait_for_text(&tid("network-submit"), "Send to camera").await?;
    browser.fill(&tid("network-ssid"), "Upstairs").await?;
    browser.fill(&tid("network-password"), "kettle-lamp-77").await?;
    browser.click(&tid("network-submit")).await?;

    eventually(&app, &cam.token, &uid, "the camera is on the new network", |v| {
        v["reported"]["ssid"] == "Upstairs"
    })
    .await;
    browser.wait_for_text(&tid("info-ssid"), "Upstairs").await?;
    let flash = std::fs::read_to_string(cam.dir.path().join("state/state.json"))?;
    anyhow::ensure!(!flash.contains("kettle-lamp"), "the password is not on the flash");
    browser.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sd_card_page_lists_the_footage_and_plays_it_from_the_camera() -> Result<()> {
    let app = TestApp::spawn().await;
    let email = "sdcard@example.com";
    // On demand: only the card holds its footage.
    let cam = firmware_camera(&app, email, Some(true), None).await;
    let uid = cam.creds.uid.clone();
    let video = cam.cam.clone().context("video")?;
    video.wait_for("4 s on the card", WAIT, |s| s.made_ms >= 4_000).await?;

    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.click(&tid("device-card")).await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}")).await?;
    browser.click(&tid("device-sdcard")).await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}/card")).await?;
    browser.wait_for_text(&tid("card-status"), "Ready").await?;
    browser.find(&tid("card-day")).await?;
    browser.click(&tid("card-span-play")).await?;
    browser
        .wait_until(
            "the card's footage plays",
            "const v = document.querySelector('[data-testid=card-video]');
             return v && v.dataset.state === 'playing' && v.readyState >= 2
               && v.videoWidth > 0 && Number(v.dataset.bytes) > 0;",
            &[],
        )
        .await?;
    browser.close().await?;
    Ok(())
}
