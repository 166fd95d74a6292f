//! Opaque object storage. Callers encrypt before they put: the blob store never sees
//! plaintext personal data.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use kankan_base::BlobId;

use crate::DbError;

#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` under `id` atomically: readers see all of it or nothing.
    async fn put(&self, id: BlobId, bytes: Vec<u8>) -> Result<(), DbError>;
    async fn get(&self, id: BlobId) -> Result<Option<Vec<u8>>, DbError>;
    /// Removes the object; absent objects are not an error.
    async fn delete(&self, id: BlobId) -> Result<(), DbError>;
    /// Whether the object is stored (without reading it, where the store can).
    async fn exists(&self, id: BlobId) -> Result<bool, DbError> {
        Ok(self.get(id).await?.is_some())
    }
    /// Moves a complete local file in as object `id` (the file is gone afterwards). Stores
    /// on the same disk rename it; others upload it.
    async fn put_file(&self, id: BlobId, path: &Path) -> Result<(), DbError> {
        let bytes = tokio::fs::read(path).await?;
        self.put(id, bytes).await?;
        tokio::fs::remove_file(path).await?;
        Ok(())
    }
}

/// Blobs as files under one directory: write to a temp file, fsync, rename, fsync the
/// directory, so a crash leaves either the old state or the new one.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    dir: PathBuf,
}

impl LocalBlobStore {
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, DbError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        Ok(LocalBlobStore { dir })
    }

    fn path(&self, id: BlobId) -> PathBuf {
        self.dir.join(format!("{id}.blob"))
    }
}

fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    async fn put(&self, id: BlobId, bytes: Vec<u8>) -> Result<(), DbError> {
        let (dir, path) = (self.dir.clone(), self.path(id));
        tokio::task::spawn_blocking(move || write_atomically(&dir, &path, &bytes))
            .await
            .map_err(|e| DbError::Io(std::io::Error::other(e)))??;
        Ok(())
    }

    async fn get(&self, id: BlobId) -> Result<Option<Vec<u8>>, DbError> {
        match tokio::fs::read(self.path(id)).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn put_file(&self, id: BlobId, path: &Path) -> Result<(), DbError> {
        let (dir, from, to) = (self.dir.clone(), path.to_path_buf(), self.path(id));
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            match std::fs::rename(&from, &to) {
                Ok(()) => std::fs::File::open(&dir)?.sync_all(),
                // Another file system: copy durably, then drop the source.
                Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
                    write_atomically(&dir, &to, &std::fs::read(&from)?)?;
                    std::fs::remove_file(&from)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && to.exists() => Ok(()),
                Err(e) => Err(e),
            }
        })
        .await
        .map_err(|e| DbError::Io(std::io::Error::other(e)))??;
        Ok(())
    }

    async fn exists(&self, id: BlobId) -> Result<bool, DbError> {
        Ok(tokio::fs::try_exists(self.path(id)).await?)
    }

    async fn delete(&self, id: BlobId) -> Result<(), DbError> {
        match tokio::fs::remove_file(self.path(id)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
