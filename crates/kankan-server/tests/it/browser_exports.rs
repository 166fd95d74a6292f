//! "Download my data" in the browser: a real headless Chromium goes Me → Download my data,
//! starts an export with the Album, sees it go through its progress to Ready with its expiry,
//! and downloads the ZIP through the page's own link (its session cookie); the ZIP's
//! data.json validates against the documented schema.
//!
//! Every step waits for an element or a value; nothing sleeps a fixed time.

use anyhow::{Context as _, Result, ensure};
use base64::Engine as _;
use serde_json::Value;

use super::browser::{log_in_watching_csp, open_app, save_screenshot, wait_for_hash};
use super::devices::{PW, bind, provision};
use super::exports::validate_export;
use kankan_testkit::TestApp;

fn tid(id: &str) -> String {
    format!("[data-testid={id}]")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_started_in_the_app_reaches_ready_and_its_zip_validates_against_the_schema()
-> Result<()> {
    let app = TestApp::spawn().await;
    let email = "exportweb@example.com";
    let token = app.register(email, PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _dev = bind(&app, &token, &creds).await;

    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.click(&tid("nav-me")).await?;
    wait_for_hash(&browser, "#/me").await?;
    browser.click(&tid("me-exports-link")).await?;
    wait_for_hash(&browser, "#/me/exports").await?;
    browser.find(&tid("exports-list")).await?;
    browser.click("label[for=export-album]").await?; // the switch itself is drawn over
    browser.click(&tid("export-start")).await?;
    browser.wait_for_text(&tid("toast"), "Export started").await?;
    // The page polls: the export shows up, then becomes ready with its size and expiry.
    browser.wait_for_text(&tid("export-state"), "Ready").await?;
    let expiry = browser.wait_for_text(&tid("export-expiry"), "available until").await?;
    ensure!(expiry.contains("KB") || expiry.contains("bytes"), "its size: {expiry}");
    save_screenshot(&browser, "exports.png").await?;

    // The download link, fetched by the page with its session cookie.
    let script = "const a = document.querySelector('[data-testid=export-download]');
        const r = await fetch(a.href, { credentials: 'same-origin' });
        const bytes = new Uint8Array(await r.arrayBuffer());
        let s = '';
        for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        return { status: r.status, type: r.headers.get('content-type'), zip: btoa(s) };";
    let got: Value = browser.execute(script, &[]).await?;
    ensure!(got["status"] == 200 && got["type"] == "application/zip", "{got}");
    let zip = base64::engine::general_purpose::STANDARD
        .decode(got["zip"].as_str().context("the ZIP")?)?;
    let (data, names) = validate_export(&zip);
    ensure!(data["account"]["identifier"] == email, "{}", data["account"]);
    ensure!(data["devices"][0]["uid"] == creds.uid.as_str(), "{}", data["devices"]);
    ensure!(names == ["data.json"], "no Album items to add: {names:?}");
    let violations = browser.execute("return window.cspViolations;", &[]).await?;
    ensure!(violations == serde_json::json!([]), "CSP violations: {violations}");
    browser.close().await?;
    Ok(())
}
