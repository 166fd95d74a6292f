//! The account system: registration with a verified contact, login sessions, profile,
//! password change and reset, login history, bans, and the risk rules around them.
//!
//! Invariants: a contact (phone or e-mail) is stored only encrypted under the account's own
//! key, found through its keyed blind index; tokens and codes are stored only as hashes/MACs;
//! login and reset answer the same whether or not an account exists.

mod admin;
mod auth;
mod avatar;
mod codes;
mod config;
pub mod identifier;
pub mod password_policy;
mod profile;
pub mod risk;

use std::sync::Arc;

use kankan_base::{AccountId, Clocks, Timestamp};
use kankan_crypto::{AccountKey, Keyring};
use kankan_db::{Account, AccountState, BlobStore, Store};
use kankan_notify::Message;

use kankan_core::jobs::DeliveryQueue;
use kankan_core::{KeyVault, Revocations};

use crate::risk::RateLimiter;

pub use avatar::MAX_UPLOAD as AVATAR_MAX_BYTES;
pub use config::{AccountsConfig, LimitsConfig, RateLimit};
pub use identifier::Identifier;
pub use kankan_core::{BAN_NOTICE, CoreError, Principal};

pub use admin::StaffPrincipal;
pub use auth::{CodeSent, LoginOk};
/// Kinds of the rows this crate answers with.
pub use kankan_db::{ContactKind, LoginOutcome};
pub use profile::{LoginEntry, Profile, SessionEntry};

/// Argon2id takes tens of milliseconds of CPU: run it off the async workers.
async fn hash_password(password: &str) -> Result<kankan_crypto::PasswordHash, CoreError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || kankan_crypto::hash_password(&password))
        .await
        .map_err(|e| CoreError::Internal(format!("password hashing: {e}")))?
        .map_err(CoreError::from)
}

/// Checks `password` against a stored Argon2id hash off the async workers; with `None` it
/// does the same work and answers false, so a missing account costs as much as a wrong
/// password.
async fn check_password(password: &str, stored: Option<&str>) -> Result<bool, CoreError> {
    let password = password.to_string();
    let hash = stored.map(|h| kankan_crypto::PasswordHash(h.to_string()));
    tokio::task::spawn_blocking(move || kankan_crypto::verify_password(&password, hash.as_ref()))
        .await
        .map_err(|e| CoreError::Internal(format!("password check: {e}")))
}

/// Who is asking, as the transport saw it.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// The client's IP address as text.
    pub ip: String,
    /// The User-Agent (or device name) the client sent, truncated.
    pub client: String,
}

impl ClientInfo {
    pub fn new(ip: impl Into<String>, client: impl Into<String>) -> Self {
        let client: String = client.into();
        let client = if client.trim().is_empty() { "unknown client".to_string() } else { client };
        ClientInfo { ip: ip.into(), client: client.chars().take(256).collect() }
    }
}

/// The account service. Cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Accounts")
    }
}

struct Inner {
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    keyring: Keyring,
    vault: KeyVault,
    clock: Clocks,
    outbox: DeliveryQueue,
    limiter: RateLimiter,
    cfg: AccountsConfig,
    limits: LimitsConfig,
    /// Told when a session or the whole account loses access, so open streams end at once.
    revocations: Revocations,
}

impl Accounts {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<dyn Store>,
        blobs: Arc<dyn BlobStore>,
        keyring: Keyring,
        clock: Clocks,
        outbox: DeliveryQueue,
        cfg: AccountsConfig,
        limits: LimitsConfig,
        revocations: Revocations,
    ) -> Self {
        let limiter = RateLimiter::new(clock.clone());
        Accounts {
            inner: Arc::new(Inner {
                vault: KeyVault::new(store.clone(), keyring.clone()),
                store,
                blobs,
                keyring,
                clock,
                outbox,
                limiter,
                cfg,
                limits,
                revocations,
            }),
        }
    }

    /// The CSRF token that belongs to a session.
    pub fn csrf_token(&self, p: &Principal) -> String {
        self.inner.keyring.csrf_token(&p.token_hash)
    }
}

impl Inner {
    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn contact_index(&self, id: &Identifier) -> Vec<u8> {
        self.keyring.blind_index(id.kind().as_str(), id.as_str()).to_vec()
    }

    fn key_of(&self, a: &Account) -> Result<AccountKey, CoreError> {
        self.vault.key_of(a)
    }

    fn identifier_of(&self, a: &Account, key: &AccountKey) -> Result<Identifier, CoreError> {
        let value = key.open_string("contact", &a.contact_enc)?;
        Ok(Identifier::from_stored(a.contact_kind, value))
    }

    /// A new account row: a fresh account key, the contact sealed under it.
    fn new_account(
        &self,
        id: &Identifier,
        password_hash: String,
        state: AccountState,
    ) -> Result<Account, CoreError> {
        let account_id = AccountId::new();
        let (key, wrapped) = self.keyring.new_account_key(&account_id.to_string())?;
        let now = self.now();
        Ok(Account {
            id: account_id,
            contact_kind: id.kind(),
            contact_index: self.contact_index(id),
            contact_enc: key.seal("contact", id.as_str().as_bytes())?,
            key_wrapped: wrapped,
            password_hash,
            nickname_enc: None,
            avatar_blob: None,
            state,
            state_reason: None,
            created_at: now,
            verified_at: (state == AccountState::Active).then_some(now),
        })
    }

    async fn account(&self, id: AccountId) -> Result<Account, CoreError> {
        self.store.account(id).await?.ok_or(CoreError::Unauthenticated)
    }

    /// Queues a message to the account's own contact.
    async fn notify(&self, a: &Account, subject: &str, body: String) -> Result<(), CoreError> {
        let key = self.key_of(a)?;
        let to = self.identifier_of(a, &key)?.recipient();
        self.outbox.enqueue(Message { to, subject: subject.to_string(), body }).await?;
        Ok(())
    }
}
