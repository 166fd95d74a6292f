//! The phone methods over the real ports: `sms` sends the event as a text message and `call`
//! places a voice call reading it out, both through a local stand-in for Twilio's API (the
//! account's verification code arrives the same way).

use kankan_notify::SmsChannelConfig;
use kankan_testkit::TestApp;
use kankan_testkit::twilio::{FROM, FakeTwilio};
use serde_json::json;

use crate::devices::{PW, bind, provision};
use crate::notify::{Owner, WAIT, call, deliveries_until, event, has, motion};

const PHONE: &str = "+8613800138000";

async fn app_with(twilio: &FakeTwilio) -> TestApp {
    let config = twilio.config();
    TestApp::spawn_with(|c| c.messenger.sms = SmsChannelConfig::Twilio(config)).await
}

/// Registers `PHONE` (the code comes by SMS), binds a camera and sets the method.
async fn phone_owner(app: &TestApp, twilio: &FakeTwilio, method: &str) -> Owner {
    let (s, b) = app
        .post(
            "/api/v1/auth/register",
            json!({"identifier": PHONE, "password": PW, "accept_policy": "1"}),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    let sms = twilio.wait_for("Messages", 1, WAIT).await;
    assert_eq!(sms[0].field("To"), Some(PHONE));
    let text = sms[0].field("Body").expect("body");
    let code: String = text.split("Your code is ").nth(1).expect("code").chars().take(6).collect();
    let (s, b) =
        app.post("/api/v1/auth/register/verify", json!({"identifier": PHONE, "code": code})).await;
    assert_eq!(s, 200, "{b}");
    let token = b["token"].as_str().expect("token").to_string();
    let creds = provision(app, "KK-C1").await;
    let dev = bind(app, &token, &creds).await;
    let prefs = json!({"method": method, "quiet_hours": null, "time_zone": "UTC"});
    let (s, b) = call(app, "PUT", "/api/v1/me/notification-settings", &token, Some(prefs)).await;
    assert_eq!(s, 200, "{b}");
    Owner { token, uid: creds.uid, dev }
}

fn now_ms(app: &TestApp) -> i64 {
    kankan_base::Clock::now(&app.clock).0
}

#[tokio::test]
async fn the_sms_method_texts_the_event_through_twilio() {
    let twilio = FakeTwilio::start().await;
    let app = app_with(&twilio).await;
    let o = phone_owner(&app, &twilio, "sms").await;
    let id = event(&app, &o, motion(now_ms(&app))).await;
    let sms = twilio.wait_for("Messages", 2, WAIT).await;
    assert_eq!((sms[1].field("To"), sms[1].field("From")), (Some(PHONE), Some(FROM)));
    let body = sms[1].field("Body").expect("body");
    assert!(body.starts_with(&format!("Motion at {}: Motion was detected at ", o.uid)), "{body}");
    let list = deliveries_until(&app, &o.token, &id, "sms sent", |l| has(l, "sms", "sent")).await;
    assert_eq!(list.len(), 1, "only the text: {list:?}");
    assert!(twilio.of("Calls").is_empty());
}

#[tokio::test]
async fn the_call_method_places_a_voice_call_that_reads_the_event() {
    let twilio = FakeTwilio::start().await;
    let app = app_with(&twilio).await;
    let o = phone_owner(&app, &twilio, "call").await;
    let id = event(&app, &o, json!({"type": "tamper", "at_ms": now_ms(&app)})).await;
    let calls = twilio.wait_for("Calls", 1, WAIT).await;
    assert_eq!((calls[0].field("To"), calls[0].field("From")), (Some(PHONE), Some(FROM)));
    let twiml = calls[0].field("Twiml").expect("Twiml");
    assert!(twiml.starts_with("<Response><Say>"), "{twiml}");
    assert!(twiml.contains(&format!("Tamper alarm at {}", o.uid)), "{twiml}");
    assert!(twiml.ends_with("</Say></Response>"), "{twiml}");
    deliveries_until(&app, &o.token, &id, "call sent", |l| has(l, "call", "sent")).await;
    assert_eq!(twilio.of("Messages").len(), 1, "only the verification code was texted");
}

#[tokio::test]
async fn sms_notifications_stop_at_the_daily_cap_and_the_user_sees_why() {
    // fails without the fix: every event texted the account, at the operator's expense.
    let twilio = FakeTwilio::start().await;
    let config = twilio.config();
    let app = TestApp::spawn_with(|c| {
        c.messenger.sms = SmsChannelConfig::Twilio(config);
        c.notify.sms_per_day = 2;
    })
    .await;
    let o = phone_owner(&app, &twilio, "sms").await;
    let start = now_ms(&app) - 20_000;
    for i in 0..2 {
        let id = event(&app, &o, motion(start + i * 1_000)).await;
        deliveries_until(&app, &o.token, &id, "sms sent", |l| has(l, "sms", "sent")).await;
    }
    let id = event(&app, &o, motion(start + 2_000)).await;
    let list =
        deliveries_until(&app, &o.token, &id, "capped", |l| has(l, "sms", "suppressed")).await;
    let detail = list[0]["detail"].as_str().unwrap_or_default();
    assert!(detail.starts_with("daily limit reached: at most 2 SMS"), "{list:?}");
    assert_eq!(twilio.of("Messages").len(), 3, "the code and two notifications");

    // A day later the account is texted again.
    app.clock.advance(std::time::Duration::from_secs(86_401));
    let id = event(&app, &o, motion(now_ms(&app))).await;
    deliveries_until(&app, &o.token, &id, "sms sent", |l| has(l, "sms", "sent")).await;
}

#[tokio::test]
async fn texted_codes_stop_at_the_daily_caps_per_number_and_per_network() {
    // fails without the fix: a number could be texted 5 codes an hour without end, and a
    // network any number of them.
    let app = TestApp::spawn_with(|c| {
        c.limits.sms_codes_per_identifier_day = 2;
        c.limits.sms_codes_per_network_day = 3;
    })
    .await;
    let register = |who: &'static str| {
        let app = &app;
        async move {
            let body = json!({"identifier": who, "password": PW, "accept_policy": "1"});
            let (s, b) = app.post("/api/v1/auth/register", body).await;
            (s, b["code"].as_str().unwrap_or_default().to_string())
        }
    };
    let step = std::time::Duration::from_secs(u64::from(app.config.accounts.code_resend_secs) + 1);
    assert_eq!(register(PHONE).await.0, 202);
    app.clock.advance(step);
    assert_eq!(register(PHONE).await.0, 202);
    app.clock.advance(step);
    assert_eq!(register(PHONE).await, (429, "sms-daily-limit".into()), "a third code today");
    assert_eq!(register("+8613800138001").await.0, 202, "another number, same network");
    assert_eq!(register("+8613800138002").await, (429, "sms-daily-limit".into()), "network");
    assert_eq!(register("fair@example.com").await.0, 202, "e-mail codes are not texted");
    app.clock.advance(std::time::Duration::from_secs(86_400));
    assert_eq!(register(PHONE).await.0, 202, "a day later");
}
