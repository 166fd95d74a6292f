//! Orders, provider events, coupons and redemption codes. Uses of coupons and codes are taken
//! by one conditional `UPDATE` each, in the transaction that stores their order, so that
//! concurrent checkouts never take more than `max_uses` on either engine.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::columns::account_col;
use super::{R, SqlStore, opt_ts, ts, uuid_col, write_tx};
use crate::{
    BillingEventRow, BillingStore, CouponRow, DbError, EventApplied, OrderRow, RedemptionCodeRow,
};

const ORDER_COLS: &str = "id, account_id, kind, sku, target_kind, target, title, \
     list_amount_minor, amount_minor, currency, coupon, status, provider, provider_ref, \
     payment_ref, refund_ref, created_at_ms, paid_at_ms, refunded_at_ms, fulfilled_at_ms, \
     updated_at_ms";
const COUPON_COLS: &str = "code, percent_off, amount_off_minor, currency, max_uses, used, \
     expires_at_ms, skus, created_by, created_at_ms";
const CODE_COLS: &str = "id, code_hash, kind, sku, title, currency, max_uses, used, \
     expires_at_ms, created_by, created_at_ms";

fn order_from(r: &AnyRow) -> R<OrderRow> {
    Ok(OrderRow {
        id: uuid_col(r, "id")?,
        account_id: account_col(r, "account_id")?,
        kind: r.try_get("kind")?,
        sku: r.try_get("sku")?,
        target_kind: r.try_get("target_kind")?,
        target: r.try_get("target")?,
        title: r.try_get("title")?,
        list_amount_minor: r.try_get("list_amount_minor")?,
        amount_minor: r.try_get("amount_minor")?,
        currency: r.try_get("currency")?,
        coupon: r.try_get("coupon")?,
        status: r.try_get("status")?,
        provider: r.try_get("provider")?,
        provider_ref: r.try_get("provider_ref")?,
        payment_ref: r.try_get("payment_ref")?,
        refund_ref: r.try_get("refund_ref")?,
        created_at: ts(r, "created_at_ms")?,
        paid_at: opt_ts(r, "paid_at_ms")?,
        refunded_at: opt_ts(r, "refunded_at_ms")?,
        fulfilled_at: opt_ts(r, "fulfilled_at_ms")?,
        updated_at: ts(r, "updated_at_ms")?,
    })
}

fn coupon_from(r: &AnyRow) -> R<CouponRow> {
    let skus: String = r.try_get("skus")?;
    Ok(CouponRow {
        code: r.try_get("code")?,
        percent_off: r.try_get("percent_off")?,
        amount_off_minor: r.try_get("amount_off_minor")?,
        currency: r.try_get("currency")?,
        max_uses: r.try_get("max_uses")?,
        used: r.try_get("used")?,
        expires_at: opt_ts(r, "expires_at_ms")?,
        skus: skus.split_whitespace().map(str::to_owned).collect(),
        created_by: r.try_get("created_by")?,
        created_at: ts(r, "created_at_ms")?,
    })
}

fn code_from(r: &AnyRow) -> R<RedemptionCodeRow> {
    Ok(RedemptionCodeRow {
        id: uuid_col(r, "id")?,
        code_hash: r.try_get("code_hash")?,
        kind: r.try_get("kind")?,
        sku: r.try_get("sku")?,
        title: r.try_get("title")?,
        currency: r.try_get("currency")?,
        max_uses: r.try_get("max_uses")?,
        used: r.try_get("used")?,
        expires_at: opt_ts(r, "expires_at_ms")?,
        created_by: r.try_get("created_by")?,
        created_at: ts(r, "created_at_ms")?,
    })
}

async fn insert_order_row<'e>(
    ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
    o: &OrderRow,
) -> R<()> {
    let sql = sqlx::AssertSqlSafe(format!(
        "INSERT INTO orders ({ORDER_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
    ));
    sqlx::query(sql)
        .bind(o.id.to_string())
        .bind(o.account_id.to_string())
        .bind(&o.kind)
        .bind(&o.sku)
        .bind(&o.target_kind)
        .bind(&o.target)
        .bind(&o.title)
        .bind(o.list_amount_minor)
        .bind(o.amount_minor)
        .bind(&o.currency)
        .bind(&o.coupon)
        .bind(&o.status)
        .bind(&o.provider)
        .bind(&o.provider_ref)
        .bind(&o.payment_ref)
        .bind(&o.refund_ref)
        .bind(o.created_at.0)
        .bind(o.paid_at.map(|t| t.0))
        .bind(o.refunded_at.map(|t| t.0))
        .bind(o.fulfilled_at.map(|t| t.0))
        .bind(o.updated_at.0)
        .execute(ex)
        .await?;
    Ok(())
}

/// The statuses an order may be in for an event of `kind` to move it.
fn from_statuses(kind: &str) -> R<&'static str> {
    match kind {
        "paid" => Ok("'pending', 'failed', 'cancelled'"),
        "failed" => Ok("'pending'"),
        "refunded" => Ok("'paid'"),
        other => Err(DbError::Corrupt(format!("billing event kind {other:?}"))),
    }
}

#[async_trait]
impl BillingStore for SqlStore {
    async fn insert_order(
        &self,
        order: &OrderRow,
        coupon: Option<&str>,
        now: Timestamp,
    ) -> R<bool> {
        let mut tx = write_tx(&self.pool).await?;
        if let Some(code) = coupon {
            let r = sqlx::query(
                "UPDATE coupons SET used = used + 1 WHERE code = $1 AND used < max_uses \
                 AND (expires_at_ms IS NULL OR expires_at_ms > $2)",
            )
            .bind(code)
            .bind(now.0)
            .execute(&mut *tx)
            .await?;
            if r.rows_affected() != 1 {
                return Ok(false);
            }
        }
        insert_order_row(&mut *tx, order).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn order(&self, id: uuid::Uuid) -> R<Option<OrderRow>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {ORDER_COLS} FROM orders WHERE id = $1"));
        let row = sqlx::query(sql).bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(order_from).transpose()
    }

    async fn order_by_payment(&self, provider: &str, payment_ref: &str) -> R<Option<OrderRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ORDER_COLS} FROM orders WHERE provider = $1 AND payment_ref = $2 \
             ORDER BY created_at_ms LIMIT 1"
        ));
        let row =
            sqlx::query(sql).bind(provider).bind(payment_ref).fetch_optional(&self.pool).await?;
        row.as_ref().map(order_from).transpose()
    }

    async fn orders_of(&self, account: AccountId, limit: u32) -> R<Vec<OrderRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ORDER_COLS} FROM orders WHERE account_id = $1 \
             ORDER BY created_at_ms DESC, id DESC LIMIT $2"
        ));
        let rows = sqlx::query(sql)
            .bind(account.to_string())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(order_from).collect()
    }

    async fn set_order_provider_ref(
        &self,
        id: uuid::Uuid,
        provider_ref: &str,
        now: Timestamp,
    ) -> R<()> {
        sqlx::query(
            "UPDATE orders SET provider_ref = $1, updated_at_ms = $2 \
             WHERE id = $3 AND status = 'pending'",
        )
        .bind(provider_ref)
        .bind(now.0)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn fail_order(&self, id: uuid::Uuid, status: &str, now: Timestamp) -> R<bool> {
        if !matches!(status, "failed" | "cancelled") {
            return Err(DbError::Corrupt(format!("fail_order to {status:?}")));
        }
        let mut tx = write_tx(&self.pool).await?;
        let r = sqlx::query(
            "UPDATE orders SET status = $1, updated_at_ms = $2 WHERE id = $3 AND status = 'pending'",
        )
        .bind(status)
        .bind(now.0)
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE coupons SET used = used - 1 WHERE used > 0 \
             AND code = (SELECT coupon FROM orders WHERE id = $1)",
        )
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn apply_billing_event(
        &self,
        e: &BillingEventRow,
        payment_ref: Option<&str>,
    ) -> R<EventApplied> {
        let from = from_statuses(&e.kind)?;
        let mut tx = write_tx(&self.pool).await?;
        let r = sqlx::query(
            "INSERT INTO billing_events (provider, event_id, order_id, kind, received_at_ms) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider, event_id) DO NOTHING",
        )
        .bind(&e.provider)
        .bind(&e.event_id)
        .bind(e.order_id.to_string())
        .bind(&e.kind)
        .bind(e.received_at.0)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(EventApplied::Replay);
        }
        let (paid_at, refunded_at) = match e.kind.as_str() {
            "paid" => (Some(e.received_at.0), None),
            "refunded" => (None, Some(e.received_at.0)),
            _ => (None, None),
        };
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE orders SET status = $1, updated_at_ms = $2, \
             paid_at_ms = COALESCE($3, paid_at_ms), refunded_at_ms = COALESCE($4, refunded_at_ms), \
             payment_ref = COALESCE($5, payment_ref) \
             WHERE id = $6 AND status IN ({from})"
        ));
        let r = sqlx::query(sql)
            .bind(&e.kind)
            .bind(e.received_at.0)
            .bind(paid_at)
            .bind(refunded_at)
            .bind(payment_ref)
            .bind(e.order_id.to_string())
            .execute(&mut *tx)
            .await?;
        let changed = r.rows_affected() == 1;
        tx.commit().await?;
        Ok(if changed { EventApplied::Changed } else { EventApplied::Unchanged })
    }

    async fn refund_order(
        &self,
        id: uuid::Uuid,
        refund_ref: Option<&str>,
        now: Timestamp,
    ) -> R<bool> {
        let r = sqlx::query(
            "UPDATE orders SET status = 'refunded', refunded_at_ms = $1, updated_at_ms = $1, \
             refund_ref = COALESCE($2, refund_ref) WHERE id = $3 AND status = 'paid'",
        )
        .bind(now.0)
        .bind(refund_ref)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn mark_fulfilled(&self, id: uuid::Uuid, now: Timestamp) -> R<()> {
        sqlx::query(
            "UPDATE orders SET fulfilled_at_ms = $1 WHERE id = $2 AND fulfilled_at_ms IS NULL",
        )
        .bind(now.0)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn insert_coupon(&self, c: &CouponRow) -> R<bool> {
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO coupons ({COUPON_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (code) DO NOTHING"
        ));
        let r = sqlx::query(sql)
            .bind(&c.code)
            .bind(c.percent_off)
            .bind(c.amount_off_minor)
            .bind(&c.currency)
            .bind(c.max_uses)
            .bind(c.used)
            .bind(c.expires_at.map(|t| t.0))
            .bind(c.skus.join(" "))
            .bind(&c.created_by)
            .bind(c.created_at.0)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn coupon(&self, code: &str) -> R<Option<CouponRow>> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {COUPON_COLS} FROM coupons WHERE code = $1"));
        let row = sqlx::query(sql).bind(code).fetch_optional(&self.pool).await?;
        row.as_ref().map(coupon_from).transpose()
    }

    async fn coupons(&self) -> R<Vec<CouponRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {COUPON_COLS} FROM coupons ORDER BY created_at_ms DESC, code"
        ));
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(coupon_from).collect()
    }

    async fn insert_redemption_code(&self, c: &RedemptionCodeRow) -> R<bool> {
        let sql = sqlx::AssertSqlSafe(format!(
            "INSERT INTO redemption_codes ({CODE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11) ON CONFLICT (code_hash) DO NOTHING"
        ));
        let r = sqlx::query(sql)
            .bind(c.id.to_string())
            .bind(&c.code_hash)
            .bind(&c.kind)
            .bind(&c.sku)
            .bind(&c.title)
            .bind(&c.currency)
            .bind(c.max_uses)
            .bind(c.used)
            .bind(c.expires_at.map(|t| t.0))
            .bind(&c.created_by)
            .bind(c.created_at.0)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn redemption_code(&self, code_hash: &[u8]) -> R<Option<RedemptionCodeRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CODE_COLS} FROM redemption_codes WHERE code_hash = $1"
        ));
        let row = sqlx::query(sql).bind(code_hash).fetch_optional(&self.pool).await?;
        row.as_ref().map(code_from).transpose()
    }

    async fn redeem_code(&self, code_id: uuid::Uuid, order: &OrderRow) -> R<bool> {
        let mut tx = write_tx(&self.pool).await?;
        let r = sqlx::query(
            "UPDATE redemption_codes SET used = used + 1 WHERE id = $1 AND used < max_uses \
             AND (expires_at_ms IS NULL OR expires_at_ms > $2)",
        )
        .bind(code_id.to_string())
        .bind(order.created_at.0)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() != 1 {
            return Ok(false);
        }
        insert_order_row(&mut *tx, order).await?;
        sqlx::query(
            "INSERT INTO redemptions (order_id, code_id, account_id, redeemed_at_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(order.id.to_string())
        .bind(code_id.to_string())
        .bind(order.account_id.to_string())
        .bind(order.created_at.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
