//! Hostile and malformed input: always a 4xx with `{code, message}`, never a 500.

use kankan_testkit::TestApp;
use serde_json::{Value, json};

const PW: &str = "plum-garden-kettle-42";

fn assert_error(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["code"], want_code, "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

#[tokio::test]
async fn malformed_identifiers_get_invalid_identifier() {
    let app = TestApp::spawn().await;
    let long = format!("{}@example.com", "a".repeat(300));
    for id in ["", "not-an-address", "a@b", "+12", "+0123456789", "13800138000", long.as_str()] {
        let (s, b) = app
            .post(
                "/api/v1/auth/register",
                json!({"identifier": id, "password": PW, "accept_policy": "1"}),
            )
            .await;
        assert_error(s, &b, 400, "invalid-identifier");
    }
}

#[tokio::test]
async fn invalid_json_and_unknown_fields_are_refused() {
    let app = TestApp::spawn().await;
    let raw = |body: &'static str| {
        app.http
            .post(app.url("/api/v1/auth/login"))
            .header("content-type", "application/json")
            .body(body)
    };
    let (s, b) = app.send(raw("{not json")).await;
    assert_error(s, &b, 400, "invalid-json");
    let (s, b) =
        app.send(raw(r#"{"identifier":"a@example.com","password":"x","admin":true}"#)).await;
    assert_error(s, &b, 400, "invalid-body");
    let (s, b) = app.send(raw(r#"{"identifier":"a@example.com"}"#)).await;
    assert_error(s, &b, 400, "invalid-body");
    let (s, b) = app.send(raw(r#"{"identifier":12,"password":"x"}"#)).await;
    assert_error(s, &b, 400, "invalid-body");
}

#[tokio::test]
async fn wrong_content_types_get_415() {
    let app = TestApp::spawn().await;
    let (s, b) = app
        .send(
            app.http
                .post(app.url("/api/v1/auth/login"))
                .header("content-type", "text/plain")
                .body(r#"{"identifier":"a@example.com","password":"x"}"#),
        )
        .await;
    assert_error(s, &b, 415, "unsupported-media-type");
}

#[tokio::test]
async fn bodies_over_the_limit_get_413() {
    let app = TestApp::spawn().await;
    let huge = json!({"identifier": "a@example.com", "password": "x".repeat(64 * 1024)});
    let (s, b) = app.post("/api/v1/auth/login", huge).await;
    assert_error(s, &b, 413, "payload-too-large");
    let token = app.register("big@example.com", PW).await;
    let (s, b) = app
        .send(
            app.http
                .put(app.url("/api/v1/me/avatar"))
                .bearer_auth(&token)
                .header("content-type", "image/png")
                .body(vec![0u8; 3 * 1024 * 1024]),
        )
        .await;
    assert_error(s, &b, 413, "payload-too-large");
}

#[tokio::test]
async fn over_long_passwords_and_nicknames_are_refused() {
    let app = TestApp::spawn().await;
    let (s, b) = app
        .post(
            "/api/v1/auth/register",
            json!({"identifier": "a@example.com", "password": "p".repeat(200), "accept_policy": "1"}),
        )
        .await;
    assert_error(s, &b, 400, "weak-password");
    let token = app.register("n@example.com", PW).await;
    let (s, b) = app
        .send(
            app.http
                .patch(app.url("/api/v1/me"))
                .bearer_auth(&token)
                .json(&json!({"nickname": "n".repeat(33)})),
        )
        .await;
    assert_error(s, &b, 400, "invalid-nickname");
}

#[tokio::test]
async fn fake_and_wrongly_typed_avatars_are_refused() {
    let app = TestApp::spawn().await;
    let token = app.register("av@example.com", PW).await;
    let put = |ct: &'static str, body: Vec<u8>| {
        app.http
            .put(app.url("/api/v1/me/avatar"))
            .bearer_auth(&token)
            .header("content-type", ct)
            .body(body)
    };
    let (s, b) = app.send(put("image/png", b"GIF89a not really a png".to_vec())).await;
    assert_error(s, &b, 400, "invalid-image");
    let (s, b) = app.send(put("image/gif", b"GIF89a".to_vec())).await;
    assert_error(s, &b, 415, "unsupported-media-type");
    let mut truncated = crate::accounts::png(64, 64);
    truncated.truncate(truncated.len() / 2);
    let (s, b) = app.send(put("image/png", truncated)).await;
    assert_error(s, &b, 400, "invalid-image");
}

#[tokio::test]
async fn unknown_api_routes_and_bad_session_ids_get_json_404() {
    let app = TestApp::spawn().await;
    let (s, b) = app.send(app.http.get(app.url("/api/v1/nope"))).await;
    assert_error(s, &b, 404, "not-found");
    let token = app.register("s@example.com", PW).await;
    let (s, b) = app
        .send(app.http.delete(app.url("/api/v1/me/sessions/not-a-uuid")).bearer_auth(&token))
        .await;
    assert_error(s, &b, 404, "session-not-found");
}

#[tokio::test]
async fn login_does_not_reveal_whether_an_account_exists() {
    let app = TestApp::spawn().await;
    app.register("real@example.com", PW).await;
    let (s1, b1) = app.login("real@example.com", "wrong-password-x").await;
    let (s2, b2) = app.login("ghost@example.com", "wrong-password-x").await;
    assert_eq!((s1, &b1), (s2, &b2));
    assert_eq!(s1, 401);
}

/// Every rejection of a documented route answers `{code, message}`: fails without `ApiQuery`,
/// `ApiPath` and the `json_errors` middleware (axum answered these in plain text, or with an
/// empty 405), and without the credential check before the WebSocket handshake (the talk route
/// told a caller without credentials that it was a WebSocket).
#[tokio::test]
async fn malformed_queries_paths_methods_and_handshakes_answer_json_with_stable_codes() {
    let app = TestApp::spawn().await;
    let token = app.register("query@example.com", PW).await;
    let get = |path: &str| app.http.get(app.url(path)).bearer_auth(&token);
    let (s, b) = app.send(get("/api/v1/events?limit=many")).await;
    assert_error(s, &b, 400, "invalid-query");
    let (s, b) = app.send(get("/api/v1/events?limit=0")).await;
    assert_error(s, &b, 400, "invalid-device-input");
    let (s, b) = app.send(get("/api/v1/events?limit=201")).await;
    assert_error(s, &b, 400, "invalid-device-input");
    let (s, b) = app.send(get("/api/v1/devices/KK1/recordings/timeline?from=yesterday")).await;
    assert_error(s, &b, 400, "invalid-query");
    let (s, b) = app.send(app.http.put(app.url("/api/v1/events")).bearer_auth(&token)).await;
    assert_error(s, &b, 405, "method-not-allowed");
    let (s, b) = app.send(app.http.get(app.url("/media/v1/KK1/live"))).await;
    assert_error(s, &b, 400, "invalid-query");
    let (s, b) = app.send(app.http.get(app.url("/ingest/v1/KK1/talk"))).await;
    assert_error(s, &b, 401, "invalid-device-credentials");
}
