//! Outbound targets and dead letters over the real ports: with the guard on (the default), a
//! webhook or push endpoint on a private address is refused when registered; the account's
//! delivery records list its dead letters, to its owner only.

use kankan_testkit::TestApp;
use kankan_testkit::push::UserAgentKeys;
use kankan_testkit::webhook::WebhookSink;
use serde_json::{Value, json};

use crate::devices::PW;
use crate::notify::{call, deliveries_until, event, has, motion, owner};

fn now_ms(app: &TestApp) -> i64 {
    kankan_base::Clock::now(&app.clock).0
}

#[tokio::test]
async fn targets_on_private_addresses_are_refused_when_the_guard_is_on() {
    let app = TestApp::spawn_with(|c| c.notify.allow_private_targets = false).await;
    let sink = WebhookSink::start().await;
    let token = app.register("guard@example.com", PW).await;
    for url in
        [sink.url(), "http://localhost:8123/api/webhook/x".into(), "http://10.0.0.7/h".into()]
    {
        let (s, b) =
            call(&app, "POST", "/api/v1/me/webhooks", &token, Some(json!({"url": url}))).await;
        assert_eq!((s, b["code"].as_str()), (422, Some("invalid-webhook-url")), "{url}: {b}");
        let message = b["message"].as_str().expect("message");
        assert!(message.contains("points at a private address"), "{message}");
    }
    assert_eq!(call(&app, "GET", "/api/v1/me/webhooks", &token, None).await.1, json!([]));

    let keys = UserAgentKeys::generate();
    for endpoint in ["http://127.0.0.1:9/push/phone", "https://127.0.0.1:9/push/phone"] {
        let body = keys.subscription_json(endpoint);
        let (s, b) = call(&app, "POST", "/api/v1/me/push-subscriptions", &token, Some(body)).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (422, Some("invalid-push-subscription")),
            "{endpoint}: {b}"
        );
    }
    let body = keys.subscription_json("https://[::ffff:192.168.1.1]/push/phone");
    let (s, b) = call(&app, "POST", "/api/v1/me/push-subscriptions", &token, Some(body)).await;
    assert_eq!(s, 422, "{b}");
    assert!(b["message"].as_str().expect("message").contains("points at a private address"));
    assert!(sink.requests().is_empty());
}

#[tokio::test]
async fn dead_letters_list_a_refused_webhook_for_its_owner_only() {
    let app = TestApp::spawn().await;
    let sink = WebhookSink::start().await;
    let o = owner(&app, "letters@example.com").await;
    let (s, b) =
        call(&app, "POST", "/api/v1/me/webhooks", &o.token, Some(json!({"url": sink.url()}))).await;
    assert_eq!(s, 201, "{b}");
    sink.answer_next(1, 400);
    let id = event(&app, &o, motion(now_ms(&app))).await;
    deliveries_until(&app, &o.token, &id, "dead", |l| has(l, "webhook", "dead")).await;

    let (s, dead) = call(&app, "GET", "/api/v1/me/deliveries?status=dead", &o.token, None).await;
    assert_eq!(s, 200, "{dead}");
    let dead = dead.as_array().expect("list");
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["event_id"], id.as_str());
    assert_eq!((&dead[0]["channel"], &dead[0]["attempt"]), (&json!("webhook"), &json!(1)));
    assert_eq!(dead[0]["status"], "dead");
    assert!(dead[0]["detail"].as_str().expect("detail").contains("400"), "{dead:?}");
    assert!(dead[0]["at_ms"].as_i64().is_some());

    // Without a status: every record of the account, newest first (here the dead letter and
    // the push suppressed for want of a browser).
    let (s, all) = call(&app, "GET", "/api/v1/me/deliveries", &o.token, None).await;
    assert_eq!(s, 200, "{all}");
    let all = all.as_array().expect("list");
    let channels: Vec<&Value> = all.iter().map(|d| &d["channel"]).collect();
    assert!(channels.contains(&&json!("webhook")) && all.len() == 2, "{all:?}");
    let (s, b) = call(&app, "GET", "/api/v1/me/deliveries?status=lost", &o.token, None).await;
    assert_eq!((s, b["code"].as_str()), (422, Some("invalid-delivery-status")), "{b}");

    let other = app.register("nosy@example.com", PW).await;
    for path in ["/api/v1/me/deliveries?status=dead", "/api/v1/me/deliveries"] {
        let (s, b) = call(&app, "GET", path, &other, None).await;
        assert_eq!((s, b), (200, json!([])), "{path}");
    }
    let (s, _) = app.send(app.http.get(app.url("/api/v1/me/deliveries"))).await;
    assert_eq!(s, 401);
}
