//! The one authorization function for every device access by a person.

use kankan_crypto::AccountKey;
use kankan_db::{AccountState, Device};

use super::Devices;
use crate::{CoreError, Principal};

/// What a person wants to do with a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceAction {
    /// See its info, state and settings.
    View,
    /// Change settings, name, send commands.
    Control,
    /// Unbind and delete its data.
    Unbind,
}

/// Proof that a principal may act on a device: only [`Devices::authorize`] makes one.
#[derive(Debug, Clone)]
pub struct DeviceHandle {
    pub(super) device: Device,
    pub(super) key: AccountKey,
    pub(super) action: DeviceAction,
}

impl DeviceHandle {
    pub fn uid(&self) -> &str {
        &self.device.uid
    }

    pub fn action(&self) -> DeviceAction {
        self.action
    }
}

impl Devices {
    /// Decides whether `p` may perform `action` on `uid`. Today only the owner may do
    /// anything (shared members come with sharing). A device that does not exist and one
    /// that belongs to someone else answer the same `DeviceNotFound`.
    pub async fn authorize(
        &self,
        p: &Principal,
        action: DeviceAction,
        uid: &str,
    ) -> Result<DeviceHandle, CoreError> {
        let s = &self.inner;
        if !super::valid_uid(uid) {
            return Err(CoreError::DeviceNotFound);
        }
        let device = s.store.device(uid).await?.ok_or(CoreError::DeviceNotFound)?;
        if device.owner != Some(p.account_id) {
            return Err(CoreError::DeviceNotFound);
        }
        Ok(DeviceHandle { device, key: self.key_of(p).await?, action })
    }

    /// The caller's account key, if the account may act at all.
    pub(super) async fn key_of(&self, p: &Principal) -> Result<AccountKey, CoreError> {
        let s = &self.inner;
        let account = s.store.account(p.account_id).await?.ok_or(CoreError::Unauthenticated)?;
        if account.state != AccountState::Active {
            return Err(CoreError::Unauthenticated);
        }
        Ok(s.keyring.unwrap_account_key(&account.id.to_string(), &account.key_wrapped)?)
    }
}
