//! A bound camera's network and its SD card from afar, with `kankan-cam` as the firmware: a
//! Wi-Fi change reaches an online camera sealed for it and keeps its owner and recordings (the
//! password stored nowhere); a camera that lost its network rejoins from a new QR code and
//! keeps its binding and settings; the card's footage is listed by day and played through the
//! server, which stores nothing of it; a member without `play-back` and an offline camera are
//! refused clearly.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kankan_base::{Shutdown, Timestamp};
use kankan_core::authz::{Capability, CapabilitySet};
use kankan_media::{Limits, StreamItem, StreamParser};
use kankan_protocol::device::Settings;
use kankan_sim::pairing::{Source, read_and_join};
use kankan_sim::{ClaimOutcome, Device, DeviceConfig};
use kankan_testkit::{TestApp, files_under};
use serde_json::{Value, json};

use crate::authz_routes::{account_id, insert_grant};
use crate::devices::{PW, eventually, put_settings};
use crate::live_on_demand::firmware_camera;
use crate::recording::{WAIT, link_for};

async fn app() -> TestApp {
    TestApp::spawn_with(|c| {
        c.recording.segment_secs = 2;
        c.recording.max_clock_skew_secs = 3600;
    })
    .await
}

fn wifi(app: &TestApp, token: &str, uid: &str, path: &str, body: Value) -> reqwest::RequestBuilder {
    app.http.post(app.url(&format!("/api/v1/devices/{uid}/{path}"))).bearer_auth(token).json(&body)
}

/// The main stream's segment rows of `uid`.
async fn segments(app: &TestApp, uid: &str) -> Vec<kankan_db::Segment> {
    let store = &app.running().services.store;
    store.segments(uid, 0, Timestamp(0), Timestamp(i64::MAX / 2), 10_000).await.expect("segments")
}

async fn segments_beyond(app: &TestApp, uid: &str, n: usize) -> Vec<kankan_db::Segment> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let segs = segments(app, uid).await;
        if segs.len() > n {
            return segs;
        }
        assert!(tokio::time::Instant::now() < deadline, "no segment beyond {n}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_wifi_change_keeps_the_owner_and_recordings_and_stores_no_password() {
    let app = app().await;
    let cam = firmware_camera(&app, "wifi@example.com", Some(false), None).await;
    let (token, uid) = (&cam.token, &cam.creds.uid);
    let before = segments_beyond(&app, uid, 0).await;
    let connections = cam.cam.as_ref().expect("video").status().connections;

    let (s, b) = app
        .send(wifi(
            &app,
            token,
            uid,
            "wifi",
            json!({"ssid": "Upstairs", "password": "kettle-lamp-77"}),
        ))
        .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("succeeded")), "{b}");
    let v = eventually(&app, token, uid, "the camera reports the new network", |v| {
        v["online"] == true && v["reported"]["ssid"] == "Upstairs"
    })
    .await;
    assert_eq!(v["role"], "owner", "the same owner: {v}");

    // The password is kept nowhere: not in the commands table, not on the camera's flash.
    let id: uuid::Uuid = b["id"].as_str().expect("id").parse().expect("uuid");
    let row = app.running().services.store.command(id).await.expect("q").expect("row");
    assert_eq!(row.args_json, r#"{"name":"wifi-set"}"#);
    let flash = std::fs::read_to_string(cam.dir.path().join("state/state.json")).expect("state");
    assert!(flash.contains("Upstairs") && !flash.contains("kettle-lamp"), "{flash}");

    // The recordings go on: what was recorded before is still there, and more comes.
    let after = segments_beyond(&app, uid, before.len() + 1).await;
    for s in &before {
        assert!(after.iter().any(|a| a.id == s.id), "segment {} kept", s.id);
    }
    let video = cam.cam.as_ref().expect("video").status();
    assert!(video.connections >= connections, "{video:?}");

    // Bad input and commands the generic route may not make are refused, nothing sent.
    let (s, b) = app
        .send(wifi(&app, token, uid, "wifi", json!({"ssid": "", "password": "kettle-lamp-77"})))
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-device-input")), "{b}");
    let (s, b) = app
        .send(wifi(&app, token, uid, "commands", json!({"name": "wifi-set", "sealed": "AAAA"})))
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-command")), "{b}");

    // A network sealed for another device (another pairing key) does not open on this one:
    // the camera refuses it and stays where it is.
    let other = kankan_crypto::pairing::pairing_key("another device's secret");
    let sealed = kankan_crypto::pairing::seal_wifi(uid, "Elsewhere", "kettle-lamp-77", &other)
        .expect("seal");
    let devices = &app.running().services.devices;
    let kind = kankan_protocol::device::CommandKind::WifiSet { sealed };
    let outcome = devices.send_to(uid, kind, WAIT).await.expect("sent");
    assert_eq!(outcome.status, kankan_devices::CommandStatus::Failed, "{outcome:?}");
    assert!(outcome.error.as_deref().is_some_and(|e| e.contains("not made for this device")));
    let v = eventually(&app, token, uid, "still on its network", |v| v["online"] == true).await;
    assert_eq!(v["reported"]["ssid"], "Upstairs");

    // An offline camera cannot be told: a clear code, and the app offers a rejoin code.
    cam.stop.trigger();
    eventually(&app, token, uid, "offline", |v| v["online"] == false).await;
    let (s, b) = app
        .send(wifi(
            &app,
            token,
            uid,
            "wifi",
            json!({"ssid": "Upstairs", "password": "kettle-lamp-77"}),
        ))
        .await;
    assert_eq!((s, b["code"].as_str()), (409, Some("device-offline")), "{b}");
}

#[tokio::test]
async fn a_camera_that_lost_its_network_rejoins_from_a_new_code_and_keeps_its_binding() {
    let app = app().await;
    let cam = firmware_camera(&app, "rejoin@example.com", None, None).await;
    let (token, uid) = (&cam.token, &cam.creds.uid);
    let wanted = Settings { volume: 15, ..Settings::default() };
    assert_eq!(put_settings(&app, token, uid, &wanted).await.0, 200);
    eventually(&app, token, uid, "settings applied", |v| v["in_sync"] == true).await;

    // Someone else (a member included) gets no code for it.
    let bob = app.register("bob@example.com", PW).await;
    let (owner, member) = (account_id(&app, token).await, account_id(&app, &bob).await);
    insert_grant(&app, uid, (owner, member), CapabilitySet::grantable(), None).await;
    let body = json!({"ssid": "New Router", "password": "orchard-lamp-88"});
    let (s, b) = app.send(wifi(&app, &bob, uid, "wifi/code", body.clone())).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("device-not-found")), "{b}");

    let (s, b) = app.send(wifi(&app, token, uid, "wifi/code", body)).await;
    assert_eq!(s, 201, "{b}");
    // The camera lost its network: it is off, then shown the QR code.
    cam.stop.trigger();
    eventually(&app, token, uid, "offline", |v| v["online"] == false).await;
    let png = STANDARD.decode(b["qr_png_base64"].as_str().expect("png")).expect("base64");
    let file = cam.dir.path().join("rejoin.png");
    std::fs::write(&file, png).expect("write");
    let state_dir = cam.dir.path().join("state");
    let secret = kankan_sim::state::current_secret(&state_dir, &cam.creds.secret).expect("secret");
    // Another device cannot use it.
    assert!(read_and_join(Source::Qr(&file), &cam.creds.secret).is_err(), "the old secret");
    let joined = read_and_join(Source::Qr(&file), &secret).expect("the camera reads the code");
    assert!(joined.rejoin);
    let mut cfg = DeviceConfig::new(uid, &cam.creds.secret, state_dir.clone());
    cfg.pairing = Some(joined.clone());
    cfg.timings.backoff.base = Duration::from_millis(50);
    let device = Device::new(cfg).expect("device");
    let handle = device.handle();
    let (stop, signal) = Shutdown::new();
    tokio::spawn(device.run(signal));
    handle
        .wait_for("the rejoin is accepted", WAIT, |s| s.claim == Some(ClaimOutcome::Accepted))
        .await
        .expect("accepted");
    let v = eventually(&app, token, uid, "back on the new network", |v| {
        v["online"] == true && v["reported"]["ssid"] == "New Router"
    })
    .await;
    assert_eq!(v["role"], "owner");
    assert_eq!(v["reported"]["settings"]["volume"], 15, "its settings kept: {v}");
    assert_eq!(handle.status().stored.settings_version, 1);
    stop.trigger();
    handle.wait_for("stopped", WAIT, |s| !s.connected).await.expect("stopped");

    // The token is single-use, and a new one expires like a bind token.
    let claim_with = |joined: kankan_sim::config::Joined| {
        let mut cfg = DeviceConfig::new(uid, &cam.creds.secret, state_dir.clone());
        cfg.pairing = Some(joined);
        let device = Device::new(cfg).expect("device");
        let handle = device.handle();
        let (stop, signal) = Shutdown::new();
        tokio::spawn(device.run(signal));
        async move {
            let s = handle.wait_for("the claim", WAIT, |s| s.claim.is_some()).await.expect("claim");
            stop.trigger();
            handle.wait_for("stopped", WAIT, |s| !s.connected).await.expect("stopped");
            s.claim
        }
    };
    let refused = Some(ClaimOutcome::Refused("invalid-token".into()));
    assert_eq!(claim_with(joined).await, refused, "used already");
    let body = json!({"ssid": "New Router", "password": "orchard-lamp-88"});
    let (s, b) = app.send(wifi(&app, token, uid, "wifi/code", body)).await;
    assert_eq!(s, 201, "{b}");
    std::fs::write(&file, STANDARD.decode(b["qr_png_base64"].as_str().expect("png")).expect("b64"))
        .expect("write");
    let secret = kankan_sim::state::current_secret(&state_dir, &cam.creds.secret).expect("secret");
    let late = read_and_join(Source::Qr(&file), &secret).expect("the camera reads the code");
    app.clock.advance(Duration::from_secs(11 * 60));
    assert_eq!(claim_with(late).await, refused, "expired after 10 minutes");
    let v = eventually(&app, token, uid, "still bound", |v| v["role"] == "owner").await;
    assert_eq!(v["reported"]["settings"]["volume"], 15);
}

/// Every file name under the data directory.
fn data_files(app: &TestApp) -> Vec<String> {
    let mut names: Vec<String> =
        files_under(app.data_dir()).into_iter().map(|p| p.display().to_string()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn the_card_is_listed_by_day_and_played_from_afar_and_nothing_is_stored() {
    let app = app().await;
    // On demand: the camera uploads nothing unless someone watches live.
    let cam = firmware_camera(&app, "card@example.com", Some(true), None).await;
    let (token, uid) = (&cam.token, &cam.creds.uid);
    let video = cam.cam.clone().expect("video");
    video.wait_for("6 s on the card", WAIT, |s| s.made_ms >= 6_000).await.expect("recorded");
    let files_before = data_files(&app);

    let asked = std::time::Instant::now();
    let (s, day) = app.get_authed(&format!("/api/v1/devices/{uid}/card"), token).await;
    assert_eq!(s, 200, "{day}");
    eprintln!("card listing answered in {:?}", asked.elapsed());
    let own = video.card_spans(0, i64::MAX / 2);
    let spans = day["spans"].as_array().expect("spans");
    assert!(!spans.is_empty() && !own.is_empty(), "{day}");
    assert_eq!(spans[0]["start_ms"], own[0].start_ms, "the listing is the card's: {day}");
    assert!(spans[0]["end_ms"].as_i64().expect("end") <= own[0].end_ms);
    assert_eq!(day["days"].as_array().map(Vec::len), Some(1), "{day}");
    assert_eq!(day["card"]["status"], "ok", "the card's state: {day}");
    let (s, b) = app.get_authed(&format!("/api/v1/devices/{uid}/card?day=2020-13-01"), token).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-range")), "{b}");

    let from = own[0].start_ms + 1_000;
    let (t, base) = link_for(&app, token, uid, "playback").await;
    let url = app.url(&format!("{base}/card.mp4?t={t}&from={from}&to={}", from + 3_000));
    let asked = std::time::Instant::now();
    let resp = app.http.get(url).send().await.expect("card playback");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "video/mp4");
    let bytes = resp.bytes().await.expect("body");
    eprintln!("3 s of card footage ({} bytes) relayed in {:?}", bytes.len(), asked.elapsed());
    let mut parser = StreamParser::new(Limits::default());
    let items = parser.push(&bytes).expect("fMP4");
    let Some(StreamItem::Init(init)) = items.first() else { panic!("an init segment first") };
    assert!(init.video().expect("video").codec.starts_with("avc1"), "H.264");
    let frags: Vec<_> = items
        .iter()
        .filter_map(|i| if let StreamItem::Fragment(f) = i { Some(f) } else { None })
        .collect();
    assert!(frags.len() >= 20, "about 3 s of frames: {}", frags.len());
    assert!(frags[0].starts_with_keyframe(init), "it starts at a keyframe");

    // The playback is in the device's access log, as any playback.
    let (s, log) = app.get_authed(&format!("/api/v1/devices/{uid}/access-log"), token).await;
    assert_eq!(s, 200, "{log}");
    let kinds: Vec<&str> =
        log.as_array().expect("entries").iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.contains(&"playback"), "{log}");

    // Nothing of it stayed on the server: no new file, no segment.
    assert_eq!(data_files(&app), files_before, "the data directory is unchanged");
    assert!(segments(&app, uid).await.is_empty());
    let store = &app.running().services.store;
    assert!(store.media_key(uid).await.expect("key").is_none(), "not even a data key");

    // A member who may watch live but not play back gets nothing.
    let bob = app.register("member@example.com", PW).await;
    let (owner, member) = (account_id(&app, token).await, account_id(&app, &bob).await);
    let caps = CapabilitySet::member_default();
    assert!(!caps.contains(Capability::PlayBack));
    insert_grant(&app, uid, (owner, member), caps, None).await;
    let (s, b) = app.get_authed(&format!("/api/v1/devices/{uid}/card"), &bob).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("device-not-found")), "{b}");

    // An offline camera: a clear code.
    cam.stop.trigger();
    eventually(&app, token, uid, "offline", |v| v["online"] == false).await;
    let (s, b) = app.get_authed(&format!("/api/v1/devices/{uid}/card"), token).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("device-offline")), "{b}");
    let url = app.url(&format!("{base}/card.mp4?t={t}&from={from}&to={}", from + 3_000));
    let (s, b) = app.send(app.http.get(url)).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("device-offline")), "{b}");
}
