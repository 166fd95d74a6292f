//! Databases for tests: a fresh SQLite file, or a fresh database on the PostgreSQL server that
//! `KANKAN_TEST_PG_URL` names when `KANKAN_TEST_ENGINE=postgres` (the test command starts a
//! throwaway cluster and sets both).

use std::path::Path;

use crate::{DbError, Engine, SqlStore};

/// The engine the tests of this run use: PostgreSQL when `KANKAN_TEST_ENGINE=postgres`,
/// SQLite otherwise.
pub fn engine() -> Engine {
    match std::env::var("KANKAN_TEST_ENGINE").as_deref() {
        Ok("postgres") => Engine::Postgres,
        _ => Engine::Sqlite,
    }
}

/// The URL of a new, empty database for one test: a file in `dir` on SQLite, a database of its
/// own on the test PostgreSQL server.
pub async fn fresh_database_url(dir: &Path) -> Result<String, DbError> {
    match engine() {
        Engine::Sqlite => Ok(format!("sqlite://{}", dir.join("kankan.db").display())),
        Engine::Postgres => {
            let admin = std::env::var("KANKAN_TEST_PG_URL").map_err(|_| {
                DbError::Config("KANKAN_TEST_ENGINE=postgres needs KANKAN_TEST_PG_URL".into())
            })?;
            fresh_postgres_database(&admin).await
        }
    }
}

/// Creates a database with a unique name on the server `admin_url` points at (a URL whose
/// user may create databases) and returns its URL.
pub async fn fresh_postgres_database(admin_url: &str) -> Result<String, DbError> {
    let name = format!("t_{}", uuid::Uuid::now_v7().simple());
    let admin = SqlStore::open(admin_url).await?;
    admin.execute_admin(&format!("CREATE DATABASE {name}")).await?;
    admin.close().await;
    // postgres://user@host:port/db?options -> postgres://user@host:port/<name>?options
    let (base, query) = admin_url.split_once('?').unwrap_or((admin_url, ""));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..].find('/').map_or(base.len(), |i| authority + i);
    let query = if query.is_empty() { String::new() } else { format!("?{query}") };
    Ok(format!("{}/{name}{query}", &base[..path]))
}

/// A row held locked by a transaction of the test's own (PostgreSQL only): the server's writes
/// to that row wait until the guard is dropped, as behind a slow database. Lets a test prove
/// that one device's stalled write holds up nobody else.
#[derive(Debug)]
pub struct RowLock {
    tx: Option<sqlx::Transaction<'static, sqlx::Any>>,
}

impl RowLock {
    /// Locks the rows of `table` whose `column` equals `value`, on the database at `url`.
    pub async fn take(
        url: &str,
        table: &str,
        column: &str,
        value: &str,
    ) -> Result<RowLock, DbError> {
        if Engine::of_url(url) != Some(Engine::Postgres) {
            return Err(DbError::Config("row locks of their own need PostgreSQL".into()));
        }
        let store = SqlStore::open(url).await?;
        let mut tx = store.pool().begin().await?;
        let sql = format!("SELECT 1 FROM {table} WHERE {column} = $1 FOR UPDATE");
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(value.to_owned()).execute(&mut *tx).await?;
        Ok(RowLock { tx: Some(tx) })
    }

    /// Lets the waiting writes go on.
    pub async fn release(mut self) -> Result<(), DbError> {
        if let Some(tx) = self.tx.take() {
            tx.rollback().await?;
        }
        Ok(())
    }
}

/// Runs one statement on the database at `url`, behind the server's back: tests that alter
/// stored rows the way an intruder with database access would (the audit log's verifier).
/// The number of rows it changed.
pub async fn execute(url: &str, sql: &str) -> Result<u64, DbError> {
    let store = SqlStore::open(url).await?;
    let r = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(store.pool()).await?;
    store.close().await;
    Ok(r.rows_affected())
}
