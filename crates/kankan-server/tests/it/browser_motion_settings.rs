//! Motion settings in a real headless Chromium: a zone drawn with real mouse clicks on the
//! device page's zone editor is saved, reaches the device as desired settings and is there
//! after a reload; a schedule period that ends before it starts is refused next to the field
//! (as the server would, `schedule-period-inverted`), and one until midnight is saved as
//! `24:00` with the device's time zone.
//!
//! Every step waits for an element, a value or an MQTT message; nothing sleeps a fixed time.

use anyhow::{Context as _, Result, ensure};
use kankan_protocol::device::Settings;
use kankan_testkit::browser::Browser;
use kankan_testkit::{TestApp, TestDevice, state_report};
use serde_json::{Value, json};

use super::browser::{log_in_watching_csp, open_app, save_screenshot, tid, wait_for_hash};
use super::devices::{PW, bind, provision};

/// A real mouse click (DevTools input, so the page sees trusted pointer events) at the point
/// `(fx, fy)` of the element `css`, given as fractions of its size.
async fn click_at(browser: &Browser, css: &str, fx: f64, fy: f64) -> Result<()> {
    let r = browser
        .execute(
            "const el = document.querySelector(arguments[0]);
             el.scrollIntoView({ block: 'center' });
             const r = el.getBoundingClientRect();
             return [r.left, r.top, r.width, r.height];",
            &[json!(css)],
        )
        .await?;
    let n = |i: usize| r[i].as_f64().context("a number");
    let (x, y) = (n(0)? + fx * n(2)?, n(1)? + fy * n(3)?);
    for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
        browser
            .cdp(
                "Input.dispatchMouseEvent",
                json!({"type": kind, "x": x, "y": y, "button": "left", "buttons": u8::from(kind == "mousePressed"), "clickCount": 1}),
            )
            .await?;
    }
    Ok(())
}

/// Sets the input or select `css` to `value` as a user would (`input`, then `change`).
async fn set_value(browser: &Browser, css: &str, value: &str) -> Result<()> {
    browser.find(css).await?;
    browser
        .execute(
            "const el = document.querySelector(arguments[0]);
             el.value = arguments[1];
             el.dispatchEvent(new Event('input', { bubbles: true }));
             el.dispatchEvent(new Event('change', { bubbles: true }));",
            &[json!(css), json!(value)],
        )
        .await?;
    Ok(())
}

/// The next desired settings the device receives.
async fn next_desired(dev: &mut TestDevice) -> Result<Value> {
    let desired = dev.next_on("desired").await?;
    Ok(desired["settings"].clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zone_drawn_on_the_picture_is_saved_and_a_bad_schedule_is_explained() -> Result<()> {
    let app = TestApp::spawn().await;
    let email = "zones@example.com";
    let token = app.register(email, PW).await;
    let creds = provision(&app, "KK-C1").await;
    let uid = creds.uid.clone();
    let mut dev = bind(&app, &token, &creds).await;
    dev.publish_json("state", &state_report(1, json!(Settings::default()), 0)).await?;

    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.click(&tid("device-card")).await?;
    wait_for_hash(&browser, &format!("#/devices/{uid}")).await?;
    browser.find(&tid("motion-form")).await?;
    browser.wait_for_text(&tid("zone-editor-hint"), "No zones").await?;

    // Three corners, then a click on the first closes the zone.
    let editor = tid("zone-editor");
    for (x, y) in [(0.2, 0.3), (0.8, 0.3), (0.8, 0.9)] {
        click_at(&browser, &editor, x, y).await?;
    }
    browser.wait_for_text(&tid("zone-editor-hint"), "3 corners").await?;
    click_at(&browser, &editor, 0.2, 0.3).await?;
    browser
        .wait_until(
            "one closed zone",
            "const s = document.querySelector('[data-testid=zone-editor]');
             return s.dataset.zones === '1' && s.dataset.drawing === 'false';",
            &[],
        )
        .await?;
    save_screenshot(&browser, "motion-zone.png").await?;
    browser.click(&tid("motion-save")).await?;
    browser.wait_for_text(&tid("motion-status"), "Saved").await?;

    // The device gets the zone, corners relative to the picture.
    let desired = next_desired(&mut dev).await?;
    let points = desired["motion"]["zones"][0]["points"].as_array().cloned().context("a zone")?;
    ensure!(points.len() == 3, "three corners: {desired}");
    let near = |p: &Value, x: f64, y: f64| {
        (p["x"].as_f64().unwrap_or(-1.0) - x).abs() < 0.02
            && (p["y"].as_f64().unwrap_or(-1.0) - y).abs() < 0.02
    };
    ensure!(
        near(&points[0], 0.2, 0.3) && near(&points[1], 0.8, 0.3) && near(&points[2], 0.8, 0.9),
        "{points:?}"
    );
    assert_eq!(desired["motion"]["enabled"], true, "the rest is unchanged: {desired}");

    // After a reload the zone is still there.
    let blocked: Value = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "nothing was blocked by the CSP");
    browser.refresh().await?;
    browser
        .execute(
            "window.cspViolations = [];
             document.addEventListener('securitypolicyviolation',
               (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));",
            &[],
        )
        .await?;
    browser.find(&tid("motion-form")).await?;
    browser
        .wait_until(
            "the saved zone",
            "const s = document.querySelector('[data-testid=zone-editor]');
             return s && s.dataset.zones === '1' && document.querySelectorAll('[data-testid=zone-polygon]').length === 1;",
            &[],
        )
        .await?;

    // A period ending before it starts is refused next to the field, nothing is sent.
    browser.click("label[for=schedule-on]").await?; // the switch itself is drawn over
    browser.find(&tid("schedule-period")).await?;
    set_value(&browser, &tid("schedule-day"), "tue").await?;
    set_value(&browser, &tid("schedule-start"), "18:00").await?;
    set_value(&browser, &tid("schedule-end"), "08:00").await?;
    browser.click(&tid("motion-save")).await?;
    browser.wait_for_text(&tid("schedule-start-error"), "The end must be after the start").await?;
    let code = browser.find(&tid("schedule-start-error")).await?.attr("data-code").await?;
    assert_eq!(code.as_deref(), Some("schedule-period-inverted"));
    save_screenshot(&browser, "motion-schedule-error.png").await?;

    // Until midnight is fine: saved as 24:00, with the device's time zone.
    set_value(&browser, &tid("schedule-end"), "00:00").await?;
    set_value(&browser, &tid("set-time-zone"), "Europe/Berlin").await?;
    browser.click(&tid("motion-save")).await?;
    browser.wait_for_text(&tid("motion-status"), "Saved").await?;
    browser.wait_gone(&tid("schedule-start-error")).await?;
    let desired = next_desired(&mut dev).await?;
    assert_eq!(
        desired["motion"]["schedule"],
        json!({"periods": [{"day": "tue", "start": "18:00", "end": "24:00"}]}),
        "{desired}"
    );
    assert_eq!(desired["time_zone"], "Europe/Berlin");
    assert_eq!(desired["motion"]["zones"].as_array().map(Vec::len), Some(1), "the zone stays");

    let blocked: Value = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "nothing was blocked by the CSP");
    browser.close().await?;
    app.stop().await;
    Ok(())
}
