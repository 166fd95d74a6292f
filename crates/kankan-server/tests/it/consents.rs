//! Consents and policy versions over the real ports: registering accepts the policy in force,
//! optional processing is off until given and its history shows every change, a major policy
//! version closes the app (but for the routes marked reachable) until accepted, a minor one is
//! a notice, a child's account waits for its guardian, and About comes from configuration.

use kankan_accounts::PolicyVersionConfig;
use kankan_db::ConsentRow;
use kankan_testkit::TestApp;
use serde_json::{Value, json};

use crate::devices::PW;
use crate::notify::{assert_nowhere_in_clear, call};

fn version(v: &str, major: bool, published: &str, changes: &str) -> PolicyVersionConfig {
    PolicyVersionConfig {
        version: v.into(),
        major,
        published: published.into(),
        file: None,
        changes: changes.into(),
    }
}

fn history(consents: &Value) -> Vec<(String, String, bool, String)> {
    consents["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| {
            (
                h["purpose"].as_str().expect("purpose").to_string(),
                h["version"].as_str().expect("version").to_string(),
                h["granted"].as_bool().expect("granted"),
                h["how"].as_str().expect("how").to_string(),
            )
        })
        .collect()
}

fn purpose<'a>(consents: &'a Value, name: &str) -> &'a Value {
    consents["purposes"]
        .as_array()
        .expect("purposes")
        .iter()
        .find(|p| p["purpose"] == name)
        .expect("the purpose is listed")
}

fn row(s: &str) -> (String, String, bool, String) {
    let parts: Vec<&str> = s.split(' ').collect();
    (parts[0].into(), parts[1].into(), parts[2] == "given", parts[3].into())
}

#[tokio::test]
async fn registering_requires_accepting_the_policy_in_force_and_records_the_acceptance() {
    let app = TestApp::spawn().await;
    let who = "consent@example.com";
    for body in [
        json!({"identifier": who, "password": PW}),
        json!({"identifier": who, "password": PW, "accept_policy": "0.9"}),
    ] {
        let (s, b) = app.post("/api/v1/auth/register", body).await;
        assert_eq!((s, b["code"].as_str()), (422, Some("policy-not-accepted")), "{b}");
    }
    assert!(app.outbox().is_empty(), "no code without accepting the policy");
    let (s, policy) = app.send(app.http.get(app.url("/api/v1/privacy/policy"))).await;
    assert_eq!(s, 200);
    assert_eq!(policy["version"], "1");
    assert!(policy["text"].as_str().expect("text").contains("VII. Protection of Minors"));
    let token = app.register(who, PW).await;
    let (s, c) = call(&app, "GET", "/api/v1/me/consents", &token, None).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(
        (c["accepted_version"].as_str(), c["current_version"].as_str()),
        (Some("1"), Some("1"))
    );
    assert_eq!(c["acceptance_required"], false);
    assert_eq!(history(&c), [row("policy 1 given registration")]);
}

#[tokio::test]
async fn optional_processing_is_off_until_given_and_the_history_shows_giving_and_withdrawing() {
    let app = TestApp::spawn().await;
    let token = app.register("purposes@example.com", PW).await;
    let (_, c) = call(&app, "GET", "/api/v1/me/consents", &token, None).await;
    for p in ["face-recognition", "ai-descriptions"] {
        assert_eq!(
            (purpose(&c, p)["granted"].as_bool(), purpose(&c, p)["available"].as_bool()),
            (Some(false), Some(true))
        );
    }
    // Cloud recording is the service itself unless the operator makes it optional.
    let cloud = purpose(&c, "cloud-recording");
    assert_eq!(
        (cloud["granted"].as_bool(), cloud["available"].as_bool()),
        (Some(true), Some(false))
    );
    let put = |p: &str, granted: bool| {
        let path = format!("/api/v1/me/consents/{p}");
        let token = token.clone();
        let app = &app;
        async move { call(app, "PUT", &path, &token, Some(json!({"granted": granted}))).await }
    };
    let (s, b) = put("cloud-recording", false).await;
    assert_eq!((s, b["code"].as_str()), (422, Some("consent-not-optional")), "{b}");
    let (s, b) = put("telepathy", true).await;
    assert_eq!((s, b["code"].as_str()), (422, Some("unknown-purpose")), "{b}");

    let (s, c) = put("face-recognition", true).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(purpose(&c, "face-recognition")["granted"], true);
    let consents = app.running().services.accounts.consents();
    let id = kankan_base::AccountId(account_id(&app, &token).await);
    assert!(consents.granted(id, kankan_accounts::Purpose::FaceRecognition).await.expect("ask"));
    // Setting the state it already has records nothing.
    put("face-recognition", true).await;
    let (s, c) = put("face-recognition", false).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(purpose(&c, "face-recognition")["granted"], false);
    assert!(!consents.granted(id, kankan_accounts::Purpose::FaceRecognition).await.expect("ask"));
    assert_eq!(
        history(&c),
        [
            row("policy 1 given registration"),
            row("face-recognition 1 given settings"),
            row("face-recognition 1 withdrawn settings"),
        ]
    );
}

/// The account id behind a token.
async fn account_id(app: &TestApp, token: &str) -> uuid::Uuid {
    let (s, me) = app.get_authed("/api/v1/me", token).await;
    assert_eq!(s, 200, "{me}");
    me["id"].as_str().expect("id").parse().expect("uuid")
}

/// An account the operator made (never registered) that accepted `accepted` earlier.
async fn account_that_accepted(app: &TestApp, who: &str, accepted: Option<&str>) -> String {
    let s = &app.running().services;
    let id = s.accounts.provision_account(who, PW).await.expect("account");
    if let Some(v) = accepted {
        let row = ConsentRow {
            id: uuid::Uuid::now_v7(),
            account_id: id,
            purpose: "policy".into(),
            version: v.into(),
            granted: true,
            how: "registration".into(),
            at: kankan_base::Clock::now(&app.clock),
        };
        s.store.insert_consent(&row).await.expect("consent");
    }
    let (st, b) = app.login(who, PW).await;
    assert_eq!(st, 200, "{b}");
    b["token"].as_str().expect("token").to_string()
}

#[tokio::test]
async fn after_a_major_version_only_the_reachable_routes_answer_until_it_is_accepted() {
    let app = TestApp::spawn_with(|c| {
        c.privacy.policies = vec![
            version("1", true, "2025-01-01", ""),
            version("2", true, "2025-06-01", "Face recognition arrives, with its own consent."),
        ];
    })
    .await;
    let token = account_that_accepted(&app, "major@example.com", Some("1")).await;
    // Blocked: every route not marked reachable.
    for (method, path) in
        [("GET", "/api/v1/devices"), ("GET", "/api/v1/events"), ("PATCH", "/api/v1/me")]
    {
        let body = (method == "PATCH").then(|| json!({"nickname": "M"}));
        let (s, b) = call(&app, method, path, &token, body).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (403, Some("policy-acceptance-required")),
            "{method} {path}: {b}"
        );
    }
    // Reachable: who it is, its consents and the notice of what changed.
    let (s, me) = app.get_authed("/api/v1/me", &token).await;
    assert_eq!(s, 200, "{me}");
    let (s, c) = call(&app, "GET", "/api/v1/me/consents", &token, None).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["acceptance_required"], true);
    assert_eq!(c["accepted_version"], "1");
    assert_eq!(
        c["newer_versions"][0]["changes"],
        "Face recognition arrives, with its own consent."
    );
    // Accepting what was not read is refused; accepting the version in force opens the app.
    let (s, b) =
        call(&app, "POST", "/api/v1/me/policy/accept", &token, Some(json!({"version": "1"}))).await;
    assert_eq!((s, b["code"].as_str()), (422, Some("policy-version-not-current")), "{b}");
    let (s, c) =
        call(&app, "POST", "/api/v1/me/policy/accept", &token, Some(json!({"version": "2"}))).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["acceptance_required"], false);
    assert_eq!(history(&c).last(), Some(&row("policy 2 given policy-update")));
    let (s, b) = call(&app, "GET", "/api/v1/devices", &token, None).await;
    assert_eq!(s, 200, "{b}");
    // An account that never accepted any version is held the same way.
    let never = account_that_accepted(&app, "never@example.com", None).await;
    let (s, b) = call(&app, "GET", "/api/v1/devices", &never, None).await;
    assert_eq!((s, b["code"].as_str()), (403, Some("policy-acceptance-required")), "{b}");
}

#[tokio::test]
async fn a_minor_version_is_a_notice_and_leaves_the_app_open() {
    let app = TestApp::spawn_with(|c| {
        c.privacy.policies = vec![
            version("1", true, "2025-01-01", ""),
            version("1.1", false, "2025-02-01", "A clearer contact section."),
        ];
    })
    .await;
    let token = account_that_accepted(&app, "minor@example.com", Some("1")).await;
    let (s, b) = call(&app, "GET", "/api/v1/devices", &token, None).await;
    assert_eq!(s, 200, "{b}");
    let (_, c) = call(&app, "GET", "/api/v1/me/consents", &token, None).await;
    assert_eq!(c["acceptance_required"], false);
    assert_eq!(c["newer_versions"][0]["version"], "1.1");
    assert_eq!(c["newer_versions"][0]["major"], false);
}

/// The child's and the guardian's codes among the two messages after `seen` (empty where a
/// message carries none: a notice).
pub(crate) async fn codes(app: &TestApp, seen: usize) -> (String, String) {
    app.wait_for_message(seen + 1).await;
    let sent: Vec<_> = app.outbox().into_iter().skip(seen).collect();
    let pick = |guardian: bool| {
        sent.iter()
            .filter(|m| m.subject.contains("guardian") == guardian)
            .find_map(|m| m.code())
            .unwrap_or_default()
    };
    (pick(false), pick(true))
}

#[tokio::test]
async fn a_childs_account_waits_for_its_guardian_and_cannot_turn_on_face_or_ai_processing() {
    let app = TestApp::spawn().await;
    let child = "kid@example.com";
    let guardian = "parent@example.org";
    let body = |g: Option<&str>| json!({"identifier": child, "password": PW, "accept_policy": "1", "under_age": true, "guardian": g});
    let (s, b) = app.post("/api/v1/auth/register", body(None)).await;
    assert_eq!((s, b["code"].as_str()), (422, Some("guardian-required")), "{b}");
    let (s, b) = app.post("/api/v1/auth/register", body(Some(child))).await;
    assert_eq!((s, b["code"].as_str()), (422, Some("guardian-required")), "{b}");
    let (s, b) = app.post("/api/v1/auth/register", body(Some(guardian))).await;
    assert_eq!(s, 202, "{b}");
    // Two codes: the child's, and the guardian's own.
    let (child_code, guardian_code) = codes(&app, 0).await;
    // The child's code verifies the child's contact, but the account is not usable yet.
    let (s, b) = app
        .post("/api/v1/auth/register/verify", json!({"identifier": child, "code": child_code}))
        .await;
    assert_eq!((s, b["code"].as_str()), (403, Some("guardian-consent-pending")), "{b}");
    let (s, b) = app.login(child, PW).await;
    assert_eq!((s, b["code"].as_str()), (403, Some("guardian-consent-pending")), "{b}");
    // The guardian's code for another child, or from someone else, does nothing.
    let consent = |who: &str, g: &str, code: &str| json!({"child": who, "guardian": g, "code": code, "accept_policy": "1"});
    let (s, b) = app
        .post(
            "/api/v1/auth/register/guardian",
            consent("other@example.com", guardian, &guardian_code),
        )
        .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-code")), "{b}");
    let (s, b) =
        app.post("/api/v1/auth/register/guardian", consent(child, guardian, "000000")).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-code")), "{b}");
    // The first code expires; registering again sends the guardian a new one.
    app.clock.advance(std::time::Duration::from_secs(11 * 60));
    let seen = app.outbox().len();
    let (s, _) = app.post("/api/v1/auth/register", body(Some(guardian))).await;
    assert_eq!(s, 202);
    let (s, b) =
        app.post("/api/v1/auth/register/guardian", consent(child, guardian, &guardian_code)).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-code")), "expired: {b}");
    let code = codes(&app, seen).await.1;
    let (s, b) = app.post("/api/v1/auth/register/guardian", consent(child, guardian, &code)).await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = app.login(child, PW).await;
    assert_eq!(s, 200, "{b}");
    let token = b["token"].as_str().expect("token").to_string();
    let (_, c) = call(&app, "GET", "/api/v1/me/consents", &token, None).await;
    assert_eq!(c["child"], true);
    assert_eq!(history(&c), [row("policy 1 given registration"), row("policy 1 given guardian")]);
    for p in ["face-recognition", "ai-descriptions"] {
        assert_eq!(purpose(&c, p)["available"], false);
        let path = format!("/api/v1/me/consents/{p}");
        let (s, b) = call(&app, "PUT", &path, &token, Some(json!({"granted": true}))).await;
        assert_eq!((s, b["code"].as_str()), (403, Some("not-for-child-accounts")), "{b}");
    }
    // The guardian's identifier is stored only sealed.
    assert_nowhere_in_clear(&app, &[guardian]).await;
}

#[tokio::test]
async fn about_and_the_policy_versions_come_from_the_operators_configuration() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("policy-2.md");
    std::fs::write(&file, "# Our policy, version 2\n\nWe keep footage 7 days.").expect("write");
    let app = TestApp::spawn_with(|c| {
        let mut v2 = version("2", true, "2025-06-01", "Footage is kept 7 days.");
        v2.file = Some(file.clone());
        c.privacy.policies = vec![version("1", true, "2025-01-01", ""), v2];
        c.privacy.contact = "privacy@operator.example, +1 555 0100".into();
        c.privacy.response_working_days = 10;
    })
    .await;
    let (s, a) = app.send(app.http.get(app.url("/api/v1/about"))).await;
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["current_version"], "2");
    assert_eq!(a["policies"].as_array().map(Vec::len), Some(2));
    assert_eq!(a["contact"], "privacy@operator.example, +1 555 0100");
    assert_eq!(a["response_working_days"], 10);
    assert_eq!(a["child_age"], 14);
    assert!(a["disclaimer"].as_str().expect("disclaimer").contains("bathrooms, and bedrooms"));
    let (s, p) = app.send(app.http.get(app.url("/api/v1/privacy/policy"))).await;
    assert_eq!(s, 200);
    assert_eq!((p["version"].as_str(), p["current"].as_bool()), (Some("2"), Some(true)));
    assert_eq!(p["text"], "# Our policy, version 2\n\nWe keep footage 7 days.");
    let (s, p) = app.send(app.http.get(app.url("/api/v1/privacy/policy?version=1"))).await;
    assert_eq!((s, p["current"].as_bool()), (200, Some(false)));
    let (s, p) = app.send(app.http.get(app.url("/api/v1/privacy/policy?version=9"))).await;
    assert_eq!((s, p["code"].as_str()), (404, Some("not-found")));
}

#[tokio::test]
async fn the_camera_disclaimer_is_acknowledged_once_per_account() {
    let app = TestApp::spawn().await;
    let token = app.register("disclaimer@example.com", PW).await;
    let (_, c) = call(&app, "GET", "/api/v1/me/consents", &token, None).await;
    assert_eq!(c["disclaimer_acknowledged"], false);
    for _ in 0..2 {
        let (s, b) = call(&app, "POST", "/api/v1/me/disclaimer", &token, None).await;
        assert_eq!(s, 204, "{b}");
    }
    let (_, c) = call(&app, "GET", "/api/v1/me/consents", &token, None).await;
    assert_eq!(c["disclaimer_acknowledged"], true);
    let shown = history(&c).iter().filter(|h| h.0 == "camera-disclaimer").count();
    assert_eq!(shown, 1);
}
