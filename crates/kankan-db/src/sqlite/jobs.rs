//! The durable job queue: claim with one `UPDATE ... RETURNING`, retry, abort.

use kankan_base::{JobId, Timestamp};
use sqlx::Row;
use sqlx::sqlite::SqlitePool;

use super::{R, ts, uuid_col};
use crate::{DbError, Job, JobState, JobStatus, NewJob};

pub(super) async fn enqueue(pool: &SqlitePool, job: &NewJob, now: Timestamp) -> R<()> {
    sqlx::query(
        "INSERT INTO jobs (id, queue, payload, state, attempts, max_attempts, run_after_ms, \
         created_at_ms) VALUES (?, ?, ?, 'pending', 0, ?, ?, ?)",
    )
    .bind(job.id.to_string())
    .bind(job.queue)
    .bind(&job.payload)
    .bind(i64::from(job.max_attempts))
    .bind(job.run_after.0)
    .bind(now.0)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn claim(
    pool: &SqlitePool,
    queue: &str,
    now: Timestamp,
    lease_until: Timestamp,
) -> R<Option<Job>> {
    let row = sqlx::query(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until_ms = ? \
         WHERE id = (SELECT id FROM jobs WHERE queue = ? AND ( \
                (state = 'pending' AND run_after_ms <= ?) \
             OR (state = 'running' AND lease_until_ms < ?)) \
             ORDER BY run_after_ms, id LIMIT 1) \
         RETURNING id, queue, payload, attempts, max_attempts",
    )
    .bind(lease_until.0)
    .bind(queue)
    .bind(now.0)
    .bind(now.0)
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(Job {
            id: JobId(uuid_col(&row, "id")?),
            queue: row.try_get("queue")?,
            payload: row.try_get("payload")?,
            attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
            max_attempts: u32::try_from(row.try_get::<i64, _>("max_attempts")?).unwrap_or(u32::MAX),
        })
    })
    .transpose()
}

pub(super) async fn complete(pool: &SqlitePool, id: JobId, at: Timestamp) -> R<()> {
    sqlx::query(
        "UPDATE jobs SET state = 'done', payload = x'', lease_until_ms = NULL, \
         finished_at_ms = ? WHERE id = ?",
    )
    .bind(at.0)
    .bind(id.to_string())
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn retry(
    pool: &SqlitePool,
    id: JobId,
    run_after: Timestamp,
    error: &str,
) -> R<()> {
    sqlx::query(
        "UPDATE jobs SET state = 'pending', run_after_ms = ?, lease_until_ms = NULL, \
         last_error = ? WHERE id = ?",
    )
    .bind(run_after.0)
    .bind(error)
    .bind(id.to_string())
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn abort(pool: &SqlitePool, id: JobId, error: &str, at: Timestamp) -> R<()> {
    sqlx::query(
        "UPDATE jobs SET state = 'dead', payload = x'', lease_until_ms = NULL, last_error = ?, \
         finished_at_ms = ? WHERE id = ?",
    )
    .bind(error)
    .bind(at.0)
    .bind(id.to_string())
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn status(pool: &SqlitePool, id: JobId) -> R<Option<JobStatus>> {
    let row = sqlx::query(
        "SELECT state, attempts, run_after_ms, last_error, length(payload) AS payload_len \
         FROM jobs WHERE id = ?",
    )
    .bind(id.to_string())
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        let state: String = row.try_get("state")?;
        Ok(JobStatus {
            state: JobState::parse(&state)
                .ok_or_else(|| DbError::Corrupt(format!("job state {state:?}")))?,
            attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
            run_after: ts(&row, "run_after_ms")?,
            last_error: row.try_get("last_error")?,
            payload_len: usize::try_from(row.try_get::<i64, _>("payload_len")?).unwrap_or(0),
        })
    })
    .transpose()
}
