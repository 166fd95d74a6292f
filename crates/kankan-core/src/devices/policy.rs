//! The one authorization function for every device access by a person.

use kankan_base::AccountId;
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
    pub(super) principal: AccountId,
}

impl DeviceHandle {
    pub fn uid(&self) -> &str {
        &self.device.uid
    }

    /// An ordinary RTSP camera the server pulls, not a Kankan device on MQTT.
    pub fn is_rtsp(&self) -> bool {
        self.device.model == super::provision::RTSP_MODEL
    }

    pub fn action(&self) -> DeviceAction {
        self.action
    }

    /// The account acting (the owner, today).
    pub fn account(&self) -> AccountId {
        self.principal
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The acting account's key (wraps the device's data keys).
    pub fn account_key(&self) -> &AccountKey {
        &self.key
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
        self.authorize_account(p.account_id, action, uid).await
    }

    /// The same decision for an account proven another way: a signed media URL names the
    /// account it was issued to, and the decision is made again on every use.
    pub async fn authorize_account(
        &self,
        account: AccountId,
        action: DeviceAction,
        uid: &str,
    ) -> Result<DeviceHandle, CoreError> {
        let s = &self.inner;
        if !super::valid_uid(uid) {
            return Err(CoreError::DeviceNotFound);
        }
        let device = s.store.device(uid).await?.ok_or(CoreError::DeviceNotFound)?;
        if device.owner != Some(account) {
            return Err(CoreError::DeviceNotFound);
        }
        let key = self.key_of_account(account).await?;
        Ok(DeviceHandle { device, key, action, principal: account })
    }

    /// The caller's account key, if the account may act at all.
    pub(crate) async fn key_of(&self, p: &Principal) -> Result<AccountKey, CoreError> {
        self.key_of_account(p.account_id).await
    }

    async fn key_of_account(&self, id: AccountId) -> Result<AccountKey, CoreError> {
        let s = &self.inner;
        let account = s.store.account(id).await?.ok_or(CoreError::Unauthenticated)?;
        if account.state != AccountState::Active {
            return Err(CoreError::Unauthenticated);
        }
        Ok(s.keyring.unwrap_account_key(&account.id.to_string(), &account.key_wrapped)?)
    }
}
