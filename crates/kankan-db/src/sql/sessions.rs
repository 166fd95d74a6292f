//! Sessions, login history and per-identifier lockout rows.

use kankan_base::{AccountId, SessionId, Timestamp};
use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{R, flag, opt_ts, ts, uuid_col, write_tx};
use crate::{DbError, LockoutRule, LoginEvent, LoginFailures, LoginOutcome, Session};

const SESSION_COLS: &str = "SELECT id, account_id, token_hash, client_enc, ip_enc, \
    created_at_ms, last_used_at_ms, expires_at_ms, signed_in_with FROM sessions";

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
        signed_in_with: row.try_get("signed_in_with")?,
    })
}

pub(super) async fn insert(pool: &AnyPool, s: &Session) -> R<()> {
    // A login is a use of the account: it is seen now, and a dormancy notice no longer holds.
    let mut tx = write_tx(pool).await?;
    sqlx::query(
        "INSERT INTO sessions (id, account_id, token_hash, client_enc, ip_enc, created_at_ms, \
         last_used_at_ms, expires_at_ms, signed_in_with) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(s.id.to_string())
    .bind(s.account_id.to_string())
    .bind(&s.token_hash[..])
    .bind(&s.client_enc)
    .bind(&s.ip_enc)
    .bind(s.created_at.0)
    .bind(s.last_used_at.0)
    .bind(s.expires_at.0)
    .bind(&s.signed_in_with)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE accounts SET last_seen_at_ms = $1, dormant_notice_at_ms = NULL WHERE id = $2",
    )
    .bind(s.created_at.0)
    .bind(s.account_id.to_string())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
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
    let mut tx = write_tx(pool).await?;
    sqlx::query("UPDATE sessions SET last_used_at_ms = $1 WHERE id = $2")
        .bind(at.0)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    // Using a session is using the account (dormancy counts from the last use).
    sqlx::query(
        "UPDATE accounts SET last_seen_at_ms = $1, dormant_notice_at_ms = NULL \
         WHERE id = (SELECT account_id FROM sessions WHERE id = $2)",
    )
    .bind(at.0)
    .bind(id.to_string())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
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

pub(super) async fn count_login_attempt(
    pool: &AnyPool,
    idx: &[u8],
    now: Timestamp,
    rule: LockoutRule,
) -> R<LoginFailures> {
    // One statement, so concurrent attempts cannot overwrite each other's count. On the
    // existing row: a lock still holding keeps the count above the threshold; a lapsed window
    // (no lock) or a lapsed lock starts a new count; the attempt that reaches the threshold
    // sets the lock. $1 identifier, $2 now, $3 window, $4 threshold, $5 lock end.
    const ACTIVE: &str = "login_failures.locked_until_ms IS NOT NULL \
        AND login_failures.locked_until_ms > $2";
    const RESTART: &str = "((login_failures.locked_until_ms IS NULL \
        AND login_failures.window_start_ms + $3 <= $2) \
        OR (login_failures.locked_until_ms IS NOT NULL AND login_failures.locked_until_ms <= $2))";
    let next = format!(
        "CASE WHEN {ACTIVE} THEN (CASE WHEN login_failures.failures < $4 THEN $4 \
         ELSE login_failures.failures END) + 1 \
         WHEN {RESTART} THEN 1 ELSE login_failures.failures + 1 END"
    );
    let sql = format!(
        "INSERT INTO login_failures (contact_index, failures, window_start_ms, locked_until_ms) \
         VALUES ($1, 1, $2, CASE WHEN 1 >= $4 THEN $5 ELSE NULL END) \
         ON CONFLICT (contact_index) DO UPDATE SET \
         failures = {next}, \
         window_start_ms = CASE WHEN {ACTIVE} THEN login_failures.window_start_ms \
             WHEN {RESTART} THEN $2 ELSE login_failures.window_start_ms END, \
         locked_until_ms = CASE WHEN {ACTIVE} THEN login_failures.locked_until_ms \
             WHEN {next} >= $4 THEN $5 ELSE NULL END \
         RETURNING failures, window_start_ms, locked_until_ms"
    );
    let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(idx)
        .bind(now.0)
        .bind(ms(rule.window))
        .bind(i64::from(rule.threshold))
        .bind(now.0.saturating_add(ms(rule.lock)))
        .fetch_one(pool)
        .await?;
    Ok(LoginFailures {
        failures: u32::try_from(row.try_get::<i64, _>("failures")?).unwrap_or(u32::MAX),
        window_start: ts(&row, "window_start_ms")?,
        locked_until: opt_ts(&row, "locked_until_ms")?,
    })
}

pub(super) async fn clear_login_failures(pool: &AnyPool, idx: &[u8]) -> R<()> {
    sqlx::query("DELETE FROM login_failures WHERE contact_index = $1")
        .bind(idx)
        .execute(pool)
        .await?;
    Ok(())
}

/// Retention of what accounts leave behind; see `AccountStore::expire_account_records`.
pub(super) async fn expire(
    pool: &AnyPool,
    history_cutoff: Timestamp,
    now: Timestamp,
) -> R<crate::ExpiredAccountRecords> {
    let login_events = sqlx::query("DELETE FROM login_events WHERE at_ms < $1")
        .bind(history_cutoff.0)
        .execute(pool)
        .await?
        .rows_affected();
    let sessions =
        sqlx::query("DELETE FROM sessions WHERE expires_at_ms <= $1 OR revoked_at_ms IS NOT NULL")
            .bind(now.0)
            .execute(pool)
            .await?
            .rows_affected();
    let codes = sqlx::query(
        "DELETE FROM verification_codes WHERE expires_at_ms <= $1 OR consumed_at_ms IS NOT NULL",
    )
    .bind(now.0)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(crate::ExpiredAccountRecords { login_events, sessions, codes })
}
