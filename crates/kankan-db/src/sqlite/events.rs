//! Event rows, always selected by account.

use kankan_base::{AccountId, Timestamp};
use sqlx::Row;
use sqlx::sqlite::{SqlitePool, SqliteRow};

use super::media::account_col;
use super::{R, ts, uuid_col};
use crate::{DbError, Event, EventKind};

/// The columns of a row, in `event_from`'s order.
macro_rules! columns {
    () => {
        "id, account_id, uid, kind, started_at_ms, ended_at_ms, zone, read_at_ms, created_at_ms"
    };
}

fn event_from(r: &SqliteRow) -> R<Event> {
    let kind: String = r.try_get("kind")?;
    let opt_ts = |col: &str| -> R<Option<Timestamp>> {
        Ok(r.try_get::<Option<i64>, _>(col)?.map(Timestamp))
    };
    let zone: Option<i64> = r.try_get("zone")?;
    Ok(Event {
        id: uuid_col(r, "id")?,
        account_id: account_col(r, "account_id")?,
        uid: r.try_get("uid")?,
        kind: EventKind::parse(&kind).ok_or_else(|| DbError::Corrupt(format!("kind {kind:?}")))?,
        started_at: ts(r, "started_at_ms")?,
        ended_at: opt_ts("ended_at_ms")?,
        zone: zone.and_then(|z| u8::try_from(z).ok()),
        read_at: opt_ts("read_at_ms")?,
        created_at: ts(r, "created_at_ms")?,
    })
}

/// Inserts the event, or completes the row with the same device, kind and start (its end
/// arriving, or the same message twice).
pub(super) async fn record(pool: &SqlitePool, e: &Event) -> R<()> {
    sqlx::query(concat!(
        "INSERT INTO events (",
        columns!(),
        ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uid, kind, started_at_ms) DO UPDATE \
         SET ended_at_ms = COALESCE(excluded.ended_at_ms, events.ended_at_ms), \
         zone = COALESCE(events.zone, excluded.zone)"
    ))
    .bind(e.id.to_string())
    .bind(e.account_id.to_string())
    .bind(&e.uid)
    .bind(e.kind.as_str())
    .bind(e.started_at.0)
    .bind(e.ended_at.map(|t| t.0))
    .bind(e.zone.map(i64::from))
    .bind(e.read_at.map(|t| t.0))
    .bind(e.created_at.0)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn of_account(
    pool: &SqlitePool,
    account: AccountId,
    uid: Option<&str>,
    before: Timestamp,
    limit: u32,
) -> R<Vec<Event>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM events WHERE account_id = ? AND (? IS NULL OR uid = ?) AND started_at_ms < ? \
         ORDER BY started_at_ms DESC, id DESC LIMIT ?"
    ))
    .bind(account.to_string())
    .bind(uid)
    .bind(uid)
    .bind(before.0)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(event_from).collect()
}

pub(super) async fn mark_read(
    pool: &SqlitePool,
    account: AccountId,
    id: uuid::Uuid,
    at: Timestamp,
) -> R<bool> {
    let r = sqlx::query(
        "UPDATE events SET read_at_ms = COALESCE(read_at_ms, ?) WHERE id = ? AND account_id = ?",
    )
    .bind(at.0)
    .bind(id.to_string())
    .bind(account.to_string())
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub(super) async fn delete(pool: &SqlitePool, account: AccountId, id: uuid::Uuid) -> R<bool> {
    let r = sqlx::query("DELETE FROM events WHERE id = ? AND account_id = ?")
        .bind(id.to_string())
        .bind(account.to_string())
        .execute(pool)
        .await?;
    Ok(r.rows_affected() == 1)
}

pub(super) async fn expire(pool: &SqlitePool, cutoff: Timestamp) -> R<u64> {
    let r = sqlx::query("DELETE FROM events WHERE started_at_ms < ?")
        .bind(cutoff.0)
        .execute(pool)
        .await?;
    Ok(r.rows_affected())
}
