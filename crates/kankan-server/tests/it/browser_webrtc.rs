//! Live view over WebRTC in the browser, and talk: a real headless Chromium opens the Live
//! page, which plays over WebRTC (the <video>'s `data-transport` says so) while the clock the
//! camera burns into every picture advances; with Chromium's fake microphone (a beep), holding
//! "Talk" makes the server open the camera's talk channel and the camera's speaker plays the
//! beep. (The fallback to the WebSocket player, with WebRTC turned off, is browser_live.rs.)

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use kankan_testkit::browser::Browser;
use serde_json::{Value, json};

use super::browser::{
    live_picture, log_in_watching_csp, open_app, open_app_with, save_screenshot, tid, video_past,
    wait_for_hash,
};
use super::recording::{recording_app, recording_camera};
use super::webrtc::{talking_camera, until_live};

const WAIT: Duration = Duration::from_secs(30);

/// Opens `uid`'s Live page and waits until it plays over WebRTC.
async fn live_over_webrtc(browser: &Browser, uid: &str) -> Result<()> {
    browser.click(&tid("device-card")).await?;
    wait_for_hash(browser, &format!("#/devices/{uid}")).await?;
    browser.click(&tid("device-live")).await?;
    wait_for_hash(browser, &format!("#/devices/{uid}/live")).await?;
    browser
        .wait_until(
            "the page to play live over WebRTC",
            "const v = document.querySelector('[data-testid=live-video]');
             const s = document.querySelector('[data-testid=live-status]');
             if (!v || !s) return null;
             return s.dataset.state === 'live' && v.dataset.transport ? v.dataset.transport : null;",
            &[],
        )
        .await
        .and_then(|t| {
            ensure!(t == json!("webrtc"), "the transport is {t}, not webrtc");
            Ok(())
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_page_plays_over_webrtc_and_the_cameras_clock_advances() -> Result<()> {
    let app = recording_app().await;
    let email = "rtc@example.com";
    let (_token, creds, cam, stop) = recording_camera(&app, email).await;
    cam.wait_for("a second is sent", WAIT, |s| s.sent_live_ms >= 1_000).await?;
    until_live(&app, &creds.uid).await;
    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    live_over_webrtc(&browser, &creds.uid).await?;
    ensure!(app.running().webrtc.sessions() == 1, "one WebRTC session");
    let muted = browser
        .execute("return document.querySelector('[data-testid=live-video]').muted;", &[])
        .await?;
    assert_eq!(muted, json!(true), "muted until the user turns the sound on");

    let first = video_past(&browser, "live-video", "the video to play", (0.0, 0), (0.0, 1)).await?;
    let (before, behind) = live_picture(&browser).await?;
    video_past(&browser, "live-video", "time and frames to advance", first, (2.0, 20)).await?;
    let (after, behind_later) = live_picture(&browser).await?;
    ensure!(after.frame > before.frame, "the picture advanced: {before:?} -> {after:?}");
    ensure!(after.capture_ms > before.capture_ms, "the camera's clock advanced");
    eprintln!("webrtc in Chromium: the picture is {behind} ms, then {behind_later} ms behind");

    browser.click(&tid("live-sound")).await?;
    let sound = browser
        .execute(
            "const v = document.querySelector('[data-testid=live-video]');
             const b = document.querySelector('[data-testid=live-sound]');
             return [v.muted, b.getAttribute('aria-pressed'), b.textContent];",
            &[],
        )
        .await?;
    assert_eq!(sound, json!([false, "true", "Sound on"]));
    save_screenshot(&browser, "live-webrtc.png").await?;
    let blocked: Value = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "nothing was blocked by the CSP");

    // Leaving the page ends the session on the server.
    browser.click(&tid("live-back")).await?;
    let deadline = Instant::now() + WAIT;
    while app.running().webrtc.sessions() > 0 {
        ensure!(Instant::now() < deadline, "the session outlived the page");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    browser.close().await?;
    stop.trigger();
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holding_talk_sends_the_microphone_to_the_cameras_speaker() -> Result<()> {
    let app = recording_app().await;
    let tmp = tempfile::tempdir()?;
    let wav = tmp.path().join("speaker.wav");
    let email = "talker@example.com";
    let (_token, creds, cam, talk, stop, _dir) = talking_camera(&app, email, &wav).await;
    cam.wait_for("a second is sent", WAIT, |s| s.sent_live_ms >= 1_000).await?;
    until_live(&app, &creds.uid).await;
    let browser = open_app_with(
        &app,
        &["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"],
    )
    .await?;
    log_in_watching_csp(&browser, email).await?;
    live_over_webrtc(&browser, &creds.uid).await?;
    browser
        .wait_until(
            "Talk to be offered",
            "return !document.querySelector('[data-testid=live-talk]').disabled || null;",
            &[],
        )
        .await?;

    // Hold "Talk" for about two seconds.
    let hold = "const b = document.querySelector('[data-testid=live-talk]');
        b.dispatchEvent(new PointerEvent(arguments[0], { bubbles: true, pointerId: 1 }));
        return b.dataset.state;";
    assert_eq!(browser.execute(hold, &[json!("pointerdown")]).await?, json!("talking"));
    let s =
        talk.wait_for("the camera's speaker to play", WAIT, |s| s.frames_received >= 50).await?;
    ensure!(s.open && s.connections == 1, "{s:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(browser.execute(hold, &[json!("pointerup")]).await?, json!("idle"));
    // The channel closes once nobody talks; the speaker's sound is then in the WAV file.
    let s =
        talk.wait_for("the talk channel to close", WAIT, |s| !s.open && s.wav_written > 0).await?;
    let (samples, rate) = kankan_sonic::read_wav(&std::fs::read(&wav)?)?;
    ensure!(rate == 8_000, "8 kHz: {rate}");
    let peak = samples.iter().fold(0f32, |m, s| m.max(s.abs()));
    ensure!(peak > 0.01, "the fake microphone's beep was played: peak {peak}");
    eprintln!(
        "talk from Chromium: {} frames, {} bytes, peak {peak:.3}",
        s.frames_received, s.bytes_received
    );
    let blocked: Value = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "nothing was blocked by the CSP");
    browser.close().await?;
    stop.trigger();
    app.stop().await;
    Ok(())
}
