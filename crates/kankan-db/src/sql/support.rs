//! Support tickets, their threads and cameras' logs (see [`SupportStore`]).

use async_trait::async_trait;
use kankan_base::{AccountId, StaffId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use super::columns::{account_col, i64_of};
use super::{R, SqlStore, opt_ts, ts, uuid_col, write_tx};
use crate::{DbError, LogRequestRow, SupportStore, TicketDeviceRow, TicketMessageRow, TicketRow};

macro_rules! ticket_cols {
    () => {
        "id, account_id, category, subject_enc, state, device_uid, device_model, \
         device_firmware, device_online, assignee_staff_id, created_at_ms, updated_at_ms, \
         closed_at_ms, user_read_through"
    };
}

macro_rules! msg_cols {
    () => {
        "id, ticket_id, author, staff_id, body_enc, created_at_ms"
    };
}

macro_rules! logs_cols {
    () => {
        "id, account_id, uid, state, text_enc, size_bytes, ticket_id, created_at_ms, \
         expires_at_ms"
    };
}

fn staff_of(r: &AnyRow, col: &str) -> R<Option<StaffId>> {
    let s: Option<String> = r.try_get(col)?;
    s.map(|s| s.parse().map(StaffId).map_err(|e| DbError::Corrupt(format!("{col}: {e}"))))
        .transpose()
}

fn ticket_from(r: &AnyRow) -> R<TicketRow> {
    let uid: Option<String> = r.try_get("device_uid")?;
    let online: Option<i64> = r.try_get("device_online")?;
    let device = match uid {
        Some(uid) => Some(TicketDeviceRow {
            uid,
            model: r.try_get("device_model")?,
            firmware: r.try_get("device_firmware")?,
            online: online.unwrap_or(0) != 0,
        }),
        None => None,
    };
    Ok(TicketRow {
        id: uuid_col(r, "id")?,
        account_id: account_col(r, "account_id")?,
        category: r.try_get("category")?,
        subject_enc: r.try_get("subject_enc")?,
        state: r.try_get("state")?,
        device,
        assignee: staff_of(r, "assignee_staff_id")?,
        created_at: ts(r, "created_at_ms")?,
        updated_at: ts(r, "updated_at_ms")?,
        closed_at: opt_ts(r, "closed_at_ms")?,
        user_read_through: {
            let s: Option<String> = r.try_get("user_read_through")?;
            s.map(|s| uuid::Uuid::parse_str(&s).map_err(|e| DbError::Corrupt(format!("{e}"))))
                .transpose()?
        },
    })
}

fn msg_from(r: &AnyRow) -> R<TicketMessageRow> {
    Ok(TicketMessageRow {
        id: uuid_col(r, "id")?,
        ticket_id: uuid_col(r, "ticket_id")?,
        author: r.try_get("author")?,
        staff_id: staff_of(r, "staff_id")?,
        body_enc: r.try_get("body_enc")?,
        created_at: ts(r, "created_at_ms")?,
    })
}

fn logs_from(r: &AnyRow) -> R<LogRequestRow> {
    let size: Option<i64> = r.try_get("size_bytes")?;
    let ticket: Option<String> = r.try_get("ticket_id")?;
    Ok(LogRequestRow {
        id: r.try_get("id")?,
        account_id: account_col(r, "account_id")?,
        uid: r.try_get("uid")?,
        state: r.try_get("state")?,
        text_enc: r.try_get("text_enc")?,
        size_bytes: size.map(|s| u64::try_from(s).unwrap_or(0)),
        ticket_id: ticket
            .map(|t| uuid::Uuid::parse_str(&t).map_err(|e| DbError::Corrupt(format!("{e}"))))
            .transpose()?,
        created_at: ts(r, "created_at_ms")?,
        expires_at: ts(r, "expires_at_ms")?,
    })
}

async fn insert_ticket(
    pool: &AnyPool,
    t: &TicketRow,
    first: &TicketMessageRow,
    logs: Option<&str>,
    now: Timestamp,
) -> R<()> {
    let mut tx = write_tx(pool).await?;
    let d = t.device.as_ref();
    sqlx::query(concat!(
        "INSERT INTO support_tickets (",
        ticket_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    ))
    .bind(t.id.to_string())
    .bind(t.account_id.to_string())
    .bind(&t.category)
    .bind(&t.subject_enc)
    .bind(&t.state)
    .bind(d.map(|d| d.uid.clone()))
    .bind(d.and_then(|d| d.model.clone()))
    .bind(d.and_then(|d| d.firmware.clone()))
    .bind(d.map(|d| i64::from(d.online)))
    .bind(t.assignee.map(|s| s.to_string()))
    .bind(t.created_at.0)
    .bind(t.updated_at.0)
    .bind(t.closed_at.map(|c| c.0))
    .bind(t.user_read_through.map(|u| u.to_string()))
    .execute(&mut *tx)
    .await?;
    insert_msg(&mut tx, first).await?;
    if let Some(id) = logs {
        let r = sqlx::query(
            "UPDATE device_log_requests SET ticket_id = $1 WHERE id = $2 AND account_id = $3 \
             AND state = 'ready' AND ticket_id IS NULL AND expires_at_ms > $4",
        )
        .bind(t.id.to_string())
        .bind(id)
        .bind(t.account_id.to_string())
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Err(DbError::NotFound("device logs"));
        }
    }
    tx.commit().await?;
    Ok(())
}

async fn insert_msg(conn: &mut sqlx::AnyConnection, m: &TicketMessageRow) -> R<()> {
    sqlx::query(concat!(
        "INSERT INTO support_messages (",
        msg_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6)"
    ))
    .bind(m.id.to_string())
    .bind(m.ticket_id.to_string())
    .bind(&m.author)
    .bind(m.staff_id.map(|s| s.to_string()))
    .bind(&m.body_enc)
    .bind(m.created_at.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn add_message(pool: &AnyPool, m: &TicketMessageRow) -> R<bool> {
    let mut tx = write_tx(pool).await?;
    // Moves the ticket's activity first: it locks the row, and says whether it is open.
    let r = sqlx::query(
        "UPDATE support_tickets SET updated_at_ms = $1 WHERE id = $2 AND state = 'open'",
    )
    .bind(m.created_at.0)
    .bind(m.ticket_id.to_string())
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() != 1 {
        return Ok(false);
    }
    insert_msg(&mut tx, m).await?;
    tx.commit().await?;
    Ok(true)
}

#[async_trait]
impl SupportStore for SqlStore {
    async fn insert_log_request(&self, r: &LogRequestRow) -> R<()> {
        sqlx::query(concat!(
            "INSERT INTO device_log_requests (",
            logs_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&r.id)
        .bind(r.account_id.to_string())
        .bind(&r.uid)
        .bind(&r.state)
        .bind(r.text_enc.clone())
        .bind(r.size_bytes.map(i64_of))
        .bind(r.ticket_id.map(|t| t.to_string()))
        .bind(r.created_at.0)
        .bind(r.expires_at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn log_request(&self, id: &str) -> R<Option<LogRequestRow>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            logs_cols!(),
            " FROM device_log_requests WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(logs_from).transpose()
    }

    async fn store_device_logs(
        &self,
        id: &str,
        uid: &str,
        text_enc: &[u8],
        size_bytes: u64,
        now: Timestamp,
    ) -> R<bool> {
        let r = sqlx::query(
            "UPDATE device_log_requests SET state = 'ready', text_enc = $1, size_bytes = $2 \
             WHERE id = $3 AND uid = $4 AND state = 'waiting' AND expires_at_ms > $5",
        )
        .bind(text_enc)
        .bind(i64_of(size_bytes))
        .bind(id)
        .bind(uid)
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn fail_log_request(&self, id: &str) -> R<bool> {
        let r = sqlx::query(
            "UPDATE device_log_requests SET state = 'failed' WHERE id = $1 AND state = 'waiting'",
        )
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn expire_log_requests(&self, now: Timestamp) -> R<u64> {
        let r = sqlx::query(
            "DELETE FROM device_log_requests WHERE ticket_id IS NULL AND expires_at_ms <= $1",
        )
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    async fn insert_ticket(
        &self,
        t: &TicketRow,
        first: &TicketMessageRow,
        logs: Option<&str>,
        now: Timestamp,
    ) -> R<()> {
        insert_ticket(&self.pool, t, first, logs, now).await
    }

    async fn ticket(&self, id: uuid::Uuid) -> R<Option<TicketRow>> {
        let row =
            sqlx::query(concat!("SELECT ", ticket_cols!(), " FROM support_tickets WHERE id = $1"))
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(ticket_from).transpose()
    }

    async fn tickets_of(&self, account: AccountId) -> R<Vec<(TicketRow, u32)>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            ticket_cols!(),
            ", (SELECT COUNT(*) FROM support_messages m WHERE m.ticket_id = t.id \
             AND m.author = 'staff' AND (t.user_read_through IS NULL OR m.id > t.user_read_through)) AS unread \
             FROM support_tickets t WHERE account_id = $1 ORDER BY updated_at_ms DESC, id DESC"
        ))
        .bind(account.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let unread: i64 = r.try_get("unread")?;
                Ok((ticket_from(r)?, u32::try_from(unread).unwrap_or(u32::MAX)))
            })
            .collect()
    }

    async fn ticket_queue(
        &self,
        state: Option<&str>,
        assignee: Option<StaffId>,
        limit: u32,
    ) -> R<Vec<TicketRow>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            ticket_cols!(),
            " FROM support_tickets WHERE ($1 IS NULL OR state = $1) \
             AND ($2 IS NULL OR assignee_staff_id = $2) \
             ORDER BY updated_at_ms DESC, id DESC LIMIT $3"
        ))
        .bind(state.map(str::to_string))
        .bind(assignee.map(|s| s.to_string()))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(ticket_from).collect()
    }

    async fn ticket_messages(&self, ticket: uuid::Uuid) -> R<Vec<TicketMessageRow>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            msg_cols!(),
            " FROM support_messages WHERE ticket_id = $1 ORDER BY created_at_ms, id"
        ))
        .bind(ticket.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(msg_from).collect()
    }

    async fn ticket_attachments(&self, ticket: uuid::Uuid) -> R<Vec<LogRequestRow>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            logs_cols!(),
            " FROM device_log_requests WHERE ticket_id = $1 ORDER BY created_at_ms, id"
        ))
        .bind(ticket.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(logs_from).collect()
    }

    async fn add_ticket_message(&self, m: &TicketMessageRow) -> R<bool> {
        add_message(&self.pool, m).await
    }

    async fn mark_ticket_read(&self, ticket: uuid::Uuid, through: uuid::Uuid) -> R<()> {
        sqlx::query(
            "UPDATE support_tickets SET user_read_through = $1 WHERE id = $2 \
             AND (user_read_through IS NULL OR user_read_through < $1)",
        )
        .bind(through.to_string())
        .bind(ticket.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn close_ticket(&self, ticket: uuid::Uuid, now: Timestamp) -> R<bool> {
        let r = sqlx::query(
            "UPDATE support_tickets SET state = 'closed', closed_at_ms = $1, updated_at_ms = $1 \
             WHERE id = $2 AND state = 'open'",
        )
        .bind(now.0)
        .bind(ticket.to_string())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn assign_ticket(&self, ticket: uuid::Uuid, staff: StaffId, now: Timestamp) -> R<bool> {
        let r = sqlx::query(
            "UPDATE support_tickets SET assignee_staff_id = $1, updated_at_ms = $2 WHERE id = $3",
        )
        .bind(staff.to_string())
        .bind(now.0)
        .bind(ticket.to_string())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn tickets_opened_since(&self, account: AccountId, since: Timestamp) -> R<u64> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM support_tickets WHERE account_id = $1 AND created_at_ms >= $2",
        )
        .bind(account.to_string())
        .bind(since.0)
        .fetch_one(&self.pool)
        .await?;
        let n: i64 = row.try_get("n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn staff_role(&self, staff: StaffId) -> R<Option<String>> {
        let row = sqlx::query("SELECT role FROM staff WHERE id = $1")
            .bind(staff.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| r.try_get::<String, _>("role")).transpose().map_err(Into::into)
    }
}
