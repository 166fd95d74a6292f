//! Camera sound in the browser: a camera with its microphone streams (an Opus track beside the
//! H.264 one); a real headless Chromium plays its recording, and its live view over the
//! WebSocket, through Media Source Extensions, whose SourceBuffer must be told of both codecs,
//! and decodes the sound; over WebRTC the browser receives it as Opus packets on the audio
//! track; the sound alarm is turned on, with a sensitivity, on the device page.
//!
//! Every step waits for an element or a value; nothing sleeps a fixed time.

use std::time::Duration;

use anyhow::Result;
use kankan_sim::video::sound::SoundPlan;
use serde_json::json;

use super::browser::{log_in_watching_csp, open_app, tid, video_past, wait_for_hash};
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
    decoded_sound(&browser, "player").await?;
    let blocked = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "nothing was blocked by the CSP");
    Ok(())
}

/// Waits until the `<video>` of test id `player` has decoded sound (Chromium's count of audio
/// bytes decoded: 0 for a video without an audio track, or one the SourceBuffer refused).
async fn decoded_sound(browser: &kankan_testkit::browser::Browser, player: &str) -> Result<()> {
    let decoded = browser
        .wait_until(
            "the player to decode sound",
            "const v = document.querySelector(`[data-testid=${arguments[0]}]`);
             const n = v.webkitAudioDecodedByteCount;
             return n > 0 ? n : null;",
            &[json!(player)],
        )
        .await?;
    assert!(decoded.as_u64().unwrap_or(0) > 0, "{decoded}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_view_over_the_websocket_plays_the_camera_s_sound() -> Result<()> {
    // WebRTC off: live view is the MSE player (the WebRTC test is below).
    let app = kankan_testkit::TestApp::spawn_with(|c| {
        c.recording.segment_secs = 2;
        c.recording.max_clock_skew_secs = 3600;
        c.webrtc.enabled = false;
    })
    .await;
    let email = "live-sound@example.com";
    let (_token, creds, cam, _stop) =
        camera_with(&app, email, |v| v.sound = Some((SoundPlan::Speech, 7))).await;
    cam.wait_for("two seconds are sent", WAIT, |s| s.sent_live_ms >= 2_000).await?;
    let uid = creds.uid.clone();
    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.click(&tid("device-card")).await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}")).await?;
    browser.click(&tid("device-live")).await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}/live")).await?;
    browser.find(&tid("live-page")).await?;
    browser
        .wait_until(
            "the status to say live",
            "const s = document.querySelector('[data-testid=live-status]');
             return s && s.dataset.state === 'live' ? s.textContent : null;",
            &[],
        )
        .await?;
    video_past(&browser, "live-video", "the live video to play", (0.0, 0), (0.5, 5)).await?;
    decoded_sound(&browser, "live-video").await?;
    let blocked = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "nothing was blocked by the CSP");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_view_over_webrtc_receives_the_camera_s_sound_as_opus() -> Result<()> {
    let app = recording_app().await;
    let email = "rtc-sound@example.com";
    let (_token, creds, cam, _stop) =
        camera_with(&app, email, |v| v.sound = Some((SoundPlan::Speech, 7))).await;
    cam.wait_for("a second is sent", WAIT, |s| s.sent_live_ms >= 1_000).await?;
    super::webrtc::until_live(&app, &creds.uid).await;
    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    // Keep the page's peer connections within reach, to read their statistics.
    browser
        .execute(
            "const Orig = window.RTCPeerConnection;
             window.testPcs = [];
             window.RTCPeerConnection = function (...a) {
               const pc = new Orig(...a);
               window.testPcs.push(pc);
               return pc;
             };
             window.RTCPeerConnection.prototype = Orig.prototype;",
            &[],
        )
        .await?;
    let uid = creds.uid.clone();
    browser.click(&tid("device-card")).await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}")).await?;
    browser.click(&tid("device-live")).await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}/live")).await?;
    let got = browser
        .wait_until(
            "Opus packets on the audio track",
            "const pc = (window.testPcs || []).at(-1);
             if (pc) {
               pc.getStats().then((stats) => {
                 stats.forEach((s) => {
                   if (s.type !== 'inbound-rtp' || s.kind !== 'audio' || !s.packetsReceived) return;
                   const codec = stats.get(s.codecId);
                   window.testAudio = [codec ? codec.mimeType : '', s.packetsReceived];
                 });
               });
             }
             const got = window.testAudio;
             return got && got[1] >= 25 ? got : null;",
            &[],
        )
        .await?;
    assert_eq!(got[0], json!("audio/opus"), "{got}");
    let blocked = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "nothing was blocked by the CSP");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sound_alarms_are_turned_on_with_a_sensitivity_on_the_device_page() -> Result<()> {
    use kankan_protocol::device::Settings;
    let app = kankan_testkit::TestApp::spawn().await;
    let email = "sound-setting@example.com";
    let token = app.register(email, super::devices::PW).await;
    let creds = super::devices::provision(&app, "KK-C1").await;
    let uid = creds.uid.clone();
    let mut dev = super::devices::bind(&app, &token, &creds).await;
    let report = kankan_testkit::state_report(1, json!(Settings::default()), 0);
    dev.publish_json("state", &report).await?;

    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.click(&tid("device-card")).await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}")).await?;
    browser.find(&tid("motion-form")).await?;
    let shown = browser
        .execute(
            "return [document.querySelector('[data-testid=set-sound-alarm]').checked,
                     document.querySelector('[data-testid=set-sound-sensitivity]').value];",
            &[],
        )
        .await?;
    assert_eq!(shown, json!([false, "50"]), "off by default, sensitivity 50");

    // A sensitivity out of range is explained next to the field, nothing is sent.
    browser.click(&tid("set-sound-alarm")).await?;
    for (value, saved) in [("0", false), ("80", true)] {
        browser
            .execute(
                "const el = document.querySelector('[data-testid=set-sound-sensitivity]');
                 el.value = arguments[0];
                 el.dispatchEvent(new Event('input', { bubbles: true }));",
                &[json!(value)],
            )
            .await?;
        browser.click(&tid("motion-save")).await?;
        if !saved {
            browser
                .wait_until(
                    "the field's error",
                    "const el = document.querySelector('[data-testid=set-sound-sensitivity]');
                     return el.getAttribute('aria-invalid') === 'true';",
                    &[],
                )
                .await?;
        }
    }
    browser.wait_for_text(&tid("motion-status"), "Saved").await?;
    let desired = dev.next_on("desired").await?;
    assert_eq!(
        desired["settings"]["sound_alarm"],
        json!({"enabled": true, "sensitivity": 80}),
        "{desired}"
    );
    let blocked = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "nothing was blocked by the CSP");
    Ok(())
}
