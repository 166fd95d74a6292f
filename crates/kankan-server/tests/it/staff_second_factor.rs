//! Staff log in with a second factor, always: a new staff member enrols (QR code, single-use
//! enrolment for 10 minutes), then every login needs username, password and a current code;
//! wrong, missing and replayed codes are refused and throttled; the secret is sealed at rest.

use std::time::Duration;

use kankan_accounts::RateLimit;
use kankan_core::StaffRole;
use kankan_testkit::TestApp;
use serde_json::{Value, json};

use crate::admin::{staff_code, staff_secret, staff_token, staff_token_as};

const PW: &str = "violet-harbor-compass-17";

async fn login(app: &TestApp, user: &str, code: Option<&str>) -> (u16, Value) {
    let mut body = json!({"username": user, "password": PW});
    if let Some(c) = code {
        body["code"] = json!(c);
    }
    app.post("/api/v1/admin/login", body).await
}

/// Creates `user` and enrols them; answers their secret.
async fn enrolled(app: &TestApp, user: &str) -> Vec<u8> {
    let accounts = &app.running().services.accounts;
    accounts.create_staff(user, PW, StaffRole::Support).await.expect("staff");
    let (s, b) = login(app, user, None).await;
    assert_eq!(s, 202, "{b}");
    let secret = staff_secret(&b);
    let enrol = json!({"enrolment_token": b["enrolment_token"], "code": staff_code(app, &secret)});
    let (s, b) = app.post("/api/v1/admin/login/enrol", enrol).await;
    assert_eq!(s, 200, "{b}");
    // The next code is of a later step.
    app.clock.advance(Duration::from_secs(30));
    secret
}

#[tokio::test]
async fn a_new_staff_member_enrols_with_a_qr_code_then_needs_password_and_code() {
    let app = TestApp::spawn().await;
    let accounts = &app.running().services.accounts;
    accounts.create_staff("mei", PW, StaffRole::Support).await.expect("staff");

    // The right password alone gives an enrolment, no session.
    let (s, b) = login(&app, "mei", None).await;
    assert_eq!(s, 202, "{b}");
    assert!(b.get("token").is_none(), "{b}");
    let uri = b["otpauth_uri"].as_str().expect("uri");
    assert!(uri.starts_with("otpauth://totp/") && uri.contains(b["secret"].as_str().expect("s")));
    assert!(b["qr_svg"].as_str().expect("svg").contains("<svg"), "a QR code to scan");
    let secret = staff_secret(&b);
    let token = b["enrolment_token"].clone();

    // A wrong code does not finish it; the right one opens the first session.
    let wrong = json!({"enrolment_token": token, "code": "000000"});
    let (s, b) = app.post("/api/v1/admin/login/enrol", wrong).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("second-factor-invalid")), "{b}");
    let right = json!({"enrolment_token": token, "code": staff_code(&app, &secret)});
    let (s, b) = app.post("/api/v1/admin/login/enrol", right.clone()).await;
    assert_eq!(s, 200, "{b}");
    let session = b["token"].as_str().expect("token").to_string();
    let (s, me) = app.get_authed("/api/v1/admin/me", &session).await;
    assert_eq!(
        (s, me["username"].as_str(), me["role"].as_str()),
        (200, Some("mei"), Some("support"))
    );
    let perms: Vec<&str> =
        me["permissions"].as_array().expect("perms").iter().filter_map(Value::as_str).collect();
    assert!(perms.contains(&"accounts-read") && !perms.contains(&"accounts-ban"), "{perms:?}");

    // The enrolment is single use.
    let (s, b) = app.post("/api/v1/admin/login/enrol", right).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("enrolment-expired")), "{b}");

    // From now on the password alone is not enough.
    app.clock.advance(Duration::from_secs(30));
    let (s, b) = login(&app, "mei", None).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("second-factor-required")), "{b}");
    let (s, b) = login(&app, "mei", Some("123456")).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("second-factor-invalid")), "{b}");
    let code = staff_code(&app, &secret);
    let (s, b) = login(&app, "mei", Some(&code)).await;
    assert_eq!(s, 200, "{b}");
    let second = b["token"].as_str().expect("token").to_string();

    // The same code (the same time step) is refused again.
    let (s, b) = login(&app, "mei", Some(&code)).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("second-factor-invalid")), "replay: {b}");

    // Logging out ends that session only.
    let logout = app.http.post(app.url("/api/v1/admin/logout")).bearer_auth(&second);
    assert_eq!(app.send(logout).await.0, 204);
    assert_eq!(app.get_authed("/api/v1/admin/me", &second).await.0, 401);
    assert_eq!(app.get_authed("/api/v1/admin/me", &session).await.0, 200);
}

#[tokio::test]
async fn an_enrolment_ends_after_ten_minutes() {
    let app = TestApp::spawn().await;
    let accounts = &app.running().services.accounts;
    accounts.create_staff("late", PW, StaffRole::Support).await.expect("staff");
    let (_, b) = login(&app, "late", None).await;
    let secret = staff_secret(&b);
    app.clock.advance(Duration::from_secs(10 * 60 + 1));
    let enrol = json!({"enrolment_token": b["enrolment_token"], "code": staff_code(&app, &secret)});
    let (s, b) = app.post("/api/v1/admin/login/enrol", enrol).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("enrolment-expired")), "{b}");
}

#[tokio::test]
async fn guessing_codes_is_throttled_per_name_and_locks_it_out() {
    let app = TestApp::spawn_with(|c| {
        c.limits.login_per_identifier = RateLimit { count: 5, per_secs: 60 };
    })
    .await;
    // The enrolment's two steps count too: 3 guesses are left in this minute.
    let secret = enrolled(&app, "guess").await;
    for _ in 0..3 {
        assert_eq!(login(&app, "guess", Some("000000")).await.0, 401);
    }
    let (s, b) = login(&app, "guess", Some(&staff_code(&app, &secret))).await;
    assert_eq!((s, b["code"].as_str()), (429, Some("too-many-requests")), "{b}");

    // Without the rate limit, the lockout (5 failures) stops the guessing too.
    let app = TestApp::spawn_with(|c| {
        c.limits.login_per_ip = RateLimit { count: 1000, per_secs: 60 };
        c.limits.login_per_identifier = RateLimit { count: 1000, per_secs: 60 };
    })
    .await;
    let secret = enrolled(&app, "guess").await;
    for guess in ["000000", "111111", "222222", "333333"] {
        assert_eq!(login(&app, "guess", Some(guess)).await.0, 401);
    }
    assert_eq!(login(&app, "guess", None).await.0, 401, "a missing code counts too");
    let (s, b) = login(&app, "guess", Some(&staff_code(&app, &secret))).await;
    assert_eq!((s, b["code"].as_str()), (429, Some("account-locked")), "{b}");
}

#[tokio::test]
async fn the_second_factor_secret_is_sealed_at_rest() {
    let app = TestApp::spawn().await;
    let secret = enrolled(&app, "sealed").await;
    let b32 = kankan_crypto::totp::base32_encode(&secret);
    for (name, bytes) in app.stored_bytes().await {
        let found = bytes.windows(secret.len()).any(|w| w == secret.as_slice())
            || bytes.windows(b32.len()).any(|w| w == b32.as_bytes());
        assert!(!found, "{name} holds the secret in clear");
    }
}

#[tokio::test]
async fn a_reset_second_factor_is_enrolled_again_and_a_disabled_member_is_out() {
    let app = TestApp::spawn().await;
    let admin = staff_token(&app).await;
    let support = staff_token_as(&app, "lost-phone", StaffRole::Support).await;
    let accounts = &app.running().services.accounts;
    accounts.reset_staff_second_factor("lost-phone").await.expect("reset");
    let (s, b) = app
        .post(
            "/api/v1/admin/login",
            json!({"username": "lost-phone", "password": "quiet-harbor-lantern-8"}),
        )
        .await;
    assert_eq!(s, 202, "enrols again: {b}");

    // Disabling ends their sessions and their logins.
    let (_, list) = app.get_authed("/api/v1/admin/staff", &admin).await;
    let id = list["staff"]
        .as_array()
        .expect("staff")
        .iter()
        .find(|m| m["username"] == "lost-phone")
        .expect("listed")["id"]
        .as_str()
        .expect("id")
        .to_string();
    let disable =
        app.http.post(app.url(&format!("/api/v1/admin/staff/{id}/disable"))).bearer_auth(&admin);
    let (s, b) = app.send(disable).await;
    assert_eq!((s, b["disabled"].as_bool()), (200, Some(true)), "{b}");
    assert_eq!(app.get_authed("/api/v1/admin/me", &support).await.0, 401);
    let (s, _) = app
        .post(
            "/api/v1/admin/login",
            json!({"username": "lost-phone", "password": "quiet-harbor-lantern-8"}),
        )
        .await;
    assert_eq!(s, 401);
}
