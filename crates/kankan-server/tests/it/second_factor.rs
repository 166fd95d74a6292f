//! Two-step login with an authenticator app: enrolment, the login's second step, replayed
//! and wrong codes, recovery codes, throttling across tickets, remembered devices, the
//! operator's requirement and how sessions signed in. Codes come from the reference
//! implementation (PyPI `pyotp`), at the test clock's time.

use std::time::Duration;

use kankan_base::Clock as _;
use kankan_testkit::TestApp;
use serde_json::{Value, json};

pub(crate) const PW: &str = "plum-garden-kettle-42";

/// The code `pyotp` (the reference implementation) shows for `secret` at the app's time.
pub(crate) fn pyotp_code(app: &TestApp, secret: &str) -> String {
    let t = app.clock.now().0 / 1000;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(format!("import pyotp; print(pyotp.TOTP('{secret}').at({t}))"))
        .output()
        .expect("python3 runs (scripts/test installs pyotp)");
    assert!(out.status.success(), "pyotp: {}", String::from_utf8_lossy(&out.stderr));
    let code = String::from_utf8(out.stdout).expect("utf-8").trim().to_string();
    assert_eq!(code.len(), 6, "pyotp answered {code:?}");
    code
}

/// A wrong code for `secret` now (the right one with its last digit changed).
pub(crate) fn wrong_code(app: &TestApp, secret: &str) -> String {
    let right = pyotp_code(app, secret);
    let last = right.as_bytes()[5] - b'0';
    format!("{}{}", &right[..5], (last + 1) % 10)
}

/// Lets the authenticator app's code change (one 30-second step).
pub(crate) fn next_step(app: &TestApp) {
    app.clock.advance(Duration::from_secs(30));
}

pub(crate) async fn post_bearer(
    app: &TestApp,
    token: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    app.send(app.http.post(app.url(path)).bearer_auth(token).json(&body)).await
}

/// Registers `who` and enrols an authenticator app: (bearer token, base32 secret, recovery
/// codes). The clock is one step past the confirming code.
pub(crate) async fn enrolled(app: &TestApp, who: &str) -> (String, String, Vec<String>) {
    let token = app.register(who, PW).await;
    let (s, b) =
        post_bearer(app, &token, "/api/v1/me/second-factor/totp", json!({"password": PW})).await;
    assert_eq!(s, 200, "{b}");
    let secret = b["secret"].as_str().expect("secret").to_string();
    let code = pyotp_code(app, &secret);
    let (s, b) =
        post_bearer(app, &token, "/api/v1/me/second-factor/totp/confirm", json!({"code": code}))
            .await;
    assert_eq!(s, 200, "{b}");
    let codes = b["recovery_codes"].as_array().expect("codes");
    let codes = codes.iter().map(|c| c.as_str().expect("code").to_string()).collect();
    next_step(app);
    (token, secret, codes)
}

/// A password login that must answer 202: the ticket.
pub(crate) async fn ticket(app: &TestApp, who: &str) -> String {
    let (s, b) = app.login(who, PW).await;
    assert_eq!(s, 202, "a second factor is asked: {b}");
    b["ticket"].as_str().expect("ticket").to_string()
}

pub(crate) async fn second(app: &TestApp, body: Value) -> (u16, Value) {
    app.post("/api/v1/auth/second-factor", body).await
}

#[tokio::test]
async fn enrolment_shows_a_qr_code_and_the_secret_and_confirms_with_a_pyotp_code() {
    let app = TestApp::spawn().await;
    let token = app.register("enrol@example.com", PW).await;
    let (s, b) = post_bearer(
        &app,
        &token,
        "/api/v1/me/second-factor/totp",
        json!({"password": "wrong-password-9"}),
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("wrong-password")), "{b}");
    let (s, b) =
        post_bearer(&app, &token, "/api/v1/me/second-factor/totp", json!({"password": PW})).await;
    assert_eq!(s, 200, "{b}");
    let secret = b["secret"].as_str().expect("secret");
    let uri = b["otpauth_uri"].as_str().expect("uri");
    assert!(uri.starts_with("otpauth://totp/Kankan:enrol%40example.com?secret="), "{uri}");
    assert!(uri.contains(&format!("secret={secret}&")), "{uri}");
    assert!(b["qr_svg"].as_str().expect("svg").contains("<svg"), "an SVG QR code");
    // Not enabled before the first code: a login needs none.
    let (_, st) = app.get_authed("/api/v1/me/second-factor", &token).await;
    assert_eq!((st["methods"].clone(), st["totp_pending"].clone()), (json!([]), json!(true)));
    let (s, _) = app.login("enrol@example.com", PW).await;
    assert_eq!(s, 200);
    let (s, b) = post_bearer(
        &app,
        &token,
        "/api/v1/me/second-factor/totp/confirm",
        json!({"code": wrong_code(&app, secret)}),
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (401, Some("second-factor-invalid")), "{b}");
    let code = pyotp_code(&app, secret);
    let (s, b) =
        post_bearer(&app, &token, "/api/v1/me/second-factor/totp/confirm", json!({"code": code}))
            .await;
    assert_eq!(s, 200, "{b}");
    let codes = b["recovery_codes"].as_array().expect("codes");
    assert_eq!(codes.len(), 10);
    let (_, st) = app.get_authed("/api/v1/me/second-factor", &token).await;
    assert_eq!(st["methods"], json!(["totp", "recovery-code"]));
    assert_eq!(st["recovery_codes_left"], 10);
    let (s, b) =
        post_bearer(&app, &token, "/api/v1/me/second-factor/totp", json!({"password": PW})).await;
    assert_eq!((s, b["code"].as_str()), (409, Some("second-factor-already-enrolled")));
}

#[tokio::test]
async fn a_login_asks_for_the_code_and_the_pyotp_code_opens_the_session() {
    let app = TestApp::spawn().await;
    let (_, secret, _) = enrolled(&app, "login@example.com").await;
    let (s, b) = app.login("login@example.com", PW).await;
    assert_eq!(s, 202, "{b}");
    assert_eq!(b["methods"], json!(["totp", "recovery-code"]));
    assert!(b.get("token").is_none(), "no session before the second factor");
    let expires = b["expires_at_ms"].as_i64().expect("expiry");
    assert_eq!(expires - app.clock.now().0, 5 * 60 * 1000);
    let t = b["ticket"].as_str().expect("ticket");
    let (s, b) = second(&app, json!({"ticket": t, "totp": pyotp_code(&app, &secret)})).await;
    assert_eq!(s, 200, "{b}");
    let token = b["token"].as_str().expect("session");
    let (s, me) = app.get_authed("/api/v1/me", token).await;
    assert_eq!((s, me["identifier"].as_str()), (200, Some("login@example.com")));
    // The ticket was used up.
    next_step(&app);
    let (s, b) = second(&app, json!({"ticket": t, "totp": pyotp_code(&app, &secret)})).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("second-factor-invalid")));
}

#[tokio::test]
async fn a_wrong_code_is_refused_and_written_to_the_login_history() {
    let app = TestApp::spawn().await;
    let (token, secret, _) = enrolled(&app, "wrong@example.com").await;
    let t = ticket(&app, "wrong@example.com").await;
    let (s, b) = second(&app, json!({"ticket": t, "totp": wrong_code(&app, &secret)})).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("second-factor-invalid")), "{b}");
    let (s, b) = second(&app, json!({"ticket": t, "totp": "12a456"})).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("second-factor-invalid")), "{b}");
    let (_, history) = app.get_authed("/api/v1/me/logins", &token).await;
    let outcomes: Vec<&str> =
        history.as_array().expect("list").iter().filter_map(|e| e["outcome"].as_str()).collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "second-factor-failed").count(),
        2,
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn a_used_code_is_refused_when_replayed() {
    let app = TestApp::spawn().await;
    let (_, secret, _) = enrolled(&app, "replay@example.com").await;
    let code = pyotp_code(&app, &secret);
    let t = ticket(&app, "replay@example.com").await;
    let (s, _) = second(&app, json!({"ticket": t, "totp": code})).await;
    assert_eq!(s, 200);
    // The same code, still inside its 30 seconds, on a new login: refused.
    let t = ticket(&app, "replay@example.com").await;
    let (s, b) = second(&app, json!({"ticket": t, "totp": code})).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("second-factor-invalid")), "{b}");
    // The next step's code works on the same ticket.
    next_step(&app);
    let (s, b) = second(&app, json!({"ticket": t, "totp": pyotp_code(&app, &secret)})).await;
    assert_eq!(s, 200, "{b}");
}

#[tokio::test]
async fn a_recovery_code_works_once() {
    let app = TestApp::spawn().await;
    let (token, _, codes) = enrolled(&app, "recover@example.com").await;
    let t = ticket(&app, "recover@example.com").await;
    // Typed loosely: upper case, spaces for the dash.
    let typed = codes[0].to_uppercase().replace('-', " ");
    let (s, b) = second(&app, json!({"ticket": t, "recovery_code": typed})).await;
    assert_eq!(s, 200, "{b}");
    let t = ticket(&app, "recover@example.com").await;
    let (s, b) = second(&app, json!({"ticket": t, "recovery_code": codes[0]})).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("second-factor-invalid")), "{b}");
    let (_, st) = app.get_authed("/api/v1/me/second-factor", &token).await;
    assert_eq!(st["recovery_codes_left"], 9);
}

#[tokio::test]
async fn a_ticket_takes_five_attempts_then_even_the_right_code_is_refused() {
    let app = TestApp::spawn().await;
    let (_, secret, _) = enrolled(&app, "tries@example.com").await;
    let t = ticket(&app, "tries@example.com").await;
    for _ in 0..5 {
        let (s, _) = second(&app, json!({"ticket": t, "totp": wrong_code(&app, &secret)})).await;
        assert_eq!(s, 401);
    }
    let (s, b) = second(&app, json!({"ticket": t, "totp": pyotp_code(&app, &secret)})).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("second-factor-invalid")), "{b}");
}

#[tokio::test]
async fn a_ticket_expires_after_five_minutes() {
    let app = TestApp::spawn().await;
    let (_, secret, _) = enrolled(&app, "expiry@example.com").await;
    let t = ticket(&app, "expiry@example.com").await;
    app.clock.advance(Duration::from_secs(5 * 60));
    let (s, b) = second(&app, json!({"ticket": t, "totp": pyotp_code(&app, &secret)})).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("second-factor-invalid")), "{b}");
}

#[tokio::test]
async fn failures_across_tickets_are_throttled_until_the_window_ends() {
    let app = TestApp::spawn().await;
    let (_, secret, _) = enrolled(&app, "brute@example.com").await;
    // 10 codes per 15 minutes per account (limits.second_factor_per_account), whatever the
    // ticket: the enrolment's confirming code was one, two tickets' wrong codes spend the
    // other nine.
    for tries in [5, 4] {
        let t = ticket(&app, "brute@example.com").await;
        for _ in 0..tries {
            let (s, b) =
                second(&app, json!({"ticket": t, "totp": wrong_code(&app, &secret)})).await;
            assert_eq!(s, 401, "{b}");
        }
    }
    let t = ticket(&app, "brute@example.com").await;
    let resp = app
        .http
        .post(app.url("/api/v1/auth/second-factor"))
        .json(&json!({"ticket": t, "totp": pyotp_code(&app, &secret)}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 429, "even the right code waits");
    let retry: u64 = resp.headers()["retry-after"].to_str().expect("ascii").parse().expect("secs");
    assert!(retry > 0 && retry <= 900, "{retry}");
    app.clock.advance(Duration::from_secs(900));
    let t = ticket(&app, "brute@example.com").await;
    let (s, b) = second(&app, json!({"ticket": t, "totp": pyotp_code(&app, &secret)})).await;
    assert_eq!(s, 200, "lifted after the window: {b}");
}

/// The `name=value` of the `Set-Cookie` named `name`, if the response sets it.
fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().expect("name=value").to_string())
}

#[tokio::test]
async fn a_remembered_device_skips_the_second_factor_and_a_new_device_is_asked() {
    let app = TestApp::spawn().await;
    let (token, secret, _) = enrolled(&app, "remember@example.com").await;
    let t = ticket(&app, "remember@example.com").await;
    let resp = app
        .http
        .post(app.url("/api/v1/auth/second-factor"))
        .json(&json!({"ticket": t, "totp": pyotp_code(&app, &secret), "remember_device": true}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    let raw = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("a"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        raw.contains("kankan_device=")
            && raw.contains("HttpOnly")
            && raw.contains("Max-Age=2592000"),
        "{raw}"
    );
    let device = set_cookie(&resp, "kankan_device").expect("device cookie");
    let login = |cookie: Option<String>| {
        let mut req = app
            .http
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({"identifier": "remember@example.com", "password": PW}));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        app.send(req)
    };
    let (s, b) = login(Some(device.clone())).await;
    assert_eq!(s, 200, "the remembered browser signs in with the password: {b}");
    let (s, _) = login(None).await;
    assert_eq!(s, 202, "a new device is asked");
    let (s, _) = login(Some("kankan_device=forged".into())).await;
    assert_eq!(s, 202, "an unknown cookie is a new device");
    let (_, st) = app.get_authed("/api/v1/me/second-factor", &token).await;
    let devices = st["remembered_devices"].as_array().expect("list");
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0]["client"], "kankan-testkit");
    let (s, _) = app
        .send(app.http.delete(app.url("/api/v1/me/second-factor/devices")).bearer_auth(&token))
        .await;
    assert_eq!(s, 204);
    let (s, _) = login(Some(device.clone())).await;
    assert_eq!(s, 202, "a forgotten device is asked again");
}

#[tokio::test]
async fn a_remembered_device_is_asked_again_after_thirty_days() {
    let app = TestApp::spawn().await;
    let (_, secret, _) = enrolled(&app, "month@example.com").await;
    let t = ticket(&app, "month@example.com").await;
    let resp = app
        .http
        .post(app.url("/api/v1/auth/second-factor"))
        .json(&json!({"ticket": t, "totp": pyotp_code(&app, &secret), "remember_device": true}))
        .send()
        .await
        .expect("send");
    let device = set_cookie(&resp, "kankan_device").expect("device cookie");
    app.clock.advance(Duration::from_secs(30 * 86_400));
    let req = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("cookie", device)
        .json(&json!({"identifier": "month@example.com", "password": PW}));
    let (s, _) = app.send(req).await;
    assert_eq!(s, 202);
}

#[tokio::test]
async fn sessions_show_how_they_signed_in() {
    let app = TestApp::spawn().await;
    let (token, secret, codes) = enrolled(&app, "how@example.com").await;
    let t = ticket(&app, "how@example.com").await;
    let (s, _) = second(&app, json!({"ticket": t, "totp": pyotp_code(&app, &secret)})).await;
    assert_eq!(s, 200);
    let t = ticket(&app, "how@example.com").await;
    let (s, _) = second(&app, json!({"ticket": t, "recovery_code": codes[3]})).await;
    assert_eq!(s, 200);
    let (_, list) = app.get_authed("/api/v1/me/sessions", &token).await;
    let mut how: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["signed_in_with"].as_str().expect("method"))
        .collect();
    how.sort_unstable();
    assert_eq!(how, ["password", "password+recovery-code", "password+totp"]);
}

#[tokio::test]
async fn disabling_needs_the_password_and_a_current_code_then_logins_need_none() {
    let app = TestApp::spawn().await;
    let (token, secret, _) = enrolled(&app, "off@example.com").await;
    let path = "/api/v1/me/second-factor/totp/disable";
    let (s, b) =
        post_bearer(&app, &token, path, json!({"password": PW, "code": wrong_code(&app, &secret)}))
            .await;
    assert_eq!((s, b["code"].as_str()), (401, Some("second-factor-invalid")));
    let (s, b) = post_bearer(
        &app,
        &token,
        path,
        json!({"password": "not-the-password-1", "code": pyotp_code(&app, &secret)}),
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("wrong-password")));
    let (s, b) =
        post_bearer(&app, &token, path, json!({"password": PW, "code": pyotp_code(&app, &secret)}))
            .await;
    assert_eq!(s, 204, "{b}");
    let (_, st) = app.get_authed("/api/v1/me/second-factor", &token).await;
    assert_eq!((st["methods"].clone(), st["recovery_codes_left"].clone()), (json!([]), json!(0)));
    let (s, _) = app.login("off@example.com", PW).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn regenerated_recovery_codes_replace_the_old_ones() {
    let app = TestApp::spawn().await;
    let (token, _, old) = enrolled(&app, "regen@example.com").await;
    let (s, b) = post_bearer(
        &app,
        &token,
        "/api/v1/me/second-factor/recovery-codes",
        json!({"password": PW}),
    )
    .await;
    assert_eq!(s, 200, "{b}");
    let new: Vec<String> = b["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("c").to_string())
        .collect();
    assert_eq!(new.len(), 10);
    let t = ticket(&app, "regen@example.com").await;
    let (s, _) = second(&app, json!({"ticket": t, "recovery_code": old[0]})).await;
    assert_eq!(s, 401, "an old code stopped working");
    let (s, _) = second(&app, json!({"ticket": t, "recovery_code": new[0]})).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn required_second_factor_restricts_the_session_to_enrolment_until_one_is_enrolled() {
    let app = TestApp::spawn_with(|c| c.accounts.require_second_factor = true).await;
    let token = app.register("must@example.com", PW).await;
    let (s, b) = app.login("must@example.com", PW).await;
    assert_eq!((s, b["second_factor_enrolment_required"].as_bool()), (200, Some(true)), "{b}");
    let (s, b) = app.get_authed("/api/v1/devices", &token).await;
    assert_eq!((s, b["code"].as_str()), (403, Some("second-factor-enrolment-required")), "{b}");
    let (s, _) = app.get_authed("/api/v1/me/sessions", &token).await;
    assert_eq!(s, 403);
    let (s, _) = app.get_authed("/api/v1/me", &token).await;
    assert_eq!(s, 200, "the account stays readable");
    let (s, st) = app.get_authed("/api/v1/me/second-factor", &token).await;
    assert_eq!((s, st["required"].as_bool()), (200, Some(true)));
    let (s, b) =
        post_bearer(&app, &token, "/api/v1/me/second-factor/totp", json!({"password": PW})).await;
    assert_eq!(s, 200, "{b}");
    let secret = b["secret"].as_str().expect("secret").to_string();
    let (s, _) = post_bearer(
        &app,
        &token,
        "/api/v1/me/second-factor/totp/confirm",
        json!({"code": pyotp_code(&app, &secret)}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, _) = app.get_authed("/api/v1/devices", &token).await;
    assert_eq!(s, 200, "enrolled: the session reaches everything");
    let (s, _) = app.send(app.http.post(app.url("/api/v1/auth/logout")).bearer_auth(&token)).await;
    assert_eq!(s, 204);
}

#[tokio::test]
async fn the_totp_secret_recovery_codes_tickets_and_device_cookies_are_never_stored_in_clear() {
    let app = TestApp::spawn().await;
    let (_, secret, codes) = enrolled(&app, "rest@example.com").await;
    let t = ticket(&app, "rest@example.com").await;
    let resp = app
        .http
        .post(app.url("/api/v1/auth/second-factor"))
        .json(&json!({"ticket": t, "totp": pyotp_code(&app, &secret), "remember_device": true}))
        .send()
        .await
        .expect("send");
    let device = set_cookie(&resp, "kankan_device").expect("device cookie");
    let device = device.trim_start_matches("kankan_device=").to_string();
    let raw = kankan_crypto::totp::base32_decode(&secret).expect("base32");
    let _pending = ticket(&app, "rest@example.com").await;
    let mut needles: Vec<(String, Vec<u8>)> = vec![
        ("the secret".into(), raw),
        ("the secret in base32".into(), secret.clone().into_bytes()),
        ("a ticket".into(), t.clone().into_bytes()),
        ("the device cookie".into(), device.into_bytes()),
    ];
    for c in &codes {
        needles.push(("a recovery code".into(), c.clone().into_bytes()));
        needles.push(("a recovery code".into(), c.replace('-', "").into_bytes()));
    }
    for (place, bytes) in app.stored_bytes().await {
        for (what, needle) in &needles {
            let found = bytes.windows(needle.len()).any(|w| w == needle.as_slice());
            assert!(!found, "{what} is stored in clear in {place}");
        }
    }
}
