//! The `Store` contract. It runs on SQLite, and on PostgreSQL when `KANKAN_TEST_ENGINE=postgres`
//! (the test command runs it both ways).

mod access;
mod album;
mod audit;
mod cluster;
mod console;
mod contract;
mod copy;
mod descriptions;
mod devices;
mod events;
mod exports;
mod faces;
mod grants;
mod help;
mod lifecycle;
mod media;
mod notify;
mod passkeys;
mod recording_modes;
mod rtsp;
mod second_factor;
mod sharing;
mod support;
mod tidy;

use std::sync::Arc;

use kankan_db::Store;

/// A migrated store in a fresh temporary directory.
pub async fn store() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let url = kankan_db::testing::fresh_database_url(dir.path()).await.expect("database");
    let s = kankan_db::open(&url).await.expect("open");
    s.migrate().await.expect("migrate");
    (s, dir)
}
