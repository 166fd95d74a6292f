//! Recording modes as `device_state` stores them: which devices record how (the deletions
//! they lead to are `media`'s).

use kankan_base::Timestamp;
use sqlx::{AnyPool, Row};

use super::R;
use crate::{DbError, RecordingMode};

pub(super) async fn devices_recording(
    pool: &AnyPool,
    mode: RecordingMode,
) -> R<Vec<(String, Timestamp)>> {
    let rows = sqlx::query(
        "SELECT s.uid, s.recording_mode_since_ms FROM device_state s \
         JOIN devices d ON d.uid = s.uid WHERE s.recording_mode = $1 \
         AND d.owner_id IS NOT NULL ORDER BY s.uid",
    )
    .bind(mode.as_str())
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("uid")?, Timestamp(r.try_get("recording_mode_since_ms")?))))
        .collect()
}

/// The stored mode of a `device_state` row.
pub(super) fn mode_col(row: &sqlx::any::AnyRow) -> R<RecordingMode> {
    let s: String = row.try_get("recording_mode")?;
    RecordingMode::parse(&s).ok_or_else(|| DbError::Corrupt(format!("recording_mode {s}")))
}
