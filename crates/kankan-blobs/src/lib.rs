//! Where blobs (sealed segments, exports, Album items, thumbnails) live: a local directory
//! (`kankan_db::LocalBlobStore`, the embedded default) or an S3-compatible object store
//! ([`S3BlobStore`]), chosen by `[blobs]` ([`BlobsConfig`]). Both hold the same bytes under the
//! same names (`<id>.blob`): what Kankan stores is sealed before it reaches either, so the
//! object store sees exactly what the disk would.
//!
//! [`testing`] starts a real S3 server (moto) for tests.

mod config;
mod copy;
mod s3;
pub mod testing;

use std::path::Path;
use std::sync::Arc;

use kankan_db::{BlobStore, LocalBlobStore};

pub use config::{BlobsConfig, Location};
pub use copy::{CopyReport, copy_dir};
pub use s3::S3BlobStore;

/// Why a blob store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum BlobsError {
    #[error("blobs: {0}")]
    Config(String),
    #[error("blobs: {0}")]
    Local(#[from] kankan_db::DbError),
}

/// HTTP clients here use rustls with the *ring* provider (the workspace's choice); installs it
/// as the process default where nothing else did yet.
fn tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Opens the store `cfg` names; a relative directory (and the default, `blobs`) is under
/// `data_dir`.
pub fn open(cfg: &BlobsConfig, data_dir: &Path) -> Result<Arc<dyn BlobStore>, BlobsError> {
    Ok(match cfg.location()? {
        Location::Dir(dir) => Arc::new(LocalBlobStore::new(data_dir.join(dir))?),
        Location::S3 { .. } => Arc::new(S3BlobStore::open(cfg)?),
    })
}
