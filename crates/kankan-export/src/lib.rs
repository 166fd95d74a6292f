//! "Download my data": a ZIP of everything Kankan keeps about an account, in machine-readable
//! JSON, with the media the user chooses (Album items, event clips, ranges of recordings).
//!
//! A request stores an export (`queued`; at most one queued or running per account, and
//! `exports.per_day` a day); the `exports` worker ([`ExportWorker`]) claims it under a lease,
//! gathers the account's data through the domains (each answering for its own: accounts,
//! devices and shares, events and notification settings, the Album, recordings), and streams
//! the ZIP ([`zip`]) into sealed parts ([`kankan_recording::sealed`]) under a fresh data key
//! wrapped by the account key, writing its progress as it goes. A worker that dies leaves its
//! lease to lapse, and the export is built again from the start. A ready export is decrypted
//! part by part as it downloads, any number of times until it expires `exports.expiry_hours`
//! after it was ready; the `exports-sweeper` worker then deletes its row and parts (the blobs
//! through the trash). `kankan admin accounts export` writes the same ZIP to a file.
//!
//! The ZIP's layout and its JSON Schema are documented in docs/ref/export.md and
//! docs/ref/export.schema.json.

mod build;
mod config;
mod content;
mod worker;
pub mod zip;

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use kankan_accounts::Accounts;
use kankan_accounts::risk::RateLimiter;
use kankan_base::{AccountId, Clocks, SessionId, Timestamp};
use kankan_core::authz::Capability;
use kankan_core::{CoreError, Principal};
use kankan_crypto::TokenHash;
use kankan_db::{BlobStore, ExportInsert, ExportRow, ExportState, Store};
use kankan_devices::Devices;
use kankan_events::Events;
use kankan_events::notify::Notifications;
pub use kankan_protocol::v1::{ExportMedia, ExportRecordingRange};
use kankan_recording::Recordings;
use kankan_recording::album::Album;
use tokio::sync::{Notify, mpsc};

pub use config::ExportsConfig;
pub use worker::{ExportSweeper, ExportWorker, SWEEP_EVERY as EXPORTS_SWEEP_EVERY};

/// Most recording ranges one export may hold.
pub const MAX_RANGES: usize = 4;
/// Longest recording range, in milliseconds (24 hours).
pub const MAX_RANGE_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// Where an export stands, as its account sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Queued,
    Running,
    Ready,
    Failed,
    /// Past its expiry: it cannot be downloaded, and the sweeper deletes it soon.
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Ready => "ready",
            Status::Failed => "failed",
            Status::Expired => "expired",
        }
    }
}

/// One export.
#[derive(Debug, Clone)]
pub struct Export {
    pub id: uuid::Uuid,
    pub status: Status,
    pub media: ExportMedia,
    pub done: u64,
    pub total: u64,
    pub size_bytes: u64,
    pub error: Option<String>,
    pub created_at: Timestamp,
    pub ready_at: Option<Timestamp>,
    pub expires_at: Timestamp,
}

/// A download in progress: its length, then its bytes in order.
#[derive(Debug)]
pub struct ExportDownload {
    pub len: u64,
    /// `kankan-export-<date>.zip`.
    pub file_name: String,
    pub chunks: mpsc::Receiver<Result<Bytes, CoreError>>,
}

/// The export service. Cheap to clone.
#[derive(Clone)]
pub struct Exports {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Exports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Exports")
    }
}

/// What an export reads from: every domain that holds an account's data.
#[derive(Clone)]
pub struct Sources {
    pub accounts: Accounts,
    pub devices: Devices,
    pub recordings: Recordings,
    pub album: Album,
    pub events: Events,
    pub notify: Notifications,
    pub faces: kankan_faces::Faces,
    /// Orders (kind, SKU, device or SIM, amount, payment status).
    pub billing: kankan_billing::Billing,
    /// Cloud-storage entitlements and 4G top-ups.
    pub plans: kankan_plans::Plans,
    /// The account's ratings of the app.
    pub help: kankan_help::Help,
    /// Support tickets with their threads and the camera logs attached.
    pub support: kankan_support::Support,
}

struct Inner {
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    clock: Clocks,
    src: Sources,
    config: ExportsConfig,
    staging: PathBuf,
    limiter: RateLimiter,
    /// Raised when an export is queued.
    queued: Arc<Notify>,
}

fn not_found() -> CoreError {
    CoreError::NotFound("export")
}

fn key_field(id: uuid::Uuid) -> String {
    format!("export-key/{id}")
}

/// What the sealed parts of an export are labelled (see `kankan_recording::sealed`).
fn part_label(id: uuid::Uuid) -> String {
    format!("export/{id}")
}

/// The account acting through the system on work it asked for, not through a session (a
/// build outlives the request, and the account may have logged out since).
fn on_behalf_of(account: AccountId) -> Principal {
    Principal {
        account_id: account,
        session_id: SessionId(uuid::Uuid::nil()),
        token_hash: TokenHash([0; 32]),
    }
}

impl Exports {
    /// `staging` holds parts while they are sealed; keep it on the blob store's disk. Files a
    /// crash left there are deleted.
    pub fn new(
        store: Arc<dyn Store>,
        blobs: Arc<dyn BlobStore>,
        clock: Clocks,
        src: Sources,
        config: ExportsConfig,
        staging: PathBuf,
        keyring: &kankan_crypto::Keyring,
    ) -> Result<Self, CoreError> {
        let io = |e: std::io::Error| CoreError::Internal(format!("export staging: {e}"));
        std::fs::create_dir_all(&staging).map_err(io)?;
        for entry in std::fs::read_dir(&staging).map_err(io)? {
            std::fs::remove_file(entry.map_err(io)?.path()).map_err(io)?;
        }
        let limiter = RateLimiter::for_store(clock.clone(), store.clone(), keyring);
        let inner = Inner {
            store,
            blobs,
            clock,
            src,
            config,
            staging,
            limiter,
            queued: Arc::new(Notify::new()),
        };
        Ok(Exports { inner: Arc::new(inner) })
    }

    /// Queues an export of the caller's data with `media`.
    pub async fn start(&self, p: &Principal, media: ExportMedia) -> Result<Export, CoreError> {
        let s = &self.inner;
        self.check_media(p, &media).await?;
        let running = |_| CoreError::ExportState {
            code: "export-running",
            message: "an export is being built already; wait for it to finish".into(),
        };
        let mine = s.store.exports_of(p.account_id).await?;
        if mine.iter().any(|e| matches!(e.state, ExportState::Queued | ExportState::Running)) {
            return Err(running(()));
        }
        let limit = kankan_accounts::RateLimit { count: s.config.per_day, per_secs: 86_400 };
        s.limiter.check(&format!("export/{}", p.account_id), limit).await?;
        let now = s.clock.now();
        let row = ExportRow {
            id: uuid::Uuid::now_v7(),
            account_id: p.account_id,
            media: serde_json::to_string(&media).map_err(|e| CoreError::Internal(e.to_string()))?,
            state: ExportState::Queued,
            attempts: 0,
            done: 0,
            total: 0,
            size_bytes: 0,
            key_enc: None,
            error: None,
            created_at: now,
            ready_at: None,
            expires_at: self.expiry_from(now),
        };
        if s.store.insert_export(&row).await? == ExportInsert::AlreadyRunning {
            return Err(running(()));
        }
        s.queued.notify_one();
        self.view(row)
    }

    /// The bounds of the media asked for; every camera named must be one the caller may
    /// download from (else `device-not-found`, as for any device it cannot reach).
    async fn check_media(&self, p: &Principal, media: &ExportMedia) -> Result<(), CoreError> {
        let bad = |code, message: &str| CoreError::InvalidExport { code, message: message.into() };
        if media.recordings.len() > MAX_RANGES {
            return Err(bad(
                "too-many-export-ranges",
                "an export holds at most 4 ranges of recordings",
            ));
        }
        for r in &media.recordings {
            if r.from_ms < 0 || r.to_ms <= r.from_ms || r.to_ms - r.from_ms > MAX_RANGE_MS {
                return Err(bad(
                    "export-range-invalid",
                    "each range of recordings must end after it starts and last at most 24 hours",
                ));
            }
            self.inner.src.devices.authorize_device(p, Capability::Download, &r.uid).await?;
        }
        Ok(())
    }

    fn expiry_from(&self, t: Timestamp) -> Timestamp {
        Timestamp(t.0 + i64::from(self.inner.config.expiry_hours) * HOUR_MS)
    }

    fn view(&self, r: ExportRow) -> Result<Export, CoreError> {
        let media: ExportMedia = serde_json::from_str(&r.media)
            .map_err(|e| CoreError::Internal(format!("export {}: media: {e}", r.id)))?;
        let status = if self.inner.clock.now() >= r.expires_at {
            Status::Expired
        } else {
            match r.state {
                ExportState::Queued => Status::Queued,
                ExportState::Running => Status::Running,
                ExportState::Ready => Status::Ready,
                ExportState::Failed => Status::Failed,
            }
        };
        Ok(Export {
            id: r.id,
            status,
            media,
            done: r.done,
            total: r.total,
            size_bytes: r.size_bytes,
            error: r.error,
            created_at: r.created_at,
            ready_at: r.ready_at,
            expires_at: r.expires_at,
        })
    }

    /// The caller's exports, the newest first.
    pub async fn list(&self, p: &Principal) -> Result<Vec<Export>, CoreError> {
        let rows = self.inner.store.exports_of(p.account_id).await?;
        rows.into_iter().map(|r| self.view(r)).collect()
    }

    async fn row(&self, p: &Principal, id: &str) -> Result<ExportRow, CoreError> {
        let id = uuid::Uuid::parse_str(id).map_err(|_| not_found())?;
        self.inner.store.export_of(p.account_id, id).await?.ok_or_else(not_found)
    }

    /// One of the caller's exports; another account's answers `not-found`.
    pub async fn get(&self, p: &Principal, id: &str) -> Result<Export, CoreError> {
        let row = self.row(p, id).await?;
        self.view(row)
    }

    /// Deletes one of the caller's exports (a build in progress stops at its next part).
    pub async fn delete(&self, p: &Principal, id: &str) -> Result<(), CoreError> {
        let s = &self.inner;
        let row = self.row(p, id).await?;
        if !s.store.delete_export(p.account_id, row.id, s.clock.now()).await? {
            return Err(not_found());
        }
        if let Err(e) = s.src.recordings.empty_trash().await {
            tracing::warn!(error = %e, "deleting an export's parts; the sweeper retries");
        }
        Ok(())
    }

    /// Deletes every export of an account whose data is being purged (rows and sealed parts,
    /// the parts' blobs trashed in the same transaction and the trash emptied by the caller's
    /// purge); answers how many. Can run again.
    pub async fn forget_account(&self, account: AccountId) -> Result<u64, CoreError> {
        let s = &self.inner;
        let mut n = 0;
        for row in s.store.exports_of(account).await? {
            n += u64::from(s.store.delete_export(account, row.id, s.clock.now()).await?);
        }
        Ok(n)
    }

    /// The ZIP of a ready, unexpired export of the caller's, decrypted part by part as it is
    /// sent.
    pub async fn download(&self, p: &Principal, id: &str) -> Result<ExportDownload, CoreError> {
        let s = &self.inner;
        let row = self.row(p, id).await?;
        let export = self.view(row.clone())?;
        match export.status {
            Status::Ready => {}
            Status::Expired => {
                return Err(CoreError::ExportState {
                    code: "export-expired",
                    message: "this export has expired; start a new one".into(),
                });
            }
            _ => {
                return Err(CoreError::ExportState {
                    code: "export-not-ready",
                    message: "this export is not ready; wait until it is".into(),
                });
            }
        }
        let key_enc = row
            .key_enc
            .as_deref()
            .ok_or_else(|| CoreError::Internal(format!("ready export {} has no key", row.id)))?;
        let account_key = s.src.devices.key_of(p).await?;
        let key = account_key.unwrap_key(&key_field(row.id), key_enc)?;
        let parts = s.store.export_parts(row.id).await?;
        let whole = parts.iter().enumerate().all(|(i, part)| part.n as usize == i)
            && parts.iter().map(|part| part.bytes).sum::<u64>() == row.size_bytes;
        if !whole {
            return Err(CoreError::RecordingDamaged(format!("export {}: parts missing", row.id)));
        }
        let (tx, rx) = mpsc::channel(2);
        let (blobs, label) = (s.blobs.clone(), part_label(row.id));
        tokio::spawn(async move {
            for part in parts {
                let opened = kankan_recording::sealed::open_sealed(
                    &*blobs,
                    part.blob,
                    &key,
                    &label,
                    part.n.into(),
                )
                .await;
                let failed = opened.is_err();
                if tx.send(opened.map(Bytes::from)).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(ExportDownload { len: row.size_bytes, file_name: file_name(row.created_at), chunks: rx })
    }

    /// Writes the same ZIP an export of `account` with `media` would hold to `out` (staff:
    /// `kankan admin accounts export`); returns its size.
    pub async fn write_to_file(
        &self,
        account: AccountId,
        media: ExportMedia,
        out: &std::path::Path,
    ) -> Result<u64, CoreError> {
        let p = on_behalf_of(account);
        self.inner.src.devices.key_of(&p).await?;
        self.check_media(&p, &media).await?;
        let plan = build::plan(&self.inner, &p, &media).await?;
        let mut sink = build::FileSink::create(out).await?;
        let res = build::write_plan(&self.inner, &p, plan, &mut sink).await;
        match res {
            Ok(len) => {
                sink.finish().await?;
                Ok(len)
            }
            Err(e) => {
                drop(sink);
                let _ = std::fs::remove_file(out);
                Err(e)
            }
        }
    }

    /// The worker that builds queued exports.
    pub fn worker(&self) -> ExportWorker {
        ExportWorker::new(self.clone())
    }

    /// The worker that deletes expired exports every hour.
    pub fn sweeper(&self) -> ExportSweeper {
        ExportSweeper::new(self.clone())
    }
}

/// `kankan-export-YYYY-MM-DD.zip` (the export's UTC date).
fn file_name(at: Timestamp) -> String {
    let (y, m, d) = zip::date_of(at);
    format!("kankan-export-{y:04}-{m:02}-{d:02}.zip")
}
