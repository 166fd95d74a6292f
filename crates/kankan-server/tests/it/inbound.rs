//! The inbound router and the gateway's lanes: a device whose messages cannot be handled (its
//! writes hang) holds up no other device; nothing it sent meanwhile is lost.

use kankan_protocol::device::Settings;
use kankan_testkit::{TestApp, state_report};
use serde_json::{Value, json};

use crate::devices::{PW, bind, eventually, provision};

/// Sends `name` to `uid`, answers it as the device `dev`, and returns the API's answer.
async fn command_acknowledged(
    app: &TestApp,
    token: &str,
    uid: &str,
    dev: &mut kankan_testkit::TestDevice,
) -> Value {
    let request = app
        .http
        .post(app.url(&format!("/api/v1/devices/{uid}/commands")))
        .bearer_auth(token)
        .json(&json!({"name": "reboot"}))
        .send();
    let answer = tokio::spawn(request);
    let cmd = dev.next_on("cmd").await.expect("command");
    dev.publish_json("ack", &json!({"id": cmd["id"], "ok": true, "error": null}))
        .await
        .expect("ack");
    let resp = answer.await.expect("task").expect("response");
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("json")
}

#[tokio::test]
async fn a_device_whose_writes_hang_holds_up_no_other_devices_command_acknowledgement() {
    if kankan_db::testing::engine() != kankan_db::Engine::Postgres {
        // SQLite has one writer for the whole database: there a hung write holds up every
        // device by design. This runs in the PostgreSQL run of the suite (scripts/test).
        return;
    }
    let app = TestApp::spawn().await;
    let token = app.register("lanes@example.com", PW).await;
    let stuck = provision(&app, "KK-C1").await;
    let mut other = provision(&app, "KK-C1").await;
    while kankan_gateway::lane_of(&other.uid) == kankan_gateway::lane_of(&stuck.uid) {
        other = provision(&app, "KK-C1").await;
    }
    let a = bind(&app, &token, &stuck).await;
    let mut b = bind(&app, &token, &other).await;
    // A's shadow row is held by a transaction of the test: every state write of A hangs, as
    // behind a database that is slow for that row.
    let url = app.config.database_url();
    let lock = kankan_db::testing::RowLock::take(&url, "device_state", "uid", &stuck.uid)
        .await
        .expect("lock");
    let settings = json!(Settings::default());
    let flood = tokio::spawn(async move {
        // More than the lane holds, within what a device may send at once (the gateway paces
        // a device past that, see kankan-gateway's `limit`).
        for seq in 1..=300 {
            a.publish_json("state", &state_report(seq, settings.clone(), 0)).await.expect("state");
        }
        a
    });

    // B's command is acknowledged while A's messages wait.
    let answer = command_acknowledged(&app, &token, &other.uid, &mut b).await;
    assert_eq!(answer["status"], "succeeded", "{answer}");
    assert!(!flood.is_finished(), "A's lane is still held up");

    // Once A's writes go through, everything A sent is handled, in order.
    lock.release().await.expect("release");
    let mut a = flood.await.expect("flood");
    let v =
        eventually(&app, &token, &stuck.uid, "A's last report", |v| v["reported"]["seq"] == 300)
            .await;
    assert_eq!(v["reported"]["ssid"], "Home");
    let answer = command_acknowledged(&app, &token, &stuck.uid, &mut a).await;
    assert_eq!(answer["status"], "succeeded", "{answer}");
}
