//! `SmtpMessenger` against a real SMTP server: Python's stdlib `smtpd`, run as a child process.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kankan_notify::{Message, Messenger, Recipient, SendError, SmtpConfig, SmtpMessenger, SmtpTls};

/// The Python SMTP sink (`smtp_sink.py`); killed when dropped.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    messages: PathBuf,
    _dir: tempfile::TempDir,
}

impl SmtpSink {
    /// Starts the sink on a free port and waits until it accepts connections.
    pub fn start() -> SmtpSink {
        let dir = tempfile::tempdir().expect("tempdir");
        let messages = dir.path().join("messages.jsonl");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/smtp_sink.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(&messages)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start python3 (needed for the SMTP tests)");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut sink = SmtpSink { child, port: 0, messages, _dir: dir };

        // The script prints "PORT <n>" once it listens; read it without blocking forever.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(20)).expect("SMTP sink printed no port");
        sink.port =
            line.trim().strip_prefix("PORT ").and_then(|p| p.parse().ok()).unwrap_or_else(|| {
                panic!("SMTP sink did not start (exit {:?})", sink.child.try_wait())
            });

        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", sink.port)).is_err() {
            if let Ok(Some(status)) = sink.child.try_wait() {
                panic!("SMTP sink exited: {status}");
            }
            assert!(Instant::now() < deadline, "SMTP sink never accepted connections");
            std::thread::sleep(Duration::from_millis(20));
        }
        sink
    }

    pub fn config(&self) -> SmtpConfig {
        smtp_config(self.port)
    }

    /// Every message the sink accepted, oldest first.
    pub fn received(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(&self.messages).unwrap_or_default();
        text.lines().map(|l| serde_json::from_str(l).expect("sink writes JSON lines")).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn smtp_config(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        tls: SmtpTls::None,
        username: None,
        password: None,
        from: "Kankan <noreply@kankan.test>".into(),
        timeout_secs: 5,
    }
}

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
    let smtp = SmtpMessenger::new(&smtp_config(crate::closed_port())).expect("config");
    let err = smtp.send(&email("alice@example.com", "s", "b")).await.expect_err("no server");
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(err.kind(), kankan_base::ErrorKind::Unavailable);
}
