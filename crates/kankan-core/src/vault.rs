//! The key vault: the one place an account's data key is unwrapped (with the keyring's
//! wrapping key, bound to the account's id). Every domain that opens or seals an account's
//! data asks it, so the rules live here: an account that does not exist has no key, and only an
//! active account's key is handed out for acting on its behalf.

use std::sync::Arc;

use kankan_base::AccountId;
use kankan_crypto::{AccountKey, Keyring};
use kankan_db::{Account, AccountState, Store};

use crate::CoreError;

/// Unwraps account keys. Cheap to clone.
#[derive(Clone)]
pub struct KeyVault {
    store: Arc<dyn Store>,
    keyring: Keyring,
}

impl std::fmt::Debug for KeyVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyVault")
    }
}

impl KeyVault {
    pub fn new(store: Arc<dyn Store>, keyring: Keyring) -> KeyVault {
        KeyVault { store, keyring }
    }

    /// The key of an account row already read. A shredded (`cancelled`) account has none: its
    /// wrapped key was destroyed, and the vault refuses it before trying.
    pub fn key_of(&self, account: &Account) -> Result<AccountKey, CoreError> {
        if account.state == AccountState::Cancelled {
            return Err(CoreError::NotFound("account"));
        }
        Ok(self.keyring.unwrap_account_key(&account.id.to_string(), &account.key_wrapped)?)
    }

    /// The key of an account, whatever its state (sealing records that belong to it); `None`
    /// when the account does not exist or was shredded.
    pub async fn account_key(&self, id: AccountId) -> Result<Option<AccountKey>, CoreError> {
        match self.store.account(id).await? {
            Some(a) if a.state != AccountState::Cancelled => Ok(Some(self.key_of(&a)?)),
            _ => Ok(None),
        }
    }

    /// The key of an active account (acting on its behalf); `None` when the account does not
    /// exist or is not active (pending, banned, cancelling, cancelled).
    pub async fn active_key(&self, id: AccountId) -> Result<Option<AccountKey>, CoreError> {
        match self.store.account(id).await? {
            Some(a) if a.state == AccountState::Active => Ok(Some(self.key_of(&a)?)),
            _ => Ok(None),
        }
    }
}
