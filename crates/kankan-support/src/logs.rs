//! A camera's logs for a support ticket: asked with `logs-upload` (the owner's
//! `change-settings`), posted by the camera to `/ingest/v1/{uid}/logs/{request}` with its own
//! credentials, sealed under the asking account's key, shown to the user before anything is
//! sent. Attached to no ticket, they are deleted after [`LOGS_TTL`].

use std::time::Duration;

use kankan_base::{ErrorKind, Timestamp};
use kankan_core::authz::Capability;
use kankan_core::{CoreError, Principal};
use kankan_db::LogRequestRow;
use kankan_devices::{CommandStatus, DeviceHandle};
use kankan_protocol::device::{CommandKind, LOGS_MAX_BYTES, valid_logs_request};

use crate::{Support, err, logs_unavailable};

/// How long logs attached to no ticket are kept.
pub const LOGS_TTL: Duration = Duration::from_secs(86_400);
/// How long the camera has to acknowledge the command.
const ACK_WAIT: Duration = Duration::from_secs(5);

/// A logs request as its account sees it.
#[derive(Debug, Clone)]
pub struct LogsView {
    pub id: String,
    pub uid: String,
    /// `waiting`, `ready` or `failed`.
    pub state: String,
    pub text: Option<String>,
    pub bytes: Option<u64>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// The field the text is sealed under.
pub(crate) fn logs_field(id: &str) -> String {
    format!("device-logs:{id}")
}

/// A camera's upload as the server keeps it: at most [`LOGS_MAX_BYTES`] of UTF-8 text, line
/// ends made `\n`, control characters other than newline and tab removed. Anything else is
/// refused (`logs-too-large`, `invalid-logs`).
pub fn parse_upload(body: &[u8]) -> Result<String, CoreError> {
    if body.len() > LOGS_MAX_BYTES {
        return Err(err(
            ErrorKind::InvalidArgument,
            "logs-too-large",
            format!("logs are at most {LOGS_MAX_BYTES} bytes"),
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| err(ErrorKind::InvalidArgument, "invalid-logs", "logs are UTF-8 text"))?;
    Ok(text
        .replace("\r\n", "\n")
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect())
}

impl Support {
    /// Asks the camera for its logs on behalf of `p` (`change-settings`, so its owner by
    /// default): a request `waiting` until the camera posts them. `device-offline` when it is
    /// not connected; `logs-unavailable` when it refuses.
    pub async fn request_logs(
        &self,
        p: &Principal,
        h: &DeviceHandle,
    ) -> Result<LogsView, CoreError> {
        let s = &self.inner;
        h.require(Capability::ChangeSettings)?;
        if h.is_rtsp() {
            return Err(logs_unavailable("an RTSP camera has no logs to send"));
        }
        let online = s.store.device_state(h.uid()).await?.is_some_and(|st| st.online);
        if !online {
            return Err(CoreError::DeviceOffline);
        }
        if s.vault.active_key(p.account_id).await?.is_none() {
            return Err(CoreError::NotFound("account"));
        }
        let now = self.now();
        let row = LogRequestRow {
            id: uuid::Uuid::now_v7().to_string(),
            account_id: p.account_id,
            uid: h.uid().to_string(),
            state: "waiting".into(),
            text_enc: None,
            size_bytes: None,
            ticket_id: None,
            created_at: now,
            expires_at: now.plus(LOGS_TTL),
        };
        s.store.insert_log_request(&row).await?;
        let kind = CommandKind::LogsUpload { request: row.id.clone() };
        let outcome = s.devices.send_command(h, kind, ACK_WAIT).await?;
        if outcome.status == CommandStatus::Failed {
            s.store.fail_log_request(&row.id).await?;
            let why = outcome.error.unwrap_or_else(|| "refused".into());
            return Err(logs_unavailable(format!("the camera did not send its logs: {why}")));
        }
        Ok(view(row, None))
    }

    /// A logs request of `p` for the camera `uid`, with the text once the camera sent it.
    /// `logs-unavailable` when there is none (another account's, expired, deleted).
    pub async fn logs(&self, p: &Principal, uid: &str, id: &str) -> Result<LogsView, CoreError> {
        let row = self.own_logs(p, id).await?;
        if !row.uid.eq_ignore_ascii_case(uid) {
            return Err(logs_unavailable("no such logs"));
        }
        let text = self.open_logs(&row).await?;
        Ok(view(row, text))
    }

    /// The caller's logs request `id`, live.
    pub(crate) async fn own_logs(
        &self,
        p: &Principal,
        id: &str,
    ) -> Result<LogRequestRow, CoreError> {
        let row = match self.inner.store.log_request(id).await? {
            Some(r) if r.account_id == p.account_id => r,
            _ => return Err(logs_unavailable("no such logs")),
        };
        if row.ticket_id.is_none() && row.expires_at <= self.now() {
            return Err(logs_unavailable("those logs were deleted after a day"));
        }
        Ok(row)
    }

    /// The text of ready logs.
    pub(crate) async fn open_logs(&self, row: &LogRequestRow) -> Result<Option<String>, CoreError> {
        let Some(sealed) = &row.text_enc else { return Ok(None) };
        let key = self
            .inner
            .vault
            .account_key(row.account_id)
            .await?
            .ok_or_else(|| logs_unavailable("no such logs"))?;
        Ok(Some(key.open_string(&logs_field(&row.id), sealed)?))
    }

    /// The camera `uid`'s upload for `request` (its own credentials were checked): parsed
    /// ([`parse_upload`]), sealed under the asking account's key and stored. `NotFound` when
    /// no request of this camera waits for it.
    pub async fn receive_logs(
        &self,
        uid: &str,
        request: &str,
        body: &[u8],
    ) -> Result<u64, CoreError> {
        let s = &self.inner;
        if !valid_logs_request(request) {
            return Err(CoreError::NotFound("logs request"));
        }
        let text = parse_upload(body)?;
        let row = match s.store.log_request(request).await? {
            Some(r) if r.uid == uid && r.state == "waiting" => r,
            _ => return Err(CoreError::NotFound("logs request")),
        };
        let key = s
            .vault
            .account_key(row.account_id)
            .await?
            .ok_or(CoreError::NotFound("logs request"))?;
        let sealed = key.seal(&logs_field(request), text.as_bytes())?;
        let size = text.len() as u64;
        if !s.store.store_device_logs(request, uid, &sealed, size, self.now()).await? {
            return Err(CoreError::NotFound("logs request"));
        }
        Ok(size)
    }
}

fn view(row: LogRequestRow, text: Option<String>) -> LogsView {
    LogsView {
        id: row.id,
        uid: row.uid,
        state: row.state,
        bytes: row.size_bytes,
        text,
        created_at: row.created_at,
        expires_at: row.expires_at,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn an_upload_is_bounded_utf8_text_with_plain_line_ends() {
        assert_eq!(parse_upload(b"a\r\nb\x07c\td\n").expect("text"), "a\nbc\td\n");
        let big = vec![b'x'; LOGS_MAX_BYTES + 1];
        assert_eq!(parse_upload(&big).expect_err("too large").code(), "logs-too-large");
        assert_eq!(parse_upload(&[0xff, 0xfe]).expect_err("binary").code(), "invalid-logs");
        assert_eq!(parse_upload(b"").expect("empty"), "");
    }

    proptest! {
        #[test]
        fn any_upload_is_refused_or_kept_as_text_no_longer_than_sent(
            body in prop::collection::vec(any::<u8>(), 0..2048),
        ) {
            if let Ok(text) = parse_upload(&body) {
                prop_assert!(text.len() <= body.len());
                prop_assert!(!text.chars().any(|c| c.is_control() && c != '\n' && c != '\t'));
            }
        }

        #[test]
        fn printable_lines_come_through_unchanged(lines in prop::collection::vec("[ -~]{0,80}", 0..30)) {
            let body = lines.join("\n");
            prop_assert_eq!(parse_upload(body.as_bytes()).expect("text"), body);
        }
    }
}
