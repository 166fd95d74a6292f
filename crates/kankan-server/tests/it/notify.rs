//! Notifications over the real ports: a device's event becomes an encrypted Web Push at a
//! local push service (RFC 8030 stand-in) and a signed webhook POST; retries, gone
//! subscriptions, dead letters, quiet hours and snooze leave delivery records; bad
//! preferences are refused with stable codes; nobody else reaches them.

use std::time::{Duration, Instant};

use kankan_testkit::push::{PushService, UserAgentKeys};
use kankan_testkit::{TestApp, TestDevice};
use serde_json::{Value, json};

use crate::devices::{PW, bind, provision};

pub const WAIT: Duration = Duration::from_secs(20);

/// A user with a bound camera connected as a bare MQTT device.
pub struct Owner {
    pub token: String,
    pub uid: String,
    pub dev: TestDevice,
}

pub async fn owner(app: &TestApp, who: &str) -> Owner {
    let token = app.register(who, PW).await;
    let creds = provision(app, "KK-C1").await;
    let dev = bind(app, &token, &creds).await;
    Owner { token, uid: creds.uid, dev }
}

pub async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = app.http.request(m, app.url(path)).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    app.send(req).await
}

/// Publishes an event as the device and returns its id once the owner's list shows it.
pub async fn event(app: &TestApp, o: &Owner, ev: Value) -> String {
    o.dev.publish_json("event", &ev).await.expect("publish event");
    let kind = ev["type"].as_str().expect("type").to_string();
    let start = ev.get("started_ms").unwrap_or(&ev["at_ms"]).as_i64().expect("start");
    let deadline = Instant::now() + WAIT;
    loop {
        let (s, list) = app.get_authed("/api/v1/events?limit=200", &o.token).await;
        assert_eq!(s, 200, "{list}");
        let found = list
            .as_array()
            .expect("list")
            .iter()
            .find(|e| e["kind"] == kind.as_str() && e["started_at_ms"].as_i64() == Some(start));
        if let Some(e) = found {
            return e["id"].as_str().expect("id").to_string();
        }
        assert!(Instant::now() < deadline, "the {kind} event was not recorded: {list}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn motion(start_ms: i64) -> Value {
    json!({"type": "motion", "phase": "start", "at_ms": start_ms, "started_ms": start_ms, "zone": null})
}

/// Waits until the event's delivery records satisfy `ok`.
pub async fn deliveries_until(
    app: &TestApp,
    token: &str,
    event: &str,
    what: &str,
    ok: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let (s, b) = app.get_authed(&format!("/api/v1/events/{event}/deliveries"), token).await;
        assert_eq!(s, 200, "{b}");
        let list = b.as_array().expect("list").clone();
        if ok(&list) {
            return list;
        }
        assert!(Instant::now() < deadline, "{what}: {list:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn has(list: &[Value], channel: &str, status: &str) -> bool {
    list.iter().any(|d| d["channel"] == channel && d["status"] == status)
}

/// Subscribes a browser called `name` at the push service; returns its keys.
pub async fn subscribe(
    app: &TestApp,
    token: &str,
    push: &PushService,
    name: &str,
) -> UserAgentKeys {
    let keys = UserAgentKeys::generate();
    let body = keys.subscription_json(&push.subscription_endpoint(name));
    let (s, b) = call(app, "POST", "/api/v1/me/push-subscriptions", token, Some(body)).await;
    assert_eq!(s, 201, "{b}");
    keys
}

/// Nothing the server stored (files of the data directory: database, WAL, logs, outbox; every
/// value of the database) holds any of `secrets`.
pub async fn assert_nowhere_in_clear(app: &TestApp, secrets: &[&str]) {
    for (place, bytes) in app.stored_bytes().await {
        for secret in secrets {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "{secret:?} in clear in {place}");
        }
    }
}

fn now_ms(app: &TestApp) -> i64 {
    kankan_base::Clock::now(&app.clock).0
}

#[tokio::test]
async fn a_motion_event_reaches_the_browser_as_an_encrypted_push_with_the_contract_payload() {
    let app = TestApp::spawn().await;
    let push = PushService::start().await;
    let o = owner(&app, "push@example.com").await;
    let (s, k) = call(&app, "GET", "/api/v1/push/vapid-public-key", &o.token, None).await;
    assert_eq!(s, 200, "{k}");
    // The push service accepts only messages signed with the key the browser subscribed with.
    push.restrict("phone", k["key"].as_str().expect("key"));
    let keys = subscribe(&app, &o.token, &push, "phone").await;
    let (s, b) = call(
        &app,
        "PATCH",
        &format!("/api/v1/devices/{}", o.uid),
        &o.token,
        Some(json!({"name": "Front door"})),
    )
    .await;
    assert!(s == 200 || s == 204, "rename: {s} {b}");

    let t = now_ms(&app);
    let id = event(&app, &o, motion(t)).await;
    let got = push.wait_for("phone", 1, WAIT).await;
    let payload: Value = serde_json::from_slice(&keys.decrypt(&got[0].body)).expect("JSON payload");
    assert_eq!(payload["title"], "Motion at Front door", "{payload}");
    assert_eq!(payload["event_id"], id.as_str());
    assert_eq!(payload["device"], o.uid.as_str());
    assert_eq!(payload["kind"], "motion");
    assert_eq!(payload["at_ms"], t);
    assert_eq!(payload["url"], format!("#/devices/{}/playback?at={t}", o.uid));
    assert_eq!(payload["thumbnail"], format!("/api/v1/events/{id}/thumbnail"));
    assert!(payload["body"].as_str().is_some_and(|b| !b.is_empty()), "{payload}");
    assert!(got[0].ttl > 0);
    let list =
        deliveries_until(&app, &o.token, &id, "push recorded sent", |l| has(l, "push", "sent"))
            .await;
    assert_eq!(list[0]["attempt"], 1);
    let endpoint = push.subscription_endpoint("phone");
    assert_nowhere_in_clear(&app, &[&endpoint, &keys.auth, &keys.p256dh]).await;

    // The end of that motion and the same start again notify nobody; a tamper alarm does.
    let end =
        json!({"type": "motion", "phase": "end", "at_ms": t + 3000, "started_ms": t, "zone": null});
    o.dev.publish_json("event", &end).await.expect("end");
    o.dev.publish_json("event", &motion(t)).await.expect("again");
    let tamper = event(&app, &o, json!({"type": "tamper", "at_ms": t + 5000})).await;
    deliveries_until(&app, &o.token, &tamper, "tamper pushed", |l| has(l, "push", "sent")).await;
    let all = push.received("phone");
    assert_eq!(all.len(), 2, "one push per new event");
    let last: Value = serde_json::from_slice(&keys.decrypt(&all[1].body)).expect("JSON");
    assert_eq!((last["kind"].as_str(), all[1].urgency.as_str()), (Some("tamper"), "high"));
}

#[tokio::test]
async fn an_expired_subscription_is_removed_and_recorded_gone() {
    let app = TestApp::spawn().await;
    let push = PushService::start().await;
    let o = owner(&app, "gone@example.com").await;
    subscribe(&app, &o.token, &push, "old-browser").await;
    push.expire("old-browser");
    let t = now_ms(&app);
    let id = event(&app, &o, motion(t)).await;
    let list = deliveries_until(&app, &o.token, &id, "gone", |l| has(l, "push", "gone")).await;
    assert!(!has(&list, "push", "retry"), "a gone subscription is not retried: {list:?}");
    // It was deleted: the next event finds no browser to push to.
    let next = event(&app, &o, motion(t + 10_000)).await;
    let list =
        deliveries_until(&app, &o.token, &next, "suppressed", |l| has(l, "push", "suppressed"))
            .await;
    assert!(list[0]["detail"].as_str().expect("detail").contains("no browser"), "{list:?}");
}

#[tokio::test]
async fn bogus_push_subscriptions_are_refused_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let o = owner(&app, "bogus@example.com").await;
    let keys = UserAgentKeys::generate();
    let ok = keys.subscription_json("https://push.example.com/x");
    let mut bad_point = ok.clone();
    bad_point["keys"]["p256dh"] = json!("AAAA");
    let mut short_auth = ok.clone();
    short_auth["keys"]["auth"] = json!("c2hvcnQ");
    let mut ftp = ok.clone();
    ftp["endpoint"] = json!("ftp://push.example.com/x");
    let cases =
        [json!({"endpoint": "https://push.example.com/x"}), bad_point, short_auth, ftp, json!([])];
    for body in cases {
        let (s, b) =
            call(&app, "POST", "/api/v1/me/push-subscriptions", &o.token, Some(body.clone())).await;
        assert_eq!(
            (s, b["code"].as_str()),
            (422, Some("invalid-push-subscription")),
            "{body} -> {b}"
        );
    }
    let id = event(&app, &o, motion(now_ms(&app))).await;
    deliveries_until(&app, &o.token, &id, "no browser", |l| has(l, "push", "suppressed")).await;
}

#[tokio::test]
async fn preferences_round_trip_and_bad_values_are_refused_with_stable_codes() {
    let app = TestApp::spawn().await;
    let o = owner(&app, "prefs@example.com").await;
    let path = "/api/v1/me/notification-settings";
    let (s, b) = call(&app, "GET", path, &o.token, None).await;
    assert_eq!((s, b), (200, json!({"method": "push", "quiet_hours": null, "time_zone": "UTC"})));
    let good = json!({"method": "email", "quiet_hours": {"start": "22:00", "end": "07:00"},
        "time_zone": "Europe/Berlin"});
    let (s, b) = call(&app, "PUT", path, &o.token, Some(good.clone())).await;
    assert_eq!((s, &b), (200, &good));
    let bad = [
        (
            json!({"method": "push", "quiet_hours": {"start": "22:00", "end": "22:00"}, "time_zone": "UTC"}),
            "invalid-quiet-hours",
        ),
        (
            json!({"method": "push", "quiet_hours": {"start": "25:00", "end": "07:00"}, "time_zone": "UTC"}),
            "invalid-quiet-hours",
        ),
        (
            json!({"method": "push", "quiet_hours": null, "time_zone": "Mars/Olympus"}),
            "invalid-time-zone",
        ),
        (json!({"method": "pigeon", "quiet_hours": null, "time_zone": "UTC"}), "invalid-method"),
    ];
    for (body, code) in bad {
        let (s, b) = call(&app, "PUT", path, &o.token, Some(body.clone())).await;
        assert_eq!((s, b["code"].as_str()), (422, Some(code)), "{body} -> {b}");
    }
    assert_eq!(call(&app, "GET", path, &o.token, None).await.1, good, "nothing half-stored");

    let dev = format!("/api/v1/devices/{}/notifications", o.uid);
    let (s, b) = call(&app, "GET", &dev, &o.token, None).await;
    assert_eq!((s, &b["kinds"]), (200, &json!(["motion", "press", "loiter", "tamper", "sound"])));
    let (s, b) = call(
        &app,
        "PUT",
        &dev,
        &o.token,
        Some(json!({"kinds": ["tamper", "press"], "snoozed_until_ms": null})),
    )
    .await;
    assert_eq!((s, b), (200, json!({"kinds": ["press", "tamper"], "snoozed_until_ms": null})));
    let (s, b) = call(
        &app,
        "PUT",
        &dev,
        &o.token,
        Some(json!({"kinds": ["smoke"], "snoozed_until_ms": null})),
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (422, Some("unknown-event-kind")));
    let snooze = format!("/api/v1/devices/{}/snooze", o.uid);
    for body in [
        json!({"minutes": 0}),
        json!({"minutes": 100000}),
        json!({"until": "never"}),
        json!({}),
        json!({"minutes": 30, "until": "tomorrow"}),
        json!({"minutes": "x"}),
    ] {
        let (s, b) = call(&app, "POST", &snooze, &o.token, Some(body.clone())).await;
        assert_eq!((s, b["code"].as_str()), (422, Some("invalid-snooze")), "{body} -> {b}");
    }
    let (s, b) = call(&app, "POST", &snooze, &o.token, Some(json!({"until": "tomorrow"}))).await;
    assert_eq!(s, 200, "{b}");
    let until = b["snoozed_until_ms"].as_i64().expect("until");
    let now = now_ms(&app);
    assert!(until > now && until <= now + 86_400_000, "the next midnight in Berlin: {b}");
    for url in ["ftp://hooks.example.com/x", "not a url", "https://"] {
        let (s, b) =
            call(&app, "POST", "/api/v1/me/webhooks", &o.token, Some(json!({"url": url}))).await;
        assert_eq!((s, b["code"].as_str()), (422, Some("invalid-webhook-url")), "{url} -> {b}");
    }
    assert_eq!(call(&app, "GET", "/api/v1/me/webhooks", &o.token, None).await.1, json!([]));
}

#[tokio::test]
async fn another_account_cannot_see_deliveries_or_touch_a_device_it_does_not_own() {
    let app = TestApp::spawn().await;
    let o = owner(&app, "mine@example.com").await;
    let id = event(&app, &o, motion(now_ms(&app))).await;
    let (s, b) = call(
        &app,
        "POST",
        "/api/v1/me/webhooks",
        &o.token,
        Some(json!({"url": "https://hooks.example.com/k"})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    let hook = b["id"].as_str().expect("id").to_string();
    let other = app.register("theirs@example.com", PW).await;
    let uid = &o.uid;
    let cases = [
        ("GET", format!("/api/v1/events/{id}/deliveries"), None, "not-found"),
        ("GET", format!("/api/v1/devices/{uid}/notifications"), None, "device-not-found"),
        (
            "PUT",
            format!("/api/v1/devices/{uid}/notifications"),
            Some(json!({"kinds": [], "snoozed_until_ms": null})),
            "device-not-found",
        ),
        (
            "POST",
            format!("/api/v1/devices/{uid}/snooze"),
            Some(json!({"minutes": 30})),
            "device-not-found",
        ),
        ("DELETE", format!("/api/v1/devices/{uid}/snooze"), None, "device-not-found"),
        ("GET", "/api/v1/devices/KKNOSUCHDEV1/notifications".to_string(), None, "device-not-found"),
        ("DELETE", format!("/api/v1/me/webhooks/{hook}"), None, "not-found"),
    ];
    for (m, path, body, code) in cases {
        let (s, b) = call(&app, m, &path, &other, body).await;
        assert_eq!((s, b["code"].as_str()), (404, Some(code)), "{m} {path}: {b}");
    }
    assert_eq!(call(&app, "GET", "/api/v1/me/webhooks", &other, None).await.1, json!([]));
    let (s, b) =
        call(&app, "GET", &format!("/api/v1/devices/{uid}/notifications"), &o.token, None).await;
    assert_eq!(
        (s, &b["kinds"]),
        (200, &json!(["motion", "press", "loiter", "tamper", "sound"])),
        "untouched"
    );
    let (s, _) = call(&app, "DELETE", &format!("/api/v1/me/webhooks/{hook}"), &o.token, None).await;
    assert_eq!(s, 204);
}
