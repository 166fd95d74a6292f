//! The operator's console: staff second factors, staff management, ban notes, the fleet view
//! (see [`ConsoleStore`]).

use async_trait::async_trait;
use kankan_base::{AccountId, StaffId, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::columns::{i64_of, u64_of};
use super::{R, SqlStore, opt_ts, ts, uuid_col, write_tx};
use crate::{
    BanNote, ConsoleStore, DbError, DeviceProblem, FleetCount, FleetDevice, FleetFilter,
    StaffMember, StaffTotp,
};

const STAFF_COLS: &str = "id, username, role, created_at_ms, disabled_at_ms, \
     CASE WHEN totp_secret_enc IS NULL THEN 0 ELSE 1 END AS enrolled";

fn member_from(r: &AnyRow) -> R<StaffMember> {
    Ok(StaffMember {
        id: StaffId(uuid_col(r, "id")?),
        username: r.try_get("username")?,
        role: r.try_get("role")?,
        created_at: ts(r, "created_at_ms")?,
        second_factor: r.try_get::<i64, _>("enrolled")? != 0,
        disabled_at: opt_ts(r, "disabled_at_ms")?,
    })
}

const FLEET_COLS: &str = "d.uid, d.model, d.kind, d.provisioned_at_ms, f.version, \
     COALESCE(s.online, 0) AS online, s.last_seen_ms, \
     CASE WHEN d.owner_id IS NULL THEN 0 ELSE 1 END AS bound \
     FROM devices d LEFT JOIN firmware_devices f ON f.uid = d.uid \
     LEFT JOIN device_state s ON s.uid = d.uid";

fn fleet_from(r: &AnyRow) -> R<FleetDevice> {
    Ok(FleetDevice {
        uid: r.try_get("uid")?,
        model: r.try_get("model")?,
        kind: r.try_get("kind")?,
        firmware: r.try_get("version")?,
        online: r.try_get::<i64, _>("online")? != 0,
        last_seen: opt_ts(r, "last_seen_ms")?,
        bound: r.try_get::<i64, _>("bound")? != 0,
        provisioned_at: ts(r, "provisioned_at_ms")?,
    })
}

#[async_trait]
impl ConsoleStore for SqlStore {
    async fn staff_member(&self, id: StaffId) -> R<Option<StaffMember>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STAFF_COLS} FROM staff WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(member_from).transpose()
    }

    async fn staff_members(&self) -> R<Vec<StaffMember>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STAFF_COLS} FROM staff ORDER BY username"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(member_from).collect()
    }

    async fn staff_totp(&self, id: StaffId) -> R<Option<StaffTotp>> {
        let row = sqlx::query(
            "SELECT totp_secret_enc, totp_last_step FROM staff \
             WHERE id = $1 AND totp_secret_enc IS NOT NULL",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let step: Option<i64> = r.try_get("totp_last_step")?;
        Ok(Some(StaffTotp {
            secret_enc: r.try_get("totp_secret_enc")?,
            last_step: step.map(|s| u64::try_from(s).unwrap_or(0)),
        }))
    }

    async fn clear_staff_totp(&self, id: StaffId) -> R<bool> {
        let mut tx = write_tx(&self.pool).await?;
        let r = sqlx::query(
            "UPDATE staff SET totp_secret_enc = NULL, totp_last_step = NULL WHERE id = $1",
        )
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM staff_enrolments WHERE staff_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    async fn use_staff_totp_step(&self, id: StaffId, step: u64) -> R<bool> {
        let r = sqlx::query(
            "UPDATE staff SET totp_last_step = $1 WHERE id = $2 AND totp_secret_enc IS NOT NULL \
             AND (totp_last_step IS NULL OR totp_last_step < $3)",
        )
        .bind(i64_of(step))
        .bind(id.to_string())
        .bind(i64_of(step))
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn insert_staff_enrolment(
        &self,
        token_hash: &[u8; 32],
        staff: StaffId,
        secret_enc: &[u8],
        expires_at: Timestamp,
    ) -> R<()> {
        sqlx::query(
            "INSERT INTO staff_enrolments (token_hash, staff_id, secret_enc, expires_at_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&token_hash[..])
        .bind(staff.to_string())
        .bind(secret_enc)
        .bind(expires_at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn staff_enrolment(
        &self,
        token_hash: &[u8; 32],
        now: Timestamp,
    ) -> R<Option<(StaffId, Vec<u8>)>> {
        let row = sqlx::query(
            "SELECT staff_id, secret_enc FROM staff_enrolments \
             WHERE token_hash = $1 AND expires_at_ms > $2",
        )
        .bind(&token_hash[..])
        .bind(now.0)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| Ok((StaffId(uuid_col(&r, "staff_id")?), r.try_get("secret_enc")?))).transpose()
    }

    async fn finish_staff_enrolment(
        &self,
        token_hash: &[u8; 32],
        staff: StaffId,
        secret_enc: &[u8],
        step: u64,
    ) -> R<bool> {
        let mut tx = write_tx(&self.pool).await?;
        let gone =
            sqlx::query("DELETE FROM staff_enrolments WHERE token_hash = $1 AND staff_id = $2")
                .bind(&token_hash[..])
                .bind(staff.to_string())
                .execute(&mut *tx)
                .await?;
        if gone.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("UPDATE staff SET totp_secret_enc = $1, totp_last_step = $2 WHERE id = $3")
            .bind(secret_enc)
            .bind(i64_of(step))
            .bind(staff.to_string())
            .execute(&mut *tx)
            .await?;
        // Other enrolments started for this staff member end with this one.
        sqlx::query("DELETE FROM staff_enrolments WHERE staff_id = $1")
            .bind(staff.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn set_staff_role(&self, id: StaffId, role: &str) -> R<bool> {
        let r = sqlx::query("UPDATE staff SET role = $1 WHERE id = $2")
            .bind(role)
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn disable_staff(&self, id: StaffId, now: Timestamp) -> R<bool> {
        let mut tx = write_tx(&self.pool).await?;
        let r = sqlx::query(
            "UPDATE staff SET disabled_at_ms = $1 WHERE id = $2 AND disabled_at_ms IS NULL",
        )
        .bind(now.0)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM staff_sessions WHERE staff_id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    async fn delete_staff_session(&self, token_hash: &[u8; 32]) -> R<()> {
        sqlx::query("DELETE FROM staff_sessions WHERE token_hash = $1")
            .bind(&token_hash[..])
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn add_ban_note(
        &self,
        account: AccountId,
        action: &str,
        staff: Option<StaffId>,
        reason: &str,
        at: Timestamp,
    ) -> R<()> {
        sqlx::query(
            "INSERT INTO account_ban_notes (id, account_id, action, staff_id, reason, at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(account.to_string())
        .bind(action)
        .bind(staff.map(|s| s.to_string()))
        .bind(reason)
        .bind(at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn ban_notes(&self, account: AccountId) -> R<Vec<BanNote>> {
        let rows = sqlx::query(
            "SELECT action, staff_id, reason, at_ms FROM account_ban_notes \
             WHERE account_id = $1 ORDER BY at_ms DESC, id DESC",
        )
        .bind(account.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let staff: Option<String> = r.try_get("staff_id")?;
                let staff_id = staff
                    .map(|s| uuid::Uuid::parse_str(&s).map(StaffId))
                    .transpose()
                    .map_err(|e| DbError::Corrupt(format!("staff_id: {e}")))?;
                Ok(BanNote {
                    action: r.try_get("action")?,
                    staff_id,
                    reason: r.try_get("reason")?,
                    at: ts(r, "at_ms")?,
                })
            })
            .collect()
    }

    async fn owned_device_count(&self, account: AccountId) -> R<u64> {
        let r = sqlx::query("SELECT COUNT(*) AS n FROM devices WHERE owner_id = $1")
            .bind(account.to_string())
            .fetch_one(&self.pool)
            .await?;
        u64_of(&r, "n")
    }

    async fn fleet_counts(&self) -> R<Vec<FleetCount>> {
        let rows = sqlx::query(
            "SELECT d.model, f.version, COALESCE(s.online, 0) AS online, COUNT(*) AS n \
             FROM devices d LEFT JOIN firmware_devices f ON f.uid = d.uid \
             LEFT JOIN device_state s ON s.uid = d.uid \
             GROUP BY d.model, f.version, COALESCE(s.online, 0) \
             ORDER BY d.model, f.version, COALESCE(s.online, 0)",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FleetCount {
                    model: r.try_get("model")?,
                    firmware: r.try_get("version")?,
                    online: r.try_get::<i64, _>("online")? != 0,
                    count: u64_of(r, "n")?,
                })
            })
            .collect()
    }

    async fn fleet_devices(
        &self,
        filter: &FleetFilter,
        after: Option<&str>,
        limit: u32,
    ) -> R<Vec<FleetDevice>> {
        let mut sql = format!("SELECT {FLEET_COLS} WHERE 1 = 1");
        let mut binds: Vec<String> = Vec::new();
        let mut arg = |sql: &mut String, clause: &str, v: &str| {
            binds.push(v.to_string());
            sql.push_str(&clause.replace('?', &format!("${}", binds.len())));
        };
        if let Some(m) = &filter.model {
            arg(&mut sql, " AND d.model = ?", m);
        }
        if let Some(f) = &filter.firmware {
            arg(&mut sql, " AND f.version = ?", f);
        }
        if let Some(a) = after {
            arg(&mut sql, " AND d.uid > ?", a);
        }
        match filter.online {
            Some(true) => sql.push_str(" AND COALESCE(s.online, 0) <> 0"),
            Some(false) => sql.push_str(" AND COALESCE(s.online, 0) = 0"),
            None => {}
        }
        sql.push_str(&format!(" ORDER BY d.uid LIMIT {}", limit.min(500)));
        // Only constant clauses and numbered parameters are in `sql`.
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in &binds {
            q = q.bind(b.as_str());
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(fleet_from).collect()
    }

    async fn fleet_device(&self, uid: &str) -> R<Option<FleetDevice>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {FLEET_COLS} WHERE d.uid = $1")))
            .bind(uid)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(fleet_from).transpose()
    }

    async fn device_problems(&self, uid: &str, limit: u32) -> R<Vec<DeviceProblem>> {
        let limit = i64::from(limit.min(200));
        let commands = sqlx::query(
            "SELECT name, status, error, COALESCE(finished_at_ms, deadline_ms) AS at_ms \
             FROM device_commands WHERE uid = $1 AND status IN ('failed', 'timed-out') \
             ORDER BY created_at_ms DESC LIMIT $2",
        )
        .bind(uid)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let updates = sqlx::query(
            "SELECT from_version, phase, error, updated_at_ms FROM firmware_updates \
             WHERE uid = $1 AND phase IN ('failed', 'rolled-back') \
             ORDER BY updated_at_ms DESC LIMIT $2",
        )
        .bind(uid)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(commands.len() + updates.len());
        for r in &commands {
            let status: String = r.try_get("status")?;
            out.push(DeviceProblem {
                at: ts(r, "at_ms")?,
                kind: format!("command-{status}"),
                what: r.try_get("name")?,
                error: r.try_get("error")?,
            });
        }
        for r in &updates {
            let phase: String = r.try_get("phase")?;
            out.push(DeviceProblem {
                at: ts(r, "updated_at_ms")?,
                kind: format!("firmware-{phase}"),
                what: r.try_get("from_version")?,
                error: r.try_get("error")?,
            });
        }
        out.sort_by_key(|p| std::cmp::Reverse(p.at.0));
        out.truncate(usize::try_from(limit).unwrap_or(200));
        Ok(out)
    }
}
