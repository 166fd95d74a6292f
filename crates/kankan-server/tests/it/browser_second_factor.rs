//! Two-step verification in the web app (real Chromium): enrolling an authenticator app with
//! its QR code and a `pyotp` code, the recovery codes shown once, and a login's second step
//! that remembers the device; the sessions page shows how each session signed in.

use anyhow::{Result, ensure};
use kankan_testkit::TestApp;

use crate::browser::{loaded_image_src, log_in, log_out, open_app, tid, wait_for_hash};
use crate::second_factor::{PW, next_step, pyotp_code};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_enrols_an_authenticator_app_and_logs_in_with_the_second_step() -> Result<()> {
    let app = TestApp::spawn().await;
    app.register("twostep@example.com", PW).await;
    let browser = open_app(&app).await?;
    log_in(&browser, "twostep@example.com", PW).await?;

    browser.goto(&app.url("/#/me/account")).await?;
    browser.find(&tid("two-step-card")).await?;
    browser.wait_for_text(&tid("two-step-state"), "Off").await?;
    browser.fill(&tid("two-step-password"), PW).await?;
    browser.click(&tid("two-step-enrol")).await?;
    let src = loaded_image_src(&browser, "two-step-qr").await?;
    ensure!(src.starts_with("data:image/svg+xml"), "the QR code is the server's SVG: {src:.40}");
    let secret = browser.text(&tid("two-step-secret")).await?;
    ensure!(secret.len() == 32, "a base32 secret of 20 bytes: {secret:?}");
    browser.fill(&tid("two-step-confirm-code"), &pyotp_code(&app, &secret)).await?;
    browser.click(&tid("two-step-confirm")).await?;
    let codes = browser.text(&tid("two-step-code-list")).await?;
    ensure!(codes.lines().count() == 10, "ten recovery codes, shown once: {codes}");
    browser.find(&tid("two-step-download-codes")).await?;
    browser.click(&tid("two-step-codes-done")).await?;
    browser.wait_for_text(&tid("two-step-state"), "On").await?;
    browser.wait_for_text(&tid("two-step-codes-left"), "10 recovery codes").await?;

    // A new login asks for the second step; the device is remembered.
    log_out(&browser).await?;
    next_step(&app);
    browser.fill(&tid("login-identifier"), "twostep@example.com").await?;
    browser.fill(&tid("login-password"), PW).await?;
    browser.click(&tid("login-submit")).await?;
    browser.find(&tid("login-2fa-form")).await?;
    browser.find(&tid("login-2fa-use-recovery")).await?;
    browser.fill(&tid("login-2fa-code"), &pyotp_code(&app, &secret)).await?;
    browser.click(&tid("login-2fa-remember")).await?;
    browser.click(&tid("login-2fa-submit")).await?;
    wait_for_hash(&browser, "#/devices").await?;
    ensure!(browser.cookie("kankan_device").await?.is_some(), "the device is remembered");

    browser.goto(&app.url("/#/me/sessions")).await?;
    browser.wait_for_text(&tid("sessions-list"), "password and authenticator app").await?;

    // The remembered browser logs in with the password alone.
    log_out(&browser).await?;
    log_in(&browser, "twostep@example.com", PW).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_second_factor_sends_the_login_to_the_enrolment() -> Result<()> {
    let app = TestApp::spawn_with(|c| c.accounts.require_second_factor = true).await;
    app.register("required@example.com", PW).await;
    let browser = open_app(&app).await?;
    browser.fill(&tid("login-identifier"), "required@example.com").await?;
    browser.fill(&tid("login-password"), PW).await?;
    browser.click(&tid("login-submit")).await?;
    wait_for_hash(&browser, "#/me/account").await?;
    browser.find(&tid("two-step-required")).await?;
    // Any other page is refused and comes back here.
    browser.goto(&app.url("/#/devices")).await?;
    wait_for_hash(&browser, "#/me/account").await?;
    browser.find(&tid("two-step-enrol-form")).await?;
    Ok(())
}
