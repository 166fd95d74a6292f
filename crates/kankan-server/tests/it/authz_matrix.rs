//! The authorization matrix: every operation of the OpenAPI document the running server
//! serves, asked by every kind of requester, against a device with members and with the real
//! ids of another household's objects in the paths. Each answer must be what the operation's
//! classification in `kankan_api::routes::ROUTES` implies for that requester
//! ([`crate::authz_judge`]); an operation without a classification, a body recipe or a value
//! for each path parameter fails the test. The policy is published as a table in
//! docs/ref/authorization.md, generated from the same classification (`KANKAN_BLESS=1`
//! rewrites it).

use std::collections::BTreeMap;
use std::time::Duration;

use kankan_accounts::RateLimit;
use kankan_api::routes::{Access, Need, ROUTES};
use kankan_base::{BlobId, Clock as _, Timestamp};
use kankan_core::authz::{Capability, CapabilitySet};
use kankan_db::{AlbumItem, AlbumKind, DeviceGrant};
use kankan_testkit::push::PushService;
use kankan_testkit::{TestApp, TestDevice};
use serde_json::{Value, json};

use crate::admin::{staff_token, staff_token_as};
use crate::authz_judge::{
    Lapse, Principal, Requires, Standing, Verdict, expected, judge, requires,
};
use crate::authz_routes::account_id;
use crate::devices::{PW, bind, provision};
use crate::notify::{Owner, call, event, motion, subscribe};
use kankan_core::staff::{StaffPermission, StaffRole};

use crate::authz_recipes::{Body, Ids, fill, recipe, variants};

/// One row of the matrix: an operation (one whose need the body decides, once per body).
#[derive(Debug, Clone)]
pub struct Op {
    pub method: String,
    pub path: String,
    /// Which body, for an operation whose need the body decides.
    pub variant: Option<&'static str>,
    pub requires: Requires,
    pub body: Option<Body>,
}

impl Op {
    fn label(&self) -> String {
        match self.variant {
            Some(c) => format!("{} {} ({c})", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

/// Every operation of `doc` and every media-link route of the table, classified, with its
/// body; or what is missing (a classification, a body recipe, a path parameter's value).
fn operations(doc: &Value, ids: &Ids) -> Result<Vec<Op>, Vec<String>> {
    let mut pairs = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            const METHODS: [&str; 8] =
                ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            pairs.push((method.to_uppercase(), path.clone(), op.get("requestBody").is_some()));
        }
    }
    for r in ROUTES.iter().filter(|r| matches!(r.access, Access::DeviceLink(_))) {
        if !pairs.iter().any(|(m, p, _)| m == r.method && p == r.path) {
            pairs.push((r.method.to_string(), r.path.to_string(), r.method == "POST"));
        }
    }
    let (mut ops, mut missing) = (Vec::new(), Vec::new());
    for (method, path, has_body) in pairs {
        let Some(route) = ROUTES.iter().find(|r| r.method == method && r.path == path) else {
            missing.push(format!("{method} {path}: no classification in routes.rs"));
            continue;
        };
        if let Err(e) = fill(&path, ids) {
            missing.push(e);
            continue;
        }
        let body = recipe(&method, &path, ids);
        if let Some(rows) = variants(&method, &path) {
            for (name, body, asks) in rows {
                ops.push(Op {
                    method: method.clone(),
                    path: path.clone(),
                    variant: Some(name),
                    requires: requires(route.access, Some(asks), false),
                    body: Some(Body::Json(body)),
                });
            }
            continue;
        }
        if route.access == Access::Device(Need::PerCommand) {
            missing.push(format!("{method} {path}: the body decides its need; give its variants"));
            continue;
        }
        if has_body && body.is_none() {
            missing.push(format!("{method} {path}: no body recipe in authz_matrix.rs"));
            continue;
        }
        let req = requires(route.access, None, path.contains("{id}"));
        ops.push(Op { method, path, variant: None, requires: req, body });
    }
    // What ends a session or the device goes last.
    let last = |o: &Op| match (o.method.as_str(), o.path.as_str()) {
        ("POST", "/api/v1/auth/logout" | "/api/v1/admin/logout") => 3,
        ("DELETE", "/api/v1/devices/{uid}") => 2,
        ("DELETE", "/api/v1/devices/{uid}/membership") => 1,
        _ => 0,
    };
    ops.sort_by_key(last);
    if missing.is_empty() { Ok(ops) } else { Err(missing) }
}

/// The columns of the matrix, in the published order.
pub fn principals() -> Vec<Principal> {
    let member = CapabilitySet::member_default();
    let grantable = CapabilitySet::grantable();
    let none = CapabilitySet::EMPTY;
    let p = |name, standing, granted, lapse| Principal { name, standing, granted, lapse };
    let mut out = vec![
        p("anonymous", Standing::NoSession, none, Lapse::None),
        p("owner", Standing::Account(CapabilitySet::all()), CapabilitySet::all(), Lapse::None),
        p("member", Standing::Account(member), member, Lapse::None),
    ];
    for c in extra_capabilities() {
        let name: &'static str = Box::leak(format!("member +{}", c.name()).into_boxed_str());
        out.push(p(name, Standing::Account(member | c), member | c, Lapse::None));
    }
    out.extend([
        p("time box passed", Standing::Account(none), grantable, Lapse::TimeBox),
        p("outside its schedule", Standing::Account(none), grantable, Lapse::Schedule),
        p("removed member", Standing::Account(none), grantable, Lapse::Revoked),
        p("stranger", Standing::Account(none), none, Lapse::None),
        p("banned", Standing::NoSession, grantable, Lapse::Banned),
        p("staff: support", Standing::Staff(StaffRole::Support), none, Lapse::None),
        p("staff: operations", Standing::Staff(StaffRole::Operations), none, Lapse::None),
        p("staff: admin", Standing::Staff(StaffRole::Administrator), none, Lapse::None),
    ]);
    out
}

/// What an owner may grant beyond a member's default, one principal each.
fn extra_capabilities() -> Vec<Capability> {
    let default = CapabilitySet::member_default();
    CapabilitySet::grantable().iter().filter(|c| !default.contains(*c)).collect()
}

/// A requester in the running server: its session (or staff token) and the media links it
/// holds (obtained while it could; a forged one otherwise).
struct Actor {
    p: Principal,
    token: Option<String>,
    playback_link: String,
    live_link: String,
}

/// A link no principal could have been issued.
fn forged_link() -> String {
    format!("{}.63.9999999999999.AAAA", uuid::Uuid::now_v7())
}

/// Answers every command the device gets, so that a command route settles at once.
fn acknowledge_commands(mut dev: TestDevice) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match dev.next_message().await {
                Ok((topic, payload)) if topic == "cmd" => {
                    let cmd: Value = serde_json::from_slice(&payload).unwrap_or_default();
                    let ack = json!({"id": cmd["id"], "ok": true, "error": null});
                    let _ = dev.publish_json("ack", &ack).await;
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    })
}

/// One request as `actor`: the status and the error code, if any.
async fn ask(app: &TestApp, op: &Op, actor: &Actor, ids: &Ids) -> (u16, Option<String>) {
    let mut url = app.url(&fill(&op.path, ids).expect("checked"));
    if let Requires::Link(c) = op.requires {
        let link = if c == Capability::ViewLive { &actor.live_link } else { &actor.playback_link };
        let now = app.clock.now().0;
        url.push_str(&format!("?t={link}&from={}&to={now}&at={now}", now - 60_000));
    }
    if (op.method.as_str(), op.path.as_str()) == ("DELETE", "/api/v1/devices/{uid}/recordings") {
        let now = app.clock.now().0;
        url.push_str(&format!("?from_ms={}&to_ms={now}", now - 60_000));
    }
    let mut req = app.http.request(op.method.parse().expect("method"), url);
    if let Some(t) = &actor.token {
        req = req.bearer_auth(t);
    }
    req = match &op.body {
        Some(Body::Json(v)) => req.json(v),
        Some(Body::Raw(ctype, bytes)) => req.header("content-type", *ctype).body(bytes.clone()),
        None => req,
    };
    let wait = Duration::from_secs(30);
    let resp = tokio::time::timeout(wait, req.send()).await.expect("answered").expect("sent");
    let status = resp.status().as_u16();
    let json = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    // Streams (SSE, media) are not read: the status says what the matrix needs.
    if !json {
        return (status, None);
    }
    let body: Value =
        tokio::time::timeout(wait, resp.json()).await.ok().and_then(Result::ok).unwrap_or_default();
    (status, body["code"].as_str().map(String::from))
}

/// Household B: an account with its own device, event, Album item, second session, webhook,
/// support grant, push subscription and command. Returns its token and the ids.
async fn household_b(
    app: &TestApp,
    push: &PushService,
) -> (String, Ids, tokio::task::JoinHandle<()>) {
    let who = "b-owner@example.com";
    let token = app.register(who, PW).await;
    let creds = provision(app, "KK-C1").await;
    let dev = bind(app, &token, &creds).await;
    let owner = Owner { token: token.clone(), uid: creds.uid.clone(), dev };
    let b_event = event(app, &owner, motion(app.clock.now().0)).await;
    let acker = acknowledge_commands(owner.dev);
    let (s, b) = app.login(who, PW).await;
    assert_eq!(s, 200, "{b}");
    let second = b["token"].as_str().expect("token").to_string();
    let (_, list) = app.get_authed("/api/v1/me/sessions", &second).await;
    let current = list.as_array().expect("sessions").iter().find(|e| e["current"] == true);
    let b_session = current.expect("current")["id"].as_str().expect("id").to_string();
    let hook = json!({"url": "https://hooks.example.com/b"});
    let (s, b) = call(app, "POST", "/api/v1/me/webhooks", &token, Some(hook)).await;
    assert_eq!(s, 201, "{b}");
    let b_webhook = b["id"].as_str().expect("id").to_string();
    let support = json!({"hours": 72, "devices": [creds.uid]});
    let (s, b) = call(app, "POST", "/api/v1/me/support-grants", &token, Some(support)).await;
    assert_eq!(s, 201, "{b}");
    let b_support_grant = b["id"].as_str().expect("id").to_string();
    subscribe(app, &token, push, "b").await;
    let b_push_endpoint = push.subscription_endpoint("b");
    let store = &app.running().services.store;
    let item = AlbumItem {
        id: uuid::Uuid::now_v7(),
        account_id: account_id(app, &token).await,
        kind: AlbumKind::Screenshot,
        uid: creds.uid.clone(),
        device_name_enc: None,
        taken_at: app.clock.now(),
        duration_ms: 0,
        bytes: 4,
        blob: BlobId(uuid::Uuid::now_v7()),
        key_enc: vec![0; 48],
        created_at: app.clock.now(),
    };
    store.insert_album_item(&item).await.expect("album item");
    let (b_face, b_face_sighting) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let face = kankan_db::FaceRow {
        id: b_face,
        account_id: item.account_id,
        template_enc: vec![0; 48],
        name_enc: None,
        relation: None,
        first_seen: app.clock.now(),
        last_seen: app.clock.now(),
        created_at: app.clock.now(),
    };
    let sighting = kankan_db::FaceSighting {
        id: b_face_sighting,
        face_id: b_face,
        account_id: item.account_id,
        event_id: b_event.parse().expect("event id"),
        uid: creds.uid.clone(),
        seen_at: app.clock.now(),
    };
    assert!(store.insert_face(&face, &sighting, &[0; 48], 10).await.expect("face"));
    let media = json!({"media": {}});
    let (s, b) = call(app, "POST", "/api/v1/me/exports", &token, Some(media)).await;
    assert_eq!(s, 202, "{b}");
    let b_export = b["id"].as_str().expect("id").to_string();
    let path = format!("/api/v1/devices/{}/commands", creds.uid);
    let (s, b) = call(app, "POST", &path, &token, Some(json!({"name": "reboot"}))).await;
    assert!(s == 200 || s == 202, "{b}");
    let share = json!({"devices": [creds.uid], "bound_to": "someone-else@example.com"});
    let (s, b) = call(app, "POST", "/api/v1/shares", &token, Some(share)).await;
    assert_eq!(s, 201, "{b}");
    let (b_share, b_share_token) = (
        b["id"].as_str().expect("id").to_string(),
        b["token"].as_str().expect("token").to_string(),
    );
    let ids = Ids {
        uid: String::new(),
        command: String::new(),
        b_uid: creds.uid,
        b_event,
        b_album_item: item.id.to_string(),
        b_session,
        b_webhook,
        b_support_grant,
        b_push_endpoint,
        b_export,
        b_face: b_face.to_string(),
        b_face_sighting: b_face_sighting.to_string(),
        b_account: item.account_id.0.to_string(),
        b_share,
        b_share_token,
    };
    (token, ids, acker)
}

/// A weekly schedule (UTC) of every day but the one `at_ms` falls on.
fn off_schedule(at_ms: i64) -> String {
    // 1970-01-01 was a Thursday.
    const DAYS: [&str; 7] = ["thu", "fri", "sat", "sun", "mon", "tue", "wed"];
    let today = DAYS[(at_ms.div_euclid(86_400_000) % 7) as usize];
    let periods: Vec<Value> = DAYS
        .iter()
        .filter(|d| **d != today)
        .map(|d| json!({"day": d, "start": "00:00", "end": "24:00"}))
        .collect();
    json!({"time_zone": "UTC", "periods": periods}).to_string()
}

/// A media link for `purpose`, if the account may have one.
async fn link(app: &TestApp, token: &str, uid: &str, purpose: &str) -> Option<String> {
    let path = format!("/api/v1/devices/{uid}/recordings/link");
    let (s, b) = call(app, "POST", &path, token, Some(json!({"purpose": purpose}))).await;
    (s == 200).then(|| b["token"].as_str().expect("token").to_string())
}

#[tokio::test]
async fn every_operation_answers_every_kind_of_requester_as_its_classification_says() {
    // A dozen accounts register from one address.
    let many = RateLimit { count: 1000, per_secs: 60 };
    let app = TestApp::spawn_with(|c| {
        (c.limits.register_per_ip, c.limits.codes_per_ip, c.limits.login_per_ip) =
            (many, many, many);
    })
    .await;
    let push = PushService::start().await;
    let (b_token, mut ids, b_acker) = household_b(&app, &push).await;

    // Household A: the owner's device, with a command sent to it.
    let owner = app.register("owner@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let mut ackers = vec![b_acker, acknowledge_commands(bind(&app, &owner, &creds).await)];
    ids.uid = creds.uid.clone();
    let path = format!("/api/v1/devices/{}/commands", ids.uid);
    let (s, b) = call(&app, "POST", &path, &owner, Some(json!({"name": "reboot"}))).await;
    assert_eq!(s, 200, "{b}");
    ids.command = b["id"].as_str().expect("id").to_string();

    let store = app.running().services.store.clone();
    let owner_id = account_id(&app, &owner).await;
    let now = app.clock.now();
    let mut actors = Vec::new();
    let mut revoke = None;
    let mut ban = None;
    for (i, p) in principals().into_iter().enumerate() {
        let token = match p.standing {
            _ if p.name == "anonymous" => None,
            _ if p.name == "owner" => Some(owner.clone()),
            Standing::Staff(StaffRole::Administrator) => Some(staff_token(&app).await),
            Standing::Staff(role) => {
                Some(staff_token_as(&app, &format!("matrix-{}", role.name()), role).await)
            }
            _ => Some(app.register(&format!("principal{i}@example.com"), PW).await),
        };
        let mut actor = Actor { p, token, playback_link: forged_link(), live_link: forged_link() };
        let is_staff = matches!(p.standing, Standing::Staff(_));
        let (Some(token), true) = (&actor.token, !is_staff) else {
            actors.push(actor);
            continue;
        };
        if p.name == "stranger" {
            // A household of its own: owning a camera gives nothing on another's.
            let c = provision(&app, "KK-C1").await;
            ackers.push(acknowledge_commands(bind(&app, token, &c).await));
        }
        if !p.granted.is_empty() && p.name != "owner" {
            let id = uuid::Uuid::now_v7();
            let expires_at = (p.lapse == Lapse::TimeBox).then_some(Timestamp(now.0 + 60_000));
            let grant = DeviceGrant {
                id,
                uid: ids.uid.clone(),
                account_id: account_id(&app, token).await,
                granted_by: owner_id,
                capabilities: p.granted.to_names(),
                created_at: now,
                expires_at,
                revoked_at: None,
                schedule: (p.lapse == Lapse::Schedule).then(|| off_schedule(now.0 + 61_000)),
            };
            store.insert_device_grant(&grant).await.expect("grant");
            match p.lapse {
                Lapse::Revoked => revoke = Some(id),
                Lapse::Banned => ban = Some(grant.account_id),
                _ => {}
            }
        }
        // The links it can obtain now (before its grant lapses).
        if let Some(l) = link(&app, token, &ids.uid, "playback").await {
            actor.playback_link = l;
        }
        if let Some(l) = link(&app, token, &ids.uid, "live").await {
            actor.live_link = l;
        }
        actors.push(actor);
    }
    // The grants lapse: revoked, the account banned, the time box passed.
    let later = Timestamp(now.0 + 1);
    assert!(store.revoke_device_grant(revoke.expect("removed"), later).await.expect("revoke"));
    let accounts = &app.running().services.accounts;
    accounts.ban(ban.expect("banned"), "fraud").await.expect("ban");
    app.clock.advance(Duration::from_secs(61));

    let doc: Value = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let ops = match operations(&doc, &ids) {
        Ok(ops) => ops,
        Err(missing) => panic!("operations the matrix cannot drive:\n{}", missing.join("\n")),
    };
    assert!(ops.len() >= 70, "the document has its operations ({})", ops.len());
    let mut findings = Vec::new();
    for op in &ops {
        for actor in &actors {
            let expect = expected(op.requires, actor.p.standing);
            let (status, code) = ask(&app, op, actor, &ids).await;
            let verdict = judge(op.requires, expect, status, code.as_deref());
            if verdict != Verdict::Ok {
                findings.push(format!("{} as {}: {verdict:?}", op.label(), actor.p.name));
            }
        }
    }
    assert!(findings.is_empty(), "answers off the policy:\n{}", findings.join("\n"));

    // Household B kept everything the others' requests named.
    let get = |path: String| {
        let (app, token) = (&app, &b_token);
        async move { app.get_authed(&path, token).await }
    };
    assert_eq!(get(format!("/api/v1/events/{}", ids.b_event)).await.0, 200);
    let (_, album) = get("/api/v1/album".into()).await;
    assert_eq!(album.as_array().map(Vec::len), Some(1), "{album}");
    let (_, hooks) = get("/api/v1/me/webhooks".into()).await;
    assert_eq!(hooks.as_array().map(Vec::len), Some(1), "{hooks}");
    let (_, sessions) = get("/api/v1/me/sessions".into()).await;
    assert!(
        sessions.as_array().is_some_and(|l| l.iter().any(|s| s["id"] == ids.b_session.as_str()))
    );
    let b_id = account_id(&app, &b_token).await;
    assert_eq!(store.push_subscriptions(b_id).await.expect("subscriptions").len(), 1);
    let b_face = ids.b_face.parse().expect("face id");
    let face = store.face(b_id, b_face).await.expect("face").expect("household B keeps its face");
    assert_eq!(face.name_enc, None, "nobody else named it");
    let (_, shares) = get("/api/v1/shares".into()).await;
    assert_eq!(shares.as_array().map(Vec::len), Some(1), "its invitation stays pending: {shares}");
    let (s, _) = get(format!("/api/v1/devices/{}", ids.b_uid)).await;
    assert_eq!(s, 200, "household B keeps its device");
    ackers.iter().for_each(|a| a.abort());
}

/// The published table: one row per operation, one column per principal.
fn table() -> String {
    let doc = serde_json::to_value(kankan_api::openapi()).expect("serialises");
    let ops = operations(&doc, &Ids::placeholder()).unwrap_or_else(|m| panic!("{}", m.join("\n")));
    let principals = principals();
    let names =
        |set: CapabilitySet| set.iter().map(Capability::name).collect::<Vec<_>>().join(", ");
    let extra: CapabilitySet = extra_capabilities().into_iter().collect();
    let mut out = INTRO
        .replace("{default}", &names(CapabilitySet::member_default()))
        .replace("{extra}", &names(extra));
    out.push_str("| Operation |");
    for p in &principals {
        out.push_str(&format!(" {} |", p.name));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(principals.len()));
    out.push('\n');
    let mut rows = BTreeMap::new();
    for op in &ops {
        let cells: Vec<&str> =
            principals.iter().map(|p| crate::authz_judge::cell(op.requires, p.standing)).collect();
        rows.insert((op.path.clone(), op.method.clone(), op.variant), (op.label(), cells));
    }
    for (label, cells) in rows.into_values() {
        out.push_str(&format!("| `{label}` | {} |\n", cells.join(" | ")));
    }
    out.push_str(STAFF_INTRO);
    let mut staff_rows = BTreeMap::new();
    for r in kankan_api::routes::ROUTES {
        let Access::Staff(p) = r.access else { continue };
        let cells: Vec<&str> =
            StaffRole::ALL.iter().map(|role| if role.permits(p) { "✓" } else { "—" }).collect();
        staff_rows.insert((r.path, r.method), (p, cells));
    }
    for ((path, method), (p, cells)) in staff_rows {
        out.push_str(&format!("| `{method} {path}` | {} | {} |\n", p.name(), cells.join(" | ")));
    }
    out
}

/// The staff routes' section of the published table.
const STAFF_INTRO: &str = "
## Staff routes: the permission each needs, and the roles that hold it

A staff session reaches an operator route only when its role holds the route's permission
(`crates/kankan-core/src/staff.rs`); otherwise `403 staff-forbidden`. Staff log in with a
second factor, always (docs/ref/console.md).

| Operation | Permission | support | operations | admin |
|---|---|---|---|---|
";

/// Every staff permission some route needs (a permission no route needs is dead weight).
#[test]
fn every_staff_permission_but_the_others_routes_is_needed_by_a_route() {
    let needed: Vec<StaffPermission> = kankan_api::routes::ROUTES
        .iter()
        .filter_map(|r| if let Access::Staff(p) = r.access { Some(p) } else { None })
        .collect();
    // Tickets and help articles are other parts' routes, added with them.
    let later = [
        StaffPermission::TicketsRead,
        StaffPermission::TicketsReply,
        StaffPermission::TicketsAssign,
        StaffPermission::HelpEdit,
    ];
    for p in StaffPermission::ALL {
        assert!(needed.contains(&p) || later.contains(&p), "no route needs {}", p.name());
    }
}

const INTRO: &str = "# Authorization: who may do what

Generated by the authorization matrix test (`crates/kankan-server/tests/it/authz_matrix.rs`;
`KANKAN_BLESS=1` rewrites it) from the classification of every route in
`crates/kankan-api/src/routes.rs`. The same test drives each operation of the OpenAPI
document against the running server as each of these requesters, with the real ids of
another household's objects in the paths, and fails when an answer differs from this table
or an operation has no classification.

The policy:

- The **owner** of a camera holds every capability on it. A **member** holds the
  capabilities of their live grant on that camera. By default: {default}.
  The owner may add, one column each below: {extra}.
  Sharing and unbinding are never granted.
- A grant outside its **time box** (past its end, or outside its weekly schedule), a
  **removed** member's grant and a **banned** account give nothing. A **stranger** (an account with no grant; in the matrix, the owner of another
  camera) gets nothing of the camera.
- Whatever a requester may not touch answers exactly like something that does not exist:
  `404 device-not-found` for a camera (a capability not held included), `404 not-found` for
  another account's event, Album item, webhook or session, `401 unauthenticated` without a
  session (anonymous, banned). A media link works only while its account still holds what
  it carries (`403 invalid-link` or `404 device-not-found` otherwise).
- **Staff** sessions reach only the operator's routes, and only those whose permission their
  role holds (a column per role; `403 staff-forbidden` otherwise; see the staff table at the
  end). Devices reach only the ingest routes,
  with their own credentials (no column here: every principal below is refused them,
  `401 invalid-device-credentials`).
- On an operation on the caller's own things (its profile, lists, settings, invitations, its
  membership), ✓ means any signed-in account may ask: leaving a camera it is no member of
  answers `404 device-not-found`, an invitation for someone else `404 invitation-invalid`.
- Where the body decides what an operation needs (a command; a media link's purpose), each
  body is a row of its own.

✓ allowed · own: allowed on its own objects only (the matrix names another household's) ·
— refused.

";

#[test]
fn the_published_authorization_table_matches_the_routes() {
    let generated = table();
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ref/authorization.md");
    if std::env::var_os("KANKAN_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write authorization.md");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/ref/authorization.md is stale: run KANKAN_BLESS=1 cargo nextest run -p kankan-server --test it -E 'test(authz_matrix::)'"
    );
}
