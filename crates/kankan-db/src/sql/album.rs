//! The Album: saved screenshots and clips, one row per item, always selected by account.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};
use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::columns::{account_col, blob_col, i64_of, u64_of};
use super::{R, SqlStore, ts, uuid_col, write_tx};
use crate::{AlbumItem, AlbumKind, AlbumStore, DbError};

/// The columns of a row, in `item_from`'s order (a macro: queries are static strings).
macro_rules! columns {
    () => {
        "id, account_id, kind, uid, device_name_enc, taken_at_ms, duration_ms, bytes, blob_id, \
         key_enc, created_at_ms"
    };
}

fn item_from(r: &AnyRow) -> R<AlbumItem> {
    let kind: String = r.try_get("kind")?;
    Ok(AlbumItem {
        id: uuid_col(r, "id")?,
        account_id: account_col(r, "account_id")?,
        kind: AlbumKind::parse(&kind).ok_or_else(|| DbError::Corrupt(format!("kind {kind:?}")))?,
        uid: r.try_get("uid")?,
        device_name_enc: r.try_get("device_name_enc")?,
        taken_at: ts(r, "taken_at_ms")?,
        duration_ms: u32::try_from(u64_of(r, "duration_ms")?)
            .map_err(|_| DbError::Corrupt("duration_ms".into()))?,
        bytes: u64_of(r, "bytes")?,
        blob: blob_col(r, "blob_id")?,
        key_enc: r.try_get("key_enc")?,
        created_at: ts(r, "created_at_ms")?,
    })
}

pub(super) async fn insert(pool: &AnyPool, i: &AlbumItem) -> R<()> {
    sqlx::query(concat!(
        "INSERT INTO album_items (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(i.id.to_string())
    .bind(i.account_id.to_string())
    .bind(i.kind.as_str())
    .bind(&i.uid)
    .bind(&i.device_name_enc)
    .bind(i.taken_at.0)
    .bind(i64::from(i.duration_ms))
    .bind(i64_of(i.bytes))
    .bind(i.blob.0.as_bytes().as_slice())
    .bind(&i.key_enc)
    .bind(i.created_at.0)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn of_account(
    pool: &AnyPool,
    account: AccountId,
    limit: u32,
) -> R<Vec<AlbumItem>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM album_items WHERE account_id = $1 ORDER BY created_at_ms DESC, id DESC LIMIT $2"
    ))
    .bind(account.to_string())
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(item_from).collect()
}

pub(super) async fn one(
    pool: &AnyPool,
    account: AccountId,
    id: uuid::Uuid,
) -> R<Option<AlbumItem>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM album_items WHERE id = $1 AND account_id = $2"
    ))
    .bind(id.to_string())
    .bind(account.to_string())
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(item_from).transpose()
}

pub(super) async fn delete(
    pool: &AnyPool,
    account: AccountId,
    id: uuid::Uuid,
    at: Timestamp,
) -> R<bool> {
    let mut tx = write_tx(pool).await?;
    sqlx::query(
        "INSERT INTO blob_trash (blob_id, trashed_at_ms) SELECT blob_id, $1 FROM album_items \
         WHERE id = $2 AND account_id = $3 ON CONFLICT DO NOTHING",
    )
    .bind(at.0)
    .bind(id.to_string())
    .bind(account.to_string())
    .execute(&mut *tx)
    .await?;
    let gone = sqlx::query("DELETE FROM album_items WHERE id = $1 AND account_id = $2")
        .bind(id.to_string())
        .bind(account.to_string())
        .execute(&mut *tx)
        .await?;
    if gone.rows_affected() != 1 {
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

pub(super) async fn trash_all(pool: &AnyPool, account: AccountId, at: Timestamp) -> R<u64> {
    let mut tx = write_tx(pool).await?;
    sqlx::query(
        "INSERT INTO blob_trash (blob_id, trashed_at_ms) SELECT blob_id, $1 FROM album_items \
         WHERE account_id = $2 ON CONFLICT DO NOTHING",
    )
    .bind(at.0)
    .bind(account.to_string())
    .execute(&mut *tx)
    .await?;
    let gone = sqlx::query("DELETE FROM album_items WHERE account_id = $1")
        .bind(account.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(gone.rows_affected())
}

#[async_trait]
impl AlbumStore for SqlStore {
    async fn trash_album_of(&self, account: AccountId, at: Timestamp) -> R<u64> {
        trash_all(&self.pool, account, at).await
    }
    async fn insert_album_item(&self, item: &AlbumItem) -> R<()> {
        insert(&self.pool, item).await
    }
    async fn album_items(&self, account: AccountId, limit: u32) -> R<Vec<AlbumItem>> {
        of_account(&self.pool, account, limit).await
    }
    async fn album_item(&self, account: AccountId, id: uuid::Uuid) -> R<Option<AlbumItem>> {
        one(&self.pool, account, id).await
    }
    async fn delete_album_item(
        &self,
        account: AccountId,
        id: uuid::Uuid,
        at: Timestamp,
    ) -> R<bool> {
        delete(&self.pool, account, id, at).await
    }
}
