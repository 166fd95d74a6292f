//! What the web app keeps in and asks of the browser (policy V: cookies; I(IV): the device
//! permissions it lists): a real Chromium signed in and walked through the tabs.

use anyhow::{Result, ensure};
use kankan_testkit::TestApp;

use super::browser::{log_in_watching_csp, open_app, tid};

/// The cookies signing in needs: the session (HttpOnly) and the CSRF token derived from it.
const SIGN_IN_COOKIES: [&str; 2] = ["kankan_session", "kankan_csrf"];

#[tokio::test]
async fn the_web_app_keeps_no_cookie_but_signing_in_and_loads_nothing_from_another_origin()
-> Result<()> {
    let app = TestApp::spawn().await;
    let email = "cookie.jar@example.org";
    app.register(email, super::devices::PW).await;
    let browser = open_app(&app).await?;
    log_in_watching_csp(&browser, email).await?;
    for (hash, page) in [
        ("#/messages", "page-messages"),
        ("#/album", "page-album"),
        ("#/me", "page-me"),
        ("#/me/sessions", "page-sessions"),
        ("#/me/notifications", "page-notifications"),
        ("#/devices", "page-devices"),
    ] {
        browser.goto(&app.url(&format!("/{hash}"))).await?;
        browser.find(&tid(page)).await?;
    }

    let cookies = browser.cookies().await?;
    let names: Vec<&str> = cookies.iter().map(|c| c.name.as_str()).collect();
    ensure!(names.contains(&"kankan_session"), "signed in by the session cookie: {names:?}");
    for c in &cookies {
        ensure!(SIGN_IN_COOKIES.contains(&c.name.as_str()), "an unexpected cookie: {}", c.name);
        ensure!(c.same_site.as_deref() == Some("Strict"), "{} is SameSite=Strict", c.name);
    }
    let session = cookies.iter().find(|c| c.name == "kankan_session");
    ensure!(session.is_some_and(|c| c.http_only), "scripts cannot read the session cookie");

    // Every resource the pages loaded came from the app's own origin, and the CSP blocked
    // nothing (nothing tried to load from elsewhere).
    let origin = app.url("");
    let loaded = browser
        .execute(
            "return performance.getEntriesByType('resource').map((e) => e.name)
               .concat([location.href]);",
            &[],
        )
        .await?;
    let loaded: Vec<String> = serde_json::from_value(loaded)?;
    ensure!(loaded.len() > 1, "the walk loaded resources: {loaded:?}");
    for url in &loaded {
        ensure!(url.starts_with(origin.trim_end_matches('/')), "loaded from elsewhere: {url}");
    }
    let blocked = browser.execute("return window.cspViolations;", &[]).await?;
    ensure!(blocked == serde_json::json!([]), "the CSP blocked {blocked}");
    browser.close().await
}

#[tokio::test]
async fn every_answer_allows_the_camera_and_microphone_only_to_the_app_and_refuses_location_and_sensors()
 {
    let app = TestApp::spawn().await;
    for path in ["/", "/index.html", "/api/v1/me", "/healthz", "/no-such-page"] {
        let r = app.http.get(app.url(path)).send().await.expect("the server answers");
        let policy = r
            .headers()
            .get("permissions-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        for rule in [
            "camera=(self)",
            "microphone=(self)",
            "clipboard-read=()",
            "geolocation=()",
            "accelerometer=()",
            "gyroscope=()",
            "magnetometer=()",
        ] {
            assert!(policy.contains(rule), "{path}: {rule} missing from {policy:?}");
        }
        let csp = r.headers().get("content-security-policy").and_then(|v| v.to_str().ok());
        assert!(
            csp.is_some_and(|c| c.starts_with("default-src 'self'")),
            "{path}: nothing loads from another origin: {csp:?}"
        );
    }
}

/// The web app's own code asks for the camera (scanning a sharing QR code) and the microphone
/// (talk) only where the user starts those, and never for location, motion sensors or the
/// clipboard's contents (policy I(VIII): the clipboard is read only to share).
#[test]
fn the_web_app_asks_for_devices_only_where_the_user_scans_or_talks() {
    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web");
    let mut asking = Vec::new();
    for file in kankan_testkit::files_under(&web) {
        let Some(ext) = file.extension().and_then(|e| e.to_str()) else { continue };
        if !matches!(ext, "js" | "html") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("readable");
        let name = file.strip_prefix(&web).expect("under web").display().to_string();
        for never in ["geolocation", "DeviceOrientation", "devicemotion", "clipboard.read"] {
            assert!(!text.contains(never), "{name} uses {never}");
        }
        if text.contains("getUserMedia") {
            asking.push(name);
        }
    }
    asking.sort();
    assert_eq!(asking, ["js/live.js", "js/pages/scan.js"], "who asks for the camera or microphone");
}
