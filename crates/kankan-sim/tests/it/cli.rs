//! The `kankan-cam` binary: pairing end to end with exit codes, and a fleet from a CSV.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Output, Stdio};

use kankan_gateway::{Inbound, Outbound};
use kankan_protocol::device::{ClaimResult, DeviceEvent, StateReport};
use tokio::process::{Child, Command};

use crate::support::{
    CAM, CAM_SECRET, Secrets, TestGateway, WAIT, WIFI_PASSWORD, dir_contains, qr_png,
    sealed_payload,
};

fn cam(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kankan-cam"));
    cmd.args(args)
        .args(["--backoff-base-ms", "50", "--backoff-cap-ms", "400", "--reboot-delay-ms", "100"])
        .env("KANKAN_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

async fn finish(child: Child) -> (Output, String) {
    let out =
        tokio::time::timeout(WAIT, child.wait_with_output()).await.expect("exits").expect("output");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out, text)
}

async fn pair_with_answer(result: ClaimResult) -> (Output, String, tempfile::TempDir) {
    let mut gw = TestGateway::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let png = qr_png(dir.path(), &sealed_payload(CAM_SECRET, &gw.server(), [1; 16]));
    let state = dir.path().join("state");
    let child = cam(&["pair", "--uid", CAM, "--state-dir", path(&state), "--qr", path(&png)])
        .args(["--exit-after-pair", "--claim-timeout-secs", "20"])
        .env("KANKAN_CAM_SECRET", CAM_SECRET)
        .spawn()
        .expect("spawn");
    gw.next_of(CAM, Inbound::Claim).await;
    gw.publish(CAM, Outbound::ClaimResult, serde_json::to_vec(&result).expect("ser")).await;
    let (out, text) = finish(child).await;
    (out, text, dir)
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[tokio::test]
async fn pair_exits_zero_once_bound_and_never_writes_or_logs_the_wifi_password() {
    let (out, text, dir) = pair_with_answer(ClaimResult { ok: true, code: None }).await;
    assert!(out.status.success(), "{text}");
    assert!(text.contains("paired"), "{text}");
    assert!(!text.contains(WIFI_PASSWORD), "the Wi-Fi password was printed");
    assert!(!dir_contains(&dir.path().join("state"), WIFI_PASSWORD.as_bytes()));
}

#[tokio::test]
async fn pair_exits_non_zero_with_the_refusal_code() {
    let refused = ClaimResult { ok: false, code: Some("invalid-token".into()) };
    let (out, text, _dir) = pair_with_answer(refused).await;
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("invalid-token"), "{text}");
}

#[tokio::test]
async fn pair_with_another_devices_code_fails_before_connecting() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = kankan_sim::ServerAddr::parse("mqtt://127.0.0.1:9").expect("addr");
    let png = qr_png(dir.path(), &sealed_payload("not-this-device", &server, [1; 16]));
    let state = dir.path().join("state");
    let child = cam(&["pair", "--uid", CAM, "--secret", CAM_SECRET, "--state-dir", path(&state)])
        .args(["--qr", path(&png)])
        .spawn()
        .expect("spawn");
    let (out, text) = finish(child).await;
    assert!(!out.status.success());
    assert!(text.contains("not made for this device"), "{text}");
    assert!(!state.exists(), "nothing was stored");
}

#[tokio::test]
async fn fleet_runs_every_device_of_the_credentials_file_until_terminated() {
    let secrets = Secrets::standard();
    let uids = ["KKFLEET00001", "KKFLEET00002", "KKFLEET00003"];
    let mut csv = String::from("uid,model,secret\n");
    for (i, uid) in uids.iter().enumerate() {
        let secret = format!("fleet-secret-{i}");
        secrets.add(uid, &secret);
        csv.push_str(&format!("{uid},{},{secret}\n", if i == 0 { "KK-D1" } else { "KK-C2" }));
    }
    let mut gw = TestGateway::start_with(([127, 0, 0, 1], 0).into(), secrets).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let creds = dir.path().join("devices.csv");
    std::fs::write(&creds, csv).expect("csv");
    let server = gw.server().to_string();
    let states = dir.path().join("states");
    let child = cam(&["fleet", "--credentials", path(&creds), "--server", &server])
        .args(["--state-dir", path(&states), "--count", "3", "--telemetry-secs", "0.2"])
        .spawn()
        .expect("spawn");

    // Every device reports, and keeps reporting telemetry.
    let mut seen = HashSet::new();
    let mut doorbell_battery = None;
    while seen.len() < uids.len() || doorbell_battery.is_none() {
        let m = gw.next().await;
        if m.kind == Inbound::State {
            let r: StateReport = serde_json::from_slice(&m.payload).expect("report");
            if r.seq >= 2 {
                seen.insert(m.uid.clone());
            }
            if m.uid == uids[0] {
                doorbell_battery = r.battery_pct;
            } else {
                assert_eq!(r.battery_pct, None, "cameras have no battery");
            }
            assert!((-80..=-40).contains(&r.signal_dbm), "{}", r.signal_dbm);
        }
    }
    assert_eq!(gw.handle.stats().connected, 3);
    for uid in uids {
        assert!(states.join(uid).join("state.json").is_file(), "{uid} has its own state");
    }

    let pid = child.id().expect("running").to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(killed.success());
    let (out, text) = finish(child).await;
    assert!(out.status.success(), "{text}");
    assert!(!text.contains("fleet-secret"), "secrets were logged");
}

#[tokio::test]
async fn a_doorbell_run_with_press_and_tamper_flags_sends_those_events() {
    let mut gw = TestGateway::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let server = gw.server().to_string();
    let state = dir.path().join("state");
    let child = cam(&["run", "--uid", CAM, "--secret", CAM_SECRET, "--model", "KK-D1"])
        .args(["--state-dir", path(&state), "--server", &server])
        .args(["--press-every", "0.2", "--tamper-after", "0.1"])
        .spawn()
        .expect("spawn");
    let (mut presses, mut tampers) = (0, 0);
    while presses < 2 || tampers < 1 {
        let m = gw.next().await;
        if m.kind != Inbound::Event {
            continue;
        }
        match serde_json::from_slice(&m.payload).expect("an event") {
            DeviceEvent::Press { .. } => presses += 1,
            DeviceEvent::Tamper { .. } => tampers += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    drop(child);

    // A camera has no button: a clear error before anything runs.
    let child = cam(&["run", "--uid", CAM, "--secret", CAM_SECRET, "--model", "KK-C1"])
        .args(["--state-dir", path(&dir.path().join("cam")), "--server", &server])
        .args(["--press-every", "1"])
        .spawn()
        .expect("spawn");
    let (out, text) = finish(child).await;
    assert!(!out.status.success());
    assert!(text.contains("only doorbells have a button"), "{text}");
}
