//! [`FirmwareStore`]: firmware images, rollouts, and each device's version and updates.

use async_trait::async_trait;
use kankan_base::{BlobId, Timestamp};

use crate::DbError;

type R<T> = Result<T, DbError>;

/// An operator's firmware image (its bytes are the blob).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmwareImage {
    pub id: uuid::Uuid,
    pub model: String,
    pub version: String,
    pub size: u64,
    pub sha256: String,
    pub signature: String,
    pub blob_id: BlobId,
    pub created_at: Timestamp,
}

/// A rollout of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmwareRollout {
    pub id: uuid::Uuid,
    pub image_id: uuid::Uuid,
    /// 0-100: the share of the model's devices it reaches (0: its cohort only).
    pub percent: u8,
    /// UIDs it reaches whatever the percentage.
    pub cohort: Vec<String>,
    pub paused: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One image offered to one device, and where that update stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmwareUpdateRow {
    pub uid: String,
    pub image_id: uuid::Uuid,
    /// None: the owner's own Update.
    pub rollout_id: Option<uuid::Uuid>,
    /// The version the device ran when it was offered.
    pub from_version: String,
    /// `offered`, or the device's phase (`downloading` ... `rolled-back`).
    pub phase: String,
    pub percent: u8,
    pub error: Option<String>,
    /// The `firmware-update` command that offered it.
    pub command_id: Option<uuid::Uuid>,
    pub offered_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A bound, online device of a model that last reported `version`, with its auto-update
/// switch on and no update of `image` or in progress: one a rollout may offer the image to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirmwareCandidate {
    pub uid: String,
    pub version: String,
}

/// The phases of an update still under way.
pub const FIRMWARE_ACTIVE_PHASES: &[&str] =
    &["offered", "downloading", "verifying", "installing", "rebooting"];

#[async_trait]
pub trait FirmwareStore: Send + Sync {
    /// Stores an image; `Conflict` when the model already has this version.
    async fn insert_firmware_image(&self, image: &FirmwareImage) -> R<()>;
    /// Every image, newest first.
    async fn firmware_images(&self) -> R<Vec<FirmwareImage>>;
    async fn firmware_image(&self, id: uuid::Uuid) -> R<Option<FirmwareImage>>;
    /// Stores a rollout with its cohort (one transaction); `NotFound` without its image.
    async fn insert_firmware_rollout(&self, rollout: &FirmwareRollout) -> R<()>;
    /// Every rollout with its cohort, newest first.
    async fn firmware_rollouts(&self) -> R<Vec<FirmwareRollout>>;
    async fn firmware_rollout(&self, id: uuid::Uuid) -> R<Option<FirmwareRollout>>;
    /// Pauses or resumes a rollout; false when there is none.
    async fn set_firmware_rollout_paused(
        &self,
        id: uuid::Uuid,
        paused: bool,
        at: Timestamp,
    ) -> R<bool>;
    /// Records what a device reported: its version and auto-update switch.
    async fn put_firmware_device(
        &self,
        uid: &str,
        version: &str,
        auto_update: bool,
        at: Timestamp,
    ) -> R<()>;
    /// A device's last reported version and auto-update switch.
    async fn firmware_device(&self, uid: &str) -> R<Option<(String, bool)>>;
    /// Devices a rollout of `image_id` may offer it to (see [`FirmwareCandidate`]), by UID
    /// after `after`, at most `limit`.
    async fn firmware_candidates(
        &self,
        model: &str,
        image_id: uuid::Uuid,
        after: &str,
        limit: u32,
    ) -> R<Vec<FirmwareCandidate>>;
    /// Records an offer (replacing an earlier update of the same image to the device).
    async fn put_firmware_update(&self, row: &FirmwareUpdateRow) -> R<()>;
    /// Notes the command that offered an update.
    async fn set_firmware_command(
        &self,
        uid: &str,
        image_id: uuid::Uuid,
        command: uuid::Uuid,
    ) -> R<()>;
    /// Moves an update on; false when the device has no update of that image.
    async fn set_firmware_progress(
        &self,
        uid: &str,
        image_id: uuid::Uuid,
        phase: &str,
        percent: u8,
        error: Option<&str>,
        at: Timestamp,
    ) -> R<bool>;
    /// Moves an update on only if it is still as it was read (`phase` and `updated_at`):
    /// false when the device's own report changed it meanwhile.
    #[allow(clippy::too_many_arguments)]
    async fn replace_firmware_progress(
        &self,
        uid: &str,
        image_id: uuid::Uuid,
        was: (&str, Timestamp),
        phase: &str,
        percent: u8,
        error: Option<&str>,
        at: Timestamp,
    ) -> R<bool>;
    /// A device's updates, newest offer first.
    async fn firmware_updates_of(&self, uid: &str) -> R<Vec<FirmwareUpdateRow>>;
    /// A rollout's updates.
    async fn firmware_rollout_updates(&self, rollout: uuid::Uuid) -> R<Vec<FirmwareUpdateRow>>;
    /// Updates under way (an active phase), at most `limit`, oldest offer first.
    async fn firmware_updates_active(&self, limit: u32) -> R<Vec<FirmwareUpdateRow>>;
}
