//! The account system: registration with a verified contact, login sessions, profile,
//! password change and reset, login history, bans, and the risk rules around them.
//!
//! Invariants: a contact (phone or e-mail) is stored only encrypted under the account's own
//! key, found through its keyed blind index; tokens and codes are stored only as hashes/MACs;
//! login and reset answer the same whether or not an account exists.

mod admin;
mod auth;
mod avatar;
mod cancel;
mod codes;
mod config;
pub mod consent;
pub mod identifier;
pub mod mfa;
mod mfa_login;
mod minors;
mod passkeys;
pub mod password_policy;
mod privacy;
mod profile;
pub mod requests;
mod retention;
pub mod risk;
mod sms_caps;
mod staff;
mod staff_accounts;

use std::sync::Arc;

use tokio::sync::Semaphore;

use kankan_base::{AccountId, Clocks, Timestamp};
use kankan_crypto::{AccountKey, Keyring};
use kankan_db::{Account, BlobStore, Store};
use kankan_notify::Message;

use kankan_core::jobs::DeliveryQueue;
use kankan_core::{KeyVault, Revocations};

use crate::risk::RateLimiter;

pub use avatar::MAX_UPLOAD as AVATAR_MAX_BYTES;
pub use config::{AccountsConfig, LimitsConfig, MAX_HASH_CONCURRENCY, RateLimit};
pub use consent::{ConsentCheck, ConsentOverview, Consents, Purpose, WithdrawalEffect};
pub use identifier::Identifier;
pub use kankan_core::{BAN_NOTICE, CoreError, Principal};
pub use privacy::{
    DEFAULT_DISCLAIMER, PolicyVersion, PolicyVersionConfig, Privacy, PrivacyConfig, TEMPLATE_POLICY,
};

pub use admin::StaffPrincipal;
pub use auth::{CodeSent, Gate, LoginOk, Registration};
pub use cancel::Shredded;
pub use kankan_db::{AccountState, BanNote, StaffMember};
/// Kinds of the rows this crate answers with.
pub use kankan_db::{ContactKind, DeletionReason, DeletionReceipt, LoginOutcome, PendingPurge};
pub use mfa::{
    METHOD_PASSKEY, METHOD_RECOVERY_CODE, METHOD_TOTP, RememberedDeviceEntry, SecondFactorStatus,
    SignIn, TotpEnrolment,
};
pub use mfa_login::{LoginStep, SecondFactorNeeded, SecondFactorProof, TICKET_TRIES, TICKET_TTL};
pub use passkeys::{
    CHALLENGE_TTL as PASSKEY_CHALLENGE_TTL, PasskeyOptions, PasskeyRelyingParty, PasskeyView,
};
pub use profile::{LoginEntry, Profile, SessionEntry};
pub use requests::{RequestView, Requests};
pub use retention::{AccountsSweeper, SWEEP_EVERY as ACCOUNTS_SWEEP_EVERY};
pub use staff::{ENROLMENT_TTL as STAFF_ENROLMENT_TTL, StaffEnrolment, StaffLogin};
pub use staff_accounts::{AccountOverview, MAX_REASON as MAX_BAN_REASON};

/// Work on the blocking threads, a bounded number at a time (avatar decoding, up to
/// [`avatar::MAX_DECODE_MEMORY`] each). The permit is held until the work ends, even when the
/// request that asked is gone.
async fn bounded<T: Send + 'static>(
    permits: &Arc<Semaphore>,
    what: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CoreError> {
    let permit = Arc::clone(permits)
        .acquire_owned()
        .await
        .map_err(|e| CoreError::Internal(format!("{what}: {e}")))?;
    tokio::task::spawn_blocking(move || {
        let out = work();
        drop(permit);
        out
    })
    .await
    .map_err(|e| CoreError::Internal(format!("{what}: {e}")))
}

type HashJob = Box<dyn FnOnce() + Send>;

/// Password hashing (Argon2id: tens of milliseconds of CPU and 19 MiB each) on a fixed set of
/// long-lived threads, `accounts.hash_concurrency` of them; requests beyond wait in the queue.
///
/// Fixed threads, not the runtime's blocking pool: the C allocator gives each thread an arena
/// and keeps a freed 19 MiB block in it for reuse, so hashes spread over the blocking pool's
/// many threads left 19 MiB resident in each of up to 8 arenas per core (measured: 330 MiB after
/// 19 registrations, 730 MiB after a credential-stuffing burst, never given back). On these
/// threads it is at most one block per thread, reused.
struct HashPool {
    jobs: std::sync::mpsc::Sender<HashJob>,
}

impl HashPool {
    fn new(threads: usize) -> HashPool {
        let (jobs, queue) = std::sync::mpsc::channel::<HashJob>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for i in 0..threads {
            let queue = Arc::clone(&queue);
            let spawned =
                std::thread::Builder::new().name(format!("kankan-hash-{i}")).spawn(move || {
                    loop {
                        // Ends when the pool (and every Accounts clone) is dropped.
                        let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                        let Ok(job) = job else { return };
                        job();
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        HashPool { jobs }
    }

    async fn run<T: Send + 'static>(
        &self,
        what: &str,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, CoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: HashJob = Box::new(move || {
            // A request that is gone (client disconnected) costs no hash.
            if !tx.is_closed() {
                let _ = tx.send(work());
            }
        });
        self.jobs
            .send(job)
            .map_err(|_| CoreError::Internal(format!("{what}: no hashing threads")))?;
        rx.await.map_err(|_| CoreError::Internal(format!("{what}: the hashing thread failed")))
    }
}

impl Inner {
    /// Hashes a new password on the hashing threads.
    async fn hash_password(
        &self,
        password: &str,
    ) -> Result<kankan_crypto::PasswordHash, CoreError> {
        let password = password.to_string();
        self.hashing
            .run("password hashing", move || kankan_crypto::hash_password(&password))
            .await?
            .map_err(CoreError::from)
    }

    /// Checks `password` against a stored Argon2id hash on the hashing threads; with `None` it
    /// does the same work and answers false, so a missing account costs as much as a wrong
    /// password.
    async fn check_password(
        &self,
        password: &str,
        stored: Option<&str>,
    ) -> Result<bool, CoreError> {
        let password = password.to_string();
        let hash = stored.map(|h| kankan_crypto::PasswordHash(h.to_string()));
        self.hashing
            .run("password check", move || kankan_crypto::verify_password(&password, hash.as_ref()))
            .await
    }
}

/// Who is asking, as the transport saw it.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// The client's IP address as text.
    pub ip: String,
    /// The User-Agent (or device name) the client sent, truncated.
    pub client: String,
    /// The remembered-device cookie the client sent, if any (see `mfa.rs`).
    pub device: Option<String>,
}

impl ClientInfo {
    pub fn new(ip: impl Into<String>, client: impl Into<String>) -> Self {
        let client: String = client.into();
        let client = if client.trim().is_empty() { "unknown client".to_string() } else { client };
        ClientInfo { ip: ip.into(), client: client.chars().take(256).collect(), device: None }
    }

    /// The same client, presenting a remembered-device cookie.
    pub fn with_device(mut self, device: Option<String>) -> Self {
        self.device = device.filter(|d| !d.is_empty() && d.len() <= 128);
        self
    }

    /// The network this client is throttled as (an IPv6 client by its /64).
    pub fn network(&self) -> String {
        risk::network_of(&self.ip)
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
    /// Password hashes computed at once (`accounts.hash_concurrency` threads).
    hashing: HashPool,
    /// Avatars decoded at once.
    images: Arc<Semaphore>,
    /// Told when a session or the whole account loses access, so open streams end at once.
    revocations: Revocations,
    /// The operator's policy versions, disclaimer and contact.
    privacy: Privacy,
    /// What a consent's withdrawal sets off in other domains.
    withdrawal_effects: Vec<Arc<dyn WithdrawalEffect>>,
    /// Accounts known to have accepted the latest major policy version.
    accepted: consent::AcceptedCache,
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
        privacy: Privacy,
        withdrawal_effects: Vec<Arc<dyn WithdrawalEffect>>,
    ) -> Self {
        let limiter = RateLimiter::for_store(clock.clone(), store.clone(), &keyring);
        let hashing = HashPool::new(cfg.hash_permits());
        let images = Arc::new(Semaphore::new(avatar::DECODES_AT_ONCE));
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
                hashing,
                images,
                revocations,
                privacy,
                withdrawal_effects,
                accepted: consent::AcceptedCache::default(),
            }),
        }
    }

    /// The CSRF token that belongs to a session.
    pub fn csrf_token(&self, p: &Principal) -> String {
        self.inner.keyring.csrf_token(&p.token_hash)
    }

    /// Whether `sent` is the session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, p: &Principal, sent: &str) -> bool {
        self.inner.keyring.csrf_token_matches(&p.token_hash, sent)
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

    /// Applies a throttle keyed by the hex of (the start of) a blind index.
    async fn throttle_index(
        &self,
        what: &str,
        idx: &[u8],
        limit: config::RateLimit,
    ) -> Result<(), CoreError> {
        let hex: String = idx.iter().take(16).map(|b| format!("{b:02x}")).collect();
        self.limiter.check(&format!("{what}:{hex}"), limit).await
    }

    /// Queues a message to the account's own contact.
    async fn notify(&self, a: &Account, subject: &str, body: String) -> Result<(), CoreError> {
        let key = self.key_of(a)?;
        let to = self.identifier_of(a, &key)?.recipient();
        self.outbox.enqueue(Message { to, subject: subject.to_string(), body }).await?;
        Ok(())
    }
}
