//! Revocation that revokes: every long-lived stream a person opens (the live WebSocket, a
//! WebRTC session and its talk channel, the event stream) is registered here under the account
//! and session that opened it and the device it shows; what takes access away (logout, signing
//! a session out, a password change or reset, a ban, an unbind, a revoked grant) calls
//! [`Revocations::revoke`], which ends the matching streams at once. Media links name their
//! session, and [`Revocations::session_live`] is asked on every use of one.
//!
//! A change made elsewhere (the `kankan admin` command in another process, another node) is
//! caught by the [`RevocationSweeper`] worker, which checks the sessions of the streams open
//! here against the store every [`SWEEP_EVERY`]. Access that runs out without anyone acting
//! (a grant's time box passing: its end date, or its weekly schedule closing) has no trigger
//! either: every sweep also asks the device decision again, through a [`DeviceAccess`] the
//! server wires in, whether each stream's account still holds what the stream needs
//! ([`StreamScope::need`]) on its device, and ends the streams that lost it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use kankan_base::{AccountId, Clocks, SessionId, Timestamp};
use kankan_db::Store;
use kankan_worker::{Step, Ticker, WorkError, Worker};
use tokio::sync::watch;

use crate::CoreError;
use crate::authz::CapabilitySet;

/// How often the sweeper checks the sessions of open streams, and what their accounts hold on
/// their devices, against the store.
pub const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// The device decision, as the sweeper asks it (`kankan-core` knows no domain: the server
/// wires in the devices domain's one decision).
#[async_trait]
pub trait DeviceAccess: Send + Sync {
    /// Whether `account` holds every capability of `need` on the device `uid` now. `false`
    /// for a device it holds nothing on (or that is gone); an error only when the question
    /// could not be answered (the store), which ends nothing.
    async fn holds(
        &self,
        account: AccountId,
        uid: &str,
        need: CapabilitySet,
    ) -> Result<bool, CoreError>;
}

/// What a stream is registered under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamScope {
    /// The account whose access it uses.
    pub account: AccountId,
    /// The session that opened it (directly, or through the media link it used).
    pub session: SessionId,
    /// The device it shows, if any (the event stream shows none).
    pub device: Option<String>,
    /// What the account must keep holding on `device` for the stream to run (view-live for
    /// live view; with talk for a WebRTC session that talks). Ignored without a device.
    pub need: CapabilitySet,
}

/// What to take away.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoke {
    /// One session (logout, "sign this session out").
    Session { account: AccountId, session: SessionId },
    /// Every session of an account but `except` (a password change keeps the session that
    /// made it; a reset or a ban keeps none).
    Account { account: AccountId, except: Option<SessionId> },
    /// Everyone's access to a device (unbinding).
    Device { uid: String },
    /// One account's access to a device (a grant revoked or expired).
    DeviceFor { account: AccountId, uid: String },
}

impl Revoke {
    fn matches(&self, s: &StreamScope) -> bool {
        match self {
            Revoke::Session { account, session } => s.account == *account && s.session == *session,
            Revoke::Account { account, except } => {
                s.account == *account && except.is_none_or(|keep| keep != s.session)
            }
            Revoke::Device { uid } => s.device.as_deref() == Some(uid.as_str()),
            Revoke::DeviceFor { account, uid } => {
                s.account == *account && s.device.as_deref() == Some(uid.as_str())
            }
        }
    }
}

struct Entry {
    scope: StreamScope,
    revoked: watch::Sender<bool>,
}

#[derive(Default)]
struct Registry {
    next: u64,
    streams: HashMap<u64, Entry>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Clocks,
    registry: Mutex<Registry>,
}

/// The registry of open streams and the session check of media links. Cheap to clone; the
/// server makes one and gives it to every domain that takes access away.
#[derive(Clone)]
pub struct Revocations {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Revocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Revocations").field("open", &self.open_streams()).finish()
    }
}

/// A registered stream: it stays registered while this lives; [`StreamGuard::revoked`]
/// resolves once its access is taken away.
pub struct StreamGuard {
    id: u64,
    inner: Arc<Inner>,
    revoked: watch::Receiver<bool>,
}

impl std::fmt::Debug for StreamGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamGuard").field("id", &self.id).finish()
    }
}

impl StreamGuard {
    /// Resolves when the stream's access has been revoked (at once if it already was).
    pub async fn revoked(&mut self) {
        // The sender lives in the registry until this guard drops: an error cannot happen
        // while we wait, and would mean the entry is gone, which is revocation too.
        let _ = self.revoked.wait_for(|r| *r).await;
    }

    pub fn is_revoked(&self) -> bool {
        *self.revoked.borrow()
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.inner.lock().streams.remove(&self.id);
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Revocations {
    pub fn new(store: Arc<dyn Store>, clock: Clocks) -> Revocations {
        Revocations { inner: Arc::new(Inner { store, clock, registry: Mutex::default() }) }
    }

    /// Registers a stream; keep the guard for as long as the stream runs.
    pub fn register(&self, scope: StreamScope) -> StreamGuard {
        let (tx, rx) = watch::channel(false);
        let mut reg = self.inner.lock();
        reg.next += 1;
        let id = reg.next;
        reg.streams.insert(id, Entry { scope, revoked: tx });
        StreamGuard { id, inner: self.inner.clone(), revoked: rx }
    }

    /// Ends every open stream `what` covers; returns how many.
    pub fn revoke(&self, what: &Revoke) -> usize {
        let reg = self.inner.lock();
        let mut n = 0;
        for e in reg.streams.values().filter(|e| what.matches(&e.scope)) {
            if !e.revoked.send_replace(true) {
                n += 1;
            }
        }
        if n > 0 {
            tracing::info!(?what, streams = n, "revoked open streams");
        }
        n
    }

    /// Streams registered now.
    pub fn open_streams(&self) -> usize {
        self.inner.lock().streams.len()
    }

    /// Whether `session` is a live (unrevoked, unexpired) session of `account`: asked on every
    /// use of a media link, which names the session it was issued to.
    pub async fn session_live(
        &self,
        account: AccountId,
        session: SessionId,
    ) -> Result<bool, CoreError> {
        let now = self.inner.clock.now();
        let live = self.inner.store.sessions_of(account, now).await?;
        Ok(live.iter().any(|s| s.id == session))
    }

    /// Checks the sessions of every open stream against the store and ends the streams of
    /// those that are no longer live; returns how many ended.
    pub async fn sweep(&self) -> Result<usize, CoreError> {
        let accounts: HashSet<AccountId> =
            self.inner.lock().streams.values().map(|e| e.scope.account).collect();
        let now = self.inner.clock.now();
        let mut ended = 0;
        for account in accounts {
            let live: HashSet<SessionId> =
                self.inner.store.sessions_of(account, now).await?.iter().map(|s| s.id).collect();
            let reg = self.inner.lock();
            for e in reg.streams.values() {
                if e.scope.account == account
                    && !live.contains(&e.scope.session)
                    && !e.revoked.send_replace(true)
                {
                    ended += 1;
                }
            }
        }
        if ended > 0 {
            tracing::info!(streams = ended, "sweep: ended streams of sessions no longer live");
        }
        Ok(ended)
    }

    /// Asks `access` again, for every open stream on a device, whether its account still
    /// holds what the stream needs there, and ends the streams that lost it (a grant whose
    /// time box has passed, one revoked by another process); returns how many ended. One
    /// question per account and device (with what all its streams there need together);
    /// only when that is refused, one per distinct need, so that a stream needing less runs
    /// on.
    pub async fn sweep_access(&self, access: &dyn DeviceAccess) -> Result<usize, CoreError> {
        let mut groups: HashMap<(AccountId, String), HashSet<CapabilitySet>> = HashMap::new();
        for e in self.inner.lock().streams.values() {
            if let Some(uid) = &e.scope.device {
                let key = (e.scope.account, uid.clone());
                groups.entry(key).or_default().insert(e.scope.need);
            }
        }
        let mut ended = 0;
        for ((account, uid), needs) in groups {
            let all = needs.iter().fold(CapabilitySet::EMPTY, |a, n| a.union(*n));
            if access.holds(account, &uid, all).await? {
                continue;
            }
            let mut lost: Vec<CapabilitySet> = needs.iter().copied().collect();
            if lost.len() > 1 {
                let mut still = Vec::new();
                for need in lost {
                    if !access.holds(account, &uid, need).await? {
                        still.push(need);
                    }
                }
                lost = still;
            }
            let reg = self.inner.lock();
            for e in reg.streams.values() {
                if e.scope.account == account
                    && e.scope.device.as_deref() == Some(uid.as_str())
                    && lost.contains(&e.scope.need)
                    && !e.revoked.send_replace(true)
                {
                    ended += 1;
                }
            }
        }
        if ended > 0 {
            tracing::info!(streams = ended, "sweep: ended streams whose account lost the device");
        }
        Ok(ended)
    }
}

/// The worker that runs [`Revocations::sweep`] and [`Revocations::sweep_access`] every
/// [`SWEEP_EVERY`] on the clock.
pub struct RevocationSweeper {
    revocations: Revocations,
    access: Arc<dyn DeviceAccess>,
    ticker: Ticker,
}

impl RevocationSweeper {
    pub fn new(revocations: Revocations, access: Arc<dyn DeviceAccess>) -> RevocationSweeper {
        let now: Timestamp = revocations.inner.clock.now();
        RevocationSweeper { ticker: Ticker::after(SWEEP_EVERY, now), revocations, access }
    }
}

impl Worker for RevocationSweeper {
    fn name(&self) -> &'static str {
        "revocation-sweeper"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        let now = self.revocations.inner.clock.now();
        if !self.ticker.take(now) {
            return Ok(Step::Idle);
        }
        self.revocations.sweep().await?;
        self.revocations.sweep_access(self.access.as_ref()).await?;
        Ok(Step::Idle)
    }

    async fn wait_for_work(&mut self) {
        let clock = self.revocations.inner.clock.clone();
        clock.sleep_until(self.ticker.next()).await;
    }
}
