//! [`DeviceStore`]: devices, bind tokens, shadow state, commands, grants and RTSP cameras.

use async_trait::async_trait;
use kankan_base::{AccountId, Timestamp};

use crate::{
    BindToken, CommandStatus, DbError, Device, DeviceCommand, DeviceGrant, DeviceState,
    RecordingMode, RtspCamera, SecretRotation,
};

type R<T> = Result<T, DbError>;

/// Devices and everything hanging off one: the device rows and their binding to an owner,
/// bind tokens, the shadow (reported and desired state, presence), commands, grants on the
/// device to other accounts (sharing), and RTSP camera sources.
///
/// Invariants: a device has at most one owner; a bind token is used and the device bound in one
/// transaction; unbinding deletes the device's state, commands, tokens, events, thumbnails,
/// delivery records, notification preferences, data key, recordings (their blobs go to the
/// trash), grants and RTSP source in one transaction; a grant counts
/// only while unrevoked and unexpired.
#[async_trait]
pub trait DeviceStore: Send + Sync {
    // Devices and bind tokens.
    /// Inserts a provisioning batch in one transaction; `Conflict("device")` on a taken UID.
    async fn insert_devices(&self, devices: &[Device]) -> R<()>;
    async fn device(&self, uid: &str) -> R<Option<Device>>;
    /// Devices bound to an account, in binding order.
    async fn devices_of(&self, owner: AccountId) -> R<Vec<Device>>;
    async fn insert_bind_token(&self, token: &BindToken) -> R<()>;
    /// Uses the token and binds the device to its account, in one transaction.
    /// `NotFound("bind token")`: unknown, used, expired or for another device;
    /// `Conflict("device binding")`: the device already has another owner (one bound to the
    /// token's account is a rejoin and keeps its binding).
    async fn claim_device(&self, token_hash: &[u8; 32], uid: &str, now: Timestamp) -> R<AccountId>;
    /// Unbinds the owner's device and deletes its state, commands, tokens, events (with their
    /// thumbnails and delivery records), notification preferences, data key and recordings
    /// (their blobs go to the trash) and grants; false if it is not bound to that owner.
    async fn unbind_device(&self, uid: &str, owner: AccountId) -> R<bool>;
    async fn set_device_name(&self, uid: &str, owner: AccountId, name_enc: &[u8]) -> R<()>;

    // Secret rotation.
    /// The device's pending secret rotation, if any.
    async fn secret_rotation(&self, uid: &str) -> R<Option<SecretRotation>>;
    /// Starts `rotation` unless one is pending; returns the pending one (this one, or the one
    /// already there: a rotation is never replaced before the device confirmed it).
    /// `NotFound("device")` for an unknown device.
    async fn start_secret_rotation(
        &self,
        uid: &str,
        rotation: &SecretRotation,
    ) -> R<SecretRotation>;
    /// The device logged in with its new secret: it becomes the device's secret (and its
    /// pairing key the device's), the old one stops working. False if no rotation with that
    /// MAC is pending.
    async fn complete_secret_rotation(&self, uid: &str, next_secret_mac: &[u8]) -> R<bool>;

    // Device grants (sharing).
    async fn insert_device_grant(&self, grant: &DeviceGrant) -> R<()>;
    /// The account's grants on the device that count at `now` (not revoked, not expired).
    async fn device_grants_of(
        &self,
        uid: &str,
        account: AccountId,
        now: Timestamp,
    ) -> R<Vec<DeviceGrant>>;
    /// Every account's grants on the device that count at `now` (for its members and alarm
    /// recipients), oldest first.
    async fn device_grants_on(&self, uid: &str, now: Timestamp) -> R<Vec<DeviceGrant>>;
    /// The account's grants on any device that count at `now` (the devices shared with it),
    /// oldest first.
    async fn device_grants_held(&self, account: AccountId, now: Timestamp) -> R<Vec<DeviceGrant>>;
    /// Revokes a grant; false if there is no such unrevoked grant.
    async fn revoke_device_grant(&self, id: uuid::Uuid, at: Timestamp) -> R<bool>;

    // Shadow state.
    async fn device_state(&self, uid: &str) -> R<Option<DeviceState>>;
    /// Stores a state report; the device is then online.
    async fn put_reported(&self, uid: &str, enc: &[u8], version: u64, at: Timestamp) -> R<()>;
    /// Stores new desired settings with the recording mode they carry (`mode`, noting `at` as
    /// when it was chosen if it changes) and returns their version (previous + 1). With
    /// `mode_fixed` (the caller may not change the mode) nothing is stored and `None` comes
    /// back unless `mode` is the one in force.
    async fn set_desired(
        &self,
        uid: &str,
        enc: &[u8],
        mode: RecordingMode,
        mode_fixed: bool,
        at: Timestamp,
    ) -> R<Option<u64>>;
    async fn set_presence(&self, uid: &str, online: bool, at: Timestamp) -> R<()>;

    // Commands.
    async fn insert_command(&self, command: &DeviceCommand) -> R<()>;
    /// Settles a command still `sent`; false if already settled or not this device's.
    async fn finish_command(
        &self,
        id: uuid::Uuid,
        uid: &str,
        status: CommandStatus,
        error: Option<&str>,
        at: Timestamp,
    ) -> R<bool>;
    async fn command(&self, id: uuid::Uuid) -> R<Option<DeviceCommand>>;

    // RTSP cameras.
    /// Inserts an RTSP camera's device row (bound, `device.owner` = `camera.owner`), its
    /// shadow and its source in one transaction; unbinding deletes the source. Stores nothing
    /// and answers false when the owner already has `max_of_owner` RTSP cameras (counted in
    /// the same transaction, under a lock on the owner, so parallel adds cannot pass it).
    async fn insert_rtsp_camera(
        &self,
        device: &Device,
        camera: &RtspCamera,
        max_of_owner: u32,
    ) -> R<bool>;
    /// Every bound RTSP camera with its owner (for the bridge).
    async fn rtsp_cameras(&self) -> R<Vec<RtspCamera>>;
}
