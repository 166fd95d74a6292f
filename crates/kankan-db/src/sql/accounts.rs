//! Accounts, verification codes and staff rows.

use async_trait::async_trait;
use kankan_base::{AccountId, BlobId, SessionId, StaffId, Timestamp};
use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Engine, R, SqlStore, opt_ts, ts, uuid_col, write_tx};
use crate::{
    Account, AccountState, AccountStore, CodePurpose, ContactKind, DbError, LockoutRule,
    LoginEvent, LoginFailures, Session, Staff, VerificationCode,
};

const ACCOUNT_COLS: &str = "id, contact_kind, contact_index, contact_enc, key_wrapped, \
    password_hash, nickname_enc, avatar_blob, state, state_reason, created_at_ms, verified_at_ms";

fn account_from(row: &AnyRow) -> R<Account> {
    let kind: String = row.try_get("contact_kind")?;
    let state: String = row.try_get("state")?;
    let avatar: Option<String> = row.try_get("avatar_blob")?;
    Ok(Account {
        id: AccountId(uuid_col(row, "id")?),
        contact_kind: ContactKind::parse(&kind)
            .ok_or_else(|| DbError::Corrupt(format!("contact_kind {kind:?}")))?,
        contact_index: row.try_get("contact_index")?,
        contact_enc: row.try_get("contact_enc")?,
        key_wrapped: row.try_get("key_wrapped")?,
        password_hash: row.try_get("password_hash")?,
        nickname_enc: row.try_get("nickname_enc")?,
        avatar_blob: avatar
            .map(|s| s.parse().map(BlobId))
            .transpose()
            .map_err(|e| DbError::Corrupt(format!("avatar_blob: {e}")))?,
        state: AccountState::parse(&state)
            .ok_or_else(|| DbError::Corrupt(format!("state {state:?}")))?,
        state_reason: row.try_get("state_reason")?,
        created_at: ts(row, "created_at_ms")?,
        verified_at: opt_ts(row, "verified_at_ms")?,
    })
}

pub(super) async fn insert<'e>(
    pool: impl sqlx::Executor<'e, Database = sqlx::Any>,
    a: &Account,
) -> R<()> {
    sqlx::query(
        "INSERT INTO accounts (id, contact_kind, contact_index, contact_enc, key_wrapped, \
         password_hash, nickname_enc, avatar_blob, state, state_reason, created_at_ms, \
         verified_at_ms, state_changed_at_ms, last_seen_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(a.id.to_string())
    .bind(a.contact_kind.as_str())
    .bind(&a.contact_index)
    .bind(&a.contact_enc)
    .bind(&a.key_wrapped)
    .bind(&a.password_hash)
    .bind(&a.nickname_enc)
    .bind(a.avatar_blob.map(|b| b.to_string()))
    .bind(a.state.as_str())
    .bind(&a.state_reason)
    .bind(a.created_at.0)
    .bind(a.verified_at.map(|t| t.0))
    .bind(a.created_at.0)
    .bind(a.created_at.0)
    .execute(pool)
    .await
    .map_err(|e| DbError::conflict_on_unique(e, "account"))?;
    Ok(())
}

pub(super) async fn by_id(pool: &AnyPool, id: AccountId) -> R<Option<Account>> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id = $1"));
    let row = sqlx::query(sql).bind(id.to_string()).fetch_optional(pool).await?;
    row.as_ref().map(account_from).transpose()
}

pub(super) async fn by_contact(pool: &AnyPool, idx: &[u8]) -> R<Option<Account>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "SELECT {ACCOUNT_COLS} FROM accounts WHERE contact_index = $1"
    ));
    let row = sqlx::query(sql).bind(idx).fetch_optional(pool).await?;
    row.as_ref().map(account_from).transpose()
}

fn one_row(n: u64) -> R<()> {
    if n == 1 { Ok(()) } else { Err(DbError::NotFound("account")) }
}

pub(super) async fn activate(
    pool: &AnyPool,
    id: AccountId,
    hash: Option<&str>,
    at: Timestamp,
) -> R<()> {
    let r = sqlx::query(
        "UPDATE accounts SET state = 'active', verified_at_ms = $1, state_changed_at_ms = $2, \
         password_hash = COALESCE($3, password_hash) WHERE id = $4 AND state = 'pending'",
    )
    .bind(at.0)
    .bind(at.0)
    .bind(hash)
    .bind(id.to_string())
    .execute(pool)
    .await?;
    one_row(r.rows_affected())
}

pub(super) async fn set_password(
    pool: &AnyPool,
    id: AccountId,
    hash: &str,
    keep: Option<SessionId>,
    at: Timestamp,
) -> R<()> {
    let mut tx = write_tx(pool).await?;
    let r = sqlx::query("UPDATE accounts SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    one_row(r.rows_affected())?;
    sqlx::query(
        "UPDATE sessions SET revoked_at_ms = $1 \
         WHERE account_id = $2 AND revoked_at_ms IS NULL AND id IS DISTINCT FROM $3",
    )
    .bind(at.0)
    .bind(id.to_string())
    .bind(keep.map(|s| s.to_string()))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn set_nickname(pool: &AnyPool, id: AccountId, enc: Option<&[u8]>) -> R<()> {
    let r = sqlx::query("UPDATE accounts SET nickname_enc = $1 WHERE id = $2")
        .bind(enc)
        .bind(id.to_string())
        .execute(pool)
        .await?;
    one_row(r.rows_affected())
}

pub(super) async fn set_avatar(
    pool: &AnyPool,
    id: AccountId,
    blob: Option<BlobId>,
) -> R<Option<BlobId>> {
    let mut tx = write_tx(pool).await?;
    // The row stays locked until the update, so two changes cannot both return the same old
    // avatar (and the replaced one be left behind).
    let sql =
        format!("SELECT avatar_blob FROM accounts WHERE id = $1{}", Engine::of(pool).for_update());
    let old: Option<Option<String>> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
    let old = old.ok_or(DbError::NotFound("account"))?;
    sqlx::query("UPDATE accounts SET avatar_blob = $1 WHERE id = $2")
        .bind(blob.map(|b| b.to_string()))
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    old.map(|s| s.parse().map(BlobId))
        .transpose()
        .map_err(|e| DbError::Corrupt(format!("avatar_blob: {e}")))
}

pub(super) async fn set_state(
    pool: &AnyPool,
    id: AccountId,
    state: AccountState,
    reason: Option<&str>,
    at: Timestamp,
) -> R<()> {
    let mut tx = write_tx(pool).await?;
    let r = sqlx::query(
        "UPDATE accounts SET state = $1, state_reason = $2, state_changed_at_ms = $3 WHERE id = $4",
    )
    .bind(state.as_str())
    .bind(reason)
    .bind(at.0)
    .bind(id.to_string())
    .execute(&mut *tx)
    .await?;
    one_row(r.rows_affected())?;
    if state == AccountState::Banned {
        sqlx::query(
            "UPDATE sessions SET revoked_at_ms = $1 WHERE account_id = $2 AND revoked_at_ms IS NULL",
        )
        .bind(at.0)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub(super) async fn insert_code(pool: &AnyPool, c: &VerificationCode) -> R<()> {
    sqlx::query(
        "INSERT INTO verification_codes (id, purpose, contact_index, code_mac, created_at_ms, \
         expires_at_ms, attempts, consumed_at_ms, password_hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(c.id.to_string())
    .bind(c.purpose.as_str())
    .bind(&c.contact_index)
    .bind(&c.code_mac)
    .bind(c.created_at.0)
    .bind(c.expires_at.0)
    .bind(i64::from(c.attempts))
    .bind(c.consumed_at.map(|t| t.0))
    .bind(&c.password_hash)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn latest_code(
    pool: &AnyPool,
    purpose: CodePurpose,
    idx: &[u8],
) -> R<Option<VerificationCode>> {
    let row = sqlx::query(
        "SELECT id, contact_index, code_mac, created_at_ms, expires_at_ms, attempts, \
         consumed_at_ms, password_hash FROM verification_codes WHERE purpose = $1 AND contact_index = $2 \
         ORDER BY created_at_ms DESC, id DESC LIMIT 1",
    )
    .bind(purpose.as_str())
    .bind(idx)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(VerificationCode {
            id: uuid_col(&row, "id")?,
            purpose,
            contact_index: row.try_get("contact_index")?,
            code_mac: row.try_get("code_mac")?,
            created_at: ts(&row, "created_at_ms")?,
            expires_at: ts(&row, "expires_at_ms")?,
            attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
            consumed_at: opt_ts(&row, "consumed_at_ms")?,
            password_hash: row.try_get("password_hash")?,
        })
    })
    .transpose()
}

pub(super) async fn claim_code_attempt(
    pool: &AnyPool,
    id: uuid::Uuid,
    max_attempts: u32,
    now: Timestamp,
) -> R<Option<u32>> {
    // Checked and counted in one statement: parallel guesses cannot all read "fewer than the
    // limit" before any of them counts.
    let n: Option<i64> = sqlx::query_scalar(
        "UPDATE verification_codes SET attempts = attempts + 1 \
         WHERE id = $1 AND attempts < $2 AND consumed_at_ms IS NULL AND expires_at_ms > $3 \
         RETURNING attempts",
    )
    .bind(id.to_string())
    .bind(i64::from(max_attempts))
    .bind(now.0)
    .fetch_optional(pool)
    .await?;
    Ok(n.map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
}

pub(super) async fn consume_code(pool: &AnyPool, id: uuid::Uuid, at: Timestamp) -> R<bool> {
    let r = sqlx::query(
        "UPDATE verification_codes SET consumed_at_ms = $1, password_hash = NULL \
         WHERE id = $2 AND consumed_at_ms IS NULL",
    )
    .bind(at.0)
    .bind(id.to_string())
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub(super) async fn insert_staff(pool: &AnyPool, s: &Staff) -> R<()> {
    sqlx::query(
        "INSERT INTO staff (id, username, password_hash, role, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(s.id.to_string())
    .bind(&s.username)
    .bind(&s.password_hash)
    .bind(&s.role)
    .bind(s.created_at.0)
    .execute(pool)
    .await
    .map_err(|e| DbError::conflict_on_unique(e, "staff member"))?;
    Ok(())
}

pub(super) async fn staff_by_username(pool: &AnyPool, username: &str) -> R<Option<Staff>> {
    let row = sqlx::query(
        "SELECT id, username, password_hash, role, created_at_ms FROM staff WHERE username = $1",
    )
    .bind(username)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(staff_from).transpose()
}

pub(super) async fn insert_staff_session(
    pool: &AnyPool,
    staff: StaffId,
    token_hash: &[u8; 32],
    now: Timestamp,
    expires_at: Timestamp,
) -> R<()> {
    sqlx::query(
        "INSERT INTO staff_sessions (id, staff_id, token_hash, created_at_ms, expires_at_ms) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(staff.to_string())
    .bind(&token_hash[..])
    .bind(now.0)
    .bind(expires_at.0)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn staff_by_session(
    pool: &AnyPool,
    token_hash: &[u8; 32],
    now: Timestamp,
) -> R<Option<Staff>> {
    let row = sqlx::query(
        "SELECT s.id, s.username, s.password_hash, s.role, s.created_at_ms FROM staff s \
         JOIN staff_sessions t ON t.staff_id = s.id WHERE t.token_hash = $1 AND t.expires_at_ms > $2",
    )
    .bind(&token_hash[..])
    .bind(now.0)
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(staff_from).transpose()
}

fn staff_from(row: &AnyRow) -> R<Staff> {
    Ok(Staff {
        id: StaffId(uuid_col(row, "id")?),
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        role: row.try_get("role")?,
        created_at: ts(row, "created_at_ms")?,
    })
}

#[async_trait]
impl AccountStore for SqlStore {
    // Accounts.
    async fn insert_account(&self, a: &Account) -> R<()> {
        insert(&self.pool, a).await
    }
    async fn account(&self, id: AccountId) -> R<Option<Account>> {
        by_id(&self.pool, id).await
    }
    async fn account_by_contact(&self, idx: &[u8]) -> R<Option<Account>> {
        by_contact(&self.pool, idx).await
    }
    async fn activate_account(&self, id: AccountId, hash: Option<&str>, at: Timestamp) -> R<()> {
        activate(&self.pool, id, hash, at).await
    }
    async fn set_password(
        &self,
        id: AccountId,
        hash: &str,
        keep: Option<SessionId>,
        at: Timestamp,
    ) -> R<()> {
        set_password(&self.pool, id, hash, keep, at).await
    }
    async fn set_nickname(&self, id: AccountId, enc: Option<&[u8]>) -> R<()> {
        set_nickname(&self.pool, id, enc).await
    }
    async fn set_avatar(&self, id: AccountId, blob: Option<BlobId>) -> R<Option<BlobId>> {
        set_avatar(&self.pool, id, blob).await
    }
    async fn set_account_state(
        &self,
        id: AccountId,
        state: AccountState,
        reason: Option<&str>,
        at: Timestamp,
    ) -> R<()> {
        set_state(&self.pool, id, state, reason, at).await
    }

    // Verification codes.
    async fn insert_code(&self, c: &VerificationCode) -> R<()> {
        insert_code(&self.pool, c).await
    }
    async fn latest_code(&self, p: CodePurpose, idx: &[u8]) -> R<Option<VerificationCode>> {
        latest_code(&self.pool, p, idx).await
    }
    async fn claim_code_attempt(
        &self,
        id: uuid::Uuid,
        max_attempts: u32,
        now: Timestamp,
    ) -> R<Option<u32>> {
        claim_code_attempt(&self.pool, id, max_attempts, now).await
    }
    async fn consume_code(&self, id: uuid::Uuid, at: Timestamp) -> R<bool> {
        consume_code(&self.pool, id, at).await
    }

    // Sessions.
    async fn insert_session(&self, s: &Session) -> R<()> {
        super::sessions::insert(&self.pool, s).await
    }
    async fn session_by_token(&self, h: &[u8; 32], now: Timestamp) -> R<Option<Session>> {
        super::sessions::by_token(&self.pool, h, now).await
    }
    async fn touch_session(&self, id: SessionId, at: Timestamp) -> R<()> {
        super::sessions::touch(&self.pool, id, at).await
    }
    async fn sessions_of(&self, account: AccountId, now: Timestamp) -> R<Vec<Session>> {
        super::sessions::of_account(&self.pool, account, now).await
    }
    async fn revoke_session(&self, account: AccountId, id: SessionId, at: Timestamp) -> R<bool> {
        super::sessions::revoke(&self.pool, account, id, at).await
    }

    // Login history and lockout.
    async fn insert_login_event(&self, e: &LoginEvent) -> R<()> {
        super::sessions::insert_login_event(&self.pool, e).await
    }
    async fn login_events(&self, account: AccountId, limit: u32) -> R<Vec<LoginEvent>> {
        super::sessions::login_events(&self.pool, account, limit).await
    }
    async fn expire_account_records(
        &self,
        history_cutoff: Timestamp,
        now: Timestamp,
    ) -> R<crate::ExpiredAccountRecords> {
        super::sessions::expire(&self.pool, history_cutoff, now).await
    }
    async fn device_known(&self, account: AccountId, mac: &[u8]) -> R<bool> {
        super::sessions::device_known(&self.pool, account, mac).await
    }
    async fn login_failures(&self, idx: &[u8]) -> R<Option<LoginFailures>> {
        super::sessions::login_failures(&self.pool, idx).await
    }
    async fn count_login_attempt(
        &self,
        idx: &[u8],
        now: Timestamp,
        rule: LockoutRule,
    ) -> R<LoginFailures> {
        super::sessions::count_login_attempt(&self.pool, idx, now, rule).await
    }
    async fn clear_login_failures(&self, idx: &[u8]) -> R<()> {
        super::sessions::clear_login_failures(&self.pool, idx).await
    }

    // Staff.
    async fn insert_staff(&self, s: &Staff) -> R<()> {
        insert_staff(&self.pool, s).await
    }
    async fn staff_by_username(&self, username: &str) -> R<Option<Staff>> {
        staff_by_username(&self.pool, username).await
    }
    async fn insert_staff_session(
        &self,
        staff: StaffId,
        token_hash: &[u8; 32],
        now: Timestamp,
        expires_at: Timestamp,
    ) -> R<()> {
        insert_staff_session(&self.pool, staff, token_hash, now, expires_at).await
    }
    async fn staff_by_session(&self, token_hash: &[u8; 32], now: Timestamp) -> R<Option<Staff>> {
        staff_by_session(&self.pool, token_hash, now).await
    }
}
