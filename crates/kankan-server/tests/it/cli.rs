//! The `kankan` command line: config dump, migrate, admin commands, env overrides.

use kankan_testkit::{ServerProcess, http_client, read_outbox, run_cli};
use rustls::pki_types::pem::PemObject as _;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_kankan");

#[test]
fn config_dump_shows_env_overrides_and_redacts_secrets() {
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let (code, out, err) = run_cli(
        BIN.as_ref(),
        &["config", "dump"],
        &[("KANKAN__SERVER__LISTEN", "127.0.0.1:9999"), ("KANKAN__SECURITY__MASTER_KEY", key)],
        None,
    )
    .expect("runs");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("listen = \"127.0.0.1:9999\""), "{out}");
    assert!(out.contains("[redacted]") && !out.contains(key), "{out}");
}

#[test]
fn unknown_configuration_keys_stop_the_binary_with_a_clear_error() {
    let (code, _, err) =
        run_cli(BIN.as_ref(), &["config", "dump"], &[("KANKAN__SERVER__LISTNE", "x")], None)
            .expect("runs");
    assert_ne!(code, 0);
    assert!(err.contains("listne"), "{err}");
}

#[test]
fn migrate_creates_the_database_and_is_idempotent() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("d");
    let env = [("KANKAN__DATA_DIR", dir.to_str().expect("utf8"))];
    for _ in 0..2 {
        let (code, out, err) = run_cli(BIN.as_ref(), &["migrate"], &env, None).expect("runs");
        assert_eq!(code, 0, "{err}");
        assert!(out.contains("up to date (0 pending)"), "{out}");
    }
    assert!(dir.join("kankan.db").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("master.key")).expect("key").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn create_staff_needs_a_strong_password_and_a_unique_name() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("d");
    let env = [("KANKAN__DATA_DIR", dir.to_str().expect("utf8"))];
    let args = ["admin", "create-staff", "--username", "ops.lead"];
    let (code, _, err) = run_cli(BIN.as_ref(), &args, &env, Some("password123\n")).expect("runs");
    assert_ne!(code, 0, "a common password is refused");
    assert!(err.contains("too common"), "{err}");
    let (code, out, err) =
        run_cli(BIN.as_ref(), &args, &env, Some("quiet-harbor-lantern-8\n")).expect("runs");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created staff admin ops.lead"));
    let (code, _, err) =
        run_cli(BIN.as_ref(), &args, &env, Some("another-strong-pass-9\n")).expect("runs");
    assert_ne!(code, 0);
    assert!(err.contains("already exists"), "{err}");
}

/// `--role` names the staff member's role; a lost second factor is reset from the command
/// line; both are in the audit log.
#[test]
fn create_staff_takes_a_role_and_a_second_factor_is_reset_from_the_command_line() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("d");
    let env = [("KANKAN__DATA_DIR", dir.to_str().expect("utf8"))];
    let bad = ["admin", "create-staff", "--username", "agent", "--role", "root"];
    let (code, _, err) =
        run_cli(BIN.as_ref(), &bad, &env, Some("quiet-harbor-lantern-8\n")).expect("runs");
    assert_ne!(code, 0);
    assert!(err.contains("no role"), "{err}");
    let args = ["admin", "create-staff", "--username", "agent", "--role", "support"];
    let (code, out, err) =
        run_cli(BIN.as_ref(), &args, &env, Some("quiet-harbor-lantern-8\n")).expect("runs");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created staff support agent"), "{out}");
    let reset = ["admin", "reset-staff-second-factor", "agent"];
    let (code, _, err) = run_cli(BIN.as_ref(), &reset, &env, None).expect("runs");
    assert_eq!(code, 0, "{err}");
    let (code, _, _) =
        run_cli(BIN.as_ref(), &["admin", "reset-staff-second-factor", "nobody"], &env, None)
            .expect("runs");
    assert_ne!(code, 0, "no such staff member");
    let verify = ["admin", "audit", "verify"];
    let (code, out, err) = run_cli(BIN.as_ref(), &verify, &env, None).expect("runs");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("intact: 3 entries"), "created, reset and verified: {out}");
}

/// Registers `who` on a `kankan serve` child and verifies it with the code from its outbox.
pub(crate) async fn register_verified(server: &ServerProcess, who: &str, pw: &str) {
    let http = http_client();
    let url = |p: &str| format!("{}{p}", server.base_url);
    http.post(url("/api/v1/auth/register"))
        .json(&json!({"identifier": who, "password": pw, "accept_policy": "1"}))
        .send()
        .await
        .expect("register");
    let outbox = server.data_dir.join("outbox.log");
    let code = loop {
        if let Some(c) = read_outbox(&outbox).first().and_then(|e| e.code()) {
            break c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let r = http
        .post(url("/api/v1/auth/register/verify"))
        .json(&json!({"identifier": who, "code": code}))
        .send()
        .await
        .expect("verify");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn admin_ban_and_unban_act_on_a_running_server() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let server = ServerProcess::start(BIN.as_ref(), &data, &[]).await.expect("starts");
    let http = http_client();
    let url = |p: &str| format!("{}{p}", server.base_url);
    let who = "banme@example.com";
    let pw = "plum-garden-kettle-42";
    register_verified(&server, who, pw).await;
    let env = [("KANKAN__DATA_DIR", data.to_str().expect("utf8"))];
    let (c, out, err) =
        run_cli(BIN.as_ref(), &["admin", "ban", who, "--reason", "fraud"], &env, None)
            .expect("runs");
    assert_eq!(c, 0, "{err}");
    assert!(out.contains("banned account"));
    let login = || {
        http.post(url("/api/v1/auth/login"))
            .json(&json!({"identifier": who, "password": pw}))
            .send()
    };
    let r = login().await.expect("login");
    assert_eq!(r.status(), 403);
    let (c, _, err) = run_cli(BIN.as_ref(), &["admin", "unban", who], &env, None).expect("runs");
    assert_eq!(c, 0, "{err}");
    assert_eq!(login().await.expect("login").status(), 200);
    let (c, _, _) =
        run_cli(BIN.as_ref(), &["admin", "ban", "nobody@example.com"], &env, None).expect("runs");
    assert_ne!(c, 0, "banning an unknown account fails");
}

#[tokio::test]
async fn demo_serves_the_web_app_and_a_ready_made_account_whose_cameras_record() {
    use std::io::BufRead as _;
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("demo");
    // The PostgreSQL run of the suite runs the demo on PostgreSQL.
    let db = kankan_db::testing::fresh_database_url(tmp.path()).await.expect("database");
    let mut child = std::process::Command::new(BIN)
        .args(["demo", "--data-dir", data.to_str().expect("utf8"), "--listen", "127.0.0.1:0"])
        .args(["--mqtt-listen", "127.0.0.1:0"])
        .env("KANKAN__DATABASE__URL", &db)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("demo starts");
    let stdout = child.stdout.take().expect("piped");
    // Read the banner, then keep draining stdout so the demo never writes to a closed pipe.
    let (found_tx, found_rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut found_tx = Some(found_tx);
        let mut addr = None;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("open https://").nth(1) {
                addr = rest.split('/').next().map(String::from);
            }
            if let Some(rest) = line.split("with password ").nth(1) {
                let pw = rest.split_whitespace().next().unwrap_or_default().to_string();
                if let (Some(tx), Some(a)) = (found_tx.take(), addr.clone()) {
                    let _ = tx.send((a, pw));
                }
            }
        }
    });
    let (addr, password) = tokio::time::timeout(std::time::Duration::from_secs(60), found_rx)
        .await
        .expect("the demo prints its banner")
        .expect("the banner names the address and an account");
    // TLS end to end: the browser side is HTTPS with the demo's own key, which the demo's
    // cameras pinned when they paired (they record over HTTPS and talk MQTT over TLS; a
    // device reaching the server any other way would not come online below).
    // Fails without the fix: the demo served plain HTTP and MQTT.
    let cert = std::fs::read(data.join("tls").join("tls.crt")).expect("the demo's certificate");
    let der = rustls::pki_types::CertificateDer::from_pem_slice(&cert).expect("PEM");
    let pin = kankan_crypto::tls::Pin::of_cert(&der).expect("pin");
    let http = kankan_testkit::https_client(pin);
    let page = http.get(format!("https://{addr}/")).send().await.expect("get");
    assert_eq!(page.status(), 200);
    let plain = http_client().get(format!("http://{addr}/")).send().await;
    assert!(plain.is_err(), "no plain HTTP on the demo's port: {plain:?}");
    let r = http
        .post(format!("https://{addr}/api/v1/auth/login"))
        .json(&json!({"identifier": "demo@kankan.example", "password": password}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200);
    let token = r.json::<serde_json::Value>().await.expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string();
    // The ready-made account never accepted the privacy policy: it does so first.
    let r = http
        .post(format!("https://{addr}/api/v1/me/policy/accept"))
        .bearer_auth(&token)
        .json(&json!({"version": "1"}))
        .send()
        .await
        .expect("accept");
    assert_eq!(r.status(), 200);
    // Two simulated cameras and a doorbell, paired through the real flow, come online.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let devices = loop {
        let list: serde_json::Value = http
            .get(format!("https://{addr}/api/v1/devices"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        let ready = list.as_array().is_some_and(|a| {
            a.len() == 3 && a.iter().all(|d| d["online"] == true && !d["reported"].is_null())
        });
        if ready {
            break list;
        }
        assert!(std::time::Instant::now() < deadline, "demo devices not ready: {list}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let kinds: Vec<&str> = devices
        .as_array()
        .expect("array")
        .iter()
        .map(|d| d["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds.iter().filter(|k| **k == "camera").count(), 2);
    assert_eq!(kinds.iter().filter(|k| **k == "doorbell").count(), 1);
    // Each of them records: footage appears on its timeline.
    for d in devices.as_array().expect("array") {
        let uid = d["uid"].as_str().expect("uid");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let t: serde_json::Value = http
                .get(format!("https://{addr}/api/v1/devices/{uid}/recordings/timeline"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("timeline")
                .json()
                .await
                .expect("json");
            if t["spans"].as_array().is_some_and(|s| !s.is_empty()) {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{uid} records nothing: {t}");
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn provisioning_writes_one_secret_per_device_to_a_private_csv() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("d");
    let out = tmp.path().join("devices.csv");
    let env = [("KANKAN__DATA_DIR", dir.to_str().expect("utf8"))];
    let out_s = out.to_str().expect("utf8");
    let args =
        ["admin", "devices", "provision", "--model", "KK-D1", "--count", "3", "--out", out_s];
    let (code, stdout, err) = run_cli(BIN.as_ref(), &args, &env, None).expect("runs");
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("provisioned 3 KK-D1 devices"));
    let csv = std::fs::read_to_string(&out).expect("csv");
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(csv.lines().next(), Some("uid,model,secret"));
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.len() == 3 && r[0].starts_with("KK") && r[1] == "KK-D1"));
    let secrets: std::collections::HashSet<_> = rows.iter().map(|r| r[2]).collect();
    assert_eq!(secrets.len(), 3, "every device has its own secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let db = std::fs::read(dir.join("kankan.db")).expect("db");
    for r in &rows {
        let s = r[2].as_bytes();
        assert!(!db.windows(s.len()).any(|w| w == s), "a device secret is stored in clear");
    }
    let (code, _, err) = run_cli(BIN.as_ref(), &args, &env, None).expect("runs");
    assert_ne!(code, 0, "an existing file is never overwritten");
    assert!(err.contains("must not exist"), "{err}");
    let other = tmp.path().join("other.csv");
    let bad = [
        "admin",
        "devices",
        "provision",
        "--model",
        "NOPE",
        "--out",
        other.to_str().expect("utf8"),
    ];
    let (code, _, err) = run_cli(BIN.as_ref(), &bad, &env, None).expect("runs");
    assert_ne!(code, 0);
    assert!(err.contains("unknown model"), "{err}");
    assert!(!other.exists(), "a failed run leaves no file behind");
}

#[tokio::test]
async fn the_operator_deletes_an_account_from_the_command_line() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let server = ServerProcess::start(BIN.as_ref(), &data, &[]).await.expect("starts");
    let http = http_client();
    let who = "ask-to-delete@example.com";
    let pw = "plum-garden-kettle-42";
    register_verified(&server, who, pw).await;
    let login = || {
        http.post(format!("{}/api/v1/auth/login", server.base_url))
            .json(&json!({"identifier": who, "password": pw}))
            .send()
    };
    let env = [("KANKAN__DATA_DIR", data.to_str().expect("utf8"))];
    // cancel: the window starts, as if the owner had asked.
    let (c, out, err) =
        run_cli(BIN.as_ref(), &["admin", "accounts", "cancel", who], &env, None).expect("runs");
    assert_eq!(c, 0, "{err}");
    assert!(out.contains("is being cancelled"), "{out}");
    let body: serde_json::Value = login().await.expect("login").json().await.expect("json");
    assert!(body["cancellation"]["ends_at_ms"].is_i64(), "{body}");
    // delete: shredded and purged at once, with a receipt code.
    let (c, out, err) =
        run_cli(BIN.as_ref(), &["admin", "accounts", "delete", who], &env, None).expect("runs");
    assert_eq!(c, 0, "{err}");
    assert!(out.contains("key shredded, data purged") && out.contains("receipt code"), "{out}");
    assert_eq!(login().await.expect("login").status(), 401);
    let (c, _, _) =
        run_cli(BIN.as_ref(), &["admin", "accounts", "delete", who], &env, None).expect("runs");
    assert_ne!(c, 0, "the identifier names no account any more");
    let ledger = std::fs::read_to_string(data.join("shredded-accounts")).expect("ledger");
    assert_eq!(ledger.lines().count(), 1, "{ledger}");
    // Both commands and the system's shred are in the audit log, whose chain still verifies.
    let url = format!("sqlite://{}", data.join("kankan.db").display());
    for (actor, action) in [
        ("operator:", "account-cancellation-started"),
        ("operator:", "account-deleted"),
        ("system:account-lifecycle", "account-shredded"),
    ] {
        // A no-op update counts the matching rows without changing them.
        let touch = format!(
            "UPDATE audit_log SET action = action WHERE action = '{action}' \
             AND actor LIKE '{actor}%' AND subject_id IS NOT NULL"
        );
        let n = kankan_db::testing::execute(&url, &touch).await.expect("audit log");
        assert_eq!(n, 1, "{action} by {actor} is in the audit log once");
    }
    let (c, out, err) =
        run_cli(BIN.as_ref(), &["admin", "audit", "verify"], &env, None).expect("runs");
    assert_eq!(c, 0, "{out}{err}");
}

/// `kankan admin audit verify` passes on an untouched log (the commands that wrote it are in
/// it) and fails, naming the entry, once one has been edited in the database.
#[test]
fn admin_audit_verify_passes_on_an_intact_log_and_fails_on_an_edited_one() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("d");
    let env = [("KANKAN__DATA_DIR", dir.to_str().expect("utf8"))];
    let create = ["admin", "create-staff", "--username", "auditor"];
    let (code, _, err) =
        run_cli(BIN.as_ref(), &create, &env, Some("quiet-harbor-lantern-8\n")).expect("runs");
    assert_eq!(code, 0, "{err}");
    let verify = ["admin", "audit", "verify"];
    let (code, out, err) = run_cli(BIN.as_ref(), &verify, &env, None).expect("runs");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("intact: 2 entries"), "staff-created and audit-verified: {out}");
    let url = format!("sqlite://{}", dir.join("kankan.db").display());
    let edit = "UPDATE audit_log SET detail = 'staff=someone-else' WHERE seq = 1";
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    assert_eq!(rt.block_on(kankan_db::testing::execute(&url, edit)).expect("edit"), 1);
    let (code, _, err) = run_cli(BIN.as_ref(), &verify, &env, None).expect("runs");
    assert_ne!(code, 0);
    assert!(err.contains("entry 1 does not match"), "{err}");
}
