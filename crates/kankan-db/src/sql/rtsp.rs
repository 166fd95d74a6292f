//! The RTSP camera registry.

use kankan_base::AccountId;
use sqlx::AnyPool;
use sqlx::Row;

use super::{R, ts};
use crate::{DbError, RtspCamera};

/// Inserts a new camera's empty shadow and its source, inside the transaction that inserts its
/// device row ([`super::devices`]).
pub(super) async fn insert_source(tx: &mut sqlx::AnyConnection, cam: &RtspCamera) -> R<()> {
    sqlx::query("INSERT INTO device_state (uid, online) VALUES ($1, 0)")
        .bind(&cam.uid)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO rtsp_cameras (uid, source_enc, created_at_ms) VALUES ($1, $2, $3)")
        .bind(&cam.uid)
        .bind(&cam.source_enc)
        .bind(cam.created_at.0)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Every RTSP camera that is bound, with its owner, oldest first.
pub(super) async fn all(pool: &AnyPool) -> R<Vec<RtspCamera>> {
    let rows = sqlx::query(
        "SELECT r.uid, r.source_enc, r.created_at_ms, d.owner_id FROM rtsp_cameras r \
         JOIN devices d ON d.uid = r.uid WHERE d.owner_id IS NOT NULL \
         ORDER BY r.created_at_ms, r.uid",
    )
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            let owner: String = row.try_get("owner_id")?;
            Ok(RtspCamera {
                uid: row.try_get("uid")?,
                owner: owner
                    .parse()
                    .map(AccountId)
                    .map_err(|e| DbError::Corrupt(format!("owner_id: {e}")))?,
                source_enc: row.try_get("source_enc")?,
                created_at: ts(row, "created_at_ms")?,
            })
        })
        .collect()
}

/// Forgets where a camera streams from (inside the unbind transaction).
pub(super) async fn forget(tx: &mut sqlx::AnyConnection, uid: &str) -> R<()> {
    sqlx::query("DELETE FROM rtsp_cameras WHERE uid = $1").bind(uid).execute(tx).await?;
    Ok(())
}
