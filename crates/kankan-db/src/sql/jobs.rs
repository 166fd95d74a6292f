//! The durable job queue: claim with one `UPDATE ... RETURNING`, retry, abort.

use async_trait::async_trait;
use kankan_base::{JobId, Timestamp};
use sqlx::AnyPool;
use sqlx::Row;

use super::{Engine, R, SqlStore, ts, uuid_col};
use crate::{DbError, Job, JobState, JobStatus, JobStore, NewJob};

pub(super) async fn enqueue(pool: &AnyPool, job: &NewJob, now: Timestamp) -> R<()> {
    sqlx::query(
        "INSERT INTO jobs (id, queue, payload, state, attempts, max_attempts, run_after_ms, \
         created_at_ms) VALUES ($1, $2, $3, 'pending', 0, $4, $5, $6)",
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
    pool: &AnyPool,
    queue: &str,
    now: Timestamp,
    lease_until: Timestamp,
) -> R<Option<Job>> {
    // One statement: the subquery picks the oldest runnable job and the update takes it. On
    // PostgreSQL the picked row is locked and other claimers skip it (without SKIP LOCKED two
    // nodes could pick the same row, the second waiting for the first and then updating it
    // again); SQLite's single writer serialises claims by itself.
    let sql = format!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until_ms = $1 \
         WHERE id = (SELECT id FROM jobs WHERE queue = $2 AND ( \
                (state = 'pending' AND run_after_ms <= $3) \
             OR (state = 'running' AND lease_until_ms < $4)) \
             ORDER BY run_after_ms, id LIMIT 1{}) \
         RETURNING id, queue, payload, attempts, max_attempts",
        Engine::of(pool).skip_locked()
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
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

pub(super) async fn complete(pool: &AnyPool, id: JobId, at: Timestamp) -> R<()> {
    sqlx::query(
        "UPDATE jobs SET state = 'done', payload = $1, lease_until_ms = NULL, \
         finished_at_ms = $2 WHERE id = $3",
    )
    .bind(Vec::<u8>::new())
    .bind(at.0)
    .bind(id.to_string())
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn retry(pool: &AnyPool, id: JobId, run_after: Timestamp, error: &str) -> R<()> {
    sqlx::query(
        "UPDATE jobs SET state = 'pending', run_after_ms = $1, lease_until_ms = NULL, \
         last_error = $2 WHERE id = $3",
    )
    .bind(run_after.0)
    .bind(error)
    .bind(id.to_string())
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn abort(pool: &AnyPool, id: JobId, error: &str, at: Timestamp) -> R<()> {
    sqlx::query(
        "UPDATE jobs SET state = 'dead', payload = $1, lease_until_ms = NULL, last_error = $2, \
         finished_at_ms = $3 WHERE id = $4",
    )
    .bind(Vec::<u8>::new())
    .bind(error)
    .bind(at.0)
    .bind(id.to_string())
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn status(pool: &AnyPool, id: JobId) -> R<Option<JobStatus>> {
    let row = sqlx::query(
        "SELECT state, attempts, run_after_ms, last_error, length(payload) AS payload_len \
         FROM jobs WHERE id = $1",
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

#[async_trait]
impl JobStore for SqlStore {
    async fn enqueue_job(&self, job: &NewJob, now: Timestamp) -> R<()> {
        enqueue(&self.pool, job, now).await
    }
    async fn claim_job(&self, q: &str, now: Timestamp, lease: Timestamp) -> R<Option<Job>> {
        claim(&self.pool, q, now, lease).await
    }
    async fn complete_job(&self, id: JobId, at: Timestamp) -> R<()> {
        complete(&self.pool, id, at).await
    }
    async fn retry_job(&self, id: JobId, run_after: Timestamp, error: &str) -> R<()> {
        retry(&self.pool, id, run_after, error).await
    }
    async fn abort_job(&self, id: JobId, error: &str, at: Timestamp) -> R<()> {
        abort(&self.pool, id, error, at).await
    }
    async fn job_status(&self, id: JobId) -> R<Option<JobStatus>> {
        status(&self.pool, id).await
    }
}
