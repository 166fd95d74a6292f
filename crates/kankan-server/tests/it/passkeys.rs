//! Passkeys through the real routes, with the software authenticator: registration (after the
//! password again), passkey-only login, and everything an attacker might try: another origin,
//! another challenge, a replayed assertion, a cloned authenticator, a removed passkey, another
//! account's credential; failed logins locked out like password logins.

use kankan_testkit::TestApp;
use kankan_testkit::passkey::SoftAuthenticator;
use serde_json::{Value, json};

const PW: &str = "plum-garden-kettle-42";

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = app.http.post(app.localhost_url(path)).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    app.send(req).await
}

async fn get(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    app.send(app.http.get(app.localhost_url(path)).bearer_auth(token)).await
}

/// Adds a passkey named `name` with `auth`; answers its id.
async fn add_passkey(
    app: &TestApp,
    token: &str,
    auth: &mut SoftAuthenticator,
    name: &str,
) -> String {
    let (s, o) =
        post(app, "/api/v1/me/passkeys/options", Some(token), json!({"current_password": PW}))
            .await;
    assert_eq!(s, 200, "{o}");
    let credential = auth.create(&o["public_key"]).expect("create");
    let body = json!({"challenge_id": o["challenge_id"], "credential": credential, "name": name});
    let (s, b) = post(app, "/api/v1/me/passkeys", Some(token), body).await;
    assert_eq!(s, 201, "{b}");
    b["id"].as_str().expect("id").to_string()
}

/// Login options and the authenticator's answer.
async fn assertion(app: &TestApp, auth: &mut SoftAuthenticator) -> (Value, Value) {
    let (s, o) = post(app, "/api/v1/auth/passkey/options", None, json!({})).await;
    assert_eq!(s, 200, "{o}");
    let credential = auth.get(&o["public_key"]).expect("get");
    (o["challenge_id"].clone(), credential)
}

async fn passkey_login(app: &TestApp, challenge: &Value, credential: &Value) -> (u16, Value) {
    let body = json!({"challenge_id": challenge, "credential": credential});
    post(app, "/api/v1/auth/passkey/login", None, body).await
}

/// An account with a passkey: its token and authenticator.
async fn with_passkey(app: &TestApp, id: &str) -> (String, SoftAuthenticator) {
    let token = app.register(id, PW).await;
    let mut auth = app.soft_authenticator();
    add_passkey(app, &token, &mut auth, "Laptop").await;
    (token, auth)
}

fn refused(s: u16, b: &Value, reason: &str) {
    assert_eq!((s, b["code"].as_str()), (400, Some("passkey-invalid")), "{b}");
    let message = b["message"].as_str().unwrap_or_default();
    assert!(message.contains(reason), "{reason} in {message}");
}

#[tokio::test]
async fn a_passkey_added_with_the_password_signs_in_alone() {
    let app = TestApp::spawn().await;
    let (token, mut auth) = with_passkey(&app, "pk-alone@example.com").await;
    let (s, list) = get(&app, "/api/v1/me/passkeys", &token).await;
    assert_eq!(s, 200);
    assert_eq!(list[0]["name"], "Laptop");
    assert!(list[0]["last_used_at_ms"].is_null());

    let (challenge, credential) = assertion(&app, &mut auth).await;
    let (s, b) = passkey_login(&app, &challenge, &credential).await;
    assert_eq!(s, 200, "{b}");
    let new_token = b["token"].as_str().expect("a session token");
    assert_eq!(b["account"]["identifier"], "pk-alone@example.com");
    let (s, me) = get(&app, "/api/v1/me", new_token).await;
    assert_eq!((s, me["identifier"].as_str()), (200, Some("pk-alone@example.com")));
    let (_, list) = get(&app, "/api/v1/me/passkeys", &token).await;
    assert!(list[0]["last_used_at_ms"].is_i64(), "{list}");
    app.stop().await;
}

#[tokio::test]
async fn adding_a_passkey_needs_the_current_password_and_a_name() {
    let app = TestApp::spawn().await;
    let token = app.register("pk-pw@example.com", PW).await;
    let (s, b) = post(
        &app,
        "/api/v1/me/passkeys/options",
        Some(&token),
        json!({"current_password": "not-the-password-1"}),
    )
    .await;
    assert_eq!((s, b["code"].as_str()), (400, Some("wrong-password")), "{b}");
    let (_, o) =
        post(&app, "/api/v1/me/passkeys/options", Some(&token), json!({"current_password": PW}))
            .await;
    let credential = app.soft_authenticator().create(&o["public_key"]).expect("create");
    let body = json!({"challenge_id": o["challenge_id"], "credential": credential, "name": " "});
    let (s, b) = post(&app, "/api/v1/me/passkeys", Some(&token), body).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("invalid-passkey-name")), "{b}");
    let (_, list) = get(&app, "/api/v1/me/passkeys", &token).await;
    assert_eq!(list, json!([]), "nothing half-stored");
    app.stop().await;
}

#[tokio::test]
async fn a_creation_answered_from_another_origin_or_for_another_challenge_is_refused() {
    let app = TestApp::spawn().await;
    let token = app.register("pk-origin@example.com", PW).await;
    let options = || async {
        post(&app, "/api/v1/me/passkeys/options", Some(&token), json!({"current_password": PW}))
            .await
            .1
    };
    let o = options().await;
    let mut evil = SoftAuthenticator::new("https://evil.example");
    let credential = evil.create(&o["public_key"]).expect("create");
    let body = json!({"challenge_id": o["challenge_id"], "credential": credential, "name": "x"});
    let (s, b) = post(&app, "/api/v1/me/passkeys", Some(&token), body).await;
    refused(s, &b, "wrong-origin");
    let (first, second) = (options().await, options().await);
    let credential = app.soft_authenticator().create(&first["public_key"]).expect("create");
    let body =
        json!({"challenge_id": second["challenge_id"], "credential": credential, "name": "x"});
    let (s, b) = post(&app, "/api/v1/me/passkeys", Some(&token), body).await;
    refused(s, &b, "wrong-challenge");
    app.stop().await;
}

#[tokio::test]
async fn a_login_from_another_origin_or_for_another_challenge_is_refused() {
    let app = TestApp::spawn().await;
    let (_, mut auth) = with_passkey(&app, "pk-login-origin@example.com").await;
    let good_origin = auth.origin.clone();
    auth.origin = "https://evil.example".into();
    let (challenge, credential) = assertion(&app, &mut auth).await;
    let (s, b) = passkey_login(&app, &challenge, &credential).await;
    refused(s, &b, "wrong-origin");
    auth.origin = good_origin;
    let (_, credential) = assertion(&app, &mut auth).await;
    let (other_challenge, _) = assertion(&app, &mut auth).await;
    let (s, b) = passkey_login(&app, &other_challenge, &credential).await;
    refused(s, &b, "wrong-challenge");
    app.stop().await;
}

#[tokio::test]
async fn a_replayed_assertion_is_refused() {
    let app = TestApp::spawn().await;
    let (_, mut auth) = with_passkey(&app, "pk-replay@example.com").await;
    let (challenge, credential) = assertion(&app, &mut auth).await;
    assert_eq!(passkey_login(&app, &challenge, &credential).await.0, 200);
    let (s, b) = passkey_login(&app, &challenge, &credential).await;
    refused(s, &b, "challenge is unknown, already answered or expired");
    app.stop().await;
}

#[tokio::test]
async fn a_cloned_authenticator_is_refused() {
    let app = TestApp::spawn().await;
    let (_, mut auth) = with_passkey(&app, "pk-clone@example.com").await;
    let mut clone = auth.clone();
    let (challenge, credential) = assertion(&app, &mut auth).await;
    assert_eq!(passkey_login(&app, &challenge, &credential).await.0, 200);
    // The clone signs with the same counter the original already used.
    let (challenge, credential) = assertion(&app, &mut clone).await;
    let (s, b) = passkey_login(&app, &challenge, &credential).await;
    refused(s, &b, "sign-count");
    app.stop().await;
}

#[tokio::test]
async fn a_removed_passkey_signs_in_no_more() {
    let app = TestApp::spawn().await;
    let token = app.register("pk-remove@example.com", PW).await;
    let mut auth = app.soft_authenticator();
    let id = add_passkey(&app, &token, &mut auth, "Phone").await;
    let path = format!("/api/v1/me/passkeys/{id}");
    let rename = app.http.patch(app.localhost_url(&path)).bearer_auth(&token);
    assert_eq!(app.send(rename.json(&json!({"name": "Old phone"}))).await.0, 204);
    let (_, list) = get(&app, "/api/v1/me/passkeys", &token).await;
    assert_eq!(list[0]["name"], "Old phone");
    let (s, _) = app.send(app.http.delete(app.localhost_url(&path)).bearer_auth(&token)).await;
    assert_eq!(s, 204);
    let (challenge, credential) = assertion(&app, &mut auth).await;
    let (s, b) = passkey_login(&app, &challenge, &credential).await;
    refused(s, &b, "no account has this passkey");
    let (s, _) = app.send(app.http.delete(app.localhost_url(&path)).bearer_auth(&token)).await;
    assert_eq!(s, 404, "already gone");
    app.stop().await;
}

#[tokio::test]
async fn another_accounts_passkey_cannot_be_used_or_changed() {
    let app = TestApp::spawn().await;
    // Both register first: a passkey's notice would come between a registration and its code.
    let alice_token = app.register("pk-alice@example.com", PW).await;
    let bob_token = app.register("pk-bob@example.com", PW).await;
    let mut alice = app.soft_authenticator();
    add_passkey(&app, &alice_token, &mut alice, "Laptop").await;
    add_passkey(&app, &bob_token, &mut app.soft_authenticator(), "Laptop").await;
    // Alice's assertion presented as Bob (his user handle): refused.
    let (_, o) = post(
        &app,
        "/api/v1/me/passkeys/options",
        Some(&bob_token),
        json!({"current_password": PW}),
    )
    .await;
    let bob_handle = o["public_key"]["user"]["id"].clone();
    let (challenge, mut credential) = assertion(&app, &mut alice).await;
    credential["response"]["userHandle"] = bob_handle;
    let (s, b) = passkey_login(&app, &challenge, &credential).await;
    refused(s, &b, "user handle");
    // Bob cannot rename or remove Alice's passkey.
    let (_, list) = get(&app, "/api/v1/me/passkeys", &alice_token).await;
    let path = format!("/api/v1/me/passkeys/{}", list[0]["id"].as_str().expect("id"));
    let rename = app.http.patch(app.localhost_url(&path)).bearer_auth(&bob_token);
    assert_eq!(app.send(rename.json(&json!({"name": "mine"}))).await.0, 404);
    let delete = app.http.delete(app.localhost_url(&path)).bearer_auth(&bob_token);
    assert_eq!(app.send(delete).await.0, 404);
    app.stop().await;
}

#[tokio::test]
async fn failed_passkey_logins_lock_the_passkey_out_like_password_logins() {
    let app = TestApp::spawn().await;
    let (_, mut auth) = with_passkey(&app, "pk-lock@example.com").await;
    let good_origin = auth.origin.clone();
    auth.origin = "https://evil.example".into();
    for _ in 0..5 {
        let (challenge, credential) = assertion(&app, &mut auth).await;
        let (s, b) = passkey_login(&app, &challenge, &credential).await;
        assert_eq!(s, 400, "{b}");
    }
    auth.origin = good_origin;
    let (challenge, credential) = assertion(&app, &mut auth).await;
    let (s, b) = passkey_login(&app, &challenge, &credential).await;
    assert_eq!((s, b["code"].as_str()), (429, Some("account-locked")), "{b}");
    app.stop().await;
}

#[tokio::test]
async fn passkeys_need_a_host_name() {
    let app = TestApp::spawn().await;
    let (s, b) = app.post("/api/v1/auth/passkey/options", json!({})).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("passkey-unavailable")), "{b}");
    app.stop().await;
}

/// Promise 105: the server keeps only a passkey's public key; its private key stays on the
/// authenticator, and the name the user gave is sealed under the account key.
#[tokio::test]
async fn the_server_keeps_only_the_public_key_of_a_passkey() {
    let app = TestApp::spawn().await;
    let token = app.register("pk-public@example.com", PW).await;
    let mut auth = app.soft_authenticator();
    add_passkey(&app, &token, &mut auth, "Distinctive-Name-Of-Mine").await;
    let pkcs8 = auth.credentials()[0].pkcs8().to_vec();
    // ring's P-256 PKCS#8: the 32-byte private scalar follows `04 20` at offset 34.
    assert_eq!(&pkcs8[34..36], &[0x04, 0x20], "the PKCS#8 layout");
    let scalar = &pkcs8[36..68];
    for (what, bytes) in app.stored_bytes().await {
        assert!(!bytes.windows(32).any(|w| w == scalar), "the private key is in {what}");
        assert!(
            !bytes.windows(24).any(|w| w == b"Distinctive-Name-Of-Mine"),
            "the passkey's name in clear in {what}"
        );
    }
    app.stop().await;
}

/// Promise 106: a passkey-only login reveals no account identifier: its options name no
/// account, and the user handle the authenticator keeps is opaque (not the account's id or
/// e-mail address).
#[tokio::test]
async fn passkey_login_options_and_user_handles_name_no_account() {
    let app = TestApp::spawn().await;
    let id = "pk-opaque@example.com";
    let token = app.register(id, PW).await;
    let (_, me) = get(&app, "/api/v1/me", &token).await;
    let account_id = me["id"].as_str().expect("id").to_string();
    let (_, o) =
        post(&app, "/api/v1/me/passkeys/options", Some(&token), json!({"current_password": PW}))
            .await;
    let handle = o["public_key"]["user"]["id"].as_str().expect("handle").to_string();
    let raw = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&handle).expect("b64")
    };
    let uuid = uuid::Uuid::parse_str(&account_id).expect("uuid");
    for forbidden in [account_id.as_bytes(), uuid.as_bytes().as_slice(), id.as_bytes()] {
        assert!(!raw.windows(forbidden.len().min(raw.len())).any(|w| w == forbidden), "{handle}");
    }
    assert_eq!(raw.len(), 32, "a keyed digest");
    let (s, login) = post(&app, "/api/v1/auth/passkey/options", None, json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(login["public_key"]["allowCredentials"], json!([]), "{login}");
    let text = login.to_string();
    assert!(!text.contains(&account_id) && !text.contains(id) && !text.contains(&handle), "{text}");
    app.stop().await;
}

/// A password login that answered 202: its ticket and methods.
async fn password_step(app: &TestApp, id: &str) -> (String, Value) {
    let (s, b) =
        post(app, "/api/v1/auth/login", None, json!({"identifier": id, "password": PW})).await;
    assert_eq!(s, 202, "a second factor is asked for: {b}");
    (b["ticket"].as_str().expect("ticket").to_string(), b["methods"].clone())
}

async fn second_factor_with(
    app: &TestApp,
    ticket: &str,
    auth: &mut SoftAuthenticator,
) -> (u16, Value) {
    let body = json!({"ticket": ticket});
    let (s, o) = post(app, "/api/v1/auth/second-factor/passkey-options", None, body).await;
    assert_eq!(s, 200, "{o}");
    assert!(o.get("challenge_id").is_none(), "the ticket holds the challenge: {o}");
    let assertion = auth.get(&o["public_key"]).expect("get");
    let body = json!({"ticket": ticket, "passkey": assertion});
    post(app, "/api/v1/auth/second-factor", None, body).await
}

#[tokio::test]
async fn a_passkey_is_the_second_factor_of_a_password_login() {
    let app = TestApp::spawn().await;
    let id = "pk-second@example.com";
    let (_, mut auth) = with_passkey(&app, id).await;
    let (ticket, methods) = password_step(&app, id).await;
    assert!(methods.as_array().is_some_and(|m| m.contains(&json!("passkey"))), "{methods}");
    let (s, b) = second_factor_with(&app, &ticket, &mut auth).await;
    assert_eq!(s, 200, "{b}");
    let token = b["token"].as_str().expect("session");
    let (_, sessions) = get(&app, "/api/v1/me/sessions", token).await;
    let current =
        sessions.as_array().and_then(|l| l.iter().find(|s| s["current"] == true).cloned());
    assert_eq!(current.expect("current")["signed_in_with"], "password+passkey", "{sessions}");
    app.stop().await;
}

#[tokio::test]
async fn another_accounts_passkey_is_not_a_second_factor() {
    let app = TestApp::spawn().await;
    let alice_token = app.register("pk-2fa-alice@example.com", PW).await;
    let bob_token = app.register("pk-2fa-bob@example.com", PW).await;
    let mut alice = app.soft_authenticator();
    add_passkey(&app, &alice_token, &mut alice, "Alice's").await;
    let mut bob = app.soft_authenticator();
    add_passkey(&app, &bob_token, &mut bob, "Bob's").await;
    let (ticket, _) = password_step(&app, "pk-2fa-alice@example.com").await;
    let (_, o) =
        post(&app, "/api/v1/auth/second-factor/passkey-options", None, json!({"ticket": ticket}))
            .await;
    // Bob's authenticator answers Alice's ticket (its allow list names only Alice's passkey).
    let mut options = o["public_key"].clone();
    options["allowCredentials"] = json!([]);
    let assertion = bob.get(&options).expect("get");
    let body = json!({"ticket": ticket, "passkey": assertion});
    let (s, b) = post(&app, "/api/v1/auth/second-factor", None, body).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("second-factor-invalid")), "{b}");
    // Alice's own passkey still finishes the login.
    let (s, b) = second_factor_with(&app, &ticket, &mut alice).await;
    assert_eq!(s, 200, "{b}");
    app.stop().await;
}
