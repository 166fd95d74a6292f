//! Reading an event row (the columns `events.rs` and `event_members.rs` select, in this order:
//! id, account_id, uid, kind, started_at_ms, ended_at_ms, zone, read_at_ms, created_at_ms,
//! clip_from_ms, clip_to_ms, level_db, thumbnail).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::media::account_col;
use super::{R, flag, opt_ts, ts, uuid_col};
use crate::{DbError, Event, EventKind};

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
    })
}
