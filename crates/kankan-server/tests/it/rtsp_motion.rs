//! Server-side motion detection: an RTSP camera has no detector of its own, so the server
//! decodes its stream and runs the same detector; the moving ball of the test camera becomes
//! a motion event of the camera's owner, and of nobody else.

use std::time::{Duration, Instant};

use kankan_testkit::rtsp::RtspCamera;
use serde_json::{Value, json};

use crate::devices::PW;
use crate::recording::WAIT;

#[tokio::test]
async fn the_server_detects_motion_on_an_rtsp_camera_for_its_owner() {
    let app = crate::rtsp::rtsp_app().await;
    let token = app.register("rtsp-motion@example.com", PW).await;
    let cam = RtspCamera::start("admin", "cam-pass-7").await.expect("the test RTSP server");
    let body =
        json!({"name": "Yard", "url": cam.url(), "username": "admin", "password": "cam-pass-7"});
    let (s, dev) = app
        .send(app.http.post(app.url("/api/v1/cameras/rtsp")).bearer_auth(&token).json(&body))
        .await;
    assert_eq!(s, 201, "{dev}");
    let uid = dev["uid"].as_str().expect("uid").to_string();

    let deadline = Instant::now() + WAIT;
    let event = loop {
        let (s, list) = app.get_authed("/api/v1/events", &token).await;
        assert_eq!(s, 200, "{list}");
        if let Some(e) = list.as_array().and_then(|l| l.first()) {
            break e.clone();
        }
        assert!(Instant::now() < deadline, "no motion event from the moving ball");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(
        (event["kind"].as_str(), event["device"].as_str()),
        (Some("motion"), Some(uid.as_str()))
    );
    let started = event["started_at_ms"].as_i64().expect("a start");
    let now = kankan_base::Clock::now(&app.clock).0;
    assert!(
        (now - 60_000..=now).contains(&started),
        "placed on the wall clock: {started} vs {now}"
    );

    let other = app.register("rtsp-neighbour@example.com", PW).await;
    let (s, list) = app.get_authed("/api/v1/events", &other).await;
    assert_eq!((s, list), (200, Value::Array(vec![])));
}
