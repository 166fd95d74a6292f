//! Device grants. Every statement uses numbered placeholders and portable SQL only, so it
//! runs unchanged on PostgreSQL.

use kankan_base::{AccountId, Timestamp};
use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{R, opt_ts, ts};
use crate::{DbError, DeviceGrant};

pub(super) const COLS: &str = "SELECT id, uid, account_id, granted_by, capabilities, \
    created_at_ms, expires_at_ms, revoked_at_ms, schedule FROM device_grants";

pub(super) fn account_col(row: &AnyRow, col: &str) -> R<AccountId> {
    let s: String = row.try_get(col)?;
    s.parse().map(AccountId).map_err(|e| DbError::Corrupt(format!("{col}: {e}")))
}

pub(super) fn grant_from(row: &AnyRow) -> R<DeviceGrant> {
    let id: String = row.try_get("id")?;
    Ok(DeviceGrant {
        id: id.parse().map_err(|e| DbError::Corrupt(format!("device_grants.id: {e}")))?,
        uid: row.try_get("uid")?,
        account_id: account_col(row, "account_id")?,
        granted_by: account_col(row, "granted_by")?,
        capabilities: row.try_get("capabilities")?,
        created_at: ts(row, "created_at_ms")?,
        expires_at: opt_ts(row, "expires_at_ms")?,
        revoked_at: opt_ts(row, "revoked_at_ms")?,
        schedule: row.try_get("schedule")?,
    })
}

pub(super) async fn insert(pool: &AnyPool, g: &DeviceGrant) -> R<()> {
    let mut conn = pool.acquire().await?;
    insert_in(&mut conn, g).await
}

/// Inserts a grant on a connection (inside a transaction of the caller's).
pub(super) async fn insert_in(conn: &mut sqlx::AnyConnection, g: &DeviceGrant) -> R<()> {
    sqlx::query(
        "INSERT INTO device_grants (id, uid, account_id, granted_by, capabilities, \
         created_at_ms, expires_at_ms, revoked_at_ms, schedule) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(g.id.to_string())
    .bind(&g.uid)
    .bind(g.account_id.to_string())
    .bind(g.granted_by.to_string())
    .bind(&g.capabilities)
    .bind(g.created_at.0)
    .bind(g.expires_at.map(|t| t.0))
    .bind(g.revoked_at.map(|t| t.0))
    .bind(g.schedule.as_deref())
    .execute(conn)
    .await?;
    Ok(())
}

/// Grants that count at `now` (not revoked, not expired): the condition after `WHERE`,
/// with `now` as `$1`.
const LIVE: &str = "revoked_at_ms IS NULL AND (expires_at_ms IS NULL OR expires_at_ms > $1)";

/// The account's grants on the device that count at `now`, oldest first.
pub(super) async fn live_of(
    pool: &AnyPool,
    uid: &str,
    account: AccountId,
    now: Timestamp,
) -> R<Vec<DeviceGrant>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{COLS} WHERE {LIVE} AND uid = $2 AND account_id = $3 ORDER BY created_at_ms, id"
    ));
    let rows =
        sqlx::query(sql).bind(now.0).bind(uid).bind(account.to_string()).fetch_all(pool).await?;
    rows.iter().map(grant_from).collect()
}

/// Every account's grants on the device that count at `now`, oldest first.
pub(super) async fn live_on(pool: &AnyPool, uid: &str, now: Timestamp) -> R<Vec<DeviceGrant>> {
    let sql =
        sqlx::AssertSqlSafe(format!("{COLS} WHERE {LIVE} AND uid = $2 ORDER BY created_at_ms, id"));
    let rows = sqlx::query(sql).bind(now.0).bind(uid).fetch_all(pool).await?;
    rows.iter().map(grant_from).collect()
}

/// The account's grants on any device that count at `now`, oldest first.
pub(super) async fn live_held(
    pool: &AnyPool,
    account: AccountId,
    now: Timestamp,
) -> R<Vec<DeviceGrant>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{COLS} WHERE {LIVE} AND account_id = $2 ORDER BY created_at_ms, id"
    ));
    let rows = sqlx::query(sql).bind(now.0).bind(account.to_string()).fetch_all(pool).await?;
    rows.iter().map(grant_from).collect()
}

pub(super) async fn revoke(pool: &AnyPool, id: uuid::Uuid, at: Timestamp) -> R<bool> {
    let r = sqlx::query(
        "UPDATE device_grants SET revoked_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL",
    )
    .bind(at.0)
    .bind(id.to_string())
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Deletes the device's grants and membership history (inside the unbind transaction).
pub(super) async fn forget(tx: &mut sqlx::AnyConnection, uid: &str) -> R<()> {
    sqlx::query("DELETE FROM device_grants WHERE uid = $1").bind(uid).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM membership_history WHERE uid = $1").bind(uid).execute(tx).await?;
    Ok(())
}
