//! Registration, verification, login, profile and password journeys over HTTP.

use kankan_testkit::TestApp;
use serde_json::json;

const PW: &str = "plum-garden-kettle-42";

#[tokio::test]
async fn register_with_email_then_verify_logs_in() {
    let app = TestApp::spawn().await;
    let token = app.register("Alice@Example.com", PW).await;
    let (s, me) = app.get_authed("/api/v1/me", &token).await;
    assert_eq!(s, 200);
    assert_eq!(me["identifier"], "alice@example.com");
    assert_eq!(me["identifier_kind"], "email");
    assert!(me["nickname"].is_null());
}

#[tokio::test]
async fn register_with_phone_sends_the_code_to_the_masked_number() {
    let app = TestApp::spawn().await;
    let seen = app.outbox().len();
    let (s, b) = app
        .post(
            "/api/v1/auth/register",
            json!({"identifier": "+86 138 0013 8000", "password": PW, "accept_policy": "1"}),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    assert_eq!(b["status"], "code-sent");
    assert_eq!(b["retry_after_s"], 60);
    let msg = app.wait_for_message(seen).await;
    assert!(msg.code().is_some());
    assert!(msg.recipient_masked.starts_with("+86"));
    assert!(!msg.recipient_masked.contains("13800138000"));
}

#[tokio::test]
async fn login_before_verification_is_refused_as_not_verified() {
    let app = TestApp::spawn().await;
    let (s, _) = app
        .post(
            "/api/v1/auth/register",
            json!({"identifier": "bob@example.com", "password": PW, "accept_policy": "1"}),
        )
        .await;
    assert_eq!(s, 202);
    let (s, b) = app.login("bob@example.com", PW).await;
    assert_eq!(s, 403);
    assert_eq!(b["code"], "account-not-verified");
}

#[tokio::test]
async fn a_code_works_once_and_wrong_codes_are_refused() {
    let app = TestApp::spawn().await;
    let seen = app.outbox().len();
    app.post(
        "/api/v1/auth/register",
        json!({"identifier": "c@example.com", "password": PW, "accept_policy": "1"}),
    )
    .await;
    let code = app.wait_for_code(seen).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (s, b) = app
        .post("/api/v1/auth/register/verify", json!({"identifier": "c@example.com", "code": wrong}))
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-code")));
    let (s, _) = app
        .post("/api/v1/auth/register/verify", json!({"identifier": "c@example.com", "code": code}))
        .await;
    assert_eq!(s, 200);
    let (s, b) = app
        .post("/api/v1/auth/register/verify", json!({"identifier": "c@example.com", "code": code}))
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-code")));
}

#[tokio::test]
async fn a_code_expires_after_ten_minutes() {
    let app = TestApp::spawn().await;
    let seen = app.outbox().len();
    app.post(
        "/api/v1/auth/register",
        json!({"identifier": "d@example.com", "password": PW, "accept_policy": "1"}),
    )
    .await;
    let code = app.wait_for_code(seen).await;
    app.clock.advance(std::time::Duration::from_secs(10 * 60 + 1));
    let (s, b) = app
        .post("/api/v1/auth/register/verify", json!({"identifier": "d@example.com", "code": code}))
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-code")));
}

#[tokio::test]
async fn a_code_dies_after_five_wrong_attempts() {
    let app = TestApp::spawn().await;
    let seen = app.outbox().len();
    app.post(
        "/api/v1/auth/register",
        json!({"identifier": "e@example.com", "password": PW, "accept_policy": "1"}),
    )
    .await;
    let code = app.wait_for_code(seen).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        app.post(
            "/api/v1/auth/register/verify",
            json!({"identifier": "e@example.com", "code": wrong}),
        )
        .await;
    }
    let (s, _) = app
        .post("/api/v1/auth/register/verify", json!({"identifier": "e@example.com", "code": code}))
        .await;
    assert_eq!(s, 400, "the right code no longer works after 5 wrong guesses");
}

#[tokio::test]
async fn resending_a_code_within_the_cooldown_is_throttled() {
    let app = TestApp::spawn().await;
    let body = json!({"identifier": "f@example.com", "password": PW, "accept_policy": "1"});
    assert_eq!(app.post("/api/v1/auth/register", body.clone()).await.0, 202);
    let resp =
        app.http.post(app.url("/api/v1/auth/register")).json(&body).send().await.expect("send");
    assert_eq!(resp.status(), 429);
    let retry: u64 = resp.headers()["retry-after"].to_str().expect("ascii").parse().expect("secs");
    assert!((1..=60).contains(&retry));
    app.clock.advance(std::time::Duration::from_secs(61));
    assert_eq!(app.post("/api/v1/auth/register", body).await.0, 202);
}

#[tokio::test]
async fn registering_a_taken_identifier_answers_the_same_and_warns_the_owner() {
    let app = TestApp::spawn().await;
    app.register("g@example.com", PW).await;
    app.clock.advance(std::time::Duration::from_secs(61));
    let seen = app.outbox().len();
    let (s, b) = app
        .post(
            "/api/v1/auth/register",
            json!({"identifier": "g@example.com", "password": "another-pass-123", "accept_policy": "1"}),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    let msg = app.wait_for_message(seen).await;
    assert!(msg.code().is_none(), "the owner gets a notice, not a code");
    assert!(msg.subject.contains("registration attempt"));
    assert_eq!(app.login("g@example.com", PW).await.0, 200, "the old password still works");
}

#[tokio::test]
async fn nickname_and_avatar_are_set_and_read_back() {
    let app = TestApp::spawn().await;
    let token = app.register("h@example.com", PW).await;
    let (s, me) = app
        .send(
            app.http
                .patch(app.url("/api/v1/me"))
                .bearer_auth(&token)
                .json(&json!({"nickname": "Hana"})),
        )
        .await;
    assert_eq!((s, me["nickname"].as_str()), (200, Some("Hana")));

    let png = png(600, 300);
    let (s, me) = app
        .send(
            app.http
                .put(app.url("/api/v1/me/avatar"))
                .bearer_auth(&token)
                .header("content-type", "image/png")
                .body(png),
        )
        .await;
    assert_eq!(s, 200, "{me}");
    let url = me["avatar_url"].as_str().expect("avatar url").to_string();
    let resp = app.http.get(app.url(&url)).bearer_auth(&token).send().await.expect("get");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    let bytes = resp.bytes().await.expect("body");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let blobs = app.blobs().await;
    assert_eq!(blobs.len(), 1);
    let stored = &blobs[0].1;
    assert_ne!(&stored[..8], b"\x89PNG\r\n\x1a\n", "the stored avatar is encrypted");
}

/// A PNG of `w` x `h` pixels.
pub(crate) fn png(w: u32, h: u32) -> Vec<u8> {
    let img =
        image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).expect("encode");
    out
}

#[tokio::test]
async fn changing_the_password_signs_out_the_other_sessions() {
    let app = TestApp::spawn().await;
    let first = app.register("i@example.com", PW).await;
    let (_, b) = app.login("i@example.com", PW).await;
    let second = b["token"].as_str().expect("token").to_string();
    let (s, b) = app
        .send(
            app.http
                .post(app.url("/api/v1/me/password"))
                .bearer_auth(&second)
                .json(&json!({"current_password": PW, "new_password": "new-orchard-lamp-77"})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    assert_eq!(app.get_authed("/api/v1/me", &first).await.0, 401, "other session ended");
    assert_eq!(app.get_authed("/api/v1/me", &second).await.0, 200, "this session lives on");
    assert_eq!(app.login("i@example.com", PW).await.0, 401);
    assert_eq!(app.login("i@example.com", "new-orchard-lamp-77").await.0, 200);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one() {
    let app = TestApp::spawn().await;
    let t = app.register("j@example.com", PW).await;
    let (s, b) = app
        .send(app.http.post(app.url("/api/v1/me/password")).bearer_auth(&t).json(
            &json!({"current_password": "not-the-password", "new_password": "new-orchard-lamp-77"}),
        ))
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("wrong-password")));
}

#[tokio::test]
async fn password_reset_by_code_sets_a_new_password_and_ends_all_sessions() {
    let app = TestApp::spawn().await;
    let old = app.register("k@example.com", PW).await;
    let seen = app.outbox().len();
    let (s, _) =
        app.post("/api/v1/auth/password-reset", json!({"identifier": "k@example.com"})).await;
    assert_eq!(s, 202);
    let code = app.wait_for_code(seen).await;
    let (s, b) = app
        .post(
            "/api/v1/auth/password-reset/confirm",
            json!({"identifier": "k@example.com", "code": code, "new_password": "river-stone-cloud-9"}),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    assert_eq!(app.get_authed("/api/v1/me", &old).await.0, 401);
    assert_eq!(app.login("k@example.com", "river-stone-cloud-9").await.0, 200);
}

#[tokio::test]
async fn password_reset_for_an_unknown_identifier_answers_the_same_and_sends_nothing() {
    let app = TestApp::spawn().await;
    let (s, b) =
        app.post("/api/v1/auth/password-reset", json!({"identifier": "nobody@example.com"})).await;
    assert_eq!(s, 202);
    assert_eq!(b["status"], "code-sent");
    // Messages go out in order: once a later registration's code arrives, anything the reset
    // had queued would be there too.
    app.post(
        "/api/v1/auth/register",
        json!({"identifier": "later@example.com", "password": PW, "accept_policy": "1"}),
    )
    .await;
    app.wait_for_message(0).await;
    assert_eq!(app.outbox().len(), 1, "nothing was sent to the address without an account");
}

#[tokio::test]
async fn weak_passwords_are_refused_with_a_reason() {
    let app = TestApp::spawn().await;
    for pw in ["short", "password123", "1234567890"] {
        let (s, b) = app
            .post(
                "/api/v1/auth/register",
                json!({"identifier": "l@example.com", "password": pw, "accept_policy": "1"}),
            )
            .await;
        assert_eq!((s, b["code"].as_str()), (400, Some("weak-password")), "{pw}");
    }
}
