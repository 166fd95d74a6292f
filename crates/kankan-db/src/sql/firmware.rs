//! Firmware images, rollouts and each device's updates. Every statement uses numbered
//! placeholders and portable SQL only.

use async_trait::async_trait;
use kankan_base::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::columns::{blob_col, i64_of, u64_of};
use super::{R, SqlStore, flag, ts, uuid_col, write_tx};
use crate::{
    DbError, FIRMWARE_ACTIVE_PHASES, FirmwareCandidate, FirmwareImage, FirmwareRollout,
    FirmwareStore, FirmwareUpdateRow,
};

const IMAGE_COLS: &str = "id, model, version, size, sha256, signature, blob_id, created_at_ms";
const UPDATE_COLS: &str = "uid, image_id, rollout_id, from_version, phase, percent, error, \
     command_id, offered_at_ms, updated_at_ms";

fn image_of(r: &AnyRow) -> R<FirmwareImage> {
    Ok(FirmwareImage {
        id: uuid_col(r, "id")?,
        model: r.try_get("model")?,
        version: r.try_get("version")?,
        size: u64_of(r, "size")?,
        sha256: r.try_get("sha256")?,
        signature: r.try_get("signature")?,
        blob_id: blob_col(r, "blob_id")?,
        created_at: ts(r, "created_at_ms")?,
    })
}

fn opt_uuid(r: &AnyRow, col: &str) -> R<Option<uuid::Uuid>> {
    r.try_get::<Option<String>, _>(col)?
        .map(|s| uuid::Uuid::parse_str(&s).map_err(|e| DbError::Corrupt(format!("{col}: {e}"))))
        .transpose()
}

fn update_of(r: &AnyRow) -> R<FirmwareUpdateRow> {
    Ok(FirmwareUpdateRow {
        uid: r.try_get("uid")?,
        image_id: uuid_col(r, "image_id")?,
        rollout_id: opt_uuid(r, "rollout_id")?,
        from_version: r.try_get("from_version")?,
        phase: r.try_get("phase")?,
        percent: u8::try_from(r.try_get::<i64, _>("percent")?.clamp(0, 100)).unwrap_or(0),
        error: r.try_get("error")?,
        command_id: opt_uuid(r, "command_id")?,
        offered_at: ts(r, "offered_at_ms")?,
        updated_at: ts(r, "updated_at_ms")?,
    })
}

/// `'offered', 'downloading', ...` for an `IN (...)`: constants, never input.
fn active_list() -> String {
    FIRMWARE_ACTIVE_PHASES.iter().map(|p| format!("'{p}'")).collect::<Vec<_>>().join(", ")
}

impl SqlStore {
    async fn cohort_of(&self, rollout: uuid::Uuid) -> R<Vec<String>> {
        let rows = sqlx::query(
            "SELECT uid FROM firmware_rollout_cohort WHERE rollout_id = $1 ORDER BY uid",
        )
        .bind(rollout.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get("uid")?)).collect()
    }

    async fn rollout_of(&self, r: &AnyRow) -> R<FirmwareRollout> {
        let id = uuid_col(r, "id")?;
        Ok(FirmwareRollout {
            id,
            image_id: uuid_col(r, "image_id")?,
            percent: u8::try_from(r.try_get::<i64, _>("percent")?.clamp(0, 100)).unwrap_or(0),
            cohort: self.cohort_of(id).await?,
            paused: flag(r, "paused")?,
            created_at: ts(r, "created_at_ms")?,
            updated_at: ts(r, "updated_at_ms")?,
        })
    }
}

#[async_trait]
impl FirmwareStore for SqlStore {
    async fn insert_firmware_image(&self, i: &FirmwareImage) -> R<()> {
        sqlx::query(
            "INSERT INTO firmware_images (id, model, version, size, sha256, signature, blob_id, \
             created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(i.id.to_string())
        .bind(&i.model)
        .bind(&i.version)
        .bind(i64_of(i.size))
        .bind(&i.sha256)
        .bind(&i.signature)
        .bind(i.blob_id.0.as_bytes().to_vec())
        .bind(i.created_at.0)
        .execute(&self.pool)
        .await
        .map_err(|e| DbError::conflict_on_unique(e, "firmware image"))?;
        Ok(())
    }

    async fn firmware_images(&self) -> R<Vec<FirmwareImage>> {
        let sql = format!(
            "SELECT {IMAGE_COLS} FROM firmware_images ORDER BY created_at_ms DESC, id DESC"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?;
        rows.iter().map(image_of).collect()
    }

    async fn firmware_image(&self, id: uuid::Uuid) -> R<Option<FirmwareImage>> {
        let sql = format!("SELECT {IMAGE_COLS} FROM firmware_images WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(image_of).transpose()
    }

    async fn insert_firmware_rollout(&self, ro: &FirmwareRollout) -> R<()> {
        let mut tx = write_tx(&self.pool).await?;
        let exists: Option<String> =
            sqlx::query_scalar("SELECT id FROM firmware_images WHERE id = $1")
                .bind(ro.image_id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Err(DbError::NotFound("firmware image"));
        }
        sqlx::query(
            "INSERT INTO firmware_rollouts (id, image_id, percent, paused, created_at_ms, \
             updated_at_ms) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(ro.id.to_string())
        .bind(ro.image_id.to_string())
        .bind(i64::from(ro.percent))
        .bind(i64::from(ro.paused))
        .bind(ro.created_at.0)
        .bind(ro.updated_at.0)
        .execute(&mut *tx)
        .await?;
        for uid in &ro.cohort {
            sqlx::query(
                "INSERT INTO firmware_rollout_cohort (rollout_id, uid) VALUES ($1, $2) \
                 ON CONFLICT (rollout_id, uid) DO NOTHING",
            )
            .bind(ro.id.to_string())
            .bind(uid)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn firmware_rollouts(&self) -> R<Vec<FirmwareRollout>> {
        let rows = sqlx::query(
            "SELECT id, image_id, percent, paused, created_at_ms, updated_at_ms \
             FROM firmware_rollouts ORDER BY created_at_ms DESC, id DESC",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.rollout_of(r).await?);
        }
        Ok(out)
    }

    async fn firmware_rollout(&self, id: uuid::Uuid) -> R<Option<FirmwareRollout>> {
        let row = sqlx::query(
            "SELECT id, image_id, percent, paused, created_at_ms, updated_at_ms \
             FROM firmware_rollouts WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(r) => Ok(Some(self.rollout_of(&r).await?)),
            None => Ok(None),
        }
    }

    async fn set_firmware_rollout_paused(
        &self,
        id: uuid::Uuid,
        paused: bool,
        at: Timestamp,
    ) -> R<bool> {
        let r = sqlx::query(
            "UPDATE firmware_rollouts SET paused = $1, updated_at_ms = $2 WHERE id = $3",
        )
        .bind(i64::from(paused))
        .bind(at.0)
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn put_firmware_device(
        &self,
        uid: &str,
        version: &str,
        auto_update: bool,
        at: Timestamp,
    ) -> R<()> {
        sqlx::query(
            "INSERT INTO firmware_devices (uid, version, auto_update, reported_at_ms) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (uid) DO UPDATE SET \
             version = excluded.version, auto_update = excluded.auto_update, \
             reported_at_ms = excluded.reported_at_ms",
        )
        .bind(uid)
        .bind(version)
        .bind(i64::from(auto_update))
        .bind(at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn firmware_device(&self, uid: &str) -> R<Option<(String, bool)>> {
        let row = sqlx::query("SELECT version, auto_update FROM firmware_devices WHERE uid = $1")
            .bind(uid)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get("version")?, flag(&r, "auto_update")?))).transpose()
    }

    async fn firmware_candidates(
        &self,
        model: &str,
        image_id: uuid::Uuid,
        after: &str,
        limit: u32,
    ) -> R<Vec<FirmwareCandidate>> {
        let sql = format!(
            "SELECT d.uid, f.version FROM devices d \
             JOIN device_state s ON s.uid = d.uid \
             JOIN firmware_devices f ON f.uid = d.uid \
             WHERE d.model = $1 AND d.owner_id IS NOT NULL AND s.online = 1 \
             AND f.auto_update = 1 AND d.uid > $2 \
             AND NOT EXISTS (SELECT 1 FROM firmware_updates u WHERE u.uid = d.uid \
                 AND (u.image_id = $3 OR u.phase IN ({}))) \
             ORDER BY d.uid LIMIT $4",
            active_list()
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(model)
            .bind(after)
            .bind(image_id.to_string())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(FirmwareCandidate { uid: r.try_get("uid")?, version: r.try_get("version")? })
            })
            .collect()
    }

    async fn put_firmware_update(&self, u: &FirmwareUpdateRow) -> R<()> {
        sqlx::query(
            "INSERT INTO firmware_updates (uid, image_id, rollout_id, from_version, phase, \
             percent, error, command_id, offered_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (uid, image_id) DO UPDATE SET rollout_id = excluded.rollout_id, \
             from_version = excluded.from_version, phase = excluded.phase, \
             percent = excluded.percent, error = excluded.error, \
             command_id = excluded.command_id, offered_at_ms = excluded.offered_at_ms, \
             updated_at_ms = excluded.updated_at_ms",
        )
        .bind(&u.uid)
        .bind(u.image_id.to_string())
        .bind(u.rollout_id.map(|r| r.to_string()))
        .bind(&u.from_version)
        .bind(&u.phase)
        .bind(i64::from(u.percent))
        .bind(u.error.as_deref())
        .bind(u.command_id.map(|c| c.to_string()))
        .bind(u.offered_at.0)
        .bind(u.updated_at.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn set_firmware_command(
        &self,
        uid: &str,
        image_id: uuid::Uuid,
        command: uuid::Uuid,
    ) -> R<()> {
        sqlx::query("UPDATE firmware_updates SET command_id = $1 WHERE uid = $2 AND image_id = $3")
            .bind(command.to_string())
            .bind(uid)
            .bind(image_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_firmware_progress(
        &self,
        uid: &str,
        image_id: uuid::Uuid,
        phase: &str,
        percent: u8,
        error: Option<&str>,
        at: Timestamp,
    ) -> R<bool> {
        let r = sqlx::query(
            "UPDATE firmware_updates SET phase = $1, percent = $2, error = $3, \
             updated_at_ms = $4 WHERE uid = $5 AND image_id = $6",
        )
        .bind(phase)
        .bind(i64::from(percent))
        .bind(error)
        .bind(at.0)
        .bind(uid)
        .bind(image_id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn replace_firmware_progress(
        &self,
        uid: &str,
        image_id: uuid::Uuid,
        was: (&str, Timestamp),
        phase: &str,
        percent: u8,
        error: Option<&str>,
        at: Timestamp,
    ) -> R<bool> {
        let r = sqlx::query(
            "UPDATE firmware_updates SET phase = $1, percent = $2, error = $3, \
             updated_at_ms = $4 WHERE uid = $5 AND image_id = $6 AND phase = $7 \
             AND updated_at_ms = $8",
        )
        .bind(phase)
        .bind(i64::from(percent))
        .bind(error)
        .bind(at.0)
        .bind(uid)
        .bind(image_id.to_string())
        .bind(was.0)
        .bind(was.1.0)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn firmware_updates_of(&self, uid: &str) -> R<Vec<FirmwareUpdateRow>> {
        let sql = format!(
            "SELECT {UPDATE_COLS} FROM firmware_updates WHERE uid = $1 \
             ORDER BY offered_at_ms DESC, image_id DESC"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(uid).fetch_all(&self.pool).await?;
        rows.iter().map(update_of).collect()
    }

    async fn firmware_rollout_updates(&self, rollout: uuid::Uuid) -> R<Vec<FirmwareUpdateRow>> {
        let sql = format!(
            "SELECT {UPDATE_COLS} FROM firmware_updates WHERE rollout_id = $1 ORDER BY uid"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(rollout.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(update_of).collect()
    }

    async fn firmware_updates_active(&self, limit: u32) -> R<Vec<FirmwareUpdateRow>> {
        let sql = format!(
            "SELECT {UPDATE_COLS} FROM firmware_updates WHERE phase IN ({}) \
             ORDER BY offered_at_ms, uid LIMIT $1",
            active_list()
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(update_of).collect()
    }
}
