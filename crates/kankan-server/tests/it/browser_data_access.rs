//! Me → Access to my data in a real Chromium: the user gives staff support access to a
//! camera, sees staff take a link under it in the list of accesses, withdraws it with one
//! click (staff are refused from then on), and files a data-subject request that shows its
//! deadline.

use anyhow::{Result, ensure};
use kankan_testkit::TestApp;
use serde_json::json;

use crate::admin::staff_token;
use crate::authz_routes::account_id;
use crate::browser::{log_in_watching_csp, open_app, tid};
use crate::devices::{PW, bind, provision};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_gives_and_withdraws_support_access_and_sees_staff_use_it() -> Result<()> {
    let app = TestApp::spawn().await;
    let email = "privacy@example.com";
    let token = app.register(email, PW).await;
    let account = account_id(&app, &token).await.to_string();
    let creds = provision(&app, "KK-C1").await;
    let _dev = bind(&app, &token, &creds).await;
    let staff = staff_token(&app).await;
    let link_path =
        format!("/api/v1/admin/support/{account}/devices/{}/recordings/link", creds.uid);
    let staff_link = || app.http.post(app.url(&link_path)).bearer_auth(&staff);

    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.click(&tid("nav-me")).await?;
    browser.click(&tid("me-data-access-link")).await?;
    browser.wait_for_url("#/me/data-access").await?;
    browser.find(&tid("page-data-access")).await?;
    browser.wait_for_text(&tid("data-access-list"), "Nobody at the operator").await?;

    // Give support access to the camera for 2 hours.
    browser.click(&tid("support-grant-device")).await?;
    browser.fill(&tid("support-grant-hours"), "2").await?;
    browser.click(&tid("support-grant-give")).await?;
    browser.find("[data-testid=support-grant-item][data-live=true]").await?;
    let (s, b) = app.send(staff_link()).await;
    ensure!(s == 200, "staff get a link under the grant: {b}");

    // The staff's use shows, with who took it.
    // Back and in again (a hash change: the page's CSP watch stays).
    browser.click(&tid("data-access-back")).await?;
    browser.click(&tid("me-data-access-link")).await?;
    browser.find(&tid("page-data-access")).await?;
    browser.wait_for_text(&tid("data-access-item"), "support media access").await?;
    browser.wait_for_text(&tid("data-access-item"), "Staff: ops (admin)").await?;

    // Withdraw: staff are refused at once.
    browser.click(&tid("support-grant-withdraw")).await?;
    browser.find("[data-testid=support-grant-item][data-live=false]").await?;
    let (s, b) = app.send(staff_link()).await;
    ensure!(s == 404 && b["code"] == json!("device-not-found"), "withdrawn: {s} {b}");

    // A request, with its deadline.
    browser.fill(&tid("request-message"), "Which data do you hold about me?").await?;
    browser.click(&tid("request-send")).await?;
    browser.wait_for_text(&tid("request-item"), "answer due by").await?;
    let (_, mine) = app.get_authed("/api/v1/me/requests", &token).await;
    ensure!(mine["requests"][0]["kind"] == json!("access"), "{mine}");
    let violations = browser.execute("return window.cspViolations;", &[]).await?;
    ensure!(violations == json!([]), "the page breaks no CSP rule: {violations}");
    browser.close().await?;
    app.stop().await;
    Ok(())
}
