//! The authorization matrix's recipes: for every operation, a body that reaches its
//! authorization (or, where the body decides the need, one per variant), and the real ids
//! of another household's objects that fill its path ([`crate::authz_matrix`]).

use kankan_core::authz::Capability;
use kankan_protocol::device::{CommandKind, Settings};
use kankan_recording::LinkPurpose;
use serde_json::{Value, json};

use crate::authz_judge::Requires;
use crate::devices::PW;

/// A body an operation accepts, so that a request reaches its authorization.
#[derive(Debug, Clone)]
pub enum Body {
    Json(Value),
    Raw(&'static str, Vec<u8>),
}

/// The objects the paths and bodies name.
#[derive(Debug, Clone)]
pub struct Ids {
    /// The device under test (household A's), on which the members hold their grants.
    pub uid: String,
    /// A command sent to that device.
    pub command: String,
    /// Household B's objects.
    pub b_uid: String,
    pub b_event: String,
    pub b_album_item: String,
    pub b_session: String,
    pub b_webhook: String,
    /// Household B's live support grant (staff may play back its device).
    pub b_support_grant: String,
    pub b_push_endpoint: String,
    pub b_export: String,
    /// Household B's face (familiar faces) and its sighting.
    pub b_face: String,
    pub b_face_sighting: String,
    /// Household B's owner, its invitation (for someone else) and that invitation's token.
    pub b_account: String,
    pub b_share: String,
    pub b_share_token: String,
}

impl Ids {
    pub fn placeholder() -> Ids {
        let s = |v: &str| v.to_string();
        Ids {
            uid: s("KKPLACEHOLDER1"),
            command: s("c"),
            b_uid: s("KKPLACEHOLDER2"),
            b_event: s("e"),
            b_album_item: s("a"),
            b_session: s("s"),
            b_webhook: s("w"),
            b_support_grant: s("g"),
            b_push_endpoint: s("https://push.example.com/b"),
            b_export: s("x"),
            b_face: s("f"),
            b_face_sighting: s("fs"),
            b_account: s("b"),
            b_share: s("i"),
            b_share_token: s("t"),
        }
    }
}

/// The operations whose need the body decides, once per body: a row label, the body and
/// what it asks for.
pub fn variants(method: &str, path: &str) -> Option<Vec<(&'static str, Value, Requires)>> {
    match (method, path) {
        ("POST", "/api/v1/devices/{uid}/commands") => {
            let commands = [
                ("format-sd", json!({"name": "format-sd"})),
                ("ptz-move", json!({"name": "ptz-move", "pan": 1, "tilt": 0})),
                ("talk-start", json!({"name": "talk-start"})),
                ("stream-start", json!({"name": "stream-start", "stream": 1})),
            ];
            let rows = commands.into_iter().map(|(name, body)| {
                let kind: CommandKind = serde_json::from_value(body.clone()).expect("command");
                (name, body, Requires::DeviceAll(Capability::for_command(&kind).into()))
            });
            Some(rows.collect())
        }
        ("POST", "/api/v1/devices/{uid}/recordings/link") => Some(
            [
                ("playback", LinkPurpose::PlayBack),
                ("live", LinkPurpose::Live),
                ("talk", LinkPurpose::Talk),
            ]
            .into_iter()
            .map(|(name, p)| {
                let needs = match p.issue_need() {
                    (set, true) => Requires::DeviceAll(set),
                    (set, false) => Requires::DeviceAny(set),
                };
                (name, json!({"purpose": name}), needs)
            })
            .collect(),
        ),
        _ => None,
    }
}

/// The body recipe of each operation that takes one.
pub fn recipe(method: &str, path: &str, ids: &Ids) -> Option<Body> {
    let j = Body::Json;
    let wrong_pw = "wrong-password-1";
    Some(match (method, path) {
        ("POST", "/api/v1/admin/devices/provision") => {
            j(json!({"model": "KK-C1", "count": 1, "batch": "matrix"}))
        }
        ("POST", "/api/v1/admin/login") => j(json!({"username": "nobody", "password": wrong_pw})),
        ("POST", "/api/v1/admin/login/enrol") => {
            j(json!({"enrolment_token": "no-such-enrolment", "code": "000000"}))
        }
        // Staff with the permission create one (then 409); the rest are refused.
        ("POST", "/api/v1/admin/staff") => {
            j(json!({"username": "matrix-new", "password": PW, "role": "support"}))
        }
        ("POST", "/api/v1/admin/staff/{id}/role") => j(json!({"role": "support"})),
        ("POST", "/api/v1/admin/accounts/{id}/ban" | "/api/v1/admin/accounts/{id}/unban") => {
            j(json!({"reason": "matrix"}))
        }
        ("POST", "/api/v1/admin/requests/{id}/close") => j(json!({"state": "done"})),
        ("POST", "/api/v1/me/requests") => j(json!({"kind": "other", "message": "matrix"})),
        // Household B's device: nobody else may let staff see it.
        ("POST", "/api/v1/me/support-grants") => j(json!({"hours": 1, "devices": [ids.b_uid]})),
        ("POST", "/api/v1/album/clips") => j(json!({"device": ids.uid, "seconds": 5})),
        ("POST", "/api/v1/album/screenshots") => j(json!({"device": ids.uid})),
        ("PUT", "/api/v1/faces/{id}") => j(json!({"name": "Matrix", "relation": "friend"})),
        ("POST", "/api/v1/auth/login") => {
            j(json!({"identifier": "nobody@example.com", "password": wrong_pw}))
        }
        ("POST", "/api/v1/me/passkeys/options") => j(json!({"current_password": wrong_pw})),
        ("POST", "/api/v1/me/passkeys") => {
            j(json!({"challenge_id": uuid::Uuid::now_v7(), "credential": {}, "name": "matrix"}))
        }
        ("PATCH", "/api/v1/me/passkeys/{id}") => j(json!({"name": "matrix"})),
        ("POST", "/api/v1/auth/passkey/login") => {
            j(json!({"challenge_id": uuid::Uuid::now_v7(), "credential": {}}))
        }
        ("POST", "/api/v1/auth/password-reset") => j(json!({"identifier": "nobody@example.com"})),
        ("POST", "/api/v1/auth/password-reset/confirm") => j(json!({
            "identifier": "nobody@example.com", "code": "000000", "new_password": wrong_pw
        })),
        ("POST", "/api/v1/auth/register") => {
            j(json!({"identifier": "newcomer@example.com", "password": PW, "accept_policy": "1"}))
        }
        ("POST", "/api/v1/auth/register/guardian") => j(json!({
            "child": "nobody@example.com", "guardian": "parent@example.com", "code": "000000",
            "accept_policy": "1"
        })),
        ("PUT", "/api/v1/me/consents/{purpose}") => j(json!({"granted": true})),
        ("POST", "/api/v1/me/policy/accept") => j(json!({"version": "1"})),
        ("POST", "/api/v1/admin/announcements") => {
            j(json!({"title": "Matrix", "body": "A notice to everyone."}))
        }
        ("POST", "/api/v1/auth/register/verify") => {
            j(json!({"identifier": "newcomer@example.com", "code": "000000"}))
        }
        ("POST", "/api/v1/cameras/rtsp") => {
            j(json!({"name": "Shed", "url": "rtsp://127.0.0.1:9/stream1"}))
        }
        ("POST", "/api/v1/devices/pairings") => {
            j(json!({"uid": ids.b_uid, "ssid": "Home", "wifi_password": "hunter22"}))
        }
        ("PATCH", "/api/v1/devices/{uid}") => j(json!({"name": "Porch"})),
        ("PUT", "/api/v1/devices/{uid}/notifications") => {
            j(json!({"kinds": ["motion"], "snoozed_until_ms": null}))
        }
        ("PUT", "/api/v1/devices/{uid}/settings") => j(json!(Settings::default())),
        ("POST", "/api/v1/devices/{uid}/snooze") => j(json!({"minutes": 30})),
        ("POST", "/api/v1/devices/{uid}/wifi" | "/api/v1/devices/{uid}/wifi/code") => {
            j(json!({"ssid": "Upstairs", "password": "hunter22"}))
        }
        // No plan or data package by that name: nothing is ordered.
        ("POST", "/api/v1/devices/{uid}/plan/checkout" | "/api/v1/devices/{uid}/sim/checkout") => {
            j(json!({"sku": "no-such-plan", "provider": "stripe"}))
        }
        ("PATCH", "/api/v1/me") => j(json!({"nickname": "Matrix"})),
        ("PUT", "/api/v1/me/avatar") => Body::Raw("image/png", b"not a picture".to_vec()),
        ("PUT", "/api/v1/me/notification-settings") => {
            j(json!({"method": "push", "quiet_hours": null, "time_zone": "UTC"}))
        }
        // A wrong password: the account is not cancelled under the matrix's feet.
        ("POST", "/api/v1/me/cancellation") => j(json!({"password": wrong_pw})),
        // Wrong passwords and codes, an unknown ticket: the second factor stays as it is.
        ("POST", "/api/v1/auth/second-factor/passkey-options") => {
            j(json!({"ticket": "no-such-ticket"}))
        }
        ("POST", "/api/v1/auth/second-factor") => {
            j(json!({"ticket": "no-such-ticket", "totp": "000000"}))
        }
        ("POST", "/api/v1/me/second-factor/totp" | "/api/v1/me/second-factor/recovery-codes") => {
            j(json!({"password": wrong_pw}))
        }
        ("POST", "/api/v1/me/second-factor/totp/confirm") => j(json!({"code": "000000"})),
        ("POST", "/api/v1/me/second-factor/totp/disable") => {
            j(json!({"password": wrong_pw, "code": "000000"}))
        }
        ("POST", "/api/v1/me/password") => {
            j(json!({"current_password": wrong_pw, "new_password": "new-orchard-lamp-77"}))
        }
        ("POST", "/api/v1/me/push-subscriptions") => j(json!({
            "endpoint": "https://push.example.com/matrix", "expirationTime": null,
            "keys": {"p256dh": "BAAA", "auth": "AAAA"}
        })),
        // Household B's subscription: nobody else may remove it.
        ("DELETE", "/api/v1/me/push-subscriptions") => j(json!({"endpoint": ids.b_push_endpoint})),
        ("POST", "/api/v1/shares") => j(json!({"devices": [ids.uid]})),
        // Household B's real invitation, for someone else: nobody here may open it.
        ("POST", "/api/v1/invitations/preview" | "/api/v1/invitations/accept") => {
            j(json!({"token": ids.b_share_token}))
        }
        ("PUT", "/api/v1/devices/{uid}/members/{account}") => {
            j(json!({"capabilities": ["view", "view-live", "receive-alarms"]}))
        }
        ("POST", "/api/v1/me/webhooks") => j(json!({"url": "https://hooks.example.com/matrix"})),
        ("POST", "/api/v1/me/exports") => j(json!({"media": {}})),
        // A code that does not exist, for a SIM (no device decision): everyone is refused it.
        ("POST", "/api/v1/billing/redeem") => j(
            json!({"code": "NOPE-NOPE-NOPE", "target": "89860012345678901234", "target_kind": "sim"}),
        ),
        // The matrix's server has no payment provider: answered 404 to everyone, unsigned.
        ("POST", "/api/v1/billing/webhooks/{provider}") => {
            Body::Raw("application/json", b"{}".to_vec())
        }
        ("POST", "/api/v1/admin/billing/coupons") => {
            j(json!({"code": "MATRIX", "percent_off": 10, "max_uses": 1}))
        }
        ("POST", "/api/v1/admin/billing/codes") => j(json!({
            "kind": "plan", "sku": "matrix", "title": "Matrix", "currency": "USD", "max_uses": 1
        })),
        // The matrix's server has no broker token: these answer 404 to everyone.
        ("POST", "/internal/v1/mqtt/auth") => {
            j(json!({"username": ids.uid, "password": wrong_pw, "clientid": ids.uid}))
        }
        ("POST", "/internal/v1/mqtt/acl") => {
            j(json!({"username": ids.uid, "topic": "kk/v1/+/cmd", "action": "subscribe"}))
        }
        // No signature or model: staff are answered 400, the rest unauthenticated.
        ("POST", "/api/v1/admin/firmware/images") => {
            Body::Raw("application/octet-stream", vec![0; 16])
        }
        // No such image: staff are answered (firmware is off on the matrix's server).
        ("POST", "/api/v1/admin/firmware/rollouts") => {
            j(json!({"image_id": uuid::Uuid::now_v7(), "percent": 10}))
        }
        // A valid article: staff holding help-edit are answered (201, then 409 or 404).
        ("POST", "/api/v1/admin/help/articles") => j(json!({
            "slug": "matrix", "title": "Matrix", "category": "Matrix", "body": "Matrix."
        })),
        ("PUT", "/api/v1/admin/help/articles/{slug}") => {
            j(json!({"title": "Matrix", "category": "Matrix", "body": "Matrix."}))
        }
        ("PUT", "/api/v1/me/rating") => j(json!({"stars": 4, "app_version": "matrix"})),
        ("PUT", "/ingest/v1/{uid}/backfill") => Body::Raw("video/mp4", vec![0; 16]),
        ("POST", "/ingest/v1/{uid}/live") => Body::Raw("video/mp4", vec![0; 16]),
        ("POST", "/ingest/v1/{uid}/card/{request}") => Body::Raw("video/mp4", vec![0; 16]),
        // A log nobody asked for: the device is answered not-found, the rest unauthenticated.
        ("POST", "/ingest/v1/{uid}/logs/{request}") => Body::Raw("text/plain", b"log".to_vec()),
        ("POST", "/api/v1/support/tickets") => {
            j(json!({"category": "app", "subject": "Matrix", "body": "A question."}))
        }
        (
            "POST",
            "/api/v1/support/tickets/{id}/messages" | "/api/v1/admin/tickets/{id}/messages",
        ) => j(json!({"body": "Matrix"})),
        ("POST", "/api/v1/admin/tickets/{id}/assign") => j(json!({})),
        // Not SDP on purpose: an allowed viewer is answered 415 right after the decision,
        // before a peer connection is set up.
        ("POST", "/media/v1/{uid}/whep") => Body::Raw("text/plain", b"v=0\r\n".to_vec()),
        _ => return None,
    })
}

/// The path with each parameter filled with a real id, or the parameter no value exists for.
pub fn fill(path: &str, ids: &Ids) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').ok_or_else(|| path.to_string())? + start;
        out.push_str(&rest[..start]);
        let value = match (&rest[start + 1..end], path) {
            ("uid", _) => ids.uid.clone(),
            // A card answer nobody waits for.
            ("request", _) => uuid::Uuid::now_v7().to_string(),
            ("id", p) if p.starts_with("/api/v1/devices/{uid}/commands/") => ids.command.clone(),
            ("id", p) if p.starts_with("/api/v1/events/") => ids.b_event.clone(),
            ("id", p) if p.starts_with("/api/v1/album/") => ids.b_album_item.clone(),
            ("id", p) if p.starts_with("/api/v1/faces/") => ids.b_face.clone(),
            ("id", p) if p.starts_with("/api/v1/devices/{uid}/faces/sightings/") => {
                ids.b_face_sighting.clone()
            }
            ("id", p) if p.starts_with("/api/v1/me/sessions/") => ids.b_session.clone(),
            // No such passkey: every account is answered not-found, the rest unauthenticated.
            ("id", p) if p.starts_with("/api/v1/me/passkeys/") => uuid::Uuid::now_v7().to_string(),
            // No such remembered device: every account is answered not-found.
            ("id", p) if p.starts_with("/api/v1/me/second-factor/devices/") => {
                uuid::Uuid::now_v7().to_string()
            }
            ("id", p) if p.starts_with("/api/v1/me/webhooks/") => ids.b_webhook.clone(),
            ("id", p) if p.starts_with("/api/v1/me/exports/") => ids.b_export.clone(),
            ("id", p) if p.starts_with("/api/v1/shares/") => ids.b_share.clone(),
            // No such request or grant: staff are answered not-found, the rest unauthenticated.
            ("id", p) if p.starts_with("/api/v1/admin/requests/") => {
                uuid::Uuid::now_v7().to_string()
            }
            // No such ticket: its owner alone would see one; everyone is answered not-found.
            ("id", p)
                if p.starts_with("/api/v1/support/tickets/")
                    || p.starts_with("/api/v1/admin/tickets/") =>
            {
                uuid::Uuid::now_v7().to_string()
            }
            ("att", _) => "no-such-attachment".to_string(),
            // No such rollout: staff are answered not-found, the rest unauthenticated.
            ("id", p) if p.starts_with("/api/v1/admin/firmware/") => {
                uuid::Uuid::now_v7().to_string()
            }
            // No such staff member or account: nobody the matrix signs in is disabled or
            // banned; staff with the permission are answered not-found.
            ("id", p)
                if p.starts_with("/api/v1/admin/staff/")
                    || p.starts_with("/api/v1/admin/accounts/") =>
            {
                uuid::Uuid::now_v7().to_string()
            }
            // Household B's live grant: nobody else may withdraw it.
            ("id", p) if p.starts_with("/api/v1/me/support-grants/") => ids.b_support_grant.clone(),
            // Not a member of the device: the owner is answered not-found, nobody is removed.
            ("account", _) => ids.b_account.clone(),
            ("file", p) if p.contains("/init/") => "1.mp4".into(),
            ("file", _) => "1.m4s".into(),
            ("session", _) => uuid::Uuid::now_v7().to_string(),
            // Offered to no device: its own credentials get not-found, the rest 401.
            ("image_id", _) => uuid::Uuid::now_v7().to_string(),
            ("token", p) if p.starts_with("/api/v1/deletion-receipts/") => "no-such-receipt".into(),
            ("purpose", _) => "ai-descriptions".into(),
            ("provider", _) => "stripe".into(),
            // No such help article: staff are answered not-found, like everyone publicly.
            ("slug", _) => "no-such-article".into(),
            // No such order: its owner would be answered like anyone else, not-found.
            ("id", p)
                if p.starts_with("/api/v1/orders/") || p.starts_with("/api/v1/admin/billing/") =>
            {
                uuid::Uuid::now_v7().to_string()
            }
            (other, _) => return Err(format!("{path}: no value for {{{other}}}")),
        };
        out.push_str(&value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}
