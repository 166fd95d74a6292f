//! Consents, guardians and announcements. Every statement uses numbered placeholders and
//! portable SQL only, so it runs unchanged on PostgreSQL.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};
use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{R, SqlStore, opt_ts, ts, uuid_col, write_tx};
use crate::{
    Account, AnnouncementRow, AnnouncementStore, ConsentRow, ConsentStore, DbError, GuardianRow,
    PushSubscriptionRow,
};

const CONSENT_COLS: &str = "id, account_id, purpose, version, granted, how, at_ms";
const ANNOUNCEMENT_COLS: &str =
    "id, title, body, staff_id, created_at_ms, pushed_through, push_done_at_ms";

fn consent_from(r: &AnyRow) -> R<ConsentRow> {
    Ok(ConsentRow {
        id: uuid_col(r, "id")?,
        account_id: AccountId(uuid_col(r, "account_id")?),
        purpose: r.try_get("purpose")?,
        version: r.try_get("version")?,
        granted: r.try_get::<i64, _>("granted")? != 0,
        how: r.try_get("how")?,
        at: ts(r, "at_ms")?,
    })
}

fn announcement_from(r: &AnyRow) -> R<AnnouncementRow> {
    let through: Option<String> = r.try_get("pushed_through")?;
    Ok(AnnouncementRow {
        id: uuid_col(r, "id")?,
        title: r.try_get("title")?,
        body: r.try_get("body")?,
        staff_id: r.try_get("staff_id")?,
        created_at: ts(r, "created_at_ms")?,
        pushed_through: through
            .map(|s| uuid::Uuid::parse_str(&s))
            .transpose()
            .map_err(|e| DbError::Corrupt(format!("pushed_through: {e}")))?,
        push_done_at: opt_ts(r, "push_done_at_ms")?,
    })
}

async fn insert_consent<'e>(
    ex: impl sqlx::Executor<'e, Database = sqlx::Any>,
    c: &ConsentRow,
) -> R<()> {
    sqlx::query(
        "INSERT INTO consents (id, account_id, purpose, version, granted, how, at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(c.id.to_string())
    .bind(c.account_id.to_string())
    .bind(&c.purpose)
    .bind(&c.version)
    .bind(i64::from(c.granted))
    .bind(&c.how)
    .bind(c.at.0)
    .execute(ex)
    .await?;
    Ok(())
}

async fn insert_registration(
    pool: &AnyPool,
    account: &Account,
    consents: &[ConsentRow],
    guardian: Option<&GuardianRow>,
) -> R<()> {
    let mut tx = write_tx(pool).await?;
    super::accounts::insert(&mut *tx, account).await?;
    for c in consents {
        insert_consent(&mut *tx, c).await?;
    }
    if let Some(g) = guardian {
        sqlx::query(
            "INSERT INTO guardians (account_id, guardian_index, guardian_enc, created_at_ms, \
             consented_at_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(g.account_id.to_string())
        .bind(&g.guardian_index)
        .bind(&g.guardian_enc)
        .bind(g.created_at.0)
        .bind(g.consented_at.map(|t| t.0))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn guardian_consents(
    pool: &AnyPool,
    account: AccountId,
    guardian_index: &[u8],
    consent: &ConsentRow,
) -> R<bool> {
    let mut tx = write_tx(pool).await?;
    let r = sqlx::query(
        "UPDATE guardians SET consented_at_ms = $1 WHERE account_id = $2 \
         AND guardian_index = $3 AND consented_at_ms IS NULL",
    )
    .bind(consent.at.0)
    .bind(account.to_string())
    .bind(guardian_index)
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() != 1 {
        return Ok(false);
    }
    insert_consent(&mut *tx, consent).await?;
    tx.commit().await?;
    Ok(true)
}

#[async_trait]
impl ConsentStore for SqlStore {
    async fn insert_registration(
        &self,
        account: &Account,
        consents: &[ConsentRow],
        guardian: Option<&GuardianRow>,
    ) -> R<()> {
        insert_registration(&self.pool, account, consents, guardian).await
    }

    async fn insert_consent(&self, consent: &ConsentRow) -> R<()> {
        insert_consent(&self.pool, consent).await
    }

    async fn consents(&self, account: AccountId) -> R<Vec<ConsentRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CONSENT_COLS} FROM consents WHERE account_id = $1 ORDER BY at_ms, id"
        ));
        let rows = sqlx::query(sql).bind(account.to_string()).fetch_all(&self.pool).await?;
        rows.iter().map(consent_from).collect()
    }

    async fn latest_consent(&self, account: AccountId, purpose: &str) -> R<Option<ConsentRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {CONSENT_COLS} FROM consents WHERE account_id = $1 AND purpose = $2 \
             ORDER BY at_ms DESC, id DESC LIMIT 1"
        ));
        let row = sqlx::query(sql)
            .bind(account.to_string())
            .bind(purpose)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(consent_from).transpose()
    }

    async fn guardian(&self, account: AccountId) -> R<Option<GuardianRow>> {
        let row = sqlx::query(
            "SELECT account_id, guardian_index, guardian_enc, created_at_ms, consented_at_ms \
             FROM guardians WHERE account_id = $1",
        )
        .bind(account.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(GuardianRow {
                account_id: AccountId(uuid_col(&r, "account_id")?),
                guardian_index: r.try_get("guardian_index")?,
                guardian_enc: r.try_get("guardian_enc")?,
                created_at: ts(&r, "created_at_ms")?,
                consented_at: opt_ts(&r, "consented_at_ms")?,
            })
        })
        .transpose()
    }

    async fn guardian_consents(
        &self,
        account: AccountId,
        guardian_index: &[u8],
        consent: &ConsentRow,
    ) -> R<bool> {
        guardian_consents(&self.pool, account, guardian_index, consent).await
    }
}

#[async_trait]
impl AnnouncementStore for SqlStore {
    async fn insert_announcement(&self, a: &AnnouncementRow) -> R<()> {
        sqlx::query(
            "INSERT INTO announcements (id, title, body, staff_id, created_at_ms, \
             pushed_through, push_done_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(a.id.to_string())
        .bind(&a.title)
        .bind(&a.body)
        .bind(&a.staff_id)
        .bind(a.created_at.0)
        .bind(a.pushed_through.map(|u| u.to_string()))
        .bind(a.push_done_at.map(|t| t.0))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn announcements(&self, limit: u32) -> R<Vec<AnnouncementRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ANNOUNCEMENT_COLS} FROM announcements \
             ORDER BY created_at_ms DESC, id DESC LIMIT $1"
        ));
        let rows = sqlx::query(sql).bind(i64::from(limit)).fetch_all(&self.pool).await?;
        rows.iter().map(announcement_from).collect()
    }

    async fn announcement_to_push(&self) -> R<Option<AnnouncementRow>> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {ANNOUNCEMENT_COLS} FROM announcements WHERE push_done_at_ms IS NULL \
             ORDER BY created_at_ms, id LIMIT 1"
        ));
        let row = sqlx::query(sql).fetch_optional(&self.pool).await?;
        row.as_ref().map(announcement_from).transpose()
    }

    async fn push_subscriptions_after(
        &self,
        after: Option<uuid::Uuid>,
        limit: u32,
    ) -> R<Vec<PushSubscriptionRow>> {
        let rows = sqlx::query(
            "SELECT id, account_id, endpoint_index, sub_enc, created_at_ms \
             FROM push_subscriptions WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after.map(|u| u.to_string()).unwrap_or_default())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(super::notify::sub_from).collect()
    }

    async fn advance_announcement_push(
        &self,
        id: uuid::Uuid,
        through: Option<uuid::Uuid>,
        done: Option<Timestamp>,
    ) -> R<()> {
        sqlx::query(
            "UPDATE announcements SET pushed_through = $1, push_done_at_ms = $2 WHERE id = $3",
        )
        .bind(through.map(|u| u.to_string()))
        .bind(done.map(|t| t.0))
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
