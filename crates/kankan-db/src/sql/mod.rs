//! The SQL store: one implementation over sqlx's `Any` driver for SQLite (embedded: WAL
//! journal, busy timeout, foreign keys on) and PostgreSQL (scale-out), with embedded
//! migrations per engine.
//!
//! Every statement is written once, with numbered placeholders (`$1`, both engines read them)
//! and functions both engines have. Where the engines differ, [`Engine`] says how: the
//! statement that opens a write transaction, and the row locks that SQLite's single writer
//! makes unnecessary (`FOR UPDATE`, `FOR UPDATE SKIP LOCKED` on PostgreSQL).

mod accounts;
mod album;
mod copy;
pub use copy::{CopyReport, TABLES};
mod devices;
mod events;
mod grants;
mod jobs;
mod media;
mod notify;
mod rtsp;
mod sessions;

use std::time::Duration;

use async_trait::async_trait;
use kankan_base::{AccountId, BlobId, JobId, SessionId, StaffId, Timestamp};
use sqlx::AnyPool;
use sqlx::Row;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};

use crate::{
    Account, AccountState, AlbumItem, BindToken, CodePurpose, CommandStatus, DbError, Device,
    DeviceCommand, DeviceGrant, DeviceState, Event, EventFilter, Job, JobStatus, LoginEvent,
    LoginFailures, MIGRATIONS, MediaInit, MediaKey, MediaUsage, NewJob, NewSegment, Recorded,
    Removed, RtspCamera, Segment, Session, Span, Staff, Store, VerificationCode,
};

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
                                 PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
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

    pub fn engine(&self) -> Engine {
        self.engine
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

    async fn insert_account(&self, a: &Account) -> R<()> {
        accounts::insert(&self.pool, a).await
    }
    async fn account(&self, id: AccountId) -> R<Option<Account>> {
        accounts::by_id(&self.pool, id).await
    }
    async fn account_by_contact(&self, idx: &[u8]) -> R<Option<Account>> {
        accounts::by_contact(&self.pool, idx).await
    }
    async fn replace_pending_password(&self, id: AccountId, hash: &str) -> R<()> {
        accounts::replace_pending_password(&self.pool, id, hash).await
    }
    async fn activate_account(&self, id: AccountId, at: Timestamp) -> R<()> {
        accounts::activate(&self.pool, id, at).await
    }
    async fn set_password(
        &self,
        id: AccountId,
        hash: &str,
        keep: Option<SessionId>,
        at: Timestamp,
    ) -> R<()> {
        accounts::set_password(&self.pool, id, hash, keep, at).await
    }
    async fn set_nickname(&self, id: AccountId, enc: Option<&[u8]>) -> R<()> {
        accounts::set_nickname(&self.pool, id, enc).await
    }
    async fn set_avatar(&self, id: AccountId, blob: Option<BlobId>) -> R<Option<BlobId>> {
        accounts::set_avatar(&self.pool, id, blob).await
    }
    async fn set_account_state(
        &self,
        id: AccountId,
        state: AccountState,
        reason: Option<&str>,
        at: Timestamp,
    ) -> R<()> {
        accounts::set_state(&self.pool, id, state, reason, at).await
    }

    async fn insert_code(&self, c: &VerificationCode) -> R<()> {
        accounts::insert_code(&self.pool, c).await
    }
    async fn latest_code(&self, p: CodePurpose, idx: &[u8]) -> R<Option<VerificationCode>> {
        accounts::latest_code(&self.pool, p, idx).await
    }
    async fn add_code_attempt(&self, id: uuid::Uuid) -> R<u32> {
        accounts::add_code_attempt(&self.pool, id).await
    }
    async fn consume_code(&self, id: uuid::Uuid, at: Timestamp) -> R<bool> {
        accounts::consume_code(&self.pool, id, at).await
    }

    async fn insert_session(&self, s: &Session) -> R<()> {
        sessions::insert(&self.pool, s).await
    }
    async fn session_by_token(&self, h: &[u8; 32], now: Timestamp) -> R<Option<Session>> {
        sessions::by_token(&self.pool, h, now).await
    }
    async fn touch_session(&self, id: SessionId, at: Timestamp) -> R<()> {
        sessions::touch(&self.pool, id, at).await
    }
    async fn sessions_of(&self, account: AccountId, now: Timestamp) -> R<Vec<Session>> {
        sessions::of_account(&self.pool, account, now).await
    }
    async fn revoke_session(&self, account: AccountId, id: SessionId, at: Timestamp) -> R<bool> {
        sessions::revoke(&self.pool, account, id, at).await
    }
    async fn insert_login_event(&self, e: &LoginEvent) -> R<()> {
        sessions::insert_login_event(&self.pool, e).await
    }
    async fn login_events(&self, account: AccountId, limit: u32) -> R<Vec<LoginEvent>> {
        sessions::login_events(&self.pool, account, limit).await
    }
    async fn device_known(&self, account: AccountId, mac: &[u8]) -> R<bool> {
        sessions::device_known(&self.pool, account, mac).await
    }
    async fn login_failures(&self, idx: &[u8]) -> R<Option<LoginFailures>> {
        sessions::login_failures(&self.pool, idx).await
    }
    async fn put_login_failures(&self, idx: &[u8], f: &LoginFailures) -> R<()> {
        sessions::put_login_failures(&self.pool, idx, f).await
    }
    async fn clear_login_failures(&self, idx: &[u8]) -> R<()> {
        sessions::clear_login_failures(&self.pool, idx).await
    }

    async fn insert_staff(&self, s: &Staff) -> R<()> {
        accounts::insert_staff(&self.pool, s).await
    }
    async fn staff_by_username(&self, username: &str) -> R<Option<Staff>> {
        accounts::staff_by_username(&self.pool, username).await
    }
    async fn insert_staff_session(
        &self,
        staff: StaffId,
        token_hash: &[u8; 32],
        now: Timestamp,
        expires_at: Timestamp,
    ) -> R<()> {
        accounts::insert_staff_session(&self.pool, staff, token_hash, now, expires_at).await
    }
    async fn staff_by_session(&self, token_hash: &[u8; 32], now: Timestamp) -> R<Option<Staff>> {
        accounts::staff_by_session(&self.pool, token_hash, now).await
    }

    async fn enqueue_job(&self, job: &NewJob, now: Timestamp) -> R<()> {
        jobs::enqueue(&self.pool, job, now).await
    }
    async fn claim_job(&self, q: &str, now: Timestamp, lease: Timestamp) -> R<Option<Job>> {
        jobs::claim(&self.pool, q, now, lease).await
    }
    async fn complete_job(&self, id: JobId, at: Timestamp) -> R<()> {
        jobs::complete(&self.pool, id, at).await
    }
    async fn retry_job(&self, id: JobId, run_after: Timestamp, error: &str) -> R<()> {
        jobs::retry(&self.pool, id, run_after, error).await
    }
    async fn abort_job(&self, id: JobId, error: &str, at: Timestamp) -> R<()> {
        jobs::abort(&self.pool, id, error, at).await
    }
    async fn job_status(&self, id: JobId) -> R<Option<JobStatus>> {
        jobs::status(&self.pool, id).await
    }

    async fn insert_devices(&self, d: &[Device]) -> R<()> {
        devices::insert_devices(&self.pool, d).await
    }
    async fn device(&self, uid: &str) -> R<Option<Device>> {
        devices::device(&self.pool, uid).await
    }
    async fn devices_of(&self, owner: AccountId) -> R<Vec<Device>> {
        devices::devices_of(&self.pool, owner).await
    }
    async fn insert_bind_token(&self, t: &BindToken) -> R<()> {
        devices::insert_bind_token(&self.pool, t).await
    }
    async fn claim_device(&self, h: &[u8; 32], uid: &str, now: Timestamp) -> R<AccountId> {
        devices::claim(&self.pool, h, uid, now).await
    }
    async fn unbind_device(&self, uid: &str, owner: AccountId) -> R<bool> {
        devices::unbind(&self.pool, uid, owner).await
    }
    async fn set_device_name(&self, uid: &str, owner: AccountId, enc: &[u8]) -> R<()> {
        devices::set_name(&self.pool, uid, owner, enc).await
    }
    async fn insert_device_grant(&self, grant: &DeviceGrant) -> R<()> {
        grants::insert(&self.pool, grant).await
    }
    async fn device_grants_of(
        &self,
        uid: &str,
        account: AccountId,
        now: Timestamp,
    ) -> R<Vec<DeviceGrant>> {
        grants::live_of(&self.pool, uid, account, now).await
    }
    async fn revoke_device_grant(&self, id: uuid::Uuid, at: Timestamp) -> R<bool> {
        grants::revoke(&self.pool, id, at).await
    }
    async fn device_state(&self, uid: &str) -> R<Option<DeviceState>> {
        devices::state(&self.pool, uid).await
    }
    async fn put_reported(&self, uid: &str, enc: &[u8], v: u64, at: Timestamp) -> R<()> {
        devices::put_reported(&self.pool, uid, enc, v, at).await
    }
    async fn set_desired(&self, uid: &str, enc: &[u8]) -> R<u64> {
        devices::set_desired(&self.pool, uid, enc).await
    }
    async fn set_presence(&self, uid: &str, online: bool, at: Timestamp) -> R<()> {
        devices::set_presence(&self.pool, uid, online, at).await
    }
    async fn insert_command(&self, c: &DeviceCommand) -> R<()> {
        devices::insert_command(&self.pool, c).await
    }
    async fn finish_command(
        &self,
        id: uuid::Uuid,
        uid: &str,
        status: CommandStatus,
        error: Option<&str>,
        at: Timestamp,
    ) -> R<bool> {
        devices::finish_command(&self.pool, id, uid, status, error, at).await
    }
    async fn command(&self, id: uuid::Uuid) -> R<Option<DeviceCommand>> {
        devices::command(&self.pool, id).await
    }

    async fn insert_rtsp_camera(&self, d: &Device, camera: &RtspCamera) -> R<()> {
        rtsp::insert(&self.pool, d, camera).await
    }
    async fn rtsp_cameras(&self) -> R<Vec<RtspCamera>> {
        rtsp::all(&self.pool).await
    }

    async fn record_event(&self, event: &Event) -> R<Recorded> {
        events::record(&self.pool, event).await
    }

    async fn events(&self, account: AccountId, filter: &EventFilter) -> R<Vec<Event>> {
        events::of_account(&self.pool, account, filter).await
    }

    async fn event(&self, account: AccountId, id: uuid::Uuid) -> R<Option<Event>> {
        events::one(&self.pool, account, id).await
    }

    async fn mark_event_read(&self, account: AccountId, id: uuid::Uuid, at: Timestamp) -> R<bool> {
        events::mark_read(&self.pool, account, id, at).await
    }

    async fn delete_event(&self, account: AccountId, id: uuid::Uuid, at: Timestamp) -> R<bool> {
        events::delete(&self.pool, account, id, at).await
    }

    async fn expire_events(&self, cutoff: Timestamp) -> R<u64> {
        events::expire(&self.pool, cutoff).await
    }

    async fn put_event_thumbnail(&self, id: uuid::Uuid, jpeg_enc: &[u8], at: Timestamp) -> R<bool> {
        events::put_thumbnail(&self.pool, id, jpeg_enc, at).await
    }

    async fn event_thumbnail(&self, account: AccountId, id: uuid::Uuid) -> R<Option<Vec<u8>>> {
        events::thumbnail(&self.pool, account, id).await
    }

    async fn insert_album_item(&self, item: &AlbumItem) -> R<()> {
        album::insert(&self.pool, item).await
    }
    async fn album_items(&self, account: AccountId, limit: u32) -> R<Vec<AlbumItem>> {
        album::of_account(&self.pool, account, limit).await
    }
    async fn album_item(&self, account: AccountId, id: uuid::Uuid) -> R<Option<AlbumItem>> {
        album::one(&self.pool, account, id).await
    }
    async fn delete_album_item(
        &self,
        account: AccountId,
        id: uuid::Uuid,
        at: Timestamp,
    ) -> R<bool> {
        album::delete(&self.pool, account, id, at).await
    }

    async fn put_push_subscription(&self, sub: &crate::PushSubscriptionRow) -> R<uuid::Uuid> {
        notify::put_subscription(&self.pool, sub).await
    }
    async fn delete_push_subscription(&self, account: AccountId, idx: &[u8]) -> R<bool> {
        notify::delete_subscription(&self.pool, account, idx).await
    }
    async fn delete_push_subscription_by_id(&self, id: uuid::Uuid) -> R<bool> {
        notify::delete_subscription_by_id(&self.pool, id).await
    }
    async fn push_subscriptions(&self, account: AccountId) -> R<Vec<crate::PushSubscriptionRow>> {
        notify::subscriptions(&self.pool, account).await
    }
    async fn push_subscription(&self, id: uuid::Uuid) -> R<Option<crate::PushSubscriptionRow>> {
        notify::subscription(&self.pool, id).await
    }
    async fn notification_settings(
        &self,
        account: AccountId,
    ) -> R<Option<crate::NotificationSettingsRow>> {
        notify::settings(&self.pool, account).await
    }
    async fn put_notification_settings(
        &self,
        account: AccountId,
        settings: &crate::NotificationSettingsRow,
        at: Timestamp,
    ) -> R<()> {
        notify::put_settings(&self.pool, account, settings, at).await
    }
    async fn device_notification_settings(
        &self,
        account: AccountId,
        uid: &str,
    ) -> R<Option<crate::DeviceNotificationRow>> {
        notify::device_settings(&self.pool, account, uid).await
    }
    async fn put_device_notification_settings(
        &self,
        account: AccountId,
        uid: &str,
        settings: &crate::DeviceNotificationRow,
    ) -> R<()> {
        notify::put_device_settings(&self.pool, account, uid, settings).await
    }
    async fn insert_webhook(&self, webhook: &crate::WebhookRow) -> R<()> {
        notify::insert_webhook(&self.pool, webhook).await
    }
    async fn webhooks(&self, account: AccountId) -> R<Vec<crate::WebhookRow>> {
        notify::webhooks(&self.pool, account).await
    }
    async fn webhook(&self, id: uuid::Uuid) -> R<Option<crate::WebhookRow>> {
        notify::webhook(&self.pool, id).await
    }
    async fn delete_webhook(&self, account: AccountId, id: uuid::Uuid) -> R<bool> {
        notify::delete_webhook(&self.pool, account, id).await
    }
    async fn insert_delivery(&self, delivery: &crate::Delivery) -> R<bool> {
        notify::insert_delivery(&self.pool, delivery).await
    }
    async fn deliveries(&self, account: AccountId, event: uuid::Uuid) -> R<Vec<crate::Delivery>> {
        notify::deliveries(&self.pool, account, event).await
    }
    async fn account_deliveries(
        &self,
        account: AccountId,
        status: Option<crate::DeliveryStatus>,
        limit: u32,
    ) -> R<Vec<crate::Delivery>> {
        notify::account_deliveries(&self.pool, account, status, limit).await
    }
    async fn mark_event_dispatched(&self, id: uuid::Uuid, at: Timestamp) -> R<bool> {
        notify::mark_dispatched(&self.pool, id, at).await
    }
    async fn undispatched_events(
        &self,
        from: Timestamp,
        before: Timestamp,
        limit: u32,
    ) -> R<Vec<Event>> {
        notify::undispatched(&self.pool, from, before, limit).await
    }
    async fn server_secret_or_insert(
        &self,
        name: &str,
        value_enc: &[u8],
        at: Timestamp,
    ) -> R<Vec<u8>> {
        notify::server_secret(&self.pool, name, value_enc, at).await
    }

    async fn media_key(&self, uid: &str) -> R<Option<MediaKey>> {
        media::media_key(&self.pool, uid).await
    }
    async fn put_media_key(&self, key: &MediaKey) -> R<MediaKey> {
        media::put_media_key(&self.pool, key).await
    }
    async fn put_media_init(&self, init: &MediaInit) -> R<MediaInit> {
        media::put_media_init(&self.pool, init).await
    }
    async fn media_init(&self, id: i64) -> R<Option<MediaInit>> {
        media::media_init(&self.pool, id).await
    }
    async fn insert_segment(&self, seg: &NewSegment) -> R<Option<i64>> {
        media::insert_segment(&self.pool, seg).await
    }

    async fn replace_segment(&self, old: i64, seg: &NewSegment, now: Timestamp) -> R<Option<i64>> {
        media::replace_segment(&self.pool, old, seg, now).await
    }
    async fn segment(&self, id: i64) -> R<Option<Segment>> {
        media::segment(&self.pool, id).await
    }
    async fn segments(
        &self,
        uid: &str,
        stream: u8,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> R<Vec<Segment>> {
        media::segments(&self.pool, uid, stream, from, to, limit).await
    }
    async fn spans(&self, uid: &str, stream: u8, from: Timestamp, to: Timestamp) -> R<Vec<Span>> {
        media::spans(&self.pool, uid, stream, from, to).await
    }
    async fn protect_segments(
        &self,
        uid: &str,
        from: Timestamp,
        to: Timestamp,
        until: Timestamp,
    ) -> R<u64> {
        media::protect(&self.pool, uid, from, to, until).await
    }
    async fn expire_segments(&self, cutoff: Timestamp, now: Timestamp, limit: u32) -> R<Removed> {
        media::expire(&self.pool, cutoff, now, limit).await
    }
    async fn evict_segments(&self, account: AccountId, bytes: u64, now: Timestamp) -> R<Removed> {
        media::evict(&self.pool, account, bytes, now).await
    }
    async fn media_usage(&self, account: AccountId) -> R<MediaUsage> {
        media::usage(&self.pool, account).await
    }
    async fn accounts_over_quota(&self, quota: u64) -> R<Vec<(AccountId, u64)>> {
        media::over_quota(&self.pool, quota).await
    }
    async fn trashed_blobs(&self, limit: u32) -> R<Vec<BlobId>> {
        media::trashed(&self.pool, limit).await
    }
    async fn forget_trash(&self, blobs: &[BlobId]) -> R<()> {
        media::forget_trash(&self.pool, blobs).await
    }
}
