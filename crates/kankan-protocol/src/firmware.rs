//! Firmware updates on the wire: the offer a `firmware-update` command carries and the
//! progress a device reports in its state (see [`crate::device::StateReport::update`]).

use serde::{Deserialize, Serialize};

/// Where a firmware update stands on the device, sent in its state reports on every change
/// (`percent` of the download at least every 10 %).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FirmwareProgress {
    /// The version being installed.
    pub version: String,
    pub phase: UpdatePhase,
    /// Download progress, 0-100.
    pub percent: u8,
    /// Why it failed or rolled back (`signature`, `download`, `health-check`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The steps of an A/B update: download to the inactive slot, verify the signature, write
/// and mark the slot, reboot into it, confirm health (else boot the old slot again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum UpdatePhase {
    Downloading,
    Verifying,
    Installing,
    Rebooting,
    /// Running the new version, health confirmed: the update is done.
    Confirmed,
    /// Refused before switching (bad signature, download failed); still the old version.
    Failed,
    /// The new slot failed its health check; back on the old version.
    RolledBack,
}

/// A firmware image offered to a device (`firmware-update`). The device downloads it over
/// HTTPS from `url` (a path on its ingest server, authenticated like its uploads, resumable
/// with `Range`), checks size and SHA-256, verifies `signature` against the operator's key
/// it was built with (`kankan_crypto::firmware::verify`) before switching slots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FirmwareOffer {
    pub version: String,
    /// e.g. `/ingest/v1/{uid}/firmware/{image_id}`.
    pub url: String,
    pub size: u64,
    /// Lower-hex SHA-256 of the image.
    pub sha256: String,
    /// base64url Ed25519 signature of the model, version and SHA-256.
    pub signature: String,
}
