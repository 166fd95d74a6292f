//! Support tickets in a real headless Chromium. The user's side: Me → Contact support, a new
//! ticket about a camera with "Attach the camera's logs" (the real `kankan-cam` uploads them
//! over its own credentials), the logs read before sending (and removable), then sent with the
//! ticket. The staff's side: the console's queue, Take, the camera's logs for the assignee, a
//! reply, and the user sees it in the thread, marked new.
//!
//! Every step waits for an element, a text or the server; nothing sleeps a fixed time.

use anyhow::Result;
use kankan_base::Shutdown;
use kankan_core::StaffRole;
use kankan_testkit::browser::Browser;
use serde_json::json;

use super::admin::staff_token_as;
use super::browser::{log_in_watching_csp, open_app, save_screenshot, tid, wait_for_hash};
use super::devices::PW;
use super::live_on_demand::run_rotated;
use super::support_tickets::{fetch_logs, logging_camera};

/// Sets the input, textarea or select `css` to `value` as a user would.
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

// Fails without the support pages, the logs request and preview, or the ticket's attachment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_reads_the_cameras_logs_before_attaching_them_to_a_new_ticket() -> Result<()> {
    let app = kankan_testkit::TestApp::spawn().await;
    let (stop, signal) = Shutdown::new();
    let email = "helpme@example.com";
    let token = app.register(email, PW).await;
    let (creds, _dir, device) = logging_camera(&app, &token).await;
    run_rotated(device, signal.clone()).await;

    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.goto(&app.url("/#/me")).await?;
    browser.click(&tid("me-support-link")).await?;
    wait_for_hash(&browser, "#/support").await?;
    browser.click(&tid("support-new-link")).await?;
    wait_for_hash(&browser, "#/support/new").await?;
    set_value(&browser, &tid("ticket-category"), "camera").await?;
    browser.fill(&tid("ticket-subject"), "The night picture is black").await?;
    browser.fill(&tid("ticket-body"), "Since the update the night picture stays black.").await?;
    browser
        .wait_until(
            "the camera to be listed",
            "return [...document.querySelectorAll('[data-testid=ticket-camera] option')].some((o) => o.value === arguments[0]);",
            &[json!(creds.uid)],
        )
        .await?;
    set_value(&browser, &tid("ticket-camera"), &creds.uid).await?;
    browser.click(&tid("ticket-attach-logs")).await?;
    let text = browser.wait_for_text(&tid("ticket-logs-text"), "connected to").await?;
    assert!(!text.contains(&creds.secret), "no secret in the preview");
    save_screenshot(&browser, "support-logs-preview").await?;
    // Removed and attached again: the user decides.
    browser.click(&tid("ticket-remove-logs")).await?;
    browser.wait_gone(&tid("ticket-logs-text")).await?;
    browser.click(&tid("ticket-attach-logs")).await?;
    browser.wait_for_text(&tid("ticket-logs-text"), "connected to").await?;
    browser.click(&tid("ticket-send")).await?;
    browser.wait_for_text(&tid("ticket-subject"), "The night picture is black").await?;
    browser.wait_for_text(&tid("ticket-attachments"), "the camera's logs").await?;
    save_screenshot(&browser, "support-ticket-sent").await?;
    browser.close().await?;
    stop.trigger();
    Ok(())
}

// Fails without the console's ticket pages, the assignee's logs view, the staff reply or the
// user's thread showing it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_take_a_ticket_read_its_logs_and_reply_and_the_user_sees_it() -> Result<()> {
    let app = kankan_testkit::TestApp::spawn().await;
    let (stop, signal) = Shutdown::new();
    let email = "helped@example.com";
    let token = app.register(email, PW).await;
    let (creds, _dir, device) = logging_camera(&app, &token).await;
    run_rotated(device, signal.clone()).await;
    let logs = fetch_logs(&app, &token, &creds.uid).await;
    let new = json!({"category": "camera", "subject": "The night picture is black",
        "body": "It stays black.", "device_uid": creds.uid, "logs_request": logs["id"]});
    let req = app.http.post(app.url("/api/v1/support/tickets")).bearer_auth(&token).json(&new);
    let (s, t) = app.send(req).await;
    assert_eq!(s, 201, "{t}");
    let id = t["id"].as_str().expect("id").to_string();

    // Staff: the console's queue, Take, the logs, a reply.
    let staff = staff_token_as(&app, "helper", StaffRole::Support).await;
    let console = open_app(&app).await?;
    console
        .execute("sessionStorage.setItem('kankan_staff_token', arguments[0]);", &[json!(staff)])
        .await?;
    console.goto(&app.url("/#/console/tickets")).await?;
    console.wait_for_text(&tid("ticket-queue-link"), "The night picture is black").await?;
    console.click(&tid("ticket-take")).await?;
    wait_for_hash(&console, &format!("#/console/tickets/{id}")).await?;
    console.wait_for_text(&tid("console-ticket-state"), "assigned to").await?;
    console.click(&tid("console-ticket-view-logs")).await?;
    console.wait_for_text(&tid("console-ticket-logs-text"), "connected to").await?;
    console.fill(&tid("console-ticket-reply"), "Please turn the infrared light on.").await?;
    console.click(&tid("console-ticket-send")).await?;
    console
        .wait_for_text(&format!("{} [data-author=staff]", tid("console-ticket-thread")), "infrared")
        .await?;
    save_screenshot(&console, "console-ticket-replied").await?;
    console.close().await?;

    // The user sees the reply, marked new.
    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.goto(&app.url("/#/support")).await?;
    browser.wait_for_text(&tid("ticket-unread"), "1 new").await?;
    browser.click(&tid("ticket-row")).await?;
    browser.wait_for_text("[data-testid=ticket-message][data-author=staff]", "infrared").await?;
    browser.find(&tid("ticket-message-new")).await?;
    save_screenshot(&browser, "support-ticket-reply").await?;
    browser.close().await?;
    stop.trigger();
    Ok(())
}
