//! The Album and the Live page's extras in the browser: a real headless Chromium opens a
//! streaming camera's Live page (overlay with battery, signal and the device's clock; pan/tilt
//! and presets acknowledged by the device), saves a screenshot and a clip, finds both in the
//! Album (the picture loads, the clip's video reads) and deletes one. The grid page plays every
//! camera at once, the sub-stream where a camera has one, and a tile opens that camera.
//!
//! Every step waits for an element, a value or a URL; nothing sleeps a fixed time.

use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use kankan_base::Shutdown;
use kankan_sim::video::{self, VideoHandle};
use kankan_testkit::browser::Browser;
use kankan_testkit::{TestApp, TestDevice, state_report};
use serde_json::{Value, json};

use super::browser::{
    loaded_image_src, log_in_watching_csp, open_app, save_screenshot, wait_for_hash,
};
use super::devices::{Creds, PW, bind, provision};
use super::recording::{recorded_ms, recording_app, small_video, timeline_until};

const WAIT: Duration = Duration::from_secs(30);

/// A `[data-testid=…]` selector.
fn tid(id: &str) -> String {
    format!("[data-testid={id}]")
}

/// Binds a new camera to `token`'s account and starts its video (with a sub-stream if
/// `sub`); the MQTT device stays connected for the test to answer commands.
async fn camera(
    app: &TestApp,
    token: &str,
    sub: bool,
) -> (Creds, TestDevice, VideoHandle, Shutdown) {
    let creds = provision(app, "KK-C1").await;
    let dev = bind(app, token, &creds).await;
    let (stop, signal) = Shutdown::new();
    let mut v = small_video(&app.base_url, &creds);
    if sub {
        v.sub_stream = Some(v.encoder);
    }
    let cam = video::start(v, signal).expect("camera starts");
    (creds, dev, cam, stop)
}

/// Waits for the Live page's status to say live.
async fn wait_live(browser: &Browser) -> Result<()> {
    browser
        .wait_until(
            "the live status to say live",
            "return document.querySelector('[data-testid=live-status]')?.dataset.state === 'live';",
            &[],
        )
        .await?;
    Ok(())
}

/// Seconds since midnight of `text` ("14:05:09").
fn seconds_of_day(text: &str) -> Option<i64> {
    let mut parts = text.trim().split(':').map(|p| p.parse::<i64>().ok());
    Some(parts.next()?? * 3600 + parts.next()?? * 60 + parts.next()??)
}

/// Sends a command's acknowledgement from the device.
async fn ack(dev: &mut TestDevice, want: Value) -> Result<()> {
    let cmd = dev.next_on("cmd").await?;
    ensure!(cmd["command"] == want, "expected {want}, the device got {cmd}");
    dev.publish_json("ack", &json!({"id": cmd["id"], "ok": true, "error": null})).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screenshot_and_a_clip_saved_from_live_view_are_in_the_album_and_one_is_deleted()
-> Result<()> {
    let app = recording_app().await;
    let email = "albumweb@example.com";
    let token = app.register(email, PW).await;
    let (creds, mut dev, cam, stop) = camera(&app, &token, false).await;
    let uid = creds.uid.clone();
    // On battery, in a time zone eight hours ahead of UTC all year.
    let mut report = state_report(1, json!(kankan_protocol::device::Settings::default()), 0);
    report["battery_pct"] = json!(64);
    dev.publish_json("state", &report).await?;
    cam.wait_for("two fragments are sent", WAIT, |s| s.sent_live >= 2).await?;

    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.click(&tid("device-card")).await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}")).await?;
    browser.click(&tid("device-live")).await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}/live")).await?;
    wait_live(&browser).await?;

    // The overlay: battery, signal and the clock of the device's time zone.
    browser.wait_for_text(&tid("live-battery"), "64%").await?;
    browser.find(&tid("live-signal")).await?;
    let clock = browser.wait_for_text(&tid("live-clock"), ":").await?;
    let utc = kankan_base::Clock::now(&kankan_base::RealClock).0 / 1000;
    let shanghai = (utc + 8 * 3600).rem_euclid(86_400);
    let shown = seconds_of_day(&clock).with_context(|| format!("a clock: {clock:?}"))?;
    let off = (shown - shanghai).rem_euclid(86_400);
    ensure!(off <= 5 || off >= 86_400 - 5, "the clock {clock} is not Asia/Shanghai's time");

    // Pan/tilt and a preset, acknowledged by the device.
    browser.click(&tid("live-ptz-left")).await?;
    ack(&mut dev, json!({"name": "ptz-move", "pan": -1, "tilt": 0})).await?;
    browser.wait_for_text(&tid("live-command-status"), "Pan left: done").await?;
    browser.click(&tid("live-preset-2")).await?;
    ack(&mut dev, json!({"name": "preset-goto", "slot": 2})).await?;
    browser.wait_for_text(&tid("live-command-status"), "Go to preset 2: done").await?;
    save_screenshot(&browser, "live-extras.png").await?;

    // A screenshot, then the Album shows it as a loaded picture.
    browser.click(&tid("live-screenshot")).await?;
    browser.wait_for_text(&tid("toast"), "Screenshot saved").await?;
    browser.click(&tid("nav-album")).await?;
    wait_for_hash(&browser, "#/album").await?;
    browser.find(&tid("album-item")).await?;
    let src = loaded_image_src(&browser, "album-image").await?;
    ensure!(src.starts_with("/api/v1/album/") && src.ends_with("/content"), "{src}");

    // Back to Live: a clip, and the toast's link leads to the Album.
    browser.back().await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}/live")).await?;
    wait_live(&browser).await?;
    timeline_until(&app, &token, &uid, "4 s recorded", |t| recorded_ms(t) >= 4_000).await;
    browser.click(&tid("live-clip")).await?;
    browser.wait_for_text(&tid("toast"), "The last 30 s saved").await?;
    browser.click("[data-testid=toast]:last-child [data-testid=toast-album-link]").await?;
    wait_for_hash(&browser, "#/album").await?;
    let kinds = browser
        .wait_until(
            "two items, the clip first, its video readable",
            "const items = [...document.querySelectorAll('[data-testid=album-item]')];
             const v = document.querySelector('[data-testid=album-video]');
             return items.length === 2 && v && v.readyState >= 1 && v.duration > 1
               ? items.map((i) => i.dataset.kind) : null;",
            &[],
        )
        .await?;
    assert_eq!(kinds, json!(["clip", "screenshot"]));
    save_screenshot(&browser, "album.png").await?;

    // Delete the screenshot, after confirming.
    browser
        .click("[data-testid=album-item][data-kind=screenshot] [data-testid=album-delete]")
        .await?;
    browser.click(&tid("confirm-ok")).await?;
    browser
        .wait_until(
            "only the clip left",
            "const items = [...document.querySelectorAll('[data-testid=album-item]')];
             return items.length === 1 && items[0].dataset.kind === 'clip';",
            &[],
        )
        .await?;
    let (s, left) = app.get_authed("/api/v1/album", &token).await;
    assert_eq!(s, 200);
    assert_eq!(left.as_array().map(Vec::len), Some(1), "deleted on the server: {left}");

    let blocked: Value = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "nothing was blocked by the CSP");
    stop.trigger();
    browser.close().await?;
    drop(cam);
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grid_plays_every_camera_the_sub_stream_where_there_is_one() -> Result<()> {
    let app = recording_app().await;
    let email = "grid@example.com";
    let token = app.register(email, PW).await;
    let (with_sub, _dev_a, cam_a, stop_a) = camera(&app, &token, true).await;
    let (main_only, mut dev_b, cam_b, stop_b) = camera(&app, &token, false).await;
    // A camera without a sub-stream refuses to start one, should the server ask.
    let refuse = tokio::spawn(async move {
        loop {
            let cmd = match dev_b.next_on("cmd").await {
                Ok(cmd) => cmd,
                Err(e) if format!("{e:#}").contains("closed") => return,
                Err(_) => continue, // quiet for a while: keep listening
            };
            let reply = json!({"id": cmd["id"], "ok": false, "error": "no sub-stream"});
            if dev_b.publish_json("ack", &reply).await.is_err() {
                return;
            }
        }
    });
    for cam in [&cam_a, &cam_b] {
        cam.wait_for("two fragments are sent", WAIT, |s| s.sent_live >= 2).await?;
    }

    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.click(&tid("devices-grid")).await?;
    wait_for_hash(&browser, "#/live").await?;
    let playing = browser
        .wait_until(
            "both tiles to play",
            "const tiles = [...document.querySelectorAll('[data-testid=grid-tile]')];
             const ok = tiles.length === 2 && tiles.every((t) => {
               const v = t.querySelector('video');
               return !v.paused && v.currentTime > 0.5 && v.getVideoPlaybackQuality().totalVideoFrames > 5;
             });
             return ok ? Object.fromEntries(tiles.map((t) => [t.dataset.uid, t.dataset.stream])) : null;",
            &[],
        )
        .await?;
    assert_eq!(playing[&with_sub.uid], json!("1"), "the sub-stream where there is one: {playing}");
    assert_eq!(playing[&main_only.uid], json!("0"), "else the main stream: {playing}");
    save_screenshot(&browser, "live-grid.png").await?;

    // A tile opens its camera's Live page.
    browser.click(&format!("[data-testid=grid-tile][data-uid={}]", main_only.uid)).await?;
    wait_for_hash(&browser, &format!("#/devices/{}/live", main_only.uid)).await?;
    wait_live(&browser).await?;

    let blocked: Value = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "nothing was blocked by the CSP");
    stop_a.trigger();
    stop_b.trigger();
    refuse.abort();
    browser.close().await?;
    drop((cam_a, cam_b));
    app.stop().await;
    Ok(())
}
