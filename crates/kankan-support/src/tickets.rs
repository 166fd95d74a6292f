//! The user's side of tickets: open one (optionally about a camera, with its logs), list
//! them, read a thread (staff replies not read before are marked), reply, close.

use kankan_accounts::RateLimit;
use kankan_base::{AccountId, ErrorKind, StaffId, Timestamp};
use kankan_core::authz::Capability;
use kankan_core::{CoreError, Principal};
use kankan_crypto::AccountKey;
use kankan_db::{DbError, LogRequestRow, TicketDeviceRow, TicketMessageRow, TicketRow};

use crate::{Support, err, logs_unavailable, not_found};

/// The categories a ticket may have.
pub const CATEGORIES: [&str; 6] = ["camera", "app", "account", "billing", "feedback", "other"];
/// The longest subject, in characters.
pub const MAX_SUBJECT: usize = 120;
/// The longest message, in characters.
pub const MAX_BODY: usize = 8000;
/// Tickets one account may open per hour.
pub const TICKETS_PER_HOUR: u32 = 10;

/// A ticket, opened.
#[derive(Debug, Clone)]
pub struct TicketView {
    pub id: uuid::Uuid,
    pub account_id: AccountId,
    pub category: String,
    pub subject: String,
    pub state: String,
    pub device: Option<TicketDeviceRow>,
    pub assignee: Option<StaffId>,
    /// Staff replies the user has not read.
    pub unread: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One message, opened.
#[derive(Debug, Clone)]
pub struct MessageView {
    pub id: uuid::Uuid,
    /// `user` or `staff`.
    pub author: String,
    pub body: String,
    pub at: Timestamp,
    /// A staff reply the user had not read before this view.
    pub unread: bool,
}

/// An attachment's metadata.
#[derive(Debug, Clone)]
pub struct AttachmentMeta {
    pub id: String,
    pub kind: &'static str,
    pub bytes: u64,
    pub created_at: Timestamp,
}

/// A ticket with its thread and attachments.
#[derive(Debug, Clone)]
pub struct Thread {
    pub ticket: TicketView,
    pub messages: Vec<MessageView>,
    pub attachments: Vec<AttachmentMeta>,
}

/// What the user asks for.
#[derive(Debug, Clone, Default)]
pub struct NewTicket {
    pub category: String,
    pub subject: String,
    pub body: String,
    pub device_uid: Option<String>,
    pub logs_request: Option<String>,
}

pub(crate) fn invalid(message: impl Into<String>) -> CoreError {
    err(ErrorKind::InvalidArgument, "invalid-ticket", message)
}

pub(crate) fn closed() -> CoreError {
    err(ErrorKind::FailedPrecondition, "ticket-closed", "this ticket is closed")
}

/// A subject: 1-120 characters, one line.
fn check_subject(s: &str) -> Result<String, CoreError> {
    let s = s.trim();
    let n = s.chars().count();
    if n == 0 || n > MAX_SUBJECT || s.chars().any(char::is_control) {
        return Err(invalid(format!("a subject is 1-{MAX_SUBJECT} characters on one line")));
    }
    Ok(s.to_string())
}

/// A message: 1-8000 characters of text (new lines and tabs allowed).
pub(crate) fn check_body(s: &str) -> Result<String, CoreError> {
    let s = s.replace("\r\n", "\n");
    let s = s.trim();
    let n = s.chars().count();
    if n == 0 || n > MAX_BODY || s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(invalid(format!("a message is 1-{MAX_BODY} characters of text")));
    }
    Ok(s.to_string())
}

pub(crate) fn subject_field(id: uuid::Uuid) -> String {
    format!("ticket-subject:{id}")
}

pub(crate) fn message_field(id: uuid::Uuid) -> String {
    format!("ticket-message:{id}")
}

pub(crate) fn attachment_meta(r: &LogRequestRow) -> AttachmentMeta {
    AttachmentMeta {
        id: r.id.clone(),
        kind: "device-logs",
        bytes: r.size_bytes.unwrap_or(0),
        created_at: r.created_at,
    }
}

impl Support {
    async fn user_key(&self, p: &Principal) -> Result<AccountKey, CoreError> {
        self.inner.vault.active_key(p.account_id).await?.ok_or(CoreError::NotFound("account"))
    }

    /// Opens a ticket (see [`NewTicket`]): `invalid-ticket` for a bad category, subject or
    /// description; `device-not-found` for a camera the caller cannot see; `logs-unavailable`
    /// for logs that are not the caller's ready logs of that camera. At most
    /// [`TICKETS_PER_HOUR`] per account (`too-many-requests`). Nothing is stored on any error.
    pub async fn open_ticket(
        &self,
        p: &Principal,
        new: NewTicket,
    ) -> Result<TicketView, CoreError> {
        let s = &self.inner;
        let category = new.category.trim().to_ascii_lowercase();
        if !CATEGORIES.contains(&category.as_str()) {
            return Err(invalid(format!("the category is one of {}", CATEGORIES.join(", "))));
        }
        let subject = check_subject(&new.subject)?;
        let body = check_body(&new.body)?;
        let device = match new.device_uid.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            Some(uid) => {
                let h = s.devices.authorize_device(p, Capability::View, uid).await?;
                let v = s.devices.view(&h).await?;
                Some(TicketDeviceRow {
                    uid: v.uid,
                    model: Some(v.model),
                    firmware: v.shadow.reported.as_ref().map(|r| r.firmware.clone()),
                    online: v.shadow.online,
                })
            }
            None => None,
        };
        let logs = new.logs_request.as_deref().map(str::trim).filter(|l| !l.is_empty());
        if let Some(id) = logs {
            let row = self.own_logs(p, id).await?;
            let same = device.as_ref().is_some_and(|d| d.uid == row.uid);
            if !same || row.state != "ready" || row.ticket_id.is_some() {
                return Err(logs_unavailable("attach the ready logs of the camera picked"));
            }
        }
        let limit = RateLimit { count: TICKETS_PER_HOUR, per_secs: 3600 };
        s.limiter.check(&format!("support-ticket:{}", p.account_id), limit).await?;
        let key = self.user_key(p).await?;
        let now = self.now();
        let id = uuid::Uuid::now_v7();
        let t = TicketRow {
            id,
            account_id: p.account_id,
            category,
            subject_enc: key.seal(&subject_field(id), subject.as_bytes())?,
            state: "open".into(),
            device,
            assignee: None,
            created_at: now,
            updated_at: now,
            closed_at: None,
            user_read_through: None,
        };
        let first = user_message(&key, id, &body, now)?;
        let t = TicketRow { user_read_through: Some(first.id), ..t };
        s.store.insert_ticket(&t, &first, logs, now).await.map_err(|e| match e {
            DbError::NotFound(_) => logs_unavailable("those logs are no longer available"),
            other => other.into(),
        })?;
        Ok(TicketView {
            id,
            account_id: t.account_id,
            category: t.category,
            subject,
            state: t.state,
            device: t.device,
            assignee: None,
            unread: 0,
            created_at: now,
            updated_at: now,
        })
    }

    /// The caller's tickets, latest activity first.
    pub async fn my_tickets(&self, p: &Principal) -> Result<Vec<TicketView>, CoreError> {
        let key = self.user_key(p).await?;
        let rows = self.inner.store.tickets_of(p.account_id).await?;
        rows.into_iter().map(|(t, unread)| open_ticket_row(&key, t, unread)).collect()
    }

    /// A ticket of the caller's with its thread; the staff replies are read from now on.
    /// `ticket-not-found` for anyone else's.
    pub async fn my_ticket(&self, p: &Principal, id: uuid::Uuid) -> Result<Thread, CoreError> {
        let s = &self.inner;
        let t = self.own_ticket(p, id).await?;
        let key = self.user_key(p).await?;
        let read = t.user_read_through;
        let thread =
            self.thread(&key, t, |m| m.author == "staff" && read.is_none_or(|r| m.id > r)).await?;
        if let Some(last) = thread.messages.last() {
            s.store.mark_ticket_read(id, last.id).await?;
        }
        Ok(thread)
    }

    /// Every ticket of the caller's with its thread and the text of the logs attached (the
    /// data export; nothing is marked read).
    pub async fn export_of(&self, p: &Principal) -> Result<Vec<(Thread, Vec<String>)>, CoreError> {
        let s = &self.inner;
        let Some(key) = s.vault.account_key(p.account_id).await? else { return Ok(vec![]) };
        let mut out = Vec::new();
        for (t, _) in s.store.tickets_of(p.account_id).await? {
            let id = t.id;
            let thread = self.thread(&key, t, |_| false).await?;
            let mut logs = Vec::new();
            for row in s.store.ticket_attachments(id).await? {
                if let Some(sealed) = &row.text_enc {
                    logs.push(key.open_string(&crate::logs::logs_field(&row.id), sealed)?);
                }
            }
            out.push((thread, logs));
        }
        Ok(out)
    }

    /// Adds the caller's message to their open ticket.
    pub async fn user_reply(
        &self,
        p: &Principal,
        id: uuid::Uuid,
        body: &str,
    ) -> Result<MessageView, CoreError> {
        let body = check_body(body)?;
        let t = self.own_ticket(p, id).await?;
        if t.state != "open" {
            return Err(closed());
        }
        let key = self.user_key(p).await?;
        let now = self.now();
        let m = user_message(&key, id, &body, now)?;
        if !self.inner.store.add_ticket_message(&m).await? {
            return Err(closed());
        }
        self.inner.store.mark_ticket_read(id, m.id).await?;
        Ok(MessageView { id: m.id, author: m.author, body, at: now, unread: false })
    }

    /// Closes the caller's ticket (`ticket-closed` when it is already).
    pub async fn user_close(&self, p: &Principal, id: uuid::Uuid) -> Result<(), CoreError> {
        self.own_ticket(p, id).await?;
        if !self.inner.store.close_ticket(id, self.now()).await? {
            return Err(closed());
        }
        Ok(())
    }

    async fn own_ticket(&self, p: &Principal, id: uuid::Uuid) -> Result<TicketRow, CoreError> {
        match self.inner.store.ticket(id).await? {
            Some(t) if t.account_id == p.account_id => Ok(t),
            _ => Err(not_found()),
        }
    }

    /// Opens a ticket's thread with the account's key; `unread` marks messages.
    pub(crate) async fn thread(
        &self,
        key: &AccountKey,
        t: TicketRow,
        unread: impl Fn(&TicketMessageRow) -> bool,
    ) -> Result<Thread, CoreError> {
        let s = &self.inner;
        let rows = s.store.ticket_messages(t.id).await?;
        let mut messages = Vec::with_capacity(rows.len());
        let mut n = 0;
        for m in rows {
            let u = unread(&m);
            n += u32::from(u);
            messages.push(MessageView {
                body: key.open_string(&message_field(m.id), &m.body_enc)?,
                id: m.id,
                author: m.author,
                at: m.created_at,
                unread: u,
            });
        }
        let attachments =
            s.store.ticket_attachments(t.id).await?.iter().map(attachment_meta).collect();
        Ok(Thread { ticket: open_ticket_row(key, t, n)?, messages, attachments })
    }
}

fn user_message(
    key: &AccountKey,
    ticket: uuid::Uuid,
    body: &str,
    now: Timestamp,
) -> Result<TicketMessageRow, CoreError> {
    let id = uuid::Uuid::now_v7();
    Ok(TicketMessageRow {
        id,
        ticket_id: ticket,
        author: "user".into(),
        staff_id: None,
        body_enc: key.seal(&message_field(id), body.as_bytes())?,
        created_at: now,
    })
}

pub(crate) fn open_ticket_row(
    key: &AccountKey,
    t: TicketRow,
    unread: u32,
) -> Result<TicketView, CoreError> {
    Ok(TicketView {
        subject: key.open_string(&subject_field(t.id), &t.subject_enc)?,
        id: t.id,
        account_id: t.account_id,
        category: t.category,
        state: t.state,
        device: t.device,
        assignee: t.assignee,
        unread,
        created_at: t.created_at,
        updated_at: t.updated_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_and_messages_are_bounded_text() {
        assert_eq!(check_subject("  Camera offline ").expect("ok"), "Camera offline");
        for bad in ["", "   ", "a\nb", &"x".repeat(MAX_SUBJECT + 1)] {
            assert_eq!(check_subject(bad).expect_err(bad).code(), "invalid-ticket");
        }
        assert_eq!(check_body("line 1\r\nline 2").expect("ok"), "line 1\nline 2");
        for bad in ["", "a\u{7}b", &"x".repeat(MAX_BODY + 1)] {
            assert_eq!(check_body(bad).expect_err("bad").code(), "invalid-ticket");
        }
    }
}
