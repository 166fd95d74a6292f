//! Announcements: staff send a notice to every user; it is listed in the app, newest first,
//! and pushed to every subscribed browser.

use kankan_testkit::TestApp;
use kankan_testkit::push::PushService;
use serde_json::{Value, json};

use crate::admin::staff_token;
use crate::devices::PW;
use crate::notify::{WAIT, call, subscribe};

#[tokio::test]
async fn an_announcement_reaches_every_subscribed_browser_and_the_in_app_list() {
    let app = TestApp::spawn().await;
    let push = PushService::start().await;
    let alice = app.register("alice@example.com", PW).await;
    let bob = app.register("bob@example.com", PW).await;
    let alice_keys = subscribe(&app, &alice, &push, "alice-phone").await;
    let bob_keys = subscribe(&app, &bob, &push, "bob-laptop").await;
    let staff = staff_token(&app).await;

    // Only staff send announcements, and not empty ones.
    let body = json!({"title": "Security notice", "body": "We rotated our keys; sign in again."});
    let (s, _) =
        call(&app, "POST", "/api/v1/admin/announcements", &alice, Some(body.clone())).await;
    assert_eq!(s, 401);
    let empty = json!({"title": " ", "body": "x"});
    let (s, b) = call(&app, "POST", "/api/v1/admin/announcements", &staff, Some(empty)).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-announcement")), "{b}");
    let (s, first) = call(
        &app,
        "POST",
        "/api/v1/admin/announcements",
        &staff,
        Some(json!({"title": "Welcome", "body": "Hello."})),
    )
    .await;
    assert_eq!(s, 201, "{first}");
    let (s, sent) = call(&app, "POST", "/api/v1/admin/announcements", &staff, Some(body)).await;
    assert_eq!(s, 201, "{sent}");

    for (name, keys) in [("alice-phone", &alice_keys), ("bob-laptop", &bob_keys)] {
        let got = push.wait_for(name, 2, WAIT).await;
        let payloads: Vec<Value> = got
            .iter()
            .map(|m| serde_json::from_slice(&keys.decrypt(&m.body)).expect("JSON payload"))
            .collect();
        let notice = payloads.iter().find(|p| p["title"] == "Security notice").expect("pushed");
        assert_eq!(notice["kind"], "announcement");
        assert_eq!(notice["body"], "We rotated our keys; sign in again.");
        assert_eq!(notice["url"], "#/announcements");
    }
    let (s, list) = app.get_authed("/api/v1/announcements", &bob).await;
    assert_eq!(s, 200, "{list}");
    let titles: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|a| a["title"].as_str().expect("title"))
        .collect();
    assert_eq!(titles, ["Security notice", "Welcome"], "newest first");
    assert_eq!(list[0]["id"], sent["id"]);
}
