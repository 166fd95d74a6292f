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
    let mut out: std::collections::BTreeMap<String, Timestamp> = rows
        .iter()
        .map(|r| Ok((r.try_get("uid")?, Timestamp(r.try_get("recording_mode_since_ms")?))))
        .collect::<R<_>>()?;
    if mode == RecordingMode::Events {
        // A device whose limits cap it to events records events only from then on, whatever
        // its owner chose (unless card-only: then nothing is recorded at all).
        let capped = sqlx::query(
            "SELECT l.uid, l.since_ms FROM device_limits l JOIN devices d ON d.uid = l.uid \
             LEFT JOIN device_state s ON s.uid = l.uid WHERE l.kind = 'events' \
             AND d.owner_id IS NOT NULL \
             AND (s.recording_mode IS NULL OR s.recording_mode <> 'card-only')",
        )
        .fetch_all(pool)
        .await?;
        for r in &capped {
            let uid: String = r.try_get("uid")?;
            let since = Timestamp(r.try_get("since_ms")?);
            let e = out.entry(uid).or_insert(since);
            *e = Timestamp(e.0.min(since.0));
        }
    }
    Ok(out.into_iter().collect())
}

/// The mode the device's owner chose and the one its own limits cap it to, each `None` without
/// its row; one query, as the ingest asks at every keyframe.
pub(super) async fn mode_and_cap(
    pool: &AnyPool,
    uid: &str,
) -> R<(Option<RecordingMode>, Option<RecordingMode>)> {
    let row = sqlx::query(
        "SELECT (SELECT recording_mode FROM device_state WHERE uid = $1) AS recording_mode, \
         (SELECT kind FROM device_limits WHERE uid = $2) AS kind",
    )
    .bind(uid)
    .bind(uid)
    .fetch_one(pool)
    .await?;
    let mode = |col: &str| -> R<Option<RecordingMode>> {
        row.try_get::<Option<String>, _>(col)?.map(|s| parse_mode(col, &s)).transpose()
    };
    Ok((mode("recording_mode")?, mode("kind")?))
}

/// The stored mode of a `device_state` row.
pub(super) fn mode_col(row: &sqlx::any::AnyRow) -> R<RecordingMode> {
    mode_col_named(row, "recording_mode")
}

/// A recording mode stored in column `col`.
pub(super) fn mode_col_named(row: &sqlx::any::AnyRow, col: &str) -> R<RecordingMode> {
    parse_mode(col, &row.try_get::<String, _>(col)?)
}

/// Mode `s` read from column `col`; a value no mode has is a corrupt row.
fn parse_mode(col: &str, s: &str) -> R<RecordingMode> {
    RecordingMode::parse(s).ok_or_else(|| DbError::Corrupt(format!("{col} {s}")))
}
