//! MP4 download of a range, streamed. A first pass reads the range's sample tables and keeps
//! no media; the file's header (`ftyp`, `moov` with every sample table, the `mdat` header) is
//! built from them; a second pass decrypts each segment again and sends its samples. Memory
//! stays at about one segment whatever the range.

use bytes::Bytes;
use kankan_base::Timestamp;
use kankan_db::Segment;
use kankan_media::{ExportRange, FragmentTable, Limits};
use tokio::sync::mpsc;

use super::Recordings;
use super::access::AccessKind;
use super::playback::{MAX_PLAYLIST_SEGMENTS, MAX_RANGE_MS, check_range, timed_indexed};
use crate::CoreError;
use kankan_core::authz::Capability;
use kankan_devices::DeviceHandle;

/// A download in progress: its length, then its bytes in order.
#[derive(Debug)]
pub struct Mp4Download {
    pub len: u64,
    /// Wall clock of the first fragment's start and of the last one's end: the footage the
    /// file holds (whole fragments, so it may reach a little outside the range asked for).
    pub start: Timestamp,
    pub end: Timestamp,
    pub chunks: mpsc::Receiver<Result<Bytes, CoreError>>,
}

/// Where the fragments of one segment sit in the export: their positions in the segment, in
/// order, and the export index of the first.
struct Picked {
    seg: Segment,
    local: Vec<usize>,
    first: usize,
}

impl Recordings {
    /// A progressive MP4 (moov first) of `[from, to)`, cut at fragment boundaries, up to the
    /// first change of init segment (`download`; logged as a download in the device's access
    /// log).
    pub async fn export_mp4(
        &self,
        h: &DeviceHandle,
        stream: u8,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Mp4Download, CoreError> {
        h.require(Capability::Download)?;
        check_range(from, to, MAX_RANGE_MS)?;
        let segs =
            self.inner.store.segments(h.uid(), stream, from, to, MAX_PLAYLIST_SEGMENTS).await?;
        let first = segs.first().ok_or(CoreError::NoRecording)?;
        let init =
            kankan_media::parse_init(&self.init_of(h, first.init_id).await?, &Limits::default())?;
        let key = self.key_with(h.device(), h.device_key()).await?;
        let init_id = first.init_id;
        let (mut tables, mut picked) = (Vec::new(), Vec::new());
        let (mut start_ms, mut end_ms) = (i64::MAX, i64::MIN);
        for seg in segs.into_iter().take_while(|s| s.init_id == init_id) {
            let frags = self.open_fragments(&seg, &key).await?;
            let mut local = Vec::new();
            let first = tables.len();
            for (i, f, start, end) in timed_indexed(&init, frags, &seg)? {
                if end > from.0 && start < to.0 {
                    (start_ms, end_ms) = (start_ms.min(start), end_ms.max(end));
                    local.push(i);
                    tables.push(FragmentTable::from(f));
                }
            }
            if !local.is_empty() {
                picked.push(Picked { seg, local, first });
            }
        }
        if tables.is_empty() {
            return Err(CoreError::NoRecording);
        }
        self.record_access(h, AccessKind::Download).await?;
        let plan = kankan_media::export_plan(&init, &tables)?;
        drop(tables);
        let (tx, chunks) = mpsc::channel(4);
        let len = plan.total_len;
        let this = self.clone();
        tokio::spawn(async move {
            let _ = tx.send(Ok(Bytes::from(plan.header))).await;
            if let Err(e) = this.send_samples(&plan.ranges, picked, &key, &tx).await {
                let _ = tx.send(Err(e)).await;
            }
        });
        Ok(Mp4Download { len, start: Timestamp(start_ms), end: Timestamp(end_ms), chunks })
    }

    /// The second pass: each segment decrypted once more, its planned ranges sent in order.
    async fn send_samples(
        &self,
        ranges: &[ExportRange],
        picked: Vec<Picked>,
        key: &kankan_crypto::AeadKey,
        tx: &mpsc::Sender<Result<Bytes, CoreError>>,
    ) -> Result<(), CoreError> {
        let mut ranges = ranges.iter().peekable();
        for p in picked {
            let frags = self.open_fragments(&p.seg, key).await?;
            for (k, local) in p.local.iter().enumerate() {
                let bytes = frags.get(*local).ok_or_else(changed)?;
                while let Some(r) = ranges.next_if(|r| r.fragment == p.first + k) {
                    let part = bytes.get(r.start..r.start + r.len).ok_or_else(changed)?;
                    if tx.send(Ok(Bytes::copy_from_slice(part))).await.is_err() {
                        return Ok(()); // the client went away
                    }
                }
            }
        }
        match ranges.next() {
            None => Ok(()),
            Some(_) => Err(changed()),
        }
    }
}

fn changed() -> CoreError {
    CoreError::Internal("a segment changed while it was being downloaded".into())
}
