//! Sharing cameras (households) over the real ports: an invitation shows only the inviter's
//! nickname and the cameras' names, is single use, expiring, revocable and optionally bound
//! to one identifier; a member holds what the owner granted, within its time box, never
//! sharing onward or unbinding; removal and leaving end access at once; every change is in
//! the history and told to the owner.
//!
//! Fails without the fix: none of these routes existed, and a device had no members.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use kankan_testkit::{TestApp, TestDevice};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::devices::{Creds, PW, bind, provision};
use crate::live_on_demand::refused;
use crate::notify::call;
use crate::recording::{WAIT, link_for, recording_app, recording_camera};
use crate::webrtc::until_live;

const OWNER: &str = "owner@example.com";
const FRIEND: &str = "friend@example.com";
const HOUR: Duration = Duration::from_secs(3600);

/// An owner (nickname "Grandma") with one camera named "Porch", and a friend.
struct Home {
    app: TestApp,
    owner: String,
    friend: String,
    uid: String,
    _dev: TestDevice,
}

async fn home() -> Home {
    let app = TestApp::spawn().await;
    let (owner, friend, creds, dev) = people(&app).await;
    Home { app, owner, friend, uid: creds.uid, _dev: dev }
}

async fn people(app: &TestApp) -> (String, String, Creds, TestDevice) {
    let owner = app.register(OWNER, PW).await;
    let friend = app.register(FRIEND, PW).await;
    let creds = provision(app, "KK-C1").await;
    let dev = bind(app, &owner, &creds).await;
    ok(call(app, "PATCH", "/api/v1/me", &owner, Some(json!({"nickname": "Grandma"}))).await);
    let path = format!("/api/v1/devices/{}", creds.uid);
    ok(call(app, "PATCH", &path, &owner, Some(json!({"name": "Porch"}))).await);
    (owner, friend, creds, dev)
}

fn ok((s, b): (u16, Value)) -> Value {
    assert!((200..300).contains(&s), "{s} {b}");
    b
}

fn code((s, b): &(u16, Value)) -> (u16, &str) {
    (*s, b["code"].as_str().unwrap_or_default())
}

/// Creates an invitation to `uid` and returns its token.
async fn invite(app: &TestApp, owner: &str, uid: &str) -> String {
    let (s, b) = call(app, "POST", "/api/v1/shares", owner, Some(json!({"devices": [uid]}))).await;
    assert_eq!(s, 201, "{b}");
    b["token"].as_str().expect("token").to_string()
}

async fn preview(app: &TestApp, who: &str, token: &str) -> (u16, Value) {
    call(app, "POST", "/api/v1/invitations/preview", who, Some(json!({"token": token}))).await
}

async fn accept(app: &TestApp, who: &str, token: &str) -> (u16, Value) {
    call(app, "POST", "/api/v1/invitations/accept", who, Some(json!({"token": token}))).await
}

/// Invites the friend and has it accept; returns once the owner's notice is out (so that it
/// does not arrive in the middle of a later registration's code).
async fn join(h: &Home) {
    let seen = h.app.outbox().len();
    let token = invite(&h.app, &h.owner, &h.uid).await;
    let b = ok(accept(&h.app, &h.friend, &token).await);
    assert_eq!(b, json!({"devices": [h.uid]}));
    notice(&h.app, seen, "joined").await;
}

/// Waits for a notice whose subject holds `what` among the messages after the first `seen`.
async fn notice(app: &TestApp, seen: usize, what: &str) -> kankan_testkit::OutboxEntry {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(m) = app.outbox().into_iter().skip(seen).find(|m| m.subject.contains(what)) {
            return m;
        }
        assert!(Instant::now() < deadline, "no notice about {what:?}: {:?}", app.outbox());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn member_id(app: &TestApp, token: &str) -> String {
    ok(app.get_authed("/api/v1/me", token).await)["id"].as_str().expect("id").to_string()
}

async fn grant(h: &Home, body: Value) -> (u16, Value) {
    let friend = member_id(&h.app, &h.friend).await;
    let path = format!("/api/v1/devices/{}/members/{friend}", h.uid);
    call(&h.app, "PUT", &path, &h.owner, Some(body)).await
}

async fn timeline(h: &Home, who: &str) -> u16 {
    let now = kankan_base::Clock::now(&h.app.clock).0;
    let path = format!(
        "/api/v1/devices/{}/recordings/timeline?from={}&to={}",
        h.uid,
        now - 60_000,
        now + 60_000
    );
    h.app.get_authed(&path, who).await.0
}

async fn device_list(app: &TestApp, who: &str) -> Vec<Value> {
    ok(app.get_authed("/api/v1/devices", who).await).as_array().expect("list").clone()
}

async fn history(h: &Home) -> Vec<(String, Option<String>)> {
    let b =
        ok(h.app.get_authed(&format!("/api/v1/devices/{}/members/history", h.uid), &h.owner).await);
    b.as_array()
        .expect("history")
        .iter()
        .map(|e| {
            (e["action"].as_str().expect("action").into(), e["member"].as_str().map(String::from))
        })
        .collect()
}

/// Today's weekday as the schedules spell it (1970-01-01 was a Thursday).
fn weekday(ms: i64) -> &'static str {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][((ms / 86_400_000 + 3) % 7) as usize]
}

#[tokio::test]
async fn an_invitation_shows_only_a_nickname_and_camera_names_and_makes_a_default_member() {
    let h = home().await;
    let (s, created) =
        call(&h.app, "POST", "/api/v1/shares", &h.owner, Some(json!({"devices": [h.uid]}))).await;
    assert_eq!(s, 201, "{created}");
    let token = created["token"].as_str().expect("token");
    assert!(created["link"].as_str().expect("link").ends_with(&format!("/#/invite/{token}")));
    assert!(created["qr_svg"].as_str().expect("svg").starts_with("<?xml"));
    assert_eq!(created["devices"], json!([{"uid": h.uid, "name": "Porch"}]));
    let day_ms = 24 * 3_600_000;
    let now = kankan_base::Clock::now(&h.app.clock).0;
    assert_eq!(created["expires_at_ms"].as_i64(), Some(now + day_ms), "24 hours by default");

    let offer = ok(preview(&h.app, &h.friend, token).await);
    assert_eq!(
        offer,
        json!({"inviter": "Grandma", "devices": [{"name": "Porch"}], "expires_at_ms": now + day_ms})
    );
    let text = offer.to_string();
    assert!(!text.contains(OWNER) && !text.contains(&h.uid), "{text}");

    let seen = h.app.outbox().len();
    assert_eq!(ok(accept(&h.app, &h.friend, token).await), json!({"devices": [h.uid]}));
    let told = notice(&h.app, seen, "joined").await;
    assert!(told.body.contains("Kankan user") && !told.body.contains(FRIEND), "{told:?}");

    // The member's list: the owner's devices (none), then the shared one, marked.
    let list = device_list(&h.app, &h.friend).await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["uid"], json!(h.uid));
    assert_eq!(list[0]["role"], json!("member"));
    assert_eq!(list[0]["shared_by"], json!("Grandma"));
    assert_eq!(list[0]["capabilities"], json!(["view", "view-live", "receive-alarms"]));
    let one = ok(h.app.get_authed(&format!("/api/v1/devices/{}", h.uid), &h.friend).await);
    assert_eq!((one["role"].as_str(), one["name"].as_str()), (Some("member"), Some("Porch")));
    let mine = device_list(&h.app, &h.owner).await;
    assert_eq!((mine[0]["role"].clone(), mine[0].get("shared_by")), (json!("owner"), None));

    // Live view, yes; playback, no.
    let (live, _) = link_for(&h.app, &h.friend, &h.uid, "live").await;
    assert!(!live.is_empty());
    assert_eq!(timeline(&h, &h.friend).await, 404);
    assert_eq!(timeline(&h, &h.owner).await, 200);

    let members =
        ok(h.app.get_authed(&format!("/api/v1/devices/{}/members", h.uid), &h.owner).await);
    let friend_id = member_id(&h.app, &h.friend).await;
    assert_eq!(members[0]["account"], json!(friend_id));
    assert_eq!(members[0]["capabilities"], json!(["view", "view-live", "receive-alarms"]));
    assert!(members[0].get("until_ms").is_none() && members[0].get("schedule").is_none());
    assert_eq!(
        history(&h).await,
        vec![("joined".into(), Some("Kankan user".into())), ("invited".into(), None)]
    );
}

#[tokio::test]
async fn the_owner_grants_play_back_until_a_moment_after_which_nothing_is_left() {
    let h = home().await;
    join(&h).await;
    let until = kankan_base::Clock::now(&h.app.clock).0 + 3_600_000;
    let body = json!({"capabilities": ["view", "view-live", "play-back"], "until_ms": until});
    let m = ok(grant(&h, body).await);
    assert_eq!(m["capabilities"], json!(["view", "view-live", "play-back"]));
    assert_eq!(m["until_ms"], json!(until));
    assert_eq!(timeline(&h, &h.friend).await, 200);
    assert_eq!(history(&h).await[0].0, "changed");
    notice(&h.app, 0, "changed").await;

    h.app.clock.advance(2 * HOUR);
    assert_eq!(timeline(&h, &h.friend).await, 404);
    let (s, _) = h.app.get_authed(&format!("/api/v1/devices/{}", h.uid), &h.friend).await;
    assert_eq!(s, 404);
    assert!(device_list(&h.app, &h.friend).await.is_empty());
    // The owner still sees the member, with its time box, and may extend it.
    let members =
        ok(h.app.get_authed(&format!("/api/v1/devices/{}/members", h.uid), &h.owner).await);
    assert_eq!(members[0]["until_ms"], json!(until));
    ok(grant(&h, json!({"capabilities": ["view"]})).await);
    assert_eq!(device_list(&h.app, &h.friend).await.len(), 1);
}

#[tokio::test]
async fn a_grant_gives_nothing_outside_its_weekly_schedule() {
    let h = home().await;
    join(&h).await;
    let now = kankan_base::Clock::now(&h.app.clock).0;
    let today = weekday(now);
    let all_day = |day: &str| json!({"day": day, "start": "00:00", "end": "24:00"});
    let other_days: Vec<Value> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .into_iter()
        .filter(|d| *d != today)
        .map(all_day)
        .collect();
    let caps = json!(["view", "view-live", "play-back"]);
    let outside =
        json!({"capabilities": caps, "schedule": {"time_zone": "UTC", "periods": other_days}});
    let m = ok(grant(&h, outside).await);
    assert_eq!(m["schedule"]["time_zone"], json!("UTC"));
    assert_eq!(timeline(&h, &h.friend).await, 404);
    assert!(device_list(&h.app, &h.friend).await.is_empty());
    let (s, _) = h.app.get_authed(&format!("/api/v1/devices/{}", h.uid), &h.friend).await;
    assert_eq!(s, 404);

    let inside = json!({"capabilities": caps, "schedule": {"time_zone": "UTC", "periods": [all_day(today)]}});
    ok(grant(&h, inside).await);
    assert_eq!(timeline(&h, &h.friend).await, 200);
    // A day later it is outside again.
    h.app.clock.advance(24 * HOUR);
    assert_eq!(timeline(&h, &h.friend).await, 404);

    let bad =
        json!({"capabilities": caps, "schedule": {"time_zone": "Mars/Olympus", "periods": []}});
    let r = grant(&h, bad).await;
    assert_eq!(code(&r), (400, "invalid-time-zone"), "{}", r.1);
}

#[tokio::test]
async fn an_invitation_is_single_use_and_not_for_its_owner() {
    let h = home().await;
    let third = h.app.register("third@example.com", PW).await;
    let token = invite(&h.app, &h.owner, &h.uid).await;
    assert_eq!(code(&accept(&h.app, &h.owner, &token).await), (409, "invitation-own"));
    ok(accept(&h.app, &h.friend, &token).await);
    assert_eq!(code(&accept(&h.app, &third, &token).await), (404, "invitation-invalid"));
    assert_eq!(code(&preview(&h.app, &third, &token).await), (404, "invitation-invalid"));
    assert_eq!(code(&accept(&h.app, &h.friend, &token).await), (404, "invitation-invalid"));
    assert_eq!(code(&preview(&h.app, &third, "no-such-token").await), (404, "invitation-invalid"));
    assert!(device_list(&h.app, &third).await.is_empty());
}

#[tokio::test]
async fn a_bound_invitation_opens_only_for_its_identifier() {
    let h = home().await;
    let third = h.app.register("third@example.com", PW).await;
    let body = json!({"devices": [h.uid], "bound_to": " Friend@Example.com "});
    let created = ok(call(&h.app, "POST", "/api/v1/shares", &h.owner, Some(body)).await);
    let token = created["token"].as_str().expect("token");
    assert_eq!(code(&preview(&h.app, &third, token).await), (404, "invitation-invalid"));
    assert_eq!(code(&accept(&h.app, &third, token).await), (404, "invitation-invalid"));
    let pending = ok(h.app.get_authed("/api/v1/shares", &h.owner).await);
    assert_eq!(pending[0]["bound"], json!(true));
    assert!(!pending.to_string().contains("friend@"), "{pending}");
    ok(preview(&h.app, &h.friend, token).await);
    ok(accept(&h.app, &h.friend, token).await);
}

#[tokio::test]
async fn an_invitation_withdrawn_or_expired_opens_nothing() {
    let h = home().await;
    let created =
        ok(call(&h.app, "POST", "/api/v1/shares", &h.owner, Some(json!({"devices": [h.uid]})))
            .await);
    let (id, token) = (created["id"].as_str().expect("id"), created["token"].as_str().expect("t"));
    let pending = ok(h.app.get_authed("/api/v1/shares", &h.owner).await);
    assert_eq!(pending.as_array().map(Vec::len), Some(1));
    assert_eq!(pending[0]["id"], json!(id));
    assert_eq!(pending[0]["devices"], json!([{"uid": h.uid, "name": "Porch"}]));
    // Only its inviter withdraws it.
    let r = call(&h.app, "DELETE", &format!("/api/v1/shares/{id}"), &h.friend, None).await;
    assert_eq!(code(&r), (404, "not-found"));
    let r = call(&h.app, "DELETE", &format!("/api/v1/shares/{id}"), &h.owner, None).await;
    assert_eq!(r.0, 204, "{}", r.1);
    assert_eq!(ok(h.app.get_authed("/api/v1/shares", &h.owner).await), json!([]));
    assert_eq!(code(&preview(&h.app, &h.friend, token).await), (404, "invitation-invalid"));
    assert_eq!(code(&accept(&h.app, &h.friend, token).await), (404, "invitation-invalid"));
    let r = call(&h.app, "DELETE", &format!("/api/v1/shares/{id}"), &h.owner, None).await;
    assert_eq!(code(&r), (404, "not-found"));

    let body = json!({"devices": [h.uid], "expires_in_hours": 1});
    let created = ok(call(&h.app, "POST", "/api/v1/shares", &h.owner, Some(body)).await);
    let token = created["token"].as_str().expect("token");
    ok(preview(&h.app, &h.friend, token).await);
    h.app.clock.advance(HOUR + Duration::from_secs(1));
    assert_eq!(code(&preview(&h.app, &h.friend, token).await), (404, "invitation-invalid"));
    assert_eq!(code(&accept(&h.app, &h.friend, token).await), (404, "invitation-invalid"));
}

#[tokio::test]
async fn invitations_are_checked_and_rate_limited() {
    let h = home().await;
    let other = provision(&h.app, "KK-C1").await;
    let _theirs = bind(&h.app, &h.friend, &other).await;
    let create = |body: Value| call(&h.app, "POST", "/api/v1/shares", &h.owner, Some(body));
    let many: Vec<String> = (0..17).map(|_| h.uid.clone()).collect();
    for (body, want) in [
        (json!({"devices": []}), (400, "invalid-share")),
        (json!({"devices": many}), (400, "invalid-share")),
        (json!({"devices": [h.uid], "expires_in_hours": 0}), (400, "invalid-share")),
        (json!({"devices": [h.uid], "expires_in_hours": 169}), (400, "invalid-share")),
        (json!({"devices": [h.uid], "bound_to": "not an address"}), (400, "invalid-identifier")),
        // Another account's device, alone or with one's own: like a missing one.
        (json!({"devices": [other.uid]}), (404, "device-not-found")),
        (json!({"devices": [h.uid, other.uid]}), (404, "device-not-found")),
    ] {
        let r = create(body.clone()).await;
        assert_eq!(code(&r), want, "{body}: {}", r.1);
    }
    let mut made = 0;
    loop {
        let r = create(json!({"devices": [h.uid], "expires_in_hours": 168})).await;
        if r.0 == 429 {
            break;
        }
        assert_eq!(r.0, 201, "{}", r.1);
        made += 1;
        assert!(made <= 20, "more than 20 an hour");
    }
    assert!(made >= 18, "the limit is 20 an hour, counting the refused attempts ({made})");
    h.app.clock.advance(HOUR);
    assert_eq!(create(json!({"devices": [h.uid]})).await.0, 201);
}

#[tokio::test]
async fn sharing_onward_unbinding_and_managing_members_are_never_a_members() {
    let h = home().await;
    let stranger = h.app.register("stranger@example.com", PW).await;
    join(&h).await;
    for cap in ["share", "unbind", "manage-recordings"] {
        let r = grant(&h, json!({"capabilities": ["view", cap]})).await;
        assert_eq!(code(&r), (422, "capability-not-grantable"), "{cap}");
    }
    // Everything grantable, and still not these.
    let all = json!([
        "view",
        "view-live",
        "play-back",
        "download",
        "talk",
        "move-ptz",
        "change-settings",
        "receive-alarms"
    ]);
    ok(grant(&h, json!({"capabilities": all})).await);
    let uid = &h.uid;
    let friend_id = member_id(&h.app, &h.friend).await;
    for (method, path, body) in [
        ("POST", "/api/v1/shares".to_string(), Some(json!({"devices": [uid]}))),
        ("GET", format!("/api/v1/devices/{uid}/members"), None),
        ("GET", format!("/api/v1/devices/{uid}/members/history"), None),
        (
            "PUT",
            format!("/api/v1/devices/{uid}/members/{friend_id}"),
            Some(json!({"capabilities": ["view"]})),
        ),
        ("DELETE", format!("/api/v1/devices/{uid}/members/{friend_id}"), None),
        ("DELETE", format!("/api/v1/devices/{uid}"), None),
    ] {
        let r = call(&h.app, method, &path, &h.friend, body).await;
        assert_eq!(code(&r), (404, "device-not-found"), "{method} {path}");
    }
    let list = device_list(&h.app, &h.friend).await;
    assert_eq!(list[0]["capabilities"], all);
    // The owner's own membership cannot be left, and a stranger has none.
    let r =
        call(&h.app, "DELETE", &format!("/api/v1/devices/{uid}/membership"), &h.owner, None).await;
    assert_eq!(code(&r), (404, "device-not-found"));
    let r = call(
        &h.app,
        "PUT",
        &format!("/api/v1/devices/{uid}/members/{}", member_id(&h.app, &stranger).await),
        &h.owner,
        Some(json!({"capabilities": ["view"]})),
    )
    .await;
    assert_eq!(code(&r), (404, "not-found"));
}

#[tokio::test]
async fn a_member_who_leaves_loses_the_device_and_the_owner_is_told() {
    let h = home().await;
    join(&h).await;
    ok(call(&h.app, "PATCH", "/api/v1/me", &h.friend, Some(json!({"nickname": "Ana"}))).await);
    let seen = h.app.outbox().len();
    let path = format!("/api/v1/devices/{}/membership", h.uid);
    let r = call(&h.app, "DELETE", &path, &h.friend, None).await;
    assert_eq!(r.0, 204, "{}", r.1);
    let told = notice(&h.app, seen, "left").await;
    assert!(told.body.contains("Ana"), "{told:?}");
    assert!(device_list(&h.app, &h.friend).await.is_empty());
    let (s, _) = h.app.get_authed(&format!("/api/v1/devices/{}", h.uid), &h.friend).await;
    assert_eq!(s, 404);
    assert_eq!(
        code(&call(&h.app, "DELETE", &path, &h.friend, None).await),
        (404, "device-not-found")
    );
    let members =
        ok(h.app.get_authed(&format!("/api/v1/devices/{}/members", h.uid), &h.owner).await);
    assert_eq!(members, json!([]));
    let actions: Vec<String> = history(&h).await.into_iter().map(|(a, _)| a).collect();
    assert_eq!(actions, ["left", "joined", "invited"]);
    assert_eq!(history(&h).await[0].1.as_deref(), Some("Ana"));
}

/// Whether the live socket ends within a few seconds (the promise is at once).
async fn ends(
    ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, ws.next()).await {
            Err(_) => return false,
            Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
            Ok(Some(Ok(_))) => {}
        }
    }
}

#[tokio::test]
async fn removing_a_member_ends_its_live_view_at_once_and_its_links() {
    let app = recording_app().await;
    let (owner, creds, cam, _stop) = recording_camera(&app, OWNER).await;
    let friend = app.register(FRIEND, PW).await;
    cam.wait_for("streaming", WAIT, |s| s.sent_live_ms >= 1_000).await.expect("live");
    until_live(&app, &creds.uid).await;
    let token = invite(&app, &owner, &creds.uid).await;
    ok(accept(&app, &friend, &token).await);
    let (live, base) = link_for(&app, &friend, &creds.uid, "live").await;
    let ws_url = |t: &str| app.url(&format!("{base}/live?t={t}")).replacen("http://", "ws://", 1);
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url(&live)).await.expect("opens");
    let first = tokio::time::timeout(WAIT, ws.next()).await.expect("in time");
    assert!(matches!(first, Some(Ok(Message::Binary(_)))), "video flows: {first:?}");
    // The owner's own view runs on.
    let (own, _) = link_for(&app, &owner, &creds.uid, "live").await;
    let (mut owner_ws, _) = tokio_tungstenite::connect_async(ws_url(&own)).await.expect("opens");

    let seen = app.outbox().len();
    let friend_id = member_id(&app, &friend).await;
    let path = format!("/api/v1/devices/{}/members/{friend_id}", creds.uid);
    let r = call(&app, "DELETE", &path, &owner, None).await;
    assert_eq!(r.0, 204, "{}", r.1);
    assert!(ends(&mut ws).await, "the member's live view ended");
    let (status, _) = refused(ws_url(&live)).await;
    assert!(matches!(status, 403 | 404), "the member's link: {status}");
    let next = tokio::time::timeout(WAIT, owner_ws.next()).await.expect("in time");
    assert!(matches!(next, Some(Ok(Message::Binary(_)))), "the owner's view runs on: {next:?}");
    notice(&app, seen, "removed").await;
    assert!(device_list(&app, &friend).await.is_empty());
    assert_eq!(code(&call(&app, "DELETE", &path, &owner, None).await), (404, "not-found"));
}
