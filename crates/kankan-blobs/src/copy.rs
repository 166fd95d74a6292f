//! Moving a box's blob directory into another store (its S3 bucket, when a household box
//! becomes a node pool): `kankan admin store copy-blobs`.

use std::path::Path;

use kankan_base::BlobId;
use kankan_db::{BlobStore, DbError};

/// What a copy did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Blobs written to the target.
    pub copied: u64,
    /// Blobs the target already held, left alone (a copy run again after an interruption).
    pub present: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Files in the directory that are not blobs (`<id>.blob`), left alone.
    pub other: u64,
}

/// Copies every `<id>.blob` file of `dir` into `to` under the same id, skipping those `to`
/// already holds; the directory is only read. Safe to run again after an interruption.
pub async fn copy_dir(dir: &Path, to: &dyn BlobStore) -> Result<CopyReport, DbError> {
    let mut report = CopyReport::default();
    let mut entries = tokio::fs::read_dir(dir).await?;
    while let Some(e) = entries.next_entry().await? {
        let path = e.path();
        let id = path
            .extension()
            .filter(|x| *x == "blob")
            .and(path.file_stem())
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse::<BlobId>().ok());
        let Some(id) = id.filter(|_| path.is_file()) else {
            report.other += 1;
            continue;
        };
        if to.exists(id).await? {
            report.present += 1;
            continue;
        }
        let bytes = tokio::fs::read(&path).await?;
        report.bytes += bytes.len() as u64;
        to.put(id, bytes).await?;
        report.copied += 1;
    }
    Ok(report)
}
