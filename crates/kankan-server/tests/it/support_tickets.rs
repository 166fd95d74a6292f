//! Support tickets with a camera's logs, end to end: the real `kankan-cam` firmware over real
//! MQTT uploads its log on `logs-upload`; the user reads it, opens a ticket with it; staff
//! take, read (the assignee only, whatever the role), reply (the user is told and sees it in
//! the thread) and close; every staff action is in the audit log with no personal data;
//! another account sees nothing; unattached logs go after a day and everything goes with the
//! account.

use std::time::{Duration, Instant};

use kankan_base::{Shutdown, StaffId};
use kankan_core::StaffRole;
use kankan_db::DeletionReason;
use kankan_sim::{Device, DeviceConfig, ServerAddr};
use kankan_testkit::TestApp;
use serde_json::{Value, json};

use crate::admin::{staff_token, staff_token_as};
use crate::authz_routes::account_id;
use crate::devices::{Creds, PW, bind, provision};
use crate::live_on_demand::run_rotated;

/// A `kankan-cam` bound to the account of `token` that uploads to `app`'s ingest.
pub(crate) async fn logging_camera(
    app: &TestApp,
    token: &str,
) -> (Creds, tempfile::TempDir, Device) {
    let creds = provision(app, "KK-C1").await;
    drop(bind(app, token, &creds).await);
    let dir = tempfile::tempdir().expect("tmp");
    let mut cfg = DeviceConfig::new(&creds.uid, &creds.secret, dir.path().join("state"));
    cfg.model = Some(creds.model.clone());
    cfg.server = Some(ServerAddr::parse(&app.device_server()).expect("address"));
    cfg.pin = app.pin();
    cfg.ingest_url = Some(app.base_url.clone());
    (creds, dir, Device::new(cfg).expect("device"))
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = match method {
        "GET" => app.http.get(app.url(path)),
        _ => app.http.post(app.url(path)),
    };
    req = req.bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    app.send(req).await
}

/// Asks the camera for its logs and waits until they are ready; the request.
pub(crate) async fn fetch_logs(app: &TestApp, token: &str, uid: &str) -> Value {
    let (s, r) = send(app, "POST", &format!("/api/v1/devices/{uid}/logs"), token, None).await;
    assert_eq!(s, 202, "{r}");
    assert_eq!(r["state"], "waiting", "{r}");
    let id = r["id"].as_str().expect("id").to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (s, r) =
            send(app, "GET", &format!("/api/v1/devices/{uid}/logs/{id}"), token, None).await;
        assert_eq!(s, 200, "{r}");
        if r["state"] == "ready" {
            return r;
        }
        assert!(Instant::now() < deadline, "the camera uploads its logs: {r}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn staff_id(app: &TestApp, token: &str) -> StaffId {
    app.running().services.accounts.authenticate_staff(token).await.expect("staff").id
}

async fn audit_actions(app: &TestApp) -> Vec<(String, String, String)> {
    let rows = app.running().services.audit.entries(0, 1000).await.expect("audit");
    rows.into_iter().map(|e| (e.entry.actor, e.entry.action, e.entry.detail)).collect()
}

// Fails without the logs command, the camera's log, the ingest route, the sealed store, the
// ticket's attachment, the assignee check, the reply notice or the audit records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camera_logs_are_previewed_attached_and_read_only_by_the_assignee_with_every_step_audited()
{
    let app = TestApp::spawn().await;
    let (stop, signal) = Shutdown::new();
    let token = app.register("owner@example.com", PW).await;
    let (creds, dir, device) = logging_camera(&app, &token).await;
    let handle = device.handle();
    run_rotated(device, signal.clone()).await;
    let rotated = handle.status().stored.secret.expect("rotated secret");

    // The user asks the camera and reads the logs before sending anything.
    let logs = fetch_logs(&app, &token, &creds.uid).await;
    let text = logs["text"].as_str().expect("text").to_string();
    assert!(text.contains("boot: firmware") && text.contains("connected to"), "{text}");
    assert!(text.contains("new device secret received"), "{text}");
    for secret in [creds.secret.as_str(), rotated.as_str()] {
        assert!(!text.contains(secret), "a secret in the uploaded logs: {text}");
    }
    let on_flash =
        std::fs::read_to_string(dir.path().join("state").join("device.log")).expect("log");
    assert!(!on_flash.contains(&creds.secret) && !on_flash.contains(&rotated), "{on_flash}");
    assert_eq!(logs["bytes"].as_u64(), Some(text.len() as u64));

    // Another account neither reads the logs nor sees the ticket.
    let other = app.register("other@example.com", PW).await;
    let path = format!("/api/v1/devices/{}/logs/{}", creds.uid, logs["id"].as_str().expect("id"));
    let (s, b) = send(&app, "GET", &path, &other, None).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("device-not-found")), "{b}");

    let new = json!({"category": "camera", "subject": "Night video is dark",
        "body": "Since yesterday the night video is black.", "device_uid": creds.uid,
        "logs_request": logs["id"]});
    let (s, t) = send(&app, "POST", "/api/v1/support/tickets", &token, Some(new)).await;
    assert_eq!(s, 201, "{t}");
    let id = t["id"].as_str().expect("id").to_string();
    let (s, d) = send(&app, "GET", &format!("/api/v1/support/tickets/{id}"), &token, None).await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["device"]["model"], "KK-C1", "{d}");
    assert_eq!(d["device"]["online"], true, "{d}");
    assert!(d["device"]["firmware"].is_string(), "{d}");
    assert_eq!(d["attachments"][0]["kind"], "device-logs", "{d}");
    assert_eq!(d["attachments"][0]["bytes"].as_u64(), Some(text.len() as u64), "{d}");
    let (s, b) = send(&app, "GET", &format!("/api/v1/support/tickets/{id}"), &other, None).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("ticket-not-found")), "{b}");
    let (s, b) = send(&app, "GET", "/api/v1/support/tickets", &other, None).await;
    assert_eq!((s, b["tickets"].as_array().map(Vec::len)), (200, Some(0)), "{b}");

    // Staff: a support agent takes it; an operator may read tickets but not its logs.
    let agent = staff_token_as(&app, "agent", StaffRole::Support).await;
    let fleet = staff_token_as(&app, "fleet", StaffRole::Operations).await;
    let admin = staff_token(&app).await;
    let (s, q) = send(&app, "GET", "/api/v1/admin/tickets?state=open", &agent, None).await;
    assert_eq!(s, 200, "{q}");
    assert_eq!(q["tickets"][0]["subject"], "Night video is dark", "{q}");
    let base = format!("/api/v1/admin/tickets/{id}");
    let (s, b) = send(&app, "POST", &format!("{base}/assign"), &agent, Some(json!({}))).await;
    assert_eq!(s, 200, "{b}");
    let agent_id = staff_id(&app, &agent).await;
    let fleet_id = staff_id(&app, &fleet).await;
    assert_eq!(b["ticket"]["assignee"], json!(agent_id.0), "{b}");
    let att = format!("{base}/attachments/{}", logs["id"].as_str().expect("id"));
    let (s, b) = send(&app, "GET", &att, &fleet, None).await;
    assert_eq!((s, b["code"].as_str()), (403, Some("staff-forbidden")), "{b}");
    let (s, b) = send(&app, "GET", &att, &agent, None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["text"].as_str(), Some(text.as_str()));
    // A support agent cannot hand it to someone else; an administrator can.
    let to_fleet = json!({"staff_id": fleet_id.0});
    let (s, b) =
        send(&app, "POST", &format!("{base}/assign"), &agent, Some(to_fleet.clone())).await;
    assert_eq!((s, b["code"].as_str()), (403, Some("staff-forbidden")), "{b}");
    let (s, b) = send(&app, "POST", &format!("{base}/assign"), &admin, Some(to_fleet)).await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = send(&app, "GET", &att, &fleet, None).await;
    assert_eq!(s, 200, "the operator reads the logs once assigned");
    let (s, b) = send(&app, "GET", &att, &agent, None).await;
    assert_eq!((s, b["code"].as_str()), (403, Some("staff-forbidden")), "{b}");

    // A staff reply: the user is told (not the reply) and reads it in the thread, unread once.
    let seen = app.outbox().len();
    let reply = json!({"body": "Please clean the lens and check the IR setting."});
    let (s, b) = send(&app, "POST", &format!("{base}/messages"), &agent, Some(reply)).await;
    assert_eq!(s, 201, "{b}");
    let notice = app.wait_for_message(seen).await;
    assert_eq!(notice.subject, "Support replied to your ticket");
    assert!(!notice.body.contains("clean the lens"), "{}", notice.body);
    let (_, list) = send(&app, "GET", "/api/v1/support/tickets", &token, None).await;
    assert_eq!(list["tickets"][0]["unread"], 1, "{list}");
    let (_, d) = send(&app, "GET", &format!("/api/v1/support/tickets/{id}"), &token, None).await;
    let last = &d["messages"][1];
    assert_eq!((&last["author"], &last["unread"]), (&json!("staff"), &json!(true)), "{d}");
    assert!(last["body"].as_str().expect("body").contains("clean the lens"));
    let (_, d) = send(&app, "GET", &format!("/api/v1/support/tickets/{id}"), &token, None).await;
    assert_eq!(d["messages"][1]["unread"], false, "read once shown: {d}");

    let (s, _) = send(&app, "POST", &format!("{base}/close"), &agent, None).await;
    assert_eq!(s, 204);
    let again = json!({"body": "one more thing"});
    let path = format!("/api/v1/support/tickets/{id}/messages");
    let (s, b) = send(&app, "POST", &path, &token, Some(again)).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("ticket-closed")), "{b}");

    // Every staff action is in the audit log, by staff, with ids only.
    let entries = audit_actions(&app).await;
    let staff: Vec<&(String, String, String)> =
        entries.iter().filter(|(actor, _, _)| actor.starts_with("staff:")).collect();
    for action in [
        "tickets-listed",
        "ticket-assigned",
        "ticket-attachment-read",
        "ticket-attachment-refused",
        "ticket-replied",
        "ticket-closed",
        "ticket-read",
    ] {
        assert!(staff.iter().any(|(_, a, _)| a == action), "{action} audited: {staff:?}");
    }
    for (_, _, detail) in &staff {
        for personal in ["Night video", "clean the lens", "boot:", "owner@example.com"] {
            assert!(!detail.contains(personal), "personal data in an audit detail: {detail}");
        }
    }
    stop.trigger();
}

// Fails without the expiry of unattached logs, or without the tickets and logs going with
// the account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unattached_logs_go_after_a_day_and_tickets_and_logs_go_with_the_account() {
    let app = TestApp::spawn().await;
    let (stop, signal) = Shutdown::new();
    let token = app.register("leaving@example.com", PW).await;
    let (creds, _dir, device) = logging_camera(&app, &token).await;
    run_rotated(device, signal.clone()).await;
    let kept = fetch_logs(&app, &token, &creds.uid).await;
    let loose = fetch_logs(&app, &token, &creds.uid).await;
    let new = json!({"category": "camera", "subject": "Offline at night", "body": "It drops.",
        "device_uid": creds.uid, "logs_request": kept["id"]});
    let (s, t) = send(&app, "POST", "/api/v1/support/tickets", &token, Some(new)).await;
    assert_eq!(s, 201, "{t}");
    let store = app.running().services.store.clone();
    let support = app.running().services.support.clone();

    app.clock.advance(Duration::from_secs(86_400 + 1));
    let loose_id = loose["id"].as_str().expect("id");
    let path = format!("/api/v1/devices/{}/logs/{loose_id}", creds.uid);
    let (s, b) = send(&app, "GET", &path, &token, None).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("logs-unavailable")), "{b}");
    // The `support` worker may have swept already (the clock passed its hour): either way the
    // unattached logs are gone and the attached ones stay.
    assert!(support.sweep().await.expect("sweep") <= 1);
    assert!(store.log_request(loose_id).await.expect("read").is_none());
    let kept_id = kept["id"].as_str().expect("id");
    assert!(store.log_request(kept_id).await.expect("read").is_some(), "attached: kept");

    let account = account_id(&app, &token).await;
    let ticket: uuid::Uuid = t["id"].as_str().expect("id").parse().expect("uuid");
    app.running()
        .services
        .lifecycle
        .delete_now(account, DeletionReason::Operator)
        .await
        .expect("deleted");
    assert!(store.ticket(ticket).await.expect("read").is_none(), "the ticket went");
    assert!(store.log_request(kept_id).await.expect("read").is_none(), "its logs went");
    assert!(store.ticket_messages(ticket).await.expect("read").is_empty());
    stop.trigger();
}

// Fails without the input checks, the visibility check on the device picked, the logs
// check, the offline answer or the rate limit.
#[tokio::test]
async fn bad_tickets_are_refused_with_stable_codes_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let token = app.register("asker@example.com", PW).await;
    let other = app.register("stranger@example.com", PW).await;
    let theirs = provision(&app, "KK-C1").await;
    drop(bind(&app, &other, &theirs).await);
    let mine = provision(&app, "KK-C1").await;
    drop(bind(&app, &token, &mine).await);
    let ok = json!({"category": "app", "subject": "Hello", "body": "A question."});
    let cases = [
        (json!({"category": "weather", "subject": "x", "body": "y"}), 400, "invalid-ticket"),
        (json!({"category": "app", "subject": " ", "body": "y"}), 400, "invalid-ticket"),
        (json!({"category": "app", "subject": "x", "body": ""}), 400, "invalid-ticket"),
        (json!({"category": "app", "subject": "a\nb", "body": "y"}), 400, "invalid-ticket"),
        (
            json!({"category": "camera", "subject": "x", "body": "y", "device_uid": theirs.uid}),
            404,
            "device-not-found",
        ),
        (
            json!({"category": "camera", "subject": "x", "body": "y", "device_uid": mine.uid,
                "logs_request": "0000-nothing"}),
            404,
            "logs-unavailable",
        ),
    ];
    for (body, status, code) in cases {
        let (s, b) =
            send(&app, "POST", "/api/v1/support/tickets", &token, Some(body.clone())).await;
        assert_eq!((s, b["code"].as_str()), (status, Some(code)), "{body}: {b}");
    }
    let (_, list) = send(&app, "GET", "/api/v1/support/tickets", &token, None).await;
    assert_eq!(list["tickets"].as_array().map(Vec::len), Some(0), "nothing half-stored: {list}");
    // A camera that is not connected cannot be asked.
    let path = format!("/api/v1/devices/{}/logs", mine.uid);
    let (s, b) = send(&app, "POST", &path, &token, None).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("device-offline")), "{b}");
    // Ten tickets an hour, then `too-many-requests` until the hour passes.
    for i in 0..kankan_support::TICKETS_PER_HOUR {
        let (s, b) = send(&app, "POST", "/api/v1/support/tickets", &token, Some(ok.clone())).await;
        assert_eq!(s, 201, "ticket {i}: {b}");
    }
    let (s, b) = send(&app, "POST", "/api/v1/support/tickets", &token, Some(ok.clone())).await;
    assert_eq!((s, b["code"].as_str()), (429, Some("too-many-requests")), "{b}");
    app.clock.advance(Duration::from_secs(3601));
    let (s, b) = send(&app, "POST", "/api/v1/support/tickets", &token, Some(ok)).await;
    assert_eq!(s, 201, "{b}");
}
