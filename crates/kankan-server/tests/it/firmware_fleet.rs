//! Firmware rollouts end to end with `kankan-cam` as the devices: a fleet of 100 simulated
//! cameras (`kankan_sim::fleet`, in this process) updated from 1.0 to 1.1 by a rollout of the
//! real server, 5 % of them failing their health check and rolling back (reported as the
//! rollout's failures); and an image whose signature is for other bytes, offered by the
//! server, refused by the device.

use std::collections::BTreeSet;
use std::time::Duration;

use kankan_base::{Clock as _, Shutdown, Timestamp};
use kankan_crypto::firmware::SigningKey;
use kankan_db::BindToken;
use kankan_protocol::device::UpdatePhase;
use kankan_sim::config::FIRMWARE;
use kankan_sim::fleet::{Credential, Fleet, FleetOptions, fails_health};
use kankan_sim::{Backoff, ServerAddr, Timings, firmware_image};
use kankan_testkit::TestApp;
use serde_json::{Value, json};

use crate::admin::staff_token;

const MODEL: &str = "KK-C1";
const NEW: &str = "1.1.0";
const WAIT: Duration = Duration::from_secs(180);

/// A server holding `key`'s public key, whose rollouts offer to a whole fleet at once.
async fn app(key: &SigningKey) -> TestApp {
    let public = key.public_key();
    TestApp::spawn_with(move |c| {
        c.firmware.public_key = public;
        c.firmware.rollout_batch = 1000;
        c.firmware.max_in_flight = 1000;
    })
    .await
}

/// `n` provisioned cameras bound to one new account (as a claim would bind them).
async fn bound_cameras(app: &TestApp, n: u32) -> Vec<Credential> {
    let s = &app.running().services;
    let account = s
        .accounts
        .provision_account("fleet@example.com", "plum-garden-kettle-42")
        .await
        .expect("account");
    let made = s.devices.provision(MODEL, n, "fleet").await.expect("provision");
    let now = app.clock.now();
    let mut out = Vec::new();
    for d in made {
        let (_, hash) = kankan_crypto::random_token().expect("token");
        let token = BindToken {
            token_hash: hash.0,
            account_id: account,
            uid: d.uid.clone(),
            created_at: now,
            expires_at: Timestamp(now.0 + 600_000),
        };
        s.store.insert_bind_token(&token).await.expect("bind token");
        s.store.claim_device(&hash.0, &d.uid, now).await.expect("claim");
        out.push(Credential { uid: d.uid, model: d.model, secret: d.secret });
    }
    out
}

/// Runs `creds` against `app`'s broker and ingest, holding `key`.
fn start_fleet(
    app: &TestApp,
    creds: &[Credential],
    key: &SigningKey,
    fail_percent: u8,
    dir: &std::path::Path,
) -> (Fleet, Shutdown) {
    let server = ServerAddr::parse(&app.device_server()).expect("server");
    let mut opts = FleetOptions::new(server, dir.to_path_buf());
    opts.pin = app.pin();
    opts.timings = Timings {
        backoff: Backoff { base: Duration::from_millis(100), cap: Duration::from_secs(2) },
        telemetry: Duration::from_secs(3600),
        reboot_delay: Duration::from_millis(100),
        keep_alive: Duration::from_secs(30),
        health_check: Duration::from_millis(100),
    };
    opts.ramp = Duration::from_millis(500);
    opts.firmware_key = Some(key.public_key());
    opts.ingest_url = Some(app.base_url.clone());
    opts.fail_health_percent = fail_percent;
    let (shutdown, signal) = Shutdown::new();
    (Fleet::start_with(creds, &opts, &signal).expect("fleet"), shutdown)
}

/// Waits until the server knows every camera's version (what a rollout chooses by).
async fn reported(app: &TestApp, creds: &[Credential]) {
    let store = &app.running().services.store;
    let deadline = std::time::Instant::now() + WAIT;
    for c in creds {
        while store.firmware_device(&c.uid).await.expect("read").is_none() {
            assert!(std::time::Instant::now() < deadline, "{} reports its version", c.uid);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn upload(app: &TestApp, staff: &str, signature: &str, image: Vec<u8>) -> Value {
    let url = app.url(&format!(
        "/api/v1/admin/firmware/images?model={MODEL}&version={NEW}&signature={signature}"
    ));
    let (s, b) = app.send(app.http.post(url).bearer_auth(staff).body(image)).await;
    assert_eq!(s, 201, "{b}");
    b
}

async fn rollout(app: &TestApp, staff: &str, image_id: &Value) -> String {
    let url = app.url("/api/v1/admin/firmware/rollouts");
    let body = json!({"image_id": image_id, "percent": 100});
    let (s, b) = app.send(app.http.post(url).bearer_auth(staff).json(&body)).await;
    assert_eq!(s, 201, "{b}");
    b["id"].as_str().expect("rollout id").to_string()
}

async fn progress(app: &TestApp, staff: &str, id: &str) -> Value {
    let url = app.url(&format!("/api/v1/admin/firmware/rollouts/{id}"));
    let (s, b) = app.send(app.http.get(url).bearer_auth(staff)).await;
    assert_eq!(s, 200, "{b}");
    b
}

/// Runs the rollout worker's rounds until every device of the fleet ended its update.
async fn until_settled(app: &TestApp, fleet: &Fleet) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        app.running().services.firmware.offer_round().await.expect("round");
        let ended = fleet.handles.iter().filter(|h| {
            let s = h.status();
            s.last_report.and_then(|r| r.update).is_some_and(|u| {
                matches!(
                    u.phase,
                    UpdatePhase::Confirmed | UpdatePhase::RolledBack | UpdatePhase::Failed
                )
            })
        });
        let ended = ended.count();
        if ended == fleet.handles.len() {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{ended} of {} ended", fleet.handles.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_of_100_updates_to_1_1_and_the_5_percent_failing_health_roll_back_as_failures() {
    let (key, _) = SigningKey::generate().expect("key");
    let app = app(&key).await;
    let staff = staff_token(&app).await;
    let creds = bound_cameras(&app, 100).await;
    let failing: BTreeSet<String> =
        creds.iter().filter(|c| fails_health(&c.uid, 5)).map(|c| c.uid.clone()).collect();
    assert!(!failing.is_empty() && failing.len() < 20, "about 5 %: {}", failing.len());
    let dir = tempfile::tempdir().expect("tmp");
    let (fleet, shutdown) = start_fleet(&app, &creds, &key, 5, dir.path());
    reported(&app, &creds).await;

    let image = firmware_image(MODEL, NEW, 64 * 1024);
    let img = upload(&app, &staff, &key.sign(MODEL, NEW, &image), image).await;
    let id = rollout(&app, &staff, &img["id"]).await;
    until_settled(&app, &fleet).await;

    for (c, h) in creds.iter().zip(&fleet.handles) {
        let r = h.status().last_report.expect("reported");
        let u = r.update.expect("progress");
        if failing.contains(&c.uid) {
            assert_eq!(
                (r.firmware.as_str(), u.phase, u.error.as_deref()),
                (FIRMWARE, UpdatePhase::RolledBack, Some("health-check")),
                "{}",
                c.uid
            );
        } else {
            assert_eq!((r.firmware.as_str(), u.phase), (NEW, UpdatePhase::Confirmed), "{}", c.uid);
        }
    }
    // The server's account of it: the rollout's failures are exactly the rolled-back devices.
    let deadline = std::time::Instant::now() + WAIT;
    let p = loop {
        let p = progress(&app, &staff, &id).await;
        let confirmed = p["phases"]["confirmed"].as_u64().unwrap_or(0);
        let failures = p["failures"].as_array().map_or(0, Vec::len);
        if confirmed as usize + failures == creds.len() {
            break p;
        }
        assert!(std::time::Instant::now() < deadline, "progress recorded: {p}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let reported_failures: BTreeSet<String> = p["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .map(|f| {
            assert_eq!(
                (f["phase"].as_str(), f["error"].as_str()),
                (Some("rolled-back"), Some("health-check")),
                "{f}"
            );
            f["uid"].as_str().expect("uid").to_string()
        })
        .collect();
    assert_eq!(reported_failures, failing);
    assert_eq!(
        p["phases"]["confirmed"].as_u64(),
        Some((creds.len() - failing.len()) as u64),
        "{p}"
    );
    shutdown.trigger();
    let _ = tokio::time::timeout(Duration::from_secs(30), fleet.join()).await;
}

#[tokio::test]
async fn an_image_signed_for_other_bytes_is_refused_by_the_device_though_the_server_offered_it() {
    let (key, _) = SigningKey::generate().expect("key");
    let app = app(&key).await;
    let staff = staff_token(&app).await;
    let creds = bound_cameras(&app, 1).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (fleet, shutdown) = start_fleet(&app, &creds, &key, 0, dir.path());
    reported(&app, &creds).await;

    // A genuine image is uploaded (the server checks its signature); then a row the upload
    // would never have kept is slipped into the store: the same bytes as 1.1.1, with the
    // operator's signature of other bytes.
    let image = firmware_image(MODEL, NEW, 4096);
    let genuine = upload(&app, &staff, &key.sign(MODEL, NEW, &image), image.clone()).await;
    let store = &app.running().services.store;
    let gid = uuid::Uuid::parse_str(genuine["id"].as_str().expect("id")).expect("uuid");
    let mut row = store.firmware_image(gid).await.expect("read").expect("the image");
    row.id = uuid::Uuid::now_v7();
    row.version = "1.1.1".into();
    row.signature = key.sign(MODEL, "1.1.1", &firmware_image(MODEL, "1.1.1", 4096));
    store.insert_firmware_image(&row).await.expect("slipped in");
    let id = rollout(&app, &staff, &json!(row.id)).await;
    until_settled(&app, &fleet).await;

    let r = fleet.handles[0].status().last_report.expect("reported");
    let u = r.update.expect("progress");
    assert_eq!(
        (u.version.as_str(), u.phase, u.error.as_deref()),
        ("1.1.1", UpdatePhase::Failed, Some("signature"))
    );
    assert_eq!(r.firmware, FIRMWARE, "still the old version");
    let fw = dir.path().join(&creds[0].uid).join(kankan_sim::slots::DIR);
    assert!(!fw.join("slot-b.bin").exists() && !fw.join("download.part").exists(), "deleted");
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let p = progress(&app, &staff, &id).await;
        if p["failures"][0]["error"] == "signature" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the failure is recorded: {p}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    shutdown.trigger();
    let _ = tokio::time::timeout(Duration::from_secs(30), fleet.join()).await;
}
