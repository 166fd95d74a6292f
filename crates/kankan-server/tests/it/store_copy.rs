//! `kankan admin store copy`: a household box's SQLite database moves to another database
//! (PostgreSQL on the PostgreSQL run of this suite), and the server runs on the copy.

use kankan_testkit::{ServerProcess, http_client, run_cli};
use serde_json::json;

use crate::cli::register_verified;

const BIN: &str = env!("CARGO_BIN_EXE_kankan");

#[tokio::test]
async fn a_box_copied_to_another_database_serves_its_accounts_from_the_copy() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let data_s = data.to_str().expect("utf8");
    let (who, pw) = ("mover@example.com", "amber-canyon-ferry-31");
    let mut server = ServerProcess::start(BIN.as_ref(), &data, &[]).await.expect("starts");
    register_verified(&server, who, pw).await;
    assert_eq!(server.terminate().expect("stops"), 0);
    let from = format!("sqlite://{}", data.join("kankan.db").display());
    let to = kankan_db::testing::fresh_database_url(&tmp.path().join("target")).await.expect("db");
    std::fs::create_dir_all(tmp.path().join("target")).expect("dir");

    let args = ["admin", "store", "copy", "--from", &from, "--to", &to];
    let (code, out, err) =
        run_cli(BIN.as_ref(), &args, &[("KANKAN__DATA_DIR", data_s)], None).expect("runs");

    assert_eq!(code, 0, "{err}");
    assert!(out.contains("counts match and 1 sampled accounts decrypt alike"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("accounts") && l.ends_with(" 1 rows")), "{out}");
    // The same box (master key, blobs) on the copied database: the account logs in.
    let env = [("KANKAN__DATABASE__URL", to.as_str())];
    let server = ServerProcess::start(BIN.as_ref(), &data, &env).await.expect("starts on the copy");
    let r = http_client()
        .post(format!("{}/api/v1/auth/login", server.base_url))
        .json(&json!({"identifier": who, "password": pw}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200);
    // A second copy into the now used database is refused and changes nothing.
    let (code, _, err) =
        run_cli(BIN.as_ref(), &args, &[("KANKAN__DATA_DIR", data_s)], None).expect("runs");
    assert_ne!(code, 0);
    assert!(err.contains("rows in the target database"), "{err}");
}

#[tokio::test]
async fn a_copy_checked_with_another_master_key_fails_and_says_so() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let mut server = ServerProcess::start(BIN.as_ref(), &data, &[]).await.expect("starts");
    register_verified(&server, "keys@example.com", "willow-basin-copper-77").await;
    assert_eq!(server.terminate().expect("stops"), 0);
    let from = format!("sqlite://{}", data.join("kankan.db").display());
    let to = format!("sqlite://{}", tmp.path().join("copy.db").display());

    let args = ["admin", "store", "copy", "--from", &from, "--to", &to];
    let other_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    let env = [
        ("KANKAN__DATA_DIR", data.to_str().expect("utf8")),
        ("KANKAN__SECURITY__MASTER_KEY", other_key),
    ];
    let (code, _, err) = run_cli(BIN.as_ref(), &args, &env, None).expect("runs");

    assert_ne!(code, 0);
    assert!(err.contains("wrong master key"), "{err}");
    assert!(!tmp.path().join("copy.db").exists(), "nothing was written");
}
