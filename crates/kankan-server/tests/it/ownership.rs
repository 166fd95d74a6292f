//! Ownership changes leave nothing behind: after a device is unbound and bound to another
//! account, nothing the first owner had of it (events, their delivery records, notification
//! preferences, retained settings on the broker) is stored or reaches the device, and the
//! pairing answers do not tell an unknown UID from a bound one.

use kankan_crypto::pairing::{open_pairing, pairing_from_qr_text, pairing_key, token_text};
use kankan_protocol::device::Settings;
use kankan_testkit::{TestApp, TestDevice, state_report};
use serde_json::json;

use crate::devices::{PW, bind, device_info, eventually, provision, put_settings, start_pairing};
use crate::notify::{Owner, call, deliveries_until, event, has, motion};

fn now_ms(app: &TestApp) -> i64 {
    kankan_base::Clock::now(&app.clock).0
}

/// Every value of the database and every file of the data directory but the SQLite
/// database's own files (their free pages and WAL frames may hold deleted rows until they are
/// reused; the values are what the store answers with).
async fn stored_without_database_files(app: &TestApp) -> Vec<(String, Vec<u8>)> {
    app.stored_bytes().await.into_iter().filter(|(place, _)| !place.contains("kankan.db")).collect()
}

fn holds(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

// Fails without the fix: unbinding kept the device's events (with their delivery records),
// its notification preferences and the broker's retained `desired`, which the device got
// again as soon as it subscribed under its next owner (and applied while the API said
// `in_sync`).
#[tokio::test]
async fn unbinding_leaves_nothing_of_the_first_owner_for_the_next_one() {
    let app = TestApp::spawn().await;
    let first = app.register("first@example.com", PW).await;
    let second = app.register("second@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let mut dev = bind(&app, &first, &creds).await;
    dev.publish_json("state", &state_report(1, json!(Settings::default()), 0))
        .await
        .expect("state");
    eventually(&app, &first, &creds.uid, "state", |v| !v["reported"].is_null()).await;
    // The first owner's settings, retained by the broker.
    let mut theirs = Settings::default();
    theirs.motion.sensitivity = 17;
    let (s, b) = put_settings(&app, &first, &creds.uid, &theirs).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        dev.next_on("desired").await.expect("desired")["settings"]["motion"]["sensitivity"],
        17
    );
    // A snooze (a per-device preference), an event and its delivery record.
    let snooze = format!("/api/v1/devices/{}/snooze", creds.uid);
    let (s, b) = call(&app, "POST", &snooze, &first, Some(json!({"minutes": 30}))).await;
    assert_eq!(s, 200, "{b}");
    let until = b["snoozed_until_ms"].as_i64().expect("until").to_string();
    let owner = Owner { token: first.clone(), uid: creds.uid.clone(), dev };
    let id = event(&app, &owner, motion(now_ms(&app))).await;
    deliveries_until(&app, &first, &id, "a delivery record", |l| has(l, "push", "suppressed"))
        .await;
    let stored = stored_without_database_files(&app).await;
    assert!(stored.iter().any(|(_, b)| holds(b, &id)), "the event is stored before unbinding");

    let unbind = format!("/api/v1/devices/{}", creds.uid);
    assert_eq!(call(&app, "DELETE", &unbind, &first, None).await.0, 204);
    drop(owner);
    // The device pairs with the second owner: nothing retained for it arrives when it
    // subscribes (before its claim is answered).
    let (s, body) = start_pairing(&app, &second, &creds.uid).await;
    assert_eq!(s, 201, "{body}");
    let bytes = pairing_from_qr_text(body["qr_text"].as_str().expect("qr")).expect("qr text");
    let payload = open_pairing(&bytes, &pairing_key(&creds.secret)).expect("opens");
    let mut dev =
        TestDevice::connect(app.mqtt_addr(), &creds.uid, &creds.secret).await.expect("connect");
    dev.publish_json("claim", &json!({"token": token_text(&payload.token)})).await.expect("claim");
    loop {
        let (topic, payload) = dev.next_message().await.expect("the claim result");
        if topic == "claim/result" {
            break;
        }
        assert!(
            topic != "desired" || payload.is_empty(),
            "the previous owner's retained settings reached the device: {}",
            String::from_utf8_lossy(&payload)
        );
    }

    // The device's first settings under its new owner are the new owner's.
    let mut mine = Settings::default();
    mine.motion.sensitivity = 83;
    let (s, b) = put_settings(&app, &second, &creds.uid, &mine).await;
    assert_eq!(s, 200, "{b}");
    let got = dev.next_on("desired").await.expect("desired");
    assert_eq!(
        (got["version"].as_u64(), got["settings"]["motion"]["sensitivity"].as_u64()),
        (Some(1), Some(83)),
        "the previous owner's retained settings reached the device: {got}"
    );
    // Nothing of the first owner's is stored.
    for (place, bytes) in stored_without_database_files(&app).await {
        assert!(!holds(&bytes, &id), "the first owner's event is still in {place}");
        assert!(!holds(&bytes, &until), "the first owner's snooze is still in {place}");
    }
    // Nor shown to anyone.
    for token in [&first, &second] {
        assert_eq!(app.get_authed("/api/v1/events", token).await.1, json!([]));
        let (s, b) = app.get_authed(&format!("/api/v1/events/{id}"), token).await;
        assert_eq!((s, b["code"].as_str()), (404, Some("not-found")));
        let (s, b) = app.get_authed(&format!("/api/v1/events/{id}/deliveries"), token).await;
        assert_eq!((s, b["code"].as_str()), (404, Some("not-found")));
    }
    let (s, b) =
        app.get_authed(&format!("/api/v1/devices/{}/notifications", creds.uid), &second).await;
    assert_eq!((s, &b["snoozed_until_ms"]), (200, &json!(null)), "{b}");
    let v = device_info(&app, &second, &creds.uid).await;
    assert!(v["reported"].is_null(), "{v}");
}

// Fails without the fix: an unknown UID answered `device-not-found` (404) and a bound one
// `device-already-bound` (409), so anyone could tell which UIDs exist and are in use.
#[tokio::test]
async fn pairing_answers_the_same_for_an_unknown_and_a_bound_uid() {
    let app = TestApp::spawn().await;
    let first = app.register("pa@example.com", PW).await;
    let second = app.register("pb@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _dev = bind(&app, &first, &creds).await;
    let bound = start_pairing(&app, &second, &creds.uid).await;
    let unknown = start_pairing(&app, &second, "KKNOSUCHDEVICE1").await;
    assert_eq!(bound, unknown);
    assert_eq!(bound.0, 404, "{:?}", bound.1);
    // The owner pairing its own bound device gets the same answer too.
    assert_eq!(start_pairing(&app, &first, &creds.uid).await, unknown);
}

// Fails without the fix: the API (and so the device page, which shows what it answers)
// returned the MAC address and the SIM's ICCID in clear.
#[tokio::test]
async fn device_identifiers_are_stored_sealed_and_shown_only_masked() {
    let app = TestApp::spawn().await;
    let token = app.register("masked@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let dev = bind(&app, &token, &creds).await;
    let mut report = state_report(1, json!(Settings::default()), 0);
    report["sim"] = json!({"iccid": "89860012345678901234", "status": "active"});
    dev.publish_json("state", &report).await.expect("state");
    let v = eventually(&app, &token, &creds.uid, "state", |v| !v["reported"].is_null()).await;
    assert_eq!(v["reported"]["mac"], "**:**:**:**:00:01", "{v}");
    assert_eq!(v["reported"]["sim"]["iccid"], "****************1234", "{v}");
    let (s, list) = app.get_authed("/api/v1/devices", &token).await;
    assert_eq!(s, 200);
    assert_eq!(list[0]["reported"]["mac"], "**:**:**:**:00:01", "{list}");
    for (place, bytes) in app.stored_bytes().await {
        for id in ["02:00:00:00:00:01", "89860012345678901234"] {
            assert!(!holds(&bytes, id), "{id} in clear in {place}");
        }
    }
}

// Fails without the fix: an event dated an hour ahead was stored (kept past its retention,
// and protecting footage not yet recorded), and a motion "lasting" two hours kept its whole
// range of footage from eviction.
#[tokio::test]
async fn device_times_are_bounded_and_an_event_protects_at_most_its_capped_clip() {
    let app = TestApp::spawn().await;
    let token = app.register("times@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let dev = bind(&app, &token, &creds).await;
    let o = Owner { token, uid: creds.uid.clone(), dev };
    let now = now_ms(&app);
    let ahead = now + 3_600_000;
    o.dev.publish_json("event", &motion(ahead)).await.expect("future");
    o.dev.publish_json("event", &json!({"type": "tamper", "at_ms": 1_000})).await.expect("old");
    let start = now - 2 * 3_600_000;
    let id = event(&app, &o, motion(start)).await;
    let end =
        json!({"type": "motion", "phase": "end", "at_ms": now, "started_ms": start, "zone": null});
    o.dev.publish_json("event", &end).await.expect("end");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let e = loop {
        let (s, e) = app.get_authed(&format!("/api/v1/events/{id}"), &o.token).await;
        assert_eq!(s, 200, "{e}");
        if !e["ended_at_ms"].is_null() {
            break e;
        }
        assert!(std::time::Instant::now() < deadline, "the end was not recorded: {e}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(e["ended_at_ms"].as_i64(), Some(now), "{e}");
    assert_eq!(e["clip_from_ms"].as_i64(), Some(start - 5_000), "{e}");
    assert_eq!(e["clip_to_ms"].as_i64(), Some(start + 10 * 60_000 + 2_000), "{e}");
    // The event from the future and the one older than events are kept were refused (the
    // device's messages are handled in order: both came before the one listed).
    let (_, list) = app.get_authed("/api/v1/events", &o.token).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
}

/// Pairs kankan-cam with the account of `token` from the QR image, with the secret it holds
/// now (the factory one, or the one a rotation gave it), and runs it until its claim is
/// accepted.
async fn pair_cam(
    app: &TestApp,
    token: &str,
    creds: &crate::devices::Creds,
    dir: &std::path::Path,
) -> (kankan_sim::DeviceHandle, kankan_base::Shutdown) {
    use base64::Engine as _;
    let (s, body) = start_pairing(app, token, &creds.uid).await;
    assert_eq!(s, 201, "{body}");
    let png = base64::engine::general_purpose::STANDARD
        .decode(body["qr_png_base64"].as_str().expect("qr"))
        .expect("base64");
    let file = dir.join("pairing.png");
    std::fs::write(&file, png).expect("write");
    let state = dir.join("state");
    let secret = kankan_sim::state::current_secret(&state, &creds.secret).expect("state");
    let joined =
        kankan_sim::pairing::read_and_join(kankan_sim::pairing::Source::Qr(&file), &secret)
            .expect("the camera opens the pairing code with its current secret");
    let mut cfg = kankan_sim::DeviceConfig::new(&creds.uid, &creds.secret, state);
    cfg.pairing = Some(joined);
    cfg.model = Some(creds.model.clone());
    cfg.timings.backoff.base = std::time::Duration::from_millis(50);
    cfg.timings.backoff.cap = std::time::Duration::from_millis(500);
    let device = kankan_sim::Device::new(cfg).expect("device");
    let handle = device.handle();
    let (shutdown, signal) = kankan_base::Shutdown::new();
    tokio::spawn(device.run(signal));
    handle
        .wait_for("the claim is accepted", std::time::Duration::from_secs(20), |s| {
            s.claim == Some(kankan_sim::ClaimOutcome::Accepted)
        })
        .await
        .expect("claim accepted");
    (handle, shutdown)
}

/// Waits until the camera holds a secret other than `old` and the server has seen it log in
/// with it (the rotation is no longer pending), and returns the new secret.
async fn rotated_from(
    app: &TestApp,
    cam: &kankan_sim::DeviceHandle,
    uid: &str,
    old: &str,
) -> String {
    let s = cam
        .wait_for("a new secret", std::time::Duration::from_secs(20), |s| {
            s.stored.secret.as_deref().is_some_and(|n| n != old)
        })
        .await
        .expect("rotated");
    let store = &app.running().services.store;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while store.secret_rotation(uid).await.expect("rotation").is_some() {
        assert!(std::time::Instant::now() < deadline, "the camera never used its new secret");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    s.stored.secret.expect("secret")
}

async fn ingest_status(app: &TestApp, uid: &str, secret: &str) -> u16 {
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{uid}:{secret}"));
    let r = app
        .http
        .post(app.url(&format!("/ingest/v1/{uid}/live")))
        .header("authorization", format!("Basic {basic}"))
        .body(Vec::new())
        .send()
        .await
        .expect("send");
    r.status().as_u16()
}

// Fails without the fix: a device kept its factory secret for life, so whoever had read it
// (off the label, the factory CSV, or as a previous owner) could log in as the device, over
// MQTT or the ingest, in the next owner's account.
#[tokio::test]
async fn each_binding_rotates_the_device_secret_and_the_old_one_stops_working() {
    let app = TestApp::spawn().await;
    let first = app.register("rot1@example.com", PW).await;
    let second = app.register("rot2@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let dir = tempfile::tempdir().expect("tmp");
    let (cam, stop) = pair_cam(&app, &first, &creds, dir.path()).await;
    let s1 = rotated_from(&app, &cam, &creds.uid, &creds.secret).await;
    assert!(TestDevice::connect(app.mqtt_addr(), &creds.uid, &creds.secret).await.is_err());
    assert_eq!(ingest_status(&app, &creds.uid, &creds.secret).await, 401);
    assert_ne!(ingest_status(&app, &creds.uid, &s1).await, 401);
    // The first owner unbinds; the camera is bound to the second, and rotates again.
    let (s, _) = crate::notify::call(
        &app,
        "DELETE",
        &format!("/api/v1/devices/{}", creds.uid),
        &first,
        None,
    )
    .await;
    assert_eq!(s, 204);
    stop.trigger();
    drop(cam);
    let (cam, _stop) = pair_cam(&app, &second, &creds, dir.path()).await;
    let s2 = rotated_from(&app, &cam, &creds.uid, &s1).await;
    for old in [creds.secret.as_str(), s1.as_str()] {
        assert!(TestDevice::connect(app.mqtt_addr(), &creds.uid, old).await.is_err());
        assert_eq!(ingest_status(&app, &creds.uid, old).await, 401);
    }
    assert_ne!(ingest_status(&app, &creds.uid, &s2).await, 401);
    // The operator's command: nothing changes until the device uses the new secret, which
    // it gets with its next report, then the old one stops.
    let rotated = app.running().services.devices.rotate_secret(&creds.uid).await.expect("rotate");
    assert!(rotated.sent, "the camera is connected");
    let s3 = rotated_from(&app, &cam, &creds.uid, &s2).await;
    assert_eq!(ingest_status(&app, &creds.uid, &s2).await, 401);
    assert_ne!(ingest_status(&app, &creds.uid, &s3).await, 401);
}

// Fails without the fix: there was no way for an operator to rotate a device's secret.
#[test]
fn the_operator_rotates_a_device_secret_from_the_command_line() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("d");
    let out = tmp.path().join("devices.csv");
    let env = [("KANKAN__DATA_DIR", dir.to_str().expect("utf8"))];
    let bin = env!("CARGO_BIN_EXE_kankan");
    let args =
        ["admin", "devices", "provision", "--model", "KK-C1", "--out", out.to_str().expect("utf8")];
    let (code, _, err) = kankan_testkit::run_cli(bin.as_ref(), &args, &env, None).expect("runs");
    assert_eq!(code, 0, "{err}");
    let csv = std::fs::read_to_string(&out).expect("csv");
    let uid = csv.lines().nth(1).and_then(|l| l.split(',').next()).expect("a uid").to_string();
    let rotate = ["admin", "devices", "rotate-secret", uid.as_str()];
    let (code, first, err) =
        kankan_testkit::run_cli(bin.as_ref(), &rotate, &env, None).expect("runs");
    assert_eq!(code, 0, "{err}");
    assert!(first.contains(&format!("secret rotation of {uid} pending since")), "{first}");
    // Asked again before the device used the new secret: the same rotation, sent again.
    let (code, again, err) =
        kankan_testkit::run_cli(bin.as_ref(), &rotate, &env, None).expect("runs");
    assert_eq!((code, again.as_str()), (0, first.as_str()), "{err}");
    let unknown = ["admin", "devices", "rotate-secret", "KKNOSUCHDEVICE1"];
    let (code, _, _) = kankan_testkit::run_cli(bin.as_ref(), &unknown, &env, None).expect("runs");
    assert_ne!(code, 0);
}
