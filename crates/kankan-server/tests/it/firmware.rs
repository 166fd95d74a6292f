//! Firmware updates, the server's side: signed uploads (a bad signature keeps nothing),
//! rollouts by percentage and cohort offering the image only to eligible devices, pause and
//! resume on the worker's clock, the device's download (only what was offered to it, resumable
//! with `Range`), progress from state reports in the rollout and on the device, the owner's
//! Update. The device here is a bare MQTT client speaking the firmware protocol.

use std::time::Duration;

use kankan_base::Clock as _;
use kankan_crypto::firmware::SigningKey;
use kankan_protocol::device::Settings;
use kankan_testkit::{TestApp, TestDevice, state_report};
use serde_json::{Value, json};

use crate::admin::staff_token;
use crate::devices::{Creds, bind, provision, put_settings};

const PW: &str = "plum-garden-kettle-42";
const TICK: Duration = Duration::from_secs(10);

/// An image as the simulated camera boots it: a `KKFW1 <model> <version>` header line and
/// `len` bytes of payload.
pub(crate) fn firmware_image(model: &str, version: &str, len: usize) -> Vec<u8> {
    let mut v = format!("KKFW1 {model} {version}\n").into_bytes();
    v.extend((0..len).map(|i| (i * 7 % 251) as u8));
    v
}

/// A server whose firmware key is `key`'s and whose rollout worker offers `batch` a tick.
pub(crate) async fn fw_app(key: &SigningKey, batch: u32) -> TestApp {
    let public = key.public_key();
    TestApp::spawn_with(move |c| {
        c.firmware.public_key = public;
        c.firmware.rollout_tick_secs = TICK.as_secs();
        c.firmware.rollout_batch = batch;
    })
    .await
}

pub(crate) fn key() -> SigningKey {
    SigningKey::generate().expect("key").0
}

/// Uploads `image` as staff; status and body.
pub(crate) async fn upload(
    app: &TestApp,
    staff: &str,
    model: &str,
    version: &str,
    signature: &str,
    image: Vec<u8>,
) -> (u16, Value) {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    let url = app.url(&format!(
        "/api/v1/admin/firmware/images?model={}&version={}&signature={}",
        enc(model),
        enc(version),
        enc(signature)
    ));
    app.send(app.http.post(url).bearer_auth(staff).body(image)).await
}

/// Starts a rollout as staff; its body.
pub(crate) async fn rollout(app: &TestApp, staff: &str, body: Value) -> Value {
    let url = app.url("/api/v1/admin/firmware/rollouts");
    let (s, b) = app.send(app.http.post(url).bearer_auth(staff).json(&body)).await;
    assert_eq!(s, 201, "{b}");
    b
}

pub(crate) async fn progress(app: &TestApp, staff: &str, id: &str) -> Value {
    let url = app.url(&format!("/api/v1/admin/firmware/rollouts/{id}"));
    let (s, b) = app.send(app.http.get(url).bearer_auth(staff)).await;
    assert_eq!(s, 200, "{b}");
    b
}

/// A bound, connected device of `model` of a new account that reported `version` with
/// `settings`; the account's token, the credentials and the device.
async fn device(
    app: &TestApp,
    who: &str,
    model: &str,
    version: &str,
    settings: Settings,
) -> (String, Creds, TestDevice) {
    let token = app.register(who, PW).await;
    let creds = provision(app, model).await;
    let dev = bind(app, &token, &creds).await;
    report(app, &dev, &creds, version, settings, None).await;
    (token, creds, dev)
}

/// Publishes a state report and waits until the server has it.
pub(crate) async fn report(
    app: &TestApp,
    dev: &TestDevice,
    creds: &Creds,
    version: &str,
    settings: Settings,
    update: Option<Value>,
) {
    let mut r = state_report(1, json!(&settings), 0);
    r["model"] = json!(creds.model);
    r["firmware"] = json!(version);
    if let Some(u) = update.clone() {
        r["update"] = u;
    }
    dev.publish_json("state", &r).await.expect("state");
    let store = &app.running().services.store;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let have = store.firmware_device(&creds.uid).await.expect("read");
        let moved = match &update {
            None => true,
            Some(u) => {
                store.firmware_updates_of(&creds.uid).await.expect("read").iter().any(|row| {
                    row.phase == u["phase"].as_str().unwrap_or_default()
                        && row.percent == u["percent"].as_u64().unwrap_or(0) as u8
                })
            }
        };
        if have.as_ref().is_some_and(|(v, auto)| v == version && *auto == settings.auto_update)
            && moved
        {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "the report of {} arrives", creds.uid);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs one round of offers now.
async fn offer_round(app: &TestApp) -> u32 {
    app.running().services.firmware.offer_round().await.expect("round")
}

/// The firmware-update command the device gets next.
pub(crate) async fn next_offer(dev: &mut TestDevice) -> Value {
    let cmd = tokio::time::timeout(Duration::from_secs(15), dev.next_on("cmd"))
        .await
        .expect("an offer in time")
        .expect("command");
    assert_eq!(cmd["command"]["name"], "firmware-update", "{cmd}");
    cmd
}

/// Uploads a signed KK-C1 1.1.0 and rolls it out to `percent` and `cohort`; the image's and
/// the rollout's ids.
pub(crate) async fn released(
    app: &TestApp,
    staff: &str,
    key: &SigningKey,
    percent: u8,
    cohort: &[&str],
) -> (Value, String) {
    let image = firmware_image("KK-C1", "1.1.0", 4000);
    let sig = key.sign("KK-C1", "1.1.0", &image);
    let (s, img) = upload(app, staff, "KK-C1", "1.1.0", &sig, image).await;
    assert_eq!(s, 201, "{img}");
    let r =
        rollout(app, staff, json!({"image_id": img["id"], "percent": percent, "cohort": cohort}))
            .await;
    (img, r["id"].as_str().expect("id").to_string())
}

#[tokio::test]
async fn an_image_whose_signature_does_not_verify_is_refused_and_nothing_is_kept() {
    let key = key();
    let app = fw_app(&key, 50).await;
    let staff = staff_token(&app).await;
    let blobs = app.blob_names().await.len();
    let image = firmware_image("KK-C1", "1.1.0", 1000);
    let other = SigningKey::generate().expect("key").0;
    let refused = [
        ("another key", other.sign("KK-C1", "1.1.0", &image), "KK-C1", "1.1.0"),
        ("another version", key.sign("KK-C1", "1.2.0", &image), "KK-C1", "1.1.0"),
        ("another model", key.sign("KK-C2", "1.1.0", &image), "KK-C1", "1.1.0"),
        ("not base64url", "not a signature!".to_string(), "KK-C1", "1.1.0"),
    ];
    for (what, sig, model, version) in refused {
        let (s, b) = upload(&app, &staff, model, version, &sig, image.clone()).await;
        assert_eq!((s, b["code"].as_str()), (400, Some("firmware-bad-signature")), "{what}: {b}");
    }
    let mut tampered = image.clone();
    tampered[20] ^= 1;
    let (s, b) =
        upload(&app, &staff, "KK-C1", "1.1.0", &key.sign("KK-C1", "1.1.0", &image), tampered).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("firmware-bad-signature")), "tampered: {b}");
    let (s, list) =
        app.send(app.http.get(app.url("/api/v1/admin/firmware/images")).bearer_auth(&staff)).await;
    assert_eq!((s, list.as_array().map(Vec::len)), (200, Some(0)), "{list}");
    assert_eq!(app.blob_names().await.len(), blobs, "no blob was kept");
    // The good one is kept once; the same version again is refused.
    let sig = key.sign("KK-C1", "1.1.0", &image);
    let (s, b) = upload(&app, &staff, "KK-C1", "1.1.0", &sig, image.clone()).await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["sha256"], kankan_crypto::firmware::image_sha256(&image));
    let (s, b) = upload(&app, &staff, "KK-C1", "1.1.0", &sig, image).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("firmware-exists")), "{b}");
    // Users and strangers may not upload.
    let user = app.register("u@example.com", PW).await;
    let (s, _) = upload(&app, &user, "KK-C1", "1.2.0", "x", vec![1]).await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn without_a_public_key_firmware_uploads_are_refused() {
    let app = TestApp::spawn().await;
    let staff = staff_token(&app).await;
    let key = key();
    let image = firmware_image("KK-C1", "1.1.0", 10);
    let sig = key.sign("KK-C1", "1.1.0", &image);
    let (s, b) = upload(&app, &staff, "KK-C1", "1.1.0", &sig, image).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("firmware-not-configured")), "{b}");
}

#[tokio::test]
async fn a_rollout_offers_the_image_only_to_bound_online_older_devices_of_its_model_with_auto_update()
 {
    let key = key();
    let app = fw_app(&key, 50).await;
    let staff = staff_token(&app).await;
    let (_, a, mut dev_a) =
        device(&app, "a@example.com", "KK-C1", "1.0.0", Settings::default()).await;
    let off = Settings { auto_update: false, ..Settings::default() };
    let (_, b, mut dev_b) = device(&app, "b@example.com", "KK-C1", "1.0.0", off).await;
    let (_, _c, _dev_c) =
        device(&app, "c@example.com", "KK-C1", "1.1.0", Settings::default()).await;
    let (_, _d, _dev_d) =
        device(&app, "d@example.com", "KK-D1", "1.0.0", Settings::default()).await;
    let (_, e, dev_e) = device(&app, "e@example.com", "KK-C1", "1.0.0", Settings::default()).await;
    dev_e.disconnect().await.expect("offline");
    let store = &app.running().services.store;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while store.device_state(&e.uid).await.expect("state").is_some_and(|s| s.online) {
        assert!(std::time::Instant::now() < deadline, "e goes offline");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (img, id) = released(&app, &staff, &key, 100, &[]).await;
    assert_eq!(offer_round(&app).await, 1, "only a is eligible");
    let cmd = next_offer(&mut dev_a).await;
    let offer = &cmd["command"]["offer"];
    assert_eq!(offer["version"], "1.1.0");
    assert_eq!(
        offer["url"],
        format!("/ingest/v1/{}/firmware/{}", a.uid, img["id"].as_str().expect("id"))
    );
    assert_eq!(offer["sha256"], img["sha256"]);
    assert_eq!(offer["size"], img["size"]);
    kankan_crypto::firmware::verify(
        &key.public_key(),
        "KK-C1",
        "1.1.0",
        offer["sha256"].as_str().expect("sha"),
        offer["signature"].as_str().expect("sig"),
    )
    .expect("the offer carries the operator's signature");
    // Offered once: a device with an update under way is not offered again.
    assert_eq!(offer_round(&app).await, 0);
    let p = progress(&app, &staff, &id).await;
    assert_eq!(p["offered"], 1, "{p}");
    assert_eq!(p["phases"]["offered"], 1, "{p}");
    // b's owner turns automatic updates back on: b is offered at the next round.
    report(&app, &dev_b, &b, "1.0.0", Settings::default(), None).await;
    assert_eq!(offer_round(&app).await, 1);
    next_offer(&mut dev_b).await;
}

#[tokio::test]
async fn a_cohort_and_a_percentage_choose_the_same_devices_every_time() {
    let key = key();
    let app = fw_app(&key, 50).await;
    let staff = staff_token(&app).await;
    let mut devs = Vec::new();
    for i in 0..4 {
        let (_, c, d) =
            device(&app, &format!("p{i}@example.com"), "KK-C1", "1.0.0", Settings::default()).await;
        devs.push((c, d));
    }
    let chosen = devs[2].0.uid.clone();
    let (_, id) = released(&app, &staff, &key, 0, &[chosen.as_str()]).await;
    assert_eq!(offer_round(&app).await, 1, "the cohort only");
    let p = progress(&app, &staff, &id).await;
    assert_eq!(p["cohort"], json!([chosen]));
    next_offer(&mut devs[2].1).await;
    let url = app.url("/api/v1/admin/firmware/rollouts");
    for bad in [
        json!({"image_id": p["image"]["id"]}),
        json!({"image_id": p["image"]["id"], "percent": 101}),
        json!({"image_id": p["image"]["id"], "cohort": ["not a uid"]}),
    ] {
        let (s, b) = app.send(app.http.post(&url).bearer_auth(&staff).json(&bad)).await;
        assert_eq!(s, 400, "{bad}: {b}");
    }
}

#[tokio::test]
async fn a_paused_rollout_offers_nothing_until_it_is_resumed_on_the_workers_clock() {
    let key = key();
    let app = fw_app(&key, 1).await;
    let staff = staff_token(&app).await;
    let (_, _, mut d1) =
        device(&app, "r1@example.com", "KK-C1", "1.0.0", Settings::default()).await;
    let (_, _, mut d2) =
        device(&app, "r2@example.com", "KK-C1", "1.0.0", Settings::default()).await;
    let (_, id) = released(&app, &staff, &key, 100, &[]).await;
    let tick = |app: &TestApp| {
        let app_clock = app.clock.clone();
        let workers = app.running().workers.clone();
        async move {
            let next = app_clock.now().plus(TICK);
            tokio::time::timeout(Duration::from_secs(15), app_clock.wait_for_deadline(next))
                .await
                .expect("the worker waits");
            app_clock.advance(TICK);
            let ran =
                workers.wait_for("firmware-rollout", |s| s.last_run_at.is_some_and(|t| t >= next));
            tokio::time::timeout(Duration::from_secs(15), ran).await.expect("the worker ran");
        }
    };
    tick(&app).await;
    assert_eq!(progress(&app, &staff, &id).await["offered"], 1, "one a tick");
    let url = |what: &str| app.url(&format!("/api/v1/admin/firmware/rollouts/{id}/{what}"));
    let (s, b) = app.send(app.http.post(url("pause")).bearer_auth(&staff)).await;
    assert_eq!((s, &b["paused"]), (200, &json!(true)), "{b}");
    tick(&app).await;
    assert_eq!(progress(&app, &staff, &id).await["offered"], 1, "nothing while paused");
    let (s, b) = app.send(app.http.post(url("resume")).bearer_auth(&staff)).await;
    assert_eq!((s, &b["paused"]), (200, &json!(false)), "{b}");
    tick(&app).await;
    assert_eq!(progress(&app, &staff, &id).await["offered"], 2, "on again after resuming");
    next_offer(&mut d1).await;
    next_offer(&mut d2).await;
}

#[tokio::test]
async fn a_device_downloads_only_an_image_offered_to_it_and_resumes_with_a_range() {
    let key = key();
    let app = fw_app(&key, 50).await;
    let staff = staff_token(&app).await;
    let (_, a, mut dev_a) =
        device(&app, "dl@example.com", "KK-C1", "1.0.0", Settings::default()).await;
    let (_, other, _dev_o) =
        device(&app, "o@example.com", "KK-D1", "1.0.0", Settings::default()).await;
    let (img, _) = released(&app, &staff, &key, 100, &[]).await;
    let url_of = |uid: &str| {
        app.url(&format!("/ingest/v1/{uid}/firmware/{}", img["id"].as_str().expect("id")))
    };
    // Not offered yet: not found, alike for every device.
    let r =
        app.http.get(url_of(&a.uid)).basic_auth(&a.uid, Some(&a.secret)).send().await.expect("get");
    assert_eq!(r.status(), 404);
    offer_round(&app).await;
    next_offer(&mut dev_a).await;
    let image = firmware_image("KK-C1", "1.1.0", 4000);
    let r =
        app.http.get(url_of(&a.uid)).basic_auth(&a.uid, Some(&a.secret)).send().await.expect("get");
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.expect("body").as_ref(), &image[..]);
    let r = app
        .http
        .get(url_of(&a.uid))
        .basic_auth(&a.uid, Some(&a.secret))
        .header("Range", "bytes=1000-")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 206);
    let range = r.headers()["content-range"].to_str().expect("header").to_string();
    assert_eq!(range, format!("bytes 1000-{}/{}", image.len() - 1, image.len()));
    assert_eq!(r.bytes().await.expect("body").as_ref(), &image[1000..]);
    let r = app
        .http
        .get(url_of(&a.uid))
        .basic_auth(&a.uid, Some(&a.secret))
        .header("Range", format!("bytes={}-", image.len()))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 416);
    // Wrong secret: 401; another device (another model, never offered it): 404.
    let r =
        app.http.get(url_of(&a.uid)).basic_auth(&a.uid, Some("wrong")).send().await.expect("get");
    assert_eq!(r.status(), 401);
    let r = app
        .http
        .get(url_of(&other.uid))
        .basic_auth(&other.uid, Some(&other.secret))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn progress_reports_move_the_update_on_and_a_rollback_is_a_failure_with_its_error() {
    let key = key();
    let app = fw_app(&key, 50).await;
    let staff = staff_token(&app).await;
    let (ta, a, mut dev_a) =
        device(&app, "ok@example.com", "KK-C1", "1.0.0", Settings::default()).await;
    let (tb, b, mut dev_b) =
        device(&app, "rb@example.com", "KK-C1", "1.0.0", Settings::default()).await;
    let (_, id) = released(&app, &staff, &key, 100, &[]).await;
    assert_eq!(offer_round(&app).await, 2);
    for (dev, creds) in [(&mut dev_a, &a), (&mut dev_b, &b)] {
        let cmd = next_offer(dev).await;
        dev.publish_json("ack", &json!({"id": cmd["id"], "ok": true, "error": null}))
            .await
            .expect("ack");
        let up = json!({"version": "1.1.0", "phase": "downloading", "percent": 50});
        report(&app, dev, creds, "1.0.0", Settings::default(), Some(up)).await;
    }
    let (s, f) = app.get_authed(&format!("/api/v1/devices/{}/firmware", a.uid), &ta).await;
    assert_eq!(s, 200, "{f}");
    assert_eq!(
        (f["installed"].as_str(), &f["update"]["phase"], &f["update"]["percent"]),
        (Some("1.0.0"), &json!("downloading"), &json!(50))
    );
    let done = json!({"version": "1.1.0", "phase": "confirmed", "percent": 100});
    report(&app, &dev_a, &a, "1.1.0", Settings::default(), Some(done)).await;
    let back = json!({"version": "1.1.0", "phase": "rolled-back", "percent": 100, "error": "health-check"});
    report(&app, &dev_b, &b, "1.0.0", Settings::default(), Some(back)).await;
    let p = progress(&app, &staff, &id).await;
    assert_eq!(
        (&p["phases"]["confirmed"], &p["phases"]["rolled-back"]),
        (&json!(1), &json!(1)),
        "{p}"
    );
    assert_eq!(
        p["failures"],
        json!([{"uid": b.uid, "phase": "rolled-back", "error": "health-check", "from_version": "1.0.0"}])
    );
    let (_, f) = app.get_authed(&format!("/api/v1/devices/{}/firmware", a.uid), &ta).await;
    assert_eq!(
        (&f["installed"], &f["update"]["phase"], &f["available"]),
        (&json!("1.1.0"), &json!("confirmed"), &Value::Null),
        "{f}"
    );
    let (_, f) = app.get_authed(&format!("/api/v1/devices/{}/firmware", b.uid), &tb).await;
    assert_eq!(
        (
            &f["installed"],
            &f["update"]["phase"],
            &f["update"]["error"],
            &f["update"]["from_version"]
        ),
        (&json!("1.0.0"), &json!("rolled-back"), &json!("health-check"), &json!("1.0.0")),
        "{f}"
    );
    // A rolled-back device is not offered the same image again by the rollout.
    assert_eq!(offer_round(&app).await, 0);
}

#[tokio::test]
async fn the_owner_installs_the_available_image_now_even_with_auto_update_off() {
    let key = key();
    let app = fw_app(&key, 50).await;
    let staff = staff_token(&app).await;
    let off = Settings { auto_update: false, ..Settings::default() };
    let (token, a, mut dev) = device(&app, "own@example.com", "KK-C1", "1.0.0", off.clone()).await;
    let (s, b) = put_settings(&app, &token, &a.uid, &off).await;
    assert!(s == 200 || s == 202, "{b}");
    let path = format!("/api/v1/devices/{}/firmware", a.uid);
    let update = app.url(&format!("{path}/update"));
    let (s, b) = app.send(app.http.post(&update).bearer_auth(&token)).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("no-firmware-update")), "{b}");
    let (_, id) = released(&app, &staff, &key, 100, &[]).await;
    assert_eq!(offer_round(&app).await, 0, "automatic updates are off");
    let (s, f) = app.get_authed(&path, &token).await;
    assert_eq!(
        (s, &f["auto_update"], &f["available"]["version"]),
        (200, &json!(false), &json!("1.1.0")),
        "{f}"
    );
    let req = tokio::spawn(app.http.post(&update).bearer_auth(&token).send());
    let cmd = next_offer(&mut dev).await;
    dev.publish_json("ack", &json!({"id": cmd["id"], "ok": true, "error": null}))
        .await
        .expect("ack");
    let resp = req.await.expect("task").expect("response");
    let status = resp.status();
    let body: Value = resp.json().await.expect("json");
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["update"]["version"], "1.1.0", "{body}");
    let (s, b) = app.send(app.http.post(&update).bearer_auth(&token)).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("firmware-update-running")), "{b}");
    // The owner's own update is not the rollout's.
    assert_eq!(progress(&app, &staff, &id).await["offered"], 0);
    // Another account sees no such device.
    let stranger = app.register("x@example.com", PW).await;
    let (s, _) = app.send(app.http.post(&update).bearer_auth(&stranger)).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn automatic_updates_are_on_by_default() {
    assert!(Settings::default().auto_update);
    let s: Settings = serde_json::from_value(json!({
        "indicator_light": true, "sd_recording": true, "white_light": false,
        "motion": Settings::default().motion, "video_quality": "auto", "working_mode": "continuous",
        "call_mode": "ring", "volume": 60, "picture": "normal"
    }))
    .expect("settings from before the switch");
    assert!(s.auto_update, "settings stored before the switch existed update automatically");
}

#[tokio::test]
async fn an_image_too_large_or_badly_named_is_refused_with_a_stable_code_and_nothing_kept() {
    let key = key();
    let public = key.public_key();
    let app = TestApp::spawn_with(move |c| {
        c.firmware.public_key = public;
        c.firmware.max_image_mib = 1;
    })
    .await;
    let staff = staff_token(&app).await;
    let blobs = app.blob_names().await.len();
    let big = firmware_image("KK-C1", "1.1.0", 1024 * 1024 + 1);
    let sig = key.sign("KK-C1", "1.1.0", &big);
    let (s, b) = upload(&app, &staff, "KK-C1", "1.1.0", &sig, big).await;
    assert_eq!((s, b["code"].as_str()), (413, Some("payload-too-large")), "{b}");
    let small = firmware_image("KK-C1", "1 1", 10);
    let sig = key.sign("KK-C1", "1 1", &small);
    let (s, b) = upload(&app, &staff, "KK-C1", "1 1", &sig, small).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-firmware")), "{b}");
    let (s, b) =
        upload(&app, &staff, "KK-C1", "1.1.0", &key.sign("KK-C1", "1.1.0", &[]), Vec::new()).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-firmware")), "{b}");
    let url = app.url("/api/v1/admin/firmware/images");
    let (s, list) = app.send(app.http.get(url).bearer_auth(&staff)).await;
    assert_eq!((s, list.as_array().map(Vec::len)), (200, Some(0)), "{list}");
    assert_eq!(app.blob_names().await.len(), blobs, "no blob was kept");
}
