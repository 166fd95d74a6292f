//! Firmware updates, the server's side: the operator's signed images, rollouts of them to
//! the devices of a model (by percentage or cohort, paced, pausable), the image each device
//! downloads, and where each device's update stands (from its state reports).
//!
//! - An image is kept only when its signature verifies against `firmware.public_key`
//!   ([`kankan_crypto::firmware::verify`] over model, version and SHA-256): a bad one is
//!   refused `firmware-bad-signature` and nothing is stored. Without a key the feature is off
//!   (`firmware-not-configured`) and nothing is offered.
//! - The `firmware-rollout` worker ([`RolloutWorker`]) offers an image (`firmware-update`
//!   command) to bound, online devices of its model running an older version, whose owner
//!   left automatic updates on (the default), inside the rollout's percentage (a stable hash
//!   of the rollout and the UID) or its cohort, at most `firmware.rollout_batch` each
//!   `firmware.rollout_tick_secs` and never more than `firmware.max_in_flight` under way; a
//!   device with an update under way, or that was offered this image before, is skipped.
//! - A device downloads only an image of its model that was offered to it
//!   ([`Firmware::image_for_device`]); its state reports move its update on
//!   ([`Firmware::on_state`]); `failed` and `rolled-back` count as failures of the rollout.
//! - An owner sees the installed and available firmware and installs it now
//!   ([`Firmware::status`], [`Firmware::update_now`], `change-settings`).

mod config;
mod device;
mod images;
pub mod range;
mod rollouts;
mod version;

use std::sync::{Arc, Mutex};

use kankan_base::Clocks;
use kankan_db::{BlobStore, Store};
use kankan_devices::Devices;

pub use config::FirmwareConfig;
pub use device::{DeviceFirmware, UpdateView};
/// The rows this crate answers with.
pub use kankan_db::{FirmwareImage, FirmwareRollout, FirmwareUpdateRow};
pub use rollouts::{RolloutProgress, RolloutWorker};
pub use version::{newer, version_cmp};

/// The firmware service. Cheap to clone.
#[derive(Clone)]
pub struct Firmware {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Firmware {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Firmware")
    }
}

struct Inner {
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    devices: Devices,
    clock: Clocks,
    config: FirmwareConfig,
    /// Images read from the blob store, newest use last (at most [`CACHED_IMAGES`]).
    cache: Mutex<Vec<(uuid::Uuid, Arc<Vec<u8>>)>>,
}

/// Images kept in memory for downloads.
const CACHED_IMAGES: usize = 4;

impl Firmware {
    pub fn new(
        store: Arc<dyn Store>,
        blobs: Arc<dyn BlobStore>,
        devices: Devices,
        clock: Clocks,
        config: FirmwareConfig,
    ) -> Firmware {
        Firmware {
            inner: Arc::new(Inner {
                store,
                blobs,
                devices,
                clock,
                config,
                cache: Mutex::new(Vec::new()),
            }),
        }
    }

    pub fn config(&self) -> &FirmwareConfig {
        &self.inner.config
    }
}

/// The path a device downloads an image from (joined to its ingest base URL).
pub fn image_path(uid: &str, image: uuid::Uuid) -> String {
    format!("/ingest/v1/{uid}/firmware/{image}")
}
