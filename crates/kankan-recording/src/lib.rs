//! Continuous recording: ingest of device fMP4 streams and backfill uploads, encrypted
//! crash-safe segments, the recording index, retention and quota, and playback (timeline,
//! HLS, MP4 export, snapshots).
//!
//! Write order of a segment (see `segfile`): fragments are appended, sealed under the
//! device's data key, to `<journal>/<blob>.jrnl` and synced one by one (the checkpoint); at a
//! cut the file is synced and renamed to `<blob>.seal`; then the index row is inserted; then
//! the file moves into the blob store. Start-up recovery finishes whatever a crash
//! interrupted, in the same order, so no footage is indexed that is not durable and none that
//! is durable stays unindexed.
//!
//! Keys: each bound device gets a random data key, wrapped by its owner's account key and
//! deleted with the binding; the blob store only ever holds sealed bytes.

mod access;
pub mod album;
mod card;
mod config;
mod export;
mod ingest;
mod keys;
mod limits;
mod modes;
mod motion_watch;
mod on_demand;
mod playback;
mod recovery;
mod retention;
mod sampler;
pub mod sealed;
pub(crate) mod segfile;

use std::path::PathBuf;
use std::sync::Arc;

use kankan_base::Clocks;
use kankan_crypto::Keyring;
use kankan_db::{BlobStore, Store};

use kankan_core::{CoreError, KeyVault, Principal, Revocations};
use kankan_devices::Devices;

pub use access::{ACCESS_LOG_MS, AccessEntry, AccessKind, REPEAT_MS};
pub use card::{CardAnswer, CardDelivery, MAX_LISTING_BYTES};
pub use config::RecordingConfig;
pub use export::Mp4Download;
pub use ingest::{Ingest, IngestOptions, IngestStats};
pub use limits::{DeviceLimits, FreeTierError};
pub use modes::{MAX_DELETE_MS, RecordingMode};
pub use on_demand::LiveStopper;
pub use playback::{LinkPurpose, MediaGrant, MediaLink, Playlist, PlaylistSegment};
pub use recovery::RecoveryReport;
pub use retention::{RetentionWorker, SealedRetryWorker, StorageView, SweepReport};
pub use sampler::{Sampled, Sampler};

/// The recording service. Cheap to clone.
#[derive(Clone)]
pub struct Recordings {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Recordings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Recordings")
    }
}

struct Inner {
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    keyring: Keyring,
    vault: KeyVault,
    clock: Clocks,
    devices: Devices,
    journal: PathBuf,
    config: RecordingConfig,
    live: kankan_core::live::LiveHub,
    /// Decoding slots shared by the server's motion detectors.
    decoders: std::sync::Arc<motion_watch::DecodePool>,
    /// Asked on every use of a media link whether its session is still live.
    revocations: Revocations,
    /// Asked whether an owner consented to cloud recording, where the operator makes it
    /// optional ([`Recordings::effective_mode`]).
    consents: kankan_accounts::ConsentCheck,
    /// Card listings and playbacks waiting for their device's answer.
    card: card::CardRelay,
    /// The limits of a device without its own (`device_limits`): the free tier the plans
    /// configure, else continuous for `recording.retention_days`.
    free_tier: std::sync::OnceLock<kankan_db::DeviceLimits>,
}

impl Recordings {
    /// `journal` holds segments while they are written; keep it on the data disk.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn Store>,
        blobs: Arc<dyn BlobStore>,
        keyring: Keyring,
        clock: Clocks,
        devices: Devices,
        journal: PathBuf,
        config: RecordingConfig,
        revocations: Revocations,
        consents: kankan_accounts::ConsentCheck,
    ) -> Result<Self, crate::CoreError> {
        std::fs::create_dir_all(&journal)
            .map_err(|e| crate::CoreError::Internal(format!("journal directory: {e}")))?;
        Ok(Recordings {
            inner: Arc::new(Inner {
                vault: KeyVault::new(store.clone(), keyring.clone()),
                store,
                blobs,
                keyring,
                clock,
                devices,
                journal,
                decoders: motion_watch::DecodePool::new(config.rtsp_motion_decoders),
                config,
                live: kankan_core::live::LiveHub::default(),
                revocations,
                consents,
                card: card::CardRelay::default(),
                free_tier: std::sync::OnceLock::new(),
            }),
        })
    }

    pub fn config(&self) -> &RecordingConfig {
        &self.inner.config
    }

    /// The live streams: every fragment recorded here is also offered to live viewers.
    pub fn live(&self) -> &kankan_core::live::LiveHub {
        &self.inner.live
    }

    /// The service clock's now (simulated in tests).
    pub fn now(&self) -> kankan_base::Timestamp {
        self.inner.clock.now()
    }
}
