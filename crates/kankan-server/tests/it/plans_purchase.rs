//! A plan bought end to end through the real server and the Stripe stand-in (Stripe's API and
//! signed webhooks): the owner's checkout is priced from the catalogue, paid on the stand-in,
//! its webhook makes the order paid, the fulfilment grants the plan, and the camera's
//! retention follows it (a 3-day camera loses 4-day-old footage a free-tier camera keeps);
//! the same plan bought again renews it from its end; a staff refund ends it.

use std::sync::Arc;
use std::time::Duration;

use kankan_base::{Clock as _, Timestamp};
use kankan_plans::Kind;
use kankan_testkit::TestApp;
use kankan_testkit::stripe::FakeStripe;
use serde_json::{Value, json};

use crate::admin::staff_token;
use crate::devices::{PW, bind, provision};
use crate::notify::call;
use crate::plans::catalogue;
use crate::recording_input::{stream, upload};

const DAY: Duration = Duration::from_secs(86_400);

async fn checkout(app: &TestApp, token: &str, uid: &str, sku: &str) -> (u16, Value) {
    let req = app.http.post(app.url(&format!("/api/v1/devices/{uid}/plan/checkout")));
    app.send(req.bearer_auth(token).json(&json!({"sku": sku, "provider": "stripe"}))).await
}

async fn plan_of(app: &TestApp, token: &str, uid: &str) -> Value {
    let (s, b) = app.get_authed(&format!("/api/v1/devices/{uid}/plan"), token).await;
    assert_eq!(s, 200, "{b}");
    b
}

async fn segments(app: &TestApp, uid: &str) -> usize {
    let store = &app.running().services.store;
    store.segments(uid, 0, Timestamp(0), Timestamp(i64::MAX / 2), 10_000).await.expect("q").len()
}

#[tokio::test]
async fn a_plan_paid_through_stripe_changes_the_cameras_retention() {
    let stripe = FakeStripe::start().await;
    let cfg = stripe.config();
    let app = TestApp::spawn_with(|c| {
        c.billing.stripe = Some(cfg);
        c.plans = catalogue(Kind::Continuous, Some(7));
        c.recording.segment_secs = 2;
        c.recording.max_clock_skew_secs = 3600;
        c.accounts.session_ttl_days = 3650;
        c.accounts.session_idle_days = 3650;
    })
    .await;
    stripe.send_to(&app.url("/api/v1/billing/webhooks/stripe"), Arc::new(app.clock.clone()));
    let token = app.register("stripe-plan@example.com", PW).await;
    let (bought, free) = (provision(&app, "KK-C1").await, provision(&app, "KK-C1").await);
    let _d1 = bind(&app, &token, &bought).await;
    let _d2 = bind(&app, &token, &free).await;
    let now = app.clock.now().0;
    for c in [&bought, &free] {
        let (s, b) = upload(&app, c, "backfill", now - 12_000, stream(10, 1000)).await;
        assert_eq!(s, 200, "{b}");
    }

    let (s, c) = checkout(&app, &token, &bought.uid, "cont-3d-month").await;
    assert_eq!(s, 200, "{c}");
    let url = c["redirect_url"].as_str().expect("url");
    assert!(url.starts_with(&stripe.base), "the stand-in's page: {url}");
    let session = stripe.session(url.rsplit('/').next().expect("id")).expect("session");
    assert_eq!(
        (session.amount_total, session.currency.as_str()),
        (199, "eur"),
        "priced from the catalogue"
    );
    // Nothing is granted before the payment.
    assert!(plan_of(&app, &token, &bought.uid).await["current"].is_null());

    stripe.pay(&session.id).await;
    let p = plan_of(&app, &token, &bought.uid).await;
    assert_eq!(p["current"]["sku"], "cont-3d-month", "{p}");
    assert_eq!(p["current"]["order_id"], c["order_id"]);
    assert_eq!(p["effective"]["retention_days"], 3);
    let end = p["ends_at_ms"].as_i64().expect("end");

    app.clock.advance(4 * DAY);
    app.running().services.recordings.sweep().await.expect("sweep");
    assert_eq!(segments(&app, &bought.uid).await, 0, "a 3-day plan drops 4-day-old footage");
    assert!(segments(&app, &free.uid).await > 0, "the free tier's 7 days keep it");

    // Buying it again renews it from its end.
    let (s, again) = checkout(&app, &token, &bought.uid, "cont-3d-month").await;
    assert_eq!(s, 200, "{again}");
    let url = again["redirect_url"].as_str().expect("url");
    stripe.pay(url.rsplit('/').next().expect("id")).await;
    let p = plan_of(&app, &token, &bought.uid).await;
    assert_eq!(p["ends_at_ms"].as_i64(), Some(end + 30 * 86_400_000), "{p}");

    // Staff refund the first order: its period ends, the renewal never starts in its place
    // before its own time.
    let staff = staff_token(&app).await;
    let id = c["order_id"].as_str().expect("id");
    let refund = format!("/api/v1/admin/billing/orders/{id}/refund");
    let (s, b) = call(&app, "POST", &refund, &staff, None).await;
    assert_eq!(s, 200, "{b}");
    let p = plan_of(&app, &token, &bought.uid).await;
    assert!(p["current"].is_null(), "{p}");
    assert_eq!(p["scheduled"].as_array().map(Vec::len), Some(1), "{p}");
    assert_eq!(p["effective"]["retention_days"], 7, "the free tier until the renewal starts");
}
