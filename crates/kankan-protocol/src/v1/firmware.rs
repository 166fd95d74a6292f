//! Firmware updates: the operator's images and rollouts (staff), and a device's firmware as
//! its owner sees it.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Where an image upload names what it is (`POST /api/v1/admin/firmware/images`; the body
/// is the image).
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FirmwareUploadQuery {
    /// The device model it is for (`KK-C1`).
    pub model: String,
    pub version: String,
    /// The operator's signature (`kankan firmware sign`), base64url.
    pub signature: String,
}

/// A stored firmware image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FirmwareImageItem {
    pub id: uuid::Uuid,
    pub model: String,
    pub version: String,
    pub size: u64,
    /// Lower-hex SHA-256.
    pub sha256: String,
    pub signature: String,
    pub created_at: String,
}

/// Start a rollout: a percentage of the model's devices and/or a cohort of UIDs.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRolloutRequest {
    pub image_id: uuid::Uuid,
    /// 0-100 (0 or absent: the cohort only).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 100)]
    pub percent: u8,
    /// UIDs offered the image whatever the percentage.
    #[serde(default)]
    pub cohort: Vec<String>,
}

/// A device whose update failed or rolled back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RolloutFailure {
    pub uid: String,
    /// `failed` or `rolled-back`.
    pub phase: String,
    /// The device's reason (`signature`, `sha256`, `download`, `health-check`, `model`, ...;
    /// `no-answer`, `not-sent`, `stalled` from the server).
    pub error: Option<String>,
    /// The version it runs again.
    pub from_version: String,
}

/// A rollout and its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RolloutItem {
    pub id: uuid::Uuid,
    pub image: FirmwareImageItem,
    pub percent: u8,
    pub cohort: Vec<String>,
    pub paused: bool,
    pub created_at: String,
    /// Devices offered the image so far.
    pub offered: u64,
    /// Devices per phase: `offered` (not started), `downloading`, `verifying`, `installing`,
    /// `rebooting`, `confirmed`, `failed`, `rolled-back`.
    pub phases: std::collections::BTreeMap<String, u64>,
    pub failures: Vec<RolloutFailure>,
}

/// Where a device's last update stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FirmwareUpdateItem {
    pub version: String,
    /// `offered`, `downloading`, `verifying`, `installing`, `rebooting`, `confirmed`,
    /// `failed` or `rolled-back`.
    pub phase: String,
    /// Download progress, 0-100.
    pub percent: u8,
    pub error: Option<String>,
    /// The version before: where a failed or rolled-back update left the camera.
    pub from_version: String,
}

/// A newer firmware released for the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AvailableFirmware {
    pub version: String,
    pub size: u64,
}

/// A device's firmware (`GET /api/v1/devices/{uid}/firmware`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DeviceFirmwareInfo {
    /// The version the camera last reported.
    pub installed: Option<String>,
    pub available: Option<AvailableFirmware>,
    pub update: Option<FirmwareUpdateItem>,
    /// Automatic updates (the settings' `auto_update`; on by default).
    pub auto_update: bool,
}
