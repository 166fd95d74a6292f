//! Per-device recording limits (`device_limits`, written by the plans from a device's
//! entitlement): what the retention sweep and the quota read for each device.

use kankan_base::Timestamp;
use sqlx::{AnyPool, Row};

use super::R;
use super::columns::{account_col, i64_of, u64_of};
use super::recording_modes::mode_col_named;
use crate::{DeviceLimits, DeviceOverQuota};

pub(super) async fn retentions(pool: &AnyPool) -> R<Vec<u32>> {
    let rows: Vec<i64> =
        sqlx::query_scalar("SELECT DISTINCT retention_days FROM device_limits ORDER BY 1")
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().map(|d| u32::try_from(d).unwrap_or(u32::MAX)).collect())
}

pub(super) async fn get(pool: &AnyPool, uid: &str) -> R<Option<DeviceLimits>> {
    let mut conn = pool.acquire().await?;
    get_in(&mut conn, uid).await
}

pub(super) async fn get_in(conn: &mut sqlx::AnyConnection, uid: &str) -> R<Option<DeviceLimits>> {
    let row = sqlx::query(
        "SELECT kind, retention_days, quota_mib, since_ms FROM device_limits WHERE uid = $1",
    )
    .bind(uid)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        let quota: Option<i64> = r.try_get("quota_mib")?;
        Ok(DeviceLimits {
            kind: mode_col_named(&r, "kind")?,
            retention_days: u32::try_from(r.try_get::<i64, _>("retention_days")?).unwrap_or(0),
            quota_mib: quota.map(|q| u64::try_from(q).unwrap_or(0)),
            since: Timestamp(r.try_get("since_ms")?),
        })
    })
    .transpose()
}

pub(super) async fn set(pool: &AnyPool, uid: &str, limits: Option<&DeviceLimits>) -> R<()> {
    let mut conn = pool.acquire().await?;
    set_in(&mut conn, uid, limits).await
}

pub(super) async fn set_in(
    conn: &mut sqlx::AnyConnection,
    uid: &str,
    limits: Option<&DeviceLimits>,
) -> R<()> {
    match limits {
        None => {
            sqlx::query("DELETE FROM device_limits WHERE uid = $1")
                .bind(uid)
                .execute(&mut *conn)
                .await?;
        }
        Some(l) => {
            sqlx::query(
                "INSERT INTO device_limits (uid, kind, retention_days, quota_mib, since_ms) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (uid) DO UPDATE SET kind = $2, \
                 retention_days = $3, quota_mib = $4, since_ms = $5",
            )
            .bind(uid)
            .bind(l.kind.as_str())
            .bind(i64::from(l.retention_days))
            .bind(l.quota_mib.map(i64_of))
            .bind(l.since.0)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

pub(super) async fn over_quota(pool: &AnyPool) -> R<Vec<DeviceOverQuota>> {
    let rows = sqlx::query(
        "SELECT l.uid, k.account_id, l.quota_mib, CAST(SUM(s.bytes) AS BIGINT) AS used FROM device_limits l \
         JOIN media_keys k ON k.uid = l.uid JOIN media_segments s ON s.uid = l.uid \
         WHERE l.quota_mib IS NOT NULL GROUP BY l.uid, k.account_id, l.quota_mib \
         HAVING SUM(s.bytes) > l.quota_mib * 1048576 ORDER BY l.uid",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DeviceOverQuota {
                uid: r.try_get("uid")?,
                account: account_col(r, "account_id")?,
                used_bytes: u64_of(r, "used")?,
                quota_bytes: u64_of(r, "quota_mib")?.saturating_mul(1024 * 1024),
            })
        })
        .collect()
}

/// Inside the unbind transaction: the device's limits go and its entitlements end (the
/// footage goes anyway).
pub(super) async fn forget_device(
    tx: &mut sqlx::AnyConnection,
    uid: &str,
    now: Timestamp,
) -> R<()> {
    sqlx::query("DELETE FROM device_limits WHERE uid = $1").bind(uid).execute(&mut *tx).await?;
    sqlx::query(
        "UPDATE plan_entitlements SET state = 'ended', end_reason = 'unbound', ended_at_ms = $2 \
         WHERE uid = $1 AND state <> 'ended'",
    )
    .bind(uid)
    .bind(now.0)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
