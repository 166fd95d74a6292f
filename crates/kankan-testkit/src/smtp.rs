//! A real SMTP server on 127.0.0.1: Python's stdlib `smtpd` running `smtp_sink.py` as a child
//! process. It records each accepted message as JSON (`mailfrom`, `rcpttos`, `from`, `to`,
//! `subject`, `body`, `raw`); recipients whose local part starts with `reject` get
//! `550 5.1.1`, `busy` get `451 4.3.0`.
//!
//! Point the server at it with `messenger.email = smtp` and [`SmtpSink::config`].

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kankan_notify::{SmtpConfig, SmtpTls};

/// The sink script, next to this file.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/smtp_sink.py");

/// The SMTP sink; killed when dropped.
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
        let mut child = Command::new("python3")
            .arg(SCRIPT)
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

    /// The configuration that sends to this sink.
    pub fn config(&self) -> SmtpConfig {
        config(self.port)
    }

    /// Every message the sink accepted, oldest first (a line still being written is not one yet).
    pub fn received(&self) -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(&self.messages).unwrap_or_default();
        text.split_inclusive('\n')
            .filter(|l| l.ends_with('\n'))
            .map(|l| serde_json::from_str(l).expect("sink writes JSON lines"))
            .collect()
    }

    /// Waits until at least `n` messages arrived and returns them; panics after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<serde_json::Value> {
        let shortfall = |got| format!("SMTP sink: {got} of {n} e-mails within {timeout:?}");
        crate::local::wait_for_n(n, timeout, || self.received(), shortfall).await
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Plain SMTP to 127.0.0.1:`port`, from `Kankan <noreply@kankan.test>`, 5 s timeout.
pub fn config(port: u16) -> SmtpConfig {
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
