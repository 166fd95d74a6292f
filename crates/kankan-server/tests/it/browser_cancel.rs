//! Cancelling an account in the web app: Me → Account and Security → Cancel account, then
//! logging in during the window offers "Continue login", which gives the app back.

use anyhow::{Result, ensure};
use kankan_testkit::TestApp;

use crate::browser::{log_in_watching_csp, open_app, save_screenshot, tid, wait_for_hash};
use crate::devices::{PW, provision};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_log_in_during_the_window_and_continue_login() -> Result<()> {
    let app = TestApp::spawn().await;
    let email = "cancel-me@example.com";
    let token = app.register(email, PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _dev = crate::devices::bind(&app, &token, &creds).await;

    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.find(&tid("nav-me")).await?;
    browser.click(&tid("nav-me")).await?;
    browser.click(&tid("me-account-link")).await?;
    browser.find(&tid("page-account-security")).await?;
    let card = browser.text(&tid("account-cancel-card")).await?;
    ensure!(card.contains("10 working days"), "the page explains the window: {card}");
    ensure!(card.contains("Continue login"), "and how to stop it: {card}");

    // A wrong password is refused; the right one (confirmed) cancels and signs out.
    browser.fill(&tid("account-cancel-password"), "not-my-password-1").await?;
    browser.click(&tid("account-cancel-submit")).await?;
    browser.click(&tid("account-cancel-confirm-ok")).await?;
    browser.wait_for_text(&tid("account-cancel-alert"), "password").await?;
    browser.fill(&tid("account-cancel-password"), PW).await?;
    browser.click(&tid("account-cancel-submit")).await?;
    browser.click(&tid("account-cancel-confirm-ok")).await?;
    wait_for_hash(&browser, "#/login").await?;
    browser.wait_for_text(&tid("login-notice"), "Continue login").await?;
    save_screenshot(&browser, "cancel-1-cancelled.png").await?;
    let (s, _) = app.get_authed("/api/v1/me", &token).await;
    ensure!(s == 401, "every session ended ({s})");

    // Logging in during the window offers "Continue login"; the app works again after it.
    browser.fill(&tid("login-identifier"), email).await?;
    browser.fill(&tid("login-password"), PW).await?;
    browser.click(&tid("login-submit")).await?;
    browser.wait_for_text(&tid("login-alert"), "being cancelled").await?;
    save_screenshot(&browser, "cancel-2-continue-offer.png").await?;
    // Reloading instead of choosing leaves the app closed: the login page offers it again.
    browser.refresh().await?;
    browser.find(&tid("page-login")).await?;
    ensure!(!browser.is_displayed("#nav").await?, "the app stays closed during the window");
    browser.fill(&tid("login-identifier"), email).await?;
    browser.fill(&tid("login-password"), PW).await?;
    browser.click(&tid("login-submit")).await?;
    browser.wait_for_text(&tid("login-alert"), "being cancelled").await?;
    browser.click(&tid("login-continue")).await?;
    wait_for_hash(&browser, "#/devices").await?;
    browser.find(&format!("{}[data-uid=\"{}\"]", tid("device-card"), creds.uid)).await?;
    save_screenshot(&browser, "cancel-3-back.png").await?;
    let violations = browser.execute("return window.cspViolations || [];", &[]).await?;
    ensure!(violations.as_array().is_none_or(Vec::is_empty), "CSP violations: {violations}");
    let (s, b) = app.login(email, PW).await;
    ensure!(s == 200 && b["cancellation"].is_null(), "the account is active again: {b}");
    browser.close().await
}
