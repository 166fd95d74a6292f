//! `PushClient` against `PushService`: delivery, decryption by the browser's keys, and the
//! service's VAPID and header checks (each refusal mapped onto the client's error).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kankan_notify::webpush::{self, PushClient, PushError, PushSubscription, Urgency, VapidKey};
use kankan_testkit::push::{PushService, UserAgentKeys};

const WAIT: Duration = Duration::from_secs(10);

fn subscription(service: &PushService, name: &str, keys: &UserAgentKeys) -> PushSubscription {
    PushSubscription {
        endpoint: service.subscription_endpoint(name),
        p256dh: keys.p256dh.clone(),
        auth: keys.auth.clone(),
    }
}

fn client(vapid: VapidKey) -> PushClient {
    PushClient::new(crate::http(), vapid, "mailto:ops@kankan.example".into())
}

fn now_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

#[tokio::test]
async fn a_push_arrives_and_the_browser_decrypts_it() {
    let service = PushService::start().await;
    let keys = UserAgentKeys::generate();
    let payload = br#"{"title":"Motion at Front door","kind":"motion"}"#;
    client(VapidKey::generate())
        .send(&subscription(&service, "alice", &keys), payload, 600, Urgency::High)
        .await
        .expect("accepted");
    let got = service.wait_for("alice", 1, WAIT).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].ttl, 600);
    assert_eq!(got[0].urgency, "high");
    assert!(got[0].authorization.starts_with("vapid t="));
    assert_eq!(keys.decrypt(&got[0].body), payload);
    assert!(service.received("bob").is_empty());
    assert!(service.refusals().is_empty());
}

#[tokio::test]
async fn another_browsers_keys_cannot_decrypt_a_push() {
    let service = PushService::start().await;
    let keys = UserAgentKeys::generate();
    client(VapidKey::generate())
        .send(&subscription(&service, "a", &keys), b"private", 60, Urgency::Normal)
        .await
        .expect("accepted");
    let body = &service.wait_for("a", 1, WAIT).await[0].body;
    assert!(UserAgentKeys::generate().try_decrypt(body).is_err());
}

#[tokio::test]
async fn an_expired_subscription_answers_gone() {
    let service = PushService::start().await;
    let keys = UserAgentKeys::generate();
    service.expire("old");
    let err = client(VapidKey::generate())
        .send(&subscription(&service, "old", &keys), b"x", 60, Urgency::Normal)
        .await
        .expect_err("410");
    assert_eq!(err, PushError::Gone);
    assert_eq!(service.refusals()[0].status, 410);
    assert!(service.received("old").is_empty());
}

#[tokio::test]
async fn a_subscription_restricted_to_another_vapid_key_is_rejected() {
    let service = PushService::start().await;
    let keys = UserAgentKeys::generate();
    let ours = VapidKey::generate();
    service.restrict("r", &VapidKey::generate().public_key_b64url());
    let err = client(ours.clone())
        .send(&subscription(&service, "r", &keys), b"x", 60, Urgency::Normal)
        .await
        .expect_err("403");
    assert!(matches!(&err, PushError::Rejected(m) if m.contains("403")), "{err:?}");

    service.restrict("r", &ours.public_key_b64url());
    client(ours)
        .send(&subscription(&service, "r", &keys), b"x", 60, Urgency::Normal)
        .await
        .expect("the subscription's own key is accepted");
}

/// Posts a well-formed encrypted body with `authorization` and `headers` as given.
async fn raw_post(
    service: &PushService,
    authorization: Option<String>,
    headers: Headers<'_>,
) -> u16 {
    let keys = UserAgentKeys::generate();
    let p256dh = URL_SAFE_NO_PAD.decode(&keys.p256dh).expect("b64");
    let auth = URL_SAFE_NO_PAD.decode(&keys.auth).expect("b64");
    let body = webpush::encrypt(b"{}", &p256dh, &auth).expect("encrypt");
    let mut req = crate::http().post(service.subscription_endpoint("raw")).body(body);
    if let Some(a) = authorization {
        req = req.header("Authorization", a);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("push service answers").status().as_u16()
}

/// Extra request headers, name and value.
type Headers<'a> = &'a [(&'a str, &'a str)];

const GOOD_HEADERS: Headers = &[("TTL", "60"), ("Content-Encoding", "aes128gcm")];

#[tokio::test]
async fn the_push_service_checks_the_vapid_token() {
    let service = PushService::start().await;
    let key = VapidKey::generate();
    let sub = "mailto:ops@kankan.example";
    let soon = now_s() + 3600;
    let good = key.authorization(service.origin(), sub, soon);
    assert_eq!(raw_post(&service, Some(good.clone()), GOOD_HEADERS).await, 201);

    let cases: Vec<(&str, Option<String>, u16)> = vec![
        ("no header", None, 401),
        ("other scheme", Some(good.replace("vapid ", "Bearer ")), 401),
        ("no k", Some(good.split(", k=").next().expect("t").to_owned()), 401),
        ("other audience", Some(key.authorization("https://push.example.net", sub, soon)), 403),
        ("expired", Some(key.authorization(service.origin(), sub, now_s() - 1)), 403),
        (
            "more than 24 h ahead",
            Some(key.authorization(service.origin(), sub, now_s() + 25 * 3600)),
            403,
        ),
        ("bad subject", Some(key.authorization(service.origin(), "ops@kankan", soon)), 403),
        (
            "signed by another key",
            Some(format!(
                "{}, k={}",
                good.split(", k=").next().expect("t"),
                VapidKey::generate().public_key_b64url()
            )),
            403,
        ),
    ];
    for (what, authorization, status) in cases {
        assert_eq!(raw_post(&service, authorization, GOOD_HEADERS).await, status, "{what}");
    }
    assert_eq!(service.received("raw").len(), 1);
    assert_eq!(service.refusals().len(), 8);
}

#[tokio::test]
async fn the_push_service_requires_rfc_8030_headers() {
    let service = PushService::start().await;
    let key = VapidKey::generate();
    let auth = || Some(key.authorization(service.origin(), "https://kankan.example", now_s() + 60));
    let cases: &[(&str, Headers, u16)] = &[
        ("no TTL", &[("Content-Encoding", "aes128gcm")], 400),
        ("no encoding", &[("TTL", "60")], 415),
        ("old encoding", &[("TTL", "60"), ("Content-Encoding", "aesgcm")], 415),
        (
            "bad urgency",
            &[("TTL", "60"), ("Content-Encoding", "aes128gcm"), ("Urgency", "urgent")],
            400,
        ),
    ];
    for (what, headers, status) in cases {
        assert_eq!(raw_post(&service, auth(), headers).await, *status, "{what}");
    }
    assert!(service.received("raw").is_empty());
}
