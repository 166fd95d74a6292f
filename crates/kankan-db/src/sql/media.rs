//! The recording index: media keys, inits, segments, timeline spans, storage use, blob trash.

use std::collections::BTreeMap;

use async_trait::async_trait;
use kankan_base::{AccountId, BlobId, Timestamp};
use sqlx::AnyPool;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::columns::{account_col, blob_col, i64_of, u64_of};
use super::media_inits::{media_init, media_init_by_digest, put_media_init};
use super::{Engine, R, SqlStore, opt_ts, ts, write_tx};
use crate::{
    DbError, DeviceAccess, DeviceLimits, DeviceOverQuota, MediaInit, MediaKey, MediaStore,
    MediaUsage, NewSegment, RecordingMode, Removed, SPAN_JOIN_MS, Segment, Span,
};

type Tx<'a> = Transaction<'a, Any>;

pub(super) async fn media_key(pool: &AnyPool, uid: &str) -> R<Option<MediaKey>> {
    let row = sqlx::query(
        "SELECT uid, account_id, key_enc, created_at_ms FROM media_keys WHERE uid = $1",
    )
    .bind(uid)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(MediaKey {
            uid: r.try_get("uid")?,
            account_id: account_col(&r, "account_id")?,
            key_enc: r.try_get("key_enc")?,
            created_at: ts(&r, "created_at_ms")?,
        })
    })
    .transpose()
}

pub(super) async fn put_media_key(pool: &AnyPool, k: &MediaKey) -> R<MediaKey> {
    sqlx::query(
        "INSERT INTO media_keys (uid, account_id, key_enc, created_at_ms) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (uid) DO NOTHING",
    )
    .bind(&k.uid)
    .bind(k.account_id.to_string())
    .bind(&k.key_enc)
    .bind(k.created_at.0)
    .execute(pool)
    .await?;
    media_key(pool, &k.uid).await?.ok_or(DbError::NotFound("media key"))
}

const SEG_COLS: &str = "SELECT id, uid, stream, init_id, start_ms, duration_ms, bytes, frames, \
    blob_id, protected_until_ms FROM media_segments";

fn segment_from(r: &AnyRow) -> R<Segment> {
    Ok(Segment {
        id: r.try_get("id")?,
        uid: r.try_get("uid")?,
        stream: u8::try_from(r.try_get::<i64, _>("stream")?).unwrap_or(0),
        init_id: r.try_get("init_id")?,
        start: ts(r, "start_ms")?,
        duration_ms: u32::try_from(r.try_get::<i64, _>("duration_ms")?).unwrap_or(0),
        bytes: u64_of(r, "bytes")?,
        frames: u32::try_from(r.try_get::<i64, _>("frames")?).unwrap_or(0),
        blob: blob_col(r, "blob_id")?,
        protected_until: opt_ts(r, "protected_until_ms")?,
    })
}

pub(super) async fn insert_segment(pool: &AnyPool, s: &NewSegment) -> R<Option<i64>> {
    let mut tx = write_tx(pool).await?;
    let id = insert_in(&mut tx, s).await?;
    if id.is_some() {
        tx.commit().await?;
    }
    Ok(id)
}

pub(super) async fn replace_segment(
    pool: &AnyPool,
    old: i64,
    s: &NewSegment,
    now: Timestamp,
) -> R<Option<i64>> {
    let mut tx = write_tx(pool).await?;
    lock_device(&mut tx, &s.uid).await?;
    let removed =
        remove(&mut tx, Pick::One { id: old, uid: &s.uid, stream: s.stream }, now).await?;
    if removed.segments == 0 {
        return Err(DbError::NotFound("segment"));
    }
    let id = insert_in(&mut tx, s).await?;
    if id.is_some() {
        tx.commit().await?;
    }
    Ok(id)
}

/// Inserts the segment row, joins its span and counts its bytes, inside `tx`.
async fn insert_in(tx: &mut Tx<'_>, s: &NewSegment) -> R<Option<i64>> {
    let account = lock_device(tx, &s.uid).await?.ok_or(DbError::NotFound("media key"))?;
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO media_segments (uid, stream, init_id, start_ms, duration_ms, bytes, frames, \
         blob_id, protected_until_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, ( \
             SELECT MAX(e.started_at_ms + $9) FROM events e WHERE e.uid = $10 \
             AND e.kind IN ('motion', 'press', 'loiter', 'tamper', 'sound') \
             AND e.started_at_ms > $11 AND e.deleted_at_ms IS NULL \
             AND e.clip_from_ms < $12 AND e.clip_to_ms > $13)) \
         ON CONFLICT (uid, stream, start_ms) DO NOTHING RETURNING id",
    )
    .bind(&s.uid)
    .bind(i64::from(s.stream))
    .bind(s.init_id)
    .bind(s.start.0)
    .bind(i64::from(s.duration_ms))
    .bind(i64_of(s.bytes))
    .bind(i64::from(s.frames))
    .bind(s.blob.0.as_bytes().as_slice())
    // Footage under an event that is already known (the segment holding an event's end is
    // cut after the event's messages arrived) is protected as it is indexed.
    .bind(crate::EVENT_RETENTION_MS)
    .bind(&s.uid)
    .bind(s.start.0 - EVENT_LOOKBACK_MS)
    .bind(s.start.0 + i64::from(s.duration_ms))
    .bind(s.start.0)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    join_span(tx, &s.uid, s.stream, s.start.0, s.start.0 + i64::from(s.duration_ms)).await?;
    sqlx::query(
        "INSERT INTO media_usage (account_id, bytes) VALUES ($1, $2) \
         ON CONFLICT (account_id) DO UPDATE SET bytes = media_usage.bytes + excluded.bytes",
    )
    .bind(account)
    .bind(i64_of(s.bytes))
    .execute(&mut **tx)
    .await?;
    Ok(Some(id))
}

/// The owner of the device's recordings, with the device's media key row locked until the
/// transaction ends: the span and usage updates of one device are serialised (on SQLite the
/// write transaction already is; on PostgreSQL this row lock does it).
async fn lock_device(tx: &mut Tx<'_>, uid: &str) -> R<Option<String>> {
    let sql = format!(
        "SELECT account_id FROM media_keys WHERE uid = $1{}",
        Engine::of_tx(tx).for_update()
    );
    Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(uid).fetch_optional(&mut **tx).await?)
}

/// Merges `[start, end)` into the stream's spans, joining every span it touches.
async fn join_span(tx: &mut Tx<'_>, uid: &str, stream: u8, start: i64, end: i64) -> R<()> {
    let rows = sqlx::query(
        "SELECT start_ms, end_ms FROM media_spans WHERE uid = $1 AND stream = $2 \
         AND start_ms <= $3 AND end_ms >= $4",
    )
    .bind(uid)
    .bind(i64::from(stream))
    .bind(end + SPAN_JOIN_MS)
    .bind(start - SPAN_JOIN_MS)
    .fetch_all(&mut **tx)
    .await?;
    let (mut lo, mut hi) = (start, end);
    for r in &rows {
        lo = lo.min(r.try_get("start_ms")?);
        hi = hi.max(r.try_get("end_ms")?);
    }
    sqlx::query(
        "DELETE FROM media_spans WHERE uid = $1 AND stream = $2 AND start_ms >= $3 AND start_ms <= $4",
    )
    .bind(uid)
    .bind(i64::from(stream))
    .bind(lo)
    .bind(end + SPAN_JOIN_MS)
    .execute(&mut **tx)
    .await?;
    sqlx::query("INSERT INTO media_spans (uid, stream, start_ms, end_ms) VALUES ($1, $2, $3, $4)")
        .bind(uid)
        .bind(i64::from(stream))
        .bind(lo)
        .bind(hi)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(super) async fn segment(pool: &AnyPool, id: i64) -> R<Option<Segment>> {
    let sql = sqlx::AssertSqlSafe(format!("{SEG_COLS} WHERE id = $1"));
    let row = sqlx::query(sql).bind(id).fetch_optional(pool).await?;
    row.as_ref().map(segment_from).transpose()
}

/// Longest segment the recorder cuts; bounds the index scan of an overlap query.
pub(super) const MAX_SEGMENT_MS: i64 = 60_000;
/// How far back a new segment looks for events whose clip it may lie in (longer events are
/// protected by their own messages).
const EVENT_LOOKBACK_MS: i64 = 86_400_000;

pub(super) async fn segments(
    pool: &AnyPool,
    uid: &str,
    stream: u8,
    from: Timestamp,
    to: Timestamp,
    limit: u32,
) -> R<Vec<Segment>> {
    let sql = sqlx::AssertSqlSafe(format!(
        "{SEG_COLS} WHERE uid = $1 AND stream = $2 AND start_ms >= $3 AND start_ms < $4 \
         AND start_ms + duration_ms > $5 ORDER BY start_ms LIMIT $6"
    ));
    let rows = sqlx::query(sql)
        .bind(uid)
        .bind(i64::from(stream))
        .bind(from.0 - MAX_SEGMENT_MS)
        .bind(to.0)
        .bind(from.0)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.iter().map(segment_from).collect()
}

pub(super) async fn spans(
    pool: &AnyPool,
    uid: &str,
    stream: u8,
    from: Timestamp,
    to: Timestamp,
) -> R<Vec<Span>> {
    let rows = sqlx::query(
        "SELECT start_ms, end_ms FROM media_spans WHERE uid = $1 AND stream = $2 \
         AND start_ms < $3 AND end_ms > $4 ORDER BY start_ms",
    )
    .bind(uid)
    .bind(i64::from(stream))
    .bind(to.0)
    .bind(from.0)
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| Ok(Span { start: ts(r, "start_ms")?, end: ts(r, "end_ms")? })).collect()
}

pub(super) async fn protect(
    pool: &AnyPool,
    uid: &str,
    from: Timestamp,
    to: Timestamp,
    until: Timestamp,
) -> R<u64> {
    let r = sqlx::query(
        "UPDATE media_segments SET protected_until_ms = CASE \
             WHEN protected_until_ms IS NULL OR protected_until_ms < $1 THEN $1 \
             ELSE protected_until_ms END \
         WHERE uid = $2 AND start_ms >= $3 AND start_ms < $4 AND start_ms + duration_ms > $5",
    )
    .bind(until.0)
    .bind(uid)
    .bind(from.0 - MAX_SEGMENT_MS)
    .bind(to.0)
    .bind(from.0)
    .execute(pool)
    .await?;
    Ok(r.rows_affected())
}

/// One removed segment, as [`remove`] needs it.
struct Gone {
    uid: String,
    stream: u8,
    start: i64,
    end: i64,
}

/// Which segments [`remove`] deletes.
enum Pick<'a> {
    /// One segment of a device's stream.
    One { id: i64, uid: &'a str, stream: u8 },
    /// The oldest segments started before `cutoff` that no event protects at `now`, of the
    /// devices without limits (`days: None`) or of those whose limits keep `days`.
    Expired { days: Option<u32>, cutoff: i64, now: i64, limit: u32 },
    /// These segments (ids read in the same transaction).
    Ids(&'a [i64]),
    /// Every segment of a device.
    Device(&'a str),
    /// Up to `limit` of a device's segments (any stream) overlapping `[from, to)`, oldest
    /// first: its owner deletes a range.
    Range { uid: &'a str, from: i64, to: i64, limit: u32 },
    /// Up to `limit` of an events-only device's oldest segments started at or after `since`
    /// (the mode's choice), ended before `cutoff` and protected by no event at `now`.
    Unkept { uid: &'a str, since: i64, cutoff: i64, now: i64, limit: u32 },
}

/// Deletes the selected segment rows, trashes their blobs, lowers the owners' usage and
/// repairs the spans, inside `tx`.
async fn remove(tx: &mut Tx<'_>, pick: Pick<'_>, now: Timestamp) -> R<Removed> {
    const DELETE: &str = "DELETE FROM media_segments WHERE id IN";
    const RETURNING: &str = "RETURNING uid, stream, start_ms, duration_ms, bytes, blob_id";
    let q = match pick {
        Pick::One { id, uid, stream } => sqlx::query(sqlx::AssertSqlSafe(format!(
            "{DELETE} (SELECT id FROM media_segments WHERE id = $1 AND uid = $2 AND stream = $3) \
             {RETURNING}"
        )))
        .bind(id)
        .bind(uid)
        .bind(i64::from(stream)),
        Pick::Expired { days: None, cutoff, now, limit } => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "{DELETE} (SELECT id FROM media_segments s WHERE start_ms < $1 \
                 AND (protected_until_ms IS NULL OR protected_until_ms < $2) \
                 AND NOT EXISTS (SELECT 1 FROM device_limits l WHERE l.uid = s.uid) \
                 ORDER BY start_ms LIMIT $3) {RETURNING}"
            )))
            .bind(cutoff)
            .bind(now)
            .bind(i64::from(limit))
        }
        Pick::Expired { days: Some(days), cutoff, now, limit } => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "{DELETE} (SELECT id FROM media_segments WHERE start_ms < $1 \
                 AND (protected_until_ms IS NULL OR protected_until_ms < $2) \
                 AND uid IN (SELECT uid FROM device_limits WHERE retention_days = $3) \
                 ORDER BY start_ms LIMIT $4) {RETURNING}"
            )))
            .bind(cutoff)
            .bind(now)
            .bind(i64::from(days))
            .bind(i64::from(limit))
        }
        Pick::Ids(ids) => {
            // Integers only: the list is written into the statement (neither engine binds a
            // list through `Any`).
            let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            sqlx::query(sqlx::AssertSqlSafe(format!("{DELETE} ({list}) {RETURNING}")))
        }
        Pick::Device(uid) => sqlx::query(sqlx::AssertSqlSafe(format!(
            "{DELETE} (SELECT id FROM media_segments WHERE uid = $1) {RETURNING}"
        )))
        .bind(uid),
        Pick::Range { uid, from, to, limit } => sqlx::query(sqlx::AssertSqlSafe(format!(
            "{DELETE} (SELECT id FROM media_segments WHERE uid = $1 AND start_ms >= $2 \
             AND start_ms < $3 AND start_ms + duration_ms > $4 ORDER BY start_ms LIMIT $5) \
             {RETURNING}"
        )))
        .bind(uid)
        .bind(from - MAX_SEGMENT_MS)
        .bind(to)
        .bind(from)
        .bind(i64::from(limit)),
        Pick::Unkept { uid, since, cutoff, now, limit } => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "{DELETE} (SELECT id FROM media_segments WHERE uid = $1 AND start_ms >= $2 \
                 AND start_ms < $3 AND start_ms + duration_ms < $4 \
                 AND (protected_until_ms IS NULL OR protected_until_ms < $5) \
                 ORDER BY start_ms LIMIT $6) {RETURNING}"
            )))
            .bind(uid)
            .bind(since)
            .bind(cutoff)
            .bind(cutoff)
            .bind(now)
            .bind(i64::from(limit))
        }
    };
    let rows = q.fetch_all(&mut **tx).await?;
    let mut removed = Removed::default();
    let mut by_uid: BTreeMap<String, u64> = BTreeMap::new();
    let mut gone = Vec::with_capacity(rows.len());
    for r in &rows {
        let uid: String = r.try_get("uid")?;
        let bytes = u64_of(r, "bytes")?;
        let start: i64 = r.try_get("start_ms")?;
        sqlx::query(
            "INSERT INTO blob_trash (blob_id, trashed_at_ms) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(r.try_get::<Vec<u8>, _>("blob_id")?)
        .bind(now.0)
        .execute(&mut **tx)
        .await?;
        *by_uid.entry(uid.clone()).or_default() += bytes;
        removed.segments += 1;
        removed.bytes += bytes;
        let stream = u8::try_from(r.try_get::<i64, _>("stream")?).unwrap_or(0);
        gone.push(Gone { uid, stream, start, end: start + r.try_get::<i64, _>("duration_ms")? });
    }
    for (uid, bytes) in &by_uid {
        lock_device(tx, uid).await?;
        sqlx::query(
            "UPDATE media_usage SET bytes = CASE WHEN bytes > $1 THEN bytes - $1 ELSE 0 END \
             WHERE account_id = (SELECT account_id FROM media_keys WHERE uid = $2)",
        )
        .bind(i64_of(*bytes))
        .bind(uid)
        .execute(&mut **tx)
        .await?;
    }
    repair_spans(tx, &gone).await?;
    Ok(removed)
}

/// Rebuilds the spans that lost segments: the part up to the last removed segment from the
/// segments left there; the untouched rest of a span stays as it was.
async fn repair_spans(tx: &mut Tx<'_>, gone: &[Gone]) -> R<()> {
    let mut ranges: BTreeMap<(String, u8), (i64, i64)> = BTreeMap::new();
    for g in gone {
        let e = ranges.entry((g.uid.clone(), g.stream)).or_insert((g.start, g.end));
        e.0 = e.0.min(g.start);
        e.1 = e.1.max(g.end);
    }
    for ((uid, stream), (lo, hi)) in ranges {
        let stream_i = i64::from(stream);
        let old = sqlx::query(
            "DELETE FROM media_spans WHERE uid = $1 AND stream = $2 AND start_ms < $3 AND end_ms > $4 \
             RETURNING start_ms, end_ms",
        )
        .bind(&uid)
        .bind(stream_i)
        .bind(hi)
        .bind(lo)
        .fetch_all(&mut **tx)
        .await?;
        for span in old {
            let (a, b): (i64, i64) = (span.try_get("start_ms")?, span.try_get("end_ms")?);
            let left = sqlx::query(
                "SELECT start_ms, duration_ms FROM media_segments WHERE uid = $1 AND stream = $2 \
                 AND start_ms >= $3 AND start_ms < $4 ORDER BY start_ms",
            )
            .bind(&uid)
            .bind(stream_i)
            .bind(a)
            .bind(hi.min(b))
            .fetch_all(&mut **tx)
            .await?;
            let mut runs: Vec<(i64, i64)> = Vec::new();
            for r in &left {
                let s: i64 = r.try_get("start_ms")?;
                let e = s + r.try_get::<i64, _>("duration_ms")?;
                match runs.last_mut() {
                    Some(last) if s - last.1 <= SPAN_JOIN_MS => last.1 = last.1.max(e),
                    _ => runs.push((s, e)),
                }
            }
            let next: Option<i64> = sqlx::query_scalar(
                "SELECT start_ms FROM media_segments WHERE uid = $1 AND stream = $2 \
                 AND start_ms >= $3 AND start_ms < $4 ORDER BY start_ms LIMIT 1",
            )
            .bind(&uid)
            .bind(stream_i)
            .bind(hi.min(b))
            .bind(b)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some(n) = next {
                match runs.last_mut() {
                    Some(last) if n - last.1 <= SPAN_JOIN_MS => last.1 = b,
                    _ => runs.push((n, b)),
                }
            }
            for (s, e) in runs {
                sqlx::query(
                    "INSERT INTO media_spans (uid, stream, start_ms, end_ms) VALUES ($1, $2, $3, $4)",
                )
                .bind(&uid)
                .bind(stream_i)
                .bind(s)
                .bind(e)
                .execute(&mut **tx)
                .await?;
            }
        }
    }
    Ok(())
}

pub(super) async fn expire(
    pool: &AnyPool,
    days: Option<u32>,
    cutoff: Timestamp,
    now: Timestamp,
    limit: u32,
) -> R<Removed> {
    let mut tx = write_tx(pool).await?;
    let pick = Pick::Expired { days, cutoff: cutoff.0, now: now.0, limit };
    let removed = remove(&mut tx, pick, now).await?;
    tx.commit().await?;
    Ok(removed)
}

/// Deletes the picked segments in one transaction (rows, trash, usage and spans together).
async fn remove_picked(pool: &AnyPool, pick: Pick<'_>, now: Timestamp) -> R<Removed> {
    let mut tx = write_tx(pool).await?;
    let removed = remove(&mut tx, pick, now).await?;
    tx.commit().await?;
    Ok(removed)
}

/// Segments one eviction pass removes at most, per transaction.
const EVICT_BATCH: u32 = 200;

/// Whose footage an eviction takes: an account's (over the account quota) or one device's
/// (over its own).
pub(super) enum EvictFrom<'a> {
    Account(AccountId),
    Device { uid: &'a str, account: AccountId },
}

pub(super) async fn evict(
    pool: &AnyPool,
    from: EvictFrom<'_>,
    bytes: u64,
    now: Timestamp,
) -> R<Removed> {
    let mut total = Removed::default();
    let (acct, uid) = match from {
        EvictFrom::Account(a) => (a.to_string(), None),
        EvictFrom::Device { uid, account } => (account.to_string(), Some(uid)),
    };
    while total.bytes < bytes {
        let mut tx = write_tx(pool).await?;
        let q = match uid {
            None => sqlx::query(
                "SELECT s.id, s.bytes FROM media_segments s JOIN media_keys k ON k.uid = s.uid \
                 WHERE k.account_id = $1 AND (s.protected_until_ms IS NULL \
                 OR s.protected_until_ms < $2) ORDER BY s.start_ms LIMIT $3",
            )
            .bind(&acct),
            Some(uid) => sqlx::query(
                "SELECT s.id, s.bytes FROM media_segments s WHERE s.uid = $1 \
                 AND (s.protected_until_ms IS NULL OR s.protected_until_ms < $2) \
                 ORDER BY s.start_ms LIMIT $3",
            )
            .bind(uid),
        };
        let rows = q.bind(now.0).bind(i64::from(EVICT_BATCH)).fetch_all(&mut *tx).await?;
        // The oldest segments, just enough of them to free what is asked.
        let (mut ids, mut freed) = (Vec::new(), total.bytes);
        for r in &rows {
            if freed >= bytes {
                break;
            }
            ids.push(r.try_get::<i64, _>("id")?);
            freed += u64_of(r, "bytes")?;
        }
        let r = if ids.is_empty() {
            Removed::default()
        } else {
            remove(&mut tx, Pick::Ids(&ids), now).await?
        };
        if r.segments > 0 {
            sqlx::query(
                "UPDATE media_usage SET evicted_bytes = evicted_bytes + $1, alert_at_ms = $2 \
                 WHERE account_id = $3",
            )
            .bind(i64_of(r.bytes))
            .bind(now.0)
            .bind(&acct)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        total.segments += r.segments;
        total.bytes += r.bytes;
        if r.segments == 0 {
            break;
        }
    }
    Ok(total)
}

pub(super) async fn usage(pool: &AnyPool, account: AccountId) -> R<MediaUsage> {
    let row = sqlx::query(
        "SELECT bytes, evicted_bytes, alert_at_ms FROM media_usage WHERE account_id = $1",
    )
    .bind(account.to_string())
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(MediaUsage {
            bytes: u64_of(&r, "bytes")?,
            evicted_bytes: u64_of(&r, "evicted_bytes")?,
            alert_at: opt_ts(&r, "alert_at_ms")?,
        })
    })
    .transpose()
    .map(Option::unwrap_or_default)
}

pub(super) async fn over_quota(pool: &AnyPool, quota: u64) -> R<Vec<(AccountId, u64)>> {
    let rows = sqlx::query("SELECT account_id, bytes FROM media_usage WHERE bytes > $1")
        .bind(i64_of(quota))
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| Ok((account_col(r, "account_id")?, u64_of(r, "bytes")?))).collect()
}

pub(super) async fn trashed(pool: &AnyPool, limit: u32) -> R<Vec<BlobId>> {
    let rows = sqlx::query("SELECT blob_id FROM blob_trash ORDER BY trashed_at_ms LIMIT $1")
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.iter().map(|r| blob_col(r, "blob_id")).collect()
}

pub(super) async fn forget_trash(pool: &AnyPool, blobs: &[BlobId]) -> R<()> {
    let mut tx = write_tx(pool).await?;
    for b in blobs {
        sqlx::query("DELETE FROM blob_trash WHERE blob_id = $1")
            .bind(b.0.as_bytes().as_slice())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Deletes a device's recordings, inits, spans and data key inside the unbinding
/// transaction; every blob goes to the trash.
pub(super) async fn forget_device(tx: &mut Tx<'_>, uid: &str) -> R<()> {
    let now = kankan_base::Clock::now(&kankan_base::RealClock);
    forget_footage(tx, uid, now).await.map(|_| ())
}

/// Every segment, init segment, span and the data key of a device, blobs trashed, in `tx`.
async fn forget_footage(tx: &mut Tx<'_>, uid: &str, now: Timestamp) -> R<Removed> {
    let removed = remove(tx, Pick::Device(uid), now).await?;
    sqlx::query(
        "INSERT INTO blob_trash (blob_id, trashed_at_ms) SELECT blob_id, $1 FROM media_inits \
         WHERE uid = $2 ON CONFLICT DO NOTHING",
    )
    .bind(now.0)
    .bind(uid)
    .execute(&mut **tx)
    .await?;
    for sql in [
        "DELETE FROM media_inits WHERE uid = $1",
        "DELETE FROM media_spans WHERE uid = $1",
        "DELETE FROM media_keys WHERE uid = $1",
    ] {
        sqlx::query(sql).bind(uid).execute(&mut **tx).await?;
    }
    Ok(removed)
}

#[async_trait]
impl MediaStore for SqlStore {
    // Keys and init segments.
    async fn media_key(&self, uid: &str) -> R<Option<MediaKey>> {
        media_key(&self.pool, uid).await
    }
    async fn put_media_key(&self, key: &MediaKey) -> R<MediaKey> {
        put_media_key(&self.pool, key).await
    }
    async fn put_media_init(&self, init: &MediaInit) -> R<MediaInit> {
        put_media_init(&self.pool, init).await
    }
    async fn media_init(&self, id: i64) -> R<Option<MediaInit>> {
        media_init(&self.pool, id).await
    }
    async fn media_init_by_digest(&self, uid: &str, digest: &[u8]) -> R<Option<MediaInit>> {
        media_init_by_digest(&self.pool, uid, digest).await
    }

    // Segments and timeline spans.
    async fn insert_segment(&self, seg: &NewSegment) -> R<Option<i64>> {
        insert_segment(&self.pool, seg).await
    }
    async fn replace_segment(&self, old: i64, seg: &NewSegment, now: Timestamp) -> R<Option<i64>> {
        replace_segment(&self.pool, old, seg, now).await
    }
    async fn segment(&self, id: i64) -> R<Option<Segment>> {
        segment(&self.pool, id).await
    }
    async fn segments(
        &self,
        uid: &str,
        stream: u8,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> R<Vec<Segment>> {
        segments(&self.pool, uid, stream, from, to, limit).await
    }
    async fn spans(&self, uid: &str, stream: u8, from: Timestamp, to: Timestamp) -> R<Vec<Span>> {
        spans(&self.pool, uid, stream, from, to).await
    }

    // Retention, eviction and storage use.
    async fn protect_segments(
        &self,
        uid: &str,
        from: Timestamp,
        to: Timestamp,
        until: Timestamp,
    ) -> R<u64> {
        protect(&self.pool, uid, from, to, until).await
    }
    async fn expire_segments(
        &self,
        retention_days: Option<u32>,
        cutoff: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> R<Removed> {
        expire(&self.pool, retention_days, cutoff, now, limit).await
    }
    async fn limit_retentions(&self) -> R<Vec<u32>> {
        super::limits::retentions(&self.pool).await
    }
    async fn device_limits(&self, uid: &str) -> R<Option<DeviceLimits>> {
        super::limits::get(&self.pool, uid).await
    }
    async fn set_device_limits(&self, uid: &str, limits: Option<&DeviceLimits>) -> R<()> {
        super::limits::set(&self.pool, uid, limits).await
    }
    async fn recording_mode_and_cap(
        &self,
        uid: &str,
    ) -> R<(Option<RecordingMode>, Option<RecordingMode>)> {
        super::recording_modes::mode_and_cap(&self.pool, uid).await
    }
    async fn devices_over_quota(&self) -> R<Vec<DeviceOverQuota>> {
        super::limits::over_quota(&self.pool).await
    }
    async fn evict_device_segments(&self, uid: &str, bytes: u64, now: Timestamp) -> R<Removed> {
        let account = match media_key(&self.pool, uid).await? {
            Some(k) => k.account_id,
            None => return Ok(Removed::default()),
        };
        evict(&self.pool, EvictFrom::Device { uid, account }, bytes, now).await
    }
    async fn devices_recording(&self, mode: RecordingMode) -> R<Vec<(String, Timestamp)>> {
        super::recording_modes::devices_recording(&self.pool, mode).await
    }
    async fn expire_unkept_segments(
        &self,
        uid: &str,
        since: Timestamp,
        cutoff: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> R<Removed> {
        let pick = Pick::Unkept { uid, since: since.0, cutoff: cutoff.0, now: now.0, limit };
        remove_picked(&self.pool, pick, now).await
    }
    async fn delete_segments_between(
        &self,
        uid: &str,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
        limit: u32,
    ) -> R<Removed> {
        let pick = Pick::Range { uid, from: from.0, to: to.0, limit };
        remove_picked(&self.pool, pick, now).await
    }
    async fn forget_footage(&self, uid: &str, now: Timestamp) -> R<Removed> {
        let mut tx = write_tx(&self.pool).await?;
        let removed = forget_footage(&mut tx, uid, now).await?;
        tx.commit().await?;
        Ok(removed)
    }
    async fn evict_segments(&self, account: AccountId, bytes: u64, now: Timestamp) -> R<Removed> {
        evict(&self.pool, EvictFrom::Account(account), bytes, now).await
    }
    async fn media_usage(&self, account: AccountId) -> R<MediaUsage> {
        usage(&self.pool, account).await
    }
    async fn accounts_over_quota(&self, quota: u64) -> R<Vec<(AccountId, u64)>> {
        over_quota(&self.pool, quota).await
    }

    // Blob trash.
    async fn trashed_blobs(&self, limit: u32) -> R<Vec<BlobId>> {
        trashed(&self.pool, limit).await
    }
    async fn forget_trash(&self, blobs: &[BlobId]) -> R<()> {
        forget_trash(&self.pool, blobs).await
    }

    // The access log.
    async fn record_device_access(&self, access: &DeviceAccess, since: Timestamp) -> R<bool> {
        super::access::record(&self.pool, access, since).await
    }
    async fn device_access_log(
        &self,
        uid: &str,
        owner: AccountId,
        since: Timestamp,
        limit: u32,
    ) -> R<Vec<DeviceAccess>> {
        super::access::log(&self.pool, uid, owner, since, limit).await
    }
    async fn expire_device_access(&self, cutoff: Timestamp) -> R<u64> {
        super::access::expire(&self.pool, cutoff).await
    }
}
