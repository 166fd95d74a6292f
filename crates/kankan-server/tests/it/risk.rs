//! Risk control: throttles, lockout, bans.

use std::time::Duration;

use kankan_accounts::{BAN_NOTICE, RateLimit};
use kankan_testkit::TestApp;
use serde_json::json;

const PW: &str = "plum-garden-kettle-42";

#[tokio::test]
async fn logins_per_ip_are_throttled_with_retry_after() {
    let app =
        TestApp::spawn_with(|c| c.limits.login_per_ip = RateLimit { count: 3, per_secs: 60 }).await;
    for _ in 0..3 {
        assert_eq!(app.login("x@example.com", "whatever-password").await.0, 401);
    }
    let resp = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"identifier": "x@example.com", "password": "whatever-password"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let b: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(b["code"], "too-many-requests");
}

#[tokio::test]
async fn registrations_per_ip_are_throttled() {
    let app =
        TestApp::spawn_with(|c| c.limits.register_per_ip = RateLimit { count: 2, per_secs: 3600 })
            .await;
    for i in 0..2 {
        let (s, _) = app
            .post(
                "/api/v1/auth/register",
                json!({"identifier": format!("r{i}@example.com"), "password": PW, "accept_policy": "1"}),
            )
            .await;
        assert_eq!(s, 202);
    }
    let (s, b) = app
        .post(
            "/api/v1/auth/register",
            json!({"identifier": "r9@example.com", "password": PW, "accept_policy": "1"}),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (429, Some("too-many-requests")));
}

#[tokio::test]
async fn codes_per_ip_are_throttled() {
    let app =
        TestApp::spawn_with(|c| c.limits.codes_per_ip = RateLimit { count: 2, per_secs: 3600 })
            .await;
    for i in 0..2 {
        let (s, _) = app
            .post("/api/v1/auth/password-reset", json!({"identifier": format!("p{i}@example.com")}))
            .await;
        assert_eq!(s, 202);
    }
    let (s, _) =
        app.post("/api/v1/auth/password-reset", json!({"identifier": "p9@example.com"})).await;
    assert_eq!(s, 429);
}

/// The answers a client sees for `n` wrong passwords and then the right one.
async fn answers(app: &TestApp, id: &str, n: usize) -> Vec<(u16, String)> {
    let mut out = Vec::new();
    for i in 0..n {
        let (s, b) = app.login(id, &format!("wrong-password-{i}")).await;
        out.push((s, b["code"].as_str().unwrap_or_default().to_string()));
    }
    let (s, b) = app.login(id, PW).await;
    out.push((s, b["code"].as_str().unwrap_or_default().to_string()));
    out
}

#[tokio::test]
async fn repeated_failures_lock_the_identifier_then_the_lock_expires() {
    let app = TestApp::spawn().await;
    app.register("lock@example.com", PW).await;
    let seen = answers(&app, "lock@example.com", 5).await;
    assert!(seen[..5].iter().all(|(s, c)| *s == 401 && c == "invalid-credentials"));
    assert_eq!(seen[5], (429, "account-locked".to_string()), "even the right password waits");
    app.clock.advance(Duration::from_secs(15 * 60));
    assert_eq!(app.login("lock@example.com", PW).await.0, 200);
}

#[tokio::test]
async fn lockout_answers_do_not_reveal_whether_an_account_exists() {
    let app = TestApp::spawn().await;
    app.register("exists@example.com", PW).await;
    let real = answers(&app, "exists@example.com", 6).await;
    let ghost = answers(&app, "ghost@example.com", 6).await;
    let codes = |v: &[(u16, String)]| v.iter().map(|(s, c)| (*s, c.clone())).collect::<Vec<_>>();
    assert_eq!(codes(&real), codes(&ghost));
}

#[tokio::test]
async fn a_banned_account_sees_the_ban_notice_and_loses_its_sessions() {
    let app = TestApp::spawn().await;
    let token = app.register("ban@example.com", PW).await;
    let accounts = &app.running().services.accounts;
    let id = accounts.find_by_identifier("ban@example.com").await.expect("found");
    accounts.ban(id, "fraud").await.expect("ban");
    assert_eq!(app.get_authed("/api/v1/me", &token).await.0, 401);
    let (s, b) = app.login("ban@example.com", PW).await;
    assert_eq!((s, b["code"].as_str()), (403, Some("account-banned")));
    assert_eq!(b["message"], BAN_NOTICE);
    let (s, _) =
        app.post("/api/v1/auth/password-reset", json!({"identifier": "ban@example.com"})).await;
    assert_eq!(s, 202, "reset answers as usual but a banned account gets no code");
    accounts.unban(id).await.expect("unban");
    assert_eq!(app.login("ban@example.com", PW).await.0, 200);
}

#[tokio::test]
async fn a_wrong_password_on_a_banned_account_does_not_reveal_the_ban() {
    let app = TestApp::spawn().await;
    app.register("ban2@example.com", PW).await;
    let accounts = &app.running().services.accounts;
    let id = accounts.find_by_identifier("ban2@example.com").await.expect("found");
    accounts.ban(id, "spam").await.expect("ban");
    let (s, b) = app.login("ban2@example.com", "not-the-password").await;
    assert_eq!((s, b["code"].as_str()), (401, Some("invalid-credentials")));
}
