//! The external broker's HTTP authenticator and authorizer (EMQX 5's request and answer
//! shapes): device logins are checked against the secrets the server holds, devices may use
//! only their own topics, other logins are left to the broker, and only the broker's token
//! gets an answer.

use kankan_base::Secret;
use kankan_testkit::TestApp;
use serde_json::{Value, json};

use crate::devices::provision;

const TOKEN: &str = "broker-token-0123456789abcdef0123456789";

async fn with_token() -> TestApp {
    TestApp::spawn_with(|c| c.devices.broker_token = Some(Secret::new(TOKEN))).await
}

async fn ask(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = app.http.post(app.url(path)).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    app.send(req).await
}

async fn verdict(app: &TestApp, path: &str, body: Value) -> String {
    let (s, b) = ask(app, path, Some(TOKEN), body).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["is_superuser"], json!(false), "{b}");
    b["result"].as_str().expect("result").to_string()
}

#[tokio::test]
async fn a_device_logs_in_to_the_broker_only_with_its_own_secret_and_client_id() {
    let app = with_token().await;
    let cam = provision(&app, "KK-C1").await;
    let other = provision(&app, "KK-C1").await;
    let auth = "/internal/v1/mqtt/auth";
    let login = |user: &str, pw: &str, client: &str| json!({"username": user, "password": pw, "clientid": client});
    assert_eq!(verdict(&app, auth, login(&cam.uid, &cam.secret, &cam.uid)).await, "allow");
    assert_eq!(verdict(&app, auth, login(&cam.uid, &other.secret, &cam.uid)).await, "deny");
    assert_eq!(verdict(&app, auth, login(&cam.uid, "", &cam.uid)).await, "deny");
    assert_eq!(
        verdict(&app, auth, login(&cam.uid, &cam.secret, &other.uid)).await,
        "deny",
        "no client takes over another device's session"
    );
    assert_eq!(
        verdict(&app, auth, login("KK0000000000", &cam.secret, "KK0000000000")).await,
        "deny",
        "an unknown device"
    );
    // The server nodes' own broker accounts are not devices: the broker decides.
    assert_eq!(verdict(&app, auth, login("kankan-node-1", "x", "kankan-node-1")).await, "ignore");
}

#[tokio::test]
async fn a_device_may_use_only_its_own_topics() {
    let app = with_token().await;
    let cam = provision(&app, "KK-C1").await;
    let other = provision(&app, "KK-C1").await;
    let acl = "/internal/v1/mqtt/acl";
    let access = |topic: String, action: &str| json!({"username": cam.uid, "topic": topic, "action": action});
    let (own, theirs) = (format!("kk/v1/{}", cam.uid), format!("kk/v1/{}", other.uid));
    for (topic, action, want) in [
        (format!("{own}/state"), "publish", "allow"),
        (format!("{own}/event"), "publish", "allow"),
        (format!("{own}/cmd"), "subscribe", "allow"),
        (format!("{own}/desired"), "subscribe", "allow"),
        (format!("{own}/cmd"), "publish", "deny"),
        (format!("{own}/state"), "subscribe", "deny"),
        (format!("{theirs}/state"), "publish", "deny"),
        (format!("{theirs}/cmd"), "subscribe", "deny"),
        ("kk/v1/+/cmd".to_string(), "subscribe", "deny"),
        ("#".to_string(), "subscribe", "deny"),
        (format!("{own}/state"), "retain", "deny"),
    ] {
        assert_eq!(
            verdict(&app, acl, access(topic.clone(), action)).await,
            want,
            "{action} {topic}"
        );
    }
    let node =
        json!({"username": "kankan-node-1", "topic": "kk/v1/+/state", "action": "subscribe"});
    assert_eq!(verdict(&app, acl, node).await, "ignore");
}

#[tokio::test]
async fn only_the_brokers_token_gets_an_answer_and_none_without_one_configured() {
    let app = with_token().await;
    let cam = provision(&app, "KK-C1").await;
    let bodies = |uid: &str, secret: &str| {
        [
            (
                "/internal/v1/mqtt/auth",
                json!({"username": uid, "password": secret, "clientid": uid}),
            ),
            (
                "/internal/v1/mqtt/acl",
                json!({"username": uid, "topic": format!("kk/v1/{uid}/state"), "action": "publish"}),
            ),
        ]
    };
    for (path, body) in bodies(&cam.uid, &cam.secret) {
        for token in [None, Some("broker-token-0123456789abcdef012345678X")] {
            let (s, b) = ask(&app, path, token, body.clone()).await;
            assert_eq!((s, b["code"].as_str()), (401, Some("unauthenticated")), "{path} {token:?}");
        }
        let (s, b) = ask(&app, path, Some(TOKEN), json!({"username": 1})).await;
        assert_eq!(s / 100, 4, "bad input is refused: {s} {b}");
        assert!(b["code"].is_string(), "with a stable code: {b}");
    }

    let plain = TestApp::spawn().await;
    let cam = provision(&plain, "KK-C1").await;
    for (path, body) in bodies(&cam.uid, &cam.secret) {
        let (s, b) = ask(&plain, path, Some(TOKEN), body).await;
        assert_eq!((s, b["code"].as_str()), (404, Some("not-found")), "{path}");
    }
}

#[test]
fn a_broker_token_must_be_long() {
    let mut cfg = kankan_server::Config::default();
    cfg.devices.broker_token = Some(Secret::new("short"));
    assert!(cfg.validate().expect_err("too short").contains("devices.broker_token"));
    cfg.devices.broker_token = Some(Secret::new(TOKEN));
    assert!(cfg.validate().is_ok());
}
