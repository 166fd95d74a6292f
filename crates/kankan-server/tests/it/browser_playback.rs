//! Playback in the browser: a camera records a few seconds, then a real headless Chromium opens
//! the device's Playback page from the device page, finds the recording on the day's timeline,
//! plays it through Media Source Extensions and checks that time and decoded frames advance,
//! takes a snapshot of the moment on screen and follows the download link. The camera burns
//! its capture clock into every picture: reading it off the paused <video> proves that new
//! pictures reach the screen and that the time the page shows is the time they were taken.
//!
//! Every step waits for an element, a value or a URL; nothing sleeps a fixed time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, ensure};
use base64::Engine as _;
use kankan_testkit::TestApp;
use kankan_testkit::browser::{Browser, PHONE_WINDOW};
use kankan_video::Stamp;
use serde_json::{Value, json};

use super::browser::{
    loaded_image_src, log_in_watching_csp, open_app, save_screenshot, stamp_of, video_past,
    wait_for_hash,
};
use super::recording::{get_bytes, recorded_ms, recording_app, recording_camera, timeline_until};

const WAIT: Duration = Duration::from_secs(30);

/// A `[data-testid=…]` selector.
fn tid(id: &str) -> String {
    format!("[data-testid={id}]")
}

/// A fixed-offset time zone in which it is about noon now, so the footage lies well inside the
/// calendar day the page shows (the test may run at any hour, the browser's zone is the host's).
fn noon_zone() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let offset = 12 - i64::try_from(secs / 3600 % 24).unwrap_or(0);
    // The IANA `Etc` zones count the other way: `Etc/GMT-5` is five hours ahead of UTC.
    match offset {
        0 => "Etc/GMT".to_owned(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    }
}

/// Pauses the player and returns the clock burned into the picture on screen and the
/// wall-clock time (ms) the page shows for it.
async fn paused_picture(browser: &Browser) -> Result<(Stamp, i64)> {
    browser.execute("document.querySelector('[data-testid=player]').pause();", &[]).await?;
    let v = browser
        .wait_until(
            "the paused picture and its time",
            "const v = document.querySelector('[data-testid=player]');
             const ms = document.querySelector('[data-testid=playback-time]').dataset.wallMs;
             if (!v.paused || v.seeking || v.readyState < 2 || !ms) return null;
             const c = document.createElement('canvas');
             c.width = v.videoWidth;
             c.height = v.videoHeight;
             c.getContext('2d').drawImage(v, 0, 0);
             return [c.toDataURL('image/png'), Number(ms)];",
            &[],
        )
        .await?;
    let url = v[0].as_str().context("a data URL")?;
    let b64 = url.strip_prefix("data:image/png;base64,").context("a PNG data URL")?;
    let png = base64::engine::general_purpose::STANDARD.decode(b64)?;
    Ok((stamp_of(&png)?, v[1].as_i64().context("wall ms")?))
}

/// Within this of the picture's capture time counts as the same moment (a frame is 67 ms).
const SAME_MOMENT_MS: i64 = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_video_plays_in_the_browser_and_its_frames_advance() -> Result<()> {
    let app = recording_app().await;
    let email = "playback@example.com";
    let (token, creds, cam, stop) = recording_camera(&app, email).await;
    cam.wait_for("six seconds are sent", WAIT, |s| s.sent_live_ms >= 6_000).await?;
    stop.trigger();
    let t =
        timeline_until(&app, &token, &creds.uid, "about 6 s recorded", |t| recorded_ms(t) >= 5_000)
            .await;
    let (start, end) = (
        t["spans"][0]["start_ms"].as_i64().context("start")?,
        t["spans"][0]["end_ms"].as_i64().context("end")?,
    );
    let uid = creds.uid.clone();

    let browser = open_app(&app).await?;
    browser.cdp("Emulation.setTimezoneOverride", json!({"timezoneId": noon_zone()})).await?;
    // Whatever the CSP blocks from here on is recorded.
    log_in_watching_csp(&browser, email).await?;

    // From the device page to its recordings.
    browser.click(&tid("device-card")).await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}")).await?;
    browser.click(&tid("device-playback")).await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}/playback")).await?;
    browser.find(&tid("playback-page")).await?;

    // Today's timeline shows the recording as one block.
    browser
        .wait_until(
            "the timeline to show a recorded span",
            "return document.querySelectorAll('[data-testid=timeline-span]').length > 0;",
            &[],
        )
        .await?;
    let block = browser.find(&tid("timeline-span")).await?;
    assert_eq!(block.attr("data-start").await?, Some(start.to_string()));
    let recorded = format!("· {} s recorded", (end - start + 500) / 1000);
    browser.wait_for_text(&tid("timeline-summary"), &recorded).await?;
    ensure!(!browser.is_displayed(&tid("storage-alert")).await?, "storage is not full");

    // Clicking it plays from its start: time and decoded frames advance.
    browser.click(&tid("timeline-span")).await?;
    let first = video_past(&browser, "player", "the video to play", (0.0, 0), (0.1, 1)).await?;
    let later =
        video_past(&browser, "player", "time and frames to advance", first, (0.5, 5)).await?;
    ensure!(later.0 > first.0 && later.1 > first.1, "{first:?} -> {later:?}");

    // Paused, the picture on screen carries the camera's clock: the time the page shows is
    // when it was taken, and it lies inside the recording.
    let (before, shown) = paused_picture(&browser).await?;
    let taken = i64::try_from(before.capture_ms)?;
    ensure!((shown - taken).abs() <= SAME_MOMENT_MS, "page shows {shown}, picture taken {taken}");
    ensure!((start..=end).contains(&taken), "{taken} outside {start}..{end}");
    let text = browser.text(&tid("playback-time")).await?;
    ensure!(text.len() == 8 && text.matches(':').count() == 2, "a clock time: {text}");

    // Playing on, later pictures reach the screen.
    browser.execute("document.querySelector('[data-testid=player]').play();", &[]).await?;
    let resumed = video_past(&browser, "player", "playback to resume", (0.0, 0), (0.0, 0)).await?;
    video_past(&browser, "player", "playback to go on", resumed, (0.4, 4)).await?;
    let (after, shown) = paused_picture(&browser).await?;
    ensure!(after.frame > before.frame, "the picture advanced: {before:?} -> {after:?}");
    let taken = i64::try_from(after.capture_ms)?;
    ensure!((shown - taken).abs() <= SAME_MOMENT_MS, "page shows {shown}, picture taken {taken}");

    // A snapshot of the (paused) moment on screen, as an image on the page.
    browser.click(&tid("snapshot-button")).await?;
    let src = loaded_image_src(&browser, "snapshot-image").await?;
    let at: i64 = src
        .split_once("snapshot.jpg?at=")
        .and_then(|(_, q)| q.split('&').next())
        .context("a snapshot URL with `at`")?
        .parse()?;
    ensure!((at - shown).abs() <= 1, "the snapshot is of the moment on screen: {at} vs {shown}");
    let width = browser
        .execute("return document.querySelector('[data-testid=snapshot-image]').naturalWidth;", &[])
        .await?;
    assert_eq!(width, json!(320));
    let (status, jpeg, _) = get_bytes(&app, &src).await;
    assert_eq!(status, 200);
    let snap = stamp_of(&jpeg)?;
    let snap_taken = i64::try_from(snap.capture_ms)?;
    ensure!((snap_taken - taken).abs() <= SAME_MOMENT_MS, "snapshot {snap:?}, screen {after:?}");

    // The download link (the chosen minute and one either side) is a valid MP4 export.
    let href = browser.find(&tid("download-link")).await?.attr("href").await?.context("an href")?;
    ensure!(href.contains("/export.mp4?from=") && href.contains("&t="), "{href}");
    let (status, mp4, ctype) = get_bytes(&app, &href).await;
    assert_eq!((status, ctype.as_str()), (200, "video/mp4"), "{href}");
    assert_eq!(&mp4[4..8], b"ftyp");

    browser.set_window_size(PHONE_WINDOW.0, 1500).await?;
    save_screenshot(&browser, "playback.png").await?;
    browser.set_window_size(1280, 900).await?;
    save_screenshot(&browser, "playback-desktop.png").await?;
    browser.set_window_size(PHONE_WINDOW.0, PHONE_WINDOW.1).await?;

    // The playback link expires (the server's clock moves on): the page gets a new one and
    // plays on. This time the moment is picked with the keyboard: Home, then Enter, plays the
    // day's first recording.
    app.clock.advance(Duration::from_secs(16 * 60));
    assert_eq!(get_bytes(&app, &href).await.0, 403, "the first link has expired");
    let timeline = browser.find(&tid("timeline")).await?;
    timeline.send_keys("\u{E011}\u{E007}").await?; // Home, Enter
    let renewed = browser
        .wait_until(
            "the download link to carry a new token",
            "const a = document.querySelector('[data-testid=download-link]').getAttribute('href');
             return a && a !== arguments[0] ? a : null;",
            &[json!(href)],
        )
        .await?;
    let renewed = renewed.as_str().context("an href")?;
    assert_eq!(get_bytes(&app, renewed).await.0, 200, "the new link works: {renewed}");
    video_past(&browser, "player", "playback with the new link", (0.0, 0), (0.3, 3)).await?;

    // The day before has no recordings; back to today, the recording is there again.
    browser.click(&tid("day-prev")).await?;
    browser.wait_for_text(&tid("timeline-summary"), "nothing recorded").await?;
    ensure!(browser.find_all(&tid("timeline-span")).await?.is_empty(), "no blocks the day before");
    browser.click(&tid("day-next")).await?;
    browser.find(&tid("timeline-span")).await?;
    ensure!(!browser.text(&tid("timeline-summary")).await?.contains("nothing"), "a recording");

    let blocked: Value = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "nothing was blocked by the CSP");

    browser.close().await?;
    drop(cam);
    app.stop().await;
    Ok(())
}

/// The page's pure helpers, run in the browser (the project has no JavaScript test runner):
/// reading the server's playlists and init segments, and where a picked moment plays from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playback_helpers_read_playlists_and_pick_where_to_play() -> Result<()> {
    let app = TestApp::spawn().await;
    let browser = open_app(&app).await?;
    let script = r#"
        return Promise.all([import('/js/media.js'), import('/js/pages/playback.js')]).then(([m, p]) => {
          const list = m.parsePlaylist([
            '#EXTM3U', '#EXT-X-TARGETDURATION:3', '#EXT-X-MAP:URI="init/1?t=a"',
            '#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00.000Z', '#EXTINF:2.000,', 'seg/1?t=a',
            '#EXTINF:2.500,', 'seg/2?t=a', '#EXT-X-DISCONTINUITY', '#EXT-X-MAP:URI="init/2?t=a"',
            '#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:01:00.000Z', '#EXTINF:1.000,', 'seg/3?t=a',
            '#EXT-X-ENDLIST', ''].join('\n'));
          const init = new Uint8Array([0, 0, 0, 16, 0x61, 0x76, 0x63, 0x43, 1, 0x64, 0x00, 0x28, 0xff]);
          const spans = [{ start_ms: 1000, end_ms: 2000 }, { start_ms: 5000, end_ms: 9000 }];
          const at = (ms, block) => {
            const r = p.playStart(spans, ms, block);
            return r && [r.at, r.span.start_ms];
          };
          return {
            list: list.map((s) => [s.uri, s.startMs, s.durationMs, s.init, s.discontinuity]),
            codec: m.avcCodec(init),
            none: m.avcCodec(new Uint8Array(8)),
            starts: [at(1500), at(3000), at(3000, spans[0]), at(9500), at(500), p.playStart([], 1)],
          };
        });"#;
    let got = browser.execute(script, &[]).await?;
    let t0 = 1_767_225_600_000_i64; // 2026-01-01T00:00:00Z
    assert_eq!(
        got,
        json!({
            "list": [
                ["seg/1?t=a", t0, 2000, "init/1?t=a", false],
                ["seg/2?t=a", t0 + 2000, 2500, "init/1?t=a", false],
                ["seg/3?t=a", t0 + 60_000, 1000, "init/2?t=a", true],
            ],
            "codec": "avc1.640028",
            "none": null,
            // Inside a recording: that moment. In a gap: the block that was hit, else the next
            // recording. After the last: its last minute. No recordings: nothing.
            "starts": [[1500, 1000], [5000, 5000], [1000, 1000], [5000, 5000], [1000, 1000], null],
        })
    );
    browser.close().await?;
    app.stop().await;
    Ok(())
}
