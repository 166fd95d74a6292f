//! Passkeys in the web app, in a real Chromium with the WebDriver virtual authenticator: add a
//! passkey on Me → Account and Security, log out, log in with the passkey alone, then a password
//! login whose second step is the passkey.

use anyhow::{Result, ensure};
use kankan_testkit::TestApp;
use kankan_testkit::browser::{Browser, LaunchOptions};
use std::time::Duration;

use crate::browser::tid;

const PW: &str = "plum-garden-kettle-42";

#[tokio::test]
async fn a_passkey_added_in_the_web_app_signs_in_alone_and_as_the_second_step() -> Result<()> {
    let app = TestApp::spawn().await;
    let id = "browser-passkey@example.com";
    app.register(id, PW).await;
    let options = LaunchOptions { timeout: Duration::from_secs(30), ..LaunchOptions::default() };
    let mut browser = Browser::launch_with(options).await?;
    let authenticator = browser.add_virtual_authenticator().await?;
    // WebAuthn needs a host name for the relying party: the app by `localhost`.
    browser.goto(&app.localhost_url("/#/login")).await?;
    browser.find(&tid("page-login")).await?;
    browser.set_timeout(Duration::from_secs(20));
    browser.fill(&tid("login-identifier"), id).await?;
    browser.fill(&tid("login-password"), PW).await?;
    browser.click(&tid("login-submit")).await?;
    browser.wait_for_url("#/devices").await?;

    browser.goto(&app.localhost_url("/#/me/account")).await?;
    browser.find(&tid("passkeys-empty")).await?;
    let name = browser.find(&tid("passkey-name")).await?;
    name.clear().await?;
    name.send_keys("Work laptop").await?;
    browser.fill(&tid("passkey-password"), PW).await?;
    browser.click(&tid("passkey-add")).await?;
    browser.wait_for_text(&tid("passkeys-list"), "Work laptop").await?;
    let held = browser.virtual_credentials(&authenticator).await?;
    ensure!(held.len() == 1, "the authenticator holds the new passkey: {held:?}");
    ensure!(held[0]["isResidentCredential"] == true, "a discoverable credential: {held:?}");
    browser.wait_for_text(&tid("passkey-row-used"), "never used").await?;

    browser.click(&tid("nav-me")).await?;
    browser.click(&tid("me-logout")).await?;
    browser.wait_for_url("#/login").await?;
    browser.find(&tid("page-login")).await?;
    browser.click(&tid("login-passkey")).await?;
    browser.wait_for_url("#/devices").await?;
    browser.goto(&app.localhost_url("/#/me/account")).await?;
    browser.wait_for_text(&tid("passkey-row-used"), "last used").await?;

    // A password login now asks for the second step: "Use a passkey" finishes it.
    browser.click(&tid("nav-me")).await?;
    browser.click(&tid("me-logout")).await?;
    browser.wait_for_url("#/login").await?;
    browser.fill(&tid("login-identifier"), id).await?;
    browser.fill(&tid("login-password"), PW).await?;
    browser.click(&tid("login-submit")).await?;
    browser.find(&tid("login-2fa-form")).await?;
    browser.click(&tid("login-2fa-passkey")).await?;
    browser.wait_for_url("#/devices").await?;
    browser.close().await?;
    app.stop().await;
    Ok(())
}
