//! Sealed content files: what the server keeps for an account besides recordings (Album
//! items, data exports), written as it is produced into a file of the segment format
//! (`segfile`) under a fresh data key of its own, then moved into the blob store.
//!
//! The file's header names what it holds (`label`: a camera's UID for an Album item, the
//! export for a part of one) and a part number; both are in every record's associated data and
//! the key is bound to the blob id, so a file opens only as the part it was written as.
//! Memory stays at about one record ([`RECORD_BYTES`]) while writing.

use std::path::PathBuf;

use kankan_base::{BlobId, Timestamp};
use kankan_crypto::AeadKey;
use kankan_db::BlobStore;

use crate::CoreError;
use crate::segfile::{self, SegHeader, SegWriter};

/// Content is sealed in records of this size.
pub const RECORD_BYTES: usize = 1024 * 1024;

/// Runs file work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, CoreError> + Send + 'static,
) -> Result<T, CoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CoreError::Internal(format!("sealed file task: {e}")))?
}

/// Content being sealed into a staging file, record by record. Dropped before it is stored,
/// it deletes its file.
pub struct Sealing {
    writer: Option<SegWriter>,
    blob: BlobId,
    key: AeadKey,
    buf: Vec<u8>,
    len: u64,
}

impl Sealing {
    /// A new file in `dir` (keep it on the blob store's disk) under `key`, labelled `label`
    /// (at most 255 bytes) as part `part`, dated `at`.
    pub async fn create(
        dir: PathBuf,
        label: &str,
        part: i64,
        at: Timestamp,
        key: AeadKey,
    ) -> Result<Sealing, CoreError> {
        if label.len() > usize::from(u8::MAX) {
            return Err(CoreError::Internal("sealed file label too long".into()));
        }
        let header = SegHeader { uid: label.to_string(), stream: 0, init_id: part, start_ms: at.0 };
        let k = key.clone();
        let writer = blocking(move || SegWriter::create(&dir, header, k)).await?;
        Ok(Sealing { blob: writer.blob, writer: Some(writer), key, buf: Vec::new(), len: 0 })
    }

    /// The blob it is stored as.
    pub fn blob(&self) -> BlobId {
        self.blob
    }

    /// The data key it is sealed under.
    pub fn key(&self) -> &AeadKey {
        &self.key
    }

    /// Clear bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub async fn write(&mut self, mut data: &[u8]) -> Result<(), CoreError> {
        self.len += data.len() as u64;
        while !data.is_empty() {
            let n = (RECORD_BYTES - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.buf.len() == RECORD_BYTES {
                self.flush().await?;
            }
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), CoreError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut w = self.writer.take().ok_or_else(|| CoreError::Internal("sealed file".into()))?;
        let record = std::mem::take(&mut self.buf);
        let w = blocking(move || w.append(&record, 0, 0, false).map(|()| w)).await?;
        self.writer = Some(w);
        Ok(())
    }

    /// Makes the file durable and moves it into the blob store.
    pub async fn store(mut self, blobs: &dyn BlobStore) -> Result<(), CoreError> {
        self.flush().await?;
        let w = self.writer.take().ok_or_else(|| CoreError::Internal("sealed file".into()))?;
        let path = blocking(move || w.seal()).await?;
        if let Err(e) = blobs.put_file(self.blob, &path).await {
            let _ = std::fs::remove_file(&path);
            return Err(e.into());
        }
        Ok(())
    }
}

impl Drop for Sealing {
    fn drop(&mut self) {
        if let Some(w) = self.writer.take() {
            let _ = w.discard();
        }
    }
}

/// Opens a stored file [`Sealing`] wrote: its content, checked to be part `part` of `label`.
pub async fn open_sealed(
    blobs: &dyn BlobStore,
    blob: BlobId,
    key: &AeadKey,
    label: &str,
    part: i64,
) -> Result<Vec<u8>, CoreError> {
    let sealed = blobs
        .get(blob)
        .await?
        .ok_or_else(|| CoreError::RecordingDamaged(format!("sealed file {blob} is missing")))?;
    let (key, label) = (key.clone(), label.to_string());
    blocking(move || {
        let (header, records) = segfile::open_segment(&sealed, blob, &key)?;
        if header.uid != label || header.init_id != part {
            return Err(CoreError::RecordingDamaged(format!(
                "sealed file {blob} is not part {part} of what was asked for"
            )));
        }
        Ok(records.concat())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn content_is_sealed_in_records_and_reads_back_whole() {
        let dir = tempfile::tempdir().expect("tmp");
        let staging = dir.path().join("staging");
        std::fs::create_dir_all(&staging).expect("staging");
        let blobs = kankan_db::LocalBlobStore::new(dir.path().join("blobs")).expect("blobs");
        // Two and a half records, written in uneven pieces.
        let content: Vec<u8> = (0..RECORD_BYTES * 5 / 2).map(|i| (i % 251) as u8).collect();
        let key = AeadKey::generate().expect("key");
        let mut file = Sealing::create(staging.clone(), "KKALBUM0001", 0, Timestamp(7), key)
            .await
            .expect("create");
        for piece in content.chunks(300_001) {
            file.write(piece).await.expect("write");
        }
        assert_eq!(file.len(), content.len() as u64);
        let (blob, key) = (file.blob(), file.key().clone());
        file.store(&blobs).await.expect("store");
        assert!(std::fs::read_dir(&staging).expect("ls").next().is_none(), "nothing left staged");
        let sealed = blobs.get(blob).await.expect("get").expect("stored");
        assert!(!sealed.windows(64).any(|w| w == &content[..64]), "sealed, not in clear");
        let (header, records) = segfile::open_segment(&sealed, blob, &key).expect("opens");
        assert_eq!((header.uid.as_str(), header.start_ms), ("KKALBUM0001", 7));
        assert_eq!(records.len(), 3, "whole records of {RECORD_BYTES} bytes, then the rest");
        assert_eq!(records.concat(), content);
        assert!(segfile::open_segment(&sealed, BlobId::new(), &key).is_err(), "bound to its blob");
    }

    #[tokio::test]
    async fn a_file_opens_only_as_the_part_it_was_written_as() {
        let dir = tempfile::tempdir().expect("tmp");
        let blobs = kankan_db::LocalBlobStore::new(dir.path().join("blobs")).expect("blobs");
        let key = AeadKey::generate().expect("key");
        let mut file = Sealing::create(dir.path().into(), "export/a", 3, Timestamp(0), key.clone())
            .await
            .expect("create");
        file.write(b"zip bytes").await.expect("write");
        let blob = file.blob();
        file.store(&blobs).await.expect("store");
        let back = open_sealed(&blobs, blob, &key, "export/a", 3).await.expect("opens");
        assert_eq!(back, b"zip bytes");
        assert!(open_sealed(&blobs, blob, &key, "export/a", 2).await.is_err(), "another part");
        assert!(open_sealed(&blobs, blob, &key, "export/b", 3).await.is_err(), "another export");
        let other = AeadKey::generate().expect("key");
        assert!(open_sealed(&blobs, blob, &other, "export/a", 3).await.is_err(), "another key");
    }

    #[tokio::test]
    async fn content_dropped_before_it_is_stored_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("tmp");
        let key = AeadKey::generate().expect("key");
        let mut file =
            Sealing::create(dir.path().to_path_buf(), "KKALBUM0001", 0, Timestamp(7), key)
                .await
                .expect("create");
        file.write(&[1; 2 * RECORD_BYTES]).await.expect("write");
        drop(file);
        assert!(std::fs::read_dir(dir.path()).expect("ls").next().is_none());
    }
}
