//! The Message Center's rows: motion that `kankan-cam`'s detector sees reaches its owner's
//! events over MQTT, start and end in one row; only the owner lists, reads and deletes them.

use std::time::{Duration, Instant};

use kankan_protocol::device::Settings;
use kankan_testkit::TestApp;
use serde_json::Value;

use crate::devices::{PW, put_settings};
use crate::live_on_demand::{FirmwareCamera, firmware_camera};
use crate::recording::{WAIT, recording_app};

async fn events(app: &TestApp, token: &str) -> Vec<Value> {
    let (s, b) = app.get_authed("/api/v1/events", token).await;
    assert_eq!(s, 200, "{b}");
    b.as_array().expect("a list").clone()
}

async fn events_until(
    app: &TestApp,
    token: &str,
    what: &str,
    ok: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let list = events(app, token).await;
        if ok(&list) {
            return list;
        }
        assert!(Instant::now() < deadline, "{what}: {list:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn send(req: reqwest::RequestBuilder) -> u16 {
    req.send().await.expect("request").status().as_u16()
}

#[tokio::test]
async fn motion_the_camera_sees_reaches_its_owner_and_only_its_owner() {
    let app = recording_app().await;
    let FirmwareCamera { token, creds, stop: _stop, dir: _dir, .. } =
        firmware_camera(&app, "motion@example.com", Some(false), None).await;
    // The simulated scene moves: a motion event starts.
    let list = events_until(&app, &token, "a motion event", |l| !l.is_empty()).await;
    let ev = &list[0];
    assert_eq!(
        (ev["kind"].as_str(), ev["device"].as_str()),
        (Some("motion"), Some(creds.uid.as_str()))
    );
    assert_eq!((ev["read"].as_bool(), ev["ended_at_ms"].is_null()), (Some(false), true), "{ev}");
    let id = ev["id"].as_str().expect("id").to_string();

    // Turning motion detection off ends it: the same row gets its end.
    let mut settings = Settings::default();
    settings.motion.enabled = false;
    let (s, b) = put_settings(&app, &token, &creds.uid, &settings).await;
    assert!(s == 200 || s == 202, "{s} {b}");
    let list = events_until(&app, &token, "the event's end", |l| {
        l.iter().any(|e| e["id"] == id.as_str() && e["ended_at_ms"].is_i64())
    })
    .await;
    assert_eq!(list.len(), 1, "start and end are one row: {list:?}");

    // Another account sees nothing and can touch nothing.
    let other = app.register("neighbour@example.com", PW).await;
    assert!(events(&app, &other).await.is_empty());
    let read = |t: &str| {
        app.http.post(app.url(&format!("/api/v1/events/{id}/read"))).bearer_auth(t.to_string())
    };
    let delete = |t: &str| {
        app.http.delete(app.url(&format!("/api/v1/events/{id}"))).bearer_auth(t.to_string())
    };
    assert_eq!(send(read(&other)).await, 404);
    assert_eq!(send(delete(&other)).await, 404);

    // The owner marks it read, then deletes it.
    assert_eq!(send(read(&token)).await, 204);
    assert_eq!(events(&app, &token).await[0]["read"], true);
    assert_eq!(send(delete(&token)).await, 204);
    assert!(events(&app, &token).await.is_empty());
    assert_eq!(send(delete(&token)).await, 404, "gone");
}
