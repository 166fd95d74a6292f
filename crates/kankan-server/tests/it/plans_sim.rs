//! 4G data and the plan routes against the real server: a camera reporting its SIM shows it
//! masked with the data it used; a paid data order for its ICCID adds its allowance, a
//! refund takes it back; a camera without a SIM says so; the catalogue is public; checkout
//! prices from the catalogue and is its owner's alone (a member is answered like a stranger;
//! an unknown plan and a provider the server lacks are refused with their codes); a
//! `kankan-cam` 4G camera reports the data its uploads used.

use kankan_billing::{Fulfilment, ProductKind, Target};
use kankan_core::authz::{Capability, CapabilitySet};
use kankan_plans::{DataSpec, Kind};
use kankan_protocol::device::Settings;
use kankan_testkit::TestApp;
use kankan_testkit::state_report;
use serde_json::{Value, json};

use crate::authz_routes::{account_id, insert_grant};
use crate::devices::{PW, bind, eventually, provision, put_settings};
use crate::live_on_demand::{bound_firmware, run_rotated, with_motion_video};
use crate::plans::{catalogue, paid_order};
use crate::recording::WAIT;

const ICCID: &str = "89860012345678901234";

async fn app_4g() -> TestApp {
    TestApp::spawn_with(|c| {
        c.plans = catalogue(Kind::Continuous, Some(7));
        c.plans.data = vec![DataSpec {
            sku: "data-1g-30d".into(),
            title: "1 GB for 30 days".into(),
            mb: 1024,
            days: 30,
            amount_minor: 500,
            currency: "EUR".into(),
        }];
    })
    .await
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    app.send(app.http.post(app.url(path)).bearer_auth(token).json(&body)).await
}

async fn sim(app: &TestApp, token: &str, uid: &str) -> (u16, Value) {
    app.get_authed(&format!("/api/v1/devices/{uid}/sim"), token).await
}

#[tokio::test]
async fn a_4g_camera_shows_its_sim_masked_and_a_top_up_adds_its_allowance() {
    let app = app_4g().await;
    let token = app.register("fourg@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let dev = bind(&app, &token, &creds).await;
    let (s, b) = sim(&app, &token, &creds.uid).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("no-sim")), "{b}");

    let mut r = state_report(1, json!(Settings::default()), 0);
    r["sim"] = json!({"iccid": ICCID, "status": "active", "used_kb": 2048});
    dev.publish_json("state", &r).await.expect("state");
    eventually(&app, &token, &creds.uid, "the SIM is reported", |d| {
        !d["reported"]["sim"].is_null()
    })
    .await;
    let (s, b) = sim(&app, &token, &creds.uid).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["iccid"], "****************1234", "{b}");
    assert_eq!((b["used_kb"].as_u64(), b["allowance_kb"].as_u64()), (Some(2048), Some(0)));

    let account = account_id(&app, &token).await;
    let order = paid_order(account, ProductKind::Data, "data-1g-30d", Target::Sim(ICCID.into()));
    let plans = &app.running().services.plans;
    plans.paid(&order).await.expect("paid");
    plans.paid(&order).await.expect("delivered twice");
    let (_, b) = sim(&app, &token, &creds.uid).await;
    assert_eq!(b["allowance_kb"].as_u64(), Some(1024 * 1024), "{b}");
    assert_eq!(b["topups"].as_array().map(Vec::len), Some(1), "{b}");
    assert!(!b.to_string().contains(ICCID), "the ICCID is never shown whole: {b}");

    plans.refunded(&order).await.expect("refunded");
    let (_, b) = sim(&app, &token, &creds.uid).await;
    assert_eq!(
        (b["allowance_kb"].as_u64(), b["topups"].as_array().map(Vec::len)),
        (Some(0), Some(0))
    );

    // Buying data prices it from the catalogue; this server has no payment provider.
    let path = format!("/api/v1/devices/{}/sim/checkout", creds.uid);
    let (s, b) =
        post(&app, &token, &path, json!({"sku": "data-1g-30d", "provider": "stripe"})).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("billing-provider-unknown")), "{b}");
    let (s, b) =
        post(&app, &token, &path, json!({"sku": "cont-3d-month", "provider": "stripe"})).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("unknown-plan")), "{b}");
}

/// A `kankan-cam` 4G camera counts what its video uploads and reports it with its SIM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4g_kankan_cam_reports_the_data_its_uploads_used() {
    let app = TestApp::spawn_with(|c| {
        c.recording.segment_secs = 2;
        c.recording.max_clock_skew_secs = 3600;
        c.plans = catalogue(Kind::Continuous, Some(7));
    })
    .await;
    let (token, creds, dir, device) = bound_firmware(&app, "cam4g@example.com", "KK-C1-4G").await;
    let (device, v, commands) = with_motion_video(device, &app, &creds, dir.path());
    let (stop, signal) = kankan_base::Shutdown::new();
    let cam = kankan_sim::video::start(v, signal.clone()).expect("camera starts");
    tokio::spawn(kankan_sim::media::serve(commands, cam.clone()));
    run_rotated(device, signal).await;
    cam.wait_for("2 s of video uploaded", WAIT, |s| s.sent_live_ms >= 2_000)
        .await
        .expect("it uploads");
    // New settings make the camera report its state again, with its data counter.
    let (s, b) = put_settings(&app, &token, &creds.uid, &Settings::default()).await;
    assert_eq!(s, 200, "{b}");
    eventually(&app, &token, &creds.uid, "the data used is reported", |d| {
        d["reported"]["sim"]["used_kb"].as_u64().is_some_and(|kb| kb > 0)
    })
    .await;
    let (s, b) = sim(&app, &token, &creds.uid).await;
    assert_eq!(s, 200, "{b}");
    assert!(b["used_kb"].as_u64().is_some_and(|kb| kb > 0), "{b}");
    assert!(b["iccid"].as_str().is_some_and(|i| i.starts_with("****")), "{b}");
    stop.trigger();
}

#[tokio::test]
async fn the_catalogue_is_public_and_checkout_is_the_owners_alone() {
    let app = app_4g().await;
    let (s, c) = app.send(app.http.get(app.url("/api/v1/plans"))).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["free"], json!({"kind": "continuous", "retention_days": 7, "quota_mib": null}));
    let skus: Vec<_> =
        c["plans"].as_array().expect("plans").iter().map(|p| p["sku"].clone()).collect();
    let want = ["cont-3d-month", "cont-30d-month", "events-7d-month", "cont-7d-1mib"];
    assert_eq!(skus, want.map(|s| json!(s)));
    assert_eq!(c["plans"][0]["amount_minor"], 199);
    assert_eq!(c["plans"][0]["period_days"], 30);
    assert_eq!(c["data"][0]["mb"], 1024);

    let owner = app.register("owner-plans@example.com", PW).await;
    let member = app.register("member-plans@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _dev = bind(&app, &owner, &creds).await;
    let ids = (account_id(&app, &owner).await, account_id(&app, &member).await);
    let caps = CapabilitySet::from_iter([Capability::View, Capability::ViewLive]);
    insert_grant(&app, &creds.uid, ids, caps, None).await;
    let path = format!("/api/v1/devices/{}/plan/checkout", creds.uid);
    let body = json!({"sku": "cont-3d-month", "provider": "stripe"});
    let (s, b) = post(&app, &member, &path, body.clone()).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("device-not-found")), "{b}");
    // The member sees the plan, though.
    let (s, b) = app.get_authed(&format!("/api/v1/devices/{}/plan", creds.uid), &member).await;
    assert_eq!((s, &b["effective"]["retention_days"]), (200, &json!(7)), "{b}");

    let (s, b) = post(&app, &owner, &path, body).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("billing-provider-unknown")), "{b}");
    let (s, b) = post(&app, &owner, &path, json!({"sku": "gold", "provider": "stripe"})).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("unknown-plan")), "{b}");
    // No order was left behind by the refused checkouts.
    let orders = app.running().services.billing.orders_of(ids.0).await.expect("orders");
    assert!(orders.is_empty(), "{orders:?}");
}
