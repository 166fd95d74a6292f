//! Orders in the browser: a real headless Chromium goes Me → Orders, redeems a code for the
//! user's camera with "Redeem a code" and sees the paid order in the list; then pays a
//! checkout on the Stripe stand-in's hosted page (its Pay button sends the signed webhook and
//! returns the buyer), lands on the order's page and sees it paid, with its receipt link.
//!
//! Every step waits for an element or a value; nothing sleeps a fixed time.

use anyhow::{Result, ensure};
use serde_json::json;

use super::browser::{log_in_watching_csp, open_app, save_screenshot, wait_for_hash};
use crate::admin::staff_token;
use crate::billing::shop;
use crate::notify::call;

fn tid(id: &str) -> String {
    format!("[data-testid={id}]")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_redeems_a_code_and_pays_on_the_providers_page_and_sees_both_orders() -> Result<()> {
    let shop = shop().await;
    let staff = staff_token(&shop.app).await;
    let body = json!({"kind": "plan", "sku": "events-30d-month", "title": "Events, 30 days, monthly",
        "currency": "USD", "max_uses": 1});
    let (s, code) =
        call(&shop.app, "POST", "/api/v1/admin/billing/codes", &staff, Some(body)).await;
    ensure!(s == 201, "{code}");
    let code = code["code"].as_str().unwrap_or_default().to_string();

    let browser = open_app(&shop.app).await?;
    log_in_watching_csp(&browser, "buyer@example.com").await?;
    browser.click(&tid("nav-me")).await?;
    wait_for_hash(&browser, "#/me").await?;
    browser.click(&tid("me-orders-link")).await?;
    wait_for_hash(&browser, "#/orders").await?;
    browser.find(&tid("orders-empty")).await?;
    browser.fill(&tid("redeem-code"), &code).await?;
    let uid = shop.owner.uid.clone();
    browser
        .wait_until("the camera to be listed", "return [...document.querySelectorAll('[data-testid=redeem-camera] option')].some((o) => o.value === arguments[0]);", &[json!(uid)])
        .await?;
    browser.execute("const s = document.querySelector('[data-testid=redeem-camera]'); s.value = arguments[0];", &[json!(uid)]).await?;
    browser.click(&tid("redeem-submit")).await?;
    browser.wait_for_text(&tid("toast"), "Redeemed").await?;
    browser.wait_for_text(&tid("order-title"), "Events, 30 days, monthly").await?;
    browser.wait_for_text(&tid("order-status"), "Paid").await?;
    ensure!(shop.fulfilled.paid().len() == 1, "the code's order was fulfilled");
    let violations = browser.execute("return window.cspViolations;", &[]).await?;
    ensure!(violations == json!([]), "CSP violations: {violations}");

    // A checkout (kankan-plans starts it), paid on the provider's hosted page.
    let c = shop.checkout(1999, None).await?;
    browser.goto(&c.redirect_url).await?;
    browser.wait_for_text("#amount", "1999 USD").await?;
    browser.click("#pay").await?;
    wait_for_hash(&browser, &format!("#/orders/{}?result=success", c.order_id)).await?;
    browser.wait_for_text(&tid("order-status"), "Paid").await?;
    browser.wait_for_text(&tid("order-amount"), "19.99 USD").await?;
    browser.find(&tid("order-receipt")).await?;
    save_screenshot(&browser, "order-paid.png").await?;
    ensure!(shop.fulfilled.paid().contains(&c.order_id), "the paid order was fulfilled");
    browser.close().await?;
    Ok(())
}
