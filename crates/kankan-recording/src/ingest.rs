//! Ingest: a device's fMP4 stream (live, over one long chunked request) or a stored
//! recording (backfill, one upload) becomes encrypted, keyframe-aligned segments, unless the
//! device records to its SD card only (see `modes`): then its live fragments only go to live
//! viewers and nothing is written.

use kankan_base::{BlobId, Timestamp};
use kankan_crypto::AeadKey;
use kankan_db::{Device, MediaInit, NewSegment, Segment};
use kankan_media::{Fragment, InitSegment, Limits, StreamItem, StreamParser};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::Recordings;
use super::segfile::{SegHeader, SegTotals, SegWriter};
use crate::CoreError;
use kankan_db::RecordingMode;

/// Largest segment, whatever its length in time.
const MAX_SEGMENT_BYTES: u64 = 32 * 1024 * 1024;
/// A jump in time bigger than this between fragments starts a new segment.
const MAX_GAP_MS: i64 = 1_000;
/// Video (ms) arriving between disk syncs at most: what a crash may lose.
const CHECKPOINT_MS: i64 = 1_000;
/// A backfilled GOP held in memory while deciding whether it replaces a cut segment.
const MAX_HELD_BYTES: usize = 16 * 1024 * 1024;

/// A fragment with its place in time.
struct Timed {
    f: Fragment,
    start: i64,
    end: i64,
    frames: u32,
    key: bool,
}

/// How a stream is offered.
#[derive(Debug, Clone, Copy, Default)]
pub struct IngestOptions {
    /// 0 main, 1 sub-stream.
    pub stream: u8,
    /// Wall-clock milliseconds at media time 0. Live streams without it are placed by the
    /// arrival of their first fragment; backfill must give it.
    pub epoch_ms: Option<i64>,
    /// A stored recording uploaded after an outage: fragments where footage exists already
    /// are skipped, and nothing is synced fragment by fragment.
    pub backfill: bool,
}

/// What one ingest accepted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestStats {
    pub fragments: u64,
    pub segments: u64,
    /// Fragments dropped: before the first keyframe, or already recorded (backfill).
    pub skipped: u64,
    pub bytes: u64,
    /// Fragments offered to live viewers only, not stored (card-only).
    pub relayed: u64,
}

/// One device stream being recorded.
pub struct Ingest {
    rec: Recordings,
    device: Device,
    /// The device's data key, once footage is stored.
    key: Option<AeadKey>,
    opts: IngestOptions,
    parser: StreamParser,
    /// The stream's init segment, with its row once stored.
    init: Option<(InitSegment, Option<i64>)>,
    /// Whether footage is stored (not card-only), as last decided.
    storing: bool,
    /// Marked when an owner changes a recording mode on this node.
    modes: watch::Receiver<()>,
    writer: Option<SegWriter>,
    next_ms: Option<i64>,
    /// Backfill: the segment the one in progress replaces.
    replacing: Option<i64>,
    /// Backfill: a segment (id, end ms) that may end inside a GOP, and the fragments of its
    /// range so far.
    held_for: Option<(i64, i64)>,
    held: Vec<Timed>,
    /// Asked to end at the next keyframe (`end_at_next_keyframe`), and ended there: that
    /// keyframe and all after it are left to the camera's next upload.
    end_at_key: bool,
    ended: bool,
    /// Media start (ms) of the last fragment synced to disk.
    synced_ms: Option<i64>,
    stats: IngestStats,
}

impl std::fmt::Debug for Ingest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ingest").field("uid", &self.device.uid).field("stats", &self.stats).finish()
    }
}

impl Recordings {
    /// Starts recording a stream of `uid`, which must be bound.
    pub async fn open_ingest(&self, uid: &str, opts: IngestOptions) -> Result<Ingest, CoreError> {
        if opts.stream > 1 {
            return Err(CoreError::InvalidDeviceInput("stream must be 0 (main) or 1 (sub)".into()));
        }
        if opts.backfill && opts.epoch_ms.is_none() {
            return Err(CoreError::InvalidMedia {
                code: "media-bad-time",
                message: "a backfill upload must say when its media time 0 was".into(),
            });
        }
        let device = self.inner.store.device(uid).await?.ok_or(CoreError::DeviceNotFound)?;
        let mut modes = self.inner.devices.recording_modes_changed();
        modes.borrow_and_update();
        let storing = self.effective_mode(&device).await? != RecordingMode::CardOnly;
        if !storing && opts.backfill {
            return Err(CoreError::RecordingCardOnly);
        }
        if device.owner.is_none() {
            return Err(CoreError::DeviceNotBound);
        }
        let key = if storing { Some(self.device_key(&device).await?) } else { None };
        Ok(Ingest {
            rec: self.clone(),
            device,
            key,
            opts,
            parser: StreamParser::new(Limits::default()),
            init: None,
            storing,
            modes,
            writer: None,
            next_ms: None,
            replacing: None,
            held_for: None,
            held: Vec::new(),
            end_at_key: false,
            ended: false,
            synced_ms: None,
            stats: IngestStats::default(),
        })
    }
}

fn no_video() -> CoreError {
    CoreError::InvalidMedia {
        code: "media-no-init",
        message: "media arrived before an init segment with a video track".into(),
    }
}

fn bad_time(message: String) -> CoreError {
    CoreError::InvalidMedia { code: "media-bad-time", message }
}

impl Ingest {
    pub fn stats(&self) -> IngestStats {
        self.stats
    }

    /// Feeds the next bytes of the stream; whole fragments are recorded as they complete.
    /// After an error, call [`Ingest::close`] to keep what was accepted before it.
    pub async fn push_bytes(&mut self, chunk: &[u8]) -> Result<(), CoreError> {
        for item in self.parser.push(chunk)? {
            match item {
                StreamItem::Init(init) => self.on_init(init).await?,
                StreamItem::Fragment(_) if self.ended => {}
                StreamItem::Fragment(f) => self.on_fragment(f).await?,
            }
        }
        Ok(())
    }

    /// Ends the stream before its next keyframe: what comes from it on is neither recorded
    /// nor relayed, so the camera's next upload, which starts with the GOP in progress,
    /// repeats nothing this one recorded (the server ending a long upload).
    pub fn end_at_next_keyframe(&mut self) {
        self.end_at_key = true;
    }

    /// Whether it ended at a keyframe as asked.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// The stream ended: a partial box at the end is an error, after what came before it is
    /// stored.
    pub async fn finish(mut self) -> Result<IngestStats, CoreError> {
        let parser = std::mem::replace(&mut self.parser, StreamParser::new(Limits::default()));
        let rest = parser.finish();
        let stats = self.close().await?;
        rest?;
        Ok(stats)
    }

    /// Stores the segment in progress and ends the ingest.
    pub async fn close(mut self) -> Result<IngestStats, CoreError> {
        if !self.opts.backfill {
            self.rec.live().end(&self.device.uid, self.opts.stream);
        }
        self.cut().await?;
        Ok(self.stats)
    }

    async fn on_init(&mut self, init: InitSegment) -> Result<(), CoreError> {
        self.cut().await?;
        init.video().ok_or_else(no_video)?;
        let id = match &self.key {
            Some(key) if self.storing => {
                Some(self.rec.store_init(&self.device.uid, key, &init).await?)
            }
            _ => None,
        };
        if !self.opts.backfill {
            self.rec.live().publish_init(&self.device.uid, self.opts.stream, init.bytes.clone());
        }
        self.init = Some((init, id));
        self.next_ms = None;
        Ok(())
    }

    async fn on_fragment(&mut self, f: Fragment) -> Result<(), CoreError> {
        let Some((init, _)) = &self.init else {
            return Err(no_video());
        };
        let video = init.video().ok_or_else(no_video)?;
        // Stored fragments are read back on their own, so their sample offsets must not
        // depend on where they sat in the upload.
        kankan_media::parse_fragment(init, &f.bytes, &Limits::default()).map_err(|e| {
            CoreError::InvalidMedia {
                code: "media-not-self-contained",
                message: format!(
                    "fragments must be self-contained (ffmpeg: -movflags \
                     frag_keyframe+empty_moov+default_base_moof): {e}"
                ),
            }
        })?;
        let Some(run) = f.video_run(init) else {
            // Audio only: it belongs to the segment in progress, if any.
            self.offer_live(&f, false);
            self.follow_mode(false).await?;
            if !self.storing {
                self.stats.relayed += 1;
                return Ok(());
            }
            return self.append(&f, 0, 0, false).await;
        };
        let scale = i128::from(video.timescale.max(1));
        let media_ms = |t: u64| i64::try_from(i128::from(t) * 1000 / scale).unwrap_or(i64::MAX);
        let now = self.rec.inner.clock.now().0;
        let epoch = *self.opts.epoch_ms.get_or_insert(now - media_ms(run.base_decode_time));
        let start = epoch.saturating_add(media_ms(run.base_decode_time));
        let end = epoch.saturating_add(media_ms(run.end_decode_time()));
        let cfg = &self.rec.inner.config;
        let segment_ms = i64::from(cfg.segment_secs) * 1000;
        if start > now + i64::from(cfg.max_clock_skew_secs) * 1000 {
            return Err(bad_time(format!("a fragment starts {} ms in the future", start - now)));
        }
        if start < now - cfg.retention_ms() {
            return Err(bad_time("a fragment is older than the retention period".into()));
        }
        let key = f.starts_with_keyframe(init);
        if key && self.end_at_key {
            self.ended = true;
            return Ok(());
        }
        let frames = u32::try_from(run.samples.len()).unwrap_or(u32::MAX);
        let timed = Timed { f, start, end, frames, key };
        // Viewers first: neither the mode's check nor the disk delays live view.
        self.offer_live(&timed.f, key);
        self.follow_mode(key).await?;
        if !self.storing {
            self.stats.relayed += 1;
            return Ok(());
        }
        if self.opts.backfill {
            return self.on_backfill(timed, segment_ms).await;
        }
        self.record(timed, segment_ms).await
    }

    /// A backfilled fragment: skipped where footage exists. A segment that a cut upload
    /// ended inside a GOP (followed by a gap) is recorded again whole, with the rest of that
    /// GOP, in its place, so no frame is lost or doubled.
    async fn on_backfill(&mut self, t: Timed, segment_ms: i64) -> Result<(), CoreError> {
        let (uid, stream) = (self.device.uid.clone(), self.opts.stream);
        let inside_held = self.held_for.is_some_and(|(_, end)| t.start < end);
        if t.key && !inside_held {
            self.held.clear();
            let short = self.rec.cut_short(&uid, stream, t.start).await?;
            self.held_for = short.map(|s| (s.id, s.end().0));
        }
        if self.rec.recorded(&uid, stream, t.start, t.end).await? {
            self.cut().await?;
            self.stats.skipped += 1;
            if self.held_for.is_some() {
                let bytes: usize = self.held.iter().map(|h| h.f.bytes.len()).sum();
                if bytes + t.f.bytes.len() > MAX_HELD_BYTES {
                    self.held_for = None;
                    self.held.clear();
                } else {
                    self.held.push(t);
                }
            }
            return Ok(());
        }
        if let Some((id, _)) = self.held_for.take().filter(|_| !t.key && !self.held.is_empty()) {
            // The GOP goes on past where the cut segment stopped.
            self.cut().await?;
            self.replacing = Some(id);
            for h in std::mem::take(&mut self.held) {
                self.stats.skipped = self.stats.skipped.saturating_sub(1);
                self.record(h, segment_ms).await?;
            }
        }
        self.record(t, segment_ms).await
    }

    /// Appends an accepted fragment to the segment in progress, cutting and starting segments
    /// at keyframes.
    async fn record(&mut self, t: Timed, segment_ms: i64) -> Result<(), CoreError> {
        let Timed { f, start, end, frames, key } = t;
        if let Some(w) = &self.writer {
            let gap = self.next_ms.is_some_and(|n| (start - n).abs() > MAX_GAP_MS);
            let long = key && i64::from(w.totals.duration_ms) >= segment_ms;
            if gap || long || w.totals.bytes > MAX_SEGMENT_BYTES {
                self.cut().await?;
            }
        }
        if self.writer.is_none() {
            if !key {
                self.stats.skipped += 1;
                return Ok(());
            }
            let header = SegHeader {
                uid: self.device.uid.clone(),
                stream: self.opts.stream,
                init_id: self.stored_init().await?,
                start_ms: start,
            };
            let key = self.key.clone().ok_or_else(|| CoreError::Internal("no data key".into()))?;
            let dir = self.rec.inner.journal.clone();
            self.writer = Some(blocking(move || SegWriter::create(&dir, header, key)).await?);
        }
        self.next_ms = Some(end);
        let dur = u32::try_from(end - start).unwrap_or(0);
        // Cameras send a fragment per frame for live view; the disk is synced at keyframes
        // and at least once a second of video, not per frame.
        let due = key || self.synced_ms.is_none_or(|s| start - s >= CHECKPOINT_MS);
        if due {
            self.synced_ms = Some(start);
        }
        self.append(&f, dur, frames, due).await
    }

    async fn append(
        &mut self,
        f: &Fragment,
        duration_ms: u32,
        frames: u32,
        sync_due: bool,
    ) -> Result<(), CoreError> {
        let Some(mut w) = self.writer.take() else {
            self.stats.skipped += 1;
            return Ok(());
        };
        let sync = sync_due && self.rec.inner.config.checkpoint && !self.opts.backfill;
        let bytes = f.bytes.clone();
        let w = if sync {
            blocking(move || w.append(&bytes, duration_ms, frames, true).map(|()| w)).await?
        } else {
            // A write into the page cache: microseconds, not worth a thread hop per frame.
            w.append(&bytes, duration_ms, frames, false)?;
            w
        };
        self.writer = Some(w);
        self.stats.fragments += 1;
        self.stats.bytes += f.bytes.len() as u64;
        Ok(())
    }

    /// Asks the device's recording mode again when an owner changed one on this node, and at
    /// keyframes (a change made on another node). Switching to card-only finishes the
    /// segment in progress with what arrived before the switch; nothing after it is stored.
    async fn follow_mode(&mut self, keyframe: bool) -> Result<(), CoreError> {
        let signalled = self.modes.has_changed().unwrap_or(false);
        if !signalled && !keyframe {
            return Ok(());
        }
        self.modes.borrow_and_update();
        let storing = self.rec.effective_mode(&self.device).await? != RecordingMode::CardOnly;
        if storing == self.storing {
            return Ok(());
        }
        if storing {
            if self.key.is_none() {
                self.key = Some(self.rec.device_key(&self.device).await?);
            }
        } else {
            self.cut().await?;
            if self.opts.backfill {
                return Err(CoreError::RecordingCardOnly);
            }
        }
        tracing::info!(uid = %self.device.uid, storing, "recording mode followed");
        self.storing = storing;
        Ok(())
    }

    /// Offers a live fragment to live viewers (before it is written, if it is).
    fn offer_live(&self, f: &Fragment, key: bool) {
        if !self.opts.backfill {
            self.rec.live().publish(&self.device.uid, self.opts.stream, f.bytes.clone(), key);
        }
    }

    /// The row of the stream's init segment, stored now if it arrived while nothing was
    /// stored.
    async fn stored_init(&mut self) -> Result<i64, CoreError> {
        let Some((init, id)) = &self.init else { return Err(no_video()) };
        if let Some(id) = id {
            return Ok(*id);
        }
        let key = self.key.as_ref().ok_or_else(|| CoreError::Internal("no data key".into()))?;
        let stored = self.rec.store_init(&self.device.uid, key, init).await?;
        if let Some((_, id)) = &mut self.init {
            *id = Some(stored);
        }
        Ok(stored)
    }

    /// Seals and indexes the segment in progress.
    async fn cut(&mut self) -> Result<(), CoreError> {
        let Some(w) = self.writer.take() else {
            return Ok(());
        };
        let replaces = self.replacing.take();
        if self.rec.commit(w, replaces).await? {
            self.stats.segments += 1;
        }
        Ok(())
    }
}

/// Runs file work off the async threads.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, CoreError> + Send + 'static,
) -> Result<T, CoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CoreError::Internal(format!("file task: {e}")))?
}

impl Recordings {
    /// Seals a finished segment file and indexes it, in place of segment `replaces` if
    /// given; false if it was empty. Once sealed, the segment is durable: when indexing or
    /// storing it fails (a busy database, an object store out of reach), the sealed file stays
    /// in the journal for the `sealed-retry` worker and the upload goes on.
    async fn commit(&self, w: SegWriter, replaces: Option<i64>) -> Result<bool, CoreError> {
        if w.totals.records == 0 {
            blocking(move || w.discard()).await?;
            return Ok(false);
        }
        let (blob, header, totals) = (w.blob, w.header.clone(), w.totals);
        let path = blocking(move || w.seal()).await?;
        match self.index_sealed(&path, blob, &header, totals, replaces).await {
            Ok(()) => Ok(true),
            Err(CoreError::DeviceNotBound) => Err(CoreError::DeviceNotBound),
            Err(e) => {
                tracing::warn!(error = %e, uid = %header.uid, "segment kept in the journal to store later");
                Ok(true)
            }
        }
    }

    /// The segment of that stream starting exactly at `start` and followed by a gap: what an
    /// upload cut inside a GOP leaves.
    async fn cut_short(
        &self,
        uid: &str,
        stream: u8,
        start: i64,
    ) -> Result<Option<Segment>, CoreError> {
        let store = &self.inner.store;
        let at = store.segments(uid, stream, Timestamp(start), Timestamp(start + 1), 1).await?;
        let Some(seg) = at.into_iter().next().filter(|s| s.start.0 == start) else {
            return Ok(None);
        };
        let end = seg.end();
        let next = store.segments(uid, stream, end, Timestamp(end.0 + 1), 1).await?;
        Ok(next.is_empty().then_some(seg))
    }

    /// Indexes a sealed segment file, then moves it into the blob store. Idempotent, so
    /// recovery can run it again after a crash.
    pub(super) async fn index_sealed(
        &self,
        path: &std::path::Path,
        blob: BlobId,
        h: &SegHeader,
        t: SegTotals,
        replaces: Option<i64>,
    ) -> Result<(), CoreError> {
        let s = &self.inner;
        let seg = NewSegment {
            uid: h.uid.clone(),
            stream: h.stream,
            init_id: h.init_id,
            start: Timestamp(h.start_ms),
            duration_ms: t.duration_ms,
            bytes: t.bytes,
            frames: t.frames,
            blob,
        };
        let indexed = match replaces {
            Some(old) => match s.store.replace_segment(old, &seg, s.clock.now()).await {
                // Gone meanwhile (retention): an ordinary insert then.
                Err(kankan_db::DbError::NotFound("segment")) => s.store.insert_segment(&seg).await,
                other => other,
            },
            None => s.store.insert_segment(&seg).await,
        };
        match indexed {
            Ok(Some(_)) => {}
            Ok(None) => {
                // That start is indexed: by this very file (a replayed journal, so move it
                // in) or by another one (this is a duplicate: drop it).
                let existing = s
                    .store
                    .segments(&h.uid, h.stream, seg.start, Timestamp(seg.start.0 + 1), 1)
                    .await?;
                if existing.first().is_none_or(|e| e.blob != blob) {
                    let p = path.to_path_buf();
                    blocking(move || {
                        std::fs::remove_file(&p).map_err(|e| CoreError::Internal(e.to_string()))
                    })
                    .await?;
                    return Ok(());
                }
            }
            Err(kankan_db::DbError::NotFound(_)) => {
                // Unbound meanwhile: its data key is gone, and so is this footage.
                let p = path.to_path_buf();
                blocking(move || {
                    std::fs::remove_file(&p).map_err(|e| CoreError::Internal(e.to_string()))
                })
                .await?;
                return Err(CoreError::DeviceNotBound);
            }
            Err(e) => return Err(e.into()),
        }
        s.blobs.put_file(blob, path).await?;
        Ok(())
    }

    /// Stores an init segment once per device (by digest) and returns its id.
    async fn store_init(
        &self,
        uid: &str,
        key: &AeadKey,
        init: &InitSegment,
    ) -> Result<i64, CoreError> {
        let s = &self.inner;
        let video = init.video().ok_or_else(no_video)?;
        let digest =
            Sha256::new().chain_update(uid.as_bytes()).chain_update(&init.bytes).finalize();
        // A camera sends the same init with every upload: stored once, looked up after.
        if let Some(row) = s.store.media_init_by_digest(uid, &digest).await? {
            return Ok(row.id);
        }
        let blob = BlobId::new();
        s.blobs.put(blob, key.seal(&init.bytes, &init_aad(uid, blob))?).await?;
        let row = s
            .store
            .put_media_init(&MediaInit {
                id: 0,
                uid: uid.to_string(),
                digest: digest.to_vec(),
                blob,
                codecs: init.mime_codecs(),
                width: u32::from(video.width),
                height: u32::from(video.height),
                created_at: s.clock.now(),
            })
            .await?;
        if row.blob != blob {
            s.blobs.delete(blob).await?;
        }
        Ok(row.id)
    }

    /// Whether footage of that stream exists in `[start, end)` already.
    async fn recorded(
        &self,
        uid: &str,
        stream: u8,
        start: i64,
        end: i64,
    ) -> Result<bool, CoreError> {
        let segs =
            self.inner.store.segments(uid, stream, Timestamp(start), Timestamp(end), 1).await?;
        Ok(!segs.is_empty())
    }
}

pub(super) fn init_aad(uid: &str, blob: BlobId) -> Vec<u8> {
    let mut a = b"kankan/init/v1".to_vec();
    a.extend_from_slice(blob.0.as_bytes());
    a.extend_from_slice(uid.as_bytes());
    a
}
