//! Sessions: cookies and CSRF, the sessions list, sign-out, login history, new-device notices.

use kankan_base::Clock as _;
use kankan_testkit::TestApp;
use serde_json::json;

const PW: &str = "plum-garden-kettle-42";

/// Logs in and returns the `Set-Cookie` values as one `Cookie` header, and the CSRF token.
async fn browser_login(app: &TestApp, id: &str) -> (String, String) {
    let resp = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"identifier": id, "password": PW}))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), 200);
    let cookies: Vec<String> = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_string())
        .collect();
    let session =
        cookies.iter().find(|c| c.starts_with("kankan_session=")).expect("session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"), "{session}");
    let csrf = cookies.iter().find(|c| c.starts_with("kankan_csrf=")).expect("csrf cookie");
    assert!(!csrf.contains("HttpOnly"), "the page must be able to read the CSRF cookie");
    let header = cookies
        .iter()
        .map(|c| c.split(';').next().expect("name=value").to_string())
        .collect::<Vec<_>>()
        .join("; ");
    let body: serde_json::Value = resp.json().await.expect("json");
    (header, body["csrf_token"].as_str().expect("csrf").to_string())
}

#[tokio::test]
async fn cookie_sessions_need_the_csrf_header_to_change_anything() {
    let app = TestApp::spawn().await;
    app.register("a@example.com", PW).await;
    let (cookie, csrf) = browser_login(&app, "a@example.com").await;
    let (s, _) = app.send(app.http.get(app.url("/api/v1/me")).header("cookie", &cookie)).await;
    assert_eq!(s, 200, "reads need no CSRF token");
    let patch = || app.http.patch(app.url("/api/v1/me")).header("cookie", &cookie);
    let (s, b) = app.send(patch().json(&json!({"nickname": "x"}))).await;
    assert_eq!((s, b["code"].as_str()), (403, Some("csrf-token-mismatch")));
    let (s, _) =
        app.send(patch().header("x-csrf-token", "forged").json(&json!({"nickname": "x"}))).await;
    assert_eq!(s, 403);
    let (s, _) =
        app.send(patch().header("x-csrf-token", &csrf).json(&json!({"nickname": "x"}))).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn sessions_are_listed_and_one_can_be_signed_out() {
    let app = TestApp::spawn().await;
    let first = app.register("b@example.com", PW).await;
    let resp = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("user-agent", "PhoneApp/2.0")
        .json(&json!({"identifier": "b@example.com", "password": PW}))
        .send()
        .await
        .expect("login");
    let second: serde_json::Value = resp.json().await.expect("json");
    let second = second["token"].as_str().expect("token").to_string();

    let (s, list) = app.get_authed("/api/v1/me/sessions", &first).await;
    assert_eq!(s, 200);
    let list = list.as_array().expect("array").clone();
    assert_eq!(list.len(), 2);
    let phone = list.iter().find(|x| x["client"] == "PhoneApp/2.0").expect("phone session");
    assert_eq!(phone["ip"], "127.0.0.1");
    assert_eq!(phone["current"], false);
    assert!(list.iter().any(|x| x["current"] == true));

    let id = phone["id"].as_str().expect("id");
    let (s, _) = app
        .send(app.http.delete(app.url(&format!("/api/v1/me/sessions/{id}"))).bearer_auth(&first))
        .await;
    assert_eq!(s, 204);
    assert_eq!(app.get_authed("/api/v1/me", &second).await.0, 401);
    let (s, b) = app
        .send(app.http.delete(app.url(&format!("/api/v1/me/sessions/{id}"))).bearer_auth(&first))
        .await;
    assert_eq!((s, b["code"].as_str()), (404, Some("session-not-found")));
}

#[tokio::test]
async fn one_account_cannot_sign_out_anothers_session() {
    let app = TestApp::spawn().await;
    let alice = app.register("c1@example.com", PW).await;
    let bob = app.register("c2@example.com", PW).await;
    let (_, list) = app.get_authed("/api/v1/me/sessions", &bob).await;
    let bob_session = list[0]["id"].as_str().expect("id").to_string();
    let (s, _) = app
        .send(
            app.http
                .delete(app.url(&format!("/api/v1/me/sessions/{bob_session}")))
                .bearer_auth(&alice),
        )
        .await;
    assert_eq!(s, 404);
    assert_eq!(app.get_authed("/api/v1/me", &bob).await.0, 200);
}

#[tokio::test]
async fn logout_ends_the_session_and_clears_the_cookies() {
    let app = TestApp::spawn().await;
    let token = app.register("d@example.com", PW).await;
    let resp = app
        .http
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 204);
    let cleared = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter(|v| v.to_str().is_ok_and(|c| c.contains("Max-Age=0")))
        .count();
    assert_eq!(cleared, 2);
    assert_eq!(app.get_authed("/api/v1/me", &token).await.0, 401);
}

#[tokio::test]
async fn login_history_records_failures_and_successes() {
    let app = TestApp::spawn().await;
    let token = app.register("e@example.com", PW).await;
    assert_eq!(app.login("e@example.com", "wrong-password-1").await.0, 401);
    let (s, list) = app.get_authed("/api/v1/me/logins", &token).await;
    assert_eq!(s, 200);
    let outcomes: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["outcome"].as_str().expect("str"))
        .collect();
    assert_eq!(outcomes, ["bad-password", "success"]);
    assert_eq!(list[1]["new_device"], true);
    assert_eq!(list[1]["ip"], "127.0.0.1");
}

#[tokio::test]
async fn a_login_from_a_new_client_sends_a_notice_and_a_known_one_does_not() {
    let app = TestApp::spawn().await;
    app.register("f@example.com", PW).await;
    let seen = app.outbox().len();
    // Same client as registration: known, no notice.
    assert_eq!(app.login("f@example.com", PW).await.0, 200);
    let (s, _) = app
        .send(
            app.http
                .post(app.url("/api/v1/auth/login"))
                .header("user-agent", "UnknownBrowser/1.0")
                .json(&json!({"identifier": "f@example.com", "password": PW})),
        )
        .await;
    assert_eq!(s, 200);
    let msg = app.wait_for_message(seen).await;
    assert_eq!(app.outbox().len(), seen + 1, "exactly one notice, for the new client");
    assert!(msg.subject.contains("New sign-in"));
    assert!(msg.body.contains("UnknownBrowser/1.0"));
}

#[tokio::test]
async fn requests_without_or_with_a_bad_token_are_unauthenticated() {
    let app = TestApp::spawn().await;
    let (s, b) = app.send(app.http.get(app.url("/api/v1/me"))).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("unauthenticated")));
    let (s, _) = app.get_authed("/api/v1/me", "not-a-real-token").await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn sessions_expire_after_their_lifetime() {
    let app = TestApp::spawn().await;
    let token = app.register("g@example.com", PW).await;
    app.clock.advance(std::time::Duration::from_secs(30 * 86_400 + 1));
    assert_eq!(app.get_authed("/api/v1/me", &token).await.0, 401);
}

/// The `accounts-sweeper` worker keeps login history `accounts.login_history_days` (180) on
/// the clock: fails without the worker (the old entries stayed for ever).
#[tokio::test]
async fn login_history_is_deleted_after_its_retention_by_the_sweeper() {
    let app = TestApp::spawn().await;
    let token = app.register("old@example.com", PW).await;
    let (s, me) = app.get_authed("/api/v1/me", &token).await;
    assert_eq!(s, 200);
    let id = kankan_base::AccountId(me["id"].as_str().expect("id").parse().expect("uuid"));
    let store = app.running().services.store.clone();
    let first = store.login_events(id, 100).await.expect("history");
    assert!(!first.is_empty(), "registering records a login");
    app.clock.advance(std::time::Duration::from_secs(100 * 86_400));
    let (s, _) = app.login("old@example.com", PW).await;
    assert_eq!(s, 200);
    let before = store.login_events(id, 100).await.expect("history").len();
    assert_eq!(before, first.len() + 1);

    // 181 days after the first: the sweeper's next hourly run deletes them, not the later one.
    app.clock.advance(std::time::Duration::from_secs(81 * 86_400));
    let kept = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        loop {
            let h = store.login_events(id, 100).await.expect("history");
            if h.len() < before {
                return h;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the sweeper ran");
    assert_eq!(kept.len(), 1, "only the login of 81 days ago is left");
}

/// Waits (in real time, bounded) until `done` holds: the sweeper runs on its own task once the
/// simulated clock passes its hour.
async fn until<F, Fut>(mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while !done().await {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the sweeper ran");
}

/// A session unused for `accounts.session_idle_days` (14) is refused at once and deleted by the
/// sweeper; one used in the meantime goes on. Fails without the idle rule (sessions lived their
/// whole 30 days however long unused).
#[tokio::test]
async fn a_session_left_idle_is_refused_and_deleted_by_the_sweeper() {
    let app = TestApp::spawn().await;
    let idle = app.register("idle@example.com", PW).await;
    let (_, b) = app.login("idle@example.com", PW).await;
    let used = b["token"].as_str().expect("token").to_string();
    let (_, me) = app.get_authed("/api/v1/me", &idle).await;
    let id = kankan_base::AccountId(me["id"].as_str().expect("id").parse().expect("uuid"));
    for _ in 0..3 {
        app.clock.advance(std::time::Duration::from_secs(5 * 86_400));
        assert_eq!(app.get_authed("/api/v1/me", &used).await.0, 200, "used every 5 days");
    }
    assert_eq!(app.get_authed("/api/v1/me", &idle).await.0, 401, "15 days unused");
    let (_, listed) = app.get_authed("/api/v1/me/sessions", &used).await;
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(1),
        "an ended session is not listed: {listed}"
    );
    let store = app.running().services.store.clone();
    let now = app.clock.now();
    until(|| {
        let store = store.clone();
        async move { store.sessions_of(id, now).await.expect("sessions").len() == 1 }
    })
    .await;
    assert_eq!(app.get_authed("/api/v1/me", &used).await.0, 200);
}

/// An account still pending `accounts.pending_registration_days` (7) after its registration
/// code was sent is deleted with its codes by the sweeper; the identifier can register again.
#[tokio::test]
async fn a_registration_left_pending_is_deleted_with_its_codes_by_the_sweeper() {
    let app = TestApp::spawn().await;
    let seen = app.outbox().len();
    let (s, _) = app
        .post(
            "/api/v1/auth/register",
            json!({"identifier": "gone@example.com", "password": PW, "accept_policy": "1"}),
        )
        .await;
    assert_eq!(s, 202);
    let code = app.wait_for_code(seen).await;
    let store = app.running().services.store.clone();
    let id = app
        .running()
        .services
        .accounts
        .find_by_identifier("gone@example.com")
        .await
        .expect("pending");
    app.clock.advance(std::time::Duration::from_secs(6 * 86_400));
    assert!(store.account(id).await.expect("q").is_some(), "kept for 7 days");
    app.clock.advance(std::time::Duration::from_secs(86_400 + 3600));
    until(|| {
        let store = store.clone();
        async move { store.account(id).await.expect("q").is_none() }
    })
    .await;
    let (s, b) = app
        .post(
            "/api/v1/auth/register/verify",
            json!({"identifier": "gone@example.com", "code": code}),
        )
        .await;
    assert_eq!(s, 400, "its code went with it: {b}");
    let token = app.register("gone@example.com", PW).await;
    assert_eq!(app.get_authed("/api/v1/me", &token).await.0, 200, "registers anew");
}
