//! The staff console in a real headless Chromium: a new staff member enrols a second factor
//! (QR code) and signs in with a TOTP code; support sees no Ban and no admin sections; an
//! administrator finds a user, bans them with a reason and sees the ban in the audit page.
//!
//! Every step waits for an element, a text or a URL; nothing sleeps a fixed time.

use std::time::Duration;

use anyhow::{Result, ensure};
use kankan_core::StaffRole;
use kankan_testkit::TestApp;
use kankan_testkit::browser::Browser;
use serde_json::json;

use crate::admin::{staff_code, staff_token, staff_token_as};
use crate::browser::{open_app, save_screenshot, tid};
use crate::devices::PW;

const STAFF_PW: &str = "granite-meadow-beacon-64";

/// Signs the tab in as the holder of `token` and opens `hash`.
async fn as_staff(browser: &Browser, app: &TestApp, token: &str, hash: &str) -> Result<()> {
    browser
        .execute("sessionStorage.setItem('kankan_staff_token', arguments[0])", &[json!(token)])
        .await?;
    browser.goto(&app.url(&format!("/{hash}"))).await?;
    browser.refresh().await?;
    browser.find(&tid("console-shell")).await?;
    Ok(())
}

async fn sign_in(browser: &Browser, user: &str, code: Option<&str>) -> Result<()> {
    browser.fill(&tid("console-username"), user).await?;
    browser.fill(&tid("console-password"), STAFF_PW).await?;
    if let Some(c) = code {
        browser.fill(&tid("console-code"), c).await?;
    }
    browser.click(&tid("console-login-submit")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staff_member_enrols_with_a_qr_code_and_signs_in_with_a_totp_code() -> Result<()> {
    let app = TestApp::spawn().await;
    let accounts = &app.running().services.accounts;
    accounts.create_staff("chief", STAFF_PW, StaffRole::Administrator).await?;

    let browser = open_app(&app).await?;
    browser.goto(&app.url("/#/console/login")).await?;
    browser.find(&tid("page-console-login")).await?;
    sign_in(&browser, "chief", None).await?;
    browser.find(&tid("console-enrol-qr")).await?;
    let secret = browser.text(&tid("console-enrol-secret")).await?;
    let secret = kankan_crypto::totp::base32_decode(secret.trim()).expect("base32 secret");
    save_screenshot(&browser, "console-enrol").await?;
    browser.fill(&tid("console-enrol-code"), &staff_code(&app, &secret)).await?;
    browser.click(&tid("console-enrol-submit")).await?;
    browser.wait_for_url("#/console/accounts").await?;
    browser.wait_for_text(&tid("console-nav"), "Staff").await?;
    browser.wait_for_text(&tid("console-who"), "chief · admin").await?;

    // Signed out, the password alone does not sign in again; with the code it does.
    browser.click(&tid("console-signout")).await?;
    browser.find(&tid("page-console-login")).await?;
    app.clock.advance(Duration::from_secs(30));
    sign_in(&browser, "chief", None).await?;
    browser.wait_for_text(&tid("console-login-alert"), "code from your authenticator").await?;
    sign_in(&browser, "chief", Some(&staff_code(&app, &secret))).await?;
    browser.wait_for_url("#/console/accounts").await?;
    browser.find(&tid("page-console-accounts")).await?;
    browser.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn support_sees_no_ban_and_an_admin_bans_with_a_reason_shown_in_the_audit_page() -> Result<()>
{
    let app = TestApp::spawn().await;
    let user = app.register("misuse@example.com", PW).await;
    let (_, me) = app.get_authed("/api/v1/me", &user).await;
    let id = me["id"].as_str().expect("id").to_string();
    let support = staff_token_as(&app, "helper", StaffRole::Support).await;
    let admin = staff_token(&app).await;

    let browser = open_app(&app).await?;
    as_staff(&browser, &app, &support, &format!("#/console/accounts/{id}")).await?;
    browser.wait_for_text(&tid("console-account-state"), "active").await?;
    browser.wait_for_text(&tid("console-nav"), "Accounts").await?;
    let nav = browser.text(&tid("console-nav")).await?;
    ensure!(!nav.contains("Staff") && !nav.contains("Audit"), "support's nav: {nav}");
    ensure!(browser.find_all(&tid("console-ban")).await?.is_empty(), "support has no Ban");

    as_staff(&browser, &app, &admin, "#/console/accounts").await?;
    browser.fill(&tid("console-accounts-q"), "misuse@example.com").await?;
    browser.click(&tid("console-accounts-search")).await?;
    browser.click(&tid("console-account-link")).await?;
    browser.wait_for_text(&tid("console-account-state"), "active").await?;
    browser.fill(&tid("console-ban-reason"), "selling stolen camera footage").await?;
    browser.click(&tid("console-ban")).await?;
    browser.wait_for_text(&tid("console-account-state"), "banned").await?;
    browser
        .wait_for_text(&tid("console-account-ban-reason"), "selling stolen camera footage")
        .await?;
    save_screenshot(&browser, "console-banned").await?;

    browser.click(&tid("console-nav-audit")).await?;
    browser.wait_for_text(&tid("console-audit"), "account-banned").await?;
    browser.find("[data-testid=console-audit-entry][data-action=account-banned]").await?;
    browser.close().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_see_the_fleet_and_a_devices_health_with_its_recent_problem() -> Result<()> {
    use kankan_protocol::device::Settings;
    use kankan_testkit::state_report;

    use crate::devices::{bind, eventually, provision};

    let app = TestApp::spawn().await;
    let owner = app.register("fleet-browser@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let mut dev = bind(&app, &owner, &creds).await;
    dev.publish_json("state", &state_report(1, json!(Settings::default()), 0)).await?;
    eventually(&app, &owner, &creds.uid, "state arrives", |v| !v["reported"].is_null()).await;
    let url = app.url(&format!("/api/v1/devices/{}/commands", creds.uid));
    let answer = tokio::spawn(
        app.http
            .post(&url)
            .bearer_auth(&owner)
            .json(&json!({"name": "preset-goto", "slot": 2}))
            .send(),
    );
    let cmd = dev.next_on("cmd").await?;
    dev.publish_json("ack", &json!({"id": cmd["id"], "ok": false, "error": "preset 2 is not set"}))
        .await?;
    answer.await??;
    let ops = staff_token_as(&app, "night-ops", StaffRole::Operations).await;

    let browser = open_app(&app).await?;
    as_staff(&browser, &app, &ops, "#/console/devices").await?;
    browser.wait_for_text(&tid("console-nav"), "Rollouts").await?;
    let nav = browser.text(&tid("console-nav")).await?;
    ensure!(!nav.contains("Accounts") && !nav.contains("Staff"), "operations' nav: {nav}");
    browser.wait_for_text(&tid("console-fleet-counts"), "1.0.0-test").await?;
    browser.wait_for_text(&tid("console-fleet-devices"), &creds.uid).await?;
    browser.click(&format!("a[href='#/console/devices/{}']", creds.uid)).await?;
    browser.wait_for_text(&tid("console-device-online"), "Online").await?;
    browser.wait_for_text(&tid("console-device-signal"), "-55 dBm").await?;
    browser.wait_for_text(&tid("console-device-problems"), "preset 2 is not set").await?;
    save_screenshot(&browser, "console-device-health").await?;
    browser.close().await?;
    Ok(())
}
