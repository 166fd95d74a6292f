//! `SmtpMessenger` against a real SMTP server: kankan-testkit's `SmtpSink` (Python's stdlib
//! `smtpd`, run as a child process).

use kankan_notify::{Message, Messenger, Recipient, SendError, SmtpMessenger};
use kankan_testkit::local::closed_port;
use kankan_testkit::smtp::{self, SmtpSink};

fn email(to: &str, subject: &str, body: &str) -> Message {
    Message { to: Recipient::Email(to.into()), subject: subject.into(), body: body.into() }
}

/// Line breaks as the e-mail carried them (CRLF) in Rust's form, without the final one.
fn normalised(body: &serde_json::Value) -> String {
    body.as_str().expect("body is a string").replace("\r\n", "\n").trim_end().to_owned()
}

#[tokio::test]
async fn smtp_delivers_recipient_subject_and_body() {
    let sink = SmtpSink::start();
    let smtp = SmtpMessenger::new(&sink.config()).expect("config");
    let body = "Your code is 482913.\nIt expires in 10 minutes.";
    smtp.send(&email("alice@example.com", "Your Kankan code", body)).await.expect("send");

    let received = sink.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let m = &received[0];
    assert_eq!(m["mailfrom"], "noreply@kankan.test");
    assert_eq!(m["rcpttos"], serde_json::json!(["alice@example.com"]));
    assert_eq!(m["to"], "alice@example.com");
    assert_eq!(m["from"], "Kankan <noreply@kankan.test>");
    assert_eq!(m["subject"], "Your Kankan code");
    assert_eq!(normalised(&m["body"]), body);
}

#[tokio::test]
async fn smtp_carries_non_ascii_subject_and_body() {
    let sink = SmtpSink::start();
    let smtp = SmtpMessenger::new(&sink.config()).expect("config");
    let body = "您的验证码是 482913。\n10 分钟内有效。";
    smtp.send(&email("wang@example.cn", "看看 验证码", body)).await.expect("send");

    let received = sink.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["subject"], "看看 验证码");
    assert_eq!(normalised(&received[0]["body"]), body);
}

#[tokio::test]
async fn smtp_550_rejects_the_recipient_without_echoing_it() {
    let sink = SmtpSink::start();
    let smtp = SmtpMessenger::new(&sink.config()).expect("config");
    let err = smtp.send(&email("reject-me@example.com", "s", "b")).await.expect_err("550");
    assert!(matches!(err, SendError::Recipient(_)), "{err:?}");
    assert!(!err.is_transient());
    let text = err.to_string();
    assert!(text.contains("550"), "{text}");
    assert!(!text.contains("reject-me@example.com"), "{text}");
}

#[tokio::test]
async fn smtp_4xx_is_transient() {
    let sink = SmtpSink::start();
    let smtp = SmtpMessenger::new(&sink.config()).expect("config");
    let err = smtp.send(&email("busy@example.com", "s", "b")).await.expect_err("451");
    assert!(err.is_transient(), "{err:?}");
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn unreachable_smtp_server_is_transient() {
    let smtp = SmtpMessenger::new(&smtp::config(closed_port())).expect("config");
    let err = smtp.send(&email("alice@example.com", "s", "b")).await.expect_err("no server");
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(err.kind(), kankan_base::ErrorKind::Unavailable);
}
