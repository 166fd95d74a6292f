//! Cancelling an account: the window counted in working days, the login during it that
//! continues, the window passing (crypto-shred, purge, the identifier free again, the deletion
//! receipt), members during and after it, deleting login history, dormant accounts, and the
//! operator's commands. What is left on disk after a cancellation: `cancellation_receipt.rs`.

use std::future::Future;
use std::time::Duration;

use kankan_base::{AccountId, Clock, RealClock, Timestamp};
use kankan_testkit::TestApp;
use serde_json::{Value, json};

use crate::authz_routes::account_id;
use crate::devices::{PW, bind, provision};

const DAY_MS: i64 = 86_400_000;

pub(crate) async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    app.send(app.http.post(app.url(path)).bearer_auth(token).json(&body)).await
}

pub(crate) async fn delete(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    app.send(app.http.delete(app.url(path)).bearer_auth(token)).await
}

/// Waits (for a worker, on real time: the simulated clock was already moved) until `f`
/// answers something.
pub(crate) async fn until<T, F: Future<Output = Option<T>>>(what: &str, f: impl Fn() -> F) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what} did not happen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Cancels the account of `token` with its password; answers when the window ends.
pub(crate) async fn cancel(app: &TestApp, token: &str) -> i64 {
    let (s, b) = post(app, token, "/api/v1/me/cancellation", json!({"password": PW})).await;
    assert_eq!(s, 202, "{b}");
    b["ends_at_ms"].as_i64().expect("ends_at_ms")
}

/// Moves the clock past `ends_at` and waits for the lifecycle worker to delete `id`.
pub(crate) async fn pass_the_window(app: &TestApp, ends_at: i64, id: AccountId) {
    let now = app.clock.now().0;
    app.clock.advance(Duration::from_millis(u64::try_from(ends_at - now).expect("ahead") + 61_000));
    let store = app.running().services.store.clone();
    until("the account's deletion", || {
        let store = store.clone();
        async move { store.account(id).await.expect("store").is_none().then_some(()) }
    })
    .await;
}

/// The receipt code in the newest deletion message to the outbox (waiting for it).
pub(crate) async fn receipt_code(app: &TestApp) -> String {
    let m = until("a deletion receipt in the outbox", || async {
        app.outbox().into_iter().rev().find(|m| m.subject == "Your Kankan account was deleted")
    })
    .await;
    let after = m.body.split("with the code ").nth(1).expect("a code");
    after.split_whitespace().next().expect("code").to_string()
}

/// The date (UTC) of a moment, as `YYYY-MM-DD`.
fn date_of(ms: i64) -> String {
    Timestamp(ms).to_rfc3339()[..10].to_string()
}

/// Fails without the working-day count: a window of 10 calendar days (or one counting the
/// weekends or the holiday) ends on another day.
#[tokio::test]
async fn the_window_is_ten_working_days_skipping_weekends_and_the_operators_holidays() {
    // The next Monday 10:00 UTC at least a day ahead (1970-01-01 was a Thursday).
    let today = RealClock.now().0 / DAY_MS;
    let monday = (today + 2..).find(|d| (d + 3) % 7 == 0).expect("a Monday") * DAY_MS + 36_000_000;
    let holiday = date_of(monday + 9 * DAY_MS); // the Wednesday of the second week
    let app = TestApp::spawn_with(|c| c.privacy.holidays = vec![holiday.clone()]).await;
    let token = app.register("window@example.com", PW).await;
    let now = app.clock.now().0;
    app.clock.advance(Duration::from_millis(u64::try_from(monday - now).expect("ahead")));
    let seen = app.outbox().len();
    let ends = cancel(&app, &token).await;
    // Tue-Fri (4), Mon, Tue, Thu, Fri (the Wednesday is a holiday: 8), Mon, Tue (10).
    assert_eq!(
        ends,
        monday + 15 * DAY_MS,
        "Tuesday two weeks later at 10:00, not {}",
        date_of(ends)
    );
    let msg = app.wait_for_message(seen).await;
    assert_eq!(msg.subject, "Your Kankan account is being cancelled");
    assert!(msg.body.contains(&date_of(ends)), "{}", msg.body);
}

#[tokio::test]
async fn cancelling_ends_every_session_and_a_login_in_the_window_offers_continue() {
    let app = TestApp::spawn().await;
    let token = app.register("leaving@example.com", PW).await;
    let (second, _) = app.login("leaving@example.com", PW).await;
    assert_eq!(second, 200);

    // The password is checked like a password change.
    let (s, b) =
        post(&app, &token, "/api/v1/me/cancellation", json!({"password": "nope-nope-1"})).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("wrong-password")));
    let ends = cancel(&app, &token).await;
    assert!(ends > app.clock.now().0 + 13 * DAY_MS, "at least two weeks: 10 working days");
    assert_eq!(app.get_authed("/api/v1/me", &token).await.0, 401, "every session ended");

    // Logging in during the window works, and says so.
    let (s, b) = app.login("leaving@example.com", PW).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["cancellation"]["ends_at_ms"].as_i64(), Some(ends), "{b}");
    let t = b["token"].as_str().expect("token").to_string();
    // The session reaches only what lets it continue (and the account itself).
    let (s, b) = app.get_authed("/api/v1/devices", &t).await;
    assert_eq!((s, b["code"].as_str()), (403, Some("account-cancelling")));
    let (s, b) = app.get_authed("/api/v1/album", &t).await;
    assert_eq!((s, b["code"].as_str()), (403, Some("account-cancelling")));
    assert_eq!(app.get_authed("/api/v1/me", &t).await.0, 200);
    let (s, b) = app.get_authed("/api/v1/me/cancellation", &t).await;
    assert_eq!(
        (s, b["state"].as_str(), b["ends_at_ms"].as_i64()),
        (200, Some("cancelling"), Some(ends))
    );

    // "Continue login": the account is active again, the window forgotten.
    assert_eq!(delete(&app, &t, "/api/v1/me/cancellation").await.0, 204);
    assert_eq!(app.get_authed("/api/v1/devices", &t).await.0, 200);
    let (s, b) = app.get_authed("/api/v1/me/cancellation", &t).await;
    assert_eq!((s, b["state"].as_str()), (200, Some("active")));
    assert!(b["ends_at_ms"].is_null());
    assert_eq!(delete(&app, &t, "/api/v1/me/cancellation").await.0, 404, "nothing to continue");
    let (s, b) = app.login("leaving@example.com", PW).await;
    assert_eq!((s, b["cancellation"].is_null()), (200, true), "{b}");

    // The window's end passes: nothing happens to an account that continued.
    let id = account_id(&app, &t).await;
    app.clock.advance(Duration::from_millis(
        u64::try_from(ends - app.clock.now().0).expect("ahead") + 120_000,
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let a = app.running().services.store.account(id).await.expect("store").expect("kept");
    assert_eq!(a.state, kankan_db::AccountState::Active);
}

/// Fails without the shred and the purge: the account stayed, its identifier taken.
#[tokio::test]
async fn when_the_window_passes_the_account_is_deleted_and_its_identifier_starts_afresh() {
    let app = TestApp::spawn().await;
    let token = app.register("gone@example.com", PW).await;
    let (s, _) = app
        .send(
            app.http
                .patch(app.url("/api/v1/me"))
                .bearer_auth(&token)
                .json(&json!({"nickname": "Gone Girl"})),
        )
        .await;
    assert_eq!(s, 200);
    let id = account_id(&app, &token).await;
    let ends = cancel(&app, &token).await;
    pass_the_window(&app, ends, id).await;

    // The old password opens nothing; the identifier registers a new, empty account.
    assert_eq!(app.login("gone@example.com", PW).await.0, 401);
    let fresh = app.register("gone@example.com", PW).await;
    let (s, me) = app.get_authed("/api/v1/me", &fresh).await;
    assert_eq!(s, 200);
    assert_ne!(me["id"].as_str(), Some(id.to_string().as_str()), "a new account");
    assert!(me["nickname"].is_null(), "nothing of the old one: {me}");
    let (s, devices) = app.get_authed("/api/v1/devices", &fresh).await;
    assert_eq!((s, devices.as_array().map(Vec::len)), (200, Some(0)));

    // The receipt: what went and when, for accounts.receipt_days, then gone.
    let code = receipt_code(&app).await;
    let (s, r) =
        app.send(app.http.get(app.url(&format!("/api/v1/deletion-receipts/{code}")))).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["reason"], "cancelled");
    assert!(
        r["purged_at_ms"].as_i64().expect("purged")
            >= r["shredded_at_ms"].as_i64().expect("shredded")
    );
    let count = |k: &str| {
        r["deleted"]
            .as_array()
            .expect("list")
            .iter()
            .find(|d| d["kind"] == k)
            .map(|d| d["count"].clone())
    };
    assert_eq!(count("login_events"), Some(json!(1)), "{r}");
    assert_eq!(count("devices"), Some(json!(0)), "{r}");
    assert!(!r.to_string().contains("gone@example.com") && !r.to_string().contains("Gone Girl"));
    let (s, _) = app.send(app.http.get(app.url("/api/v1/deletion-receipts/not-a-code"))).await;
    assert_eq!(s, 404);
    app.clock.advance(Duration::from_secs(91 * 86_400));
    let path = format!("/api/v1/deletion-receipts/{code}");
    until("the receipt's expiry", || async {
        (app.send(app.http.get(app.url(&path))).await.0 == 404).then_some(())
    })
    .await;
}

/// The rule during the window: the account is suspended, so its devices serve nobody (its
/// members lose access at once) until it continues; at the end they are unbound.
#[tokio::test]
async fn members_lose_access_during_the_window_and_for_good_when_it_passes() {
    let app = TestApp::spawn().await;
    let owner = app.register("owner-leaving@example.com", PW).await;
    let member = app.register("member-staying@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _dev = bind(&app, &owner, &creds).await;
    crate::events_members::share(&app, &creds.uid, &owner, &member).await;
    let path = format!("/api/v1/devices/{}", creds.uid);
    assert_eq!(app.get_authed(&path, &member).await.0, 200);

    cancel(&app, &owner).await;
    let (s, b) = app.get_authed(&path, &member).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("device-not-found")), "suspended: {b}");
    let (_, list) = app.get_authed("/api/v1/devices", &member).await;
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");

    let (_, b) = app.login("owner-leaving@example.com", PW).await;
    let t = b["token"].as_str().expect("token").to_string();
    assert_eq!(delete(&app, &t, "/api/v1/me/cancellation").await.0, 204);
    assert_eq!(app.get_authed(&path, &member).await.0, 200, "back with the owner");

    let id = account_id(&app, &t).await;
    let ends = cancel(&app, &t).await;
    pass_the_window(&app, ends, id).await;
    // Two weeks passed: the member's idle session ended too; it signs in again.
    let (_, b) = app.login("member-staying@example.com", PW).await;
    let member = b["token"].as_str().expect("token").to_string();
    assert_eq!(app.get_authed(&path, &member).await.0, 404);
    let store = app.running().services.store.clone();
    let d = store.device(&creds.uid).await.expect("store").expect("the device row stays");
    assert_eq!(d.owner, None, "unbound: another owner can bind it");
    let held = store.device_grants_held(account_id(&app, &member).await, app.clock.now()).await;
    assert!(held.expect("store").is_empty(), "the member's grant is gone");
}

#[tokio::test]
async fn a_user_deletes_their_login_history() {
    let app = TestApp::spawn().await;
    let token = app.register("history@example.com", PW).await;
    assert_eq!(app.login("history@example.com", "wrong-password-9").await.0, 401);
    assert_eq!(app.login("history@example.com", PW).await.0, 200);
    let (_, before) = app.get_authed("/api/v1/me/logins", &token).await;
    let n = before.as_array().expect("list").len();
    assert_eq!(n, 3, "{before}");
    let (s, b) = delete(&app, &token, "/api/v1/me/logins").await;
    assert_eq!((s, b["deleted"].as_u64()), (200, Some(3)));
    let (_, after) = app.get_authed("/api/v1/me/logins", &token).await;
    assert_eq!(after, json!([]), "nothing left, the current login's entry included");
    assert_eq!(app.get_authed("/api/v1/me", &token).await.0, 200, "the session stays");
}

/// Fails without the dormancy rule: an account unused for three years stayed for ever.
#[tokio::test]
async fn a_dormant_account_is_warned_then_deleted_and_a_login_keeps_it() {
    let app = TestApp::spawn().await;
    let sleeper = app.register("sleeper@example.com", PW).await;
    let waker = app.register("waker@example.com", PW).await;
    let (sleeper, waker) = (account_id(&app, &sleeper).await, account_id(&app, &waker).await);
    let notices = |app: &TestApp| {
        app.outbox()
            .into_iter()
            .filter(|m| m.subject == "Your unused Kankan account will be deleted")
            .count()
    };
    // dormant_days 1095 - dormant_notice_days 30: both are warned.
    app.clock.advance(Duration::from_secs(1066 * 86_400));
    until("two notices", || async { (notices(&app) == 2).then_some(()) }).await;
    let store = app.running().services.store.clone();
    assert!(store.account(sleeper).await.expect("store").is_some(), "warned, not deleted");
    // One of them logs in; 30 days later only the other is deleted.
    assert_eq!(app.login("waker@example.com", PW).await.0, 200);
    app.clock.advance(Duration::from_secs(31 * 86_400));
    until("the sleeper's deletion", || {
        let store = store.clone();
        async move { store.account(sleeper).await.expect("store").is_none().then_some(()) }
    })
    .await;
    assert!(store.account(waker).await.expect("store").is_some(), "a login keeps it");
    let code = receipt_code(&app).await;
    let (s, r) =
        app.send(app.http.get(app.url(&format!("/api/v1/deletion-receipts/{code}")))).await;
    assert_eq!((s, r["reason"].as_str()), (200, Some("dormant")));
}

/// Fails without the shred ledger: the row of a database restored from a backup taken before
/// the deletion opened the account again (its wrapped key, its password).
#[tokio::test]
async fn an_account_restored_from_a_backup_is_shredded_again_from_the_ledger() {
    let app = TestApp::spawn().await;
    let token = app.register("restored@example.com", PW).await;
    let id = account_id(&app, &token).await;
    let store = app.running().services.store.clone();
    let backup = store.account(id).await.expect("store").expect("row");
    let ends = cancel(&app, &token).await;
    pass_the_window(&app, ends, id).await;
    let ledger = std::fs::read_to_string(app.data_dir().join("shredded-accounts")).expect("ledger");
    assert!(ledger.lines().any(|l| l == id.to_string()), "{ledger}");

    // The backup's row comes back (a restore), and logs in...
    store.insert_account(&backup).await.expect("restore");
    assert_eq!(app.login("restored@example.com", PW).await.0, 200, "the backup opens it");
    let seen = app.outbox().len();
    // ...until the ledger is read, as every start-up does.
    let lifecycle = &app.running().services.lifecycle;
    assert_eq!(lifecycle.reshred_from_ledger().await.expect("reshred"), 1);
    let row = store.account(id).await.expect("store").expect("row until purged");
    assert_eq!(row.state, kankan_db::AccountState::Cancelled);
    assert!(row.key_wrapped.is_empty());
    assert_eq!(app.login("restored@example.com", PW).await.0, 401);
    assert_eq!(lifecycle.step().await.expect("purge"), (0, 1));
    assert!(store.account(id).await.expect("store").is_none());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        app.outbox()[seen..].iter().all(|m| m.subject != "Your Kankan account was deleted"),
        "no second receipt"
    );
}
