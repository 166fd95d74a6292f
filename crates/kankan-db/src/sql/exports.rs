//! Data exports and their sealed parts.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Transaction};

use super::columns::{account_col, blob_col, i64_of, u64_of};
use super::{Engine, R, SqlStore, opt_ts, ts, uuid_col, write_tx};
use crate::{DbError, ExportInsert, ExportPart, ExportRow, ExportState, ExportStore};

/// The columns of a row, in `row_from`'s order (a macro: queries are static strings).
macro_rules! columns {
    () => {
        "id, account_id, media, state, attempts, done, total, size_bytes, key_enc, error, \
         created_at_ms, ready_at_ms, expires_at_ms"
    };
}

fn row_from(r: &AnyRow) -> R<ExportRow> {
    let state: String = r.try_get("state")?;
    Ok(ExportRow {
        id: uuid_col(r, "id")?,
        account_id: account_col(r, "account_id")?,
        media: r.try_get("media")?,
        state: ExportState::parse(&state)
            .ok_or_else(|| DbError::Corrupt(format!("export state {state:?}")))?,
        attempts: u32::try_from(u64_of(r, "attempts")?).unwrap_or(u32::MAX),
        done: u64_of(r, "done")?,
        total: u64_of(r, "total")?,
        size_bytes: u64_of(r, "size_bytes")?,
        key_enc: r.try_get("key_enc")?,
        error: r.try_get("error")?,
        created_at: ts(r, "created_at_ms")?,
        ready_at: opt_ts(r, "ready_at_ms")?,
        expires_at: ts(r, "expires_at_ms")?,
    })
}

async fn insert(pool: &AnyPool, e: &ExportRow) -> R<ExportInsert> {
    let mut tx = write_tx(pool).await?;
    let busy = format!(
        "SELECT id FROM exports WHERE account_id = $1 AND state IN ('queued', 'running'){}",
        Engine::of_tx(&tx).for_update()
    );
    let busy = sqlx::query(sqlx::AssertSqlSafe(busy))
        .bind(e.account_id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
    if busy.is_some() {
        return Ok(ExportInsert::AlreadyRunning);
    }
    sqlx::query(concat!(
        "INSERT INTO exports (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(e.id.to_string())
    .bind(e.account_id.to_string())
    .bind(&e.media)
    .bind(ExportState::Queued.as_str())
    .bind(0i64)
    .bind(0i64)
    .bind(0i64)
    .bind(0i64)
    .bind(None::<Vec<u8>>)
    .bind(None::<String>)
    .bind(e.created_at.0)
    .bind(None::<i64>)
    .bind(e.expires_at.0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(ExportInsert::Inserted)
}

async fn of_account(pool: &AnyPool, account: AccountId) -> R<Vec<ExportRow>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM exports WHERE account_id = $1 ORDER BY created_at_ms DESC, id DESC"
    ))
    .bind(account.to_string())
    .fetch_all(pool)
    .await?;
    rows.iter().map(row_from).collect()
}

async fn one(pool: &AnyPool, account: AccountId, id: uuid::Uuid) -> R<Option<ExportRow>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM exports WHERE id = $1 AND account_id = $2"
    ))
    .bind(id.to_string())
    .bind(account.to_string())
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(row_from).transpose()
}

async fn claim(pool: &AnyPool, now: Timestamp, lease_until: Timestamp) -> R<Option<ExportRow>> {
    // One statement, as the job queue claims (see `jobs::claim`).
    let sql = format!(
        concat!(
            "UPDATE exports SET state = 'running', attempts = attempts + 1, lease_until_ms = $1 \
             WHERE id = (SELECT id FROM exports WHERE state = 'queued' \
                OR (state = 'running' AND lease_until_ms < $2) \
                ORDER BY created_at_ms, id LIMIT 1{}) RETURNING ",
            columns!()
        ),
        Engine::of(pool).skip_locked()
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(lease_until.0)
        .bind(now.0)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(row_from).transpose()
}

/// Puts the export's parts in the trash and deletes their rows.
async fn trash_parts(tx: &mut Transaction<'static, Any>, id: uuid::Uuid, at: Timestamp) -> R<()> {
    sqlx::query(
        "INSERT INTO blob_trash (blob_id, trashed_at_ms) SELECT blob_id, $1 FROM export_parts \
         WHERE export_id = $2 ON CONFLICT DO NOTHING",
    )
    .bind(at.0)
    .bind(id.to_string())
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM export_parts WHERE export_id = $1")
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn restart(
    pool: &AnyPool,
    id: uuid::Uuid,
    key_enc: &[u8],
    total: u64,
    lease_until: Timestamp,
    at: Timestamp,
) -> R<bool> {
    let mut tx = write_tx(pool).await?;
    let set = sqlx::query(
        "UPDATE exports SET key_enc = $1, done = 0, total = $2, lease_until_ms = $3 \
         WHERE id = $4 AND state = 'running'",
    )
    .bind(key_enc)
    .bind(i64_of(total))
    .bind(lease_until.0)
    .bind(id.to_string())
    .execute(&mut *tx)
    .await?;
    if set.rows_affected() != 1 {
        return Ok(false);
    }
    trash_parts(&mut tx, id, at).await?;
    tx.commit().await?;
    Ok(true)
}

async fn progress(
    pool: &AnyPool,
    id: uuid::Uuid,
    done: u64,
    part: Option<ExportPart>,
    lease_until: Timestamp,
) -> R<bool> {
    let mut tx = write_tx(pool).await?;
    let set = sqlx::query(
        "UPDATE exports SET done = $1, lease_until_ms = $2 WHERE id = $3 AND state = 'running'",
    )
    .bind(i64_of(done))
    .bind(lease_until.0)
    .bind(id.to_string())
    .execute(&mut *tx)
    .await?;
    if set.rows_affected() != 1 {
        return Ok(false);
    }
    if let Some(p) = part {
        sqlx::query(
            "INSERT INTO export_parts (export_id, n, blob_id, bytes) VALUES ($1, $2, $3, $4)",
        )
        .bind(id.to_string())
        .bind(i64::from(p.n))
        .bind(p.blob.0.as_bytes().as_slice())
        .bind(i64_of(p.bytes))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

async fn finish(
    pool: &AnyPool,
    id: uuid::Uuid,
    size: u64,
    at: Timestamp,
    expires_at: Timestamp,
) -> R<bool> {
    let set = sqlx::query(
        "UPDATE exports SET state = 'ready', size_bytes = $1, ready_at_ms = $2, \
         expires_at_ms = $3, lease_until_ms = NULL, done = total WHERE id = $4 AND state = 'running'",
    )
    .bind(i64_of(size))
    .bind(at.0)
    .bind(expires_at.0)
    .bind(id.to_string())
    .execute(pool)
    .await?;
    Ok(set.rows_affected() == 1)
}

async fn fail(pool: &AnyPool, id: uuid::Uuid, error: &str, at: Timestamp) -> R<()> {
    let mut tx = write_tx(pool).await?;
    sqlx::query(
        "UPDATE exports SET state = 'failed', error = $1, lease_until_ms = NULL, key_enc = NULL \
         WHERE id = $2 AND state = 'running'",
    )
    .bind(error)
    .bind(id.to_string())
    .execute(&mut *tx)
    .await?;
    trash_parts(&mut tx, id, at).await?;
    tx.commit().await?;
    Ok(())
}

async fn parts(pool: &AnyPool, id: uuid::Uuid) -> R<Vec<ExportPart>> {
    let rows =
        sqlx::query("SELECT n, blob_id, bytes FROM export_parts WHERE export_id = $1 ORDER BY n")
            .bind(id.to_string())
            .fetch_all(pool)
            .await?;
    rows.iter()
        .map(|r| {
            Ok(ExportPart {
                n: u32::try_from(u64_of(r, "n")?).map_err(|_| DbError::Corrupt("part n".into()))?,
                blob: blob_col(r, "blob_id")?,
                bytes: u64_of(r, "bytes")?,
            })
        })
        .collect()
}

async fn delete(pool: &AnyPool, account: AccountId, id: uuid::Uuid, at: Timestamp) -> R<bool> {
    let mut tx = write_tx(pool).await?;
    trash_parts(&mut tx, id, at).await?;
    let gone = sqlx::query("DELETE FROM exports WHERE id = $1 AND account_id = $2")
        .bind(id.to_string())
        .bind(account.to_string())
        .execute(&mut *tx)
        .await?;
    if gone.rows_affected() != 1 {
        // Rolled back: another account's parts stay where they are.
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

async fn delete_expired(pool: &AnyPool, now: Timestamp, limit: u32) -> R<u64> {
    let mut tx = write_tx(pool).await?;
    let rows = sqlx::query(
        "SELECT id FROM exports WHERE expires_at_ms < $1 ORDER BY expires_at_ms, id LIMIT $2",
    )
    .bind(now.0)
    .bind(i64::from(limit))
    .fetch_all(&mut *tx)
    .await?;
    let mut n = 0;
    for r in &rows {
        let id = uuid_col(r, "id")?;
        trash_parts(&mut tx, id, now).await?;
        n += sqlx::query("DELETE FROM exports WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    tx.commit().await?;
    Ok(n)
}

#[async_trait]
impl ExportStore for SqlStore {
    async fn insert_export(&self, row: &ExportRow) -> R<ExportInsert> {
        insert(&self.pool, row).await
    }
    async fn exports_of(&self, account: AccountId) -> R<Vec<ExportRow>> {
        of_account(&self.pool, account).await
    }
    async fn export_of(&self, account: AccountId, id: uuid::Uuid) -> R<Option<ExportRow>> {
        one(&self.pool, account, id).await
    }
    async fn claim_export(&self, now: Timestamp, lease_until: Timestamp) -> R<Option<ExportRow>> {
        claim(&self.pool, now, lease_until).await
    }
    async fn restart_export(
        &self,
        id: uuid::Uuid,
        key_enc: &[u8],
        total: u64,
        lease_until: Timestamp,
        at: Timestamp,
    ) -> R<bool> {
        restart(&self.pool, id, key_enc, total, lease_until, at).await
    }
    async fn export_progress(
        &self,
        id: uuid::Uuid,
        done: u64,
        part: Option<ExportPart>,
        lease_until: Timestamp,
    ) -> R<bool> {
        progress(&self.pool, id, done, part, lease_until).await
    }
    async fn finish_export(
        &self,
        id: uuid::Uuid,
        size_bytes: u64,
        at: Timestamp,
        expires_at: Timestamp,
    ) -> R<bool> {
        finish(&self.pool, id, size_bytes, at, expires_at).await
    }
    async fn fail_export(&self, id: uuid::Uuid, error: &str, at: Timestamp) -> R<()> {
        fail(&self.pool, id, error, at).await
    }
    async fn export_parts(&self, id: uuid::Uuid) -> R<Vec<ExportPart>> {
        parts(&self.pool, id).await
    }
    async fn delete_export(&self, account: AccountId, id: uuid::Uuid, at: Timestamp) -> R<bool> {
        delete(&self.pool, account, id, at).await
    }
    async fn delete_expired_exports(&self, now: Timestamp, limit: u32) -> R<u64> {
        delete_expired(&self.pool, now, limit).await
    }
}
