//! Factory provisioning: a UID and a secret per device; the server keeps a MAC of the secret
//! and the sealed pairing key, never the secret.

use kankan_crypto::pairing::{new_device_secret, pairing_key};
use kankan_db::{Device, DeviceKind};

use super::Devices;
use crate::CoreError;

/// Models this server knows, and what they are.
pub const MODELS: &[(&str, DeviceKind)] = &[
    ("KK-C1", DeviceKind::Camera),
    ("KK-C2", DeviceKind::Camera),
    // The KK-C1 with a 4G modem and SIM card (it reports the SIM and its data used).
    ("KK-C1-4G", DeviceKind::Camera),
    ("KK-D1", DeviceKind::Doorbell),
    (RTSP_MODEL, DeviceKind::Camera),
];

/// The model of cameras added by URL (see `devices::rtsp`); never provisioned.
pub const RTSP_MODEL: &str = "RTSP";

const UID_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTVWXYZ23456789";
pub(super) const PAIRING_KEY_PURPOSE: &str = "device/pairing-key";
/// Most devices one provisioning run creates.
pub const MAX_BATCH: u32 = 100_000;

/// One new device: what the factory writes into it.
#[derive(Clone)]
pub struct ProvisionedDevice {
    pub uid: String,
    pub model: String,
    pub secret: String,
}

impl std::fmt::Debug for ProvisionedDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvisionedDevice").field("uid", &self.uid).finish_non_exhaustive()
    }
}

pub(super) fn new_uid() -> Result<String, CoreError> {
    let mut uid = String::from("KK");
    while uid.len() < 12 {
        for b in kankan_crypto::random_bytes(16)? {
            // 240 = 8 * 30: rejection keeps the choice uniform.
            if b < 240 && uid.len() < 12 {
                uid.push(char::from(UID_ALPHABET[usize::from(b % 30)]));
            }
        }
    }
    Ok(uid)
}

impl Devices {
    /// Creates `count` device identities of `model` in one transaction.
    pub async fn provision(
        &self,
        model: &str,
        count: u32,
        batch: &str,
    ) -> Result<Vec<ProvisionedDevice>, CoreError> {
        let s = &self.inner;
        let kind = MODELS.iter().find(|(m, _)| *m == model).map(|(_, k)| *k).ok_or_else(|| {
            let known: Vec<&str> =
                MODELS.iter().map(|(m, _)| *m).filter(|m| *m != RTSP_MODEL).collect();
            CoreError::InvalidDeviceInput(format!("unknown model {model:?}; known: {known:?}"))
        })?;
        if model == RTSP_MODEL {
            return Err(CoreError::InvalidDeviceInput(
                "RTSP cameras are added by their owners with their stream URL".into(),
            ));
        }
        if count == 0 || count > MAX_BATCH {
            return Err(CoreError::InvalidDeviceInput(format!("count must be 1-{MAX_BATCH}")));
        }
        let now = s.clock.now();
        let mut rows = Vec::with_capacity(count as usize);
        let mut out = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let uid = new_uid()?;
            let secret = new_device_secret()?;
            let pk = pairing_key(&secret).to_bytes();
            rows.push(Device {
                uid: uid.clone(),
                model: model.to_string(),
                kind,
                secret_mac: s.keyring.device_secret_mac(&uid, &secret).to_vec(),
                pairing_key_enc: s
                    .keyring
                    .seal_server_data(&format!("{PAIRING_KEY_PURPOSE}/{uid}"), &pk)?,
                batch: batch.to_string(),
                provisioned_at: now,
                owner: None,
                name_enc: None,
                bound_at: None,
            });
            out.push(ProvisionedDevice { uid, model: model.to_string(), secret });
        }
        s.store.insert_devices(&rows).await?;
        Ok(out)
    }

    /// Checks a device's login (MQTT, ingest): its UID and its own secret, or the new secret
    /// of a rotation in progress (whose first use completes the rotation: see `rotation`).
    pub async fn authenticate(&self, uid: &str, secret: &str) -> bool {
        let s = &self.inner;
        if !super::valid_uid(uid) {
            return false;
        }
        match s.store.device(uid).await {
            Ok(Some(d)) => {
                let mac = s.keyring.device_secret_mac(uid, secret);
                if kankan_base::constant_time_eq(&d.secret_mac, &mac) {
                    return true;
                }
                // The new secret of a rotation in progress: its first use confirms it.
                match self.confirm_rotation(uid, &mac).await {
                    Ok(confirmed) => confirmed,
                    Err(e) => {
                        tracing::error!(error = %e, "device authentication: rotation not checked");
                        false
                    }
                }
            }
            Ok(None) => false,
            Err(e) => {
                tracing::error!(error = %e, "device authentication: store unavailable");
                false
            }
        }
    }

    pub(super) fn pairing_key_of(&self, d: &Device) -> Result<kankan_crypto::AeadKey, CoreError> {
        let raw = self
            .inner
            .keyring
            .open_server_data(&format!("{PAIRING_KEY_PURPOSE}/{}", d.uid), &d.pairing_key_enc)?;
        let bytes: [u8; 32] = raw
            .as_slice()
            .try_into()
            .map_err(|_| CoreError::Internal("stored pairing key has the wrong length".into()))?;
        Ok(kankan_crypto::AeadKey::from_bytes(bytes))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn uids_are_valid_and_distinct() {
        let a = super::new_uid().expect("uid");
        let b = super::new_uid().expect("uid");
        assert!(super::super::valid_uid(&a), "{a}");
        assert_ne!(a, b);
    }
}
