//! Who the client is, as far as the server may believe it: `X-Forwarded-For` only through
//! configured proxies, `__Host-` cookies over HTTPS, and no codes in the process log of a
//! server with a real messaging channel.

use kankan_testkit::twilio::FakeTwilio;
use kankan_testkit::{ServerProcess, TestApp, http_client, read_outbox};
use serde_json::json;

const PW: &str = "plum-garden-kettle-42";
const BIN: &str = env!("CARGO_BIN_EXE_kankan");

/// Logs in with `X-Forwarded-For` lines `xff` and answers the IP the session list shows.
async fn session_ip(app: &TestApp, who: &str, xff: &[&str]) -> String {
    let mut req = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"identifier": who, "password": PW}));
    for line in xff {
        req = req.header("x-forwarded-for", *line);
    }
    let (s, b) = app.send(req).await;
    assert_eq!(s, 200, "{b}");
    let token = b["token"].as_str().expect("token");
    let (s, list) = app.get_authed("/api/v1/me/sessions", token).await;
    assert_eq!(s, 200);
    let current = list.as_array().expect("list").iter().find(|e| e["current"] == true);
    current.expect("the current session")["ip"].as_str().expect("ip").to_string()
}

#[tokio::test]
async fn forwarded_for_is_ignored_without_trusted_proxies() {
    let app = TestApp::spawn().await;
    app.register("noproxy@example.com", PW).await;
    assert_eq!(session_ip(&app, "noproxy@example.com", &["198.51.100.7"]).await, "127.0.0.1");
}

/// Fails without the fix: only the first header line was read (its last entry), so a client
/// that sent its own `X-Forwarded-For` line chose its address; and a chain of proxies was
/// not skipped.
#[tokio::test]
async fn forwarded_for_is_read_from_the_right_through_trusted_proxies_only() {
    let app = TestApp::spawn_with(|c| {
        c.server.trusted_proxies = vec!["127.0.0.1".into(), "10.0.0.0/8".into()];
    })
    .await;
    let who = "proxied@example.com";
    app.register(who, PW).await;
    // The client sent a line of its own; the proxy appended one with what it saw.
    assert_eq!(session_ip(&app, who, &["192.0.2.66", "203.0.113.9"]).await, "203.0.113.9");
    // Two proxies of ours: the inner one's address is skipped, the spoofed entry left alone.
    let chain = ["192.0.2.66, 203.0.113.10, 10.1.2.3"];
    assert_eq!(session_ip(&app, who, &chain).await, "203.0.113.10");
    // Garbage from the client stops the walk at the last address a proxy of ours wrote.
    assert_eq!(session_ip(&app, who, &["not-an-address, 10.9.9.9"]).await, "10.9.9.9");
}

/// The client's address is personal data: sealed in the session and login history, and on a
/// shared database (the PostgreSQL run of this suite) the throttles count it under a keyed
/// pseudonym. Fails on PostgreSQL without the pseudonym: `rate_windows` held `login-ip:
/// 198.51.100.0/24/60` in clear.
#[tokio::test]
async fn the_clients_address_is_stored_nowhere_in_clear() {
    let app = TestApp::spawn_with(|c| c.server.trusted_proxies = vec!["127.0.0.1".into()]).await;
    let who = "address@example.com";
    app.register(who, PW).await;
    assert_eq!(session_ip(&app, who, &["198.51.100.77"]).await, "198.51.100.77");
    // (The development outbox is the mail sent to the user: a new-login notice names it.)
    let stored = app.stored_bytes().await;
    for (place, bytes) in stored.iter().filter(|(p, _)| !p.ends_with("outbox.log")) {
        for needle in [&b"198.51.100."[..], b"198.51.100.0/24"] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{place} holds the client's address in clear"
            );
        }
    }
}

#[tokio::test]
async fn invalid_trusted_proxies_are_refused_at_start() {
    let mut cfg = kankan_server::Config::default();
    cfg.server.trusted_proxies = vec!["proxy.example".into()];
    let err = cfg.validate().expect_err("not an address");
    assert!(err.contains("server.trusted_proxies"), "{err}");
    cfg.server.trusted_proxies = vec!["10.0.0.0/33".into()];
    assert!(cfg.validate().is_err());
}

/// The cookies a login sets, as (name, attributes).
fn set_cookies(resp: &reqwest::Response) -> Vec<(String, String)> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split_once('=').map(|(n, rest)| (n.to_string(), rest.to_string())))
        .collect()
}

/// Fails without the fix: over HTTPS the cookies were named `kankan_session`/`kankan_csrf`,
/// which a sibling host or a plain-HTTP response can set or shadow.
#[tokio::test]
async fn cookies_over_https_carry_the_host_prefix_and_only_those_are_read() {
    let app =
        TestApp::spawn_with(|c| c.server.public_url = Some("https://cam.example".into())).await;
    let who = "secure@example.com";
    app.register(who, PW).await;
    let resp = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"identifier": who, "password": PW}))
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), 200);
    let cookies = set_cookies(&resp);
    let names: Vec<&str> = cookies.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["__Host-kankan_session", "__Host-kankan_csrf"]);
    for (_, attrs) in &cookies {
        assert!(attrs.contains("; Secure") && attrs.contains("; Path=/"), "{attrs}");
        assert!(!attrs.contains("Domain"), "{attrs}");
    }
    let value = |name: &str| {
        let (_, attrs) = cookies.iter().find(|(n, _)| n == name).expect("cookie");
        attrs.split(';').next().expect("value").to_string()
    };
    let (session, csrf) = (value("__Host-kankan_session"), value("__Host-kankan_csrf"));
    let me =
        |cookie: String| app.send(app.http.get(app.url("/api/v1/me")).header("cookie", cookie));
    assert_eq!(me(format!("__Host-kankan_session={session}")).await.0, 200);
    assert_eq!(me(format!("kankan_session={session}")).await.0, 401, "unprefixed is ignored");
    let nick = |token: &str| {
        app.send(
            app.http
                .patch(app.url("/api/v1/me"))
                .header("cookie", format!("__Host-kankan_session={session}"))
                .header("x-csrf-token", token)
                .json(&json!({"nickname": "Sec"})),
        )
    };
    let (s, b) = nick(&csrf[..csrf.len() - 1]).await;
    assert_eq!((s, b["code"].as_str()), (403, Some("csrf-token-mismatch")));
    assert_eq!(nick(&csrf).await.0, 200);
}

#[tokio::test]
async fn cookies_over_plain_http_keep_their_plain_names() {
    let app = TestApp::spawn().await;
    app.register("plain@example.com", PW).await;
    let resp = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"identifier": "plain@example.com", "password": PW}))
        .send()
        .await
        .expect("login");
    let names: Vec<String> = set_cookies(&resp).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["kankan_session", "kankan_csrf"]);
}

/// Fails without the fix: the outbox logged every message's body (the code in it) to the
/// process log even when SMS went through Twilio, so e-mail codes of a production server
/// ended up in its logs.
#[tokio::test]
async fn with_a_real_channel_the_outbox_keeps_codes_out_of_the_process_log() {
    let twilio = FakeTwilio::start().await;
    let t = twilio.config();
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    // Quoted, or the environment provider reads the number as an integer.
    let from = format!("\"{}\"", t.from.as_deref().expect("from"));
    let env = [
        ("KANKAN__MESSENGER__SMS__KIND", "twilio"),
        ("KANKAN__MESSENGER__SMS__ACCOUNT_SID", t.account_sid.as_str()),
        ("KANKAN__MESSENGER__SMS__AUTH_TOKEN", t.auth_token.expose()),
        ("KANKAN__MESSENGER__SMS__FROM", from.as_str()),
        ("KANKAN__MESSENGER__SMS__API_BASE", t.api_base.as_str()),
    ];
    let server = ServerProcess::start(BIN.as_ref(), &data, &env).await.expect("starts");
    let who = "quiet@example.com";
    let r = http_client()
        .post(format!("{}/api/v1/auth/register", server.base_url))
        .json(&json!({"identifier": who, "password": PW, "accept_policy": "1"}))
        .send()
        .await
        .expect("register");
    assert_eq!(r.status(), 202);
    let outbox = data.join("outbox.log");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let code = loop {
        if let Some(c) = read_outbox(&outbox).first().and_then(|e| e.code()) {
            break c;
        }
        assert!(std::time::Instant::now() < deadline, "no code in the outbox");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    // The log line follows the outbox line: wait for it before looking for the code.
    let log = loop {
        let log = server.log();
        if log.contains("written to the") {
            break log;
        }
        assert!(std::time::Instant::now() < deadline, "the outbox write was not logged");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(!log.contains(&code), "the code reached the process log:\n{log}");
}
