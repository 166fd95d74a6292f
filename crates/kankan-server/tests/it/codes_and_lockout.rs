//! Codes, registration and login against concurrent and spread-out attackers: attempt limits
//! that hold under parallel requests, lockouts that count every failure, throttles per
//! identifier and per IPv6 /64, a pending account's password kept until the code is proven,
//! staff logins locked out like users', throttled password changes.

use std::time::Duration;

use kankan_accounts::RateLimit;
use kankan_testkit::TestApp;
use serde_json::{Value, json};

const PW: &str = "plum-garden-kettle-42";
const MANY: RateLimit = RateLimit { count: 10_000, per_secs: 60 };

/// Limits out of the way, so only the rule under test answers; the test server's peer,
/// 127.0.0.1, is a trusted proxy so that a test can speak as many client addresses.
async fn app_without_throttles() -> TestApp {
    TestApp::spawn_with(|c| {
        c.limits.login_per_ip = MANY;
        c.limits.login_per_identifier = MANY;
        c.limits.redeem_per_identifier = MANY;
        c.server.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await
}

/// POSTs `body` to `path` as the client at `ip` (through the trusted proxy).
async fn post_from(app: &TestApp, ip: &str, path: &str, body: Value) -> (u16, Value) {
    app.send(app.http.post(app.url(path)).header("x-forwarded-for", ip).json(&body)).await
}

/// Sends `n` copies of a request at once and answers their statuses.
async fn burst(app: &TestApp, n: usize, path: &str, body: impl Fn(usize) -> Value) -> Vec<u16> {
    let reqs: Vec<_> = (0..n)
        .map(|i| {
            let req = app
                .http
                .post(app.url(path))
                .header("x-forwarded-for", format!("198.51.100.{}", i % 250))
                .json(&body(i));
            tokio::spawn(async move { req.send().await.expect("reaches the server").status() })
        })
        .collect();
    let mut out = Vec::new();
    for r in reqs {
        out.push(r.await.expect("task").as_u16());
    }
    out
}

/// Fails without the fix (the attempts were read, then counted in a second statement): most
/// of 200 parallel guesses read "fewer than 5 attempts" and were all checked, so a guesser
/// got 200 tries at a 6-digit code instead of 5.
#[tokio::test]
async fn parallel_guesses_at_a_code_get_at_most_its_attempt_limit_checked() {
    let app = app_without_throttles().await;
    let who = "race@example.com";
    let seen = app.outbox().len();
    let (s, _) = app
        .post(
            "/api/v1/auth/register",
            json!({"identifier": who, "password": PW, "accept_policy": "1"}),
        )
        .await;
    assert_eq!(s, 202);
    let code = app.wait_for_code(seen).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let answers = burst(
        &app,
        200,
        "/api/v1/auth/register/verify",
        |_| json!({"identifier": who, "code": wrong}),
    )
    .await;
    assert!(answers.iter().all(|s| *s == 400), "every guess is refused: {answers:?}");
    let accounts = &app.running().services.accounts;
    let checked = accounts.registration_code_attempts(who).await.expect("q").expect("a code");
    assert_eq!(checked, 5, "exactly the limit (5) of guesses was checked");
    let (s, b) =
        app.post("/api/v1/auth/register/verify", json!({"identifier": who, "code": code})).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-code")), "the code is spent");
}

/// Fails without the fix (the failure count was read, then written back): ten concurrent
/// wrong passwords overwrote each other's count and left the account unlocked.
#[tokio::test]
async fn ten_concurrent_wrong_passwords_lock_like_five_sequential_ones() {
    let app = app_without_throttles().await;
    let who = "burst@example.com";
    app.register(who, PW).await;
    let answers = burst(
        &app,
        10,
        "/api/v1/auth/login",
        |i| json!({"identifier": who, "password": format!("wrong-password-{i}")}),
    )
    .await;
    let checked = answers.iter().filter(|s| **s == 401).count();
    assert_eq!(checked, 5, "only the lockout threshold of them is checked: {answers:?}");
    assert_eq!(answers.iter().filter(|s| **s == 429).count(), 5, "{answers:?}");
    let (s, b) = app.login(who, PW).await;
    assert_eq!((s, b["code"].as_str()), (429, Some("account-locked")), "locked");
    app.clock.advance(Duration::from_secs(15 * 60));
    assert_eq!(app.login(who, PW).await.0, 200, "the lock ends");
}

/// Fails without the fix: redemption was throttled only per client address, so guesses spread
/// over many addresses went on until each code's own limit.
#[tokio::test]
async fn code_redemption_is_throttled_per_identifier_across_addresses() {
    let app = TestApp::spawn_with(|c| {
        c.limits.redeem_per_identifier = RateLimit { count: 3, per_secs: 3600 };
        c.server.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let who = "spread@example.com";
    app.post(
        "/api/v1/auth/register",
        json!({"identifier": who, "password": PW, "accept_policy": "1"}),
    )
    .await;
    let body = json!({"identifier": who, "code": "000000"});
    for i in 0..3 {
        let ip = format!("198.51.100.{i}");
        let (s, _) = post_from(&app, &ip, "/api/v1/auth/register/verify", body.clone()).await;
        assert_eq!(s, 400);
    }
    let (s, b) = post_from(&app, "203.0.113.77", "/api/v1/auth/register/verify", body).await;
    assert_eq!((s, b["code"].as_str()), (429, Some("too-many-requests")));
}

/// Fails without the fix: each IPv6 address was its own client, and a subscriber holds a /64
/// (2^64 addresses).
#[tokio::test]
async fn ipv6_clients_are_throttled_per_64() {
    let app = TestApp::spawn_with(|c| {
        c.limits.login_per_ip = RateLimit { count: 3, per_secs: 60 };
        c.server.trusted_proxies = vec!["127.0.0.1".into()];
    })
    .await;
    let body = json!({"identifier": "v6@example.com", "password": "whatever-password"});
    for i in 1..=3 {
        let ip = format!("2001:db8:1:2::{i:x}");
        assert_eq!(post_from(&app, &ip, "/api/v1/auth/login", body.clone()).await.0, 401);
    }
    let (s, _) = post_from(&app, "2001:db8:1:2:ffff::9", "/api/v1/auth/login", body.clone()).await;
    assert_eq!(s, 429, "same /64");
    let (s, _) = post_from(&app, "2001:db8:1:3::1", "/api/v1/auth/login", body).await;
    assert_eq!(s, 401, "the next /64 is another client");
}

/// Fails without the fix: a second registration replaced the pending account's password at
/// once, so an attacker registering the victim's address while the victim's registration was
/// pending chose the password of the victim's account-to-be (the victim's next code then
/// activated it).
#[tokio::test]
async fn registering_a_pending_identifier_never_replaces_its_password() {
    let app = TestApp::spawn().await;
    let who = "pending@example.com";
    let attacker = "attacker-chosen-pass-9";
    let register = |pw: &'static str| {
        app.post(
            "/api/v1/auth/register",
            json!({"identifier": who, "password": pw, "accept_policy": "1"}),
        )
    };
    let verify = |code: &str, pw: Option<&str>| {
        let mut body = json!({"identifier": who, "code": code});
        if let Some(pw) = pw {
            body["password"] = json!(pw);
        }
        app.post("/api/v1/auth/register/verify", body)
    };
    let seen = app.outbox().len();
    assert_eq!(register(PW).await.0, 202);
    app.wait_for_code(seen).await;
    app.clock.advance(Duration::from_secs(61));
    let seen = app.outbox().len();
    assert_eq!(register(attacker).await.0, 202, "answers as usual");
    let attackers_code = app.wait_for_code(seen).await;
    // The pending account still has the first registrant's password.
    let (s, b) = app.login(who, attacker).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("invalid-credentials")));
    assert_eq!(app.login(who, PW).await.0, 403, "the right password, not yet verified");
    // The newest code in the mailbox came with the attacker's password: redeeming it needs
    // that password, so the victim cannot activate the account with it by mistake.
    let (s, b) = verify(&attackers_code, None).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("password-required")));
    let (s, b) = verify(&attackers_code, Some(PW)).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-code")));
    // The victim registers again and proves the address with their own password.
    app.clock.advance(Duration::from_secs(61));
    let seen = app.outbox().len();
    assert_eq!(register(PW).await.0, 202);
    let code = app.wait_for_code(seen).await;
    assert_eq!(verify(&code, Some(PW)).await.0, 200);
    assert_eq!(app.login(who, attacker).await.0, 401, "the attacker's password never applied");
    assert_eq!(app.login(who, PW).await.0, 200);
}

#[tokio::test]
async fn a_single_registration_verifies_with_the_code_alone_or_its_own_password() {
    let app = TestApp::spawn().await;
    for (who, pw) in [("alone@example.com", None), ("withpw@example.com", Some(PW))] {
        let seen = app.outbox().len();
        app.post(
            "/api/v1/auth/register",
            json!({"identifier": who, "password": PW, "accept_policy": "1"}),
        )
        .await;
        let code = app.wait_for_code(seen).await;
        let mut body = json!({"identifier": who, "code": code});
        if let Some(pw) = pw {
            let mut wrong = body.clone();
            wrong["password"] = json!("not-the-chosen-password");
            let (s, b) = app.post("/api/v1/auth/register/verify", wrong).await;
            assert_eq!((s, b["code"].as_str()), (400, Some("invalid-code")));
            body["password"] = json!(pw);
        }
        let (s, b) = app.post("/api/v1/auth/register/verify", body).await;
        assert_eq!(s, 200, "{who}: {b}");
    }
}

/// Fails without the fix: the throttle was keyed on the name as typed ("ops", "OPS", " ops")
/// and nothing locked a staff name out.
#[tokio::test]
async fn staff_login_is_normalised_before_throttling_and_locks_out() {
    let app = TestApp::spawn_with(|c| {
        c.limits.login_per_identifier = RateLimit { count: 4, per_secs: 60 };
    })
    .await;
    let staff_pw = "staff-orchard-lamp-31";
    app.running().services.accounts.create_staff_admin("ops", staff_pw).await.expect("staff");
    let login = |name: &str, pw: &str| {
        app.post("/api/v1/admin/login", json!({"username": name, "password": pw}))
    };
    for name in ["ops", "OPS", " ops", "Ops "] {
        assert_eq!(login(name, "wrong-staff-password").await.0, 401, "{name:?}");
    }
    let (s, b) = login("oPs", "wrong-staff-password").await;
    assert_eq!((s, b["code"].as_str()), (429, Some("too-many-requests")), "one count per name");

    // Lockout: the default threshold (5) within the window, whatever the spelling.
    let app = app_without_throttles().await;
    app.running().services.accounts.create_staff_admin("ops", staff_pw).await.expect("staff");
    let login = |name: &str, pw: &str| {
        app.post("/api/v1/admin/login", json!({"username": name, "password": pw}))
    };
    for name in ["ops", "OPS", "ops ", " ops", "oPs"] {
        assert_eq!(login(name, "wrong-staff-password").await.0, 401, "{name:?}");
    }
    let (s, b) = login("ops", staff_pw).await;
    assert_eq!((s, b["code"].as_str()), (429, Some("account-locked")), "{b}");
    app.clock.advance(Duration::from_secs(15 * 60));
    // The password is right again: a staff member without a second factor enrols one next.
    assert_eq!(login("ops", staff_pw).await.0, 202, "the lock ends");
}

/// Fails without the fix: a stolen session could guess the current password without limit,
/// two Argon2 runs a try.
#[tokio::test]
async fn password_changes_are_throttled_per_account() {
    let app = TestApp::spawn_with(|c| {
        c.limits.password_change_per_account = RateLimit { count: 2, per_secs: 3600 };
    })
    .await;
    let token = app.register("pwchange@example.com", PW).await;
    let change = |current: &str| {
        let body = json!({"current_password": current, "new_password": "new-orchard-lamp-77"});
        app.send(app.http.post(app.url("/api/v1/me/password")).bearer_auth(&token).json(&body))
    };
    assert_eq!(change("guess-number-one").await.0, 400);
    assert_eq!(change("guess-number-two").await.0, 400);
    let (s, b) = change(PW).await;
    assert_eq!((s, b["code"].as_str()), (429, Some("too-many-requests")));
    app.clock.advance(Duration::from_secs(3600));
    assert_eq!(change(PW).await.0, 204);
}
