//! Sessions, login history and per-identifier lockout rows.

use kankan_base::{AccountId, SessionId, Timestamp};
use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{R, flag, opt_ts, ts, uuid_col};
use crate::{DbError, LoginEvent, LoginFailures, LoginOutcome, Session};

const SESSION_COLS: &str = "SELECT id, account_id, token_hash, client_enc, ip_enc, \
    created_at_ms, last_used_at_ms, expires_at_ms FROM sessions";

fn session_from(row: &AnyRow) -> R<Session> {
    let hash: Vec<u8> = row.try_get("token_hash")?;
    Ok(Session {
        id: SessionId(uuid_col(row, "id")?),
        account_id: AccountId(uuid_col(row, "account_id")?),
        token_hash: hash
            .as_slice()
            .try_into()
            .map_err(|_| DbError::Corrupt("token_hash length".into()))?,
        client_enc: row.try_get("client_enc")?,
        ip_enc: row.try_get("ip_enc")?,
        created_at: ts(row, "created_at_ms")?,
        last_used_at: ts(row, "last_used_at_ms")?,
        expires_at: ts(row, "expires_at_ms")?,
    })
}

pub(super) async fn insert(pool: &AnyPool, s: &Session) -> R<()> {
    sqlx::query(
        "INSERT INTO sessions (id, account_id, token_hash, client_enc, ip_enc, created_at_ms, \
         last_used_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(s.id.to_string())
    .bind(s.account_id.to_string())
    .bind(&s.token_hash[..])
    .bind(&s.client_enc)
    .bind(&s.ip_enc)
    .bind(s.created_at.0)
    .bind(s.last_used_at.0)
    .bind(s.expires_at.0)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn by_token(pool: &AnyPool, h: &[u8; 32], now: Timestamp) -> R<Option<Session>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{SESSION_COLS} WHERE token_hash = $1 AND revoked_at_ms IS NULL AND expires_at_ms > $2"
    ));
    let row = sqlx::query(sql).bind(&h[..]).bind(now.0).fetch_optional(pool).await?;
    row.as_ref().map(session_from).transpose()
}

pub(super) async fn touch(pool: &AnyPool, id: SessionId, at: Timestamp) -> R<()> {
    sqlx::query("UPDATE sessions SET last_used_at_ms = $1 WHERE id = $2")
        .bind(at.0)
        .bind(id.to_string())
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn of_account(
    pool: &AnyPool,
    account: AccountId,
    now: Timestamp,
) -> R<Vec<Session>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{SESSION_COLS} WHERE account_id = $1 AND revoked_at_ms IS NULL AND expires_at_ms > $2 \
         ORDER BY last_used_at_ms DESC"
    ));
    let rows = sqlx::query(sql).bind(account.to_string()).bind(now.0).fetch_all(pool).await?;
    rows.iter().map(session_from).collect()
}

pub(super) async fn revoke(
    pool: &AnyPool,
    account: AccountId,
    id: SessionId,
    at: Timestamp,
) -> R<bool> {
    let r = sqlx::query(
        "UPDATE sessions SET revoked_at_ms = $1 \
         WHERE id = $2 AND account_id = $3 AND revoked_at_ms IS NULL",
    )
    .bind(at.0)
    .bind(id.to_string())
    .bind(account.to_string())
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub(super) async fn insert_login_event(pool: &AnyPool, e: &LoginEvent) -> R<()> {
    sqlx::query(
        "INSERT INTO login_events (id, account_id, at_ms, outcome, client_enc, ip_enc, \
         device_mac, new_device) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(e.id.to_string())
    .bind(e.account_id.to_string())
    .bind(e.at.0)
    .bind(e.outcome.as_str())
    .bind(&e.client_enc)
    .bind(&e.ip_enc)
    .bind(&e.device_mac)
    .bind(i64::from(e.new_device))
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn login_events(
    pool: &AnyPool,
    account: AccountId,
    limit: u32,
) -> R<Vec<LoginEvent>> {
    let rows = sqlx::query(
        "SELECT id, account_id, at_ms, outcome, client_enc, ip_enc, device_mac, new_device \
         FROM login_events WHERE account_id = $1 ORDER BY at_ms DESC, id DESC LIMIT $2",
    )
    .bind(account.to_string())
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let outcome: String = row.try_get("outcome")?;
            Ok(LoginEvent {
                id: uuid_col(row, "id")?,
                account_id: AccountId(uuid_col(row, "account_id")?),
                at: ts(row, "at_ms")?,
                outcome: LoginOutcome::parse(&outcome)
                    .ok_or_else(|| DbError::Corrupt(format!("outcome {outcome:?}")))?,
                client_enc: row.try_get("client_enc")?,
                ip_enc: row.try_get("ip_enc")?,
                device_mac: row.try_get("device_mac")?,
                new_device: flag(row, "new_device")?,
            })
        })
        .collect()
}

pub(super) async fn device_known(pool: &AnyPool, account: AccountId, mac: &[u8]) -> R<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM login_events \
         WHERE account_id = $1 AND device_mac = $2 AND outcome = 'success' LIMIT 1",
    )
    .bind(account.to_string())
    .bind(mac)
    .fetch_optional(pool)
    .await?;
    Ok(found.is_some())
}

pub(super) async fn login_failures(pool: &AnyPool, idx: &[u8]) -> R<Option<LoginFailures>> {
    let row = sqlx::query(
        "SELECT failures, window_start_ms, locked_until_ms FROM login_failures \
         WHERE contact_index = $1",
    )
    .bind(idx)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(LoginFailures {
            failures: u32::try_from(row.try_get::<i64, _>("failures")?).unwrap_or(u32::MAX),
            window_start: ts(&row, "window_start_ms")?,
            locked_until: opt_ts(&row, "locked_until_ms")?,
        })
    })
    .transpose()
}

pub(super) async fn put_login_failures(pool: &AnyPool, idx: &[u8], f: &LoginFailures) -> R<()> {
    sqlx::query(
        "INSERT INTO login_failures (contact_index, failures, window_start_ms, locked_until_ms) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (contact_index) DO UPDATE SET \
         failures = excluded.failures, window_start_ms = excluded.window_start_ms, \
         locked_until_ms = excluded.locked_until_ms",
    )
    .bind(idx)
    .bind(i64::from(f.failures))
    .bind(f.window_start.0)
    .bind(f.locked_until.map(|t| t.0))
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn clear_login_failures(pool: &AnyPool, idx: &[u8]) -> R<()> {
    sqlx::query("DELETE FROM login_failures WHERE contact_index = $1")
        .bind(idx)
        .execute(pool)
        .await?;
    Ok(())
}
