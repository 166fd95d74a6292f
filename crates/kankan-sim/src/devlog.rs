//! The camera's own log: what it did (boots, connections and disconnections, errors, commands
//! received, settings, firmware updates, recording and upload problems), one line each, kept
//! in `device.log` in its state directory across restarts. A ring: at most [`MAX_LINES`]
//! lines and [`MAX_BYTES`] bytes, the oldest dropped first. On `logs-upload` the camera posts
//! it to the ingest (`/ingest/v1/{uid}/logs/{request}`) for a support ticket the user is
//! writing.
//!
//! Never a secret: every line is redacted where it is written ([`redact`]): the values of
//! `password=`, `secret=`, `token=`, `psk=` and `key=` fields, and the literal values the log
//! was told are secret (the device secret, a rotated secret, the bind token). Wi-Fi passwords
//! never reach it (they are used and dropped), and are caught by the field rule if they did.

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The file name inside the state directory.
pub const LOG_FILE: &str = "device.log";
/// Most lines kept.
pub const MAX_LINES: usize = 2000;
/// Most bytes kept (the text uploaded is at most this: the ingest's limit).
pub const MAX_BYTES: usize = kankan_protocol::device::LOGS_MAX_BYTES;
/// The longest line, in bytes; longer ones are cut.
pub const MAX_LINE: usize = 512;
/// What stands where a secret was.
pub const REDACTED: &str = "[redacted]";

/// Field names whose values are never written (matched case-insensitively, as a suffix of
/// the name: `wifi_password`, `device-secret`, `bind_token`).
const SECRET_FIELDS: [&str; 6] = ["password", "passwd", "secret", "token", "psk", "key"];

/// A device's log; shared by its tasks. Cheap to clone.
#[derive(Clone, Debug)]
pub struct DevLog {
    inner: Arc<Mutex<Ring>>,
}

#[derive(Debug)]
struct Ring {
    path: Option<PathBuf>,
    lines: VecDeque<String>,
    bytes: usize,
    /// Literal values never written.
    secrets: Vec<String>,
    /// Lines and bytes appended to the file since it was last rewritten.
    appended: (usize, usize),
}

impl DevLog {
    /// The log kept in `dir` (what an earlier run left, bounded, is read back); one that
    /// cannot be read starts empty.
    pub fn open(dir: &Path) -> DevLog {
        let path = dir.join(LOG_FILE);
        let old = std::fs::read(&path).unwrap_or_default();
        let mut ring = Ring {
            path: Some(path),
            lines: VecDeque::new(),
            bytes: 0,
            secrets: Vec::new(),
            appended: (0, 0),
        };
        for line in parse_file(&old) {
            ring.push(line);
        }
        ring.rewrite();
        DevLog { inner: Arc::new(Mutex::new(ring)) }
    }

    /// A log kept in memory only.
    pub fn in_memory() -> DevLog {
        let ring = Ring {
            path: None,
            lines: VecDeque::new(),
            bytes: 0,
            secrets: Vec::new(),
            appended: (0, 0),
        };
        DevLog { inner: Arc::new(Mutex::new(ring)) }
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Never writes `value` (from now on); values under 4 characters are ignored.
    pub fn add_secret(&self, value: &str) {
        let value = value.trim();
        if value.len() >= 4 {
            let mut r = self.ring();
            if !r.secrets.iter().any(|s| s == value) {
                r.secrets.push(value.to_string());
                // Longest first, so a secret containing another is replaced whole.
                r.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
            }
        }
    }

    /// Writes one line at `at_ms` (Unix ms), redacted.
    pub fn record(&self, at_ms: i64, what: &str) {
        let mut r = self.ring();
        let when = jiff::Timestamp::from_millisecond(at_ms)
            .map(|t| t.to_string())
            .unwrap_or_else(|_| at_ms.to_string());
        let line = clip(&format!("{when} {}", redact(what, &r.secrets)), MAX_LINE);
        r.push(line.clone());
        r.append(&line);
    }

    /// The log as uploaded: its lines, oldest first, each ending in a newline.
    pub fn text(&self) -> String {
        let r = self.ring();
        let mut out = String::with_capacity(r.bytes);
        for l in &r.lines {
            out.push_str(l);
            out.push('\n');
        }
        out
    }

    /// Lines held.
    pub fn len(&self) -> usize {
        self.ring().lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Ring {
    fn push(&mut self, line: String) {
        self.bytes += line.len() + 1;
        self.lines.push_back(line);
        while self.lines.len() > MAX_LINES || self.bytes > MAX_BYTES {
            match self.lines.pop_front() {
                Some(old) => self.bytes -= old.len() + 1,
                None => break,
            }
        }
    }

    /// Appends to the file; rewrites it from the ring once as much again as the bounds was
    /// appended (so the file stays within twice the bounds).
    fn append(&mut self, line: &str) {
        let Some(path) = &self.path else { return };
        self.appended.0 += 1;
        self.appended.1 += line.len() + 1;
        if self.appended.0 >= MAX_LINES || self.appended.1 >= MAX_BYTES {
            self.rewrite();
            return;
        }
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = written {
            tracing::warn!(error = %e, "device log not written");
        }
    }

    /// Replaces the file with the ring's lines (atomically).
    fn rewrite(&mut self) {
        self.appended = (0, 0);
        let Some(path) = &self.path else { return };
        let mut text = String::with_capacity(self.bytes);
        for l in &self.lines {
            text.push_str(l);
            text.push('\n');
        }
        let tmp = path.with_extension("log.tmp");
        let done = std::fs::write(&tmp, text.as_bytes()).and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = done {
            tracing::warn!(error = %e, "device log not rewritten");
        }
    }
}

/// The lines of a log file as read back (any bytes: invalid UTF-8 replaced, control
/// characters removed, lines cut at [`MAX_LINE`], empty lines dropped), oldest first, at most
/// the last [`MAX_LINES`].
pub fn parse_file(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines: Vec<String> = text
        .split('\n')
        .map(|l| clip(&l.chars().filter(|c| !c.is_control()).collect::<String>(), MAX_LINE))
        .filter(|l| !l.trim().is_empty())
        .collect();
    if lines.len() > MAX_LINES {
        lines.drain(..lines.len() - MAX_LINES);
    }
    lines
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

/// `line` with its secrets replaced by [`REDACTED`]: each literal of `secrets`, and the value
/// of every field whose name ends in a secret word (`name=value`, `name: value`,
/// `"name":"value"`), up to the next space, comma, semicolon, quote or brace. Control
/// characters become spaces (one line stays one line).
pub fn redact(line: &str, secrets: &[String]) -> String {
    let mut s: String = line.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    for secret in secrets {
        if !secret.is_empty() {
            s = s.replace(secret.as_str(), REDACTED);
        }
    }
    redact_fields(&s)
}

fn redact_fields(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(['=', ':']) {
        let (head, tail) = rest.split_at(at);
        out.push_str(head);
        let name: String = head
            .chars()
            .rev()
            .skip_while(|c| *c == '"' || *c == '\'')
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<String>()
            .to_ascii_lowercase();
        let sep = &tail[..1];
        let after = &tail[1..];
        out.push_str(sep);
        if SECRET_FIELDS.iter().any(|w| name.ends_with(w)) {
            // Skip spaces and an opening quote, then the value: to the closing quote when
            // quoted, else to the next delimiter.
            let trimmed = after.trim_start_matches(' ');
            let quote = trimmed.chars().next().filter(|c| *c == '"' || *c == '\'');
            let value_start = after.len() - trimmed.len() + quote.map_or(0, char::len_utf8);
            out.push_str(&after[..value_start]);
            let value = &after[value_start..];
            let end = match quote {
                Some(q) => value.find(q).unwrap_or(value.len()),
                None => value.find([' ', ',', ';', '"', '\'', '}', ')']).unwrap_or(value.len()),
            };
            if end > 0 {
                out.push_str(REDACTED);
            }
            rest = &value[end..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn secret_fields_and_known_secrets_are_redacted_where_written() {
        let secrets = vec!["s3cr3t-device-key".to_string()];
        let cases = [
            (
                "joined wifi ssid=Home password=hunter2-wifi",
                "joined wifi ssid=Home password=[redacted]",
            ),
            ("login with s3cr3t-device-key failed", "login with [redacted] failed"),
            (
                r#"{"wifi_password":"p a","ssid":"x"}"#,
                r#"{"wifi_password":"[redacted]","ssid":"x"}"#,
            ),
            ("bind_token: abc123, then", "bind_token: [redacted], then"),
            ("connected to mqtts://h:8883", "connected to mqtts://h:8883"),
        ];
        for (line, want) in cases {
            assert_eq!(redact(line, &secrets), want, "{line}");
        }
        assert!(!redact("a\nb\rc", &[]).contains(['\n', '\r']));
    }

    #[test]
    fn the_log_survives_a_restart_and_stays_within_its_bounds() {
        let dir = tempfile::tempdir().expect("tmp");
        let log = DevLog::open(dir.path());
        log.add_secret("factory-secret-123");
        log.record(0, "boot");
        log.record(1_000, "login secret=factory-secret-123 refused");
        let again = DevLog::open(dir.path());
        let text = again.text();
        assert!(text.contains("boot") && text.contains("refused"), "{text}");
        assert!(!text.contains("factory-secret-123"), "{text}");
        for i in 0..(MAX_LINES + 500) {
            again.record(i as i64, &format!("line {i} {}", "x".repeat(200)));
        }
        assert!(again.len() <= MAX_LINES);
        assert!(again.text().len() <= MAX_BYTES);
        let reread = DevLog::open(dir.path());
        assert_eq!(reread.text(), again.text(), "the file holds what the ring holds");
        let file = std::fs::metadata(dir.path().join(LOG_FILE)).expect("file").len();
        assert!(file as usize <= 2 * MAX_BYTES, "{file}");
    }

    proptest! {
        #[test]
        fn a_known_secret_never_survives_redaction(
            before in "[ -~]{0,40}", after in "[ -~]{0,40}", secret in "[A-Za-z0-9_-]{8,40}",
        ) {
            let line = format!("{before}{secret}{after}");
            let out = redact(&line, std::slice::from_ref(&secret));
            prop_assert!(!out.contains(&secret), "{out}");
            prop_assert!(!out.contains(['\n', '\r']));
        }

        #[test]
        fn any_file_reads_back_bounded_and_without_control_characters(
            bytes in prop::collection::vec(any::<u8>(), 0..4096),
        ) {
            let lines = parse_file(&bytes);
            prop_assert!(lines.len() <= MAX_LINES);
            for l in &lines {
                prop_assert!(l.len() <= MAX_LINE);
                prop_assert!(!l.chars().any(char::is_control));
            }
        }
    }
}
