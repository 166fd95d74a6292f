//! Notification channels over the real ports: signed webhooks with retries and dead letters,
//! a hanging webhook beside a push, quiet hours and snooze, and e-mail through a real SMTP
//! server (kankan-testkit's `SmtpSink`: Python's `smtpd`).

use std::time::Duration;

use kankan_notify::EmailChannelConfig;
use kankan_testkit::TestApp;
use kankan_testkit::push::PushService;
use kankan_testkit::smtp::SmtpSink;
use kankan_testkit::webhook::WebhookSink;
use serde_json::{Value, json};

use crate::devices::{PW, bind, provision};
use crate::notify::{Owner, WAIT, call, deliveries_until, event, has, motion, owner, subscribe};

fn now_ms(app: &TestApp) -> i64 {
    kankan_base::Clock::now(&app.clock).0
}

async fn add_webhook(app: &TestApp, token: &str, url: &str) -> String {
    let (s, b) = call(app, "POST", "/api/v1/me/webhooks", token, Some(json!({"url": url}))).await;
    assert_eq!(s, 201, "{b}");
    b["secret"].as_str().expect("secret shown once").to_string()
}

#[tokio::test]
async fn a_webhook_gets_every_event_as_a_signed_body_that_verifies() {
    let app = TestApp::spawn().await;
    let sink = WebhookSink::start().await;
    let o = owner(&app, "hook@example.com").await;
    let secret = add_webhook(&app, &o.token, &sink.url()).await;
    let (_, list) = call(&app, "GET", "/api/v1/me/webhooks", &o.token, None).await;
    assert_eq!(list[0]["url"], sink.url().as_str());
    assert!(list[0].get("secret").is_none(), "the secret is shown only once: {list}");
    // Method none: the person is not told, the webhook still is.
    let prefs = json!({"method": "none", "quiet_hours": null, "time_zone": "UTC"});
    assert_eq!(
        call(&app, "PUT", "/api/v1/me/notification-settings", &o.token, Some(prefs)).await.0,
        200
    );

    let t = now_ms(&app);
    let id = event(&app, &o, motion(t)).await;
    let got = sink.wait_for(1, WAIT).await;
    assert!(got[0].signature_valid(secret.as_bytes()), "{:?}", got[0].header("kankan-signature"));
    assert!(!got[0].signature_valid(b"another secret"));
    let body = got[0].json();
    assert_eq!(
        (body["event_id"].as_str(), body["kind"].as_str()),
        (Some(id.as_str()), Some("motion"))
    );
    assert_eq!(body["at_ms"], t);
    let list = deliveries_until(&app, &o.token, &id, "sent", |l| has(l, "webhook", "sent")).await;
    assert_eq!(list.len(), 1, "nothing else was sent: {list:?}");
    crate::notify::assert_nowhere_in_clear(&app, &[&secret, &sink.url()]).await;
}

#[tokio::test]
async fn a_failing_webhook_is_retried_with_backoff_until_it_succeeds() {
    let app = TestApp::spawn().await;
    let sink = WebhookSink::start().await;
    let o = owner(&app, "retry@example.com").await;
    let secret = add_webhook(&app, &o.token, &sink.url()).await;
    sink.fail_next(2);
    let id = event(&app, &o, motion(now_ms(&app))).await;
    let retries =
        |n: usize| move |l: &[Value]| l.iter().filter(|d| d["status"] == "retry").count() >= n;
    deliveries_until(&app, &o.token, &id, "first retry", retries(1)).await;
    // The next attempt is due after the backoff on the server's (simulated) clock.
    app.clock.advance(Duration::from_secs(3));
    deliveries_until(&app, &o.token, &id, "second retry", retries(2)).await;
    app.clock.advance(Duration::from_secs(5));
    let list = deliveries_until(&app, &o.token, &id, "sent", |l| has(l, "webhook", "sent")).await;
    let attempts: Vec<_> = list
        .iter()
        .filter(|d| d["channel"] == "webhook")
        .map(|d| (d["attempt"].as_i64(), d["status"].as_str()))
        .collect();
    assert_eq!(
        attempts,
        [(Some(1), Some("retry")), (Some(2), Some("retry")), (Some(3), Some("sent"))]
    );
    let got = sink.requests();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| r.signature_valid(secret.as_bytes())));
}

#[tokio::test]
async fn a_webhook_that_refuses_becomes_a_dead_letter_at_once() {
    let app = TestApp::spawn().await;
    let sink = WebhookSink::start().await;
    let o = owner(&app, "dead@example.com").await;
    add_webhook(&app, &o.token, &sink.url()).await;
    sink.answer_next(1, 400);
    let id = event(&app, &o, motion(now_ms(&app))).await;
    let list = deliveries_until(&app, &o.token, &id, "dead", |l| has(l, "webhook", "dead")).await;
    let hooks: Vec<_> = list.iter().filter(|d| d["channel"] == "webhook").collect();
    assert_eq!((hooks.len(), &hooks[0]["attempt"]), (1, &json!(1)), "no retry: {list:?}");
    assert_eq!(sink.requests().len(), 1);
}

#[tokio::test]
async fn a_hanging_webhook_does_not_delay_the_push() {
    let app = TestApp::spawn().await;
    let sink = WebhookSink::start().await;
    let push = PushService::start().await;
    let o = owner(&app, "hang@example.com").await;
    add_webhook(&app, &o.token, &sink.url()).await;
    subscribe(&app, &o.token, &push, "phone").await;
    sink.hang(true);
    let id = event(&app, &o, motion(now_ms(&app))).await;
    // The webhook hangs for its whole 10 s timeout; the push arrives well before that.
    push.wait_for("phone", 1, Duration::from_secs(5)).await;
    let list = deliveries_until(&app, &o.token, &id, "push sent", |l| has(l, "push", "sent")).await;
    assert!(
        !list.iter().any(|d| d["channel"] == "webhook"),
        "the webhook is still in flight: {list:?}"
    );
    assert_eq!(sink.requests().first().map(|r| r.answered), Some(None), "it hung");
}

#[tokio::test]
async fn quiet_hours_and_snooze_suppress_with_a_record_but_tamper_goes_through() {
    let app = TestApp::spawn().await;
    let push = PushService::start().await;
    let o = owner(&app, "quiet@example.com").await;
    subscribe(&app, &o.token, &push, "phone").await;
    // Quiet hours around the server's now, in UTC.
    let minute = (now_ms(&app) / 60_000) % 1440;
    let hhmm = |m: i64| format!("{:02}:{:02}", m.rem_euclid(1440) / 60, m.rem_euclid(1440) % 60);
    let prefs = json!({"method": "push", "quiet_hours": {"start": hhmm(minute - 60), "end": hhmm(minute + 60)},
        "time_zone": "UTC"});
    assert_eq!(
        call(&app, "PUT", "/api/v1/me/notification-settings", &o.token, Some(prefs)).await.0,
        200
    );
    let t = now_ms(&app);
    let quiet = event(&app, &o, motion(t)).await;
    let list =
        deliveries_until(&app, &o.token, &quiet, "suppressed", |l| has(l, "push", "suppressed"))
            .await;
    assert!(list[0]["detail"].as_str().expect("detail").contains("quiet hours"), "{list:?}");
    let tamper = event(&app, &o, json!({"type": "tamper", "at_ms": t + 1000})).await;
    deliveries_until(&app, &o.token, &tamper, "tamper sent", |l| has(l, "push", "sent")).await;

    let prefs = json!({"method": "push", "quiet_hours": null, "time_zone": "UTC"});
    assert_eq!(
        call(&app, "PUT", "/api/v1/me/notification-settings", &o.token, Some(prefs)).await.0,
        200
    );
    let snooze = format!("/api/v1/devices/{}/snooze", o.uid);
    let (s, b) = call(&app, "POST", &snooze, &o.token, Some(json!({"minutes": 30}))).await;
    assert_eq!((s, b["snoozed_until_ms"].as_i64()), (200, Some(now_ms(&app) + 30 * 60_000)));
    let snoozed = event(&app, &o, motion(t + 2000)).await;
    let list =
        deliveries_until(&app, &o.token, &snoozed, "snoozed", |l| has(l, "push", "suppressed"))
            .await;
    assert!(list[0]["detail"].as_str().expect("detail").contains("snoozed"), "{list:?}");
    assert_eq!(call(&app, "DELETE", &snooze, &o.token, None).await.0, 204);
    let awake = event(&app, &o, motion(t + 3000)).await;
    deliveries_until(&app, &o.token, &awake, "sent again", |l| has(l, "push", "sent")).await;
    assert_eq!(push.received("phone").len(), 2, "the tamper alarm and the last motion");

    // A kind turned off for the device is suppressed too.
    let dev = format!("/api/v1/devices/{}/notifications", o.uid);
    let off = json!({"kinds": ["tamper"], "snoozed_until_ms": null});
    assert_eq!(call(&app, "PUT", &dev, &o.token, Some(off)).await.0, 200);
    let muted = event(&app, &o, motion(t + 4000)).await;
    deliveries_until(&app, &o.token, &muted, "kind off", |l| has(l, "push", "suppressed")).await;
}

#[tokio::test]
async fn the_email_method_sends_the_event_through_smtp() {
    let smtp = SmtpSink::start();
    let config = smtp.config();
    let app = TestApp::spawn_with(|c| c.messenger.email = EmailChannelConfig::Smtp(config)).await;
    // Registering: the code arrives by e-mail too.
    let who = "mail@example.com";
    let (s, b) = app
        .post(
            "/api/v1/auth/register",
            json!({"identifier": who, "password": PW, "accept_policy": "1"}),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    let mail = smtp.wait_for(1, WAIT).await;
    let text = mail[0]["body"].as_str().expect("body");
    let code: String = text.split("Your code is ").nth(1).expect("code").chars().take(6).collect();
    let (s, b) =
        app.post("/api/v1/auth/register/verify", json!({"identifier": who, "code": code})).await;
    assert_eq!(s, 200, "{b}");
    let token = b["token"].as_str().expect("token").to_string();
    let creds = provision(&app, "KK-C1").await;
    let dev = bind(&app, &token, &creds).await;
    let o = Owner { token, uid: creds.uid, dev };
    let prefs = json!({"method": "email", "quiet_hours": null, "time_zone": "UTC"});
    assert_eq!(
        call(&app, "PUT", "/api/v1/me/notification-settings", &o.token, Some(prefs)).await.0,
        200
    );

    let id = event(&app, &o, motion(now_ms(&app))).await;
    let mail = smtp.wait_for(2, WAIT).await;
    assert_eq!(mail[1]["rcpttos"], json!([who]));
    assert_eq!(mail[1]["subject"], format!("Motion at {}", o.uid));
    deliveries_until(&app, &o.token, &id, "e-mail sent", |l| has(l, "email", "sent")).await;
}
