//! Event rows, always selected by account; a deleted event stays as a tombstone (listed
//! nowhere) until it expires, so a late end cannot bring it back.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};
use sqlx::AnyPool;
use sqlx::Row;

use super::event_rows::event_from;
use super::{R, SqlStore, write_tx};
use crate::{Event, EventFilter, EventKind, EventStore, Recorded, Sighting, Verdict};

/// The columns of a row, in `event_from`'s order, with whether it has a thumbnail.
macro_rules! columns {
    () => {
        "id, account_id, uid, kind, started_at_ms, ended_at_ms, zone, read_at_ms, created_at_ms, \
         clip_from_ms, clip_to_ms, level_db, verdict, hold_alert, label, score_e4, box_x_e4, box_y_e4, box_w_e4, box_h_e4, \
         EXISTS (SELECT 1 FROM event_thumbnails t WHERE t.event_id = events.id) AS thumbnail"
    };
}

/// Inserts the event, or completes the account's row with the same device, kind and start
/// (its end arriving, or the same message twice) unless the user deleted it. Rows are keyed by
/// the account as well as the device, and a row is written only while the account owns the
/// device (checked in the same statement): an event racing an unbinding is not stored for the
/// previous owner, and never touches another account's row.
pub(super) async fn record(pool: &AnyPool, e: &Event) -> R<Recorded> {
    let row = sqlx::query(concat!(
        "INSERT INTO events (id, account_id, uid, kind, started_at_ms, ended_at_ms, zone, \
         read_at_ms, created_at_ms, clip_from_ms, clip_to_ms, level_db, verdict, hold_alert) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $14, $15, $16 \
         WHERE EXISTS (SELECT 1 FROM devices d WHERE d.uid = $12 AND d.owner_id = $13) \
         ON CONFLICT (account_id, uid, kind, started_at_ms) DO UPDATE \
         SET ended_at_ms = COALESCE(excluded.ended_at_ms, events.ended_at_ms), \
         zone = COALESCE(events.zone, excluded.zone), \
         level_db = COALESCE(excluded.level_db, events.level_db), \
         clip_from_ms = CASE WHEN excluded.clip_from_ms < events.clip_from_ms \
             THEN excluded.clip_from_ms ELSE events.clip_from_ms END, \
         clip_to_ms = CASE WHEN excluded.clip_to_ms > events.clip_to_ms \
             THEN excluded.clip_to_ms ELSE events.clip_to_ms END \
         WHERE events.deleted_at_ms IS NULL RETURNING ",
        columns!()
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
    .bind(e.clip_from.0)
    .bind(e.clip_to.0)
    .bind(&e.uid)
    .bind(e.account_id.to_string())
    .bind(e.level_db.map(i64::from))
    .bind(e.verdict.map(Verdict::as_str))
    .bind(i64::from(e.hold_alert))
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        None => Recorded::Deleted,
        Some(r) => {
            let stored = event_from(&r)?;
            if stored.id == e.id { Recorded::New(stored) } else { Recorded::Updated(stored) }
        }
    })
}

pub(super) async fn of_account(
    pool: &AnyPool,
    account: AccountId,
    f: &EventFilter,
) -> R<Vec<Event>> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM events WHERE account_id = $1 AND deleted_at_ms IS NULL \
         AND ($2 IS NULL OR uid = $3) AND ($4 IS NULL OR kind = $5) \
         AND started_at_ms < $6 AND started_at_ms >= $7 AND ($9 IS NULL OR label = $10) \
         ORDER BY started_at_ms DESC, id DESC LIMIT $8"
    ))
    .bind(account.to_string())
    .bind(f.uid.as_deref())
    .bind(f.uid.as_deref())
    .bind(f.kind.map(EventKind::as_str))
    .bind(f.kind.map(EventKind::as_str))
    .bind(f.before.0)
    .bind(f.after.0)
    .bind(i64::from(f.limit))
    .bind(f.label.as_deref())
    .bind(f.label.as_deref())
    .fetch_all(pool)
    .await?;
    rows.iter().map(event_from).collect()
}

pub(super) async fn one(pool: &AnyPool, account: AccountId, id: uuid::Uuid) -> R<Option<Event>> {
    let row = sqlx::query(concat!(
        "SELECT ",
        columns!(),
        " FROM events WHERE id = $1 AND account_id = $2 AND deleted_at_ms IS NULL"
    ))
    .bind(id.to_string())
    .bind(account.to_string())
    .fetch_optional(pool)
    .await?;
    row.as_ref().map(event_from).transpose()
}

pub(super) async fn mark_read(
    pool: &AnyPool,
    account: AccountId,
    id: uuid::Uuid,
    at: Timestamp,
) -> R<bool> {
    let r = sqlx::query(
        "UPDATE events SET read_at_ms = COALESCE(read_at_ms, $1) \
         WHERE id = $2 AND account_id = $3 AND deleted_at_ms IS NULL",
    )
    .bind(at.0)
    .bind(id.to_string())
    .bind(account.to_string())
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Leaves a tombstone and deletes the thumbnail and description, in one transaction.
pub(super) async fn delete(
    pool: &AnyPool,
    account: AccountId,
    id: uuid::Uuid,
    at: Timestamp,
) -> R<bool> {
    let mut tx = write_tx(pool).await?;
    let clip = sqlx::query(
        "SELECT uid, clip_from_ms, clip_to_ms FROM events \
         WHERE id = $1 AND account_id = $2 AND deleted_at_ms IS NULL",
    )
    .bind(id.to_string())
    .bind(account.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(clip) = clip else { return Ok(false) };
    let r = sqlx::query(
        "UPDATE events SET deleted_at_ms = $1, read_at_ms = NULL, zone = NULL \
         WHERE id = $2 AND account_id = $3 AND deleted_at_ms IS NULL",
    )
    .bind(at.0)
    .bind(id.to_string())
    .bind(account.to_string())
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() != 1 {
        return Ok(false);
    }
    for sql in [
        "DELETE FROM event_thumbnails WHERE event_id = $1",
        "DELETE FROM event_descriptions WHERE event_id = $1",
        // The faces seen in it keep their templates, not this sighting and its picture.
        "DELETE FROM face_sightings WHERE event_id = $1",
    ] {
        sqlx::query(sql).bind(id.to_string()).execute(&mut *tx).await?;
    }
    // The footage under it is protected only as long as another event still needs it.
    let (uid, from, to): (String, i64, i64) =
        (clip.try_get("uid")?, clip.try_get("clip_from_ms")?, clip.try_get("clip_to_ms")?);
    sqlx::query(
        "UPDATE media_segments SET protected_until_ms = ( \
             SELECT MAX(e.started_at_ms + $1) FROM events e WHERE e.uid = media_segments.uid \
             AND e.deleted_at_ms IS NULL AND e.clip_from_ms < media_segments.start_ms + \
             media_segments.duration_ms AND e.clip_to_ms > media_segments.start_ms) \
         WHERE uid = $2 AND start_ms >= $3 AND start_ms < $4 AND start_ms + duration_ms > $5",
    )
    .bind(crate::EVENT_RETENTION_MS)
    .bind(&uid)
    .bind(from - super::media::MAX_SEGMENT_MS)
    .bind(to)
    .bind(from)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Deletes every event of the device, tombstones included, with their thumbnails, delivery
/// records and members' state (inside the unbind transaction): nothing of them is left for the next owner.
pub(super) async fn forget_device(tx: &mut sqlx::AnyConnection, uid: &str) -> R<()> {
    for sql in [
        "DELETE FROM notification_deliveries WHERE event_id IN (SELECT id FROM events WHERE uid = $1)",
        "DELETE FROM event_thumbnails WHERE event_id IN (SELECT id FROM events WHERE uid = $1)",
        "DELETE FROM event_descriptions WHERE event_id IN (SELECT id FROM events WHERE uid = $1)",
        "DELETE FROM event_members WHERE event_id IN (SELECT id FROM events WHERE uid = $1)",
        "DELETE FROM events WHERE uid = $1",
    ] {
        sqlx::query(sql).bind(uid).execute(&mut *tx).await?;
    }
    Ok(())
}

/// Deletes the events that started before `cutoff`; their thumbnails and descriptions go with
/// them (`ON DELETE CASCADE`).
pub(super) async fn expire(pool: &AnyPool, cutoff: Timestamp) -> R<u64> {
    let r = sqlx::query("DELETE FROM events WHERE started_at_ms < $1")
        .bind(cutoff.0)
        .execute(pool)
        .await?;
    Ok(r.rows_affected())
}

/// Ten-thousandths of a fraction (0..1, clamped).
fn e4(v: f32) -> i64 {
    (f64::from(v.clamp(0.0, 1.0)) * 10_000.0).round() as i64
}

/// Sets the event's verdict, with the sighting and a new thumbnail (replacing the one
/// stored) when given, in one transaction; false if the event is gone or deleted.
pub(super) async fn set_verdict(
    pool: &AnyPool,
    id: uuid::Uuid,
    verdict: Verdict,
    seen: Option<&Sighting>,
    jpeg_enc: Option<&[u8]>,
    at: Timestamp,
) -> R<bool> {
    let mut tx = write_tx(pool).await?;
    let b = seen.map(|s| s.bbox);
    let r = sqlx::query(
        "UPDATE events SET verdict = $1, label = COALESCE($2, label), \
         score_e4 = COALESCE($3, score_e4), box_x_e4 = COALESCE($4, box_x_e4), \
         box_y_e4 = COALESCE($5, box_y_e4), box_w_e4 = COALESCE($6, box_w_e4), \
         box_h_e4 = COALESCE($7, box_h_e4) WHERE id = $8 AND deleted_at_ms IS NULL",
    )
    .bind(verdict.as_str())
    .bind(seen.map(|s| s.label.clone()))
    .bind(seen.map(|s| e4(s.score)))
    .bind(b.map(|b| e4(b.x)))
    .bind(b.map(|b| e4(b.y)))
    .bind(b.map(|b| e4(b.w)))
    .bind(b.map(|b| e4(b.h)))
    .bind(id.to_string())
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() != 1 {
        return Ok(false);
    }
    if let Some(jpeg) = jpeg_enc {
        sqlx::query(
            "INSERT INTO event_thumbnails (event_id, jpeg_enc, created_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (event_id) DO UPDATE SET jpeg_enc = excluded.jpeg_enc, \
             created_at_ms = excluded.created_at_ms",
        )
        .bind(id.to_string())
        .bind(jpeg)
        .bind(at.0)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Stores the thumbnail of an event that still exists (not deleted); false otherwise.
pub(super) async fn put_thumbnail(
    pool: &AnyPool,
    id: uuid::Uuid,
    jpeg_enc: &[u8],
    at: Timestamp,
) -> R<bool> {
    let r = sqlx::query(
        "INSERT INTO event_thumbnails (event_id, jpeg_enc, created_at_ms) \
         SELECT id, $1, $2 FROM events WHERE id = $3 AND deleted_at_ms IS NULL \
         ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(jpeg_enc)
    .bind(at.0)
    .bind(id.to_string())
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub(super) async fn thumbnail(
    pool: &AnyPool,
    account: AccountId,
    id: uuid::Uuid,
) -> R<Option<Vec<u8>>> {
    let row = sqlx::query(
        "SELECT t.jpeg_enc FROM event_thumbnails t JOIN events e ON e.id = t.event_id \
         WHERE t.event_id = $1 AND e.account_id = $2 AND e.deleted_at_ms IS NULL",
    )
    .bind(id.to_string())
    .bind(account.to_string())
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| r.try_get::<Vec<u8>, _>("jpeg_enc")).transpose()?)
}

#[async_trait]
impl EventStore for SqlStore {
    async fn record_event(&self, event: &Event) -> R<Recorded> {
        record(&self.pool, event).await
    }
    async fn events(&self, account: AccountId, filter: &EventFilter) -> R<Vec<Event>> {
        of_account(&self.pool, account, filter).await
    }
    async fn event(&self, account: AccountId, id: uuid::Uuid) -> R<Option<Event>> {
        one(&self.pool, account, id).await
    }
    async fn mark_event_read(&self, account: AccountId, id: uuid::Uuid, at: Timestamp) -> R<bool> {
        mark_read(&self.pool, account, id, at).await
    }
    async fn delete_event(&self, account: AccountId, id: uuid::Uuid, at: Timestamp) -> R<bool> {
        delete(&self.pool, account, id, at).await
    }
    async fn expire_events(&self, cutoff: Timestamp) -> R<u64> {
        expire(&self.pool, cutoff).await
    }

    // Thumbnails.
    async fn put_event_thumbnail(&self, id: uuid::Uuid, jpeg_enc: &[u8], at: Timestamp) -> R<bool> {
        put_thumbnail(&self.pool, id, jpeg_enc, at).await
    }
    async fn event_thumbnail(&self, account: AccountId, id: uuid::Uuid) -> R<Option<Vec<u8>>> {
        thumbnail(&self.pool, account, id).await
    }
    async fn set_event_verdict(
        &self,
        id: uuid::Uuid,
        verdict: Verdict,
        seen: Option<&Sighting>,
        jpeg_enc: Option<&[u8]>,
        at: Timestamp,
    ) -> R<bool> {
        set_verdict(&self.pool, id, verdict, seen, jpeg_enc, at).await
    }

    // Members.
    async fn events_seen_by(
        &self,
        viewer: AccountId,
        shared: &[(String, AccountId)],
        filter: &EventFilter,
    ) -> R<Vec<Event>> {
        super::event_members::seen_by(&self.pool, viewer, shared, filter).await
    }
    async fn event_seen_by(&self, viewer: AccountId, id: uuid::Uuid) -> R<Option<Event>> {
        super::event_members::one_seen_by(&self.pool, viewer, id).await
    }
    async fn mark_event_read_as_member(
        &self,
        member: AccountId,
        id: uuid::Uuid,
        at: Timestamp,
    ) -> R<bool> {
        super::event_members::mark(&self.pool, member, id, at, false).await
    }
    async fn delete_event_as_member(
        &self,
        member: AccountId,
        id: uuid::Uuid,
        at: Timestamp,
    ) -> R<bool> {
        super::event_members::mark(&self.pool, member, id, at, true).await
    }
}
