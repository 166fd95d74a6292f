//! Live view in the browser: a camera streams, a real headless Chromium opens its Live page
//! from the device page and plays the WebSocket's fMP4 through Media Source Extensions. Time
//! and decoded frames advance, and the clock the camera burns into every picture, read off
//! the <video>, tells how far behind real time the picture on screen is.
//!
//! Every step waits for an element, a value or a URL; nothing sleeps a fixed time.

use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use serde_json::{Value, json};

use super::browser::{
    live_picture, log_in_watching_csp, open_app, save_screenshot, tid, video_past, wait_for_hash,
};
use super::recording::recording_camera;

const WAIT: Duration = Duration::from_secs(30);
/// The picture on screen may be this far behind the camera: a fragment (1 s) on its way, the
/// little kept in the buffer, and a slow shared test machine.
const MAX_LATENCY_MS: i64 = 5_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_camera_plays_live_in_the_browser_close_to_real_time() -> Result<()> {
    // WebRTC off: the page must fall back to this player (browser_webrtc.rs tests WebRTC).
    let app = kankan_testkit::TestApp::spawn_with(|c| {
        c.recording.segment_secs = 2;
        c.recording.max_clock_skew_secs = 3600;
        c.webrtc.enabled = false;
    })
    .await;
    let email = "live@example.com";
    // The camera streams until `stop` is triggered.
    let (_token, creds, cam, stop) = recording_camera(&app, email).await;
    cam.wait_for("two seconds are sent", WAIT, |s| s.sent_live_ms >= 2_000).await?;
    let uid = creds.uid.clone();

    let browser = open_app(&app).await?;
    // Whatever the CSP blocks from here on is recorded.
    log_in_watching_csp(&browser, email).await?;

    // From the device page, Live.
    browser.click(&tid("device-card")).await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}")).await?;
    browser.click(&tid("device-live")).await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}/live")).await?;
    browser.find(&tid("live-page")).await?;
    browser
        .wait_until(
            "the status to say live",
            "const s = document.querySelector('[data-testid=live-status]');
             return s.dataset.state === 'live' ? s.textContent : null;",
            &[],
        )
        .await?;
    ensure!(browser.text(&tid("live-status")).await? == "Live", "the status reads Live");
    let transport = browser
        .execute(
            "return document.querySelector('[data-testid=live-video]').dataset.transport;",
            &[],
        )
        .await?;
    assert_eq!(transport, json!("mse"), "WHEP refused: the WebSocket player plays");
    let muted = browser
        .execute("return document.querySelector('[data-testid=live-video]').muted;", &[])
        .await?;
    assert_eq!(muted, json!(true));

    // Time and decoded frames advance, for a couple of seconds, as new fragments arrive.
    let first =
        video_past(&browser, "live-video", "the live video to play", (0.0, 0), (0.0, 1)).await?;
    let later =
        video_past(&browser, "live-video", "time and frames to advance", first, (2.0, 20)).await?;
    ensure!(later.0 > first.0 && later.1 > first.1, "{first:?} -> {later:?}");

    // The picture on screen is recent, and a later one is newer.
    let (before, behind) = live_picture(&browser).await?;
    ensure!(behind < MAX_LATENCY_MS, "the picture is {behind} ms behind: {before:?}");
    video_past(&browser, "live-video", "playback to go on", later, (0.5, 5)).await?;
    let (after, behind_later) = live_picture(&browser).await?;
    ensure!(after.frame > before.frame, "the picture advanced: {before:?} -> {after:?}");
    ensure!(behind_later < MAX_LATENCY_MS, "the picture is {behind_later} ms behind: {after:?}");
    let buffered = browser
        .execute(
            "const v = document.querySelector('[data-testid=live-video]');
             return v.buffered.end(v.buffered.length - 1) - v.currentTime;",
            &[],
        )
        .await?;
    let ahead = buffered.as_f64().context("buffered ahead")?;
    ensure!(ahead < 2.5, "the player keeps near the live edge: {ahead} s buffered ahead");
    eprintln!("live latency: {behind} ms, then {behind_later} ms ({ahead:.2} s buffered ahead)");

    save_screenshot(&browser, "live.png").await?;

    let blocked: Value = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "nothing was blocked by the CSP");

    // The camera stops: the stream ends and the page says so (and keeps retrying).
    stop.trigger();
    browser
        .wait_until(
            "the status to say the stream ended",
            "const s = document.querySelector('[data-testid=live-status]').dataset.state;
             return s === 'ended' || s === 'not-live';",
            &[],
        )
        .await?;

    browser.close().await?;
    drop(cam);
    app.stop().await;
    Ok(())
}
