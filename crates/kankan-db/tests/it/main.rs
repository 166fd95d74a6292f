//! The `Store` contract, run against SQLite (PostgreSQL joins when its implementation lands).

mod album;
mod blobs;
mod contract;
mod devices;
mod events;
mod grants;
mod media;
mod notify;
mod rtsp;
mod tidy;

use std::sync::Arc;

use kankan_db::Store;

/// A migrated store in a fresh temporary directory.
pub async fn store() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let s = kankan_db::open(&url).await.expect("open");
    s.migrate().await.expect("migrate");
    (s, dir)
}
