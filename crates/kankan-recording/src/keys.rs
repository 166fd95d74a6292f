//! Each bound device's media data key: random, wrapped by the owner's account key, stored
//! once per binding and deleted with it.

use kankan_crypto::{AccountKey, AeadKey};
use kankan_db::{Device, MediaKey};

use super::Recordings;
use crate::CoreError;

fn field(uid: &str) -> String {
    format!("media-key/{uid}")
}

impl Recordings {
    /// The data key of a bound device, created on first use.
    pub(crate) async fn device_key(&self, device: &Device) -> Result<AeadKey, CoreError> {
        let s = &self.inner;
        let owner = device.owner.ok_or(CoreError::DeviceNotBound)?;
        let account_key = s.vault.active_key(owner).await?.ok_or(CoreError::DeviceNotBound)?;
        self.key_with(device, &account_key).await
    }

    /// The data key, with the owner's account key already unwrapped (a device handle's).
    pub(crate) async fn key_with(
        &self,
        device: &Device,
        account_key: &AccountKey,
    ) -> Result<AeadKey, CoreError> {
        let s = &self.inner;
        let owner = device.owner.ok_or(CoreError::DeviceNotBound)?;
        let row = match s.store.media_key(&device.uid).await? {
            Some(k) => k,
            None => {
                let fresh = AeadKey::generate()?;
                let key_enc = account_key.wrap_key(&field(&device.uid), &fresh)?;
                let row = MediaKey {
                    uid: device.uid.clone(),
                    account_id: owner,
                    key_enc,
                    created_at: s.clock.now(),
                };
                s.store.put_media_key(&row).await?
            }
        };
        if row.account_id != owner {
            // A key left from an earlier owner is never used for a new one.
            return Err(CoreError::DeviceNotBound);
        }
        Ok(account_key.unwrap_key(&field(&device.uid), &row.key_enc)?)
    }
}
