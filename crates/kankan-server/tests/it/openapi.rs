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

/// Fails on the document as it was: query parameters declared `in: path`, no media routes,
/// no security schemes, binary bodies as arrays of integers, responses without descriptions.
#[test]
fn the_document_declares_queries_media_routes_security_and_binary_bodies() {
    let doc = serde_json::to_value(kankan_api::openapi()).expect("serialises");
    let params = |path: &str, method: &str| -> Vec<(String, String)> {
        let ps = doc["paths"][path][method]["parameters"].as_array().cloned().unwrap_or_default();
        ps.iter()
            .map(|p| {
                (p["name"].as_str().unwrap_or("").into(), p["in"].as_str().unwrap_or("").into())
            })
            .collect()
    };
    let timeline = params("/api/v1/devices/{uid}/recordings/timeline", "get");
    for q in ["from", "to", "stream"] {
        assert!(timeline.contains(&(q.into(), "query".into())), "{q}: {timeline:?}");
    }
    let events = params("/api/v1/events", "get");
    for q in ["device", "kind", "before_ms", "after_ms", "limit"] {
        assert!(events.contains(&(q.into(), "query".into())), "{q}: {events:?}");
    }
    assert!(params("/api/v1/me/deliveries", "get").contains(&("status".into(), "query".into())));
    assert!(params("/ingest/v1/{uid}/live", "post").contains(&("stream".into(), "query".into())));
    for (path, method) in [
        ("/media/v1/{uid}/playlist.m3u8", "get"),
        ("/media/v1/{uid}/seg/{file}", "get"),
        ("/media/v1/{uid}/live", "get"),
        ("/media/v1/{uid}/whep", "post"),
        ("/ingest/v1/{uid}/talk", "get"),
        ("/api/openapi.json", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path} is documented");
    }
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["session"]["in"], "cookie");
    assert_eq!(schemes["csrf"]["in"], "header");
    assert_eq!(schemes["device"]["scheme"], "basic");
    assert_eq!(schemes["media_link"]["in"], "query");
    let security = |path: &str, method: &str| doc["paths"][path][method]["security"].clone();
    assert_eq!(security("/api/v1/devices", "get")[0]["bearer"], serde_json::json!([]));
    assert!(security("/api/v1/me", "patch")[1]["csrf"].is_array(), "cookie writes need CSRF");
    assert!(security("/api/v1/auth/login", "post").is_null(), "public");
    assert!(security("/ingest/v1/{uid}/live", "post")[0]["device"].is_array());
    assert!(security("/media/v1/{uid}/live", "get")[0]["media_link"].is_array());
    let avatar = &doc["paths"]["/api/v1/me/avatar"]["put"]["requestBody"]["content"];
    assert_eq!(avatar["image/png"]["schema"]["format"], "binary");
    let ingest = &doc["paths"]["/ingest/v1/{uid}/live"]["post"]["requestBody"]["content"];
    assert_eq!(ingest["video/mp4"]["schema"]["type"], "string");
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            for (status, r) in op["responses"].as_object().expect("responses") {
                let d = r["description"].as_str().unwrap_or("");
                assert!(!d.is_empty(), "{method} {path} {status} has a description");
            }
        }
    }
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
async fn metrics_labels_stay_bounded_and_a_token_can_be_required() {
    // fails without the fix: every made-up method was a series of its own, and anyone who
    // reached the port read the metrics.
    let token = "metrics-scraper-token-0123456789";
    let app =
        TestApp::spawn_with(|c| c.metrics.token = Some(kankan_base::Secret::new(token))).await;
    for i in 0..50 {
        let method = reqwest::Method::from_bytes(format!("PROBE{i}").as_bytes()).expect("method");
        let _ = app.http.request(method, app.url(&format!("/no/such/path/{i}"))).send().await;
        let _ = app.http.get(app.url(&format!("/api/v1/nothing-{i}"))).send().await;
    }
    let (s, b) = app.send(app.http.get(app.url("/metrics"))).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("unauthenticated")), "no token: {b}");
    let (s, _) = app.send(app.http.get(app.url("/metrics")).bearer_auth("wrong")).await;
    assert_eq!(s, 401, "a wrong token");
    let r = app.http.get(app.url("/metrics")).bearer_auth(token).send().await.expect("get");
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("text");
    let series: Vec<&str> =
        text.lines().filter(|l| l.starts_with("kankan_http_requests_total{")).collect();
    assert!(series.len() <= 6, "{series:#?}");
    assert!(!text.contains("PROBE") && !text.contains("nothing-"), "{text}");
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

/// Every script and style sheet of the web app, as files under `web/` (paths relative to it).
fn web_app_files() -> Vec<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web");
    let mut out = vec![];
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("web dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "js" || e == "css")
                && path.file_name().is_some_and(|n| n != "sw.js")
            {
                let rel = path.strip_prefix(&root).expect("under web");
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn the_service_worker_precaches_every_module_of_the_app_and_each_is_served() {
    let app = TestApp::spawn().await;
    let sw = app.http.get(app.url("/sw.js")).send().await.expect("get");
    let sw = sw.text().await.expect("text");
    let start = sw.find("const SHELL = [").expect("the SHELL list");
    let end = start + sw[start..].find("];").expect("its end");
    let shell: Vec<&str> = sw[start..end].split('\'').skip(1).step_by(2).collect::<Vec<_>>();
    // A page the shell lacks is missing when the app starts offline.
    let missing: Vec<String> =
        web_app_files().into_iter().filter(|f| !shell.contains(&f.as_str())).collect();
    assert!(missing.is_empty(), "not precached by web/sw.js: {missing:?}");
    for entry in shell {
        let r = app.http.get(app.url(&format!("/{entry}"))).send().await.expect("get");
        assert_eq!(r.status(), 200, "{entry} is precached but not served");
    }
}
