//! Cloud-storage entitlements and 4G data top-ups (see [`PlanStore`]).

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use super::columns::{account_col, i64_of, u64_of};
use super::recording_modes::mode_col_named;
use super::{Engine, R, SqlStore, opt_ts, ts, uuid_col, write_tx};
use crate::{
    DbError, DeviceLimits, Entitlement, EntitlementState, NewEntitlement, PlanStore, SimTopup,
};

macro_rules! ent_cols {
    () => {
        "order_id, account_id, uid, sku, kind, retention_days, quota_mib, starts_at_ms, \
         ends_at_ms, state, end_reason, ended_at_ms, reminded_at_ms, created_at_ms"
    };
}

macro_rules! sim_cols {
    () => {
        "order_id, account_id, iccid, sku, allowance_kb, starts_at_ms, ends_at_ms, \
         refunded_at_ms, created_at_ms"
    };
}

fn ent_from(r: &AnyRow) -> R<Entitlement> {
    let state: String = r.try_get("state")?;
    let quota: Option<i64> = r.try_get("quota_mib")?;
    Ok(Entitlement {
        order_id: uuid_col(r, "order_id")?,
        account_id: account_col(r, "account_id")?,
        uid: r.try_get("uid")?,
        sku: r.try_get("sku")?,
        kind: mode_col_named(r, "kind")?,
        retention_days: u32::try_from(u64_of(r, "retention_days")?)
            .map_err(|_| DbError::Corrupt("retention_days".into()))?,
        quota_mib: quota.map(|q| u64::try_from(q).unwrap_or(0)),
        starts_at: ts(r, "starts_at_ms")?,
        ends_at: ts(r, "ends_at_ms")?,
        state: EntitlementState::parse(&state)
            .ok_or_else(|| DbError::Corrupt(format!("state {state:?}")))?,
        end_reason: r.try_get("end_reason")?,
        ended_at: opt_ts(r, "ended_at_ms")?,
        reminded_at: opt_ts(r, "reminded_at_ms")?,
        created_at: ts(r, "created_at_ms")?,
    })
}

fn sim_from(r: &AnyRow) -> R<SimTopup> {
    Ok(SimTopup {
        order_id: uuid_col(r, "order_id")?,
        account_id: account_col(r, "account_id")?,
        iccid: r.try_get("iccid")?,
        sku: r.try_get("sku")?,
        allowance_kb: u64_of(r, "allowance_kb")?,
        starts_at: ts(r, "starts_at_ms")?,
        ends_at: ts(r, "ends_at_ms")?,
        refunded_at: opt_ts(r, "refunded_at_ms")?,
        created_at: ts(r, "created_at_ms")?,
    })
}

async fn one(conn: &mut sqlx::AnyConnection, order_id: uuid::Uuid) -> R<Option<Entitlement>> {
    let row =
        sqlx::query(concat!("SELECT ", ent_cols!(), " FROM plan_entitlements WHERE order_id = $1"))
            .bind(order_id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
    row.as_ref().map(ent_from).transpose()
}

async fn grant(pool: &AnyPool, n: &NewEntitlement, now: Timestamp) -> R<(Entitlement, bool)> {
    let mut tx = write_tx(pool).await?;
    // One grant per device at a time (PostgreSQL; SQLite has a single writer). The order is
    // looked up under the lock: a delivery of the same order beside this one has committed
    // by then, and this one finds its grant instead of inserting the order a second time.
    let lock = format!("SELECT uid FROM devices WHERE uid = $1{}", Engine::of_tx(&tx).for_update());
    sqlx::query(sqlx::AssertSqlSafe(lock)).bind(&n.uid).fetch_optional(&mut *tx).await?;
    if let Some(e) = one(&mut tx, n.order_id).await? {
        return Ok((e, false));
    }
    let live = sqlx::query(concat!(
        "SELECT ",
        ent_cols!(),
        " FROM plan_entitlements WHERE uid = $1 AND state <> 'ended' ORDER BY starts_at_ms"
    ))
    .bind(&n.uid)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(ent_from)
    .collect::<R<Vec<_>>>()?;
    let renewal = !live.is_empty() && live.iter().all(|e| e.sku == n.sku);
    let starts = if renewal {
        Timestamp(live.iter().map(|e| e.ends_at.0).max().unwrap_or(now.0).max(now.0))
    } else {
        sqlx::query(
            "UPDATE plan_entitlements SET state = 'ended', end_reason = 'replaced', \
             ended_at_ms = $2 WHERE uid = $1 AND state <> 'ended'",
        )
        .bind(&n.uid)
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
        now
    };
    let state =
        if starts.0 <= now.0 { EntitlementState::Active } else { EntitlementState::Scheduled };
    sqlx::query(concat!(
        "INSERT INTO plan_entitlements (",
        ent_cols!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL, NULL, NULL, $11)"
    ))
    .bind(n.order_id.to_string())
    .bind(n.account_id.to_string())
    .bind(&n.uid)
    .bind(&n.sku)
    .bind(n.kind.as_str())
    .bind(i64::from(n.retention_days))
    .bind(n.quota_mib.map(i64_of))
    .bind(starts.0)
    .bind(starts.0 + n.period_ms)
    .bind(state.as_str())
    .bind(now.0)
    .execute(&mut *tx)
    .await?;
    let e = one(&mut tx, n.order_id).await?.ok_or(DbError::NotFound("entitlement"))?;
    tx.commit().await?;
    Ok((e, true))
}

async fn sync_limits(pool: &AnyPool, uid: &str) -> R<Option<DeviceLimits>> {
    let mut tx = write_tx(pool).await?;
    let lock = format!("SELECT uid FROM devices WHERE uid = $1{}", Engine::of_tx(&tx).for_update());
    sqlx::query(sqlx::AssertSqlSafe(lock)).bind(uid).fetch_optional(&mut *tx).await?;
    let row = sqlx::query(
        "SELECT kind, retention_days, quota_mib, starts_at_ms FROM plan_entitlements \
         WHERE uid = $1 AND state = 'active' ORDER BY starts_at_ms DESC LIMIT 1",
    )
    .bind(uid)
    .fetch_optional(&mut *tx)
    .await?;
    let want = row
        .map(|r| -> R<DeviceLimits> {
            let quota: Option<i64> = r.try_get("quota_mib")?;
            Ok(DeviceLimits {
                kind: mode_col_named(&r, "kind")?,
                retention_days: u32::try_from(u64_of(&r, "retention_days")?).unwrap_or(0),
                quota_mib: quota.map(|q| u64::try_from(q).unwrap_or(0)),
                since: ts(&r, "starts_at_ms")?,
            })
        })
        .transpose()?;
    let have = super::limits::get_in(&mut tx, uid).await?;
    let same = match (&have, &want) {
        (Some(h), Some(w)) => {
            (h.kind, h.retention_days, h.quota_mib) == (w.kind, w.retention_days, w.quota_mib)
        }
        (None, None) => true,
        _ => false,
    };
    if !same {
        super::limits::set_in(&mut tx, uid, want.as_ref()).await?;
    }
    tx.commit().await?;
    Ok(if same { have } else { want })
}

async fn move_state(
    pool: &AnyPool,
    order_id: uuid::Uuid,
    from: EntitlementState,
    to: EntitlementState,
    reason: Option<&str>,
    now: Timestamp,
) -> R<bool> {
    let ended = (to == EntitlementState::Ended).then_some(now.0);
    let r = sqlx::query(
        "UPDATE plan_entitlements SET state = $1, end_reason = $2, ended_at_ms = $3 \
         WHERE order_id = $4 AND state = $5",
    )
    .bind(to.as_str())
    .bind(reason)
    .bind(ended)
    .bind(order_id.to_string())
    .bind(from.as_str())
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

async fn many(pool: &AnyPool, sql: &'static str, binds: &[BindArg<'_>]) -> R<Vec<Entitlement>> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = match b {
            BindArg::Text(s) => q.bind(*s),
            BindArg::Int(i) => q.bind(*i),
        };
    }
    q.fetch_all(pool).await?.iter().map(ent_from).collect()
}

enum BindArg<'a> {
    Text(&'a str),
    Int(i64),
}

#[async_trait]
impl PlanStore for SqlStore {
    async fn grant_entitlement(
        &self,
        new: &NewEntitlement,
        now: Timestamp,
    ) -> R<(Entitlement, bool)> {
        grant(&self.pool, new, now).await
    }
    async fn sync_device_limits(&self, uid: &str) -> R<Option<DeviceLimits>> {
        sync_limits(&self.pool, uid).await
    }
    async fn entitlement(&self, order_id: uuid::Uuid) -> R<Option<Entitlement>> {
        let mut conn = self.pool.acquire().await?;
        one(&mut conn, order_id).await
    }
    async fn move_entitlement(
        &self,
        order_id: uuid::Uuid,
        from: EntitlementState,
        to: EntitlementState,
        reason: Option<&str>,
        now: Timestamp,
    ) -> R<bool> {
        move_state(&self.pool, order_id, from, to, reason, now).await
    }
    async fn live_entitlements(&self, uid: &str) -> R<Vec<Entitlement>> {
        let sql = concat!(
            "SELECT ",
            ent_cols!(),
            " FROM plan_entitlements WHERE uid = $1 AND state <> 'ended' ORDER BY starts_at_ms"
        );
        many(&self.pool, sql, &[BindArg::Text(uid)]).await
    }
    async fn due_entitlements(&self, now: Timestamp, limit: u32) -> R<Vec<Entitlement>> {
        let sql = concat!(
            "SELECT ",
            ent_cols!(),
            " FROM plan_entitlements WHERE (state = 'active' AND ends_at_ms <= $1) \
             OR (state = 'scheduled' AND starts_at_ms <= $1) ORDER BY ends_at_ms LIMIT $2"
        );
        many(&self.pool, sql, &[BindArg::Int(now.0), BindArg::Int(i64::from(limit))]).await
    }
    async fn entitlements_to_remind(&self, before: Timestamp, limit: u32) -> R<Vec<Entitlement>> {
        let sql = concat!(
            "SELECT ",
            ent_cols!(),
            " FROM plan_entitlements e WHERE state = 'active' AND ends_at_ms <= $1 \
             AND reminded_at_ms IS NULL AND NOT EXISTS (SELECT 1 FROM plan_entitlements n \
             WHERE n.uid = e.uid AND n.state = 'scheduled') ORDER BY ends_at_ms LIMIT $2"
        );
        many(&self.pool, sql, &[BindArg::Int(before.0), BindArg::Int(i64::from(limit))]).await
    }
    async fn mark_reminded(&self, order_id: uuid::Uuid, now: Timestamp) -> R<bool> {
        let r = sqlx::query(
            "UPDATE plan_entitlements SET reminded_at_ms = $1 WHERE order_id = $2 \
             AND reminded_at_ms IS NULL",
        )
        .bind(now.0)
        .bind(order_id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }
    async fn entitlements_of(&self, account: AccountId) -> R<Vec<Entitlement>> {
        let sql = concat!(
            "SELECT ",
            ent_cols!(),
            " FROM plan_entitlements WHERE account_id = $1 ORDER BY created_at_ms DESC"
        );
        many(&self.pool, sql, &[BindArg::Text(&account.to_string())]).await
    }

    async fn add_sim_topup(&self, t: &SimTopup) -> R<bool> {
        let r = sqlx::query(concat!(
            "INSERT INTO sim_topups (",
            sim_cols!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (order_id) DO NOTHING"
        ))
        .bind(t.order_id.to_string())
        .bind(t.account_id.to_string())
        .bind(&t.iccid)
        .bind(&t.sku)
        .bind(i64_of(t.allowance_kb))
        .bind(t.starts_at.0)
        .bind(t.ends_at.0)
        .bind(t.refunded_at.map(|t| t.0))
        .bind(t.created_at.0)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }
    async fn sim_topup(&self, order_id: uuid::Uuid) -> R<Option<SimTopup>> {
        let row =
            sqlx::query(concat!("SELECT ", sim_cols!(), " FROM sim_topups WHERE order_id = $1"))
                .bind(order_id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(sim_from).transpose()
    }
    async fn refund_sim_topup(&self, order_id: uuid::Uuid, now: Timestamp) -> R<bool> {
        let r = sqlx::query(
            "UPDATE sim_topups SET refunded_at_ms = $1 WHERE order_id = $2 \
             AND refunded_at_ms IS NULL",
        )
        .bind(now.0)
        .bind(order_id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }
    async fn sim_topups(&self, iccid: &str, after: Timestamp) -> R<Vec<SimTopup>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            sim_cols!(),
            " FROM sim_topups WHERE iccid = $1 AND ends_at_ms > $2 AND refunded_at_ms IS NULL \
             ORDER BY starts_at_ms"
        ))
        .bind(iccid)
        .bind(after.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(sim_from).collect()
    }
    async fn sim_topups_of(&self, account: AccountId) -> R<Vec<SimTopup>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            sim_cols!(),
            " FROM sim_topups WHERE account_id = $1 ORDER BY created_at_ms DESC"
        ))
        .bind(account.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(sim_from).collect()
    }
}
