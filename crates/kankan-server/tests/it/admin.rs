//! The operator's API: staff login, device provisioning and the background workers' status
//! (also on `/metrics`).

use kankan_base::Clock as _;
use kankan_core::StaffRole;
use kankan_testkit::{TestApp, TestDevice};
use serde_json::json;

const STAFF_PW: &str = "quiet-harbor-lantern-8";

/// A signed-in staff administrator's bearer token (user name `ops`).
pub(crate) async fn staff_token(app: &TestApp) -> String {
    staff_token_as(app, "ops", StaffRole::Administrator).await
}

/// Creates a staff member with this role, enrols their second factor (TOTP codes computed
/// from the test clock, as an authenticator app would) and answers their session's bearer
/// token.
pub(crate) async fn staff_token_as(app: &TestApp, username: &str, role: StaffRole) -> String {
    let accounts = &app.running().services.accounts;
    accounts.create_staff(username, STAFF_PW, role).await.expect("staff");
    let (s, b) =
        app.post("/api/v1/admin/login", json!({"username": username, "password": STAFF_PW})).await;
    assert_eq!(s, 202, "a new staff member enrols a second factor: {b}");
    let secret = staff_secret(&b);
    let code = staff_code(app, &secret);
    let enrol = json!({"enrolment_token": b["enrolment_token"], "code": code});
    let (s, b) = app.post("/api/v1/admin/login/enrol", enrol).await;
    assert_eq!(s, 200, "{b}");
    b["token"].as_str().expect("token").to_string()
}

/// The TOTP secret an enrolment answer shows.
pub(crate) fn staff_secret(enrolment: &serde_json::Value) -> Vec<u8> {
    let secret = enrolment["secret"].as_str().expect("secret");
    kankan_crypto::totp::base32_decode(secret).expect("base32")
}

/// The code an authenticator shows now, by the test clock.
pub(crate) fn staff_code(app: &TestApp, secret: &[u8]) -> String {
    let now = u64::try_from(app.clock.now().0 / 1000).expect("time");
    kankan_crypto::totp::code_at(secret, now)
}

#[tokio::test]
async fn staff_provision_devices_that_can_then_log_in_with_their_own_secret() {
    let app = TestApp::spawn().await;
    let token = staff_token(&app).await;
    let (s, b) = app
        .send(
            app.http
                .post(app.url("/api/v1/admin/devices/provision"))
                .bearer_auth(&token)
                .json(&json!({"model": "KK-C1", "count": 2, "batch": "line-3"})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let devices = b["devices"].as_array().expect("array");
    assert_eq!(devices.len(), 2);
    assert_ne!(devices[0]["secret"], devices[1]["secret"]);
    let (uid, secret) =
        (devices[0]["uid"].as_str().expect("uid"), devices[0]["secret"].as_str().expect("s"));
    assert!(TestDevice::connect(app.mqtt_addr(), uid, secret).await.is_ok());
}

#[tokio::test]
async fn the_admin_api_refuses_users_strangers_and_bad_requests() {
    let app = TestApp::spawn().await;
    let staff = staff_token(&app).await;
    let user = app.register("user@example.com", "plum-garden-kettle-42").await;
    let provision = |token: Option<&str>, body: serde_json::Value| {
        let mut r = app.http.post(app.url("/api/v1/admin/devices/provision")).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r
    };
    let ok = json!({"model": "KK-C1", "count": 1, "batch": "b"});
    for token in [None, Some(user.as_str()), Some("forged")] {
        let (s, b) = app.send(provision(token, ok.clone())).await;
        assert_eq!((s, b["code"].as_str()), (401, Some("unauthenticated")), "{token:?}");
    }
    let (s, b) = app
        .send(provision(Some(&staff), json!({"model": "KK-C1", "count": 0, "batch": "b"})))
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-device-input")));
    let (s, b) =
        app.send(provision(Some(&staff), json!({"model": "XX", "count": 1, "batch": "b"}))).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-device-input")));
    let (s, b) = app
        .post("/api/v1/admin/login", json!({"username": "ops", "password": "wrong-password-1"}))
        .await;
    assert_eq!((s, b["code"].as_str()), (401, Some("invalid-credentials")));
    let (s, _) =
        app.post("/api/v1/admin/login", json!({"username": "nobody", "password": STAFF_PW})).await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn a_staff_session_expires_after_eight_hours() {
    let app = TestApp::spawn().await;
    let token = staff_token(&app).await;
    app.clock.advance(std::time::Duration::from_secs(8 * 3600 + 1));
    let (s, _) = app
        .send(
            app.http
                .post(app.url("/api/v1/admin/devices/provision"))
                .bearer_auth(&token)
                .json(&json!({"model": "KK-C1", "count": 1, "batch": "b"})),
        )
        .await;
    assert_eq!(s, 401);
}

/// Every worker the server supervises.
const WORKERS: [&str; 19] = [
    "device-pump",
    "jobs",
    "dispatch",
    "notify",
    "announce",
    "firmware-rollout",
    "rtsp-bridge",
    "live-stopper",
    "events-sweeper",
    "faces-sweeper",
    "accounts-sweeper",
    "account-lifecycle",
    "exports",
    "exports-sweeper",
    "revocation-sweeper",
    "retention",
    "plans",
    "support",
    "sealed-retry",
];

/// Waits until every worker has finished its first step.
async fn workers_started(app: &TestApp) {
    for name in WORKERS {
        let ran = app.running().workers.wait_for(name, |s| s.last_run_at.is_some());
        tokio::time::timeout(std::time::Duration::from_secs(15), ran).await.expect(name);
    }
}

#[tokio::test]
async fn the_workers_endpoint_answers_staff_and_refuses_a_normal_account() {
    let app = TestApp::spawn().await;
    let staff = staff_token(&app).await;
    let user = app.register("curious@example.com", "plum-garden-kettle-42").await;
    let get = |token: &str| app.http.get(app.url("/api/v1/admin/workers")).bearer_auth(token);
    for token in [user.as_str(), "forged"] {
        let (s, b) = app.send(get(token)).await;
        assert_eq!((s, b["code"].as_str()), (401, Some("unauthenticated")), "{b}");
    }
    let (s, b) = app.send(app.http.get(app.url("/api/v1/admin/workers"))).await;
    assert_eq!(s, 401, "{b}");

    workers_started(&app).await;
    let (s, b) = app.send(get(&staff)).await;
    assert_eq!(s, 200, "{b}");
    let workers = b["workers"].as_array().expect("workers");
    let names: Vec<&str> = workers.iter().filter_map(|w| w["name"].as_str()).collect();
    // With a database several nodes can share, events are relayed between them too.
    let mut expected = WORKERS.to_vec();
    if kankan_db::testing::engine() == kankan_db::Engine::Postgres {
        let after = expected.iter().position(|w| *w == "rtsp-bridge").expect("rtsp-bridge") + 1;
        expected.insert(after, "events-relay");
    }
    assert_eq!(names, expected, "{b}");
    for w in workers {
        assert!(matches!(w["state"].as_str(), Some("running" | "idle")), "{w}");
        assert_eq!((&w["restarts"], &w["last_error"]), (&json!(0), &json!(null)), "{w}");
    }
    assert!(workers.iter().all(|w| w["last_run_at"].is_string()), "all looked at start-up: {b}");
}

#[tokio::test]
async fn metrics_show_a_line_per_worker() {
    let app = TestApp::spawn().await;
    workers_started(&app).await;
    let metrics =
        app.http.get(app.url("/metrics")).send().await.expect("get").text().await.expect("text");
    for name in WORKERS {
        for line in [
            format!("\nkankan_worker_up{{worker=\"{name}\"}} 1\n"),
            format!("\nkankan_worker_restarts_total{{worker=\"{name}\"}} 0\n"),
            format!("\nkankan_worker_last_run_timestamp_ms{{worker=\"{name}\"}} "),
        ] {
            assert!(metrics.contains(&line), "{line:?} missing:\n{metrics}");
        }
    }
}

// Fails without the role check in the staff extractor: every staff session reached every
// staff route.
#[tokio::test]
async fn a_staff_route_answers_only_roles_holding_its_permission() {
    let app = TestApp::spawn().await;
    let support = staff_token_as(&app, "agent", StaffRole::Support).await;
    let ops = staff_token_as(&app, "fleet", StaffRole::Operations).await;
    let get = |token: String, path: &'static str| {
        let req = app.http.get(app.url(path)).bearer_auth(token);
        async { app.send(req).await }
    };
    let (s, b) = get(support.clone(), "/api/v1/admin/audit").await;
    assert_eq!((s, b["code"].as_str()), (403, Some("staff-forbidden")), "{b}");
    let (s, b) = get(support, "/api/v1/admin/requests").await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = get(ops.clone(), "/api/v1/admin/workers").await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = get(ops, "/api/v1/admin/requests").await;
    assert_eq!((s, b["code"].as_str()), (403, Some("staff-forbidden")), "{b}");
}
