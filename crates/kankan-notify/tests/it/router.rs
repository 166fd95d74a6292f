//! `build` wiring real channels: SMTP to the Python sink, SMS to the Twilio stand-in (both
//! from kankan-testkit).

use kankan_notify::{
    EmailChannelConfig, Message, MessengerConfig, Recipient, SmsChannelConfig, build,
};

use kankan_testkit::smtp::SmtpSink;
use kankan_testkit::twilio::FakeTwilio;

#[tokio::test]
async fn built_messenger_routes_email_to_smtp_and_phone_to_twilio() {
    let sink = SmtpSink::start();
    let twilio = FakeTwilio::start().await;
    let config = MessengerConfig {
        email: EmailChannelConfig::Smtp(sink.config()),
        sms: SmsChannelConfig::Twilio(twilio.config()),
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let outbox = dir.path().join("outbox.log");
    let messenger = build(&config, &outbox).expect("build");

    let mail = Message {
        to: Recipient::Email("alice@example.com".into()),
        subject: "Security notice".into(),
        body: "A new device signed in.".into(),
    };
    let text = Message { to: Recipient::Phone("+8613800138000".into()), ..mail.clone() };
    messenger.send(&mail).await.expect("e-mail");
    messenger.send(&text).await.expect("sms");

    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["rcpttos"], serde_json::json!(["alice@example.com"]));
    let recorded = twilio.requests();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].field("To"), Some("+8613800138000"));
    assert!(!outbox.exists(), "real channels must not write the outbox");
}

#[test]
fn toml_config_with_both_real_channels_parses() {
    let config: MessengerConfig = toml::from_str(
        r#"
        [email]
        kind = "smtp"
        host = "smtp.example.com"
        port = 465
        tls = "tls"
        username = "kankan"
        password = "app-password"
        from = "Kankan <noreply@example.com>"

        [sms]
        kind = "twilio"
        account_sid = "AC0123456789abcdef0123456789abcdef"
        auth_token = "secret-token"
        messaging_service_sid = "MG0123456789abcdef0123456789abcdef"
        "#,
    )
    .expect("parse");
    assert!(matches!(config.email, EmailChannelConfig::Smtp(_)));
    assert!(matches!(config.sms, SmsChannelConfig::Twilio(_)));
    let debug = format!("{config:?}");
    assert!(!debug.contains("app-password") && !debug.contains("secret-token"), "{debug}");
    assert!(build(&config, std::path::Path::new("unused")).is_ok());
}
