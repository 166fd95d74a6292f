//! Every device endpoint, walked as the owner, as another user, and anonymously.

use kankan_protocol::device::Settings;
use kankan_testkit::TestApp;
use serde_json::json;

use crate::devices::{PW, bind, provision};

#[tokio::test]
async fn only_the_owner_reaches_a_device_through_any_endpoint() {
    let app = TestApp::spawn().await;
    let owner = app.register("own@example.com", PW).await;
    let stranger = app.register("other@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _dev = bind(&app, &owner, &creds).await;
    let uid = &creds.uid;
    let cmd_id = uuid::Uuid::now_v7();
    let endpoints: Vec<(&str, String, Option<serde_json::Value>)> = vec![
        ("GET", format!("/api/v1/devices/{uid}"), None),
        ("PATCH", format!("/api/v1/devices/{uid}"), Some(json!({"name": "Porch"}))),
        ("PUT", format!("/api/v1/devices/{uid}/settings"), Some(json!(Settings::default()))),
        ("POST", format!("/api/v1/devices/{uid}/commands"), Some(json!({"name": "format-sd"}))),
        ("GET", format!("/api/v1/devices/{uid}/commands/{cmd_id}"), None),
        ("DELETE", format!("/api/v1/devices/{uid}"), None),
    ];
    let call = |method: &str, path: &str, body: &Option<serde_json::Value>, token: Option<&str>| {
        let mut req = app.http.request(method.parse().expect("method"), app.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        req
    };
    for (method, path, body) in &endpoints {
        let (s, b) = app.send(call(method, path, body, None)).await;
        assert_eq!((s, b["code"].as_str()), (401, Some("unauthenticated")), "{method} {path}");
        let (s, b) = app.send(call(method, path, body, Some(&stranger))).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (404, Some("device-not-found")),
            "{method} {path} as stranger"
        );
    }
    let (_, list) = app.get_authed("/api/v1/devices", &stranger).await;
    assert_eq!(list, json!([]));
    // The owner reaches each (the unanswered command is pending; unknown command id is 404).
    let expect_owner = [200u16, 200, 200, 202, 404, 204];
    for ((method, path, body), want) in endpoints.iter().zip(expect_owner) {
        let (s, b) = app.send(call(method, path, body, Some(&owner))).await;
        assert_eq!(s, want, "{method} {path} as owner: {b}");
    }
}
