//! Camera sound in the browser: a camera with its microphone records a few seconds (an Opus
//! track beside the H.264 one); a real headless Chromium plays the recording through Media
//! Source Extensions, whose SourceBuffer must be told of both codecs, and decodes its sound.
//!
//! Every step waits for an element or a value; nothing sleeps a fixed time.

use std::time::Duration;

use anyhow::Result;
use kankan_sim::video::sound::SoundPlan;
use serde_json::json;

use super::browser::{log_in_watching_csp, open_app, video_past, wait_for_hash};
use super::recording::{camera_with, recorded_ms, recording_app, timeline_until};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_with_sound_plays_its_sound_in_the_browser() -> Result<()> {
    let app = recording_app().await;
    let email = "hear@example.com";
    let (token, creds, cam, stop) =
        camera_with(&app, email, |v| v.sound = Some((SoundPlan::Speech, 7))).await;
    cam.wait_for("six seconds are sent", WAIT, |s| s.sent_live_ms >= 6_000).await?;
    stop.trigger();
    timeline_until(&app, &token, &creds.uid, "about 6 s recorded", |t| recorded_ms(t) >= 5_000)
        .await;
    let uid = creds.uid.clone();
    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.click("[data-testid=device-card]").await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}")).await?;
    browser.click("[data-testid=device-playback]").await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}/playback")).await?;
    browser
        .wait_until(
            "the timeline to show a recorded span",
            "return document.querySelectorAll('[data-testid=timeline-span]').length > 0;",
            &[],
        )
        .await?;
    browser.click("[data-testid=timeline-span]").await?;
    video_past(&browser, "player", "the video to play", (0.0, 0), (0.5, 5)).await?;
    let decoded = browser
        .wait_until(
            "the player to decode sound",
            "const v = document.querySelector('[data-testid=player]');
             const n = v.webkitAudioDecodedByteCount;
             return n > 0 ? n : null;",
            &[],
        )
        .await?;
    assert!(decoded.as_u64().unwrap_or(0) > 0, "{decoded}");
    let blocked = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "nothing was blocked by the CSP");
    Ok(())
}
