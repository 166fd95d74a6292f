//! Devices over the real ports: provisioning, pairing and claiming over MQTT, the shadow,
//! commands, presence and unbinding. The device here is a bare MQTT client so hostile input
//! can be sent as well.

use std::time::Duration;

use kankan_crypto::pairing::{open_pairing, pairing_from_qr_text, pairing_key, token_text};
use kankan_protocol::device::Settings;
use kankan_testkit::{TestApp, TestDevice, state_report};
use serde_json::{Value, json};

pub const PW: &str = "plum-garden-kettle-42";

/// A provisioned device's credentials.
pub struct Creds {
    pub uid: String,
    pub model: String,
    pub secret: String,
}

pub async fn provision(app: &TestApp, model: &str) -> Creds {
    let made = app.running().services.devices.provision(model, 1, "test").await.expect("provision");
    Creds { uid: made[0].uid.clone(), model: made[0].model.clone(), secret: made[0].secret.clone() }
}

/// Starts pairing over the API and returns the response body.
pub async fn start_pairing(app: &TestApp, token: &str, uid: &str) -> (u16, Value) {
    app.send(
        app.http
            .post(app.url("/api/v1/devices/pairings"))
            .bearer_auth(token)
            .json(&json!({"uid": uid, "ssid": "Home WiFi", "wifi_password": "wifi-secret-99"})),
    )
    .await
}

/// Pairs and claims: returns the connected device, bound to the user of `token`.
pub async fn bind(app: &TestApp, token: &str, creds: &Creds) -> TestDevice {
    let (s, body) = start_pairing(app, token, &creds.uid).await;
    assert_eq!(s, 201, "{body}");
    let bytes = pairing_from_qr_text(body["qr_text"].as_str().expect("qr")).expect("qr text");
    let payload = open_pairing(&bytes, &pairing_key(&creds.secret)).expect("device opens it");
    assert_eq!(payload.ssid, "Home WiFi");
    // MQTT over TLS by default, and the code carries the key the device pins.
    assert_eq!(payload.server, app.device_server());
    assert_eq!(payload.pin, app.pin());
    let mut dev =
        TestDevice::connect(app.mqtt_addr(), &creds.uid, &creds.secret).await.expect("connect");
    dev.publish_json("claim", &json!({"token": token_text(&payload.token)})).await.expect("claim");
    let result = dev.next_on("claim/result").await.expect("claim result");
    assert_eq!(result, json!({"ok": true, "code": null}));
    dev
}

/// PUTs desired settings for `uid`.
pub async fn put_settings(
    app: &TestApp,
    token: &str,
    uid: &str,
    settings: &Settings,
) -> (u16, Value) {
    app.send(
        app.http
            .put(app.url(&format!("/api/v1/devices/{uid}/settings")))
            .bearer_auth(token)
            .json(settings),
    )
    .await
}

pub async fn device_info(app: &TestApp, token: &str, uid: &str) -> Value {
    let (s, b) = app.get_authed(&format!("/api/v1/devices/{uid}"), token).await;
    assert_eq!(s, 200, "{b}");
    b
}

pub async fn eventually(
    app: &TestApp,
    token: &str,
    uid: &str,
    what: &str,
    cond: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let v = device_info(app, token, uid).await;
        if cond(&v) {
            return v;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting until {what}: {v}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_paired_device_claims_its_token_and_appears_online_with_its_state() {
    let app = TestApp::spawn().await;
    let token = app.register("owner@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let dev = bind(&app, &token, &creds).await;
    let (s, list) = app.get_authed("/api/v1/devices", &token).await;
    assert_eq!(s, 200);
    assert_eq!(list.as_array().expect("array").len(), 1);
    dev.publish_json("state", &state_report(1, json!(Settings::default()), 0))
        .await
        .expect("state");
    let v =
        eventually(&app, &token, &creds.uid, "state arrives", |v| !v["reported"].is_null()).await;
    assert_eq!(v["online"], true);
    assert_eq!(v["reported"]["ssid"], "Home");
    assert_eq!(v["kind"], "camera");
}

#[tokio::test]
async fn the_wifi_password_is_sealed_for_the_device_and_absent_from_the_pairing_codes() {
    let app = TestApp::spawn().await;
    let token = app.register("p@example.com", PW).await;
    let creds = provision(&app, "KK-D1").await;
    let other = provision(&app, "KK-D1").await;
    let (_, body) = start_pairing(&app, &token, &creds.uid).await;
    let bytes = pairing_from_qr_text(body["qr_text"].as_str().expect("qr")).expect("qr text");
    assert!(!bytes.windows(11).any(|w| w == b"wifi-secret"), "the password is not in clear");
    assert!(open_pairing(&bytes, &pairing_key(&other.secret)).is_err());
    use base64::Engine as _;
    let wav = base64::engine::general_purpose::STANDARD
        .decode(body["sound_wav_base64"].as_str().expect("wav"))
        .expect("base64");
    let (samples, rate) = kankan_sonic::read_wav(&wav).expect("a WAV file");
    assert_eq!(kankan_sonic::decode(&samples, rate).expect("decodes"), bytes);
    let png = base64::engine::general_purpose::STANDARD
        .decode(body["qr_png_base64"].as_str().expect("png"))
        .expect("base64");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

#[tokio::test]
async fn settings_go_to_the_device_and_the_shadow_shows_when_it_has_applied_them() {
    let app = TestApp::spawn().await;
    let token = app.register("s@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let mut dev = bind(&app, &token, &creds).await;
    let mut wanted = Settings::default();
    wanted.motion.sensitivity = 80;
    wanted.indicator_light = false;
    let (s, b) = put_settings(&app, &token, &creds.uid, &wanted).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!((b["desired_version"].as_u64(), b["in_sync"].as_bool()), (Some(1), Some(false)));
    let desired = dev.next_on("desired").await.expect("desired");
    assert_eq!(desired["version"], 1);
    assert_eq!(desired["settings"]["motion"]["sensitivity"], 80);
    dev.publish_json("state", &state_report(2, desired["settings"].clone(), 1))
        .await
        .expect("state");
    let v = eventually(&app, &token, &creds.uid, "in sync", |v| v["in_sync"] == true).await;
    assert_eq!(v["reported"]["settings"]["indicator_light"], false);
}

#[tokio::test]
async fn a_device_that_reconnects_gets_its_desired_settings_again() {
    let app = TestApp::spawn().await;
    let token = app.register("r@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let dev = bind(&app, &token, &creds).await;
    let wanted = Settings { volume: 7, ..Settings::default() };
    put_settings(&app, &token, &creds.uid, &wanted).await;
    dev.disconnect().await.expect("disconnect");
    let mut again =
        TestDevice::connect(app.mqtt_addr(), &creds.uid, &creds.secret).await.expect("reconnect");
    let desired = again.next_on("desired").await.expect("desired after reconnect");
    assert_eq!(desired["settings"]["volume"], 7);
}

#[tokio::test]
async fn a_command_is_acknowledged_by_the_device() {
    let app = TestApp::spawn().await;
    let token = app.register("c@example.com", PW).await;
    let creds = provision(&app, "KK-C2").await;
    let mut dev = bind(&app, &token, &creds).await;
    let url = app.url(&format!("/api/v1/devices/{}/commands", creds.uid));
    let request = app
        .http
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"name": "ptz-move", "pan": 3, "tilt": -1}))
        .send();
    let answer = tokio::spawn(request);
    let cmd = dev.next_on("cmd").await.expect("command");
    assert_eq!(cmd["command"], json!({"name": "ptz-move", "pan": 3, "tilt": -1}));
    dev.publish_json("ack", &json!({"id": cmd["id"], "ok": true, "error": null}))
        .await
        .expect("ack");
    let resp = answer.await.expect("task").expect("response");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["status"], "succeeded");
}

#[tokio::test]
async fn an_unanswered_command_is_pending_then_times_out() {
    let app = TestApp::spawn().await;
    let token = app.register("t@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _dev = bind(&app, &token, &creds).await;
    let (s, b) = app
        .send(
            app.http
                .post(app.url(&format!("/api/v1/devices/{}/commands", creds.uid)))
                .bearer_auth(&token)
                .json(&json!({"name": "reboot"})),
        )
        .await;
    assert_eq!((s, b["status"].as_str()), (202, Some("sent")));
    app.clock.advance(Duration::from_secs(31));
    let id = b["id"].as_str().expect("id");
    let (s, b) =
        app.get_authed(&format!("/api/v1/devices/{}/commands/{id}", creds.uid), &token).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("timed-out")));
}

#[tokio::test]
async fn a_failed_command_reports_the_devices_reason() {
    let app = TestApp::spawn().await;
    let token = app.register("f@example.com", PW).await;
    let creds = provision(&app, "KK-C2").await;
    let mut dev = bind(&app, &token, &creds).await;
    let url = app.url(&format!("/api/v1/devices/{}/commands", creds.uid));
    let answer = tokio::spawn(
        app.http
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({"name": "preset-goto", "slot": 3}))
            .send(),
    );
    let cmd = dev.next_on("cmd").await.expect("command");
    dev.publish_json("ack", &json!({"id": cmd["id"], "ok": false, "error": "preset 3 is not set"}))
        .await
        .expect("ack");
    let body: Value = answer.await.expect("task").expect("resp").json().await.expect("json");
    assert_eq!(
        (body["status"].as_str(), body["error"].as_str()),
        (Some("failed"), Some("preset 3 is not set"))
    );
}

#[tokio::test]
async fn unbinding_deletes_the_device_data_and_lets_a_new_owner_bind_it() {
    let app = TestApp::spawn().await;
    let first = app.register("u1@example.com", PW).await;
    let second = app.register("u2@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let dev = bind(&app, &first, &creds).await;
    dev.publish_json("state", &state_report(1, json!(Settings::default()), 0))
        .await
        .expect("state");
    eventually(&app, &first, &creds.uid, "state", |v| !v["reported"].is_null()).await;
    let (s, _) = start_pairing(&app, &second, &creds.uid).await;
    assert_eq!(s, 404, "a bound device cannot be paired by someone else");
    let (s, _) = app
        .send(
            app.http.delete(app.url(&format!("/api/v1/devices/{}", creds.uid))).bearer_auth(&first),
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(app.get_authed("/api/v1/devices", &first).await.1, json!([]));
    drop(dev);
    let _dev = bind(&app, &second, &creds).await;
    let v = device_info(&app, &second, &creds.uid).await;
    assert!(v["reported"].is_null(), "nothing of the first owner's data remains: {v}");
}

#[tokio::test]
async fn expired_reused_and_foreign_tokens_are_refused_by_claim_result() {
    let app = TestApp::spawn().await;
    let token = app.register("x@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let other = provision(&app, "KK-C1").await;
    let (_, body) = start_pairing(&app, &token, &creds.uid).await;
    let bytes = pairing_from_qr_text(body["qr_text"].as_str().expect("qr")).expect("qr");
    let payload = open_pairing(&bytes, &pairing_key(&creds.secret)).expect("open");
    let claim = json!({"token": token_text(&payload.token)});
    // Another device presenting this device's token is refused.
    let mut thief =
        TestDevice::connect(app.mqtt_addr(), &other.uid, &other.secret).await.expect("c");
    thief.publish_json("claim", &claim).await.expect("claim");
    assert_eq!(thief.next_on("claim/result").await.expect("r")["code"], "invalid-token");
    // Expired.
    app.clock.advance(Duration::from_secs(10 * 60 + 1));
    let mut dev = TestDevice::connect(app.mqtt_addr(), &creds.uid, &creds.secret).await.expect("c");
    dev.publish_json("claim", &claim).await.expect("claim");
    assert_eq!(dev.next_on("claim/result").await.expect("r")["code"], "invalid-token");
    // A fresh token works once; the second use is refused.
    drop(dev);
    let dev = bind(&app, &token, &creds).await;
    drop(dev);
    let mut dev = TestDevice::connect(app.mqtt_addr(), &creds.uid, &creds.secret).await.expect("c");
    dev.publish_json("claim", &claim).await.expect("claim");
    assert_eq!(dev.next_on("claim/result").await.expect("r")["ok"], false);
}

#[tokio::test]
async fn malformed_device_messages_are_refused_and_counted_without_stopping_anything() {
    let app = TestApp::spawn().await;
    let token = app.register("m@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let dev = bind(&app, &token, &creds).await;
    for (topic, payload) in [
        ("state", b"{not json".to_vec()),
        ("state", br#"{"seq":1}"#.to_vec()),
        ("ack", br#"{"id":"nope","ok":true,"error":null}"#.to_vec()),
        ("presence", b"sideways".to_vec()),
        (
            "event",
            br#"{"type":"motion","phase":"sideways","at_ms":1,"started_ms":1,"zone":null}"#
                .to_vec(),
        ),
        (
            "event",
            br#"{"type":"motion","phase":"end","at_ms":1,"started_ms":5,"zone":null}"#.to_vec(),
        ),
        ("event", br#"{"type":"explosion"}"#.to_vec()),
        ("event", br#"{"type":"press"}"#.to_vec()),
        ("event", br#"{"type":"tamper","at_ms":"soon"}"#.to_vec()),
        ("event", br#"{"type":"tamper","at_ms":-5}"#.to_vec()),
        // A camera has no doorbell button.
        ("event", br#"{"type":"press","at_ms":5}"#.to_vec()),
    ] {
        dev.publish(topic, payload).await.expect("publish");
    }
    // A valid event from a device nobody owns: nobody may see it, so it is refused.
    let stray = provision(&app, "KK-C1").await;
    let unbound =
        TestDevice::connect(app.mqtt_addr(), &stray.uid, &stray.secret).await.expect("connects");
    let motion =
        json!({"type": "motion", "phase": "start", "at_ms": 1, "started_ms": 1, "zone": null});
    unbound.publish_json("event", &motion).await.expect("publish");
    dev.publish_json("state", &state_report(9, json!(Settings::default()), 0)).await.expect("good");
    eventually(&app, &token, &creds.uid, "the good state after bad ones", |v| {
        v["reported"]["seq"] == 9
    })
    .await;
    // Eleven refused by the server; the embedded broker owns presence, so a device's own
    // presence payload never reaches it. (Two connections: wait for the other one's too.)
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let metrics =
            app.http.get(app.url("/metrics")).send().await.expect("m").text().await.expect("t");
        let refused: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix("kankan_device_messages_refused_total "))
            .expect("metric present")
            .parse()
            .expect("number");
        if refused >= 11 || std::time::Instant::now() > deadline {
            assert_eq!(refused, 11, "{metrics}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_device_with_a_wrong_secret_cannot_connect() {
    let app = TestApp::spawn().await;
    let creds = provision(&app, "KK-C1").await;
    assert!(TestDevice::connect(app.mqtt_addr(), &creds.uid, "not-the-secret").await.is_err());
    assert!(TestDevice::connect(app.mqtt_addr(), &creds.uid, &creds.secret).await.is_ok());
}

#[tokio::test]
async fn invalid_settings_and_commands_get_clear_errors() {
    let app = TestApp::spawn().await;
    let token = app.register("v@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _dev = bind(&app, &token, &creds).await;
    let mut bad = json!(Settings::default());
    bad["motion"]["sensitivity"] = json!(0);
    let put = |body: Value| {
        app.http
            .put(app.url(&format!("/api/v1/devices/{}/settings", creds.uid)))
            .bearer_auth(&token)
            .json(&body)
    };
    let (s, b) = app.send(put(bad)).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-sensitivity")));
    let mut bad = json!(Settings::default());
    bad["volume"] = json!(101);
    let (s, b) = app.send(put(bad)).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-settings")));
    let (s, b) = app.send(put(json!({"volume": 5}))).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-body")));
    let post = |body: Value| {
        app.http
            .post(app.url(&format!("/api/v1/devices/{}/commands", creds.uid)))
            .bearer_auth(&token)
            .json(&body)
    };
    let (s, b) = app.send(post(json!({"name": "self-destruct"}))).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-body")));
    let (s, b) = app.send(post(json!({"name": "ptz-move", "pan": 50, "tilt": 0}))).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-command")));
    let (s, b) = start_pairing(&app, &token, "not a uid").await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-device-input")));
    let (s, b) = start_pairing(&app, &token, "KKNOSUCHDEV1").await;
    assert_eq!((s, b["code"].as_str()), (404, Some("device-not-found")));
}

#[tokio::test]
async fn device_state_is_not_stored_in_clear() {
    let app = TestApp::spawn().await;
    let token = app.register("clear@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let dev = bind(&app, &token, &creds).await;
    dev.publish_json("state", &state_report(1, json!(Settings::default()), 0))
        .await
        .expect("state");
    eventually(&app, &token, &creds.uid, "state", |v| !v["reported"].is_null()).await;
    let stored = app.stored_bytes().await;
    for (place, bytes) in &stored {
        for needle in ["192.168.1.20", "02:00:00:00:00:01", "wifi-secret-99"] {
            let n = needle.as_bytes();
            assert!(!bytes.windows(n.len()).any(|w| w == n), "{needle} in clear in {place}");
        }
    }
    let scanned = stored.len();
    assert!(scanned >= 3, "the database's values, the key and the log were scanned");
}
