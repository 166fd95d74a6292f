//! The OpenAPI document is generated from the code; the checked-in copy must match it.
//! Regenerate with `KANKAN_BLESS=1 cargo test -p kankan-server --test it openapi`.

use kankan_testkit::TestApp;

#[tokio::test]
async fn the_checked_in_openapi_document_matches_the_code() {
    let generated = kankan_api::openapi().to_pretty_json().expect("serialises") + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ref/openapi.json");
    if std::env::var_os("KANKAN_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write openapi.json");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/ref/openapi.json is stale: run KANKAN_BLESS=1 cargo test -p kankan-server --test it openapi"
    );
}

#[tokio::test]
async fn the_server_serves_the_same_openapi_document() {
    let app = TestApp::spawn().await;
    let served: serde_json::Value = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let generated: serde_json::Value =
        serde_json::to_value(kankan_api::openapi()).expect("serialises");
    assert_eq!(served, generated);
    assert!(served["paths"]["/api/v1/auth/login"]["post"].is_object());
}

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = TestApp::spawn().await;
    let (s, b) = app.send(app.http.get(app.url("/healthz"))).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("ok")));
    let (s, _) = app.send(app.http.get(app.url("/readyz"))).await;
    assert_eq!(s, 200);
    let text =
        app.http.get(app.url("/metrics")).send().await.expect("get").text().await.expect("text");
    assert!(
        text.contains(
            "kankan_http_requests_total{route=\"/readyz\",method=\"GET\",status=\"200\"}"
        ),
        "{text}"
    );
}

#[tokio::test]
async fn the_web_app_is_served_from_the_binary() {
    let app = TestApp::spawn().await;
    let r = app.http.get(app.url("/")).send().await.expect("get");
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().expect("ascii").starts_with("text/html"));
    let manifest = app.http.get(app.url("/manifest.webmanifest")).send().await.expect("get");
    assert_eq!(manifest.status(), 200);
    let sw = app.http.get(app.url("/sw.js")).send().await.expect("get");
    assert_eq!(sw.status(), 200);
    assert_eq!(app.http.get(app.url("/missing.js")).send().await.expect("get").status(), 404);
}
