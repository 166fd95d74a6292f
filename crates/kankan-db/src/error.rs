//! Store errors.

use kankan_base::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Backend(#[from] sqlx::Error),
    #[error("blob store: {0}")]
    Io(#[from] std::io::Error),
}

impl DbError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            DbError::NotFound(_) => ErrorKind::NotFound,
            DbError::Conflict(_) => ErrorKind::FailedPrecondition,
            DbError::Backend(sqlx::Error::PoolTimedOut) => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        }
    }

    /// Maps a unique-constraint violation to [`DbError::Conflict`].
    pub(crate) fn conflict_on_unique(e: sqlx::Error, what: &'static str) -> DbError {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => DbError::Conflict(what),
            _ => DbError::Backend(e),
        }
    }
}
