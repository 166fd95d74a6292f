//! The help center: the starter set seeded once (an operator's edit and deletion survive a
//! restart), search signed out (a body word finds an article, a title match ranks first),
//! staff editing under `help-edit` (audited; operations staff refused), drafts hidden from
//! users, Markdown returned as text, and stable codes for bad input.

use kankan_core::staff::StaffRole;
use kankan_testkit::TestApp;
use serde_json::{Value, json};

use super::admin::{staff_token, staff_token_as};
use super::devices::PW;

pub(crate) const ARTICLES: &str = "/api/v1/help/articles";
pub(crate) const ADMIN: &str = "/api/v1/admin/help/articles";

/// `ARTICLES` with these query parameters, percent-encoded.
pub(crate) fn search_url(app: &TestApp, params: &[(&str, &str)]) -> String {
    let enc = |v: &str| {
        v.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    let qs: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect();
    app.url(&format!("{ARTICLES}?{}", qs.join("&")))
}

/// A public GET, without any session.
pub(crate) async fn public(app: &TestApp, path: &str) -> (u16, Value) {
    app.send(app.http.get(app.url(path))).await
}

pub(crate) async fn search(app: &TestApp, q: &str) -> Vec<String> {
    let (s, b) = app.send(app.http.get(search_url(app, &[("q", q)]))).await;
    assert_eq!(s, 200, "{b}");
    b["articles"].as_array().expect("articles").iter().map(slug).collect()
}

fn slug(a: &Value) -> String {
    a["slug"].as_str().expect("slug").to_string()
}

pub(crate) fn article(slug: &str, title: &str, body: &str, published: bool) -> Value {
    json!({"slug": slug, "title": title, "category": "Testing", "tags": ["test"],
        "body": body, "published": published})
}

pub(crate) async fn create(app: &TestApp, staff: &str, body: Value) -> (u16, Value) {
    app.send(app.http.post(app.url(ADMIN)).bearer_auth(staff).json(&body)).await
}

pub(crate) async fn edit(app: &TestApp, staff: &str, slug: &str, body: Value) -> (u16, Value) {
    let url = app.url(&format!("{ADMIN}/{slug}"));
    app.send(app.http.put(url).bearer_auth(staff).json(&body)).await
}

async fn audit_actions(app: &TestApp) -> Vec<(String, String, String)> {
    let admin = staff_token_as(app, "auditor", StaffRole::Administrator).await;
    let (s, b) = app.send(app.http.get(app.url("/api/v1/admin/audit")).bearer_auth(&admin)).await;
    assert_eq!(s, 200, "{b}");
    b["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            let f = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (f("action"), f("actor"), f("detail"))
        })
        .collect()
}

#[tokio::test]
async fn the_starter_set_is_seeded_once_and_an_operators_edit_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let first = {
        let data = data.clone();
        TestApp::spawn_with(move |c| c.data_dir = data).await
    };
    let database = first.config.database.url.clone();
    let (s, b) = public(&first, ARTICLES).await;
    assert_eq!(s, 200, "{b}");
    let seeded: Vec<String> =
        b["articles"].as_array().expect("articles").iter().map(slug).collect();
    assert!(seeded.len() >= 8, "{seeded:?}");
    for s in ["pairing-a-camera", "wifi", "live-view", "notifications", "sharing", "privacy"] {
        assert!(seeded.contains(&s.to_string()), "{s} missing from {seeded:?}");
    }
    assert!(b["categories"].as_array().expect("categories").len() >= 5, "{b}");

    let staff = staff_token_as(&first, "writer", StaffRole::Support).await;
    let (s, b) = edit(
        &first,
        &staff,
        "wifi",
        json!({"title": "Wi-Fi at our place", "category": "Connection", "tags": ["wifi"],
            "body": "Our own words about the router.", "published": true}),
    )
    .await;
    assert_eq!((s, b["revision"].as_u64(), b["seeded"].as_bool()), (200, Some(2), Some(false)));
    let url = first.url(&format!("{ADMIN}/sd-card"));
    let (s, _) = first.send(first.http.delete(url).bearer_auth(&staff)).await;
    assert_eq!(s, 204);
    first.stop().await;

    // The same data directory and database: start-up seeds again.
    let again = TestApp::spawn_with(move |c| {
        c.data_dir = data;
        c.database.url = database;
    })
    .await;
    let (s, b) = public(&again, &format!("{ARTICLES}/wifi")).await;
    assert_eq!((s, b["title"].as_str()), (200, Some("Wi-Fi at our place")), "{b}");
    assert_eq!(b["body"], "Our own words about the router.");
    let (s, b) = public(&again, &format!("{ARTICLES}/sd-card")).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("article-not-found")), "deleted stays deleted");
    let staff = staff_token_as(&again, "reader", StaffRole::Support).await;
    let (s, b) = again.get_authed(&format!("{ADMIN}/pairing-a-camera"), &staff).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["revisions"].as_array().expect("revisions").len(), 1, "seeded once: {b}");
    assert_eq!(b["revisions"][0]["editor"], Value::Null);
    let (_, b) = again.get_authed(&format!("{ADMIN}/wifi"), &staff).await;
    let editors: Vec<&str> = b["revisions"]
        .as_array()
        .expect("revisions")
        .iter()
        .filter_map(|r| r["editor"].as_str())
        .collect();
    assert_eq!(editors, ["writer"], "{b}");
}

#[tokio::test]
async fn search_finds_an_article_by_a_body_word_and_ranks_a_title_match_first() {
    let app = TestApp::spawn().await;
    let staff = staff_token_as(&app, "writer", StaffRole::Support).await;
    let body_only =
        article("chime-basics", "Doorbell basics", "The zéphyr chime rings twice.", true);
    let in_title = article("zephyr-chime", "Zephyr chime", "How the chime sounds.", true);
    for a in [body_only, in_title] {
        let (s, b) = create(&app, &staff, a).await;
        assert_eq!(s, 201, "{b}");
    }
    // Signed out; accents and case folded.
    assert_eq!(search(&app, "ZEPHYR").await, ["zephyr-chime", "chime-basics"]);
    assert_eq!(search(&app, "rings").await, ["chime-basics"], "a body word, stemmed");
    // The starter set answers real questions.
    let found = search(&app, "how do I change my wi-fi password").await;
    assert_eq!(found.first().map(String::as_str), Some("wifi"), "{found:?}");
    let found = search(&app, "snooze").await;
    assert_eq!(found.first().map(String::as_str), Some("notifications"), "{found:?}");
    // A snippet around the word, and the category filter.
    let (s, b) =
        app.send(app.http.get(search_url(&app, &[("q", "zephyr"), ("category", "Testing")]))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["articles"].as_array().expect("articles").len(), 2);
    assert!(b["articles"][1]["snippet"].as_str().expect("snippet").contains("zéphyr chime"));
    let long = "word ".repeat(50);
    let (s, b) = app.send(app.http.get(search_url(&app, &[("q", long.as_str())]))).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-article")), "{b}");
}

#[tokio::test]
async fn a_support_agent_edits_and_publishes_audited_but_operations_staff_get_403() {
    let app = TestApp::spawn().await;
    let agent = staff_token_as(&app, "agent", StaffRole::Support).await;
    let ops = staff_token_as(&app, "fleet", StaffRole::Operations).await;
    let (s, b) =
        create(&app, &agent, article("reset-camera", "Reset a camera", "Hold the button.", false))
            .await;
    assert_eq!((s, b["published"].as_bool()), (201, Some(false)), "{b}");
    let (s, b) = edit(
        &app,
        &agent,
        "reset-camera",
        json!({"title": "Reset a camera", "category": "Cameras", "tags": ["reset"],
            "body": "Hold the button for ten seconds.", "published": true}),
    )
    .await;
    assert_eq!((s, b["revision"].as_u64()), (200, Some(2)), "{b}");
    let (s, b) = public(&app, &format!("{ARTICLES}/reset-camera")).await;
    assert_eq!((s, b["body"].as_str()), (200, Some("Hold the button for ten seconds.")));

    for req in [
        app.http.get(app.url(ADMIN)),
        app.http.post(app.url(ADMIN)).json(&article("x", "X", "x", true)),
        app.http.put(app.url(&format!("{ADMIN}/reset-camera"))).json(&article("x", "X", "x", true)),
        app.http.delete(app.url(&format!("{ADMIN}/reset-camera"))),
    ] {
        let (s, b) = app.send(req.bearer_auth(&ops)).await;
        assert_eq!((s, b["code"].as_str()), (403, Some("staff-forbidden")), "{b}");
    }
    let actions = audit_actions(&app).await;
    let help: Vec<(&str, &str)> = actions
        .iter()
        .filter(|(a, _, _)| a.starts_with("help-"))
        .map(|(a, _, d)| (a.as_str(), d.as_str()))
        .collect();
    assert_eq!(
        help,
        [
            ("help-article-created", "slug=reset-camera revision=1 published=false"),
            ("help-article-edited", "slug=reset-camera revision=2 published=true"),
        ]
    );
    assert!(
        actions
            .iter()
            .filter(|(a, _, _)| a.starts_with("help-"))
            .all(|(_, who, _)| who.starts_with("staff:"))
    );
}

#[tokio::test]
async fn drafts_are_invisible_to_users_signed_in_or_out() {
    let app = TestApp::spawn().await;
    let staff = staff_token(&app).await;
    let user = app.register("reader@example.com", PW).await;
    let (s, _) =
        create(&app, &staff, article("secret-draft", "Quasar draft", "Not yet.", false)).await;
    assert_eq!(s, 201);
    let path = format!("{ARTICLES}/secret-draft");
    let (s, b) = public(&app, &path).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("article-not-found")));
    let (s, _) = app.get_authed(&path, &user).await;
    assert_eq!(s, 404);
    assert!(search(&app, "quasar").await.is_empty());
    let (_, b) = public(&app, ARTICLES).await;
    assert!(!b.to_string().contains("secret-draft"));
    // Published, then unpublished again.
    let (s, _) =
        edit(&app, &staff, "secret-draft", article("secret-draft", "Quasar draft", "Now.", true))
            .await;
    assert_eq!(s, 200);
    assert_eq!(search(&app, "quasar").await, ["secret-draft"]);
    let (s, _) =
        edit(&app, &staff, "secret-draft", article("secret-draft", "Quasar draft", "Now.", false))
            .await;
    assert_eq!(s, 200);
    assert!(search(&app, "quasar").await.is_empty());
    let (s, _) = app.get_authed(&path, &user).await;
    assert_eq!(s, 404);
    // Staff still see it, with its three revisions.
    let (s, b) = app.get_authed(&format!("{ADMIN}/secret-draft"), &staff).await;
    assert_eq!((s, b["revisions"].as_array().map(Vec::len)), (200, Some(3)), "{b}");
}

#[tokio::test]
async fn markdown_is_stored_as_written_and_bad_articles_get_stable_codes() {
    let app = TestApp::spawn().await;
    let staff = staff_token(&app).await;
    let html = "<img src=x onerror=alert(1)> <script>alert(2)</script>";
    let (s, b) = create(&app, &staff, article("html-test", "Tags", html, true)).await;
    assert_eq!(s, 201, "{b}");
    let (_, b) = public(&app, &format!("{ARTICLES}/html-test")).await;
    assert_eq!(b["body"], html, "the API answers the text; the app shows it as text");

    let (s, b) = create(&app, &staff, article("html-test", "Again", "x", true)).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("article-exists")), "{b}");
    for bad in [
        article("Bad Slug", "T", "x", true),
        article("ok", "", "x", true),
        article("ok", "T", "   ", true),
        article("ok", &"t".repeat(121), "x", true),
        article("ok", "T", &"x".repeat(kankan_help::MAX_BODY + 1), true),
    ] {
        let (s, b) = create(&app, &staff, bad).await;
        assert_eq!((s, b["code"].as_str()), (400, Some("invalid-article")), "{b}");
    }
    let (s, b) = edit(&app, &staff, "nothing-here", article("x", "T", "x", true)).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("article-not-found")), "{b}");
    let url = app.url(&format!("{ADMIN}/nothing-here"));
    let (s, b) = app.send(app.http.delete(url).bearer_auth(&staff)).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("article-not-found")), "{b}");
    // Nothing half-stored.
    let (_, b) = app.get_authed(ADMIN, &staff).await;
    assert!(!b.to_string().contains("\"ok\""), "{b}");
}

#[tokio::test]
async fn the_help_center_reads_no_session_and_keeps_no_trace_of_searches() {
    let app = TestApp::spawn().await;
    let user = app.register("searcher@example.com", PW).await;
    // A bogus token changes nothing: the routes never look at a session.
    let (s, b) =
        app.send(app.http.get(search_url(&app, &[("q", "pairing")])).bearer_auth("bogus")).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["articles"][0]["slug"], "pairing-a-camera");
    let (s, _) = app
        .send(app.http.get(search_url(&app, &[("q", "xylophonequery")])).bearer_auth(&user))
        .await;
    assert_eq!(s, 200);
    // No row, no audit entry, no log line holds the search.
    let dump = app.stored_bytes().await;
    assert!(
        !dump.iter().any(|(_, bytes)| bytes.windows(14).any(|w| w == b"xylophonequery")),
        "a search was stored"
    );
    let actions = audit_actions(&app).await;
    assert!(!actions.iter().any(|(_, _, d)| d.contains("xylophone")), "{actions:?}");
}
