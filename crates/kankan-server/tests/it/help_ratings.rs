//! Ratings of the app: one per account and app version (rating it again changes it), bad
//! ratings refused with `invalid-rating`, the staff summary (average, distribution, recent
//! comments) naming no rater, and the ratings deleted with the account.

use kankan_core::staff::StaffRole;
use kankan_db::DeletionReason;
use kankan_testkit::TestApp;
use serde_json::{Value, json};

use super::admin::staff_token_as;
use super::authz_routes::account_id;
use super::devices::PW;

const RATING: &str = "/api/v1/me/rating";

async fn rate(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    app.send(app.http.put(app.url(RATING)).bearer_auth(token).json(&body)).await
}

#[tokio::test]
async fn rating_the_same_version_again_changes_it_and_another_version_is_a_second_rating() {
    let app = TestApp::spawn().await;
    let user = app.register("rater@example.com", PW).await;
    let (s, b) = app.get_authed(RATING, &user).await;
    assert_eq!((s, &b["rating"]), (200, &Value::Null), "{b}");
    let (s, b) =
        rate(&app, &user, json!({"stars": 2, "comment": "Slow live view", "app_version": "1.4.0"}))
            .await;
    assert_eq!((s, b["stars"].as_u64()), (200, Some(2)), "{b}");
    let created = b["created_at"].clone();
    app.clock.advance(std::time::Duration::from_secs(60));
    let (s, b) = rate(&app, &user, json!({"stars": 4, "app_version": "1.4.0"})).await;
    assert_eq!((s, b["stars"].as_u64(), &b["comment"]), (200, Some(4), &Value::Null), "{b}");
    assert_eq!(b["created_at"], created, "the same rating, changed");
    assert_ne!(b["updated_at"], created);
    let (_, b) = app.get_authed(&format!("{RATING}?app_version=1.4.0"), &user).await;
    assert_eq!(b["rating"]["stars"], 4);

    let staff = staff_token_as(&app, "agent", StaffRole::Support).await;
    let (_, summary) = app.get_authed("/api/v1/admin/ratings", &staff).await;
    assert_eq!(summary["count"], 1, "not duplicated: {summary}");

    app.clock.advance(std::time::Duration::from_secs(60));
    let (s, _) = rate(&app, &user, json!({"stars": 5, "app_version": "1.5.0"})).await;
    assert_eq!(s, 200);
    let (_, b) = app.get_authed(RATING, &user).await;
    assert_eq!(
        (b["rating"]["app_version"].as_str(), b["rating"]["stars"].as_u64()),
        (Some("1.5.0"), Some(5))
    );
    let (_, summary) = app.get_authed("/api/v1/admin/ratings", &staff).await;
    assert_eq!(summary["count"], 2);

    for bad in [
        json!({"stars": 0, "app_version": "1.0"}),
        json!({"stars": 6, "app_version": "1.0"}),
        json!({"stars": 3, "app_version": ""}),
        json!({"stars": 3, "app_version": "<b>1</b>"}),
        json!({"stars": 3, "app_version": "1.0", "comment": "x".repeat(1001)}),
    ] {
        let (s, b) = rate(&app, &user, bad).await;
        assert_eq!((s, b["code"].as_str()), (400, Some("invalid-rating")), "{b}");
    }
    let (s, _) = app
        .send(app.http.put(app.url(RATING)).json(&json!({"stars": 3, "app_version": "1"})))
        .await;
    assert_eq!(s, 401, "signed in only");
}

#[tokio::test]
async fn the_ratings_summary_counts_and_quotes_comments_without_naming_any_rater() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for (i, (stars, comment)) in
        [(5, Some("Love the doorbell")), (4, None), (1, Some("Crashes on login"))]
            .into_iter()
            .enumerate()
    {
        let email = format!("rater{i}@example.com");
        let token = app.register(&email, PW).await;
        ids.push((email, account_id(&app, &token).await.to_string()));
        let (s, b) =
            rate(&app, &token, json!({"stars": stars, "comment": comment, "app_version": "2.0"}))
                .await;
        assert_eq!(s, 200, "{b}");
        app.clock.advance(std::time::Duration::from_secs(10));
    }
    let staff = staff_token_as(&app, "agent", StaffRole::Support).await;
    let (s, b) = app.get_authed("/api/v1/admin/ratings", &staff).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["count"], 3);
    assert_eq!(b["distribution"], json!([1, 0, 0, 1, 1]));
    assert!((b["average"].as_f64().expect("average") - 10.0 / 3.0).abs() < 1e-9, "{b}");
    let comments: Vec<&str> = b["recent"]
        .as_array()
        .expect("recent")
        .iter()
        .filter_map(|c| c["comment"].as_str())
        .collect();
    assert_eq!(comments, ["Crashes on login", "Love the doorbell"], "newest first, only comments");
    let text = b.to_string();
    for (email, id) in &ids {
        assert!(
            !text.contains(email.as_str()) && !text.contains(id.as_str()),
            "a rater named: {text}"
        );
    }
    for c in b["recent"].as_array().expect("recent") {
        let mut keys: Vec<&str> =
            c.as_object().expect("object").keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["app_version", "at", "comment", "stars"]);
    }
    // A user's session is not a staff session.
    let user = app.register("curious@example.com", PW).await;
    let (s, _) = app.get_authed("/api/v1/admin/ratings", &user).await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn an_accounts_ratings_are_in_its_data_export() {
    let app = TestApp::spawn().await;
    let token = app.register("exporter@example.com", PW).await;
    let (s, _) =
        rate(&app, &token, json!({"stars": 3, "comment": "Fine", "app_version": "3.0"})).await;
    assert_eq!(s, 200);
    let (_, zip) = super::exports::ready_export(&app, &token, json!({})).await;
    let (data, _) = super::exports::validate_export(&zip);
    let r = &data["app_ratings"];
    assert_eq!(
        (r[0]["stars"].as_u64(), r[0]["comment"].as_str(), r[0]["app_version"].as_str()),
        (Some(3), Some("Fine"), Some("3.0")),
        "{r}"
    );
}

#[tokio::test]
async fn an_accounts_ratings_are_deleted_with_it() {
    let app = TestApp::spawn().await;
    let token = app.register("leaving@example.com", PW).await;
    let id = account_id(&app, &token).await;
    let (s, _) =
        rate(&app, &token, json!({"stars": 3, "comment": "Bye", "app_version": "3.1"})).await;
    assert_eq!(s, 200);
    let services = &app.running().services;
    assert_eq!(services.help.ratings_of(id).await.expect("ratings").len(), 1);
    services.lifecycle.delete_now(id, DeletionReason::Operator).await.expect("deleted");
    assert!(services.help.ratings_of(id).await.expect("ratings").is_empty());
    assert_eq!(services.help.summary().await.expect("summary").count, 0);
}
