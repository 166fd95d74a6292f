//! The audited staff: the hash-chained audit log and its verifier, the staff actions written
//! to it, the user's view of the accesses to their data, and the data-subject request queue.

use kankan_core::audit::{Actor, Record};
use kankan_testkit::TestApp;
use serde_json::json;

use crate::admin::staff_token;

const PW: &str = "plum-garden-kettle-42";

/// Appends `n` entries as the operator.
async fn fill(app: &TestApp, n: usize) {
    let audit = &app.running().services.audit;
    let actor = Actor::Operator("test".into());
    for i in 0..n {
        let r =
            Record { actor: &actor, action: "test-entry", subject: None, detail: format!("n={i}") };
        audit.append(r).await.expect("append");
    }
}

async fn tamper(app: &TestApp, sql: &str) -> u64 {
    kankan_db::testing::execute(&app.config.database_url(), sql).await.expect("tamper")
}

async fn verify(app: &TestApp) -> kankan_core::audit::Verified {
    app.running().services.audit.verify().await.expect("verify")
}

/// 70 entries: checkpoints at the first entry and at 64 both verify.
#[tokio::test]
async fn an_untouched_audit_log_verifies_with_its_checkpoints() {
    let app = TestApp::spawn().await;
    fill(&app, 70).await;
    let v = verify(&app).await;
    assert!(v.intact(), "{:?}", v.problems);
    assert_eq!((v.entries, v.checkpoints), (70, 2));
}

/// An entry edited in place no longer matches its link.
#[tokio::test]
async fn the_verifier_finds_an_edited_entry() {
    let app = TestApp::spawn().await;
    fill(&app, 20).await;
    assert_eq!(tamper(&app, "UPDATE audit_log SET detail = 'n=nothing' WHERE seq = 10").await, 1);
    let v = verify(&app).await;
    assert!(!v.intact());
    assert!(v.problems.iter().any(|p| p.contains("entry 10 ")), "{:?}", v.problems);
}

/// An entry removed from the middle leaves a gap in the sequence and a broken link.
#[tokio::test]
async fn the_verifier_finds_an_entry_removed_from_the_middle() {
    let app = TestApp::spawn().await;
    fill(&app, 20).await;
    assert_eq!(tamper(&app, "DELETE FROM audit_log WHERE seq = 7").await, 1);
    let v = verify(&app).await;
    assert!(v.problems.iter().any(|p| p.contains("missing before entry 8")), "{:?}", v.problems);
}

/// The tail cut off up to and past the last checkpoint (the head moved back too): the
/// checkpoint names an entry that is gone.
#[tokio::test]
async fn the_verifier_finds_a_tail_removed_before_the_last_checkpoint() {
    let app = TestApp::spawn().await;
    fill(&app, 70).await;
    assert_eq!(tamper(&app, "DELETE FROM audit_log WHERE seq >= 60").await, 11);
    tamper(&app, "UPDATE audit_head SET seq = 59").await;
    let v = verify(&app).await;
    assert!(v.problems.iter().any(|p| p.contains("entry 64 of a checkpoint")), "{:?}", v.problems);
}

/// A checkpoint made without the master key's audit key does not verify, and one moved to
/// another entry neither.
#[tokio::test]
async fn the_verifier_finds_a_forged_checkpoint() {
    let app = TestApp::spawn().await;
    fill(&app, 70).await;
    tamper(&app, "UPDATE audit_checkpoints SET mac = hash WHERE seq = 64").await;
    let v = verify(&app).await;
    assert!(v.problems.iter().any(|p| p.contains("checkpoint at entry 64 has a bad")), "{:?}", v);
    let app = TestApp::spawn().await;
    fill(&app, 10).await;
    tamper(&app, "UPDATE audit_checkpoints SET seq = 5 WHERE seq = 1").await;
    assert!(!verify(&app).await.intact(), "a checkpoint's seq is signed");
}

/// An intruder who edits an entry and recomputes every hash after it (the chain is whole
/// again) is caught by the signed checkpoint past the edit.
#[tokio::test]
async fn the_verifier_finds_a_rewritten_chain_by_its_checkpoints() {
    let app = TestApp::spawn().await;
    fill(&app, 70).await;
    let store = app.running().services.store.clone();
    let mut entries = store.audit_entries(0, 100).await.expect("entries");
    let mut prev = entries[8].hash;
    for e in entries.iter_mut().skip(9) {
        if e.seq == 10 {
            e.entry.detail = "n=rewritten".into();
        }
        e.hash = kankan_core::audit::link(&prev, e.seq, &e.entry);
        prev = e.hash;
        let hex: String = e.hash.iter().map(|b| format!("{b:02x}")).collect();
        let blob = match kankan_db::testing::engine() {
            kankan_db::Engine::Sqlite => format!("X'{hex}'"),
            kankan_db::Engine::Postgres => format!("decode('{hex}', 'hex')"),
        };
        let sql = format!(
            "UPDATE audit_log SET detail = '{}', hash = {blob} WHERE seq = {}",
            e.entry.detail, e.seq
        );
        assert_eq!(tamper(&app, &sql).await, 1);
    }
    let v = verify(&app).await;
    assert!(
        !v.problems.iter().any(|p| p.contains("does not match its hash chain")),
        "the chain itself is whole again: {:?}",
        v.problems
    );
    assert!(
        v.problems.iter().any(|p| p.contains("up to entry 64 differs from its checkpoint")),
        "{:?}",
        v.problems
    );
}

/// Staff actions through the admin API are in the log, in order, with the staff member as
/// the actor; a user's token cannot read it.
#[tokio::test]
async fn staff_actions_through_the_api_are_written_to_the_audit_log() {
    let app = TestApp::spawn().await;
    let staff = staff_token(&app).await;
    let (s, _) = app.send(app.http.get(app.url("/api/v1/admin/workers")).bearer_auth(&staff)).await;
    assert_eq!(s, 200);
    let (s, b) = app.send(app.http.get(app.url("/api/v1/admin/audit")).bearer_auth(&staff)).await;
    assert_eq!(s, 200, "{b}");
    let actions: Vec<&str> = b["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    // The test helper's login enrols the staff member's second factor first.
    let expected = ["staff-second-factor-enrolled", "staff-login", "workers-listed", "audit-read"];
    assert_eq!(actions, expected);
    assert!(b["entries"][0]["actor"].as_str().expect("actor").starts_with("staff:"));
    let user = app.register("user@example.com", PW).await;
    let (s, _) = app.send(app.http.get(app.url("/api/v1/admin/audit")).bearer_auth(&user)).await;
    assert_eq!(s, 401);
    assert!(verify(&app).await.intact());
}

/// A user files a request with a message; staff see it on the queue with its deadline but
/// without the message; opening it shows the message and the user then sees that access (who
/// and what), which nobody else sees.
#[tokio::test]
async fn staff_reading_a_request_is_logged_and_shown_to_its_account_only() {
    let app = TestApp::spawn().await;
    let user = app.register("asker@example.com", PW).await;
    let other = app.register("other@example.com", PW).await;
    let message = "please delete my old recordings";
    let (s, filed) = app
        .send(
            app.http
                .post(app.url("/api/v1/me/requests"))
                .bearer_auth(&user)
                .json(&json!({"kind": "erasure", "message": message})),
        )
        .await;
    assert_eq!(s, 201, "{filed}");
    let id = filed["id"].as_str().expect("id").to_string();
    let stored = app.stored_bytes().await;
    assert!(
        !stored.iter().any(|(_, b)| b.windows(message.len()).any(|w| w == message.as_bytes())),
        "the message is stored sealed only"
    );
    let staff = staff_token(&app).await;
    let (s, q) =
        app.send(app.http.get(app.url("/api/v1/admin/requests")).bearer_auth(&staff)).await;
    assert_eq!(s, 200, "{q}");
    let listed = &q["requests"][0];
    assert_eq!((listed["id"].as_str(), listed["message"].as_str()), (Some(id.as_str()), None));
    assert_eq!(listed["has_message"], true);
    let (s, r) = app
        .send(app.http.get(app.url(&format!("/api/v1/admin/requests/{id}"))).bearer_auth(&staff))
        .await;
    assert_eq!((s, r["message"].as_str()), (200, Some(message)));

    let (s, seen) = app.get_authed("/api/v1/me/data-access", &user).await;
    assert_eq!(s, 200, "{seen}");
    let read = seen["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["action"] == "privacy-request-read")
        .expect("the reading is shown");
    assert_eq!((read["by"].as_str(), read["who"].as_str()), (Some("staff"), Some("ops (admin)")));
    assert!(read["detail"].as_str().expect("detail").contains(&id));
    assert!(!read["detail"].as_str().expect("detail").contains("recordings"), "no message");
    let (_, theirs) = app.get_authed("/api/v1/me/data-access", &other).await;
    assert_eq!(theirs["entries"], json!([]), "another account sees nothing of it");
    let (_, mine) = app.get_authed("/api/v1/me/requests", &user).await;
    assert_eq!(mine["requests"][0]["message"].as_str(), Some(message));
}

/// A request is due 15 working days after it arrives (three calendar weeks without
/// holidays), flagged overdue once that passes while open, and closes once.
#[tokio::test]
async fn a_request_is_due_in_fifteen_working_days_and_overdue_after() {
    let app = TestApp::spawn().await;
    let user = app.register("late@example.com", PW).await;
    let (s, r) = app
        .send(
            app.http
                .post(app.url("/api/v1/me/requests"))
                .bearer_auth(&user)
                .json(&json!({"kind": "access"})),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let days = (r["due_at_ms"].as_i64().expect("due") - r["received_at_ms"].as_i64().expect("at"))
        as f64
        / 86_400_000.0;
    assert!((19.0..=21.0).contains(&days), "15 working days are about 3 weeks: {days}");
    let id = r["id"].as_str().expect("id").to_string();
    app.clock.advance(std::time::Duration::from_secs(22 * 86_400));
    let staff = staff_token(&app).await;
    let (_, q) =
        app.send(app.http.get(app.url("/api/v1/admin/requests")).bearer_auth(&staff)).await;
    assert_eq!(q["requests"][0]["overdue"], true, "{q}");
    let close = |state: &str| {
        app.http
            .post(app.url(&format!("/api/v1/admin/requests/{id}/close")))
            .bearer_auth(&staff)
            .json(&json!({ "state": state }))
    };
    let (s, b) = app.send(close("finished")).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-request")));
    let (s, b) = app.send(close("done")).await;
    assert_eq!((s, b["state"].as_str(), b["overdue"].as_bool()), (200, Some("done"), Some(false)));
    let (s, _) = app.send(close("refused")).await;
    assert_eq!(s, 404, "closed once");
    let (_, q) =
        app.send(app.http.get(app.url("/api/v1/admin/requests")).bearer_auth(&staff)).await;
    assert_eq!(q["requests"], json!([]), "the open queue is empty");
    // Three weeks unused, the user's first session has ended: a new login.
    let (_, b) = app.login("late@example.com", PW).await;
    let user = b["token"].as_str().expect("token");
    let (_, seen) = app.get_authed("/api/v1/me/data-access", user).await;
    assert!(
        seen["entries"]
            .as_array()
            .expect("e")
            .iter()
            .any(|e| e["action"] == "privacy-request-closed")
    );
}

/// Unknown kinds and overlong messages are refused, with nothing stored.
#[tokio::test]
async fn bad_requests_are_refused_with_a_clear_code() {
    let app = TestApp::spawn().await;
    let user = app.register("bad@example.com", PW).await;
    let long = "x".repeat(4001);
    for body in [json!({"kind": "delete-everything"}), json!({"kind": "other", "message": long})] {
        let (s, b) = app
            .send(app.http.post(app.url("/api/v1/me/requests")).bearer_auth(&user).json(&body))
            .await;
        assert_eq!((s, b["code"].as_str()), (400, Some("invalid-request")), "{b}");
    }
    let (_, mine) = app.get_authed("/api/v1/me/requests", &user).await;
    assert_eq!(mine["requests"], json!([]));
}

/// The product files a request for an account (the function the cancellation and export
/// parts call): it is on the queue with origin `system`.
#[tokio::test]
async fn the_product_files_requests_on_an_accounts_behalf() {
    let app = TestApp::spawn().await;
    let user = app.register("auto@example.com", PW).await;
    let (_, me) = app.get_authed("/api/v1/me", &user).await;
    let id = kankan_base::AccountId(me["id"].as_str().expect("id").parse().expect("uuid"));
    let r = app.running().services.requests.file_for(id, "cancellation").await.expect("file");
    assert_eq!(r.origin, "system");
    let (_, mine) = app.get_authed("/api/v1/me/requests", &user).await;
    assert_eq!(mine["requests"][0]["kind"], "cancellation");
    assert_eq!(mine["requests"][0]["origin"], "system");
}
