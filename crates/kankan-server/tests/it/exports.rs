//! "Download my data" end to end: an export is asked for over the real HTTP port, built by the
//! `exports` worker, downloaded as a ZIP that Python's zipfile reads and whose data.json
//! validates against docs/ref/export.schema.json (with python3-jsonschema), kept sealed at
//! rest, reachable by its own account only, and deleted when it expires (simulated time).

use std::time::Duration;

use kankan_core::authz::CapabilitySet;
use kankan_testkit::TestApp;
use serde_json::{Value, json};

use crate::authz_routes::{account_id, insert_grant};
use crate::devices::{PW, bind, provision};
use crate::recording::{WAIT, recorded_ms, recording_app, recording_camera, timeline_until};

/// The JSON Schema of data.json.
pub(crate) fn schema_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ref/export.schema.json")
}

/// Reads a ZIP with Python's zipfile (checking every CRC), validates its data.json against
/// the schema and checks that every media file it lists is in the ZIP with its size; answers
/// data.json and the ZIP's file names.
pub(crate) fn validate_export(zip: &[u8]) -> (Value, Vec<String>) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("export.zip");
    std::fs::write(&path, zip).expect("write");
    let script = r#"
import json, sys, zipfile
import jsonschema
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None, "a CRC does not match"
schema = json.load(open(sys.argv[2]))
jsonschema.Draft202012Validator.check_schema(schema)
data = json.loads(z.read("data.json"))
jsonschema.Draft202012Validator(schema).validate(data)
names = z.namelist()
assert len(names) == len(set(names)), "a name twice"
for m in data["media"]:
    assert z.getinfo(m["path"]).file_size == m["bytes"], m
print(json.dumps({"data": data, "names": sorted(names)}))
"#;
    let out = std::process::Command::new("python3")
        .args(["-c", script, path.to_str().expect("utf8"), schema_path().to_str().expect("utf8")])
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let names = v["names"].as_array().expect("names").iter();
    let names = names.map(|n| n.as_str().expect("name").to_string()).collect();
    (v["data"].clone(), names)
}

/// One file of a ZIP, read by Python's zipfile.
fn zip_member(zip: &[u8], name: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("export.zip");
    std::fs::write(&path, zip).expect("write");
    let script = "import sys, zipfile\nsys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))";
    let out = std::process::Command::new("python3")
        .args(["-c", script, path.to_str().expect("utf8"), name])
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

pub(crate) async fn start(app: &TestApp, token: &str, media: Value) -> (u16, Value) {
    let body = json!({ "media": media });
    app.send(app.http.post(app.url("/api/v1/me/exports")).bearer_auth(token).json(&body)).await
}

/// Polls the export until `state`, in real time (the worker runs as soon as it is queued).
pub(crate) async fn until_state(app: &TestApp, token: &str, id: &str, state: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (s, e) = app.get_authed(&format!("/api/v1/me/exports/{id}"), token).await;
        assert_eq!(s, 200, "{e}");
        if e["state"] == state {
            return e;
        }
        assert!(e["state"] != "failed", "the export failed: {e}");
        assert!(tokio::time::Instant::now() < deadline, "export never {state}: {e}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Downloads an export: status, Content-Type, body.
async fn download(app: &TestApp, token: &str, id: &str) -> (u16, String, Vec<u8>) {
    let url = app.url(&format!("/api/v1/me/exports/{id}/download"));
    let r = app.http.get(url).bearer_auth(token).send().await.expect("download");
    let status = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, ctype, r.bytes().await.expect("body").to_vec())
}

/// A ready export of `media` for the account: its view and its ZIP.
pub(crate) async fn ready_export(app: &TestApp, token: &str, media: Value) -> (Value, Vec<u8>) {
    let (s, b) = start(app, token, media).await;
    assert_eq!(s, 202, "{b}");
    let id = b["id"].as_str().expect("id").to_string();
    let view = until_state(app, token, &id, "ready").await;
    let (s, ctype, zip) = download(app, token, &id).await;
    assert_eq!((s, ctype.as_str()), (200, "application/zip"));
    assert_eq!(Some(zip.len() as u64), view["size_bytes"].as_u64(), "as long as announced");
    (view, zip)
}

#[tokio::test]
async fn an_export_holds_the_accounts_data_and_only_the_media_chosen() {
    let app = recording_app().await;
    let (token, creds, cam, stop) = recording_camera(&app, "export@example.com").await;
    let uid = creds.uid.clone();
    let rename = app.http.patch(app.url(&format!("/api/v1/devices/{uid}"))).bearer_auth(&token);
    let (s, b) = app.send(rename.json(&json!({"name": "Porch"}))).await;
    assert_eq!(s, 200, "{b}");
    let mut settings = json!(kankan_protocol::device::Settings::default());
    settings["motion"]["sensitivity"] = json!(77);
    let put = app.http.put(app.url(&format!("/api/v1/devices/{uid}/settings"))).bearer_auth(&token);
    let (s, b) = app.send(put.json(&settings)).await;
    assert_eq!(s, 200, "{b}");
    // A member the camera is shared with.
    let member = app.register("member@example.com", PW).await;
    let (owner_id, member_id) = (account_id(&app, &token).await, account_id(&app, &member).await);
    insert_grant(&app, &uid, (owner_id, member_id), CapabilitySet::member_default(), None).await;
    // An Album screenshot, and an event over recorded footage.
    cam.wait_for("two fragments are sent", WAIT, |s| s.sent_live >= 2).await.expect("live");
    let shot = app
        .send(
            app.http
                .post(app.url("/api/v1/album/screenshots"))
                .bearer_auth(&token)
                .json(&json!({"device": uid})),
        )
        .await;
    assert_eq!(shot.0, 201, "{}", shot.1);
    let t = timeline_until(&app, &token, &uid, "4 s recorded", |t| recorded_ms(t) >= 4_000).await;
    stop.trigger();
    let start_ms = t["spans"][0]["start_ms"].as_i64().expect("span");
    let ev: kankan_protocol::device::DeviceEvent =
        serde_json::from_value(json!({"type": "tamper", "at_ms": start_ms + 1_000})).expect("ev");
    let events = &app.running().services.events;
    let event = events.record(&uid, &ev).await.expect("record").expect("stored");

    // With the Album and the event clips.
    let (view, zip) = ready_export(&app, &token, json!({"album": true, "event_clips": true})).await;
    assert_eq!(view["progress"]["done"], view["progress"]["total"], "{view}");
    assert_eq!(view["progress"]["total"], 3, "the screenshot, the event clip, data.json");
    let (data, names) = validate_export(&zip);
    assert_eq!(data["account"]["identifier"], "export@example.com");
    let devices = data["devices"].as_array().expect("devices");
    assert_eq!(devices.len(), 1, "{devices:?}");
    let d = &devices[0];
    assert_eq!(
        (d["uid"].as_str(), d["name"].as_str(), d["owned"].as_bool()),
        (Some(&*uid), Some("Porch"), Some(true))
    );
    assert_eq!(d["members"][0]["account"], member_id.to_string(), "the member of the camera");
    assert_eq!(d["settings"], settings, "the settings its owner asked for");
    let evs = data["events"].as_array().expect("events");
    assert_eq!((evs.len(), evs[0]["kind"].as_str()), (1, Some("tamper")), "{evs:?}");
    assert_eq!(evs[0]["id"], event.id.to_string());
    assert_eq!(data["album"][0]["id"], shot.1["id"]);
    assert!(!data["login_history"].as_array().expect("logins").is_empty());
    assert!(!data["sessions"].as_array().expect("sessions").is_empty());
    let shot_path = format!("album/{}.jpg", shot.1["id"].as_str().expect("id"));
    let clip_path = format!("event-clips/{}.mp4", event.id);
    assert_eq!(names, vec![shot_path.clone(), "data.json".to_string(), clip_path.clone()]);
    // The screenshot decrypted, as the Album serves it; the clip an MP4.
    let url = app.url(shot.1["content_url"].as_str().expect("content_url"));
    let served = app.http.get(url).bearer_auth(&token).send().await.expect("content");
    assert_eq!(zip_member(&zip, &shot_path), served.bytes().await.expect("body").to_vec());
    assert_eq!(&zip_member(&zip, &clip_path)[4..8], b"ftyp");

    // Without media: the same data, no media files.
    let (_, zip) = ready_export(&app, &token, json!({})).await;
    let (data, names) = validate_export(&zip);
    assert_eq!(names, vec!["data.json"]);
    assert_eq!(data["media"], json!([]));
    assert_eq!(data["album"][0]["id"], shot.1["id"], "the Album's items are listed still");
    // The member's export lists the camera as shared with it, without its members.
    let (_, zip) = ready_export(&app, &member, json!({})).await;
    let (data, _) = validate_export(&zip);
    let d = &data["devices"][0];
    assert_eq!((d["uid"].as_str(), d["owned"].as_bool()), (Some(&*uid), Some(false)));
    assert_eq!(d["members"], json!([]));
}

/// A user with a bound camera and a nickname, no footage: fast to export.
async fn plain_account(app: &TestApp, who: &str) -> (String, String) {
    let token = app.register(who, PW).await;
    let creds = provision(app, "KK-C1").await;
    let _dev = bind(app, &token, &creds).await;
    let patch = app.http.patch(app.url("/api/v1/me")).bearer_auth(&token);
    let (s, b) = app.send(patch.json(&json!({"nickname": "Quentin Marwood"}))).await;
    assert_eq!(s, 200, "{b}");
    (token, creds.uid)
}

#[tokio::test]
async fn the_stored_export_is_sealed_and_decrypted_only_as_it_downloads() {
    let app = TestApp::spawn().await;
    let (token, _) = plain_account(&app, "sealed@example.com").await;
    let (view, zip) = ready_export(&app, &token, json!({})).await;
    let (data, _) = validate_export(&zip);
    assert_eq!(data["account"]["nickname"], "Quentin Marwood");
    let json_text = zip_member(&zip, "data.json");
    let id = view["id"].as_str().expect("id").parse().expect("uuid");
    let parts = app.running().services.store.export_parts(id).await.expect("parts");
    assert_eq!(parts.len(), 1, "a small export is one part");
    for (place, bytes) in app.stored_bytes().await {
        for needle in [&json_text[..64], &zip[..64], b"kankan-export/1".as_slice()] {
            assert!(!bytes.windows(needle.len()).any(|w| w == needle), "in clear in {place}");
        }
    }
}

#[tokio::test]
async fn another_account_can_neither_see_nor_download_nor_delete_an_export() {
    let app = TestApp::spawn().await;
    let (token, _) = plain_account(&app, "mine@example.com").await;
    let other = app.register("other@example.com", PW).await;
    let (view, _) = ready_export(&app, &token, json!({})).await;
    let id = view["id"].as_str().expect("id");
    let (s, list) = app.get_authed("/api/v1/me/exports", &other).await;
    assert_eq!((s, list), (200, json!([])));
    let (s, b) = app.get_authed(&format!("/api/v1/me/exports/{id}"), &other).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("not-found")));
    let (s, _, body) = download(&app, &other, id).await;
    assert_eq!(s, 404);
    assert!(!body.starts_with(b"PK"), "no ZIP");
    let del = app.http.delete(app.url(&format!("/api/v1/me/exports/{id}"))).bearer_auth(&other);
    assert_eq!(app.send(del).await.0, 404);
    assert_eq!(download(&app, &token, id).await.0, 200, "still there for its account");
    let (s, _, _) = download(&app, &token, "not-a-uuid").await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn an_export_expires_and_is_deleted_with_its_sealed_parts() {
    let app = TestApp::spawn().await;
    let (token, _) = plain_account(&app, "expiry@example.com").await;
    let (view, _) = ready_export(&app, &token, json!({})).await;
    let id = view["id"].as_str().expect("id").to_string();
    let ready = view["ready_at_ms"].as_i64().expect("ready");
    assert_eq!(
        view["expires_at_ms"].as_i64(),
        Some(ready + 72 * 3_600_000),
        "exports.expiry_hours"
    );
    let parts = app.running().services.store.export_parts(id.parse().expect("uuid")).await;
    let blobs: Vec<String> =
        parts.expect("parts").iter().map(|p| format!("{}.blob", p.blob)).collect();
    let names = app.blob_names().await;
    assert!(blobs.iter().all(|b| names.contains(b)), "its parts are in the blob store");

    // At its expiry: shown expired, no longer downloadable.
    app.clock.advance(Duration::from_secs(72 * 3600));
    let (s, e) = app.get_authed(&format!("/api/v1/me/exports/{id}"), &token).await;
    assert_eq!((s, e["state"].as_str()), (200, Some("expired")));
    let (s, _, body) = download(&app, &token, &id).await;
    let body: Value = serde_json::from_slice(&body).expect("an error body");
    assert_eq!((s, body["code"].as_str()), (409, Some("export-expired")));

    // The hourly sweep after it deletes the row and the parts.
    app.clock.advance(Duration::from_secs(3600));
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, list) = app.get_authed("/api/v1/me/exports", &token).await;
        let names = app.blob_names().await;
        if list == json!([]) && blobs.iter().all(|b| !names.contains(b)) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "not deleted: {list}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_deleted_export_is_gone_with_its_parts() {
    let app = TestApp::spawn().await;
    let (token, _) = plain_account(&app, "delete@example.com").await;
    let (view, _) = ready_export(&app, &token, json!({})).await;
    let id = view["id"].as_str().expect("id");
    let del = app.http.delete(app.url(&format!("/api/v1/me/exports/{id}"))).bearer_auth(&token);
    assert_eq!(app.send(del).await.0, 204);
    assert_eq!(app.get_authed(&format!("/api/v1/me/exports/{id}"), &token).await.0, 404);
    let parts = app.running().services.store.export_parts(id.parse().expect("uuid")).await;
    assert!(parts.expect("parts").is_empty());
}

#[tokio::test]
async fn bad_export_requests_answer_stable_codes_and_store_nothing() {
    let app = TestApp::spawn().await;
    let (token, uid) = plain_account(&app, "bad@example.com").await;
    let other = app.register("stranger@example.com", PW).await;
    let (_, theirs) = plain_account(&app, "theirs@example.com").await;
    let range = |uid: &str, from: i64, to: i64| json!({"uid": uid, "from_ms": from, "to_ms": to});
    let day = 86_400_000;
    let cases = [
        (json!({"recordings": vec![range(&uid, 0, 1_000); 5]}), 400, "too-many-export-ranges"),
        (json!({"recordings": [range(&uid, 5_000, 5_000)]}), 400, "export-range-invalid"),
        (json!({"recordings": [range(&uid, 0, day + 1)]}), 400, "export-range-invalid"),
        (json!({"recordings": [range(&uid, -1, 1_000)]}), 400, "export-range-invalid"),
        (json!({"recordings": [range(&theirs, 0, 1_000)]}), 404, "device-not-found"),
        (json!({"album": "yes"}), 400, "invalid-body"),
        (json!({"everything": true}), 400, "invalid-body"),
    ];
    for (media, status, code) in cases {
        let (s, b) = start(&app, &token, media.clone()).await;
        assert_eq!((s, b["code"].as_str()), (status, Some(code)), "{media}");
    }
    let (s, list) = app.get_authed("/api/v1/me/exports", &token).await;
    assert_eq!((s, list), (200, json!([])), "nothing stored");
    // A stranger cannot export a camera it does not hold.
    let (s, b) = start(&app, &other, json!({"recordings": [range(&uid, 0, 1_000)]})).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("device-not-found")));
    // Unauthenticated.
    let (s, _) = app.post("/api/v1/me/exports", json!({"media": {}})).await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn exports_an_account_may_start_a_day_are_limited() {
    let app = TestApp::spawn_with(|c| c.exports.per_day = 1).await;
    let (token, _) = plain_account(&app, "limit@example.com").await;
    ready_export(&app, &token, json!({})).await;
    let (s, b) = start(&app, &token, json!({})).await;
    assert_eq!((s, b["code"].as_str()), (429, Some("too-many-requests")));
    app.clock.advance(Duration::from_secs(86_400));
    let (s, b) = start(&app, &token, json!({})).await;
    assert_eq!(s, 202, "a day later: {b}");
}

#[tokio::test]
async fn the_staff_command_writes_the_same_zip_to_a_new_private_file() {
    use kankan_testkit::{ServerProcess, run_cli};
    const BIN: &str = env!("CARGO_BIN_EXE_kankan");
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let server = ServerProcess::start(BIN.as_ref(), &data, &[]).await.expect("starts");
    let who = "staffexport@example.com";
    crate::cli::register_verified(&server, who, PW).await;
    let env = [("KANKAN__DATA_DIR", data.to_str().expect("utf8"))];
    let out = tmp.path().join("export.zip");
    let args = ["admin", "accounts", "export", who, "--out", out.to_str().expect("utf8")];
    let (c, stdout, err) = run_cli(BIN.as_ref(), &args, &env, None).expect("runs");
    assert_eq!(c, 0, "{err}");
    assert!(stdout.contains("wrote the data of account"), "{stdout}");
    let zip = std::fs::read(&out).expect("written");
    let (data_json, names) = validate_export(&zip);
    assert_eq!(data_json["account"]["identifier"], who);
    assert_eq!(names, vec!["data.json"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&out).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "readable by its owner only");
    }
    // Never over an existing file, and never for an unknown account.
    let (c, _, _) = run_cli(BIN.as_ref(), &args, &env, None).expect("runs");
    assert_ne!(c, 0, "the file exists");
    assert_eq!(std::fs::read(&out).expect("kept"), zip, "left as it was");
    let other = tmp.path().join("other.zip");
    let args = [
        "admin",
        "accounts",
        "export",
        "nobody@example.com",
        "--out",
        other.to_str().expect("utf8"),
    ];
    let (c, _, _) = run_cli(BIN.as_ref(), &args, &env, None).expect("runs");
    assert_ne!(c, 0);
    assert!(!other.exists());
}
