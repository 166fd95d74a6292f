//! Privacy promises that need the whole system: no contact in clear anywhere on disk.

use kankan_testkit::{ServerProcess, files_under as files, http_client, read_outbox};
use serde_json::json;

const PW: &str = "plum-garden-kettle-42";

fn contains(haystack: &[u8], needle: &str) -> bool {
    let n = needle.as_bytes();
    haystack.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
}

#[tokio::test]
async fn no_phone_number_or_email_is_stored_in_clear_anywhere_in_the_data_dir() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    let mut server = ServerProcess::start(env!("CARGO_BIN_EXE_kankan").as_ref(), &data, &[])
        .await
        .expect("server starts");
    let http = http_client();
    let people =
        ["zoe.secret@example.org", "+8613912345678", "max.private@example.net", "+14155550123"];
    for (i, who) in people.iter().enumerate() {
        let post = |path: &str, body: serde_json::Value| {
            http.post(format!("{}{path}", server.base_url)).json(&body).send()
        };
        let seen = read_outbox(&data.join("outbox.log")).len();
        let r = post(
            "/api/v1/auth/register",
            json!({"identifier": who, "password": PW, "accept_policy": "1"}),
        )
        .await
        .expect("send");
        assert_eq!(r.status(), 202);
        let code = wait_code(&data, seen).await;
        let r = post("/api/v1/auth/register/verify", json!({"identifier": who, "code": code}))
            .await
            .expect("send");
        assert_eq!(r.status(), 200);
        let r =
            post("/api/v1/auth/login", json!({"identifier": who, "password": "bad-password-1"}))
                .await
                .expect("send");
        assert_eq!(r.status(), 401);
        if i % 2 == 0 {
            let r = post("/api/v1/auth/password-reset", json!({"identifier": who}))
                .await
                .expect("send");
            assert_eq!(r.status(), 202);
        }
    }
    let log_before_stop = server.log();
    assert_eq!(server.terminate().expect("stops"), 0, "graceful shutdown exits 0");

    let needles: Vec<String> = people
        .iter()
        .flat_map(|p| {
            let mut v = vec![p.to_string()];
            if let Some(digits) = p.strip_prefix('+') {
                v.push(digits.to_string());
                v.push(digits[digits.len() - 10..].to_string());
            } else {
                v.push(p.split('@').next().expect("local part").to_string());
            }
            v
        })
        .collect();
    let all = files(&data);
    let names: Vec<_> =
        all.iter().filter_map(|p| p.file_name()?.to_str().map(String::from)).collect();
    for must in ["kankan.db", "kankan.log", "outbox.log", "master.key"] {
        assert!(names.iter().any(|n| n == must), "{must} missing from {names:?}");
    }
    assert!(log_before_stop.contains("Your code is"), "the operator can read codes in the log");
    for f in &all {
        let bytes = std::fs::read(f).expect("readable");
        for n in &needles {
            assert!(!contains(&bytes, n), "{n:?} found in clear in {}", f.display());
        }
    }
}

async fn wait_code(data: &std::path::Path, seen: usize) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let all = read_outbox(&data.join("outbox.log"));
        let registration = all.iter().skip(seen).find(|e| e.subject.contains("verification code"));
        if let Some(code) = registration.and_then(|e| e.code()) {
            return code;
        }
        assert!(std::time::Instant::now() < deadline, "no code arrived");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
