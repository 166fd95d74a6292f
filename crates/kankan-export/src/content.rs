//! The account's data as JSON, gathered through the domains that hold it (each answers for its
//! own, through the same operations the app uses), and the list of media to add.
//!
//! The document's shape is docs/ref/export.schema.json; a test validates real exports against
//! it. Times are milliseconds since the Unix epoch (`*_ms`), as in the API.

use kankan_base::Timestamp;
use kankan_core::authz::{Capability, CapabilitySet};
use kankan_core::{CoreError, Principal};
use kankan_events::{Event, ListQuery, MAX_PAGE};
use kankan_recording::album::AlbumEntry;
use serde_json::{Value, json};

use crate::Sources;

/// The format's name and version, in `data.json`'s `format`.
pub const FORMAT: &str = "kankan-export/1";

fn ms(t: Timestamp) -> Value {
    json!(t.0)
}

fn opt_ms(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| json!(t.0))
}

fn caps(set: CapabilitySet) -> Value {
    json!(set.iter().map(|c| c.name()).collect::<Vec<_>>())
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, CoreError> {
    serde_json::to_value(v).map_err(|e| CoreError::Internal(format!("export json: {e}")))
}

/// The account's data, without the media index (added once the media are written).
pub(crate) struct Gathered {
    pub doc: serde_json::Map<String, Value>,
    /// The avatar (PNG), when one is set.
    pub avatar: Option<Vec<u8>>,
    pub events: Vec<Event>,
    pub album: Vec<AlbumEntry>,
}

/// Where the avatar goes in the ZIP.
pub(crate) const AVATAR_PATH: &str = "account/avatar.png";

pub(crate) async fn gather(
    src: &Sources,
    p: &Principal,
    now: Timestamp,
) -> Result<Gathered, CoreError> {
    let mut doc = serde_json::Map::new();
    doc.insert("format".into(), json!(FORMAT));
    doc.insert("exported_at_ms".into(), ms(now));

    let profile = src.accounts.profile(p).await?;
    let avatar =
        if profile.avatar_version.is_some() { src.accounts.avatar(p).await? } else { None };
    doc.insert(
        "account".into(),
        json!({
            "id": profile.id.to_string(),
            "identifier": profile.identifier,
            "identifier_kind": profile.identifier_kind.as_str(),
            "nickname": profile.nickname,
            "created_at_ms": profile.created_at.0,
            "avatar": avatar.as_ref().map(|_| AVATAR_PATH),
        }),
    );

    let sessions = src.accounts.sessions(p).await?;
    doc.insert(
        "sessions".into(),
        Value::Array(
            sessions
                .iter()
                .map(|s| {
                    json!({
                        "id": s.id.to_string(),
                        "client": s.client,
                        "ip": s.ip,
                        "created_at_ms": s.created_at.0,
                        "last_used_at_ms": s.last_used_at.0,
                    })
                })
                .collect(),
        ),
    );
    let logins = src.accounts.login_history(p).await?;
    doc.insert(
        "login_history".into(),
        Value::Array(
            logins
                .iter()
                .map(|l| {
                    json!({
                        "at_ms": l.at.0,
                        "ip": l.ip,
                        "client": l.client,
                        "outcome": l.outcome.as_str(),
                        "new_device": l.new_device,
                    })
                })
                .collect(),
        ),
    );
    doc.insert("consents".into(), consents(src, p).await?);
    doc.insert("orders".into(), orders(src, p).await?);
    let (entitlements, topups) = plans(src, p).await?;
    doc.insert("entitlements".into(), entitlements);
    doc.insert("sim_topups".into(), topups);
    doc.insert("app_ratings".into(), app_ratings(src, p).await?);
    doc.insert("devices".into(), devices(src, p).await?);
    doc.insert("notifications".into(), notifications(src, p).await?);
    doc.insert("faces".into(), faces(src, p).await?);
    doc.insert("support_tickets".into(), support_tickets(src, p).await?);

    let events = all_events(src, p).await?;
    let descriptions = src.events.descriptions(&events).await?;
    doc.insert(
        "events".into(),
        Value::Array(
            events
                .iter()
                .map(|e| {
                    json!({
                        "id": e.id.to_string(),
                        "uid": e.uid,
                        "kind": e.kind.as_str(),
                        "owned": e.account_id == p.account_id,
                        "started_at_ms": e.started_at.0,
                        "ended_at_ms": opt_ms(e.ended_at),
                        "zone": e.zone,
                        "read_at_ms": opt_ms(e.read_at),
                        "clip_from_ms": e.clip_from.0,
                        "clip_to_ms": e.clip_to.0,
                        "description": descriptions.get(&e.id),
                        "level_db": e.level_db,
                        "label": e.sighting.as_ref().map(|s| s.label.clone()),
                        "score": e.sighting.as_ref().map(|s| s.score),
                        "box": e.sighting.as_ref().map(|s| json!({
                            "x": s.bbox.x, "y": s.bbox.y, "w": s.bbox.w, "h": s.bbox.h
                        })),
                    })
                })
                .collect(),
        ),
    );

    let album = src.album.list(p).await?;
    doc.insert(
        "album".into(),
        Value::Array(
            album
                .iter()
                .map(|a| {
                    json!({
                        "id": a.id.to_string(),
                        "kind": a.kind.as_str(),
                        "uid": a.uid,
                        "device_name": a.device_name,
                        "taken_at_ms": a.taken_at.0,
                        "duration_ms": a.duration_ms,
                        "bytes": a.bytes,
                        "created_at_ms": a.created_at.0,
                    })
                })
                .collect(),
        ),
    );
    Ok(Gathered { doc, avatar, events, album })
}

/// The consents the account gave or withdrew, oldest first: the privacy policy's versions it
/// accepted, each optional purpose given or withdrawn and the camera disclaimer shown, with
/// the policy version in force and how (the same history Me → Privacy shows).
async fn consents(src: &Sources, p: &Principal) -> Result<Value, CoreError> {
    let overview = src.accounts.consents().overview(p).await?;
    Ok(Value::Array(
        overview
            .history
            .into_iter()
            .map(|c| {
                json!({
                    "purpose": c.purpose,
                    "version": c.version,
                    "granted": c.granted,
                    "how": c.how,
                    "at_ms": ms(c.at),
                })
            })
            .collect(),
    ))
}

/// The account's familiar faces: the named ones and the strangers of the last two days, each
/// with its sightings of those two days (the face pictures and templates stay out: a template
/// is the model's numbers, of no use outside it).
async fn faces(src: &Sources, p: &Principal) -> Result<Value, CoreError> {
    let list = src.faces.list(p).await?;
    let face = |f: kankan_faces::FaceView| {
        json!({
            "id": f.id,
            "name": f.name,
            "relation": f.relation.map(|r| r.as_str()),
            "first_seen_ms": f.first_seen.0,
            "last_seen_ms": f.last_seen.0,
            "sightings": f.sightings.into_iter().map(|s| json!({
                "event_id": s.event_id,
                "device": s.uid,
                "seen_at_ms": s.seen_at.0,
            })).collect::<Vec<_>>(),
        })
    };
    Ok(Value::Array(list.gallery.into_iter().chain(list.strangers).map(face).collect()))
}

/// The account's orders: what each bought (kind, SKU, title), for which device or SIM, the
/// amount, the payment status and its dates. That is all an order holds (policy line 48);
/// the provider's opaque references stay out.
async fn orders(src: &Sources, p: &Principal) -> Result<Value, CoreError> {
    let orders = src.billing.orders(p).await?;
    Ok(Value::Array(
        orders
            .into_iter()
            .map(|o| {
                json!({
                    "id": o.id,
                    "kind": o.product.kind.as_str(),
                    "sku": o.product.sku,
                    "title": o.product.title,
                    "target_kind": o.product.target.kind(),
                    // An ICCID is shown masked, as everywhere (promise 102).
                    "target": match &o.product.target {
                        kankan_billing::Target::Sim(iccid) => {
                            kankan_protocol::device::mask_identifier(iccid)
                        }
                        t => t.id().to_owned(),
                    },
                    "list_amount_minor": o.product.amount_minor,
                    "amount_minor": o.amount_minor,
                    "currency": o.product.currency,
                    "coupon": o.coupon,
                    "status": o.status.as_str(),
                    "provider": o.provider,
                    "created_at_ms": o.created_at.0,
                    "paid_at_ms": o.paid_at.map(|t| t.0),
                    "refunded_at_ms": o.refunded_at.map(|t| t.0),
                })
            })
            .collect(),
    ))
}

/// The account's ratings of the app, newest first.
async fn app_ratings(src: &Sources, p: &Principal) -> Result<Value, CoreError> {
    let ratings = src.help.ratings_of(p.account_id).await?;
    Ok(Value::Array(
        ratings
            .iter()
            .map(|r| {
                json!({
                    "app_version": r.app_version,
                    "stars": r.stars,
                    "comment": r.comment,
                    "created_at_ms": r.created_at.0,
                    "updated_at_ms": r.updated_at.0,
                })
            })
            .collect(),
    ))
}

/// The account's support tickets: each thread, the device recorded, the logs attached.
async fn support_tickets(src: &Sources, p: &Principal) -> Result<Value, CoreError> {
    let tickets = src.support.export_of(p).await?;
    Ok(Value::Array(
        tickets
            .into_iter()
            .map(|(t, logs)| {
                json!({
                    "id": t.ticket.id.to_string(),
                    "category": t.ticket.category,
                    "subject": t.ticket.subject,
                    "state": t.ticket.state,
                    "device": t.ticket.device.as_ref().map(|d| json!({
                        "uid": d.uid, "model": d.model, "firmware": d.firmware, "online": d.online,
                    })),
                    "created_at_ms": t.ticket.created_at.0,
                    "messages": t.messages.iter().map(|m| json!({
                        "author": m.author, "body": m.body, "at_ms": m.at.0,
                    })).collect::<Vec<_>>(),
                    "device_logs": logs,
                })
            })
            .collect(),
    ))
}

/// The account's cloud-storage entitlements (each plan order's period for a camera) and 4G
/// top-ups (the ICCID masked, as everywhere it is shown), newest first.
async fn plans(src: &Sources, p: &Principal) -> Result<(Value, Value), CoreError> {
    let (ents, topups) = src.plans.records_of(p.account_id).await?;
    let ents = ents
        .iter()
        .map(|e| {
            json!({
                "order_id": e.order_id.to_string(),
                "uid": e.uid,
                "sku": e.sku,
                "kind": e.kind.as_str(),
                "retention_days": e.retention_days,
                "starts_at_ms": e.starts_at.0,
                "ends_at_ms": e.ends_at.0,
                "state": e.state.as_str(),
                "end_reason": e.end_reason,
                "ended_at_ms": opt_ms(e.ended_at),
            })
        })
        .collect();
    let topups = topups
        .iter()
        .map(|t| {
            json!({
                "order_id": t.order_id.to_string(),
                "iccid": kankan_protocol::device::mask_identifier(&t.iccid),
                "sku": t.sku,
                "allowance_kb": t.allowance_kb,
                "starts_at_ms": t.starts_at.0,
                "ends_at_ms": t.ends_at.0,
                "refunded_at_ms": opt_ms(t.refunded_at),
            })
        })
        .collect();
    Ok((Value::Array(ents), Value::Array(topups)))
}

/// The handle of `uid` for `c`, or none if the account no longer holds it.
async fn handle(
    src: &Sources,
    p: &Principal,
    uid: &str,
    c: Capability,
) -> Result<Option<kankan_devices::DeviceHandle>, CoreError> {
    match src.devices.authorize_device(p, c, uid).await {
        Ok(h) => Ok(Some(h)),
        Err(CoreError::DeviceNotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Every device the account sees: its own with their settings and members, and those shared
/// with it with what it may do there.
async fn devices(src: &Sources, p: &Principal) -> Result<Value, CoreError> {
    let mut out = Vec::new();
    for d in src.devices.list(p).await? {
        // A handle serves the one capability it was asked for: one per question. A device
        // whose access ended since it was listed answers `device-not-found`: its members and
        // preferences are left out.
        let mut members = Vec::new();
        if d.owned
            && let Some(h) = handle(src, p, &d.uid, Capability::Share).await?
        {
            for m in src.devices.members(&h).await? {
                members.push(json!({
                    "account": m.account.to_string(),
                    "nickname": m.nickname,
                    "capabilities": caps(m.capabilities),
                    "until_ms": opt_ms(m.until),
                    "schedule": m.schedule.as_ref().map(to_value).transpose()?,
                    "joined_at_ms": m.joined_at.0,
                }));
            }
        }
        let mut notify = Value::Null;
        if d.held.contains(Capability::ReceiveAlarms)
            && let Some(h) = handle(src, p, &d.uid, Capability::ReceiveAlarms).await?
        {
            let n = src.notify.device_settings(&h).await?;
            notify = json!({ "kinds": n.kinds, "snoozed_until_ms": opt_ms(n.snoozed_until) });
        }
        out.push(json!({
            "uid": d.uid,
            "model": d.model,
            "kind": d.kind.as_str(),
            "name": d.name,
            "owned": d.owned,
            "shared_by": d.shared_by,
            "capabilities": caps(d.held),
            "bound_at_ms": opt_ms(d.bound_at),
            "online": d.shadow.online,
            "last_seen_ms": opt_ms(d.shadow.last_seen),
            "settings": d.shadow.desired.as_ref().map(to_value).transpose()?,
            "reported": d.shadow.reported.as_ref().map(to_value).transpose()?,
            "notifications": notify,
            "members": members,
        }));
    }
    Ok(Value::Array(out))
}

async fn notifications(src: &Sources, p: &Principal) -> Result<Value, CoreError> {
    let s = src.notify.settings(p).await?;
    let hooks = src.notify.webhooks(p).await?;
    Ok(json!({
        "method": s.method,
        "quiet_hours": s.quiet_hours.map(|(start, end)| json!({ "start": start, "end": end })),
        "time_zone": s.time_zone,
        "webhooks": hooks
            .iter()
            .map(|w| json!({ "id": w.id.to_string(), "url": w.url, "created_at_ms": w.created_at.0 }))
            .collect::<Vec<_>>(),
    }))
}

/// Every event the account sees, newest first, page by page.
async fn all_events(src: &Sources, p: &Principal) -> Result<Vec<Event>, CoreError> {
    let mut all: Vec<Event> = Vec::new();
    let mut before = None;
    loop {
        let q = ListQuery {
            device: None,
            kind: None,
            label: None,
            before,
            after: None,
            limit: Some(MAX_PAGE),
            q: None,
        };
        let page = src.events.list(p, q).await?;
        let full = page.len() == MAX_PAGE as usize;
        let Some(last) = page.last().map(|e| e.started_at) else { break };
        let mut fresh = 0;
        for e in page {
            if !all.iter().rev().take(MAX_PAGE as usize * 2).any(|a| a.id == e.id) {
                all.push(e);
                fresh += 1;
            }
        }
        if !full || fresh == 0 {
            break;
        }
        // Events starting in the same millisecond as the page's last one are listed again by
        // the next page (and skipped above), so none is missed.
        before = Some(Timestamp(last.0 + 1));
    }
    Ok(all)
}
