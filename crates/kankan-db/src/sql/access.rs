//! The access log. Every statement uses numbered placeholders and portable SQL only, so it
//! runs unchanged on PostgreSQL.

use kankan_base::{AccountId, Timestamp};
use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{R, ts};
use crate::{DbError, DeviceAccess};

fn account_col(row: &AnyRow, col: &str) -> R<AccountId> {
    let s: String = row.try_get(col)?;
    s.parse().map(AccountId).map_err(|e| DbError::Corrupt(format!("{col}: {e}")))
}

/// Writes `a` unless the same account accessed the device the same way at or after `since`
/// (one statement); whether a row was written.
pub(super) async fn record(pool: &AnyPool, a: &DeviceAccess, since: Timestamp) -> R<bool> {
    let r = sqlx::query(
        "INSERT INTO device_access_log (id, uid, owner_id, account_id, kind, at_ms) \
         SELECT $1, $2, $3, $4, $5, $6 WHERE NOT EXISTS (SELECT 1 FROM device_access_log \
         WHERE uid = $2 AND account_id = $4 AND kind = $5 AND at_ms >= $7)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(&a.uid)
    .bind(a.owner.to_string())
    .bind(a.account.to_string())
    .bind(&a.kind)
    .bind(a.at.0)
    .bind(since.0)
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The device's accesses while `owner` owned it, at or after `since`, newest first, at most
/// `limit`.
pub(super) async fn log(
    pool: &AnyPool,
    uid: &str,
    owner: AccountId,
    since: Timestamp,
    limit: u32,
) -> R<Vec<DeviceAccess>> {
    let rows = sqlx::query(
        "SELECT uid, owner_id, account_id, kind, at_ms FROM device_access_log \
         WHERE uid = $1 AND owner_id = $2 AND at_ms >= $3 ORDER BY at_ms DESC, id DESC LIMIT $4",
    )
    .bind(uid)
    .bind(owner.to_string())
    .bind(since.0)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DeviceAccess {
                uid: r.try_get("uid")?,
                owner: account_col(r, "owner_id")?,
                account: account_col(r, "account_id")?,
                kind: r.try_get("kind")?,
                at: ts(r, "at_ms")?,
            })
        })
        .collect()
}

/// Deletes the accesses before `cutoff`; how many.
pub(super) async fn expire(pool: &AnyPool, cutoff: Timestamp) -> R<u64> {
    let r = sqlx::query("DELETE FROM device_access_log WHERE at_ms < $1")
        .bind(cutoff.0)
        .execute(pool)
        .await?;
    Ok(r.rows_affected())
}

/// Deletes the device's log (inside the unbind transaction).
pub(super) async fn forget(tx: &mut sqlx::AnyConnection, uid: &str) -> R<()> {
    sqlx::query("DELETE FROM device_access_log WHERE uid = $1").bind(uid).execute(tx).await?;
    Ok(())
}
