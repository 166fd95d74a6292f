//! Consent in the web app, in a real headless Chromium: registering reads and accepts the
//! privacy policy, a purpose is switched on under Me → Privacy and withdrawn again, and the
//! history the page shows agrees with what the server stored.

use anyhow::{Context as _, Result, ensure};
use kankan_accounts::Purpose;
use kankan_testkit::TestApp;
use serde_json::json;

use crate::browser::{open_app, tid};

const PW: &str = "plum-garden-kettle-42";

/// The (purpose, granted) of each row of the history list, newest first.
async fn history_rows(browser: &kankan_testkit::browser::Browser) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for row in browser.find_all(&tid("consent-history-row")).await? {
        out.push((
            row.attr("data-purpose").await?.unwrap_or_default(),
            row.attr("data-granted").await?.unwrap_or_default(),
        ));
    }
    Ok(out)
}

/// Whether the face recognition switch is on.
async fn checked(browser: &kankan_testkit::browser::Browser) -> Result<serde_json::Value> {
    browser
        .execute("return document.getElementById('consent-face-recognition').checked;", &[])
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_registers_accepting_the_policy_then_gives_and_withdraws_a_consent() -> Result<()> {
    let app = TestApp::spawn().await;
    let browser = open_app(&app).await?;
    let email = "consenting@example.com";

    // Registering shows the policy and needs the box ticked.
    browser.click(&tid("login-register-link")).await?;
    browser.find(&tid("page-register")).await?;
    browser.fill(&tid("register-identifier"), email).await?;
    browser.fill(&tid("register-password"), PW).await?;
    browser.wait_for_text(&tid("register-accept-label"), "version 1").await?;
    browser.click(&tid("register-submit")).await?;
    browser.wait_for_text(&tid("register-alert"), "privacy policy").await?;
    ensure!(app.outbox().is_empty(), "nothing is sent before the policy is accepted");
    browser.click(&tid("register-policy-toggle")).await?;
    browser.wait_for_text(&tid("register-policy-text"), "Protection of Minors").await?;
    ensure!(
        browser.find_all(&format!("{} script", tid("register-policy-text"))).await?.is_empty(),
        "the policy is rendered as text"
    );
    browser.click(&tid("register-accept-policy")).await?;
    browser.click(&tid("register-submit")).await?;
    browser.wait_for_url("#/verify").await?;
    let code = app.wait_for_code(0).await;
    browser.fill(&tid("verify-code"), &code).await?;
    browser.click(&tid("verify-submit")).await?;
    browser.wait_for_url("#/devices").await?;

    // Me → Privacy: the acceptance is in the history; face recognition is off until given.
    browser.click(&tid("nav-me")).await?;
    browser.click(&tid("me-privacy-link")).await?;
    browser.find(&tid("page-privacy")).await?;
    browser.wait_for_text(&tid("consent-policy"), "version 1").await?;
    // The switch itself is drawn over: its label takes the clicks.
    let face = "label[for=consent-face-recognition]";
    browser.find(face).await?;
    ensure!(checked(&browser).await? == json!(false), "off until given");
    browser.click(face).await?;
    browser
        .wait_until(
            "the consent to be in the history",
            "return document.querySelectorAll('[data-testid=consent-history-row]').length === 2;",
            &[],
        )
        .await?;
    browser.click(face).await?;
    browser
        .wait_until(
            "the withdrawal to be in the history",
            "return document.querySelectorAll('[data-testid=consent-history-row]').length === 3;",
            &[],
        )
        .await?;
    let rows = history_rows(&browser).await?;
    let want = [("face-recognition", "false"), ("face-recognition", "true"), ("policy", "true")];
    ensure!(
        rows.iter().map(|(p, g)| (p.as_str(), g.as_str())).eq(want),
        "the history shows the acceptance, the consent and its withdrawal, newest first: {rows:?}"
    );
    ensure!(checked(&browser).await? == json!(false), "off again");

    // The server agrees: withdrawn, and the same three rows stored.
    let s = &app.running().services;
    let (status, login) = app.login(email, PW).await;
    ensure!(status == 200, "login: {login}");
    let token = login["token"].as_str().context("token")?;
    let (_, me) = app.get_authed("/api/v1/me", token).await;
    let id = kankan_base::AccountId(me["id"].as_str().context("id")?.parse()?);
    ensure!(!s.accounts.consents().granted(id, Purpose::FaceRecognition).await?, "withdrawn");
    let stored: Vec<_> =
        s.store.consents(id).await?.into_iter().map(|c| (c.purpose, c.granted, c.how)).collect();
    ensure!(
        stored
            == [
                ("policy".to_string(), true, "registration".to_string()),
                ("face-recognition".into(), true, "settings".into()),
                ("face-recognition".into(), false, "settings".into()),
            ],
        "stored: {stored:?}"
    );
    browser.close().await?;
    Ok(())
}
