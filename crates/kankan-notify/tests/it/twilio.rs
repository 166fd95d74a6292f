//! `TwilioSms` against kankan-testkit's local stand-in for Twilio's Programmable Messaging and
//! Voice APIs.

use std::time::Duration;

use axum::http::StatusCode;
use kankan_base::Secret;
use kankan_notify::{Message, Messenger, Recipient, SendError, TwilioConfig, TwilioSms};
use kankan_testkit::local::{closed_port, silent_server};
use kankan_testkit::twilio::{ACCOUNT_SID, FROM, FakeTwilio};

/// The text of the single `<Say>` in a `<Response>`, XML entities decoded.
fn spoken_text(twiml: &str) -> String {
    let inner = twiml
        .strip_prefix("<Response><Say>")
        .and_then(|t| t.strip_suffix("</Say></Response>"))
        .unwrap_or_else(|| panic!("not a single <Say>: {twiml}"));
    assert!(!inner.contains('<') && !inner.contains('>'), "unescaped markup in {inner}");
    inner
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn sms(to: &str, body: &str) -> Message {
    Message {
        to: Recipient::Phone(to.into()),
        subject: "ignored for SMS".into(),
        body: body.into(),
    }
}

#[tokio::test]
async fn twilio_receives_the_documented_form_fields() {
    let twilio = FakeTwilio::start().await;
    let messenger = TwilioSms::new(&twilio.config()).expect("config");
    let body = "看看 code: 482913\nValid 10 min & don't share it (+/=)";
    messenger.send(&sms("+8613800138000", body)).await.expect("send");

    let recorded = twilio.requests();
    assert_eq!(recorded.len(), 1);
    let r = &recorded[0];
    assert_eq!(r.resource, "Messages");
    assert_eq!(r.account_sid, ACCOUNT_SID);
    assert_eq!(r.content_type, "application/x-www-form-urlencoded");
    assert_eq!(r.field("To"), Some("+8613800138000"));
    assert_eq!(r.field("From"), Some(FROM));
    assert_eq!(r.field("Body"), Some(body));
    assert_eq!(r.field("MessagingServiceSid"), None);
    assert_eq!(r.form.len(), 3, "{:?}", r.form);
}

#[tokio::test]
async fn messaging_service_sid_is_sent_instead_of_from() {
    let twilio = FakeTwilio::start().await;
    let config = TwilioConfig {
        messaging_service_sid: Some("MG0123456789abcdef0123456789abcdef".into()),
        ..twilio.config()
    };
    TwilioSms::new(&config).expect("config").send(&sms("+14155552671", "hi")).await.expect("send");

    let r = &twilio.requests()[0];
    assert_eq!(r.field("MessagingServiceSid"), Some("MG0123456789abcdef0123456789abcdef"));
    assert_eq!(r.field("From"), None);
}

#[tokio::test]
async fn wrong_credentials_are_permanent_and_name_twilio_code() {
    let twilio = FakeTwilio::start().await;
    let config = TwilioConfig { auth_token: Secret::new("wrong-token"), ..twilio.config() };
    let err = TwilioSms::new(&config)
        .expect("config")
        .send(&sms("+14155552671", "hi"))
        .await
        .expect_err("401");
    assert!(matches!(err, SendError::Permanent(_)), "{err:?}");
    assert!(err.to_string().contains("20003"), "{err}");
    assert!(!err.to_string().contains("wrong-token"), "{err}");
    assert!(twilio.requests().is_empty());
}

#[tokio::test]
async fn invalid_number_rejects_the_recipient_without_echoing_it() {
    let twilio = FakeTwilio::start().await;
    let messenger = TwilioSms::new(&twilio.config()).expect("config");
    let err = messenger.send(&sms("+12345", "hi")).await.expect_err("21211");
    assert!(matches!(err, SendError::Recipient(_)), "{err:?}");
    assert_eq!(err.kind(), kankan_base::ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("21211"), "{err}");
    assert!(!err.to_string().contains("12345"), "{err}");
}

#[tokio::test]
async fn service_unavailable_is_transient() {
    let twilio = FakeTwilio::start_failing(StatusCode::SERVICE_UNAVAILABLE).await;
    let messenger = TwilioSms::new(&twilio.config()).expect("config");
    let err = messenger.send(&sms("+14155552671", "hi")).await.expect_err("503");
    assert!(err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("503"), "{err}");
}

#[tokio::test]
async fn rate_limit_is_transient() {
    let twilio = FakeTwilio::start_failing(StatusCode::TOO_MANY_REQUESTS).await;
    let messenger = TwilioSms::new(&twilio.config()).expect("config");
    let err = messenger.send(&sms("+14155552671", "hi")).await.expect_err("429");
    assert!(err.is_transient(), "{err:?}");
    assert!(err.to_string().contains("20429"), "{err}");
}

#[tokio::test]
async fn unreachable_twilio_is_transient() {
    let config = TwilioConfig {
        api_base: format!("http://127.0.0.1:{}", closed_port()),
        ..FakeTwilio::start().await.config()
    };
    let err = TwilioSms::new(&config)
        .expect("config")
        .send(&sms("+14155552671", "hi"))
        .await
        .expect_err("no server");
    assert!(err.is_transient(), "{err:?}");
}

#[tokio::test]
async fn silent_twilio_times_out_as_transient() {
    let (silent, _held) = silent_server().await;
    let config =
        TwilioConfig { api_base: silent, timeout_secs: 1, ..FakeTwilio::start().await.config() };
    let started = std::time::Instant::now();
    let err = TwilioSms::new(&config)
        .expect("config")
        .send(&sms("+14155552671", "hi"))
        .await
        .expect_err("timeout");
    assert!(err.is_transient(), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_call_reads_the_alarm_aloud_through_twilio_voice() {
    let twilio = FakeTwilio::start().await;
    let messenger = TwilioSms::new(&twilio.config()).expect("config");
    let say = "Alarm: <Front door> tamper & \"loiter\" at 03:14 — 门口";
    messenger.call("+8613800138000", say).await.expect("call");

    let recorded = twilio.requests();
    assert_eq!(recorded.len(), 1);
    let r = &recorded[0];
    assert_eq!(r.resource, "Calls");
    assert_eq!(r.content_type, "application/x-www-form-urlencoded");
    assert_eq!(r.field("To"), Some("+8613800138000"));
    assert_eq!(r.field("From"), Some(FROM));
    assert_eq!(spoken_text(r.field("Twiml").expect("Twiml")), say);
    assert_eq!(r.form.len(), 3, "{:?}", r.form);
}

#[tokio::test]
async fn a_call_to_an_invalid_number_rejects_the_recipient_without_echoing_it() {
    let twilio = FakeTwilio::start().await;
    let messenger = TwilioSms::new(&twilio.config()).expect("config");
    let err = messenger.call("+12345", "hi").await.expect_err("21211");
    assert!(matches!(err, SendError::Recipient(_)), "{err:?}");
    assert!(!err.to_string().contains("12345"), "{err}");
    assert!(twilio.requests().is_empty());
}

#[tokio::test]
async fn a_call_with_wrong_credentials_is_permanent() {
    let twilio = FakeTwilio::start().await;
    let config = TwilioConfig { auth_token: Secret::new("wrong-token"), ..twilio.config() };
    let err =
        TwilioSms::new(&config).expect("config").call("+14155552671", "hi").await.expect_err("401");
    assert!(matches!(err, SendError::Permanent(_)), "{err:?}");
    assert!(err.to_string().contains("20003"), "{err}");
}

#[tokio::test]
async fn a_call_while_twilio_is_unavailable_is_transient() {
    let twilio = FakeTwilio::start_failing(StatusCode::SERVICE_UNAVAILABLE).await;
    let messenger = TwilioSms::new(&twilio.config()).expect("config");
    let err = messenger.call("+14155552671", "hi").await.expect_err("503");
    assert!(err.is_transient(), "{err:?}");
}
