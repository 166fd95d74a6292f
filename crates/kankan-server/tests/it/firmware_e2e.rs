//! Firmware updates end to end with the real `kankan-cam` firmware (A/B slots): a rollout
//! takes one camera from its factory version to 1.1.0 (downloaded from the server, verified,
//! installed, rebooted into, confirmed), while another whose new slot fails its health check
//! rolls back and is reported as a failure with its error; each owner sees how it ended.

use std::time::{Duration, Instant};

use kankan_base::Shutdown;
use kankan_sim::{Device, DeviceConfig, ServerAddr, firmware_image};
use kankan_testkit::TestApp;
use serde_json::{Value, json};

use crate::admin::staff_token;
use crate::devices::{Creds, PW, bind, provision};
use crate::firmware::{fw_app, key, progress, rollout, upload};
use crate::live_on_demand::run_rotated;

/// A bound `kankan-cam` of a new account that knows the operator's key; the account's token.
async fn camera(
    app: &TestApp,
    who: &str,
    public_key: &str,
    fail_health: bool,
) -> (String, Creds, tempfile::TempDir, Device) {
    let token = app.register(who, PW).await;
    let creds = provision(app, "KK-C1").await;
    drop(bind(app, &token, &creds).await);
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = DeviceConfig::new(&creds.uid, &creds.secret, dir.path().join("state"));
    cfg.model = Some(creds.model.clone());
    cfg.server = Some(ServerAddr::parse(&app.device_server()).expect("address"));
    cfg.pin = app.pin();
    cfg.firmware_key = Some(public_key.to_string());
    cfg.ingest_url = Some(app.base_url.clone());
    cfg.fail_health = fail_health;
    (token, creds, dir, Device::new(cfg).expect("device"))
}

async fn firmware_of(app: &TestApp, token: &str, uid: &str) -> Value {
    let (s, f) = app.get_authed(&format!("/api/v1/devices/{uid}/firmware"), token).await;
    assert_eq!(s, 200, "{f}");
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_updates_a_camera_and_a_failed_health_check_rolls_back_and_is_reported() {
    let key = key();
    let app = fw_app(&key, 50).await;
    let staff = staff_token(&app).await;
    let (stop, signal) = Shutdown::new();
    let (ok_token, ok, _ok_dir, ok_dev) =
        camera(&app, "ok@example.com", &key.public_key(), false).await;
    let (bad_token, bad, _bad_dir, bad_dev) =
        camera(&app, "bad@example.com", &key.public_key(), true).await;
    run_rotated(ok_dev, signal.clone()).await;
    run_rotated(bad_dev, signal.clone()).await;
    // Both report their factory version.
    let deadline = Instant::now() + Duration::from_secs(30);
    for (token, creds) in [(&ok_token, &ok), (&bad_token, &bad)] {
        while firmware_of(&app, token, &creds.uid).await["installed"].is_null() {
            assert!(Instant::now() < deadline, "{} reports its version", creds.uid);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let factory = firmware_of(&app, &ok_token, &ok.uid).await["installed"].clone();
    let image = firmware_image("KK-C1", "1.1.0", 256 * 1024);
    let sig = key.sign("KK-C1", "1.1.0", &image);
    let (s, img) = upload(&app, &staff, "KK-C1", "1.1.0", &sig, image).await;
    assert_eq!(s, 201, "{img}");
    let r = rollout(&app, &staff, json!({"image_id": img["id"], "percent": 100})).await;
    let id = r["id"].as_str().expect("id").to_string();
    assert_eq!(app.running().services.firmware.offer_round().await.expect("round"), 2);
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs(90);
    let p = loop {
        let p = progress(&app, &staff, &id).await;
        if p["phases"]["confirmed"] == 1 && p["phases"]["rolled-back"] == 1 {
            break p;
        }
        assert!(Instant::now() < deadline, "both updates end: {p}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!("both updates ended {:?} after the offers", t0.elapsed());
    assert_eq!(p["failures"][0]["uid"], bad.uid, "{p}");
    assert_eq!(p["failures"][0]["error"], "health-check", "{p}");
    let f = firmware_of(&app, &ok_token, &ok.uid).await;
    assert_eq!(
        (&f["installed"], &f["update"]["phase"]),
        (&json!("1.1.0"), &json!("confirmed")),
        "{f}"
    );
    let f = firmware_of(&app, &bad_token, &bad.uid).await;
    assert_eq!(
        (&f["installed"], &f["update"]["phase"], &f["update"]["from_version"]),
        (&factory, &json!("rolled-back"), &factory),
        "{f}"
    );
    stop.trigger();
}
