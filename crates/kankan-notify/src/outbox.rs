//! The development outbox: messages are appended to a file and logged, never sent.
//!
//! # File format
//!
//! UTF-8 text, one line per message, four fields separated by one tab (`\t`), ended by `\n`:
//!
//! ```text
//! <time>\t<masked recipient>\t<subject>\t<body>
//! 2025-01-31T08:15:02.123Z\ta***@e***.com\tYour Kankan code\tYour code is 482913 / Valid 10 min.
//! ```
//!
//! - `time`: RFC 3339, UTC, millisecond precision (`Timestamp::to_rfc3339`);
//! - `masked recipient`: [`mask`](crate::mask) of the recipient, never the address itself;
//! - `subject`, `body`: line breaks (`\r\n`, `\n`, `\r`) become `" / "`, tabs become one space,
//!   and any occurrence of the recipient's address is replaced by its mask.
//!
//! A test reading codes can therefore split each line on `\t` into exactly four fields.
//! The file is opened in append mode for each message and, when it has to be created, gets
//! mode `0600` on Unix.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kankan_base::{Clocks, RealClock};
use tokio::io::AsyncWriteExt;

use crate::{Message, Messenger, SendError, mask, scrub};

/// Writes each message as one masked line to a file and logs it with `tracing::info!`: the
/// whole line while the outbox is the only channel (development), only that a message was
/// written once a real channel is configured ([`quiet`](Self::quiet)), so codes never reach
/// the process log of a server that sends real messages.
pub struct OutboxMessenger {
    path: PathBuf,
    clock: Clocks,
    /// Log the subject and body too (development, where the outbox is the only channel).
    log_content: bool,
    /// Serialises writes so lines from concurrent sends never interleave.
    write_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for OutboxMessenger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMessenger").field("path", &self.path).finish_non_exhaustive()
    }
}

impl OutboxMessenger {
    /// An outbox appending to `path`, stamped with the wall clock. Nothing is opened yet.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self::with_clock(path, Arc::new(RealClock))
    }

    /// An outbox appending to `path`, stamped with `clock`.
    pub fn with_clock(path: impl Into<PathBuf>, clock: Clocks) -> Self {
        OutboxMessenger {
            path: path.into(),
            clock,
            log_content: true,
            write_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The same outbox, logging only that a message was written (not its content), for a
    /// server where a real channel carries the other kind of recipient.
    pub fn quiet(mut self) -> Self {
        self.log_content = false;
        self
    }

    /// The file this outbox appends to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The line (without its `\n`) written for `msg`.
    fn line(&self, msg: &Message) -> String {
        let field = |s: &str| one_line(&scrub(s, &msg.to));
        format!(
            "{}\t{}\t{}\t{}",
            self.clock.now().to_rfc3339(),
            mask(&msg.to),
            field(&msg.subject),
            field(&msg.body)
        )
    }

    async fn append(&self, line: &str) -> std::io::Result<()> {
        let mut opts = tokio::fs::OpenOptions::new();
        opts.append(true).create(true);
        #[cfg(unix)]
        opts.mode(0o600);
        let _guard = self.write_lock.lock().await;
        let mut file = opts.open(&self.path).await?;
        let mut buf = String::with_capacity(line.len() + 1);
        buf.push_str(line);
        buf.push('\n');
        file.write_all(buf.as_bytes()).await?;
        file.flush().await
    }
}

/// Makes `s` fit in one tab-separated field.
fn one_line(s: &str) -> String {
    s.replace("\r\n", " / ").replace(['\n', '\r'], " / ").replace('\t', " ")
}

#[async_trait::async_trait]
impl Messenger for OutboxMessenger {
    async fn send(&self, msg: &Message) -> Result<(), SendError> {
        let line = self.line(msg);
        self.append(&line).await.map_err(|e| {
            SendError::Transient(format!("cannot append to outbox {}: {e}", self.path.display()))
        })?;
        if !self.log_content {
            tracing::info!(outbox = %self.path.display(), "message written to the outbox");
            return Ok(());
        }
        let mut fields = line.splitn(4, '\t').skip(1);
        let (to, subject, body) = (fields.next(), fields.next(), fields.next());
        tracing::info!(
            to = to.unwrap_or_default(),
            subject = subject.unwrap_or_default(),
            body = body.unwrap_or_default(),
            outbox = %self.path.display(),
            "message written to the development outbox"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Recipient;
    use kankan_base::{SimClock, Timestamp};

    fn outbox_in(dir: &tempfile::TempDir) -> OutboxMessenger {
        let clock = SimClock::starting_at(Timestamp(1_738_311_302_123));
        OutboxMessenger::with_clock(dir.path().join("outbox.log"), Arc::new(clock))
    }

    fn msg(to: Recipient, subject: &str, body: &str) -> Message {
        Message { to, subject: subject.into(), body: body.into() }
    }

    #[tokio::test]
    async fn each_message_becomes_one_tab_separated_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = outbox_in(&dir);
        let to = Recipient::Email("alice@example.com".into());
        outbox.send(&msg(to, "Your code", "Code: 482913\nValid 10 min")).await.expect("send");
        let to = Recipient::Phone("+8613800138000".into());
        outbox.send(&msg(to, "SMS", "Kankan code 123456")).await.expect("send");

        let text = std::fs::read_to_string(outbox.path()).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "2025-01-31T08:15:02.123Z\ta***@e***.com\tYour code\tCode: 482913 / Valid 10 min",
                "2025-01-31T08:15:02.123Z\t+86*******8000\tSMS\tKankan code 123456",
            ]
        );
    }

    #[tokio::test]
    async fn recipient_never_appears_in_clear_even_when_the_body_names_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = outbox_in(&dir);
        let to = Recipient::Email("carol@example.org".into());
        let body = "Hello carol@example.org,\r\nyour code is 1\tand\ronly 1";
        outbox.send(&msg(to, "Hi carol@example.org", body)).await.expect("send");

        let text = std::fs::read_to_string(outbox.path()).expect("read");
        assert!(!text.contains("carol"), "{text}");
        let fields: Vec<&str> = text.trim_end_matches('\n').split('\t').collect();
        assert_eq!(fields.len(), 4, "{text}");
        assert_eq!(fields[3], "Hello c***@e***.org, / your code is 1 and / only 1");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn outbox_file_is_created_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = outbox_in(&dir);
        let to = Recipient::Phone("+14155552671".into());
        outbox.send(&msg(to, "s", "b")).await.expect("send");
        let mode = std::fs::metadata(outbox.path()).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[tokio::test]
    async fn concurrent_sends_append_whole_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = Arc::new(outbox_in(&dir));
        let mut tasks = Vec::new();
        for i in 0..20 {
            let outbox = Arc::clone(&outbox);
            tasks.push(tokio::spawn(async move {
                let to = Recipient::Phone(format!("+86138001380{i:02}"));
                outbox.send(&msg(to, "code", &"x".repeat(5000 + i))).await
            }));
        }
        for t in tasks {
            t.await.expect("join").expect("send");
        }
        let text = std::fs::read_to_string(outbox.path()).expect("read");
        assert_eq!(text.lines().count(), 20);
        assert!(text.lines().all(|l| l.split('\t').count() == 4));
    }

    #[tokio::test]
    async fn unwritable_outbox_is_a_transient_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outbox = OutboxMessenger::new(dir.path().join("missing-dir").join("outbox.log"));
        let to = Recipient::Email("a@b.c".into());
        let err = outbox.send(&msg(to, "s", "b")).await.expect_err("must fail");
        assert!(err.is_transient(), "{err}");
    }
}
