//! The route table of `kankan_api::routes` walked against the real server: every device
//! route answers another account exactly as it answers for a device that does not exist; a
//! stored grant gives another account what it names and nothing more, and nothing once it
//! expired or was revoked.

use std::time::Duration;

use kankan_api::routes::{Access, ROUTES};
use kankan_base::{AccountId, Clock as _, Timestamp};
use kankan_db::DeviceGrant;
use kankan_protocol::device::Settings;
use kankan_testkit::TestApp;
use serde_json::{Value, json};

use crate::devices::{PW, bind, provision};
use crate::notify::call;

/// A UID of the right shape that no device has.
const MISSING: &str = "KKNOSUCHDEV1";

/// A body the route accepts, so that the request reaches the authorization.
fn body_for(method: &str, path: &str, uid: &str) -> Option<Value> {
    Some(match (method, path) {
        ("PATCH", "/api/v1/devices/{uid}") => json!({"name": "Porch"}),
        ("PUT", "/api/v1/devices/{uid}/settings") => json!(Settings::default()),
        ("POST", "/api/v1/devices/{uid}/commands") => json!({"name": "format-sd"}),
        ("PUT", "/api/v1/devices/{uid}/notifications") => {
            json!({"kinds": ["motion"], "snoozed_until_ms": null})
        }
        ("POST", "/api/v1/devices/{uid}/snooze") => json!({"minutes": 30}),
        ("POST", "/api/v1/devices/{uid}/wifi" | "/api/v1/devices/{uid}/wifi/code") => {
            json!({"ssid": "Upstairs", "password": "hunter22"})
        }
        ("POST", "/api/v1/devices/{uid}/plan/checkout" | "/api/v1/devices/{uid}/sim/checkout") => {
            json!({"sku": "no-such-plan", "provider": "stripe"})
        }
        ("POST", "/api/v1/devices/{uid}/recordings/link") => json!({"purpose": "playback"}),
        ("POST", "/api/v1/album/screenshots") => json!({"device": uid}),
        ("POST", "/api/v1/album/clips") => json!({"device": uid, "seconds": 5}),
        ("POST", "/api/v1/shares") => json!({"devices": [uid]}),
        ("PUT", "/api/v1/devices/{uid}/members/{account}") => json!({"capabilities": ["view"]}),
        _ => return None,
    })
}

fn fill(path: &str, uid: &str) -> String {
    path.replace("{uid}", uid)
        .replace("{id}", "1")
        .replace("{account}", &uuid::Uuid::now_v7().to_string())
        .replace("{session}", &uuid::Uuid::now_v7().to_string())
}

/// Stores a grant of `caps` on `uid` from `owner` to `member`, made now (what an accepted
/// invitation and the owner's switches make), until `expires_at`; its id.
pub(crate) async fn insert_grant(
    app: &TestApp,
    uid: &str,
    (owner, member): (AccountId, AccountId),
    caps: kankan_core::authz::CapabilitySet,
    expires_at: Option<Timestamp>,
) -> uuid::Uuid {
    let grant = DeviceGrant {
        id: uuid::Uuid::now_v7(),
        uid: uid.to_string(),
        account_id: member,
        granted_by: owner,
        capabilities: caps.to_names(),
        created_at: app.clock.now(),
        expires_at,
        revoked_at: None,
        schedule: None,
    };
    app.running().services.store.insert_device_grant(&grant).await.expect("grant");
    grant.id
}

pub(crate) async fn account_id(app: &TestApp, token: &str) -> AccountId {
    let (_, me) = app.get_authed("/api/v1/me", token).await;
    AccountId(me["id"].as_str().expect("id").parse().expect("uuid"))
}

#[tokio::test]
async fn every_device_route_answers_another_account_like_a_missing_device() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", PW).await;
    let stranger = app.register("stranger@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _dev = bind(&app, &owner, &creds).await;
    let mut walked = 0;
    for route in ROUTES {
        let (method, uid_path) = (route.method, route.path);
        match route.access {
            Access::Device(_) => {
                let ask = |uid: &str| {
                    let body = body_for(method, uid_path, uid);
                    let path = fill(uid_path, uid);
                    let stranger = &stranger;
                    let app = &app;
                    async move { call(app, method, &path, stranger, body).await }
                };
                let (s, b) = ask(&creds.uid).await;
                let (ms, mb) = ask(MISSING).await;
                assert_eq!(
                    (s, b["code"].as_str()),
                    (404, Some("device-not-found")),
                    "{method} {uid_path} as another account: {b}"
                );
                assert_eq!((s, &b), (ms, &mb), "{method} {uid_path}: same as a missing device");
                walked += 1;
            }
            Access::DeviceLink(_) => {
                // Without a link the stranger could obtain, a forged one: the same answer for
                // the owner's device and a missing one.
                let forged = format!("{}.63.9999999999999.AAAA", uuid::Uuid::now_v7());
                let ask = |uid: &str| {
                    let path = format!("{}?t={forged}&from=0&to=1000&at=0", fill(uid_path, uid));
                    let app = &app;
                    async move {
                        let req = app
                            .http
                            .request(method.parse().expect("method"), app.url(&path))
                            .header("content-type", "application/sdp")
                            .body("v=0\r\n");
                        app.send(req).await
                    }
                };
                let (s, b) = ask(&creds.uid).await;
                assert!(s >= 400, "{method} {uid_path} with a forged link: {s} {b}");
                assert_eq!((s, b.clone()), ask(MISSING).await, "{method} {uid_path}");
                walked += 1;
            }
            _ => {}
        }
    }
    assert!(walked >= 20, "the table has its device routes ({walked})");
    // The owner still has the device: nothing the stranger did reached it.
    let (s, _) = app.get_authed(&format!("/api/v1/devices/{}", creds.uid), &owner).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn a_grant_gives_what_it_names_until_it_expires_or_is_revoked() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner@example.com", PW).await;
    let friend = app.register("friend@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _dev = bind(&app, &owner, &creds).await;
    let uid = creds.uid.clone();
    let store = app.running().services.store.clone();
    let (owner_id, friend_id) = (account_id(&app, &owner).await, account_id(&app, &friend).await);
    let now = app.clock.now();
    let grant = |expires_at: Option<Timestamp>| DeviceGrant {
        id: uuid::Uuid::now_v7(),
        uid: uid.clone(),
        account_id: friend_id,
        granted_by: owner_id,
        capabilities: "view-live,play-back".into(),
        created_at: now,
        expires_at,
        revoked_at: None,
        schedule: None,
    };
    let timeline = format!("/api/v1/devices/{uid}/recordings/timeline");
    let link = format!("/api/v1/devices/{uid}/recordings/link");
    let not_found = (404, Some("device-not-found".to_string()));
    let code = |(s, b): (u16, Value)| (s, b["code"].as_str().map(String::from));

    // Nothing before a grant.
    assert_eq!(code(app.get_authed(&timeline, &friend).await), not_found);

    // A grant of live view and playback, for one minute.
    let brief = grant(Some(Timestamp(now.0 + 60_000)));
    store.insert_device_grant(&brief).await.expect("grant");
    let (s, b) = app.get_authed(&timeline, &friend).await;
    assert_eq!(s, 200, "play back: {b}");
    let (s, l) = call(&app, "POST", &link, &friend, Some(json!({"purpose": "playback"}))).await;
    assert_eq!(s, 200, "a link: {l}");
    let t = l["token"].as_str().expect("token").to_string();
    let media =
        |what: &str| format!("/media/v1/{uid}/{what}?t={t}&from={}&to={}", now.0 - 1000, now.0);
    // The link plays back (nothing is recorded yet) but does not download.
    let (s, b) = app.get_authed(&media("playlist.m3u8"), &friend).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("no-recording")), "{b}");
    let (s, b) = app.get_authed(&media("export.mp4"), &friend).await;
    assert_eq!((s, b["code"].as_str()), (403, Some("invalid-link")), "{b}");
    // Nothing else: not the device's info, settings, talk, PTZ, download, alarms, unbinding.
    let denied: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", format!("/api/v1/devices/{uid}"), None),
        ("PUT", format!("/api/v1/devices/{uid}/settings"), Some(json!(Settings::default()))),
        ("PATCH", format!("/api/v1/devices/{uid}"), Some(json!({"name": "Mine"}))),
        ("POST", format!("/api/v1/devices/{uid}/commands"), Some(json!({"name": "talk-start"}))),
        (
            "POST",
            format!("/api/v1/devices/{uid}/commands"),
            Some(json!({"name": "ptz-move", "pan": 1, "tilt": 0})),
        ),
        ("POST", "/api/v1/album/clips".into(), Some(json!({"device": uid, "seconds": 5}))),
        ("GET", format!("/api/v1/devices/{uid}/notifications"), None),
        ("DELETE", format!("/api/v1/devices/{uid}"), None),
    ];
    for (method, path, body) in &denied {
        let got = code(call(&app, method, path, &friend, body.clone()).await);
        assert_eq!(got, not_found, "{method} {path} with a view-live/play-back grant");
    }
    let (s, _) = app.get_authed(&format!("/api/v1/devices/{uid}"), &owner).await;
    assert_eq!(s, 200, "the owner keeps the device");

    // Expired: on the server's clock, never real time.
    app.clock.advance(Duration::from_secs(61));
    assert_eq!(code(app.get_authed(&timeline, &friend).await), not_found, "expired");

    // Revoked: the grant and a link issued under it give nothing.
    let lasting = grant(None);
    store.insert_device_grant(&lasting).await.expect("grant");
    let (s, l) = call(&app, "POST", &link, &friend, Some(json!({"purpose": "playback"}))).await;
    assert_eq!(s, 200, "{l}");
    let t = l["token"].as_str().expect("token").to_string();
    let now = app.clock.now();
    let playlist =
        format!("/media/v1/{uid}/playlist.m3u8?t={t}&from={}&to={}", now.0 - 1000, now.0);
    assert_eq!(app.get_authed(&playlist, &friend).await.1["code"], "no-recording");
    assert!(store.revoke_device_grant(lasting.id, now).await.expect("revoke"));
    assert_eq!(code(app.get_authed(&timeline, &friend).await), not_found, "revoked");
    assert_eq!(code(app.get_authed(&playlist, &friend).await), not_found, "its link too");
}
