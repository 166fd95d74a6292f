//! Familiar faces and their sightings, always selected by account.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::columns::account_col;
use super::{Engine, R, SqlStore, ts, uuid_col, write_tx};
use crate::{FaceRow, FaceSighting, FaceStore};

/// The columns of a face, in `face_from`'s order (a macro: queries are static strings).
macro_rules! face_columns {
    () => {
        "f.id, f.account_id, f.template_enc, f.name_enc, f.relation, f.first_seen_ms, \
         f.last_seen_ms, f.created_at_ms"
    };
}

macro_rules! sighting_columns {
    () => {
        "s.id, s.face_id, s.account_id, s.event_id, s.uid, s.seen_at_ms"
    };
}

fn face_from(r: &AnyRow) -> R<FaceRow> {
    Ok(FaceRow {
        id: uuid_col(r, "id")?,
        account_id: account_col(r, "account_id")?,
        template_enc: r.try_get("template_enc")?,
        name_enc: r.try_get("name_enc")?,
        relation: r.try_get("relation")?,
        first_seen: ts(r, "first_seen_ms")?,
        last_seen: ts(r, "last_seen_ms")?,
        created_at: ts(r, "created_at_ms")?,
    })
}

fn sighting_from(r: &AnyRow) -> R<FaceSighting> {
    Ok(FaceSighting {
        id: uuid_col(r, "id")?,
        face_id: uuid_col(r, "face_id")?,
        account_id: account_col(r, "account_id")?,
        event_id: uuid_col(r, "event_id")?,
        uid: r.try_get("uid")?,
        seen_at: ts(r, "seen_at_ms")?,
    })
}

async fn insert_sighting(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    s: &FaceSighting,
    crop_enc: &[u8],
) -> R<()> {
    sqlx::query(
        "INSERT INTO face_sightings (id, face_id, account_id, event_id, uid, seen_at_ms, \
         crop_enc) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(s.id.to_string())
    .bind(s.face_id.to_string())
    .bind(s.account_id.to_string())
    .bind(s.event_id.to_string())
    .bind(&s.uid)
    .bind(s.seen_at.0)
    .bind(crop_enc)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl FaceStore for SqlStore {
    async fn faces_of(&self, account: AccountId) -> R<Vec<FaceRow>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            face_columns!(),
            " FROM faces f WHERE f.account_id = $1 ORDER BY f.last_seen_ms DESC, f.id DESC"
        ))
        .bind(account.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(face_from).collect()
    }

    async fn face(&self, account: AccountId, id: uuid::Uuid) -> R<Option<FaceRow>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            face_columns!(),
            " FROM faces f WHERE f.id = $1 AND f.account_id = $2"
        ))
        .bind(id.to_string())
        .bind(account.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(face_from).transpose()
    }

    async fn insert_face(
        &self,
        f: &FaceRow,
        first: &FaceSighting,
        crop_enc: &[u8],
        cap: u32,
    ) -> R<bool> {
        let mut tx = write_tx(&self.pool).await?;
        // The account's row serialises its face inserts, so the cap holds on PostgreSQL too.
        let lock =
            format!("SELECT id FROM accounts WHERE id = $1{}", Engine::of_tx(&tx).for_update());
        sqlx::query(sqlx::AssertSqlSafe(lock))
            .bind(f.account_id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM faces WHERE account_id = $1")
            .bind(f.account_id.to_string())
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
        if n >= i64::from(cap) {
            return Ok(false);
        }
        sqlx::query(concat!(
            "INSERT INTO faces (id, account_id, template_enc, name_enc, relation, ",
            "first_seen_ms, last_seen_ms, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(f.id.to_string())
        .bind(f.account_id.to_string())
        .bind(&f.template_enc)
        .bind(f.name_enc.as_deref())
        .bind(f.relation.as_deref())
        .bind(f.first_seen.0)
        .bind(f.last_seen.0)
        .bind(f.created_at.0)
        .execute(&mut *tx)
        .await?;
        insert_sighting(&mut tx, first, crop_enc).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn add_face_sighting(&self, s: &FaceSighting, crop_enc: &[u8]) -> R<bool> {
        let mut tx = write_tx(&self.pool).await?;
        let moved = sqlx::query(
            "UPDATE faces SET last_seen_ms = CASE WHEN last_seen_ms < $1 THEN $1 \
             ELSE last_seen_ms END WHERE id = $2 AND account_id = $3",
        )
        .bind(s.seen_at.0)
        .bind(s.face_id.to_string())
        .bind(s.account_id.to_string())
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() != 1 {
            return Ok(false);
        }
        insert_sighting(&mut tx, s, crop_enc).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn name_face(
        &self,
        account: AccountId,
        id: uuid::Uuid,
        name_enc: Option<&[u8]>,
        relation: Option<&str>,
    ) -> R<bool> {
        let done = sqlx::query(
            "UPDATE faces SET name_enc = $1, relation = $2 WHERE id = $3 AND account_id = $4",
        )
        .bind(name_enc)
        .bind(relation)
        .bind(id.to_string())
        .bind(account.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn delete_face(&self, account: AccountId, id: uuid::Uuid) -> R<bool> {
        let gone = sqlx::query("DELETE FROM faces WHERE id = $1 AND account_id = $2")
            .bind(id.to_string())
            .bind(account.to_string())
            .execute(&self.pool)
            .await?;
        Ok(gone.rows_affected() == 1)
    }

    async fn delete_faces_of(&self, account: AccountId) -> R<u64> {
        let gone = sqlx::query("DELETE FROM faces WHERE account_id = $1")
            .bind(account.to_string())
            .execute(&self.pool)
            .await?;
        Ok(gone.rows_affected())
    }

    async fn delete_unnamed_faces_before(&self, before: Timestamp) -> R<u64> {
        let gone = sqlx::query("DELETE FROM faces WHERE name_enc IS NULL AND last_seen_ms < $1")
            .bind(before.0)
            .execute(&self.pool)
            .await?;
        Ok(gone.rows_affected())
    }

    async fn face_sightings_since(
        &self,
        account: AccountId,
        since: Timestamp,
        limit: u32,
    ) -> R<Vec<FaceSighting>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            sighting_columns!(),
            " FROM face_sightings s WHERE s.account_id = $1 AND s.seen_at_ms >= $2 ",
            "ORDER BY s.seen_at_ms DESC, s.id DESC LIMIT $3"
        ))
        .bind(account.to_string())
        .bind(since.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(sighting_from).collect()
    }

    async fn face_sighting(
        &self,
        account: AccountId,
        sighting: uuid::Uuid,
    ) -> R<Option<(FaceSighting, Vec<u8>)>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            sighting_columns!(),
            ", s.crop_enc FROM face_sightings s WHERE s.id = $1 AND s.account_id = $2"
        ))
        .bind(sighting.to_string())
        .bind(account.to_string())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(Some((sighting_from(&r)?, r.try_get("crop_enc")?))),
            None => Ok(None),
        }
    }

    async fn latest_face_crop(
        &self,
        account: AccountId,
        face: uuid::Uuid,
    ) -> R<Option<(FaceSighting, Vec<u8>)>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            sighting_columns!(),
            ", s.crop_enc FROM face_sightings s WHERE s.face_id = $1 AND s.account_id = $2 ",
            "ORDER BY s.seen_at_ms DESC, s.id DESC LIMIT 1"
        ))
        .bind(face.to_string())
        .bind(account.to_string())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(Some((sighting_from(&r)?, r.try_get("crop_enc")?))),
            None => Ok(None),
        }
    }

    async fn face_of_event(&self, account: AccountId, event: uuid::Uuid) -> R<Option<FaceRow>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            face_columns!(),
            " FROM face_sightings s JOIN faces f ON f.id = s.face_id ",
            "WHERE s.event_id = $1 AND s.account_id = $2 ORDER BY s.seen_at_ms DESC, s.id DESC ",
            "LIMIT 1"
        ))
        .bind(event.to_string())
        .bind(account.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(face_from).transpose()
    }
}
