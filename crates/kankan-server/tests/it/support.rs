//! Support grants: staff see a user's recordings only under the user's live, time-boxed
//! grant for that device; giving, withdrawing and each staff link are logged for the user,
//! who is told by a notice.

use std::time::Duration;

use kankan_base::Clock as _;
use kankan_testkit::TestApp;
use serde_json::{Value, json};

use crate::admin::staff_token;
use crate::authz_routes::account_id;
use crate::devices::{bind, provision};

const PW: &str = "plum-garden-kettle-42";

async fn staff_link(app: &TestApp, staff: &str, account: &str, uid: &str) -> (u16, Value) {
    let path = format!("/api/v1/admin/support/{account}/devices/{uid}/recordings/link");
    app.send(app.http.post(app.url(&path)).bearer_auth(staff)).await
}

/// The code a playlist request with the link answers: `no-recording` once the link is
/// accepted (the camera has recorded nothing), `device-not-found` when it is refused.
async fn use_link(app: &TestApp, uid: &str, token: &str) -> String {
    let now = app.clock.now().0;
    let url = app
        .url(&format!("/media/v1/{uid}/playlist.m3u8?t={token}&from={}&to={now}", now - 3_600_000));
    let (_, b) = app.send(app.http.get(url)).await;
    b["code"].as_str().unwrap_or_default().to_string()
}

async fn grant(app: &TestApp, user: &str, hours: u32, devices: &[&str]) -> (u16, Value) {
    app.send(
        app.http
            .post(app.url("/api/v1/me/support-grants"))
            .bearer_auth(user)
            .json(&json!({"hours": hours, "devices": devices})),
    )
    .await
}

async fn actions(app: &TestApp, user: &str) -> Vec<String> {
    let (s, b) = app.get_authed("/api/v1/me/data-access", user).await;
    assert_eq!(s, 200, "{b}");
    b["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_string))
        .collect()
}

/// Without a grant staff get `device-not-found`; with one, a playback link that works, which
/// the user sees in the accesses to their data; the user gets a notice; after withdrawal the
/// link already taken stops working and no new one is given.
#[tokio::test]
async fn staff_see_recordings_only_under_a_live_grant_and_withdrawal_ends_it() {
    let app = TestApp::spawn().await;
    let user = app.register("helped@example.com", PW).await;
    let account = account_id(&app, &user).await.to_string();
    let creds = provision(&app, "KK-C1").await;
    let _dev = bind(&app, &user, &creds).await;
    let other = provision(&app, "KK-C1").await;
    let _other_dev = bind(&app, &user, &other).await;
    let staff = staff_token(&app).await;

    let (s, b) = staff_link(&app, &staff, &account, &creds.uid).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("device-not-found")), "no grant yet");

    let seen = app.outbox().len();
    let (s, g) = grant(&app, &user, 2, &[&creds.uid]).await;
    assert_eq!(s, 201, "{g}");
    assert_eq!(g["live"], true);
    let notice = app.wait_for_message(seen).await;
    assert!(notice.subject.contains("Support access granted"), "{}", notice.subject);

    let (s, link) = staff_link(&app, &staff, &account, &creds.uid).await;
    assert_eq!(s, 200, "{link}");
    let token = link["token"].as_str().expect("token").to_string();
    assert_eq!(use_link(&app, &creds.uid, &token).await, "no-recording", "the link is accepted");
    let (s, _) = staff_link(&app, &staff, &account, &other.uid).await;
    assert_eq!(s, 404, "a device the grant does not name");
    let user_token_path =
        format!("/api/v1/admin/support/{account}/devices/{}/recordings/link", creds.uid);
    let (s, _) = app.send(app.http.post(app.url(&user_token_path)).bearer_auth(&user)).await;
    assert_eq!(s, 401, "staff only");

    let id = g["id"].as_str().expect("id");
    let (s, _) = app
        .send(
            app.http.delete(app.url(&format!("/api/v1/me/support-grants/{id}"))).bearer_auth(&user),
        )
        .await;
    assert_eq!(s, 204);
    assert_eq!(use_link(&app, &creds.uid, &token).await, "device-not-found", "withdrawn");
    let (s, _) = staff_link(&app, &staff, &account, &creds.uid).await;
    assert_eq!(s, 404);
    let (_, list) = app.get_authed("/api/v1/me/support-grants", &user).await;
    assert_eq!(list["grants"][0]["live"], false);

    let seen_actions = actions(&app, &user).await;
    for want in ["support-grant-given", "support-media-access", "support-grant-withdrawn"] {
        assert!(seen_actions.iter().any(|a| a == want), "{want} in {seen_actions:?}");
    }
    assert!(app.running().services.audit.verify().await.expect("verify").intact());
}

/// A grant ends by itself when its hours pass (simulated time): the link taken under it and
/// new links are refused.
#[tokio::test]
async fn a_support_grant_expires_after_its_hours() {
    let app = TestApp::spawn().await;
    let user = app.register("expiring@example.com", PW).await;
    let account = account_id(&app, &user).await.to_string();
    let creds = provision(&app, "KK-C1").await;
    let _dev = bind(&app, &user, &creds).await;
    let staff = staff_token(&app).await;
    let (s, _) = grant(&app, &user, 1, &[&creds.uid]).await;
    assert_eq!(s, 201);
    // A link taken 50 minutes in is still within its own 15 minutes when the hour ends.
    app.clock.advance(Duration::from_secs(3000));
    let (s, link) = staff_link(&app, &staff, &account, &creds.uid).await;
    assert_eq!(s, 200, "{link}");
    let token = link["token"].as_str().expect("token").to_string();
    assert_eq!(use_link(&app, &creds.uid, &token).await, "no-recording", "accepted");
    app.clock.advance(Duration::from_secs(600));
    assert_eq!(use_link(&app, &creds.uid, &token).await, "device-not-found", "the hour passed");
    let (s, _) = staff_link(&app, &staff, &account, &creds.uid).await;
    assert_eq!(s, 404);
}

/// Grants are for 1-72 hours and the caller's own devices only; nothing is stored otherwise.
#[tokio::test]
async fn support_grants_refuse_bad_hours_and_devices_not_owned() {
    let app = TestApp::spawn().await;
    let user = app.register("picky@example.com", PW).await;
    let stranger = app.register("stranger@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _dev = bind(&app, &stranger, &creds).await;
    let mine = provision(&app, "KK-C1").await;
    let _mine = bind(&app, &user, &mine).await;
    for hours in [0, 73] {
        let (s, b) = grant(&app, &user, hours, &[&mine.uid]).await;
        assert_eq!((s, b["code"].as_str()), (400, Some("invalid-request")), "{hours}");
    }
    let (s, b) = grant(&app, &user, 1, &[]).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-request")));
    let (s, b) = grant(&app, &user, 1, &[&mine.uid, &creds.uid]).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("device-not-found")), "not the caller's");
    let (_, list) = app.get_authed("/api/v1/me/support-grants", &user).await;
    assert_eq!(list["grants"], json!([]), "nothing half-stored");
}
