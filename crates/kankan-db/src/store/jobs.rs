//! [`JobStore`]: the durable job queue.

use async_trait::async_trait;
use kankan_base::{JobId, Timestamp};

use crate::{DbError, Job, JobStatus, NewJob};

type R<T> = Result<T, DbError>;

/// The durable job queue: enqueue, claim under a lease, complete, retry, abort.
///
/// Invariants: a claim is one `UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED)
/// RETURNING`, so two workers never hold one job; a running job whose lease lapsed is
/// claimable again; a job's payload (it may hold secrets) is erased once it is done or dead.
#[async_trait]
pub trait JobStore: Send + Sync {
    async fn enqueue_job(&self, job: &NewJob, now: Timestamp) -> R<()>;
    /// Claims the next due job of `queue` with one `UPDATE ... RETURNING`; a running job whose
    /// lease lapsed (its worker died) is claimable again.
    async fn claim_job(
        &self,
        queue: &str,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> R<Option<Job>>;
    /// Done: the payload is erased (it may hold secrets).
    async fn complete_job(&self, id: JobId, at: Timestamp) -> R<()>;
    async fn retry_job(&self, id: JobId, run_after: Timestamp, error: &str) -> R<()>;
    /// Dead: no more attempts; the payload is erased.
    async fn abort_job(&self, id: JobId, error: &str, at: Timestamp) -> R<()>;
    async fn job_status(&self, id: JobId) -> R<Option<JobStatus>>;
}
