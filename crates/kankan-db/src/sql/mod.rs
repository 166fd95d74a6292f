//! The SQL store: one implementation over sqlx's `Any` driver for SQLite (embedded: WAL
//! journal, busy timeout, foreign keys on) and PostgreSQL (scale-out), with embedded
//! migrations per engine.
//!
//! Every statement is written once, with numbered placeholders (`$1`, both engines read them)
//! and functions both engines have. Where the engines differ, [`Engine`] says how: the
//! statement that opens a write transaction, and the row locks that SQLite's single writer
//! makes unnecessary (`FOR UPDATE`, `FOR UPDATE SKIP LOCKED` on PostgreSQL).

mod access;
mod accounts;
mod album;
mod audit;
mod billing;
mod cluster;
mod consents;
mod console;
mod copy;
mod descriptions;
pub use copy::{CopyReport, TABLES};
mod columns;
mod devices;
mod event_members;
mod event_rows;
mod events;
mod exports;
mod faces;
mod firmware;
mod grants;
mod help;
mod jobs;
mod lifecycle;
mod limits;
mod media;
mod media_inits;
mod notify;
mod passkeys;
mod plans;
mod recording_modes;
mod rtsp;
mod second_factor;
mod sessions;
mod sharing;
mod support;

use std::time::Duration;

use async_trait::async_trait;
use kankan_base::Timestamp;
use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};

use crate::{DbError, MIGRATIONS, Store};

type R<T> = Result<T, DbError>;

/// The database engine behind a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// The engine a URL names (`sqlite://…`, `postgres://…` or `postgresql://…`).
    pub fn of_url(url: &str) -> Option<Engine> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "sqlite" => Some(Engine::Sqlite),
            "postgres" | "postgresql" => Some(Engine::Postgres),
            _ => None,
        }
    }

    /// The engine of a pool's connections.
    pub(crate) fn of(pool: &AnyPool) -> Engine {
        match pool.connect_options().database_url.scheme() {
            "sqlite" => Engine::Sqlite,
            _ => Engine::Postgres,
        }
    }

    /// The engine behind a transaction's connection.
    pub(crate) fn of_tx(tx: &sqlx::Transaction<'_, sqlx::Any>) -> Engine {
        if tx.backend_name() == <sqlx::Sqlite as sqlx::Database>::NAME {
            Engine::Sqlite
        } else {
            Engine::Postgres
        }
    }

    /// Appended to a `SELECT` whose rows the transaction goes on to change: SQLite's write
    /// transaction already holds the database's one write lock, PostgreSQL locks the rows.
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Engine::Sqlite => "",
            Engine::Postgres => " FOR UPDATE",
        }
    }

    /// Appended to the `SELECT` of a claim: concurrent claimers on PostgreSQL skip each other's
    /// rows instead of waiting for them (and both winning the same row after the wait).
    pub(crate) fn skip_locked(self) -> &'static str {
        match self {
            Engine::Sqlite => "",
            Engine::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    fn begin_write(self) -> &'static str {
        match self {
            // Take the write lock at once: a deferred transaction that reads first fails with
            // `SQLITE_BUSY` (without waiting out the busy timeout) when another connection
            // writes between its read and its write.
            Engine::Sqlite => "BEGIN IMMEDIATE",
            Engine::Postgres => "BEGIN",
        }
    }
}

/// A SQL database (SQLite file or PostgreSQL server), opened as a connection pool.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    engine: Engine,
}

impl SqlStore {
    /// Opens the database at `url`: `sqlite://path/to/file.db` (created if missing) or
    /// `postgres://user@host:port/db` (the database must exist).
    pub async fn open(url: &str) -> R<SqlStore> {
        sqlx::any::install_default_drivers();
        let engine = Engine::of_url(url).ok_or_else(|| {
            DbError::Config(format!("unsupported database url scheme in {url:?}"))
        })?;
        let pool = match engine {
            Engine::Sqlite => {
                let url = if url.contains("mode=") {
                    url.to_owned()
                } else {
                    format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
                };
                let opts: AnyConnectOptions = url.parse()?;
                AnyPoolOptions::new()
                    .max_connections(4)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            sqlx::raw_sql(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
                                 PRAGMA secure_delete = ON;",
                            )
                            .execute(conn)
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(opts)
                    .await?
            }
            Engine::Postgres => {
                let opts: AnyConnectOptions = url.parse()?;
                AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(opts)
                    .await?
            }
        };
        Ok(SqlStore { pool, engine })
    }

    /// Runs one statement outside any transaction (`CREATE DATABASE` for tests).
    pub(crate) async fn execute_admin(&self, sql: &str) -> R<()> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&self.pool).await?;
        Ok(())
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes the pool's connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn applied_versions(&self) -> R<Vec<i64>> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        let rows = sqlx::query("SELECT version FROM schema_migrations ORDER BY version")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| r.try_get::<i64, _>("version").map_err(DbError::from)).collect()
    }
}

/// A write transaction: on SQLite it holds the database's write lock from its first
/// statement; on PostgreSQL its statements lock the rows they need (see [`Engine`]).
pub(crate) async fn write_tx(pool: &AnyPool) -> R<sqlx::Transaction<'static, sqlx::Any>> {
    Ok(pool.begin_with(Engine::of(pool).begin_write()).await?)
}

pub(crate) fn ts(row: &AnyRow, col: &str) -> R<Timestamp> {
    Ok(Timestamp(row.try_get::<i64, _>(col)?))
}

pub(crate) fn opt_ts(row: &AnyRow, col: &str) -> R<Option<Timestamp>> {
    Ok(row.try_get::<Option<i64>, _>(col)?.map(Timestamp))
}

/// A truth value computed by the query (`EXISTS …`, a comparison): an integer on SQLite, a
/// boolean on PostgreSQL.
pub(crate) fn flag(row: &AnyRow, col: &str) -> R<bool> {
    match row.try_get::<bool, _>(col) {
        Ok(b) => Ok(b),
        Err(_) => Ok(row.try_get::<i64, _>(col)? != 0),
    }
}

pub(crate) fn uuid_col(row: &AnyRow, col: &str) -> R<uuid::Uuid> {
    let s: String = row.try_get(col)?;
    uuid::Uuid::parse_str(&s).map_err(|e| DbError::Corrupt(format!("{col}: {e}")))
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> R<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn migrate(&self) -> R<Vec<&'static str>> {
        let applied = self.applied_versions().await?;
        let mut done = Vec::new();
        for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
            let mut tx = write_tx(&self.pool).await?;
            if self.engine == Engine::Postgres {
                // Nodes starting together migrate one at a time; a later one finds the step
                // done once it has the lock.
                sqlx::query("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
            }
            let already = sqlx::query("SELECT 1 FROM schema_migrations WHERE version = $1")
                .bind(m.version)
                .fetch_optional(&mut *tx)
                .await?;
            if already.is_some() {
                continue;
            }
            let script = match self.engine {
                Engine::Sqlite => m.sqlite,
                Engine::Postgres => m.postgres,
            };
            sqlx::raw_sql(script).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at_ms) VALUES ($1, $2, $3)",
            )
            .bind(m.version)
            .bind(m.name)
            .bind(kankan_base::Clock::now(&kankan_base::RealClock).0)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            done.push(m.name);
        }
        Ok(done)
    }

    async fn pending_migrations(&self) -> R<Vec<&'static str>> {
        let applied = self.applied_versions().await?;
        Ok(MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)).map(|m| m.name).collect())
    }
}
