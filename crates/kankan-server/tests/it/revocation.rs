//! Revocation that revokes: every trigger that takes access away (logout, signing a session
//! out, a password change or reset, a ban, an unbind, a revoked grant) ends every long-lived
//! stream it covers (the live WebSocket, a WebRTC session with its talk channel, the event
//! stream) at once, and the media links of that session or device stop working; what it does
//! not cover keeps running. Media links serve one purpose only.
//!
//! Fails without the fix: before it, each stream ran on after the trigger (until the camera
//! stopped, the browser left or the server stopped) and every link stayed valid until it
//! expired; a playback link also opened live view and talk.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use kankan_base::Clock as _;
use kankan_core::authz::Capability;
use kankan_db::{AccountState, DeviceGrant};
use kankan_testkit::TestApp;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::authz_routes::account_id;
use crate::devices::PW;
use crate::live_on_demand::refused;
use crate::recording::{WAIT, get_bytes, link_for, recording_app, recording_camera};
use crate::webrtc::until_live;
use crate::webrtc_peer::Peer;

/// How long a revoked stream may take to end here (the promise is one second; the bound is
/// loose so that a busy test machine does not fail it).
const ENDS_WITHIN: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Trigger {
    Logout,
    SignedOut,
    PasswordChange,
    PasswordReset,
    Ban,
    Unbind,
    GrantRevoked,
}

type LiveSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The streams one session has open on one camera, and the links it opened them with.
struct Open {
    ws: LiveSocket,
    peer: Peer,
    sse: reqwest::Response,
    live: String,
    talk: String,
    playback: String,
    base: String,
}

fn ws_url(app: &TestApp, path: &str) -> String {
    app.url(path).replacen("http://", "ws://", 1)
}

async fn open(app: &TestApp, token: &str, uid: &str) -> Open {
    let (live, base) = link_for(app, token, uid, "live").await;
    let (talk, _) = link_for(app, token, uid, "talk").await;
    let (playback, _) = link_for(app, token, uid, "playback").await;
    let (mut ws, _) =
        tokio_tungstenite::connect_async(ws_url(app, &format!("{base}/live?t={live}")))
            .await
            .expect("the live socket opens");
    let first = tokio::time::timeout(WAIT, ws.next()).await.expect("in time");
    assert!(matches!(first, Some(Ok(Message::Binary(_)))), "video flows: {first:?}");
    let mut peer = Peer::connect(app, uid, &talk).await.expect("a WebRTC session with talk");
    peer.run_until(WAIT, "connected", |p| p.connected).await;
    let sse = app
        .http
        .get(app.url("/api/v1/events/stream"))
        .bearer_auth(token)
        .send()
        .await
        .expect("the event stream");
    assert_eq!(sse.status().as_u16(), 200);
    Open { ws, peer, sse, live, talk, playback, base }
}

/// Whether the live socket ends within [`ENDS_WITHIN`] (with 1008 "revoked").
async fn ws_ends(ws: &mut LiveSocket) -> bool {
    let deadline = Instant::now() + ENDS_WITHIN;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Err(_) => return false,
            Ok(Some(Ok(Message::Close(Some(f))))) => {
                assert_eq!((u16::from(f.code), f.reason.as_str()), (1008, "revoked"));
                return true;
            }
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(None)))) => return true,
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// Whether the event stream ends within `within`.
async fn sse_ends(sse: &mut reqwest::Response, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, sse.chunk()).await {
            Err(_) => return false,
            Ok(Ok(None) | Err(_)) => return true,
            Ok(Ok(Some(_))) => {}
        }
    }
}

/// Whether the server has ended every WebRTC session within [`ENDS_WITHIN`].
async fn whep_ends(app: &TestApp) -> bool {
    let w = &app.running().webrtc;
    let deadline = Instant::now() + ENDS_WITHIN;
    while w.sessions() > 0 {
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

/// A second session of the same account, and its token.
async fn second_session(app: &TestApp, who: &str) -> String {
    let (s, b) = app.login(who, PW).await;
    assert_eq!(s, 200, "{b}");
    b["token"].as_str().expect("token").to_string()
}

/// The id of the session `token` is, as its own sessions list says.
async fn session_id(app: &TestApp, token: &str) -> String {
    let (s, list) = app.get_authed("/api/v1/me/sessions", token).await;
    assert_eq!(s, 200, "{list}");
    let current = list.as_array().expect("list").iter().find(|e| e["current"] == true);
    current.expect("the current session")["id"].as_str().expect("id").to_string()
}

async fn fire(app: &TestApp, trigger: Trigger, who: &str, owner: &str, viewer: &str, uid: &str) {
    let ok = |(s, b): (u16, Value), what: &str| assert!(s < 300, "{what}: {s} {b}");
    match trigger {
        Trigger::Logout => ok(
            app.send(app.http.post(app.url("/api/v1/auth/logout")).bearer_auth(viewer)).await,
            "logout",
        ),
        Trigger::SignedOut => {
            let other = second_session(app, who).await;
            let id = session_id(app, viewer).await;
            let del = app.http.delete(app.url(&format!("/api/v1/me/sessions/{id}")));
            ok(app.send(del.bearer_auth(&other)).await, "sign out");
        }
        Trigger::PasswordChange => {
            let other = second_session(app, who).await;
            let body = json!({"current_password": PW, "new_password": "new-orchard-lamp-77"});
            let req = app.http.post(app.url("/api/v1/me/password")).bearer_auth(&other).json(&body);
            ok(app.send(req).await, "password change");
        }
        Trigger::PasswordReset => {
            let seen = app.outbox().len();
            ok(app.post("/api/v1/auth/password-reset", json!({"identifier": who})).await, "reset");
            let code = app.wait_for_code(seen).await;
            let body =
                json!({"identifier": who, "code": code, "new_password": "river-stone-cloud-9"});
            ok(app.post("/api/v1/auth/password-reset/confirm", body).await, "reset confirm");
        }
        Trigger::Ban => {
            let accounts = &app.running().services.accounts;
            accounts.ban(account_id(app, viewer).await, "fraud").await.expect("ban");
        }
        Trigger::Unbind => {
            let del =
                app.http.delete(app.url(&format!("/api/v1/devices/{uid}"))).bearer_auth(owner);
            ok(app.send(del).await, "unbind");
        }
        Trigger::GrantRevoked => {
            let devices = &app.running().services.devices;
            let owner_id = account_id(app, owner).await;
            let h =
                devices.authorize_account(owner_id, Capability::Share, uid).await.expect("owner");
            let friend = account_id(app, viewer).await;
            // Fails (not-found) unless the friend's grant was live.
            devices.remove_member(&h, friend).await.expect("the grant was live");
        }
    }
}

#[tokio::test]
async fn each_trigger_ends_the_streams_it_covers_and_kills_their_links() {
    // (trigger, whether the event stream ends: it belongs to the session, not to a device)
    let table = [
        (Trigger::Logout, true),
        (Trigger::SignedOut, true),
        (Trigger::PasswordChange, true),
        (Trigger::PasswordReset, true),
        (Trigger::Ban, true),
        (Trigger::Unbind, false),
        (Trigger::GrantRevoked, false),
    ];
    for (i, (trigger, sse_too)) in table.into_iter().enumerate() {
        let app = recording_app().await;
        let who = format!("owner{i}@example.com");
        let (owner, creds, cam, _stop) = recording_camera(&app, &who).await;
        cam.wait_for("streaming", WAIT, |s| s.sent_live_ms >= 1_000).await.expect("live");
        until_live(&app, &creds.uid).await;
        // The viewer: the owner, or for a grant the account it was shared with.
        let viewer = if trigger == Trigger::GrantRevoked {
            let friend = app.register(&format!("friend{i}@example.com"), PW).await;
            let (owner_id, friend_id) =
                (account_id(&app, &owner).await, account_id(&app, &friend).await);
            let grant = DeviceGrant {
                id: uuid::Uuid::now_v7(),
                uid: creds.uid.clone(),
                account_id: friend_id,
                granted_by: owner_id,
                capabilities: "view-live,talk,play-back".into(),
                created_at: app.clock.now(),
                expires_at: None,
                revoked_at: None,
                schedule: None,
            };
            app.running().services.store.insert_device_grant(&grant).await.expect("grant");
            friend
        } else {
            owner.clone()
        };
        // A bystander: the owner's own streams when a grant is revoked, another account's
        // otherwise; they must keep running.
        let bystander = if trigger == Trigger::GrantRevoked {
            owner.clone()
        } else {
            app.register(&format!("bystander{i}@example.com"), PW).await
        };
        let mut s = open(&app, &viewer, &creds.uid).await;
        let mut by_sse = app
            .http
            .get(app.url("/api/v1/events/stream"))
            .bearer_auth(&bystander)
            .send()
            .await
            .expect("the bystander's event stream");
        assert_eq!(app.running().webrtc.sessions(), 1);

        fire(&app, trigger, &who, &owner, &viewer, &creds.uid).await;

        assert!(ws_ends(&mut s.ws).await, "{trigger:?}: the live socket ended");
        assert!(whep_ends(&app).await, "{trigger:?}: the WebRTC session (and its talk) ended");
        assert_eq!(
            sse_ends(&mut s.sse, ENDS_WITHIN).await,
            sse_too,
            "{trigger:?}: the event stream"
        );
        let ended = sse_ends(&mut by_sse, Duration::from_millis(300)).await;
        assert!(!ended, "{trigger:?}: the bystander's event stream runs on");
        // Every link of the viewer's session on that device fails now.
        let (status, _) = refused(ws_url(&app, &format!("{}/live?t={}", s.base, s.live))).await;
        assert!(matches!(status, 403 | 404), "{trigger:?}: the live link: {status}");
        let again = Peer::connect(&app, &creds.uid, &s.talk).await.err().expect("refused");
        assert!(matches!(again.status, 403 | 404), "{trigger:?}: the talk link: {}", again.status);
        let now = app.clock.now().0;
        let playlist =
            format!("{}/playlist.m3u8?from={}&to={now}&t={}", s.base, now - 60_000, s.playback);
        let (status, _, _) = get_bytes(&app, &playlist).await;
        assert!(matches!(status, 403 | 404), "{trigger:?}: the playback link: {status}");
        drop(s.peer);
    }
}

#[tokio::test]
async fn a_link_opens_only_what_it_was_made_for() {
    let app = recording_app().await;
    let (token, creds, cam, _stop) = recording_camera(&app, "purpose@example.com").await;
    cam.wait_for("streaming", WAIT, |s| s.sent_live_ms >= 1_000).await.expect("live");
    until_live(&app, &creds.uid).await;
    let (playback, base) = link_for(&app, &token, &creds.uid, "playback").await;
    let (live, _) = link_for(&app, &token, &creds.uid, "live").await;
    let (talk, _) = link_for(&app, &token, &creds.uid, "talk").await;
    // A playback link opens neither live view nor talk.
    let (status, body) = refused(ws_url(&app, &format!("{base}/live?t={playback}"))).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("wrong-link-purpose"), "{body}");
    let r = Peer::connect(&app, &creds.uid, &playback).await.err().expect("refused");
    assert_eq!((r.status, r.code()), (403, "wrong-link-purpose"));
    // A live or talk link opens no recordings, a talk link not the live socket.
    let now = app.clock.now().0;
    for t in [&live, &talk] {
        let (status, _, _) =
            get_bytes(&app, &format!("{base}/playlist.m3u8?from={}&to={now}&t={t}", now - 60_000))
                .await;
        assert_eq!(status, 403);
        let (status, _, _) = get_bytes(&app, &format!("{base}/snapshot.jpg?at={now}&t={t}")).await;
        assert_eq!(status, 403);
    }
    let (status, _) = refused(ws_url(&app, &format!("{base}/live?t={talk}"))).await;
    assert_eq!(status, 403);
    // The purpose is signed: a playback link relabelled `live` is no link at all.
    let relabelled = playback.replacen(".playback.", ".live.", 1);
    assert_ne!(relabelled, playback);
    let (status, body) = refused(ws_url(&app, &format!("{base}/live?t={relabelled}"))).await;
    assert_eq!(status, 403);
    assert!(body.contains("invalid-link"), "{body}");
    // Each opens what it is for.
    let (ws, _) = tokio_tungstenite::connect_async(ws_url(&app, &format!("{base}/live?t={live}")))
        .await
        .expect("a live link opens the live socket");
    drop(ws);
    Peer::connect(&app, &creds.uid, &live).await.expect("a live link opens WebRTC");
    // An unknown purpose is refused with the documented shape.
    let (s, b) = app
        .send(
            app.http
                .post(app.url(&format!("/api/v1/devices/{}/recordings/link", creds.uid)))
                .bearer_auth(&token)
                .json(&json!({"purpose": "everything"})),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-body")), "{b}");
}

#[tokio::test]
async fn a_link_of_a_logged_out_session_fails_at_once() {
    let app = recording_app().await;
    let (token, creds, cam, _stop) = recording_camera(&app, "gone@example.com").await;
    cam.wait_for("streaming", WAIT, |s| s.sent_live_ms >= 1_000).await.expect("live");
    let other = second_session(&app, "gone@example.com").await;
    let (lt, base) = link_for(&app, &token, &creds.uid, "playback").await;
    let (keep, _) = link_for(&app, &other, &creds.uid, "playback").await;
    let now = app.clock.now().0;
    let (from, to) = (now + 3_600_000, now + 3_601_000);
    let snap = |t: &str| format!("{base}/playlist.m3u8?from={from}&to={to}&t={t}");
    // Before: the link is good (nothing recorded at that time yet, so not found).
    assert_eq!(get_bytes(&app, &snap(&lt)).await.0, 404);
    let (s, _) = app.send(app.http.post(app.url("/api/v1/auth/logout")).bearer_auth(&token)).await;
    assert_eq!(s, 204);
    let r = app.http.get(app.url(&snap(&lt))).send().await.expect("get");
    assert_eq!(r.status().as_u16(), 403);
    let b: Value = r.json().await.expect("json");
    assert_eq!(b["code"], "invalid-link", "{b}");
    // The other session's link is untouched.
    assert_eq!(get_bytes(&app, &snap(&keep)).await.0, 404);
}

#[tokio::test]
async fn a_ban_made_by_another_process_ends_the_streams_at_the_next_sweep() {
    // `kankan admin ban` runs in a process of its own: it changes the database, and the server
    // hears nothing of it. Fails without the sweeper: the stream ran on.
    let app = TestApp::spawn().await;
    let token = app.register("elsewhere@example.com", PW).await;
    let mut sse = app
        .http
        .get(app.url("/api/v1/events/stream"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("the event stream");
    assert_eq!(sse.status().as_u16(), 200);
    let id = account_id(&app, &token).await;
    let store = &app.running().services.store;
    store
        .set_account_state(id, AccountState::Banned, Some("fraud"), app.clock.now())
        .await
        .expect("ban");
    app.clock.advance(kankan_core::revoke::SWEEP_EVERY);
    assert!(sse_ends(&mut sse, ENDS_WITHIN).await, "the sweep ended the banned session's stream");
}
