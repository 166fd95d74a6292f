//! The audit log (hash-chained, appended under the locked head row), the data-subject
//! requests, the support grants, and the retention of idle sessions and pending registrations.
//! Every statement uses numbered placeholders and portable SQL only.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Engine, R, SqlStore, opt_ts, ts, uuid_col, write_tx};
use crate::{
    AuditCheckpoint, AuditEntry, AuditHead, AuditLinker, AuditStore, DbError, ExpiredInactive,
    NewAuditEntry, PrivacyRequest, SupportGrant,
};

fn hash32(row: &AnyRow, col: &str) -> R<[u8; 32]> {
    let v: Vec<u8> = row.try_get(col)?;
    v.as_slice().try_into().map_err(|_| DbError::Corrupt(format!("{col} length")))
}

fn account(s: &str) -> R<AccountId> {
    s.parse().map(AccountId).map_err(|e| DbError::Corrupt(format!("account id: {e}")))
}

fn entry_from(row: &AnyRow, with_staff: bool) -> R<AuditEntry> {
    let subject: Option<String> = row.try_get("subject_id")?;
    let staff = if with_staff {
        let name: Option<String> = row.try_get("staff_username")?;
        let role: Option<String> = row.try_get("staff_role")?;
        name.zip(role)
    } else {
        None
    };
    Ok(AuditEntry {
        seq: row.try_get("seq")?,
        entry: NewAuditEntry {
            at: ts(row, "at_ms")?,
            actor: row.try_get("actor")?,
            action: row.try_get("action")?,
            subject: subject.as_deref().map(account).transpose()?,
            detail: row.try_get("detail")?,
        },
        hash: hash32(row, "hash")?,
        staff,
    })
}

const REQUEST_COLS: &str = "SELECT id, account_id, kind, origin, message_enc, received_at_ms, \
    due_at_ms, state, closed_at_ms, closed_by FROM privacy_requests";

fn request_from(row: &AnyRow) -> R<PrivacyRequest> {
    Ok(PrivacyRequest {
        id: uuid_col(row, "id")?,
        account: AccountId(uuid_col(row, "account_id")?),
        kind: row.try_get("kind")?,
        origin: row.try_get("origin")?,
        message_enc: row.try_get("message_enc")?,
        received_at: ts(row, "received_at_ms")?,
        due_at: ts(row, "due_at_ms")?,
        state: row.try_get("state")?,
        closed_at: opt_ts(row, "closed_at_ms")?,
        closed_by: row.try_get("closed_by")?,
    })
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn append_audit(&self, e: &NewAuditEntry, link: AuditLinker<'_>) -> R<i64> {
        let mut tx = write_tx(self.pool()).await?;
        let engine = Engine::of_tx(&tx);
        sqlx::query(
            "INSERT INTO audit_head (id, seq, hash, checkpoint_at_ms) VALUES (1, 0, $1, NULL) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&[0u8; 32][..])
        .execute(&mut *tx)
        .await?;
        let sql = format!(
            "SELECT seq, hash, checkpoint_at_ms FROM audit_head WHERE id = 1{}",
            engine.for_update()
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *tx).await?;
        let head = AuditHead {
            seq: row.try_get("seq")?,
            hash: hash32(&row, "hash")?,
            checkpoint_at: opt_ts(&row, "checkpoint_at_ms")?,
        };
        let seq = head.seq + 1;
        let (hash, checkpoint) = link(&head, seq, e);
        sqlx::query(
            "INSERT INTO audit_log (seq, at_ms, actor, action, subject_id, detail, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(seq)
        .bind(e.at.0)
        .bind(&e.actor)
        .bind(&e.action)
        .bind(e.subject.map(|a| a.to_string()))
        .bind(&e.detail)
        .bind(&hash[..])
        .execute(&mut *tx)
        .await?;
        let mut checkpoint_at = head.checkpoint_at.map(|t| t.0);
        if let Some(c) = checkpoint {
            sqlx::query(
                "INSERT INTO audit_checkpoints (seq, hash, at_ms, mac) VALUES ($1, $2, $3, $4)",
            )
            .bind(c.seq)
            .bind(&c.hash[..])
            .bind(c.at.0)
            .bind(&c.mac)
            .execute(&mut *tx)
            .await?;
            checkpoint_at = Some(c.at.0);
        }
        sqlx::query(
            "UPDATE audit_head SET seq = $1, hash = $2, checkpoint_at_ms = $3 WHERE id = 1",
        )
        .bind(seq)
        .bind(&hash[..])
        .bind(checkpoint_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(seq)
    }

    async fn audit_entries(&self, after: i64, limit: u32) -> R<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT seq, at_ms, actor, action, subject_id, detail, hash FROM audit_log \
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| entry_from(r, false)).collect()
    }

    async fn audit_of_subject(&self, who: AccountId, limit: u32) -> R<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT l.seq, l.at_ms, l.actor, l.action, l.subject_id, l.detail, l.hash, \
             s.username AS staff_username, s.role AS staff_role \
             FROM audit_log l LEFT JOIN staff s ON l.actor = 'staff:' || s.id \
             WHERE l.subject_id = $1 ORDER BY l.seq DESC LIMIT $2",
        )
        .bind(who.to_string())
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| entry_from(r, true)).collect()
    }

    async fn audit_checkpoints(&self) -> R<Vec<AuditCheckpoint>> {
        let rows = sqlx::query("SELECT seq, hash, at_ms, mac FROM audit_checkpoints ORDER BY seq")
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditCheckpoint {
                    seq: r.try_get("seq")?,
                    hash: hash32(r, "hash")?,
                    at: ts(r, "at_ms")?,
                    mac: r.try_get("mac")?,
                })
            })
            .collect()
    }

    async fn insert_privacy_request(&self, r: &PrivacyRequest) -> R<()> {
        sqlx::query(
            "INSERT INTO privacy_requests (id, account_id, kind, origin, message_enc, \
             received_at_ms, due_at_ms, state, closed_at_ms, closed_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(r.id.to_string())
        .bind(r.account.to_string())
        .bind(&r.kind)
        .bind(&r.origin)
        .bind(&r.message_enc)
        .bind(r.received_at.0)
        .bind(r.due_at.0)
        .bind(&r.state)
        .bind(r.closed_at.map(|t| t.0))
        .bind(&r.closed_by)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn privacy_request(&self, id: uuid::Uuid) -> R<Option<PrivacyRequest>> {
        let sql = sqlx::AssertSqlSafe(format!("{REQUEST_COLS} WHERE id = $1"));
        let row = sqlx::query(sql).bind(id.to_string()).fetch_optional(self.pool()).await?;
        row.as_ref().map(request_from).transpose()
    }

    async fn privacy_requests_of(&self, who: AccountId) -> R<Vec<PrivacyRequest>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{REQUEST_COLS} WHERE account_id = $1 ORDER BY received_at_ms DESC, id DESC"
        ));
        let rows = sqlx::query(sql).bind(who.to_string()).fetch_all(self.pool()).await?;
        rows.iter().map(request_from).collect()
    }

    async fn privacy_requests(&self, open_only: bool, limit: u32) -> R<Vec<PrivacyRequest>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{REQUEST_COLS} WHERE ($1 = 0 OR state = 'open') ORDER BY due_at_ms, id LIMIT $2"
        ));
        let rows = sqlx::query(sql)
            .bind(i64::from(open_only))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(request_from).collect()
    }

    async fn close_privacy_request(
        &self,
        id: uuid::Uuid,
        state: &str,
        by: &str,
        at: Timestamp,
    ) -> R<bool> {
        let r = sqlx::query(
            "UPDATE privacy_requests SET state = $1, closed_by = $2, closed_at_ms = $3 \
             WHERE id = $4 AND state = 'open'",
        )
        .bind(state)
        .bind(by)
        .bind(at.0)
        .bind(id.to_string())
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn insert_support_grant(&self, g: &SupportGrant) -> R<()> {
        let mut tx = write_tx(self.pool()).await?;
        sqlx::query(
            "INSERT INTO support_grants (id, account_id, created_at_ms, expires_at_ms, \
             withdrawn_at_ms) VALUES ($1, $2, $3, $4, NULL)",
        )
        .bind(g.id.to_string())
        .bind(g.account.to_string())
        .bind(g.created_at.0)
        .bind(g.expires_at.0)
        .execute(&mut *tx)
        .await?;
        for uid in &g.devices {
            let r = sqlx::query(
                "INSERT INTO support_grant_devices (grant_id, uid) \
                 SELECT $1, uid FROM devices WHERE uid = $2 AND owner_id = $3",
            )
            .bind(g.id.to_string())
            .bind(uid)
            .bind(g.account.to_string())
            .execute(&mut *tx)
            .await?;
            if r.rows_affected() != 1 {
                return Err(DbError::NotFound("device"));
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn support_grants_of(&self, who: AccountId) -> R<Vec<SupportGrant>> {
        let rows = sqlx::query(
            "SELECT g.id, g.account_id, g.created_at_ms, g.expires_at_ms, g.withdrawn_at_ms, \
             d.uid FROM support_grants g JOIN support_grant_devices d ON d.grant_id = g.id \
             WHERE g.account_id = $1 ORDER BY g.created_at_ms DESC, g.id DESC, d.uid",
        )
        .bind(who.to_string())
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<SupportGrant> = Vec::new();
        for r in &rows {
            let id = uuid_col(r, "id")?;
            let uid: String = r.try_get("uid")?;
            if let Some(g) = out.last_mut().filter(|g| g.id == id) {
                g.devices.push(uid);
                continue;
            }
            out.push(SupportGrant {
                id,
                account: AccountId(uuid_col(r, "account_id")?),
                devices: vec![uid],
                created_at: ts(r, "created_at_ms")?,
                expires_at: ts(r, "expires_at_ms")?,
                withdrawn_at: opt_ts(r, "withdrawn_at_ms")?,
            });
        }
        Ok(out)
    }

    async fn withdraw_support_grant(
        &self,
        who: AccountId,
        id: uuid::Uuid,
        at: Timestamp,
    ) -> R<bool> {
        let r = sqlx::query(
            "UPDATE support_grants SET withdrawn_at_ms = $1 WHERE id = $2 AND account_id = $3 \
             AND withdrawn_at_ms IS NULL AND expires_at_ms > $1",
        )
        .bind(at.0)
        .bind(id.to_string())
        .bind(who.to_string())
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn live_support_grant(
        &self,
        who: AccountId,
        uid: &str,
        now: Timestamp,
    ) -> R<Option<uuid::Uuid>> {
        let row = sqlx::query(
            "SELECT g.id FROM support_grants g \
             JOIN support_grant_devices d ON d.grant_id = g.id \
             JOIN devices v ON v.uid = d.uid AND v.owner_id = g.account_id \
             WHERE g.account_id = $1 AND d.uid = $2 AND g.withdrawn_at_ms IS NULL \
             AND g.expires_at_ms > $3 ORDER BY g.expires_at_ms DESC LIMIT 1",
        )
        .bind(who.to_string())
        .bind(uid)
        .bind(now.0)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(|r| uuid_col(r, "id")).transpose()
    }

    async fn expire_inactive(
        &self,
        idle_cutoff: Timestamp,
        pending_cutoff: Timestamp,
    ) -> R<ExpiredInactive> {
        let idle_sessions = sqlx::query("DELETE FROM sessions WHERE last_used_at_ms < $1")
            .bind(idle_cutoff.0)
            .execute(self.pool())
            .await?
            .rows_affected();
        let mut tx = write_tx(self.pool()).await?;
        // Still pending, and no registration code sent to the contact since the cutoff (a
        // registration tried again recently keeps its account).
        const STALE: &str = "state = 'pending' AND state_changed_at_ms < $1 AND NOT EXISTS \
            (SELECT 1 FROM verification_codes c WHERE c.contact_index = accounts.contact_index \
            AND c.purpose = 'register' AND c.created_at_ms >= $1)";
        let sql = format!(
            "DELETE FROM verification_codes WHERE contact_index IN \
             (SELECT contact_index FROM accounts WHERE {STALE})"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(pending_cutoff.0).execute(&mut *tx).await?;
        let pending_registrations =
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM accounts WHERE {STALE}")))
                .bind(pending_cutoff.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        tx.commit().await?;
        Ok(ExpiredInactive { idle_sessions, pending_registrations })
    }
}
