//! The operator's console API: accounts found through the blind index, bans with a reason
//! (support may not ban; the reason is kept with the ban, the audit log records who), the
//! fleet view and a device's health (never its video), staff management, and every staff
//! action in the audit log.

use kankan_core::StaffRole;
use kankan_protocol::device::Settings;
use kankan_testkit::{TestApp, state_report};
use serde_json::{Value, json};

use crate::admin::{staff_token, staff_token_as};
use crate::devices::{PW, bind, eventually, provision};

async fn staff_post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    app.send(app.http.post(app.url(path)).bearer_auth(token).json(&body)).await
}

/// The audit log's entries as (actor, action, subject, detail).
async fn audit(app: &TestApp, admin: &str) -> Vec<(String, String, Option<String>, String)> {
    let (s, b) = app.get_authed("/api/v1/admin/audit?limit=1000", admin).await;
    assert_eq!(s, 200, "{b}");
    b["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap_or_default().to_string(),
                e["action"].as_str().unwrap_or_default().to_string(),
                e["subject"].as_str().map(str::to_owned),
                e["detail"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn staff_id(app: &TestApp, token: &str) -> String {
    let (_, me) = app.get_authed("/api/v1/admin/me", token).await;
    me["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn support_cannot_ban_an_admin_bans_with_a_reason_kept_with_the_ban_and_audited() {
    let app = TestApp::spawn().await;
    let admin = staff_token(&app).await;
    let support = staff_token_as(&app, "helpdesk", StaffRole::Support).await;
    let user = app.register("troll@example.com", PW).await;

    // Support finds the account (read) but may not ban it.
    let (s, found) = app.get_authed("/api/v1/admin/accounts?q=troll@example.com", &support).await;
    assert_eq!(s, 200, "{found}");
    let id = found["accounts"][0]["id"].as_str().expect("found").to_string();
    let ban = format!("/api/v1/admin/accounts/{id}/ban");
    let reason = "spam links in shared clips";
    let (s, b) = staff_post(&app, &support, &ban, json!({"reason": reason})).await;
    assert_eq!((s, b["code"].as_str()), (403, Some("staff-forbidden")), "{b}");
    assert_eq!(app.get_authed("/api/v1/me", &user).await.0, 200, "not banned");

    // A reason is required.
    let (s, b) = staff_post(&app, &admin, &ban, json!({"reason": "  "})).await;
    assert_eq!(s, 400, "{b}");

    let (s, b) = staff_post(&app, &admin, &ban, json!({"reason": reason})).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!((b["state"].as_str(), b["banned"].as_bool()), (Some("banned"), Some(true)));
    assert_eq!(b["ban_reason"], reason);
    assert_eq!(b["ban_notes"][0]["reason"], reason);
    assert_eq!(b["ban_notes"][0]["staff_id"], staff_id(&app, &admin).await.as_str());
    assert_ne!(app.get_authed("/api/v1/me", &user).await.0, 200, "its sessions ended");

    // Support sees the ban and its reason on the account.
    let (s, b) = app.get_authed(&format!("/api/v1/admin/accounts/{id}"), &support).await;
    assert_eq!((s, b["ban_reason"].as_str()), (200, Some(reason)), "{b}");

    // The audit log names who banned whom, and holds no free text.
    let admin_actor = format!("staff:{}", staff_id(&app, &admin).await);
    let log = audit(&app, &admin).await;
    let entry = log
        .iter()
        .find(|(_, action, _, _)| action == "account-banned")
        .expect("the ban is in the audit log");
    assert_eq!((entry.0.as_str(), entry.2.as_deref()), (admin_actor.as_str(), Some(id.as_str())));
    assert!(log.iter().all(|(_, _, _, d)| !d.contains("spam")), "{log:?}");

    // Lifting it needs a reason too, and is kept with the ban's notes.
    let unban = format!("/api/v1/admin/accounts/{id}/unban");
    let (s, b) = staff_post(&app, &admin, &unban, json!({"reason": "appeal accepted"})).await;
    assert_eq!((s, b["state"].as_str()), (200, Some("active")), "{b}");
    assert_eq!(b["ban_notes"][0]["action"], "unban");
    assert_eq!(b["ban_notes"][1]["action"], "ban");
}

#[tokio::test]
async fn accounts_are_found_by_exact_contact_through_the_blind_index_only() {
    let app = TestApp::spawn().await;
    let support = staff_token_as(&app, "finder", StaffRole::Support).await;
    let ops = staff_token_as(&app, "fleet-ops", StaffRole::Operations).await;
    let user = app.register("Someone@Example.com", PW).await;
    let (_, me) = app.get_authed("/api/v1/me", &user).await;

    let (s, b) = app.get_authed("/api/v1/admin/accounts?q=someone@example.com", &support).await;
    assert_eq!(s, 200, "{b}");
    let a = &b["accounts"][0];
    assert_eq!(a["id"], me["id"]);
    assert_eq!((a["state"].as_str(), a["devices"].as_u64()), (Some("active"), Some(0)));
    // No contact in what staff see.
    assert!(!b.to_string().to_lowercase().contains("someone@"), "{b}");
    // Exact only: a part of the address finds nothing (nothing is scanned).
    let (s, b) = app.get_authed("/api/v1/admin/accounts?q=someone@example.co", &support).await;
    assert_eq!((s, b["accounts"].as_array().map(Vec::len)), (200, Some(0)), "{b}");
    let (s, _) = app.get_authed("/api/v1/admin/accounts?q=someone", &support).await;
    assert_eq!(s, 400, "not an e-mail address, phone number or id");
    // Operations do not read accounts.
    let (s, b) = app.get_authed("/api/v1/admin/accounts?q=someone@example.com", &ops).await;
    assert_eq!((s, b["code"].as_str()), (403, Some("staff-forbidden")));
}

#[tokio::test]
async fn the_fleet_view_counts_devices_by_model_firmware_and_online_state() {
    let app = TestApp::spawn().await;
    let ops = staff_token_as(&app, "fleet-ops", StaffRole::Operations).await;
    let owner = app.register("fleet-owner@example.com", PW).await;
    let (a, b, c) = (
        provision(&app, "KK-C1").await,
        provision(&app, "KK-C1").await,
        provision(&app, "KK-C2").await,
    );
    let online = bind(&app, &owner, &a).await;
    online.publish_json("state", &state_report(1, json!(Settings::default()), 0)).await.expect("s");
    eventually(&app, &owner, &a.uid, "state arrives", |v| !v["reported"].is_null()).await;
    let gone = bind(&app, &owner, &b).await;
    gone.disconnect().await.expect("disconnect");
    eventually(&app, &owner, &b.uid, "goes offline", |v| v["online"] == false).await;

    let (s, f) = app.get_authed("/api/v1/admin/devices", &ops).await;
    assert_eq!(s, 200, "{f}");
    let count = |model: &str, firmware: Value, on: bool| {
        f["counts"]
            .as_array()
            .expect("counts")
            .iter()
            .find(|r| r["model"] == model && r["firmware"] == firmware && r["online"] == on)
            .and_then(|r| r["count"].as_u64())
            .unwrap_or(0)
    };
    assert_eq!(count("KK-C1", json!("1.0.0-test"), true), 1, "{f}");
    assert_eq!(count("KK-C1", Value::Null, false), 1, "{f}");
    assert_eq!(count("KK-C2", Value::Null, false), 1, "{f}");
    assert_eq!(f["devices"].as_array().map(Vec::len), Some(3));

    let (_, on) = app.get_authed("/api/v1/admin/devices?online=true", &ops).await;
    let uids: Vec<&str> =
        on["devices"].as_array().expect("list").iter().filter_map(|d| d["uid"].as_str()).collect();
    assert_eq!(uids, vec![a.uid.as_str()]);
    let (_, c2) = app.get_authed("/api/v1/admin/devices?model=KK-C2", &ops).await;
    assert_eq!(c2["devices"][0]["uid"], c.uid.as_str());
    assert_eq!(c2["devices"][0]["bound"], false);
    let (_, page) = app.get_authed("/api/v1/admin/devices?limit=2", &ops).await;
    let next = page["next"].as_str().expect("a next page");
    let (_, rest) =
        app.get_authed(&format!("/api/v1/admin/devices?limit=2&after={next}"), &ops).await;
    assert_eq!(rest["devices"].as_array().map(Vec::len), Some(1), "{rest}");
    drop(online);
}

#[tokio::test]
async fn device_health_shows_signal_storage_and_recent_errors_and_nothing_of_video() {
    let app = TestApp::spawn().await;
    let support = staff_token_as(&app, "health", StaffRole::Support).await;
    let owner = app.register("health-owner@example.com", PW).await;
    let creds = provision(&app, "KK-C2").await;
    let mut dev = bind(&app, &owner, &creds).await;
    dev.publish_json("state", &state_report(1, json!(Settings::default()), 0)).await.expect("s");
    eventually(&app, &owner, &creds.uid, "state arrives", |v| !v["reported"].is_null()).await;
    let url = app.url(&format!("/api/v1/devices/{}/commands", creds.uid));
    let answer = tokio::spawn(
        app.http
            .post(&url)
            .bearer_auth(&owner)
            .json(&json!({"name": "preset-goto", "slot": 3}))
            .send(),
    );
    let cmd = dev.next_on("cmd").await.expect("command");
    dev.publish_json("ack", &json!({"id": cmd["id"], "ok": false, "error": "preset 3 is not set"}))
        .await
        .expect("ack");
    answer.await.expect("task").expect("answer");

    let (s, h) = app.get_authed(&format!("/api/v1/admin/devices/{}", creds.uid), &support).await;
    assert_eq!(s, 200, "{h}");
    assert_eq!(
        (h["device"]["online"].as_bool(), h["device"]["bound"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(h["device"]["firmware"], "1.0.0-test");
    assert_eq!(h["report"]["signal_dbm"], -55);
    assert_eq!(
        (h["report"]["sd_status"].as_str(), h["report"]["sd_total_mb"].as_u64()),
        (Some("ok"), Some(32000))
    );
    let p = &h["problems"][0];
    assert_eq!(
        (p["kind"].as_str(), p["what"].as_str(), p["error"].as_str()),
        (Some("command-failed"), Some("preset-goto"), Some("preset 3 is not set")),
        "{h}"
    );
    // Nothing of the owner, the network or the video.
    let text = h.to_string();
    for absent in ["health-owner", "Home", "192.168", "02:00:00", "recording", "event", "playlist"]
    {
        assert!(!text.contains(absent), "{absent} in {text}");
    }
    let (s, _) = app.get_authed("/api/v1/admin/devices/KKNOSUCHDEV1", &support).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn staff_management_is_for_admins_and_every_staff_action_is_audited() {
    let app = TestApp::spawn().await;
    let admin = staff_token(&app).await;
    let support = staff_token_as(&app, "agent", StaffRole::Support).await;
    let (s, b) = app.get_authed("/api/v1/admin/staff", &support).await;
    assert_eq!((s, b["code"].as_str()), (403, Some("staff-forbidden")));

    let new = json!({"username": "night-shift", "password": "amber-lantern-harbor-92", "role": "support"});
    let (s, made) = staff_post(&app, &admin, "/api/v1/admin/staff", new).await;
    assert_eq!(
        (s, made["role"].as_str(), made["second_factor"].as_bool()),
        (201, Some("support"), Some(false)),
        "{made}"
    );
    let id = made["id"].as_str().expect("id");
    let (s, b) = staff_post(
        &app,
        &admin,
        &format!("/api/v1/admin/staff/{id}/role"),
        json!({"role": "operations"}),
    )
    .await;
    assert_eq!((s, b["role"].as_str()), (200, Some("operations")), "{b}");
    let (s, b) = staff_post(
        &app,
        &admin,
        &format!("/api/v1/admin/staff/{id}/role"),
        json!({"role": "root"}),
    )
    .await;
    assert_eq!(s, 400, "{b}");
    // Nobody changes their own role.
    let me = staff_id(&app, &admin).await;
    let (s, _) = staff_post(
        &app,
        &admin,
        &format!("/api/v1/admin/staff/{me}/role"),
        json!({"role": "support"}),
    )
    .await;
    assert_eq!(s, 403);

    // A role change holds at once for the sessions of the staff member.
    let agent = staff_id(&app, &support).await;
    assert_eq!(app.get_authed("/api/v1/admin/staff", &support).await.0, 403);
    staff_post(
        &app,
        &admin,
        &format!("/api/v1/admin/staff/{agent}/role"),
        json!({"role": "admin"}),
    )
    .await;
    assert_eq!(app.get_authed("/api/v1/admin/staff", &support).await.0, 200);

    let user = app.register("audited@example.com", PW).await;
    let (_, me_user) = app.get_authed("/api/v1/me", &user).await;
    let account = me_user["id"].as_str().expect("id").to_string();
    app.get_authed("/api/v1/admin/accounts?q=audited@example.com", &admin).await;
    app.get_authed(&format!("/api/v1/admin/accounts/{account}"), &admin).await;
    app.get_authed("/api/v1/admin/devices", &admin).await;
    let log = audit(&app, &admin).await;
    let actions: Vec<&str> = log.iter().map(|(_, a, _, _)| a.as_str()).collect();
    for want in [
        "staff-second-factor-enrolled",
        "staff-login",
        "staff-listed",
        "staff-created",
        "staff-role-changed",
        "account-searched",
        "account-viewed",
        "fleet-viewed",
    ] {
        assert!(actions.contains(&want), "{want} missing from {actions:?}");
    }
    let viewed = log.iter().find(|(_, a, _, _)| a == "account-viewed").expect("viewed");
    assert_eq!(viewed.2.as_deref(), Some(account.as_str()), "the account is the subject");
}

#[test]
fn the_openapi_document_names_each_staff_routes_permission_and_roles() {
    let doc = serde_json::to_value(kankan_api::openapi()).expect("serialises");
    let mut staff_ops = 0;
    for r in kankan_api::routes::ROUTES {
        let kankan_api::routes::Access::Staff(p) = r.access else { continue };
        let op = &doc["paths"][r.path][r.method.to_lowercase()];
        assert_eq!(op["security"], json!([{"staff": [p.name()]}]), "{} {}", r.method, r.path);
        let text = op["description"].as_str().unwrap_or_default();
        assert!(text.contains(&format!("Staff permission: `{}`", p.name())), "{}: {text}", r.path);
        staff_ops += 1;
    }
    assert!(staff_ops >= 25, "{staff_ops}");
    let ban = &doc["paths"]["/api/v1/admin/accounts/{id}/ban"]["post"]["description"];
    assert!(ban.as_str().unwrap_or_default().contains("(roles: admin)"), "{ban}");
}
