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

/// Signs in and returns the bearer token.
async fn login(server: &ServerProcess, who: &str, pw: &str) -> String {
    let r = http_client()
        .post(format!("{}/api/v1/auth/login", server.base_url))
        .json(&json!({"identifier": who, "password": pw}))
        .send()
        .await
        .expect("login");
    let v: serde_json::Value = r.json().await.expect("json");
    v["token"].as_str().expect("token").to_string()
}

/// The account's avatar, fetched the way the app does.
async fn avatar(server: &ServerProcess, token: &str) -> (u16, Vec<u8>) {
    let http = http_client();
    let me: serde_json::Value = http
        .get(format!("{}/api/v1/me", server.base_url))
        .bearer_auth(token)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    let url = format!("{}{}", server.base_url, me["avatar_url"].as_str().expect("avatar url"));
    let r = http.get(url).bearer_auth(token).send().await.expect("get");
    (r.status().as_u16(), r.bytes().await.expect("body").to_vec())
}

#[tokio::test]
async fn a_boxs_blobs_copied_to_s3_are_served_from_the_bucket() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let data_s = data.to_str().expect("utf8");
    let (who, pw) = ("bucket@example.com", "harbor-lantern-quince-52");
    let mut server = ServerProcess::start(BIN.as_ref(), &data, &[]).await.expect("starts");
    register_verified(&server, who, pw).await;
    let token = login(&server, who, pw).await;
    let png = crate::accounts::png(64, 64);
    let r = http_client()
        .put(format!("{}/api/v1/me/avatar", server.base_url))
        .bearer_auth(&token)
        .header("content-type", "image/png")
        .body(png)
        .send()
        .await
        .expect("avatar");
    assert_eq!(r.status(), 200);
    let (s, before) = avatar(&server, &token).await;
    assert_eq!(s, 200);
    assert_eq!(server.terminate().expect("stops"), 0);

    let s3 = kankan_blobs::testing::S3Server::start().await.expect("an S3 server");
    let bucket = s3.bucket("box").await.expect("bucket");
    let secret = bucket.secret_access_key.as_ref().expect("secret").expose().to_string();
    let env = [
        ("KANKAN__DATA_DIR", data_s),
        ("KANKAN__BLOBS__URL", bucket.url.as_str()),
        ("KANKAN__BLOBS__ENDPOINT", s3.endpoint()),
        ("KANKAN__BLOBS__ACCESS_KEY_ID", "kankan-test"),
        ("KANKAN__BLOBS__SECRET_ACCESS_KEY", secret.as_str()),
        ("KANKAN__BLOBS__PATH_STYLE", "true"),
    ];
    let dir = data.join("blobs");
    let args = ["admin", "store", "copy-blobs", "--from", dir.to_str().expect("utf8")];
    let (code, out, err) = run_cli(BIN.as_ref(), &args, &env, None).expect("runs");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("copied 1 blobs"), "{out}");
    let (code, out, err) = run_cli(BIN.as_ref(), &args, &env, None).expect("runs again");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("copied 0 blobs") && out.contains("1 were already there"), "{out}");
    let keys = s3.keys(&bucket).await.expect("list");
    assert_eq!(keys.len(), 1, "{keys:?}");
    let local = std::fs::read_dir(&dir).expect("dir").flatten().next().expect("the blob").path();
    let object = s3.object(&bucket, &keys[0]).await.expect("get").expect("present");
    assert_eq!(object, std::fs::read(&local).expect("read"), "the same sealed bytes");

    // The box on the bucket, its directory gone: the avatar comes from S3.
    std::fs::remove_dir_all(&dir).expect("rm");
    let server = ServerProcess::start(BIN.as_ref(), &data, &env[1..]).await.expect("starts on S3");
    let token = login(&server, who, pw).await;
    assert_eq!(avatar(&server, &token).await, (200, before));
}
