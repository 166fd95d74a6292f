//! The web app end to end: a real headless Chromium (through the testkit's WebDriver client)
//! against the real server, reading verification codes from the development outbox.
//!
//! Every step waits for an element, a text or a URL; nothing sleeps a fixed time. Timeouts are
//! generous because these tests share a small machine with the rest of the suite.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use base64::Engine as _;
use kankan_testkit::TestApp;
use kankan_testkit::browser::{Browser, LaunchOptions};
use kankan_video::{Stamp, Yuv420, read_stamp};
use serde_json::json;

const PW: &str = "plum-garden-kettle-42";
const NEW_PW: &str = "new-orchard-lamp-77";
/// The first page load also starts Chromium's renderer and the service worker: allow plenty.
const FIRST_LOAD: Duration = Duration::from_secs(30);
/// Every later wait.
const WAIT: Duration = Duration::from_secs(20);

/// A `[data-testid=…]` selector.
pub(crate) fn tid(id: &str) -> String {
    format!("[data-testid={id}]")
}

/// Starts a phone-sized browser and opens the app's login page.
pub(crate) async fn open_app(app: &TestApp) -> Result<Browser> {
    open_app_with(app, &[]).await
}

/// [`open_app`] with more Chromium flags (e.g. a fake camera and microphone).
pub(crate) async fn open_app_with(app: &TestApp, extra_args: &[&str]) -> Result<Browser> {
    let extra_args = extra_args.iter().map(|a| (*a).to_string()).collect();
    let options = LaunchOptions { timeout: FIRST_LOAD, extra_args, ..LaunchOptions::default() };
    let mut browser = Browser::launch_with(options).await?;
    browser.goto(&app.url("/#/login")).await?;
    browser.find(&tid("page-login")).await?;
    browser.set_timeout(WAIT);
    Ok(browser)
}

/// Fills the login form and waits for the signed-in home page (the devices tab).
pub(crate) async fn log_in(browser: &Browser, identifier: &str, password: &str) -> Result<()> {
    browser.fill(&tid("login-identifier"), identifier).await?;
    browser.fill(&tid("login-password"), password).await?;
    browser.click(&tid("login-submit")).await?;
    browser.wait_for_url("#/devices").await?;
    browser.find(&tid("nav-me")).await?;
    Ok(())
}

/// Opens the Me tab, logs out there and waits for the login page.
pub(crate) async fn log_out(browser: &Browser) -> Result<()> {
    browser.click(&tid("nav-me")).await?;
    browser.find(&tid("page-me")).await?;
    browser.click(&tid("me-logout")).await?;
    browser.wait_for_url("#/login").await?;
    browser.find(&tid("page-login")).await?;
    ensure!(!browser.is_displayed("#nav").await?, "the app nav is hidden when logged out");
    ensure!(
        browser.cookie("kankan_session").await?.is_none(),
        "logging out clears the session cookie"
    );
    Ok(())
}

/// Where screenshots go: `$KANKAN_SCREENSHOTS`, else `target/screenshots/` in the workspace.
fn screenshot_dir() -> Result<PathBuf> {
    let dir = match std::env::var_os("KANKAN_SCREENSHOTS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots"),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Saves a screenshot called `name` and checks that a real PNG landed on disk.
/// Waits until the location hash is exactly `hash` (`#/devices` is a prefix of device pages).
pub(crate) async fn wait_for_hash(browser: &Browser, hash: &str) -> Result<()> {
    browser
        .wait_until(
            &format!("the location hash to be {hash}"),
            "return location.hash === arguments[0];",
            &[json!(hash)],
        )
        .await?;
    Ok(())
}

/// The `[currentTime, decoded frames]` of the video `testid` once it plays past
/// `[time, frames]` by at least `[dt, df]`.
pub(crate) async fn video_past(
    browser: &Browser,
    testid: &str,
    what: &str,
    at: (f64, u64),
    by: (f64, u64),
) -> Result<(f64, u64)> {
    let v = browser
        .wait_until(
            what,
            "const v = document.querySelector(`[data-testid=${arguments[4]}]`);
             const frames = v.getVideoPlaybackQuality().totalVideoFrames;
             const [t, f, dt, df] = arguments;
             return !v.paused && v.currentTime >= t + dt && frames >= f + df
               ? [v.currentTime, frames] : null;",
            &[json!(at.0), json!(at.1), json!(by.0), json!(by.1), json!(testid)],
        )
        .await?;
    Ok((v[0].as_f64().context("currentTime")?, v[1].as_u64().context("frames")?))
}

/// The camera's clock burned into a picture (PNG or JPEG bytes).
pub(crate) fn stamp_of(image: &[u8]) -> Result<Stamp> {
    let luma = image::load_from_memory(image)?.to_luma8();
    let (w, h) = luma.dimensions();
    let chroma = vec![128; (w * h / 4) as usize];
    let frame = Yuv420::from_planes(
        w,
        h,
        (luma.into_raw(), w as usize),
        (chroma.clone(), chroma, w as usize / 2),
    )?;
    read_stamp(&frame).context("the camera's clock is readable in the picture")
}

/// The Live page's picture now (the video keeps playing) and the browser's clock when it was
/// read: how many ms the picture is behind the camera's burned-in capture clock.
pub(crate) async fn live_picture(browser: &Browser) -> Result<(Stamp, i64)> {
    let v = browser
        .wait_until(
            "a picture on screen",
            "const v = document.querySelector('[data-testid=live-video]');
             if (v.seeking || v.readyState < 2 || !v.videoWidth) return null;
             const c = document.createElement('canvas');
             c.width = v.videoWidth;
             c.height = v.videoHeight;
             c.getContext('2d').drawImage(v, 0, 0);
             return [c.toDataURL('image/png'), Date.now()];",
            &[],
        )
        .await?;
    let url = v[0].as_str().context("a data URL")?;
    let b64 = url.strip_prefix("data:image/png;base64,").context("a PNG data URL")?;
    let stamp = stamp_of(&base64::engine::general_purpose::STANDARD.decode(b64)?)?;
    let now = v[1].as_i64().context("Date.now()")?;
    Ok((stamp, now - i64::try_from(stamp.capture_ms)?))
}

/// Starts recording what the page's CSP blocks (in `window.cspViolations`), then logs in as
/// `email` (password `PW`) and waits for the device list.
pub(crate) async fn log_in_watching_csp(browser: &Browser, email: &str) -> Result<()> {
    let watch = "window.cspViolations = [];
        document.addEventListener('securitypolicyviolation',
          (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));";
    browser.execute(watch, &[]).await?;
    log_in(browser, email, super::devices::PW).await?;
    wait_for_hash(browser, "#/devices").await
}

pub(crate) async fn save_screenshot(browser: &Browser, name: &str) -> Result<PathBuf> {
    let path = screenshot_dir()?.join(name);
    browser.screenshot(&path).await?;
    let png = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    ensure!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{} is not a PNG", path.display());
    ensure!(png.len() > 1000, "{} is suspiciously small", path.display());
    Ok(path)
}

/// Waits until the element `testid` is an `<img>` that has loaded, and returns its `src`.
pub(crate) async fn loaded_image_src(browser: &Browser, testid: &str) -> Result<String> {
    let src = browser
        .wait_until(
            &format!("`{testid}` to show a loaded image"),
            "const img = document.querySelector(`[data-testid=${arguments[0]}]`);
             return img && img.tagName === 'IMG' && img.complete && img.naturalWidth > 0
               ? img.getAttribute('src') : null;",
            &[json!(testid)],
        )
        .await?;
    Ok(src.as_str().unwrap_or_default().to_owned())
}

/// The `data-outcome` of every login-history row, newest first.
async fn login_outcomes(browser: &Browser) -> Result<Vec<String>> {
    let mut outcomes = Vec::new();
    for row in browser.find_all(&tid("login-item")).await? {
        outcomes.push(row.attr("data-outcome").await?.unwrap_or_default());
    }
    Ok(outcomes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_signs_up_edits_the_profile_reviews_sessions_and_changes_the_password()
-> Result<()> {
    let app = TestApp::spawn().await;
    let browser = open_app(&app).await?;
    let email = "journey@example.com";

    // Register with an e-mail address; the page moves on to code entry.
    browser.click(&tid("login-register-link")).await?;
    browser.find(&tid("page-register")).await?;
    let seen = app.outbox().len();
    browser.fill(&tid("register-identifier"), email).await?;
    browser.fill(&tid("register-password"), PW).await?;
    browser.wait_for_text(&tid("register-accept-label"), "version 1").await?;
    browser.click(&tid("register-accept-policy")).await?;
    browser.click(&tid("register-submit")).await?;
    browser.wait_for_url("#/verify").await?;
    assert_eq!(browser.text(&tid("verify-target")).await?, email);

    // The code from the outbox verifies the account and signs in.
    let code = app.wait_for_code(seen).await;
    browser.fill(&tid("verify-code"), &code).await?;
    browser.click(&tid("verify-submit")).await?;
    browser.wait_for_url("#/devices").await?;
    browser.find(&tid("nav-me")).await?;
    let session = browser.cookie("kankan_session").await?.context("signed in by a cookie")?;
    assert!(session.http_only, "the session cookie is HttpOnly");

    log_out(&browser).await?;

    // A wrong password is explained; the right one signs in.
    browser.fill(&tid("login-identifier"), email).await?;
    browser.fill(&tid("login-password"), "not-the-password-1").await?;
    browser.click(&tid("login-submit")).await?;
    let alert = browser.wait_for_text(&tid("login-alert"), "password").await?;
    assert_eq!(alert, "Wrong e-mail, phone number or password.");
    assert!(browser.current_url().await?.contains("#/login"));
    log_in(&browser, email, PW).await?;

    // Me: nickname first.
    browser.click(&tid("nav-me")).await?;
    browser.find(&tid("page-me")).await?;
    browser.wait_for_text(&tid("me-name"), "No nickname yet").await?;
    assert_eq!(browser.text(&tid("me-identifier")).await?, email);
    browser.fill(&tid("me-nickname"), "Hana").await?;
    browser.click(&tid("me-nickname-save")).await?;
    browser.wait_for_text(&tid("toast"), "Nickname saved").await?;
    assert_eq!(browser.text(&tid("me-name")).await?, "Hana");

    // Then a photo: choose, preview, upload; the profile header shows the stored one.
    let dir = tempfile::tempdir()?;
    let photo = dir.path().join("avatar.png");
    image::RgbImage::from_fn(160, 160, |x, y| {
        image::Rgb([(x * 255 / 160) as u8, (y * 255 / 160) as u8, 200])
    })
    .save(&photo)?;
    browser.set_file_input(&tid("me-avatar-input"), &photo).await?;
    let preview = loaded_image_src(&browser, "me-avatar-preview").await?;
    assert!(preview.starts_with("blob:"), "the chosen photo is previewed before upload");
    browser.click(&tid("me-avatar-upload")).await?;
    browser.wait_for_text(&tid("me-profile-alert"), "Profile photo updated").await?;
    let src = loaded_image_src(&browser, "me-avatar").await?;
    assert!(src.starts_with("/api/v1/me/avatar?v="), "header avatar comes from the server: {src}");
    let preview = loaded_image_src(&browser, "me-avatar-preview").await?;
    assert_eq!(preview, src, "the preview now shows the stored photo");

    // The profile survives a reload (it comes from the server, not from page state).
    browser.refresh().await?;
    browser.wait_for_text(&tid("me-name"), "Hana").await?;
    loaded_image_src(&browser, "me-avatar").await?;
    browser.execute("window.scrollTo(0, 0);", &[]).await?;
    save_screenshot(&browser, "profile.png").await?;

    // Sessions: the one signed-in session, marked as this device, and the login history.
    browser.click(&tid("me-sessions-link")).await?;
    browser.wait_for_url("#/me/sessions").await?;
    browser.find(&tid("page-sessions")).await?;
    browser.wait_for_text(&tid("session-current"), "This device").await?;
    let sessions = browser.find_all(&tid("session-item")).await?;
    assert_eq!(sessions.len(), 1, "logging out ended the first session");
    let row = browser.text(&tid("session-item")).await?;
    assert!(row.contains("Chrome on Linux") && row.contains("127.0.0.1"), "session row: {row}");
    browser.wait_for_text(&tid("login-outcome"), "Success").await?;
    assert_eq!(login_outcomes(&browser).await?, ["success", "bad-password", "success"]);
    browser.wait_for_text(&tid("login-outcome"), "Wrong password").await?;
    save_screenshot(&browser, "sessions.png").await?;

    // Change the password from the Me page.
    browser.click(&tid("sessions-back")).await?;
    browser.find(&tid("page-me")).await?;
    browser.fill(&tid("me-current-password"), PW).await?;
    browser.fill(&tid("me-new-password"), NEW_PW).await?;
    browser.click(&tid("me-password-save")).await?;
    browser.wait_for_text(&tid("me-password-alert"), "Password changed").await?;
    assert_eq!(app.login(email, PW).await.0, 401, "the old password no longer works");
    assert_eq!(app.login(email, NEW_PW).await.0, 200, "the new one does");

    log_out(&browser).await?;
    assert!(browser.current_url().await?.ends_with("#/login"));
    browser.close().await?;
    app.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_password_is_reset_with_a_code_and_the_new_one_logs_in() -> Result<()> {
    let app = TestApp::spawn().await;
    let email = "forgetful@example.com";
    app.register(email, PW).await;
    let browser = open_app(&app).await?;

    browser.click(&tid("login-forgot")).await?;
    browser.find(&tid("page-reset")).await?;
    let seen = app.outbox().len();
    browser.fill(&tid("reset-identifier"), email).await?;
    browser.click(&tid("reset-request")).await?;
    browser.wait_for_text(&tid("reset-target"), email).await?;

    let code = app.wait_for_code(seen).await;
    browser.fill(&tid("reset-code"), &code).await?;
    browser.fill(&tid("reset-new-password"), NEW_PW).await?;
    browser.click(&tid("reset-confirm")).await?;

    // Back on the login page with a notice and the identifier filled in.
    browser.wait_for_url("#/login").await?;
    browser.wait_for_text(&tid("login-notice"), "Password changed").await?;
    let prefilled = browser.find(&tid("login-identifier")).await?.property("value").await?;
    assert_eq!(prefilled, json!(email));
    log_in(&browser, email, NEW_PW).await?;
    assert_eq!(app.login(email, PW).await.0, 401, "the old password no longer works");

    browser.close().await?;
    app.stop().await;
    Ok(())
}
