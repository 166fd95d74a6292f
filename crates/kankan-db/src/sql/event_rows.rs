//! Reading an event row (the columns `events.rs` and `event_members.rs` select, in this order:
//! id, account_id, uid, kind, started_at_ms, ended_at_ms, zone, read_at_ms, created_at_ms,
//! clip_from_ms, clip_to_ms, level_db, the detection's columns, thumbnail).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::columns::account_col;
use super::{R, flag, opt_ts, ts, uuid_col};
use crate::{DbError, Event, EventKind, RelBox, Sighting, Verdict};

pub(super) fn event_from(r: &AnyRow) -> R<Event> {
    let kind: String = r.try_get("kind")?;
    let zone: Option<i64> = r.try_get("zone")?;
    let level_db: Option<i64> = r.try_get("level_db")?;
    Ok(Event {
        id: uuid_col(r, "id")?,
        account_id: account_col(r, "account_id")?,
        uid: r.try_get("uid")?,
        kind: EventKind::parse(&kind).ok_or_else(|| DbError::Corrupt(format!("kind {kind:?}")))?,
        started_at: ts(r, "started_at_ms")?,
        ended_at: opt_ts(r, "ended_at_ms")?,
        zone: zone.and_then(|z| u8::try_from(z).ok()),
        read_at: opt_ts(r, "read_at_ms")?,
        created_at: ts(r, "created_at_ms")?,
        clip_from: ts(r, "clip_from_ms")?,
        clip_to: ts(r, "clip_to_ms")?,
        level_db: level_db.and_then(|l| i16::try_from(l).ok()),
        thumbnail: flag(r, "thumbnail")?,
        verdict: match r.try_get::<Option<String>, _>("verdict")? {
            None => None,
            Some(v) => {
                Some(Verdict::parse(&v).ok_or_else(|| DbError::Corrupt(format!("verdict {v:?}")))?)
            }
        },
        hold_alert: r.try_get::<i64, _>("hold_alert")? != 0,
        sighting: sighting(r)?,
    })
}

/// The label, score and box, when a label is stored.
fn sighting(r: &AnyRow) -> R<Option<Sighting>> {
    let Some(label) = r.try_get::<Option<String>, _>("label")? else { return Ok(None) };
    let f = |col: &str| -> R<f32> {
        let v: Option<i64> = r.try_get(col)?;
        Ok(v.unwrap_or(0) as f32 / 10_000.0)
    };
    Ok(Some(Sighting {
        label,
        score: f("score_e4")?,
        bbox: RelBox { x: f("box_x_e4")?, y: f("box_y_e4")?, w: f("box_w_e4")?, h: f("box_h_e4")? },
    }))
}
