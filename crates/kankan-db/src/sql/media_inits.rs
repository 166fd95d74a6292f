//! The devices' init segments (one row per distinct init a device sent, by digest).

use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::columns::blob_col;
use super::{R, ts};
use crate::{DbError, MediaInit};

const INIT_COLS: &str =
    "SELECT id, uid, digest, blob_id, codecs, width, height, created_at_ms FROM media_inits";

fn init_from(r: &AnyRow) -> R<MediaInit> {
    Ok(MediaInit {
        id: r.try_get("id")?,
        uid: r.try_get("uid")?,
        digest: r.try_get("digest")?,
        blob: blob_col(r, "blob_id")?,
        codecs: r.try_get("codecs")?,
        width: u32::try_from(r.try_get::<i64, _>("width")?).unwrap_or(0),
        height: u32::try_from(r.try_get::<i64, _>("height")?).unwrap_or(0),
        created_at: ts(r, "created_at_ms")?,
    })
}

pub(super) async fn put_media_init(pool: &AnyPool, i: &MediaInit) -> R<MediaInit> {
    sqlx::query(
        "INSERT INTO media_inits (uid, digest, blob_id, codecs, width, height, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (uid, digest) DO NOTHING",
    )
    .bind(&i.uid)
    .bind(&i.digest)
    .bind(i.blob.0.as_bytes().as_slice())
    .bind(&i.codecs)
    .bind(i64::from(i.width))
    .bind(i64::from(i.height))
    .bind(i.created_at.0)
    .execute(pool)
    .await?;
    media_init_by_digest(pool, &i.uid, &i.digest).await?.ok_or(DbError::NotFound("media init"))
}

pub(super) async fn media_init(pool: &AnyPool, id: i64) -> R<Option<MediaInit>> {
    let sql = sqlx::AssertSqlSafe(format!("{INIT_COLS} WHERE id = $1"));
    let row = sqlx::query(sql).bind(id).fetch_optional(pool).await?;
    row.as_ref().map(init_from).transpose()
}

pub(super) async fn media_init_by_digest(
    pool: &AnyPool,
    uid: &str,
    digest: &[u8],
) -> R<Option<MediaInit>> {
    let sql = sqlx::AssertSqlSafe(format!("{INIT_COLS} WHERE uid = $1 AND digest = $2"));
    let row = sqlx::query(sql).bind(uid).bind(digest).fetch_optional(pool).await?;
    row.as_ref().map(init_from).transpose()
}
