//! Members' share of events: a device's events seen by an account the owner granted
//! receive-alarms, with that account's own read state and deletion (`event_members`). The
//! event row stays the owner's; which devices an account may see is decided by the caller.

use kankan_base::{AccountId, Timestamp};
use sqlx::AnyPool;
use sqlx::Row;

use super::event_rows::event_from;
use super::{R, write_tx};
use crate::{Event, EventFilter, EventKind};

/// The columns of `event_from` for a viewer (`$1`): its own read state (the owner's on the
/// row, a member's in `event_members`).
const COLUMNS: &str = "events.id, events.account_id, events.uid, events.kind, \
     events.started_at_ms, events.ended_at_ms, events.zone, \
     CASE WHEN events.account_id = $1 THEN events.read_at_ms ELSE m.read_at_ms END \
     AS read_at_ms, events.created_at_ms, events.clip_from_ms, events.clip_to_ms, \
     events.verdict, events.hold_alert, events.label, events.score_e4, events.box_x_e4, \
     events.box_y_e4, events.box_w_e4, events.box_h_e4, \
     EXISTS (SELECT 1 FROM event_thumbnails t WHERE t.event_id = events.id) AS thumbnail";

/// The viewer's events and those of `shared` devices (uid, owner), newest first: none
/// tombstoned by the owner, none the viewer deleted as a member.
pub(super) async fn seen_by(
    pool: &AnyPool,
    viewer: AccountId,
    shared: &[(String, AccountId)],
    f: &EventFilter,
) -> R<Vec<Event>> {
    // Placeholders in the order they appear: $1 (columns), $2 (join), $3 (own), then two per
    // shared device, then the filter's.
    let mut n = 3;
    let mut who = String::from("events.account_id = $3");
    for _ in shared {
        who.push_str(&format!(" OR (events.uid = ${} AND events.account_id = ${})", n + 1, n + 2));
        n += 2;
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM events LEFT JOIN event_members m \
         ON m.event_id = events.id AND m.account_id = $2 \
         WHERE ({who}) AND events.deleted_at_ms IS NULL AND m.deleted_at_ms IS NULL \
         AND (${} IS NULL OR events.uid = ${}) AND (${} IS NULL OR events.kind = ${}) \
         AND events.started_at_ms < ${} AND events.started_at_ms >= ${} \
         AND (${} IS NULL OR events.label = ${}) \
         ORDER BY events.started_at_ms DESC, events.id DESC LIMIT ${}",
        n + 1,
        n + 2,
        n + 3,
        n + 4,
        n + 5,
        n + 6,
        n + 8,
        n + 9,
        n + 7
    );
    let me = viewer.to_string();
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(me.clone()).bind(me.clone()).bind(me);
    for (uid, owner) in shared {
        q = q.bind(uid.clone()).bind(owner.to_string());
    }
    let rows = q
        .bind(f.uid.clone())
        .bind(f.uid.clone())
        .bind(f.kind.map(EventKind::as_str))
        .bind(f.kind.map(EventKind::as_str))
        .bind(f.before.0)
        .bind(f.after.0)
        .bind(i64::from(f.limit))
        .bind(f.label.clone())
        .bind(f.label.clone())
        .fetch_all(pool)
        .await?;
    rows.iter().map(event_from).collect()
}

/// One event as the viewer sees it (whoever's it is: the caller decides whether the viewer
/// may): not tombstoned, not deleted by the viewer as a member.
pub(super) async fn one_seen_by(
    pool: &AnyPool,
    viewer: AccountId,
    id: uuid::Uuid,
) -> R<Option<Event>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events LEFT JOIN event_members m \
         ON m.event_id = events.id AND m.account_id = $2 \
         WHERE events.id = $3 AND events.deleted_at_ms IS NULL AND m.deleted_at_ms IS NULL"
    );
    let me = viewer.to_string();
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(me.clone())
        .bind(me)
        .bind(id.to_string())
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(event_from).transpose()
}

/// Sets a member's read or deleted time on an event that is not tombstoned (the first time
/// counts); false when there is no such event or the member already deleted it.
pub(super) async fn mark(
    pool: &AnyPool,
    member: AccountId,
    id: uuid::Uuid,
    at: Timestamp,
    delete: bool,
) -> R<bool> {
    let mut tx = write_tx(pool).await?;
    let visible = sqlx::query(
        "SELECT m.deleted_at_ms FROM events LEFT JOIN event_members m \
         ON m.event_id = events.id AND m.account_id = $1 \
         WHERE events.id = $2 AND events.deleted_at_ms IS NULL",
    )
    .bind(member.to_string())
    .bind(id.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    match visible {
        None => return Ok(false),
        Some(r) if r.try_get::<Option<i64>, _>("deleted_at_ms")?.is_some() => return Ok(false),
        Some(_) => {}
    }
    let (read, deleted) = if delete { (None, Some(at.0)) } else { (Some(at.0), None) };
    sqlx::query(
        "INSERT INTO event_members (event_id, account_id, read_at_ms, deleted_at_ms) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (event_id, account_id) DO UPDATE \
         SET read_at_ms = COALESCE(event_members.read_at_ms, excluded.read_at_ms), \
         deleted_at_ms = COALESCE(event_members.deleted_at_ms, excluded.deleted_at_ms)",
    )
    .bind(id.to_string())
    .bind(member.to_string())
    .bind(read)
    .bind(deleted)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Deletes what `member` kept of the device's alarms: its state on the device's events, its
/// delivery records of them and its notification settings for the device, in one transaction.
pub(super) async fn forget_member_in(
    conn: &mut sqlx::AnyConnection,
    uid: &str,
    member: AccountId,
) -> R<()> {
    for sql in [
        "DELETE FROM event_members WHERE account_id = $1 \
         AND event_id IN (SELECT id FROM events WHERE uid = $2)",
        "DELETE FROM notification_deliveries WHERE account_id = $1 \
         AND event_id IN (SELECT id FROM events WHERE uid = $2)",
        "DELETE FROM device_notification_settings WHERE account_id = $1 AND uid = $2",
    ] {
        sqlx::query(sql).bind(member.to_string()).bind(uid).execute(&mut *conn).await?;
    }
    Ok(())
}
