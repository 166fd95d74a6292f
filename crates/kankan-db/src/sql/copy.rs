//! Copying a whole database to another engine (`kankan admin store copy`): every table, row by
//! row, in one transaction of the target, from one consistent read of the source.

use futures_util::TryStreamExt;
use kankan_base::AccountId;
use sqlx::any::{AnyRow, AnyTypeInfoKind};
use sqlx::{AnyPool, Column, Executor, Row, Statement, TypeInfo};

use super::{Engine, R, SqlStore, write_tx};
use crate::DbError;

/// Every table, parents before the tables that reference them. A tidy test checks it against
/// the migrated schema, so a new table cannot be left out of copies.
pub const TABLES: &[&str] = &[
    "accounts",
    "verification_codes",
    "sessions",
    "login_events",
    "login_failures",
    "consents",
    "account_ban_notes",
    "guardians",
    "staff",
    "staff_sessions",
    "staff_enrolments",
    "jobs",
    "devices",
    "device_grants",
    "invitations",
    "membership_history",
    "device_access_log",
    "bind_tokens",
    "device_state",
    "device_commands",
    "media_keys",
    "media_inits",
    "media_segments",
    "media_spans",
    "media_usage",
    "blob_trash",
    "rtsp_cameras",
    "album_items",
    "exports",
    "export_parts",
    "events",
    "event_thumbnails",
    "event_descriptions",
    "event_members",
    "faces",
    "face_sightings",
    "push_subscriptions",
    "notification_settings",
    "device_notification_settings",
    "webhooks",
    "notification_deliveries",
    "server_secrets",
    "device_limits",
    "plan_entitlements",
    "sim_topups",
    "announcements",
    "deletion_receipts",
    "account_purges",
    "audit_log",
    "audit_head",
    "audit_checkpoints",
    "privacy_requests",
    "support_grants",
    "support_grant_devices",
    "rate_windows",
    "node_leases",
    "orders",
    "billing_events",
    "coupons",
    "redemption_codes",
    "redemptions",
    "firmware_images",
    "firmware_rollouts",
    "firmware_rollout_cohort",
    "firmware_devices",
    "firmware_updates",
    "account_totp",
    "recovery_codes",
    "second_factor_tickets",
    "remembered_devices",
    "help_articles",
    "help_revisions",
    "help_seeds",
    "app_ratings",
    "support_tickets",
    "support_messages",
    "device_log_requests",
    "passkeys",
    "passkey_challenges",
];

/// Tables whose integer `id` the database assigns: after a copy into PostgreSQL its identity
/// sequence continues after the copied ids.
const IDENTITY_TABLES: &[&str] = &["media_inits", "media_segments"];

/// What a copy moved: rows per table, in [`TABLES`] order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    pub tables: Vec<(&'static str, u64)>,
}

impl CopyReport {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// One column's type on the target, as the copy binds it.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Int,
    Text,
    Blob,
}

impl SqlStore {
    /// Copies every row of `self` into `target`, which must be migrated to the same version
    /// and hold no rows. All or nothing: the rows are written in one transaction of the
    /// target, and the source is read in one transaction (one snapshot). Stop the server
    /// first: what it writes after the snapshot is not copied.
    pub async fn copy_to(&self, target: &SqlStore) -> R<CopyReport> {
        for t in TABLES {
            if target.count(t).await? > 0 {
                return Err(DbError::Conflict("rows in the target database"));
            }
        }
        let mut source = self.pool.begin().await?;
        if self.engine == Engine::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *source)
                .await?;
        }
        let mut tx = write_tx(&target.pool).await?;
        let mut report = CopyReport::default();
        for &table in TABLES {
            let kinds = column_kinds(&target.pool, table).await?;
            let names: Vec<&str> = kinds.iter().map(|(n, _)| n.as_str()).collect();
            let select = format!("SELECT {} FROM {table}", names.join(", "));
            let params: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
            let insert = format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                names.join(", "),
                params.join(", ")
            );
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(&mut *source);
            let mut n = 0u64;
            while let Some(row) = rows.try_next().await? {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(insert.clone()));
                for (i, (_, kind)) in kinds.iter().enumerate() {
                    q = match kind {
                        Kind::Int => q.bind(int(&row, i)?),
                        Kind::Text => q.bind(row.try_get::<Option<String>, _>(i)?),
                        Kind::Blob => q.bind(row.try_get::<Option<Vec<u8>>, _>(i)?),
                    };
                }
                q.execute(&mut *tx).await?;
                n += 1;
            }
            drop(rows);
            if target.engine == Engine::Postgres && IDENTITY_TABLES.contains(&table) {
                let sql = format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
                     COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await?;
            }
            report.tables.push((table, n));
        }
        tx.commit().await?;
        source.rollback().await?;
        Ok(report)
    }

    /// Rows in `table` (one of [`TABLES`]).
    pub async fn count(&self, table: &str) -> R<u64> {
        if !TABLES.contains(&table) {
            return Err(DbError::NotFound("table"));
        }
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&self.pool).await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Every value stored in every table, as bytes (text as UTF-8, integers in decimal), one
    /// after another: what tests search for data that must never be stored in clear, on any
    /// engine (a PostgreSQL database has no file in the data directory to scan).
    pub async fn all_values(&self) -> R<Vec<u8>> {
        let mut out = Vec::new();
        for table in TABLES {
            let kinds = column_kinds(&self.pool, table).await?;
            let sql = format!("SELECT * FROM {table}");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?;
            for row in &rows {
                for (i, (_, kind)) in kinds.iter().enumerate() {
                    let value = match kind {
                        Kind::Int => int(row, i)?.map(|v| v.to_string().into_bytes()),
                        Kind::Text => row.try_get::<Option<String>, _>(i)?.map(String::into_bytes),
                        Kind::Blob => row.try_get::<Option<Vec<u8>>, _>(i)?,
                    };
                    out.extend(value.unwrap_or_default());
                    out.push(0);
                }
            }
        }
        Ok(out)
    }

    /// The tables of the schema (the migrations' bookkeeping included).
    pub async fn table_names(&self) -> R<Vec<String>> {
        let sql = match self.engine {
            Engine::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            }
            Engine::Postgres => {
                "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
            }
        };
        Ok(sqlx::query_scalar(sql).fetch_all(&self.pool).await?)
    }

    /// Up to `limit` accounts, oldest first: the ones a copy's check decrypts on both sides.
    pub async fn sample_accounts(&self, limit: u32) -> R<Vec<AccountId>> {
        let rows = sqlx::query("SELECT id FROM accounts ORDER BY created_at_ms, id LIMIT $1")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(AccountId(super::uuid_col(r, "id")?))).collect()
    }
}

/// The target table's columns and how each is bound.
async fn column_kinds(pool: &AnyPool, table: &str) -> R<Vec<(String, Kind)>> {
    let mut conn = pool.acquire().await?;
    let sql = sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(format!("SELECT * FROM {table}")));
    let d = (&mut *conn).prepare(sql).await?;
    d.columns()
        .iter()
        .map(|c| {
            let kind = match c.type_info().kind() {
                k if k.is_integer() => Kind::Int,
                AnyTypeInfoKind::Bool => Kind::Int,
                AnyTypeInfoKind::Text => Kind::Text,
                AnyTypeInfoKind::Blob => Kind::Blob,
                other => {
                    return Err(DbError::Corrupt(format!(
                        "{table}.{}: a column of type {other:?} ({}) cannot be copied",
                        c.name(),
                        c.type_info().name()
                    )));
                }
            };
            Ok((c.name().to_owned(), kind))
        })
        .collect()
}

/// An integer column of the source row (a truth value counts as 0 or 1).
fn int(row: &AnyRow, i: usize) -> R<Option<i64>> {
    match row.try_get::<Option<i64>, _>(i) {
        Ok(v) => Ok(v),
        Err(e) => match row.try_get::<Option<bool>, _>(i) {
            Ok(b) => Ok(b.map(i64::from)),
            Err(_) => Err(e.into()),
        },
    }
}
