//! Writing an export's ZIP: the media chosen first (each streamed through, one at a time),
//! then `data.json` with the index of what was written, into a [`Sink`]: the sealed parts of a
//! stored export ([`PartSink`]) or a plain file ([`FileSink`], the staff command).

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kankan_base::Timestamp;
use kankan_core::authz::Capability;
use kankan_core::{CoreError, Principal};
use kankan_crypto::AeadKey;
use kankan_db::{BlobStore, ExportPart, Store};
use kankan_events::Event;
use kankan_recording::album::AlbumEntry;
use kankan_recording::sealed::Sealing;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::content::{self, AVATAR_PATH, Gathered};
use crate::zip::{Crc, ZipError, ZipWriter};
use crate::{ExportMedia, ExportRecordingRange, Inner};

pub(crate) const DATA_PATH: &str = "data.json";
/// A stored export is cut into sealed parts of this many clear bytes (the last one shorter):
/// a download holds about one part in memory.
pub(crate) const PART_BYTES: u64 = 16 * 1024 * 1024;
/// How long a worker's claim on an export lasts without progress.
pub(crate) const LEASE: Duration = Duration::from_secs(300);

/// Where the ZIP's bytes go.
pub(crate) trait Sink: Send {
    fn write(&mut self, data: &[u8]) -> impl Future<Output = Result<(), CoreError>> + Send;
    /// `done` of the plan's items are written.
    fn progress(&mut self, done: u64) -> impl Future<Output = Result<(), CoreError>> + Send;
}

/// One medium to add.
pub(crate) enum Item {
    Album(AlbumEntry),
    EventClip(Event),
    Recording(ExportRecordingRange),
}

/// What an export will hold: the account's data and the media chosen.
pub(crate) struct Plan {
    gathered: Gathered,
    items: Vec<Item>,
}

impl Plan {
    /// Steps of progress: one per medium, and `data.json`.
    pub fn total(&self) -> u64 {
        self.items.len() as u64 + 1
    }
}

pub(crate) async fn plan(
    inner: &Inner,
    p: &Principal,
    media: &ExportMedia,
) -> Result<Plan, CoreError> {
    let gathered = content::gather(&inner.src, p, inner.clock.now()).await?;
    let mut items = Vec::new();
    if media.album {
        items.extend(gathered.album.iter().cloned().map(Item::Album));
    }
    if media.event_clips {
        items.extend(gathered.events.iter().cloned().map(Item::EventClip));
    }
    items.extend(media.recordings.iter().cloned().map(Item::Recording));
    Ok(Plan { gathered, items })
}

fn zip_err(e: ZipError) -> CoreError {
    CoreError::Internal(format!("export zip: {e}"))
}

/// The ZIP being written to a sink.
struct ZipOut<'a, S: Sink> {
    zip: ZipWriter,
    sink: &'a mut S,
    crc: Option<Crc>,
    at: Timestamp,
}

impl<S: Sink> ZipOut<'_, S> {
    async fn begin(&mut self, name: &str, size: u64) -> Result<(), CoreError> {
        let head = self.zip.begin_entry(name, size, self.at).map_err(zip_err)?;
        self.sink.write(&head).await?;
        self.crc = Some(Crc::default());
        Ok(())
    }

    async fn chunk(&mut self, data: &[u8]) -> Result<(), CoreError> {
        self.zip.data(data.len()).map_err(zip_err)?;
        self.crc.as_mut().ok_or_else(|| zip_err(ZipError::NoEntry))?.update(data);
        self.sink.write(data).await
    }

    async fn end(&mut self) -> Result<(), CoreError> {
        let crc = self.crc.take().ok_or_else(|| zip_err(ZipError::NoEntry))?.finish();
        let tail = self.zip.end_entry(crc).map_err(zip_err)?;
        self.sink.write(&tail).await
    }

    async fn file(&mut self, name: &str, data: &[u8]) -> Result<(), CoreError> {
        self.begin(name, data.len() as u64).await?;
        self.chunk(data).await?;
        self.end().await
    }
}

/// Writes the planned export into `sink`; returns the ZIP's length.
pub(crate) async fn write_plan<S: Sink>(
    inner: &Inner,
    p: &Principal,
    plan: Plan,
    sink: &mut S,
) -> Result<u64, CoreError> {
    let Plan { mut gathered, items } = plan;
    let at = inner.clock.now();
    let mut out = ZipOut { zip: ZipWriter::new(), sink, crc: None, at };
    let (mut index, mut skipped) = (Vec::new(), Vec::new());
    let mut done = 0;
    for item in items {
        add_item(inner, p, &mut out, item, &mut index, &mut skipped).await?;
        done += 1;
        out.sink.progress(done).await?;
    }
    if let Some(avatar) = &gathered.avatar {
        out.file(AVATAR_PATH, avatar).await?;
    }
    gathered.doc.insert("media".into(), Value::Array(index));
    gathered.doc.insert("skipped".into(), Value::Array(skipped));
    let data = serde_json::to_vec_pretty(&Value::Object(gathered.doc))
        .map_err(|e| CoreError::Internal(format!("export json: {e}")))?;
    out.file(DATA_PATH, &data).await?;
    let before = out.zip.len();
    let tail = std::mem::take(&mut out.zip).finish().map_err(zip_err)?;
    out.sink.write(&tail).await?;
    let len = before + tail.len() as u64;
    out.sink.progress(done + 1).await?;
    Ok(len)
}

/// The name of a medium's file in the ZIP, by what it is.
fn mp4_entry(
    kind: &str,
    path: String,
    bytes: u64,
    uid: &str,
    id: Option<String>,
    from: Timestamp,
    to: Timestamp,
) -> Value {
    json!({
        "path": path,
        "kind": kind,
        "bytes": bytes,
        "uid": uid,
        "id": id,
        "from_ms": from.0,
        "to_ms": to.0,
    })
}

fn skip(kind: &str, uid: &str, id: Option<String>, reason: &CoreError) -> Value {
    json!({ "kind": kind, "uid": uid, "id": id, "reason": reason.code() })
}

/// Footage that cannot be copied: the account may no longer download from the camera, none
/// is kept, or it is damaged. Listed under `skipped`; anything else fails the export.
fn skippable(e: &CoreError) -> bool {
    matches!(e, CoreError::DeviceNotFound | CoreError::NoRecording | CoreError::RecordingDamaged(_))
}

async fn add_item<S: Sink>(
    inner: &Inner,
    p: &Principal,
    out: &mut ZipOut<'_, S>,
    item: Item,
    index: &mut Vec<Value>,
    skipped: &mut Vec<Value>,
) -> Result<(), CoreError> {
    let src = &inner.src;
    match item {
        Item::Album(a) => {
            let id = a.id.to_string();
            let content = match src.album.authorize_item(p, &id).await {
                Ok(h) => src.album.content(&h).await?,
                // Deleted since the plan was made.
                Err(CoreError::NotFound(_)) => return Ok(()),
                Err(e) => return Err(e),
            };
            let ext = match a.kind {
                kankan_recording::album::AlbumKind::Screenshot => "jpg",
                kankan_recording::album::AlbumKind::Clip => "mp4",
            };
            let path = format!("album/{id}.{ext}");
            out.file(&path, &content.bytes).await?;
            let to = Timestamp(a.taken_at.0 + i64::from(a.duration_ms));
            index.push(mp4_entry(
                "album",
                path,
                content.bytes.len() as u64,
                &a.uid,
                Some(id),
                a.taken_at,
                to,
            ));
        }
        Item::EventClip(e) => {
            let id = e.id.to_string();
            match copy_mp4(inner, p, out, &e.uid, e.clip_from, e.clip_to, |_| {
                format!("event-clips/{id}.mp4")
            })
            .await
            {
                Ok(Some((path, bytes, from, to))) => {
                    index.push(mp4_entry("event-clip", path, bytes, &e.uid, Some(id), from, to));
                }
                Ok(None) => {}
                Err(err) if skippable(&err) => {
                    skipped.push(skip("event-clip", &e.uid, Some(id), &err));
                }
                Err(err) => return Err(err),
            }
        }
        Item::Recording(r) => {
            // A range may span several files: the MP4 export stops where the camera's
            // stream changed (a new init segment).
            let mut cursor = Timestamp(r.from_ms);
            let to = Timestamp(r.to_ms);
            let mut any = false;
            while cursor < to {
                let name = |start: Timestamp| format!("recordings/{}/{}.mp4", r.uid, start.0);
                match copy_mp4(inner, p, out, &r.uid, cursor, to, name).await {
                    Ok(Some((path, bytes, from, end))) => {
                        index.push(mp4_entry("recording", path, bytes, &r.uid, None, from, end));
                        any = true;
                        if end <= cursor {
                            break;
                        }
                        cursor = end;
                    }
                    Ok(None) => break,
                    Err(CoreError::NoRecording) if any => break,
                    Err(err) if skippable(&err) => {
                        skipped.push(skip("recording", &r.uid, None, &err));
                        break;
                    }
                    Err(err) => return Err(err),
                }
            }
        }
    }
    Ok(())
}

/// Copies the MP4 export of `[from, to)` of a camera into the ZIP, named by `name` from the
/// footage's first instant; its path, size and the footage's bounds.
async fn copy_mp4<S: Sink>(
    inner: &Inner,
    p: &Principal,
    out: &mut ZipOut<'_, S>,
    uid: &str,
    from: Timestamp,
    to: Timestamp,
    name: impl Fn(Timestamp) -> String,
) -> Result<Option<(String, u64, Timestamp, Timestamp)>, CoreError> {
    if to <= from {
        return Ok(None);
    }
    let src = &inner.src;
    let h = src.devices.authorize_device(p, Capability::Download, uid).await?;
    let mut mp4 = src.recordings.export_mp4(&h, 0, from, to).await?;
    let path = name(mp4.start);
    out.begin(&path, mp4.len).await?;
    while let Some(chunk) = mp4.chunks.recv().await {
        out.chunk(&chunk?).await?;
    }
    out.end().await?;
    Ok(Some((path, mp4.len, mp4.start, mp4.end)))
}

/// The sealed parts of a stored export: each [`PART_BYTES`] of the ZIP is sealed into a
/// staging file under the export's data key and moved into the blob store, and its row is
/// stored with the progress (extending the lease). An export deleted meanwhile stops the
/// build (`not-found`), its last part deleted.
pub(crate) struct PartSink {
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    clock: kankan_base::Clocks,
    staging: std::path::PathBuf,
    id: uuid::Uuid,
    label: String,
    key: AeadKey,
    created_at: Timestamp,
    n: u32,
    cur: Option<Sealing>,
    done: u64,
}

impl PartSink {
    pub fn new(inner: &Inner, id: uuid::Uuid, key: AeadKey, created_at: Timestamp) -> PartSink {
        PartSink {
            store: inner.store.clone(),
            blobs: inner.blobs.clone(),
            clock: inner.clock.clone(),
            staging: inner.staging.clone(),
            id,
            label: crate::part_label(id),
            key,
            created_at,
            n: 0,
            cur: None,
            done: 0,
        }
    }

    fn lease(&self) -> Timestamp {
        self.clock.now().plus(LEASE)
    }

    fn gone(&self) -> CoreError {
        tracing::info!(export = %self.id, "export deleted while it was built");
        CoreError::NotFound("export")
    }

    async fn store_part(&mut self) -> Result<(), CoreError> {
        let Some(part) = self.cur.take() else { return Ok(()) };
        let (blob, bytes) = (part.blob(), part.len());
        part.store(&*self.blobs).await?;
        let row = ExportPart { n: self.n, blob, bytes };
        let kept = self.store.export_progress(self.id, self.done, Some(row), self.lease()).await;
        if !matches!(kept, Ok(true)) {
            if let Err(e) = self.blobs.delete(blob).await {
                tracing::warn!(error = %e, %blob, "an unsaved export part is left");
            }
            return match kept {
                Err(e) => Err(e.into()),
                Ok(_) => Err(self.gone()),
            };
        }
        self.n += 1;
        Ok(())
    }

    /// Stores the last part.
    pub async fn finish(&mut self) -> Result<(), CoreError> {
        self.store_part().await
    }
}

impl Sink for PartSink {
    async fn write(&mut self, mut data: &[u8]) -> Result<(), CoreError> {
        while !data.is_empty() {
            if self.cur.is_none() {
                let part = Sealing::create(
                    self.staging.clone(),
                    &self.label,
                    i64::from(self.n),
                    self.created_at,
                    self.key.clone(),
                )
                .await?;
                self.cur = Some(part);
            }
            let cur = self.cur.as_mut().ok_or_else(|| CoreError::Internal("part".into()))?;
            let room = PART_BYTES - cur.len();
            let n = usize::try_from(room).unwrap_or(usize::MAX).min(data.len());
            cur.write(&data[..n]).await?;
            data = &data[n..];
            if cur.len() == PART_BYTES {
                self.store_part().await?;
            }
        }
        Ok(())
    }

    async fn progress(&mut self, done: u64) -> Result<(), CoreError> {
        self.done = done;
        if !self.store.export_progress(self.id, done, None, self.lease()).await? {
            return Err(self.gone());
        }
        Ok(())
    }
}

/// A new file (mode 0600, refused if it exists) for the staff command.
pub(crate) struct FileSink {
    file: tokio::fs::File,
}

impl FileSink {
    pub async fn create(path: &Path) -> Result<FileSink, CoreError> {
        let mut opts = tokio::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        opts.mode(0o600);
        let file = opts.open(path).await.map_err(|e| {
            CoreError::Internal(format!("creating {} (it must not exist yet): {e}", path.display()))
        })?;
        Ok(FileSink { file })
    }

    pub async fn finish(mut self) -> Result<(), CoreError> {
        let io = |e: std::io::Error| CoreError::Internal(format!("writing the export: {e}"));
        self.file.flush().await.map_err(io)?;
        self.file.sync_all().await.map_err(io)
    }
}

impl Sink for FileSink {
    async fn write(&mut self, data: &[u8]) -> Result<(), CoreError> {
        self.file
            .write_all(data)
            .await
            .map_err(|e| CoreError::Internal(format!("writing the export: {e}")))
    }

    async fn progress(&mut self, _done: u64) -> Result<(), CoreError> {
        Ok(())
    }
}
