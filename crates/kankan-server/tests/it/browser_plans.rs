//! The cloud-storage page in a real headless Chromium: a camera with a paid 30-day plan shows
//! it with what its footage follows now, the catalogue with a Renew button on its own plan,
//! its SIM masked with the data used; buying on a server without a payment provider says so
//! in the page. With the Stripe stand-in: Buy leads to its checkout page, Pay there comes back
//! to the order, and the camera's page shows the plan and its retention.

use anyhow::Result;
use kankan_billing::{Fulfilment, ProductKind, Target};
use kankan_plans::Kind;
use kankan_protocol::device::Settings;
use kankan_testkit::{TestApp, state_report};
use serde_json::json;

use super::authz_routes::account_id;
use super::browser::{log_in_watching_csp, open_app, tid};
use super::devices::{PW, bind, eventually, provision};
use super::plans::{catalogue, paid_order};
use kankan_testkit::stripe::FakeStripe;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_page_shows_the_cameras_plan_its_sim_and_the_catalogue() -> Result<()> {
    let app = TestApp::spawn_with(|c| c.plans = catalogue(Kind::Continuous, Some(7))).await;
    let email = "plan-page@example.com";
    let token = app.register(email, PW).await;
    let creds = provision(&app, "KK-C1").await;
    let dev = bind(&app, &token, &creds).await;
    let mut r = state_report(1, json!(Settings::default()), 0);
    r["sim"] = json!({"iccid": "89860012345678904321", "status": "active", "used_kb": 3072});
    dev.publish_json("state", &r).await?;
    eventually(&app, &token, &creds.uid, "the SIM", |d| !d["reported"]["sim"].is_null()).await;
    let account = account_id(&app, &token).await;
    let order =
        paid_order(account, ProductKind::Plan, "cont-30d-month", Target::Device(creds.uid.clone()));
    app.running().services.plans.paid(&order).await?;

    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.goto(&app.url(&format!("/#/devices/{}", creds.uid))).await?;
    browser.click(&tid("device-plan")).await?;
    browser.wait_for_text(&tid("plan-current"), "cont-30d-month title").await?;
    browser.wait_for_text(&tid("plan-effective"), "Continuous recording, 30 days kept").await?;
    browser.wait_for_text(&tid("plan-buy-cont-30d-month"), "Renew").await?;
    browser.wait_for_text(&tid("sim-iccid"), "****************4321").await?;
    browser.wait_for_text(&tid("sim-usage"), "Used 3 MB").await?;
    browser.click(&tid("plan-buy-cont-3d-month")).await?;
    browser.wait_for_text(&tid("plan-alert-text"), "payment provider").await?;
    let blocked = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "the page breaks no CSP rule");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_bought_on_the_stand_ins_checkout_page_shows_on_the_camera() -> Result<()> {
    let stripe = FakeStripe::start().await;
    let cfg = stripe.config();
    let app = TestApp::spawn_with(|c| {
        c.billing.stripe = Some(cfg);
        c.plans = catalogue(Kind::Continuous, Some(7));
    })
    .await;
    stripe.send_to(
        &app.url("/api/v1/billing/webhooks/stripe"),
        std::sync::Arc::new(app.clock.clone()),
    );
    let email = "plan-buyer@example.com";
    let token = app.register(email, PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _dev = bind(&app, &token, &creds).await;

    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.goto(&app.url(&format!("/#/devices/{}/plan", creds.uid))).await?;
    browser.wait_for_text(&tid("plan-current"), "Free tier").await?;
    browser.wait_for_text(&tid("plan-effective"), "7 days kept").await?;
    browser.click(&tid("plan-buy-cont-30d-month")).await?;
    // The provider's own page: the order is paid there.
    browser.click("#pay").await?;
    browser.wait_for_url("#/orders/").await?;
    browser.goto(&app.url(&format!("/#/devices/{}/plan", creds.uid))).await?;
    browser.wait_for_text(&tid("plan-current"), "cont-30d-month title").await?;
    browser.wait_for_text(&tid("plan-effective"), "Continuous recording, 30 days kept").await?;
    browser.wait_for_text(&tid("plan-ends"), "Until").await?;
    assert_eq!(stripe.deliveries().len(), 1, "one signed webhook");
    Ok(())
}
