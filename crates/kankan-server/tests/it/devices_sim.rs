//! The whole device journey with `kankan-cam` as the device: it pairs from the very QR image
//! and sound file the API hands out, then runs as firmware against the real server.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kankan_base::Shutdown;
use kankan_protocol::device::Settings;
use kankan_sim::pairing::{Source, read_and_join};
use kankan_sim::{ClaimOutcome, Device, DeviceConfig, DeviceHandle};
use kankan_testkit::TestApp;
use serde_json::{Value, json};

use crate::devices::{Creds, PW, eventually, provision, put_settings, start_pairing};

const WAIT: Duration = Duration::from_secs(20);

/// Pairs `creds` through the file the API returned under `field`, and starts kankan-cam.
async fn pair_with_cam(
    app: &TestApp,
    token: &str,
    creds: &Creds,
    field: &str,
    dir: &std::path::Path,
) -> (DeviceHandle, Shutdown) {
    let (s, body) = start_pairing(app, token, &creds.uid).await;
    assert_eq!(s, 201, "{body}");
    let bytes = STANDARD.decode(body[field].as_str().expect("artefact")).expect("base64");
    let file = dir.join(if field.contains("wav") { "pairing.wav" } else { "pairing.png" });
    std::fs::write(&file, bytes).expect("write");
    let source = if field.contains("wav") { Source::Wav(&file) } else { Source::Qr(&file) };
    let joined = read_and_join(source, &creds.secret).expect("kankan-cam reads the pairing code");
    let mut cfg = DeviceConfig::new(&creds.uid, &creds.secret, dir.join("state"));
    cfg.pairing = Some(joined);
    cfg.model = Some(creds.model.clone());
    cfg.timings.backoff.base = Duration::from_millis(50);
    cfg.timings.backoff.cap = Duration::from_millis(500);
    cfg.timings.reboot_delay = Duration::from_millis(100);
    let device = Device::new(cfg).expect("device");
    let handle = device.handle();
    let (shutdown, signal) = Shutdown::new();
    tokio::spawn(device.run(signal));
    handle
        .wait_for("the claim is accepted", WAIT, |s| s.claim == Some(ClaimOutcome::Accepted))
        .await
        .expect("claim accepted");
    (handle, shutdown)
}

#[tokio::test]
async fn kankan_cam_pairs_from_the_qr_image_and_runs_settings_and_commands() {
    let app = TestApp::spawn().await;
    let token = app.register("cam@example.com", PW).await;
    let creds = provision(&app, "KK-C2").await;
    let dir = tempfile::tempdir().expect("tmp");
    let (cam, _stop) = pair_with_cam(&app, &token, &creds, "qr_png_base64", dir.path()).await;
    let v = eventually(&app, &token, &creds.uid, "the camera reports", |v| {
        v["online"] == true && v["reported"]["ssid"] == "Home WiFi"
    })
    .await;
    assert_eq!(v["reported"]["model"], "KK-C2");

    let wanted = Settings { volume: 15, ..Settings::default() };
    let (s, _) = put_settings(&app, &token, &creds.uid, &wanted).await;
    assert_eq!(s, 200);
    let v =
        eventually(&app, &token, &creds.uid, "settings applied", |v| v["in_sync"] == true).await;
    assert_eq!(v["reported"]["settings"]["volume"], 15);
    let stored = cam.status().stored;
    assert_eq!((stored.settings.volume, stored.settings_version), (15, 1));

    let command = |body: Value| {
        app.http
            .post(app.url(&format!("/api/v1/devices/{}/commands", creds.uid)))
            .bearer_auth(&token)
            .json(&body)
    };
    let (s, b) = app.send(command(json!({"name": "preset-goto", "slot": 2}))).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("failed")), "preset 2 is not set: {b}");
    let (s, b) = app.send(command(json!({"name": "preset-save", "slot": 2}))).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("succeeded")));
    let boots = cam.status().boots;
    let (s, b) = app.send(command(json!({"name": "reboot"}))).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("succeeded")));
    cam.wait_for("the camera comes back after rebooting", WAIT, |s| s.boots > boots && s.connected)
        .await
        .expect("rebooted");
    eventually(&app, &token, &creds.uid, "online again", |v| v["online"] == true).await;
}

#[tokio::test]
async fn kankan_cam_pairs_from_the_sound_file() {
    let app = TestApp::spawn().await;
    let token = app.register("bell@example.com", PW).await;
    let creds = provision(&app, "KK-D1").await;
    let dir = tempfile::tempdir().expect("tmp");
    let (_bell, _stop) = pair_with_cam(&app, &token, &creds, "sound_wav_base64", dir.path()).await;
    let v = eventually(&app, &token, &creds.uid, "the doorbell reports", |v| {
        v["online"] == true && !v["reported"].is_null()
    })
    .await;
    assert_eq!(v["kind"], "doorbell");
    assert!(v["reported"]["battery_pct"].is_u64(), "a doorbell runs on battery: {v}");
    let state =
        std::fs::read_to_string(dir.path().join("state").join("state.json")).expect("state");
    assert!(!state.contains("wifi-secret-99"), "the Wi-Fi password is never stored");
}
