//! The Album: screenshots and clips a user saves from live view, kept on the server so every
//! session of the account sees them.
//!
//! A screenshot is the live picture now (`Recordings::live_snapshot`); a clip is the last
//! seconds of the camera's recorded footage (`Recordings::export_mp4`). Taking one needs a
//! [`DeviceHandle`] holding `download` (a screenshot also `view-live`); the items then belong
//! to the account that saved them and are reached only through [`Album::authorize_item`]:
//! another account's item is "not found".
//!
//! Each item's content is written, as it is produced, to a sealed record file (the segment
//! format of `recording::segfile`) under a random data key of its own, which is stored only
//! wrapped by the owner's account key; the file then moves into the blob store, so the store
//! holds sealed bytes only and memory stays at about one record. Deleting an item trashes its
//! blob in the row's transaction and empties the trash at once (the recording sweeper
//! retries). Items count against no quota; they outlive unbinding the camera.

use std::path::PathBuf;
use std::sync::Arc;

use kankan_base::{AccountId, Clocks, Timestamp};
use kankan_crypto::{AccountKey, AeadKey};
pub use kankan_db::AlbumKind;
use kankan_db::{AlbumItem, BlobStore, Store};

use crate::sealed::{Sealing, blocking};
use crate::segfile;
use crate::{AccessKind, Recordings};
use crate::{CoreError, Principal};
use kankan_core::authz::Capability;
use kankan_devices::{DeviceHandle, Devices};

/// Longest clip, in seconds.
pub const MAX_CLIP_SECS: u32 = 60;
/// A clip is cut from the newest footage recorded within this long before now.
const CLIP_LOOKBACK_MS: i64 = 3_600_000;
/// Most items one listing returns.
const MAX_LIST: u32 = 1000;

/// An album item as its owner sees it.
#[derive(Debug, Clone)]
pub struct AlbumEntry {
    pub id: uuid::Uuid,
    pub kind: AlbumKind,
    /// The camera it was taken from, and its name then.
    pub uid: String,
    pub device_name: Option<String>,
    /// The picture's wall-clock time (a clip: its first frame's).
    pub taken_at: Timestamp,
    /// 0 for a screenshot.
    pub duration_ms: u32,
    /// Size of the content (JPEG or MP4).
    pub bytes: u64,
    pub created_at: Timestamp,
}

/// Proof that a requester may reach one album item: only [`Album::authorize_item`] makes one.
#[derive(Debug, Clone)]
pub struct AlbumItemHandle {
    item: AlbumItem,
    account: kankan_base::AccountId,
}

/// An item with its content, decrypted.
#[derive(Debug, Clone)]
pub struct AlbumContent {
    pub entry: AlbumEntry,
    pub bytes: Vec<u8>,
}

/// The album service. Cheap to clone.
#[derive(Clone)]
pub struct Album {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Album {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Album")
    }
}

struct Inner {
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    clock: Clocks,
    devices: Devices,
    recordings: Recordings,
    staging: PathBuf,
}

fn key_field(id: uuid::Uuid) -> String {
    format!("album-key/{id}")
}

fn name_field(id: uuid::Uuid) -> String {
    format!("album-device-name/{id}")
}

fn not_found() -> CoreError {
    CoreError::NotFound("album item")
}

impl Album {
    /// `staging` holds content while it is sealed; keep it on the blob store's disk. Files a
    /// crash left there are deleted.
    pub fn new(
        store: Arc<dyn Store>,
        blobs: Arc<dyn BlobStore>,
        clock: Clocks,
        devices: Devices,
        recordings: Recordings,
        staging: PathBuf,
    ) -> Result<Self, CoreError> {
        let io = |e: std::io::Error| CoreError::Internal(format!("album staging: {e}"));
        std::fs::create_dir_all(&staging).map_err(io)?;
        for entry in std::fs::read_dir(&staging).map_err(io)? {
            std::fs::remove_file(entry.map_err(io)?.path()).map_err(io)?;
        }
        Ok(Album { inner: Arc::new(Inner { store, blobs, clock, devices, recordings, staging }) })
    }

    /// Saves the picture the camera streams now, starting a camera that streams on demand
    /// (`StreamNotStarted` when it cannot be started).
    pub async fn screenshot(&self, h: &DeviceHandle) -> Result<AlbumEntry, CoreError> {
        h.require(Capability::Download)?;
        let s = &self.inner;
        let jpeg = s.recordings.live_snapshot(h, 0).await?;
        s.recordings.record_access(h, AccessKind::Download).await?;
        let taken_at = s.clock.now();
        let mut file =
            Sealing::create(s.staging.clone(), h.uid(), 0, taken_at, AeadKey::generate()?).await?;
        file.write(&jpeg).await?;
        self.save(h, AlbumKind::Screenshot, taken_at, 0, file).await
    }

    /// Saves the last `seconds` (1-60) of the camera's newest footage as an MP4.
    /// `NoRecording` when it recorded nothing within the last hour.
    pub async fn clip(&self, h: &DeviceHandle, seconds: u32) -> Result<AlbumEntry, CoreError> {
        h.require(Capability::Download)?;
        if !(1..=MAX_CLIP_SECS).contains(&seconds) {
            return Err(CoreError::InvalidDeviceInput(format!(
                "seconds must be 1-{MAX_CLIP_SECS}"
            )));
        }
        let s = &self.inner;
        let now = s.clock.now().0;
        // A camera's clock may run ahead of the server's by this much.
        let ahead = i64::from(s.recordings.config().max_clock_skew_secs) * 1000;
        let spans = s
            .recordings
            .spans_of(h, 0, Timestamp(now - CLIP_LOOKBACK_MS), Timestamp(now + ahead + 1))
            .await?;
        let last = spans.last().ok_or(CoreError::NoRecording)?;
        let from = Timestamp(last.start.0.max(last.end.0 - i64::from(seconds) * 1000));
        let mut mp4 = s.recordings.export_mp4(h, 0, from, last.end).await?;
        let mut file =
            Sealing::create(s.staging.clone(), h.uid(), 0, mp4.start, AeadKey::generate()?).await?;
        while let Some(chunk) = mp4.chunks.recv().await {
            file.write(&chunk?).await?;
        }
        if file.len() != mp4.len {
            return Err(CoreError::Internal("the clip's export ended early".into()));
        }
        let duration = u32::try_from(mp4.end.0 - mp4.start.0).unwrap_or(0);
        self.save(h, AlbumKind::Clip, mp4.start, duration, file).await
    }

    /// Stores sealed content and its row. The two steps run in a task of their own, so a
    /// client that goes away cannot leave the object without its row.
    async fn save(
        &self,
        h: &DeviceHandle,
        kind: AlbumKind,
        taken_at: Timestamp,
        duration_ms: u32,
        file: Sealing,
    ) -> Result<AlbumEntry, CoreError> {
        let s = &self.inner;
        let id = uuid::Uuid::now_v7();
        let account_key = h.account_key();
        let name = s.devices.name_of(h)?;
        let device_name_enc =
            name.as_deref().map(|n| account_key.seal(&name_field(id), n.as_bytes())).transpose()?;
        let key_enc = account_key.wrap_key(&key_field(id), file.key())?;
        let item = AlbumItem {
            id,
            account_id: h.account(),
            kind,
            uid: h.uid().to_string(),
            device_name_enc,
            taken_at,
            duration_ms,
            bytes: file.len(),
            blob: file.blob(),
            key_enc,
            created_at: s.clock.now(),
        };
        let (store, blobs) = (s.store.clone(), s.blobs.clone());
        let row = item.clone();
        tokio::spawn(async move {
            file.store(&*blobs).await?;
            if let Err(e) = store.insert_album_item(&row).await {
                if let Err(d) = blobs.delete(row.blob).await {
                    tracing::warn!(error = %d, blob = %row.blob, "an unsaved album object is left");
                }
                return Err(e.into());
            }
            Ok::<(), CoreError>(())
        })
        .await
        .map_err(|e| CoreError::Internal(format!("saving an album item: {e}")))??;
        Ok(entry(item, name))
    }

    /// The account's items, the most recently saved first.
    pub async fn list(&self, p: &Principal) -> Result<Vec<AlbumEntry>, CoreError> {
        let s = &self.inner;
        let key = s.devices.key_of(p).await?;
        let items = s.store.album_items(p.account_id, MAX_LIST).await?;
        items.into_iter().map(|i| open_entry(&key, i)).collect()
    }

    /// The decision for one item: the account that saved it. Another account's item and a
    /// missing one answer the same `NotFound`.
    pub async fn authorize_item(
        &self,
        p: &Principal,
        id: &str,
    ) -> Result<AlbumItemHandle, CoreError> {
        let id = uuid::Uuid::parse_str(id).map_err(|_| not_found())?;
        let item = self.inner.store.album_item(p.account_id, id).await?.ok_or_else(not_found)?;
        Ok(AlbumItemHandle { item, account: p.account_id })
    }

    /// The item with its content, decrypted.
    pub async fn content(&self, h: &AlbumItemHandle) -> Result<AlbumContent, CoreError> {
        let s = &self.inner;
        let item = h.item.clone();
        let key = s.devices.key_of_account(h.account).await?;
        let data_key = key.unwrap_key(&key_field(item.id), &item.key_enc)?;
        let sealed = s.blobs.get(item.blob).await?.ok_or_else(not_found)?;
        let (blob, uid) = (item.blob, item.uid.clone());
        let bytes = blocking(move || {
            let (header, records) = segfile::open_segment(&sealed, blob, &data_key)?;
            if header.uid != uid {
                return Err(CoreError::Internal(format!(
                    "album object {blob} names another camera"
                )));
            }
            Ok(records.concat())
        })
        .await?;
        Ok(AlbumContent { entry: open_entry(&key, item)?, bytes })
    }

    /// An account's deletion: every item it saved goes (rows deleted and objects trashed in
    /// one transaction), and the trash is emptied. Answers how many items.
    pub async fn forget_account(&self, account: AccountId) -> Result<u64, CoreError> {
        let s = &self.inner;
        let n = s.store.trash_album_of(account, s.clock.now()).await?;
        s.recordings.empty_trash().await?;
        Ok(n)
    }

    /// Deletes the item; its object goes to the trash, emptied now.
    pub async fn delete(&self, h: &AlbumItemHandle) -> Result<(), CoreError> {
        let s = &self.inner;
        if !s.store.delete_album_item(h.account, h.item.id, s.clock.now()).await? {
            return Err(not_found());
        }
        if let Err(e) = s.recordings.empty_trash().await {
            tracing::warn!(error = %e, "deleting an album object; the sweeper retries");
        }
        Ok(())
    }
}

fn entry(i: AlbumItem, device_name: Option<String>) -> AlbumEntry {
    AlbumEntry {
        id: i.id,
        kind: i.kind,
        uid: i.uid,
        device_name,
        taken_at: i.taken_at,
        duration_ms: i.duration_ms,
        bytes: i.bytes,
        created_at: i.created_at,
    }
}

fn open_entry(key: &AccountKey, i: AlbumItem) -> Result<AlbumEntry, CoreError> {
    let name = i.device_name_enc.as_deref().map(|n| key.open_string(&name_field(i.id), n));
    let name = name.transpose()?;
    Ok(entry(i, name))
}
