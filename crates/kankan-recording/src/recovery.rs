//! Start-up recovery: finish every segment a crash interrupted, then delete trashed blobs.

use kankan_base::BlobId;

use super::Recordings;
use super::ingest::blocking;
use super::segfile;
use crate::CoreError;

/// What recovery found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Segments finished and indexed.
    pub recovered: u64,
    /// Journal files with nothing usable (or of devices no longer bound), removed.
    pub dropped: u64,
}

impl Recordings {
    /// Runs before ingest starts: journals are cut to their last whole, authentic record,
    /// sealed and indexed; sealed files are indexed and moved into the blob store.
    pub async fn recover(&self) -> Result<RecoveryReport, CoreError> {
        self.recover_files(|_| true).await
    }

    /// Indexes sealed segments whose indexing failed (the database was busy, say) and that
    /// have waited at least a minute; run by the sweeper while ingests go on.
    pub(super) async fn retry_sealed(&self) -> Result<RecoveryReport, CoreError> {
        self.recover_files(|p| {
            let old = std::fs::metadata(p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() >= 60);
            old && p.extension().is_some_and(|e| e == "seal")
        })
        .await
    }

    async fn recover_files(
        &self,
        wanted: impl Fn(&std::path::Path) -> bool,
    ) -> Result<RecoveryReport, CoreError> {
        let dir = self.inner.journal.clone();
        let entries = blocking(move || {
            let mut v = Vec::new();
            for e in std::fs::read_dir(&dir).map_err(|e| CoreError::Internal(e.to_string()))? {
                let path = e.map_err(|e| CoreError::Internal(e.to_string()))?.path();
                v.push(path);
            }
            Ok(v)
        })
        .await?;
        let mut report = RecoveryReport::default();
        for path in entries {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
            let blob =
                path.file_stem().and_then(|s| s.to_str()).and_then(|s| s.parse::<BlobId>().ok());
            let (Some(blob), "jrnl" | "seal") = (blob, ext) else {
                continue;
            };
            if !wanted(&path) {
                continue;
            }
            match self.recover_one(&path, blob).await {
                Ok(true) => report.recovered += 1,
                Ok(false) => report.dropped += 1,
                Err(e) => tracing::error!(error = %e, file = %path.display(), "segment recovery"),
            }
        }
        self.empty_trash().await?;
        Ok(report)
    }

    async fn recover_one(&self, path: &std::path::Path, blob: BlobId) -> Result<bool, CoreError> {
        let p = path.to_path_buf();
        let header = blocking(move || segfile::read_header(&p)).await?;
        let device = self.inner.store.device(&header.uid).await?;
        let key = match device {
            Some(d) => match self.device_key(&d).await {
                Ok(k) => Some(k),
                Err(CoreError::DeviceNotBound) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let Some(key) = key else {
            let p = path.to_path_buf();
            blocking(move || {
                std::fs::remove_file(&p).map_err(|e| CoreError::Internal(e.to_string()))
            })
            .await?;
            return Ok(false);
        };
        let p = path.to_path_buf();
        let Some((sealed, h, totals)) = blocking(move || segfile::recover(&p, blob, &key)).await?
        else {
            return Ok(false);
        };
        match self.index_sealed(&sealed, blob, &h, totals, None).await {
            Ok(()) => Ok(true),
            Err(CoreError::DeviceNotBound) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
