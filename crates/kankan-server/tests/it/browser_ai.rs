//! AI descriptions in a real headless Chromium: the camera's Settings card offers the switch
//! only once the owner consented (and says where pictures go), the Message Center shows an
//! event's description as it arrives over the events stream and searches by its words, and
//! About says whether this server sends pictures to an AI model and where.
//!
//! Every step waits for an element, a value or a URL; nothing sleeps a fixed time.

use anyhow::{Result, ensure};
use serde_json::json;

use super::ai::{Fake, Mode, ai_app, camera, consent, described, event};
use super::browser::{log_in_watching_csp, open_app, save_screenshot, tid, wait_for_hash};
use super::browser_messages::wait_stream_open;

#[tokio::test]
async fn the_web_app_turns_ai_descriptions_on_shows_them_and_searches_them() -> Result<()> {
    let fake = Fake::start().await;
    let app = ai_app(&fake, |_| {}).await;
    let who = "web-ai@example.com";
    let cam = camera(&app, who, false).await;
    let uid = cam.creds.uid.clone();
    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, who).await?;

    // Without the consent the switch is disabled and says where to give it.
    let device_page = format!("#/devices/{uid}");
    go(&browser, &device_page).await?;
    browser.wait_for_text(&tid("set-ai-descriptions-why"), "Me → Privacy").await?;
    let switch = tid("set-ai-descriptions");
    let disabled = "const s = document.querySelector(arguments[0]); return s && s.disabled;";
    let state = browser.execute(disabled, &[json!(switch)]).await?;
    ensure!(state == json!(true), "no consent: the switch is disabled ({state})");

    // With it, the switch turns on and says where pictures go.
    consent(&app, &cam.token, true).await;
    go(&browser, "#/messages").await?;
    go(&browser, &device_page).await?;
    browser.wait_for_text(&tid("set-ai-descriptions-why"), "127.0.0.1").await?;
    browser
        .wait_until(
            "the switch to be enabled",
            "const s = document.querySelector(arguments[0]); return s && !s.disabled;",
            &[json!(tid("set-ai-descriptions"))],
        )
        .await?;
    let id_of = "return document.querySelector(arguments[0]).id;";
    let id = browser.execute(id_of, &[json!(switch)]).await?;
    let id = id.as_str().unwrap_or_default().to_string();
    browser.click(&format!("label[for='{id}']")).await?;
    let deadline = std::time::Instant::now() + super::recording::WAIT;
    loop {
        let (_, d) = app.get_authed(&format!("/api/v1/devices/{uid}"), &cam.token).await;
        if d["desired"]["ai_descriptions"] == true {
            break;
        }
        ensure!(std::time::Instant::now() < deadline, "the setting was not saved: {d}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // The Message Center shows the description as it arrives.
    go(&browser, "#/messages").await?;
    wait_stream_open(&browser).await?;
    let courier = event(&app, &cam).await;
    described(&app, &cam.token, &courier).await;
    browser.wait_for_text(&tid("message-description"), "courier leaves a parcel").await?;
    fake.set(Mode::Answer("A cat crosses the garden.".into()));
    let cat = event(&app, &cam).await;
    described(&app, &cam.token, &cat).await;
    browser.wait_for_text(&tid("messages-list"), "cat crosses the garden").await?;

    // Searching keeps the matching event only.
    browser.fill(&tid("messages-search"), "courier").await?;
    browser
        .execute(
            "document.querySelector(arguments[0]).requestSubmit();",
            &[json!(tid("messages-filters"))],
        )
        .await?;
    browser.wait_for_url("q=courier").await?;
    browser
        .wait_until(
            "only the courier's event listed",
            "const rows = [...document.querySelectorAll('[data-testid=message-item]')];
             return rows.length === 1 && rows[0].dataset.id === arguments[0];",
            &[json!(courier)],
        )
        .await?;
    save_screenshot(&browser, "ai-messages-search.png").await?;

    // About names where pictures go.
    go(&browser, "#/about").await?;
    browser.wait_for_text(&tid("about-ai-text"), "127.0.0.1").await?;
    let csp = browser.execute("return window.cspViolations || [];", &[]).await?;
    ensure!(csp.as_array().is_none_or(Vec::is_empty), "CSP violations: {csp}");
    ensure!(fake.checked().len() == 2, "two events described");
    browser.close().await
}

/// Goes to `hash` inside the running app (the page, and what it watches, stay).
async fn go(browser: &kankan_testkit::browser::Browser, hash: &str) -> Result<()> {
    browser.execute("location.hash = arguments[0];", &[json!(hash)]).await?;
    wait_for_hash(browser, hash).await
}
