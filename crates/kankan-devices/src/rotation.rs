//! Device secret rotation: a new secret is made on the server, sealed for the device under
//! the pairing key of its current secret and sent on its `secret` topic; the device keeps it
//! and logs in with it. The server accepts the old secret only until that first login with
//! the new one (MQTT or ingest), which confirms the rotation: then the new secret's MAC and
//! pairing key replace the old ones. Until then the sealed message is kept and sent again
//! each time the device comes online, so a device that was offline loses nothing. A rotation
//! starts at each new binding and on the operator's command
//! (`kankan admin device rotate-secret`); a pending one is resent, never replaced (the device
//! may already hold it).

use kankan_base::Timestamp;
use kankan_crypto::pairing::{new_device_secret, pairing_key, seal_new_secret};
use kankan_db::SecretRotation;
use kankan_protocol::device::NewSecret;

use super::provision::{PAIRING_KEY_PURPOSE, RTSP_MODEL};
use super::{Devices, Outgoing};
use crate::CoreError;

/// A rotation in progress, as the operator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationStatus {
    /// When it started (a rotation already pending keeps its start).
    pub started_at: Timestamp,
    /// Whether the sealed secret went out to the device now (else: when it next connects).
    pub sent: bool,
}

/// Compares two MACs in constant time.
pub(super) use kankan_base::constant_time_eq as same_mac;

impl Devices {
    /// Starts rotating the device's secret, or resumes the rotation pending, and sends the
    /// sealed new secret to the device (if it is connected; else when it connects).
    pub async fn rotate_secret(&self, uid: &str) -> Result<RotationStatus, CoreError> {
        let s = &self.inner;
        if !s.rotation.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(CoreError::InvalidDeviceInput(
                "device secrets are not rotated with an external MQTT broker".into(),
            ));
        }
        let device = s.store.device(uid).await?.ok_or(CoreError::DeviceNotFound)?;
        if device.model == RTSP_MODEL {
            return Err(CoreError::InvalidDeviceInput(
                "an RTSP camera has no device secret to rotate".into(),
            ));
        }
        let pending = match s.store.secret_rotation(uid).await? {
            Some(r) => r,
            None => {
                let secret = new_device_secret()?;
                let message = seal_new_secret(uid, &secret, &self.pairing_key_of(&device)?)?;
                let pk = pairing_key(&secret).to_bytes();
                let fresh = SecretRotation {
                    next_secret_mac: s.keyring.device_secret_mac(uid, &secret).to_vec(),
                    next_pairing_key_enc: s
                        .keyring
                        .seal_server_data(&format!("{PAIRING_KEY_PURPOSE}/{uid}"), &pk)?,
                    message: message.into_bytes(),
                    started_at: s.clock.now(),
                };
                s.store.start_secret_rotation(uid, &fresh).await?
            }
        };
        let sent = match self.send_rotation(uid, &pending).await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(uid, error = %e, "new secret not sent now; it goes out on connection");
                false
            }
        };
        tracing::info!(uid, started_at = pending.started_at.0, "device secret rotation pending");
        Ok(RotationStatus { started_at: pending.started_at, sent })
    }

    /// Sends the pending rotation's message again (the device came online).
    pub(super) async fn resend_rotation(&self, uid: &str) -> Result<(), CoreError> {
        match self.inner.store.secret_rotation(uid).await? {
            Some(r) => self.send_rotation(uid, &r).await,
            None => Ok(()),
        }
    }

    async fn send_rotation(&self, uid: &str, r: &SecretRotation) -> Result<(), CoreError> {
        let sealed = String::from_utf8(r.message.clone())
            .map_err(|_| CoreError::Internal("stored rotation message is not text".into()))?;
        self.inner.bus.send(uid, Outgoing::Secret(NewSecret { sealed })).await
    }

    /// Whether `secret` is the pending new secret of the device; if so the rotation is
    /// complete (the old secret stops working now).
    pub(super) async fn confirm_rotation(&self, uid: &str, mac: &[u8]) -> Result<bool, CoreError> {
        let s = &self.inner;
        let Some(r) = s.store.secret_rotation(uid).await? else { return Ok(false) };
        if !same_mac(&r.next_secret_mac, mac) {
            return Ok(false);
        }
        let done = s.store.complete_secret_rotation(uid, &r.next_secret_mac).await?;
        if done {
            tracing::info!(uid, "device secret rotated: the old secret no longer works");
        }
        Ok(done)
    }
}
