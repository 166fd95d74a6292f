//! The staff side of tickets: the queue, a ticket's thread, assigning, replying, closing,
//! and a ticket's attachments for its assignee only. The route table checks each route's
//! permission; assigning to someone else needs `tickets-assign` on top, checked here. Every
//! action is written to the audit log with ids only (never a subject, a message or a log).

use kankan_accounts::{Identifier, StaffPrincipal};
use kankan_base::{ErrorKind, StaffId};
use kankan_core::audit::{Actor, Record};
use kankan_core::{CoreError, StaffPermission, StaffRole, authorize_staff};
use kankan_crypto::AccountKey;
use kankan_db::{TicketMessageRow, TicketRow};

use crate::tickets::{
    MessageView, Thread, TicketView, check_body, closed, invalid, message_field, open_ticket_row,
};
use crate::{Support, err, not_found};

/// Tickets the queue lists at most.
pub const QUEUE_LIMIT: u32 = 200;
/// What a user is told when staff reply (never the reply itself).
pub const REPLY_NOTICE: &str = "Support replied to your ticket";

/// The queue's filter.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// `open` or `closed`; any when `None`.
    pub state: Option<String>,
    /// Only the tickets assigned to the caller.
    pub mine: bool,
}

/// An attachment's content.
#[derive(Debug, Clone)]
pub struct AttachmentText {
    pub id: String,
    pub kind: &'static str,
    pub text: String,
}

impl Support {
    async fn audit(
        &self,
        staff: &StaffPrincipal,
        action: &str,
        t: Option<&TicketRow>,
        detail: String,
    ) -> Result<(), CoreError> {
        let actor = Actor::Staff(staff.id);
        let subject = t.map(|t| t.account_id);
        self.inner.audit.append(Record { actor: &actor, action, subject, detail }).await?;
        Ok(())
    }

    async fn ticket_of(&self, id: uuid::Uuid) -> Result<(TicketRow, AccountKey), CoreError> {
        let t = self.inner.store.ticket(id).await?.ok_or_else(not_found)?;
        let key = self.inner.vault.account_key(t.account_id).await?.ok_or_else(not_found)?;
        Ok((t, key))
    }

    /// The queue (`tickets-read`), latest activity first.
    pub async fn queue(
        &self,
        staff: &StaffPrincipal,
        f: QueueFilter,
    ) -> Result<Vec<TicketView>, CoreError> {
        let state = match f.state.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(s @ ("open" | "closed")) => Some(s.to_string()),
            Some(_) => return Err(invalid("state is open or closed")),
            None => None,
        };
        let mine = f.mine.then_some(staff.id);
        let rows = self.inner.store.ticket_queue(state.as_deref(), mine, QUEUE_LIMIT).await?;
        let mut out = Vec::with_capacity(rows.len());
        for t in rows {
            // A ticket of an account shredded since is unreadable: left out.
            if let Some(key) = self.inner.vault.account_key(t.account_id).await? {
                out.push(open_ticket_row(&key, t, 0)?);
            }
        }
        let detail = format!(
            "state={} mine={} count={}",
            state.as_deref().unwrap_or("any"),
            f.mine,
            out.len()
        );
        self.audit(staff, "tickets-listed", None, detail).await?;
        Ok(out)
    }

    /// A ticket's thread and its attachments' metadata (`tickets-read`).
    pub async fn staff_ticket(
        &self,
        staff: &StaffPrincipal,
        id: uuid::Uuid,
    ) -> Result<Thread, CoreError> {
        let (t, key) = self.ticket_of(id).await?;
        self.audit(staff, "ticket-read", Some(&t), format!("ticket={id}")).await?;
        self.thread(&key, t, |_| false).await
    }

    /// Assigns the ticket to `to`, or to the caller when `None` (`tickets-reply`); to
    /// someone else needs `tickets-assign` (`staff-forbidden` otherwise), and a staff member
    /// whose role reads tickets (`invalid-ticket` otherwise).
    pub async fn assign(
        &self,
        staff: &StaffPrincipal,
        id: uuid::Uuid,
        to: Option<StaffId>,
    ) -> Result<StaffId, CoreError> {
        let to = to.unwrap_or(staff.id);
        if to != staff.id {
            authorize_staff(staff.role, StaffPermission::TicketsAssign)?;
            let role = self.inner.store.staff_role(to).await?.as_deref().and_then(StaffRole::parse);
            if !role.is_some_and(|r| r.permits(StaffPermission::TicketsRead)) {
                return Err(invalid("assign tickets to a staff member who reads tickets"));
            }
        }
        let t = self.inner.store.ticket(id).await?.ok_or_else(not_found)?;
        if !self.inner.store.assign_ticket(id, to, self.now()).await? {
            return Err(not_found());
        }
        self.audit(staff, "ticket-assigned", Some(&t), format!("ticket={id} to=staff:{to}"))
            .await?;
        Ok(to)
    }

    /// Replies on an open ticket (`tickets-reply`); the user is told that support replied.
    pub async fn staff_reply(
        &self,
        staff: &StaffPrincipal,
        id: uuid::Uuid,
        body: &str,
    ) -> Result<MessageView, CoreError> {
        let body = check_body(body)?;
        let (t, key) = self.ticket_of(id).await?;
        if t.state != "open" {
            return Err(closed());
        }
        let now = self.now();
        let mid = uuid::Uuid::now_v7();
        let m = TicketMessageRow {
            id: mid,
            ticket_id: id,
            author: "staff".into(),
            staff_id: Some(staff.id),
            body_enc: key.seal(&message_field(mid), body.as_bytes())?,
            created_at: now,
        };
        if !self.inner.store.add_ticket_message(&m).await? {
            return Err(closed());
        }
        self.audit(staff, "ticket-replied", Some(&t), format!("ticket={id} message={mid}")).await?;
        self.tell_user(&t).await;
        Ok(MessageView { id: mid, author: m.author, body, at: now, unread: false })
    }

    /// Closes an open ticket (`tickets-reply`).
    pub async fn staff_close(
        &self,
        staff: &StaffPrincipal,
        id: uuid::Uuid,
    ) -> Result<(), CoreError> {
        let t = self.inner.store.ticket(id).await?.ok_or_else(not_found)?;
        if !self.inner.store.close_ticket(id, self.now()).await? {
            return Err(closed());
        }
        self.audit(staff, "ticket-closed", Some(&t), format!("ticket={id}")).await
    }

    /// An attachment's content (`tickets-read`), for the ticket's assignee only, whatever
    /// the role: `staff-forbidden` for anyone else (the refusal is logged too).
    pub async fn attachment(
        &self,
        staff: &StaffPrincipal,
        id: uuid::Uuid,
        att: &str,
    ) -> Result<AttachmentText, CoreError> {
        let (t, key) = self.ticket_of(id).await?;
        if t.assignee != Some(staff.id) {
            let detail = format!("ticket={id} attachment={att}");
            self.audit(staff, "ticket-attachment-refused", Some(&t), detail).await?;
            return Err(CoreError::StaffForbidden("ticket attachments (the assignee only)"));
        }
        let row = self
            .inner
            .store
            .ticket_attachments(id)
            .await?
            .into_iter()
            .find(|r| r.id == att)
            .ok_or_else(|| {
                err(ErrorKind::NotFound, "attachment-not-found", "no such attachment")
            })?;
        let sealed = row.text_enc.as_deref().unwrap_or_default();
        let text = key.open_string(&crate::logs::logs_field(&row.id), sealed)?;
        self.audit(
            staff,
            "ticket-attachment-read",
            Some(&t),
            format!("ticket={id} attachment={att}"),
        )
        .await?;
        Ok(AttachmentText { id: row.id, kind: "device-logs", text })
    }

    /// Tells the ticket's account that support replied (its contact, as every account
    /// notice); a failure is logged and the reply stands.
    async fn tell_user(&self, t: &TicketRow) {
        if let Err(e) = self.try_tell(t).await {
            tracing::warn!(error = %e, "support reply notice not queued");
        }
    }

    async fn try_tell(&self, t: &TicketRow) -> Result<(), CoreError> {
        let s = &self.inner;
        let Some(a) = s.store.account(t.account_id).await? else { return Ok(()) };
        let Some(key) = s.vault.active_key(t.account_id).await? else { return Ok(()) };
        let contact = key.open_string("contact", &a.contact_enc)?;
        let to = Identifier::from_stored(a.contact_kind, contact).recipient();
        let body = format!(
            "{REPLY_NOTICE}. Open Kankan, then Me → Help & feedback → My tickets to read it \
             (ticket {}).",
            t.id
        );
        s.outbox.enqueue(kankan_notify::Message { to, subject: REPLY_NOTICE.into(), body }).await?;
        Ok(())
    }
}
