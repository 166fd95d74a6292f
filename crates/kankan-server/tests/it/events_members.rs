//! Events fan out to members: one event row (the owner's), seen by every member the owner
//! granted receive-alarms on the camera, in its list, on its open stream and by push under its
//! own preferences, with its own read state and deletion; a member without receive-alarms,
//! one whose grant was revoked or expired, and another household see nothing; removing a
//! member and unbinding leave nothing of what it saw.

use std::time::Duration;

use kankan_base::{AccountId, Clock as _, Timestamp};
use kankan_core::authz::{Capability, CapabilitySet};
use kankan_testkit::TestApp;
use kankan_testkit::push::PushService;
use serde_json::{Value, json};

use crate::authz_routes::{account_id, insert_grant};
use crate::devices::{PW, bind, provision};
use crate::events_doorbell::EventStream;
use crate::notify::{Owner, WAIT, call, deliveries_until, event, has, motion, owner, subscribe};

/// A camera's owner, who shares it.
struct Household {
    owner: Owner,
    owner_id: AccountId,
}

impl Household {
    async fn new(app: &TestApp) -> Household {
        let owner = owner(app, "owner@example.com").await;
        let owner_id = account_id(app, &owner.token).await;
        Household { owner, owner_id }
    }

    /// Registers `who` and grants it `capabilities` on the camera, as the owner; its token,
    /// account and grant.
    async fn member(
        &self,
        app: &TestApp,
        who: &str,
        capabilities: CapabilitySet,
        expires_at: Option<Timestamp>,
    ) -> (String, AccountId, uuid::Uuid) {
        let token = app.register(who, PW).await;
        let id = account_id(app, &token).await;
        let pair = (self.owner_id, id);
        let grant = insert_grant(app, &self.owner.uid, pair, capabilities, expires_at).await;
        (token, id, grant)
    }
}

fn now_ms(app: &TestApp) -> i64 {
    app.clock.now().0
}

async fn list(app: &TestApp, token: &str) -> Vec<Value> {
    let (s, b) = app.get_authed("/api/v1/events?limit=200", token).await;
    assert_eq!(s, 200, "{b}");
    b.as_array().expect("list").clone()
}

async fn status(app: &TestApp, method: &str, path: &str, token: &str) -> u16 {
    call(app, method, path, token, None).await.0
}

/// The push records of the event in `token`'s delivery list, once one says `status`.
async fn pushed(app: &TestApp, token: &str, id: &str, status: &str) -> Vec<Value> {
    deliveries_until(app, token, id, status, |l| has(l, "push", status)).await
}

/// `HH:MM` (UTC) `minutes` from now on the server's clock.
fn hhmm(app: &TestApp, minutes: i64) -> String {
    let m = (now_ms(app) / 60_000 + minutes).rem_euclid(1440);
    format!("{:02}:{:02}", m / 60, m % 60)
}

#[tokio::test]
async fn a_member_gets_the_cameras_event_in_its_list_on_its_stream_and_by_push_under_its_own_preferences()
 {
    let app = TestApp::spawn().await;
    let push = PushService::start().await;
    let home = Household::new(&app).await;
    let (member, ..) =
        home.member(&app, "member@example.com", CapabilitySet::member_default(), None).await;
    subscribe(&app, &home.owner.token, &push, "owner-phone").await;
    subscribe(&app, &member, &push, "member-phone").await;
    let mut stream = EventStream::open(&app, &member).await;

    let t = now_ms(&app);
    let first = event(&app, &home.owner, motion(t)).await;
    let (name, item) = stream.next().await;
    assert_eq!(
        (name.as_str(), &item["id"], &item["device"]),
        ("event", &json!(first), &json!(home.owner.uid))
    );
    let mine = list(&app, &member).await;
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!((&mine[0]["id"], &mine[0]["read"]), (&json!(first), &json!(false)));
    assert_eq!(app.get_authed(&format!("/api/v1/events/{first}"), &member).await.0, 200);
    assert_eq!(push.wait_for("member-phone", 1, WAIT).await.len(), 1);
    assert_eq!(push.wait_for("owner-phone", 1, WAIT).await.len(), 1);
    // Each sees its own delivery record, recorded under its own account.
    let theirs = pushed(&app, &member, &first, "sent").await;
    assert_eq!(theirs.iter().filter(|d| d["channel"] == "push").count(), 1, "{theirs:?}");
    let owners = pushed(&app, &home.owner.token, &first, "sent").await;
    assert_eq!(owners.iter().filter(|d| d["channel"] == "push").count(), 1, "{owners:?}");

    // The member snoozes the camera: its push is suppressed, the owner's is not.
    let snooze = format!("/api/v1/devices/{}/snooze", home.owner.uid);
    let (s, b) = call(&app, "POST", &snooze, &member, Some(json!({"minutes": 30}))).await;
    assert_eq!(s, 200, "{b}");
    let second = event(&app, &home.owner, motion(t + 1_000)).await;
    let why = pushed(&app, &member, &second, "suppressed").await;
    assert!(why.iter().any(|d| d["detail"].as_str().unwrap_or("").contains("snoozed")), "{why:?}");
    pushed(&app, &home.owner.token, &second, "sent").await;
    assert_eq!(push.wait_for("owner-phone", 2, WAIT).await.len(), 2);
    let (name, item) = stream.next().await;
    assert_eq!((name.as_str(), &item["id"]), ("event", &json!(second)), "snoozed still lists");

    // The owner's quiet hours keep the owner's push back, not the member's.
    assert_eq!(status(&app, "DELETE", &snooze, &member).await, 204);
    let quiet = json!({"method": "push", "time_zone": "UTC",
        "quiet_hours": {"start": hhmm(&app, -60), "end": hhmm(&app, 60)}});
    let (s, b) =
        call(&app, "PUT", "/api/v1/me/notification-settings", &home.owner.token, Some(quiet)).await;
    assert_eq!(s, 200, "{b}");
    let third = event(&app, &home.owner, motion(t + 2_000)).await;
    let why = pushed(&app, &home.owner.token, &third, "suppressed").await;
    assert!(why.iter().any(|d| d["detail"].as_str().unwrap_or("").contains("quiet")), "{why:?}");
    pushed(&app, &member, &third, "sent").await;
    assert_eq!(push.wait_for("member-phone", 2, WAIT).await.len(), 2);
    assert_eq!(push.received("owner-phone").len(), 2);
}

#[tokio::test]
async fn a_members_read_and_delete_are_its_own_and_the_owners_delete_is_everyones() {
    let app = TestApp::spawn().await;
    let home = Household::new(&app).await;
    let (member, ..) =
        home.member(&app, "member@example.com", CapabilitySet::member_default(), None).await;
    let (other, ..) =
        home.member(&app, "other@example.com", CapabilitySet::member_default(), None).await;
    let t = now_ms(&app);
    let a = event(&app, &home.owner, motion(t)).await;
    let b = event(&app, &home.owner, motion(t + 1_000)).await;
    let read = |id: &str| format!("/api/v1/events/{id}/read");
    let one = |id: &str| format!("/api/v1/events/{id}");
    let read_of = |l: &[Value], id: &str| {
        l.iter().find(|e| e["id"] == id).map(|e| e["read"].clone()).expect("listed")
    };

    assert_eq!(status(&app, "POST", &read(&a), &member).await, 204);
    assert_eq!(read_of(&list(&app, &member).await, &a), json!(true));
    assert_eq!(app.get_authed(&one(&a), &member).await.1["read"], json!(true));
    assert_eq!(read_of(&list(&app, &home.owner.token).await, &a), json!(false), "not the owner's");
    assert_eq!(read_of(&list(&app, &other).await, &a), json!(false), "nor another member's");

    // A member's delete hides it from that member only.
    assert_eq!(status(&app, "DELETE", &one(&a), &member).await, 204);
    assert_eq!(status(&app, "GET", &one(&a), &member).await, 404);
    assert_eq!(status(&app, "DELETE", &one(&a), &member).await, 404, "gone for the member");
    let ids = |l: Vec<Value>| {
        l.iter().map(|e| e["id"].as_str().unwrap_or("").to_string()).collect::<Vec<_>>()
    };
    assert_eq!(ids(list(&app, &member).await), std::slice::from_ref(&b));
    assert_eq!(ids(list(&app, &home.owner.token).await).len(), 2, "the owner keeps it");
    assert_eq!(ids(list(&app, &other).await).len(), 2);

    // The owner's delete is everyone's.
    assert_eq!(status(&app, "DELETE", &one(&b), &home.owner.token).await, 204);
    for token in [&member, &other] {
        assert_eq!(status(&app, "GET", &one(&b), token).await, 404);
        assert_eq!(status(&app, "POST", &read(&b), token).await, 404);
    }
    assert!(list(&app, &member).await.is_empty());
}

#[tokio::test]
async fn a_member_without_receive_alarms_or_whose_grant_was_revoked_or_expired_sees_nothing() {
    let app = TestApp::spawn().await;
    let push = PushService::start().await;
    let home = Household::new(&app).await;
    let store = app.running().services.store.clone();
    let viewer = CapabilitySet::member_default().without(Capability::ReceiveAlarms);
    let (no_alarms, ..) = home.member(&app, "viewer@example.com", viewer, None).await;
    let (revoked, _, grant) =
        home.member(&app, "revoked@example.com", CapabilitySet::member_default(), None).await;
    let until = Timestamp(now_ms(&app) + 60_000);
    let (expired, ..) = home
        .member(&app, "expired@example.com", CapabilitySet::member_default(), Some(until))
        .await;
    let (control, ..) =
        home.member(&app, "control@example.com", CapabilitySet::member_default(), None).await;
    let stranger = app.register("stranger@example.com", PW).await;
    let shut_out = [&no_alarms, &revoked, &expired, &stranger];
    for (i, token) in shut_out.iter().enumerate() {
        subscribe(&app, token, &push, &format!("phone-{i}")).await;
    }
    subscribe(&app, &control, &push, "control-phone").await;
    let mut streams = Vec::new();
    for token in shut_out {
        streams.push(EventStream::open(&app, token).await);
    }
    let mut control_stream = EventStream::open(&app, &control).await;
    assert!(store.revoke_device_grant(grant, app.clock.now()).await.expect("revoke"));
    app.clock.advance(Duration::from_secs(120));

    let t = now_ms(&app);
    let id = event(&app, &home.owner, motion(t)).await;
    // The member still holding receive-alarms gets it: the others' turn has passed.
    assert_eq!(control_stream.next().await.1["id"], json!(id));
    push.wait_for("control-phone", 1, WAIT).await;
    pushed(&app, &control, &id, "sent").await;
    for (i, token) in shut_out.iter().enumerate() {
        assert!(list(&app, token).await.is_empty(), "{i} lists nothing");
        for (method, path) in [
            ("GET", format!("/api/v1/events/{id}")),
            ("GET", format!("/api/v1/events/{id}/thumbnail")),
            ("GET", format!("/api/v1/events/{id}/deliveries")),
            ("POST", format!("/api/v1/events/{id}/read")),
            ("DELETE", format!("/api/v1/events/{id}")),
        ] {
            let (s, b) = call(&app, method, &path, token, None).await;
            assert_eq!((s, b["code"].as_str()), (404, Some("not-found")), "{i}: {method} {path}");
        }
        let (s, mine) = app.get_authed("/api/v1/me/deliveries", token).await;
        assert_eq!((s, mine), (200, json!([])), "{i}: no delivery");
        assert!(push.received(&format!("phone-{i}")).is_empty(), "{i}: no push");
    }
    // Nothing of it reached their streams: the owner's second camera, shared with each of
    // them, is the first thing each stream gets.
    let creds = provision(&app, "KK-C1").await;
    let dev = bind(&app, &home.owner.token, &creds).await;
    let second = Owner { token: home.owner.token.clone(), uid: creds.uid.clone(), dev };
    for token in shut_out {
        let to = account_id(&app, token).await;
        home.grant(&app, &second.uid, to).await;
    }
    let next = event(&app, &second, motion(t + 1_000)).await;
    for (i, s) in streams.iter_mut().enumerate() {
        let (name, item) = s.next().await;
        assert_eq!(
            (name.as_str(), &item["id"]),
            ("event", &json!(next)),
            "{i}: only the shared one"
        );
    }
    assert_eq!(list(&app, &home.owner.token).await.len(), 2, "the owner has both");
}

#[tokio::test]
async fn removing_a_member_leaves_nothing_of_what_it_saw_and_unbinding_ends_its_share() {
    let app = TestApp::spawn().await;
    let home = Household::new(&app).await;
    let (member, member_id, _grant) =
        home.member(&app, "member@example.com", CapabilitySet::member_default(), None).await;
    let store = app.running().services.store.clone();
    let uid = home.owner.uid.clone();
    let t = now_ms(&app);
    let a = event(&app, &home.owner, motion(t)).await;
    let b = event(&app, &home.owner, motion(t + 1_000)).await;
    assert_eq!(status(&app, "POST", &format!("/api/v1/events/{a}/read"), &member).await, 204);
    assert_eq!(status(&app, "DELETE", &format!("/api/v1/events/{b}"), &member).await, 204);
    let settings = format!("/api/v1/devices/{uid}/notifications");
    let only_tamper = json!({"kinds": ["tamper"], "snoozed_until_ms": null});
    assert_eq!(call(&app, "PUT", &settings, &member, Some(only_tamper)).await.0, 200);
    // Its delivery records: no browser of its was subscribed.
    pushed(&app, &member, &a, "suppressed").await;

    // Removed by the owner: the grant goes and the member's share is forgotten.
    let remove = format!("/api/v1/devices/{uid}/members/{member_id}");
    assert_eq!(status(&app, "DELETE", &remove, &home.owner.token).await, 204);
    assert!(list(&app, &member).await.is_empty());
    assert!(store.device_notification_settings(member_id, &uid).await.expect("q").is_none());
    let (s, records) = app.get_authed("/api/v1/me/deliveries", &member).await;
    assert_eq!((s, records), (200, json!([])), "its delivery records of them go too");
    // Shared again, it starts afresh: nothing read, nothing deleted, default preferences.
    home.grant(&app, &uid, member_id).await;
    let fresh = list(&app, &member).await;
    assert_eq!(fresh.len(), 2, "{fresh:?}");
    assert!(fresh.iter().all(|e| e["read"] == false), "{fresh:?}");
    let (s, prefs) = call(&app, "GET", &settings, &member, None).await;
    assert_eq!(
        (s, &prefs["kinds"]),
        (200, &json!(["motion", "press", "loiter", "tamper", "sound"]))
    );

    // Unbinding deletes the camera's events: the member has nothing left of them.
    let unbind = format!("/api/v1/devices/{uid}");
    assert_eq!(status(&app, "DELETE", &unbind, &home.owner.token).await, 204);
    assert!(list(&app, &member).await.is_empty());
    assert_eq!(status(&app, "GET", &format!("/api/v1/events/{a}"), &member).await, 404);
}

impl Household {
    /// Grants `member` the default capabilities on `uid` (one of the owner's cameras).
    async fn grant(&self, app: &TestApp, uid: &str, member: AccountId) {
        let pair = (self.owner_id, member);
        insert_grant(app, uid, pair, CapabilitySet::member_default(), None).await;
    }
}

/// Grants the account of `member` the default member capabilities on `uid`, as its owner (the
/// account of `owner`): the grant an accepted invitation makes.
pub(crate) async fn share(app: &TestApp, uid: &str, owner: &str, member: &str) {
    let pair = (account_id(app, owner).await, account_id(app, member).await);
    insert_grant(app, uid, pair, CapabilitySet::member_default(), None).await;
}
