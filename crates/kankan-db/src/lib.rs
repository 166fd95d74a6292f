//! Persistence: the [`Store`] trait over the metadata database, and the [`BlobStore`] for
//! opaque objects (avatars, video segments).
//!
//! Invariant: only this crate runs SQL. Transactions begin and end inside one `Store` method.
//! Portable SQL only (`ON CONFLICT`, `RETURNING`, integer milliseconds, BLOB/`bytea`), so the
//! PostgreSQL implementation can follow without changing callers.

mod album;
pub mod blob;
mod error;
mod events;
mod grants;
mod media;
mod migrate;
mod model;
mod notify;
mod rtsp;
pub mod sqlite;
mod store;

pub use album::{AlbumItem, AlbumKind};
pub use blob::{BlobStore, LocalBlobStore};
pub use error::DbError;
pub use events::{EVENT_RETENTION_MS, Event, EventFilter, EventKind, Recorded};
pub use grants::DeviceGrant;
pub use media::*;
pub use migrate::{MIGRATIONS, Migration};
pub use model::*;
pub use notify::{
    Delivery, DeliveryStatus, DeviceNotificationRow, NotificationSettingsRow, PushSubscriptionRow,
    WebhookRow,
};
pub use rtsp::RtspCamera;
pub use sqlite::SqliteStore;
pub use store::Store;

use std::sync::Arc;

/// Opens the store named by `url` (`sqlite://path`), creating it if missing, without
/// migrating.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, DbError> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else {
        Err(DbError::Config(format!(
            "unsupported database url scheme in {:?}: this build supports sqlite:// only",
            url.split(':').next().unwrap_or_default()
        )))
    }
}
