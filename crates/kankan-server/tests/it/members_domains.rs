//! Every domain answers a member of a household through the one device decision: a camera
//! shared with the default capabilities is watched live (with the member's own alarm
//! preferences) and nothing more; each capability the owner adds opens exactly its domain
//! (playback, download, talk, PTZ, settings), and what a member saves of a shared camera (an
//! Album screenshot or clip) is the member's own; unbinding and sharing stay the owner's. The
//! owner's access log lists who watched live, played back, downloaded or talked, and when, for
//! 30 days of the server's clock.

use std::time::Duration;

use futures_util::StreamExt as _;
use kankan_base::{Clock as _, Shutdown, Timestamp};
use kankan_core::authz::{Capability, CapabilitySet};
use kankan_protocol::device::Settings;
use kankan_sim::video::{self, VideoHandle};
use kankan_testkit::{TestApp, TestDevice};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::authz_routes::{account_id, insert_grant};
use crate::devices::{Creds, PW, bind, provision};
use crate::notify::call;
use crate::recording::{
    WAIT, get_bytes, link_for, recorded_ms, recording_app, small_video, timeline_until,
};
use crate::webrtc::until_live;
use crate::webrtc_peer::Peer;

/// An owner's streaming camera: its MQTT side (which receives commands and settings) and its
/// video side (`kankan_sim`), streaming to the real ingest port.
struct Household {
    owner: String,
    creds: Creds,
    dev: TestDevice,
    cam: VideoHandle,
    stop: Shutdown,
}

async fn household(app: &TestApp, who: &str) -> Household {
    let owner = app.register(who, PW).await;
    let creds = provision(app, "KK-C1").await;
    let dev = bind(app, &owner, &creds).await;
    let (stop, signal) = Shutdown::new();
    let cam = video::start(small_video(&app.base_url, &creds), signal).expect("camera starts");
    Household { owner, creds, dev, cam, stop }
}

/// Registers `who`, gives it a nickname and a live grant of `caps` on the owner's camera `uid`
/// (as the owner's sharing stores it); returns its session token.
async fn member(app: &TestApp, owner: &str, uid: &str, who: &str, caps: CapabilitySet) -> String {
    let token = app.register(who, PW).await;
    let nickname = who.split('@').next().expect("a name");
    let (s, b) =
        call(app, "PATCH", "/api/v1/me", &token, Some(json!({"nickname": nickname}))).await;
    assert_eq!(s, 200, "{b}");
    let pair = (account_id(app, owner).await, account_id(app, &token).await);
    insert_grant(app, uid, pair, caps, None).await;
    token
}

fn with(c: Capability) -> CapabilitySet {
    CapabilitySet::member_default() | c
}

fn code((s, b): (u16, Value)) -> (u16, Option<String>) {
    (s, b["code"].as_str().map(String::from))
}

fn not_found() -> (u16, Option<String>) {
    (404, Some("device-not-found".to_string()))
}

/// Requests only the owner or a holder of a capability a default member lacks may make.
fn beyond_default(uid: &str) -> Vec<(&'static str, String, Option<Value>)> {
    let link = format!("/api/v1/devices/{uid}/recordings/link");
    vec![
        ("GET", format!("/api/v1/devices/{uid}/recordings/timeline"), None),
        ("POST", link.clone(), Some(json!({"purpose": "playback"}))),
        ("POST", link, Some(json!({"purpose": "talk"}))),
        ("POST", "/api/v1/album/screenshots".into(), Some(json!({"device": uid}))),
        ("POST", "/api/v1/album/clips".into(), Some(json!({"device": uid, "seconds": 2}))),
        (
            "POST",
            format!("/api/v1/devices/{uid}/commands"),
            Some(json!({"name": "ptz-move", "pan": 1, "tilt": 0})),
        ),
        ("POST", format!("/api/v1/devices/{uid}/commands"), Some(json!({"name": "reboot"}))),
        ("PUT", format!("/api/v1/devices/{uid}/settings"), Some(json!(Settings::default()))),
        ("PATCH", format!("/api/v1/devices/{uid}"), Some(json!({"name": "Mine"}))),
    ]
}

/// What no member may do, whatever it holds: unbind, or see and change who shares the camera.
fn owner_only(uid: &str) -> Vec<(&'static str, String, Option<Value>)> {
    vec![
        ("DELETE", format!("/api/v1/devices/{uid}"), None),
        ("GET", format!("/api/v1/devices/{uid}/access-log"), None),
    ]
}

async fn refused(app: &TestApp, token: &str, reqs: &[(&'static str, String, Option<Value>)]) {
    for (method, path, body) in reqs {
        let got = code(call(app, method, path, token, body.clone()).await);
        assert_eq!(got, not_found(), "{method} {path} {body:?}");
    }
}

/// Opens the live socket with `token`'s live link and waits for a video fragment.
async fn watches_live(app: &TestApp, token: &str, uid: &str) {
    let (lt, base) = link_for(app, token, uid, "live").await;
    let url = app.url(&format!("{base}/live?t={lt}")).replacen("http://", "ws://", 1);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("the live socket opens");
    let first = tokio::time::timeout(WAIT, ws.next()).await.expect("in time");
    assert!(matches!(first, Some(Ok(Message::Binary(_)))), "video flows: {first:?}");
    let next = tokio::time::timeout(WAIT, ws.next()).await.expect("in time");
    assert!(matches!(next, Some(Ok(Message::Binary(_)))), "and goes on: {next:?}");
}

async fn album_ids(app: &TestApp, token: &str) -> Vec<String> {
    let (s, b) = app.get_authed("/api/v1/album", token).await;
    assert_eq!(s, 200, "{b}");
    let items = b.as_array().expect("a list");
    items.iter().map(|i| i["id"].as_str().expect("id").to_string()).collect()
}

#[tokio::test]
async fn a_default_member_watches_live_and_reaches_nothing_else() {
    let app = recording_app().await;
    let h = household(&app, "owner@example.com").await;
    let uid = h.creds.uid.clone();
    let friend =
        member(&app, &h.owner, &uid, "friend@example.com", CapabilitySet::member_default()).await;
    h.cam.wait_for("streaming", WAIT, |s| s.sent_live >= 2).await.expect("live");
    until_live(&app, &uid).await;

    let (s, b) = app.get_authed(&format!("/api/v1/devices/{uid}"), &friend).await;
    assert_eq!(s, 200, "a member sees the camera: {b}");
    watches_live(&app, &friend, &uid).await;
    // A live link opens nothing recorded: no playlist, export or snapshot.
    let (lt, base) = link_for(&app, &friend, &uid, "live").await;
    for what in ["playlist.m3u8?from=0&to=1000", "export.mp4?from=0&to=1000", "snapshot.jpg?at=0"] {
        let (s, body, _) = get_bytes(&app, &format!("{base}/{what}&t={lt}")).await;
        let body: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!((s, body["code"].as_str()), (403, Some("wrong-link-purpose")), "{what}");
    }
    refused(&app, &friend, &beyond_default(&uid)).await;
    refused(&app, &friend, &owner_only(&uid)).await;
    // Its alarms: the member's own preferences for the camera (a snooze of its own).
    let snooze = format!("/api/v1/devices/{uid}/snooze");
    let (s, b) = call(&app, "POST", &snooze, &friend, Some(json!({"minutes": 30}))).await;
    assert_eq!(s, 200, "{b}");
    let notifications = format!("/api/v1/devices/{uid}/notifications");
    let (s, mine) = app.get_authed(&notifications, &friend).await;
    assert!(s == 200 && mine["snoozed_until_ms"].is_i64(), "{mine}");
    let (s, theirs) = app.get_authed(&notifications, &h.owner).await;
    assert!(s == 200 && theirs["snoozed_until_ms"].is_null(), "the owner's stay: {theirs}");
    assert!(album_ids(&app, &friend).await.is_empty(), "nothing was saved");
    let (s, b) = app.get_authed(&format!("/api/v1/devices/{uid}"), &h.owner).await;
    assert_eq!((s, b["name"].is_null()), (200, true), "the owner's camera is untouched: {b}");
    h.stop.trigger();
    drop(h.cam);
    app.stop().await;
}

#[tokio::test]
async fn each_added_capability_opens_its_domain_and_a_members_screenshot_is_its_own() {
    let app = recording_app().await;
    let mut h = household(&app, "owner@example.com").await;
    let uid = h.creds.uid.clone();
    let viewer =
        member(&app, &h.owner, &uid, "viewer@example.com", with(Capability::PlayBack)).await;
    let saver = member(&app, &h.owner, &uid, "saver@example.com", with(Capability::Download)).await;
    let mover = member(&app, &h.owner, &uid, "mover@example.com", with(Capability::MovePtz)).await;
    let tuner =
        member(&app, &h.owner, &uid, "tuner@example.com", with(Capability::ChangeSettings)).await;
    let talker = member(&app, &h.owner, &uid, "talker@example.com", with(Capability::Talk)).await;
    let everything = CapabilitySet::grantable();
    let trusted = member(&app, &h.owner, &uid, "trusted@example.com", everything).await;

    // Play-back: the recorded footage through the timeline and the HLS playlist.
    let t = timeline_until(&app, &viewer, &uid, "4 s recorded", |t| recorded_ms(t) >= 4_000).await;
    let span = &t["spans"][0];
    let (from, to) = (span["start_ms"].as_i64().expect("start"), span["end_ms"].as_i64());
    let to = to.expect("end");
    let (lt, base) = link_for(&app, &viewer, &uid, "playback").await;
    let (s, list, _) =
        get_bytes(&app, &format!("{base}/playlist.m3u8?from={from}&to={to}&t={lt}")).await;
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&list));
    let list = String::from_utf8(list).expect("text");
    let seg = list.lines().find(|l| l.starts_with("seg/")).expect("a segment");
    let (s, bytes, ctype) = get_bytes(&app, &format!("{base}/{seg}")).await;
    assert_eq!((s, ctype.as_str()), (200, "video/iso.segment"));
    assert!(bytes.windows(4).any(|w| w == b"mdat"), "a decrypted fragment");
    // ...and its link downloads nothing.
    let (s, _, _) = get_bytes(&app, &format!("{base}/export.mp4?from={from}&to={to}&t={lt}")).await;
    assert_eq!(s, 403, "play-back is not download");
    refused(&app, &viewer, &beyond_default(&uid)[2..]).await;

    // Download: an MP4 export and an Album screenshot, which is the member's own.
    let (lt, base) = link_for(&app, &saver, &uid, "playback").await;
    let (s, mp4, ctype) =
        get_bytes(&app, &format!("{base}/export.mp4?from={from}&to={to}&t={lt}")).await;
    assert_eq!((s, ctype.as_str()), (200, "video/mp4"));
    assert_eq!(&mp4[4..8], b"ftyp");
    let (s, b, _) =
        get_bytes(&app, &format!("{base}/playlist.m3u8?from={from}&to={to}&t={lt}")).await;
    assert_eq!(s, 403, "download is not play-back: {}", String::from_utf8_lossy(&b));
    let (s, shot) =
        call(&app, "POST", "/api/v1/album/screenshots", &saver, Some(json!({"device": uid}))).await;
    assert_eq!(s, 201, "{shot}");
    let id = shot["id"].as_str().expect("id").to_string();
    assert_eq!(album_ids(&app, &saver).await, vec![id.as_str()], "in the member's Album");
    assert!(album_ids(&app, &h.owner).await.is_empty(), "not in the owner's");
    let content = format!("/api/v1/album/{id}/content");
    // Sealed under the member's key: the member's own key opens it...
    let r = app.http.get(app.url(&content)).bearer_auth(&saver).send().await.expect("request");
    assert_eq!(r.status().as_u16(), 200);
    let jpeg = r.bytes().await.expect("body");
    let img = image::load_from_memory(&jpeg).expect("a decodable JPEG");
    assert_eq!((img.width(), img.height()), (320, 180));
    // ...and the owner does not reach it.
    assert_eq!(code(app.get_authed(&content, &h.owner).await), (404, Some("not-found".into())));
    let (s, b) = call(&app, "DELETE", &format!("/api/v1/album/{id}"), &h.owner, None).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("not-found")));
    let (saver_id, owner_id) = (account_id(&app, &saver).await, account_id(&app, &h.owner).await);
    let store = app.running().services.store.clone();
    let item = store.album_items(saver_id, 10).await.expect("items");
    assert_eq!(item.len(), 1, "stored as the member's");
    assert!(store.album_items(owner_id, 10).await.expect("items").is_empty());
    // A clip of the recorded footage is the member's too.
    let body = Some(json!({"device": uid, "seconds": 2}));
    let (s, clip) = call(&app, "POST", "/api/v1/album/clips", &saver, body).await;
    assert_eq!((s, clip["kind"].as_str()), (201, Some("clip")), "{clip}");
    assert_eq!(album_ids(&app, &saver).await.len(), 2);
    assert!(album_ids(&app, &h.owner).await.is_empty(), "not in the owner's");
    // The owner's access log shows the playback and the downloads (the export, the
    // screenshot and the clip are one entry: within 5 minutes).
    let (s, log) = app.get_authed(&format!("/api/v1/devices/{uid}/access-log"), &h.owner).await;
    assert_eq!(s, 200, "{log}");
    let seen: Vec<_> = log
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| (e["nickname"].as_str().unwrap_or("-"), e["kind"].as_str().unwrap_or("-")))
        .collect();
    assert_eq!(seen, [("saver", "download"), ("viewer", "playback")], "{log}");

    // Move-ptz: the command reaches the camera.
    let path = format!("/api/v1/devices/{uid}/commands");
    let ptz = json!({"name": "ptz-move", "pan": 2, "tilt": -1});
    let answer = tokio::spawn({
        let req = app.http.post(app.url(&path)).bearer_auth(&mover).json(&ptz);
        req.send()
    });
    let cmd = h.dev.next_on("cmd").await.expect("the command reaches the camera");
    assert_eq!(cmd["command"], ptz);
    h.dev
        .publish_json("ack", &json!({"id": cmd["id"], "ok": true, "error": null}))
        .await
        .expect("ack");
    let resp = answer.await.expect("task").expect("response");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["status"], "succeeded");
    let reboot = Some(json!({"name": "reboot"}));
    assert_eq!(code(call(&app, "POST", &path, &mover, reboot).await), not_found());

    // Change-settings: the settings go to the camera, sealed under the owner's key (the
    // owner reads them back).
    let wanted = Settings { volume: 3, ..Settings::default() };
    let (s, b) =
        call(&app, "PUT", &format!("/api/v1/devices/{uid}/settings"), &tuner, Some(json!(wanted)))
            .await;
    assert_eq!(s, 200, "{b}");
    let desired = h.dev.next_on("desired").await.expect("the settings reach the camera");
    assert_eq!(desired["settings"]["volume"], 3);
    let (s, b) = call(
        &app,
        "PATCH",
        &format!("/api/v1/devices/{uid}"),
        &tuner,
        Some(json!({"name": "Hall"})),
    )
    .await;
    assert_eq!((s, b["name"].as_str()), (200, Some("Hall")), "{b}");
    let (_, mine) = app.get_authed(&format!("/api/v1/devices/{uid}"), &h.owner).await;
    assert_eq!((mine["name"].as_str(), &mine["desired"]["volume"]), (Some("Hall"), &json!(3)));
    refused(&app, &tuner, &beyond_default(&uid)[..6]).await;

    // Talk: a WebRTC session with talk; talking asks the camera to open its talk channel.
    let (lt, _) = link_for(&app, &talker, &uid, "talk").await;
    let mut peer = Peer::connect(&app, &uid, &lt).await.expect("a WebRTC session with talk");
    peer.run_until(WAIT, "connected", |p| p.connected).await;
    let mut dev = h.dev;
    let cmd = tokio::spawn(async move { dev.next_on("cmd").await });
    peer.talk(true);
    peer.run_until(WAIT, "the camera is asked to talk", |_| cmd.is_finished()).await;
    let cmd = cmd.await.expect("task").expect("a command");
    assert_eq!(cmd["command"]["name"], "talk-start", "{cmd}");
    refused(&app, &talker, &beyond_default(&uid)[..2]).await;
    refused(&app, &talker, &beyond_default(&uid)[3..]).await;

    // Whatever a member holds, unbinding and sharing stay the owner's.
    for token in [&viewer, &saver, &mover, &tuner, &talker, &trusted] {
        refused(&app, token, &owner_only(&uid)).await;
    }
    let (s, _) = app.get_authed(&format!("/api/v1/devices/{uid}"), &h.owner).await;
    assert_eq!(s, 200, "still bound");
    h.stop.trigger();
    drop(h.cam);
    app.stop().await;
}

/// The owner's access log of `uid`, as `(nickname, kind)` pairs, newest first.
async fn access_log(app: &TestApp, token: &str, uid: &str) -> Vec<(String, String)> {
    let (s, b) = app.get_authed(&format!("/api/v1/devices/{uid}/access-log"), token).await;
    assert_eq!(s, 200, "{b}");
    let entries = b.as_array().expect("a list");
    let mut last = i64::MAX;
    entries
        .iter()
        .map(|e| {
            let at = e["at_ms"].as_i64().expect("at_ms");
            assert!(at <= last, "newest first: {b}");
            last = at;
            assert!(e["account"].as_str().is_some(), "{e}");
            let nick = e["nickname"].as_str().unwrap_or("-").to_string();
            (nick, e["kind"].as_str().expect("kind").to_string())
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[tokio::test]
async fn the_owner_reads_who_watched_and_played_back_for_thirty_days() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", PW).await;
    let (s, b) = call(&app, "PATCH", "/api/v1/me", &owner, Some(json!({"nickname": "Ann"}))).await;
    assert_eq!(s, 200, "{b}");
    let creds = provision(&app, "KK-C1").await;
    let _dev = bind(&app, &owner, &creds).await;
    let uid = creds.uid.clone();
    let caps = with(Capability::PlayBack) | Capability::Talk;
    let friend = member(&app, &owner, &uid, "bob@example.com", caps).await;
    assert!(access_log(&app, &owner, &uid).await.is_empty(), "nothing yet");

    // The member watches live, then plays back; the owner watches live.
    link_for(&app, &friend, &uid, "live").await;
    app.clock.advance(Duration::from_secs(1));
    link_for(&app, &friend, &uid, "playback").await;
    app.clock.advance(Duration::from_secs(1));
    link_for(&app, &owner, &uid, "live").await;
    let log = access_log(&app, &owner, &uid).await;
    assert_eq!(log, pairs(&[("Ann", "live"), ("bob", "playback"), ("bob", "live")]));
    app.clock.advance(Duration::from_secs(1));
    link_for(&app, &friend, &uid, "talk").await;
    assert_eq!(access_log(&app, &owner, &uid).await[0], ("bob".to_string(), "talk".to_string()));

    // Repeats within 5 minutes are one entry; later ones are new.
    app.clock.advance(Duration::from_secs(60));
    link_for(&app, &friend, &uid, "live").await;
    assert_eq!(access_log(&app, &owner, &uid).await.len(), 4, "a repeat within 5 minutes");
    app.clock.advance(Duration::from_secs(5 * 60));
    link_for(&app, &friend, &uid, "live").await;
    let log = access_log(&app, &owner, &uid).await;
    assert_eq!(log.len(), 5);
    assert_eq!(log[0], ("bob".to_string(), "live".to_string()));

    // Nobody else reads it: not the member, not another household's owner.
    let other = app.register("other@example.com", PW).await;
    let other_cam = provision(&app, "KK-C1").await;
    let _other_dev = bind(&app, &other, &other_cam).await;
    for token in [&friend, &other] {
        let got = code(app.get_authed(&format!("/api/v1/devices/{uid}/access-log"), token).await);
        assert_eq!(got, not_found());
    }
    assert!(access_log(&app, &other, &other_cam.uid).await.is_empty(), "their own is empty");

    // After 30 days of the server's clock, the retention worker has deleted every entry.
    let store = app.running().services.store.clone();
    let owner_id = account_id(&app, &owner).await;
    app.clock.advance(Duration::from_secs(30 * 86_400 + 60));
    let t = app.clock.now();
    let swept = app.running().workers.wait_for("retention", |s| s.last_run_at >= Some(t));
    tokio::time::timeout(WAIT, swept).await.expect("the retention worker swept");
    let kept = store.device_access_log(&uid, owner_id, Timestamp(0), 100).await.expect("log");
    assert!(kept.is_empty(), "deleted after 30 days: {kept:?}");
    let (s, again) = app.login("owner@example.com", PW).await;
    assert_eq!(s, 200, "{again}");
    let owner = again["token"].as_str().expect("token").to_string();
    assert!(access_log(&app, &owner, &uid).await.is_empty());

    // Unbinding deletes the device's log with it.
    link_for(&app, &owner, &uid, "live").await;
    assert_eq!(
        store.device_access_log(&uid, owner_id, Timestamp(0), 100).await.expect("log").len(),
        1
    );
    let (s, b) = call(&app, "DELETE", &format!("/api/v1/devices/{uid}"), &owner, None).await;
    assert_eq!(s, 204, "{b}");
    assert!(
        store.device_access_log(&uid, owner_id, Timestamp(0), 100).await.expect("log").is_empty()
    );
}
