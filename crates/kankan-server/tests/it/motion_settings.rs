//! Motion settings: activity zones, the detection schedule and the device's time zone are
//! checked with stable codes before anything is stored, and what passes reaches the device.

use kankan_protocol::device::Settings;
use kankan_testkit::TestApp;
use serde_json::{Value, json};

use crate::devices::{PW, bind, provision};

fn zone(points: &[(f64, f64)]) -> Value {
    json!({ "points": points.iter().map(|(x, y)| json!({"x": x, "y": y})).collect::<Vec<_>>() })
}

fn period(day: &str, start: &str, end: &str) -> Value {
    json!({ "day": day, "start": start, "end": end })
}

#[tokio::test]
async fn bad_zones_schedules_and_time_zones_are_refused_with_clear_codes() {
    let app = TestApp::spawn().await;
    let token = app.register("zones@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let _dev = bind(&app, &token, &creds).await;
    let put = |body: Value| {
        app.http
            .put(app.url(&format!("/api/v1/devices/{}/settings", creds.uid)))
            .bearer_auth(&token)
            .json(&body)
    };
    let with = |f: &dyn Fn(&mut Value)| {
        let mut v = json!(Settings::default());
        f(&mut v);
        v
    };
    let square = zone(&[(0.1, 0.1), (0.5, 0.1), (0.5, 0.5), (0.1, 0.5)]);
    let cases: Vec<(Value, &str)> = vec![
        (with(&|v| v["motion"]["zones"] = json!([zone(&[(0.1, 0.1), (0.5, 0.5)])])), "zone-points"),
        (
            with(&|v| v["motion"]["zones"] = json!([zone(&[(0.1, 0.1), (1.5, 0.1), (0.5, 0.9)])])),
            "zone-outside-frame",
        ),
        (
            with(&|v| v["motion"]["zones"] = json!([zone(&[(0.1, 0.1), (0.5, 0.5), (0.9, 0.9)])])),
            "zone-degenerate",
        ),
        (with(&|v| v["motion"]["zones"] = json!(vec![square.clone(); 9])), "too-many-zones"),
        (
            with(&|v| {
                v["motion"]["schedule"] = json!({"periods": [period("mon", "18:00", "08:00")]})
            }),
            "schedule-period-inverted",
        ),
        (
            with(&|v| {
                v["motion"]["schedule"] = json!({"periods": [
                    period("tue", "08:00", "12:00"), period("tue", "11:30", "14:00")]})
            }),
            "schedule-periods-overlap",
        ),
        (
            with(&|v| {
                v["motion"]["schedule"] = json!({"periods": [period("someday", "08:00", "09:00")]})
            }),
            "invalid-schedule",
        ),
        (with(&|v| v["time_zone"] = json!("Mars/Olympus_Mons")), "invalid-time-zone"),
    ];
    for (body, code) in cases {
        let (s, b) = app.send(put(body)).await;
        assert_eq!((s, b["code"].as_str()), (400, Some(code)), "{b}");
    }
    // Nothing was stored: the device's desired settings are still the factory ones.
    let (s, b) = app.get_authed(&format!("/api/v1/devices/{}", creds.uid), &token).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["desired_version"].as_u64(), Some(0), "{b}");
}

#[tokio::test]
async fn zones_a_schedule_and_a_time_zone_reach_the_device() {
    let app = TestApp::spawn().await;
    let token = app.register("schedule@example.com", PW).await;
    let creds = provision(&app, "KK-C1").await;
    let mut dev = bind(&app, &token, &creds).await;
    let mut wanted = json!(Settings::default());
    wanted["time_zone"] = json!("Europe/Berlin");
    wanted["motion"]["zones"] = json!([zone(&[(0.0, 0.4), (1.0, 0.4), (1.0, 1.0), (0.0, 1.0)])]);
    wanted["motion"]["schedule"] = json!({"periods": [
        period("mon", "08:00", "12:00"), period("mon", "12:00", "24:00"), period("sat", "00:00", "06:30")]});
    let (s, b) = app
        .send(
            app.http
                .put(app.url(&format!("/api/v1/devices/{}/settings", creds.uid)))
                .bearer_auth(&token)
                .json(&wanted),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let desired = dev.next_on("desired").await.expect("desired");
    let got = &desired["settings"];
    assert_eq!(got["time_zone"], "Europe/Berlin");
    assert_eq!(got["motion"]["zones"], wanted["motion"]["zones"]);
    assert_eq!(got["motion"]["schedule"], wanted["motion"]["schedule"]);
    let parsed: Settings = serde_json::from_value(got.clone()).expect("the device reads them");
    parsed.validate().expect("valid on the device too");
}
