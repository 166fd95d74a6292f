//! The help center in a real headless Chromium: a signed-out visitor searches (results as one
//! types) and opens an article, whose Markdown is shown as text (HTML in it is not run); a
//! support agent edits an article in the console with its live preview, and a signed-in user
//! then reads the new text.

use anyhow::Result;
use kankan_core::staff::StaffRole;
use kankan_testkit::TestApp;
use serde_json::json;

use super::admin::staff_token_as;
use super::browser::{log_in_watching_csp, open_app, tid};
use super::devices::PW;
use super::help::{article, create};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_out_visitor_searches_the_help_center_and_opens_an_article() -> Result<()> {
    let app = TestApp::spawn().await;
    let staff = staff_token_as(&app, "writer", StaffRole::Support).await;
    let html =
        "<img src=x onerror=\"window.pwned=1\"> <script>window.pwned=2</script> **Bold** words.";
    let (s, b) = create(&app, &staff, article("html-shown", "Markup test", html, true)).await;
    assert_eq!(s, 201, "{b}");

    let browser = open_app(&app).await?;
    // Signed out, the login page leads to the help center.
    browser.goto(&app.url("/#/login")).await?;
    browser.click(&tid("login-help-link")).await?;
    browser.find(&tid("page-help")).await?;
    browser.find(&tid("help-result-pairing-a-camera")).await?;
    browser.fill(&tid("help-search"), "snooz").await?;
    browser.wait_for_text(&tid("help-results"), "Notifications, snooze and webhooks").await?;
    browser.wait_gone(&tid("help-result-pairing-a-camera")).await?;
    browser.click(&tid("help-result-notifications")).await?;
    browser.wait_for_text(&tid("help-article-title"), "Notifications, snooze and webhooks").await?;
    browser.wait_for_text(&tid("help-article-body"), "Snooze a camera").await?;
    browser.find(&tid("help-article-contact")).await?;

    browser.goto(&app.url("/#/help/html-shown")).await?;
    let text = browser.wait_for_text(&tid("help-article-body"), "Bold words").await?;
    assert!(text.contains("<img src=x") && text.contains("<script>"), "shown as text: {text}");
    let found = browser
        .execute(
            "const b = document.querySelector('[data-testid=help-article-body]');
             return [b.querySelectorAll('img,script').length, b.querySelectorAll('strong').length,
                     window.pwned === undefined];",
            &[],
        )
        .await?;
    assert_eq!(found, json!([0, 1, true]), "no element from the Markdown's HTML, nothing ran");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_support_agent_edits_an_article_in_the_console_and_the_user_sees_the_change() -> Result<()>
{
    let app = TestApp::spawn().await;
    let email = "help-reader@example.com";
    app.register(email, PW).await;
    let staff = staff_token_as(&app, "agent", StaffRole::Support).await;

    let browser = open_app(&app).await?;
    browser
        .execute("sessionStorage.setItem('kankan_staff_token', arguments[0])", &[json!(staff)])
        .await?;
    browser.goto(&app.url("/#/console/help")).await?;
    browser.click(&tid("console-help-open-wifi")).await?;
    browser.fill(&tid("console-help-title"), "Wi-Fi on the new router").await?;
    browser
        .fill(&tid("console-help-body"), "## Steps\n- Press **Rejoin** on the new router.")
        .await?;
    browser.wait_for_text(&tid("console-help-preview"), "Press Rejoin on the new router").await?;
    // Saved with Enter in the title (the form's implicit submission): in the console's layout
    // chromedriver's pointer lands off the Save button's box (below it), a mouse's would not.
    browser.find(&tid("console-help-title")).await?.send_keys("\u{E007}").await?;
    browser.wait_for_text(&tid("console-help-alert"), "Saved as revision 2, published").await?;
    browser.wait_for_text(&tid("console-help-revisions"), "agent").await?;

    browser.execute("sessionStorage.removeItem('kankan_staff_token')", &[]).await?;
    browser.goto(&app.url("/#/login")).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.goto(&app.url("/#/me")).await?;
    browser.click(&tid("me-help-link")).await?;
    browser.fill(&tid("help-search"), "rejoin router").await?;
    browser.click(&tid("help-result-wifi")).await?;
    browser.wait_for_text(&tid("help-article-title"), "Wi-Fi on the new router").await?;
    browser.wait_for_text(&tid("help-article-body"), "Press Rejoin on the new router").await?;
    let blocked = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "the pages break no CSP rule");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_rates_kankan_on_the_me_page_and_staff_see_it_in_the_console() -> Result<()> {
    let app = TestApp::spawn().await;
    let email = "rate-page@example.com";
    app.register(email, PW).await;
    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    browser.goto(&app.url("/#/me")).await?;
    browser.click(&tid("rate-submit")).await?;
    browser.wait_for_text(&tid("rate-alert"), "Choose 1 to 5 stars").await?;
    browser.click(&tid("rate-star-4")).await?;
    browser.fill(&tid("rate-comment"), "Pairing was quick").await?;
    browser.click(&tid("rate-submit")).await?;
    browser.wait_for_text(&tid("rate-alert"), "Thank you").await?;
    let blocked = browser.execute("return window.cspViolations;", &[]).await?;
    assert_eq!(blocked, json!([]), "the page breaks no CSP rule");
    // Back on the page: the rating is shown as given.
    browser.refresh().await?;
    browser
        .wait_until("the fourth star pressed", "return document.querySelector('[data-testid=rate-star-4]')?.getAttribute('aria-pressed') === 'true' && document.querySelector('[data-testid=rate-star-5]').getAttribute('aria-pressed') === 'false';", &[])
        .await?;

    let staff = staff_token_as(&app, "agent", StaffRole::Support).await;
    browser
        .execute("sessionStorage.setItem('kankan_staff_token', arguments[0])", &[json!(staff)])
        .await?;
    browser.goto(&app.url("/#/console/ratings")).await?;
    browser.wait_for_text(&tid("console-ratings-average"), "4.00 of 5 from 1 rating").await?;
    browser.wait_for_text(&tid("console-ratings-comments"), "Pairing was quick").await?;
    let page = browser.text(&tid("page-console-ratings")).await?;
    assert!(!page.contains(email), "no rater named: {page}");
    Ok(())
}
