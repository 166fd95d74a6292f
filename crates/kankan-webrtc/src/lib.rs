//! Live view over WebRTC, and two-way talk.
//!
//! A browser posts its SDP offer (WHEP style: one request, the complete non-trickle offer)
//! and gets an answer naming the server's host candidates; [`WebRtc::open`] binds the
//! session's UDP sockets, answers with str0m, and runs the session on a task of its own
//! until it is deleted, the browser goes away, the camera's stream ends or the server shuts
//! down. The camera's H.264 goes out as it came in (each fMP4 sample as an Annex B access
//! unit, see `feed`), never transcoded; talk audio is G.711 µ-law both ways (see [`talk`]).
//!
//! Layout: `negotiate` (the answer and the payload types), `feed` (fMP4 → frames), `session`
//! (the str0m loop), `net` (sockets), `tcp` (ICE-TCP), `ice` (the STUN/TURN servers and TURN credentials given
//! with a live link), [`talk`] (the talk relay), `config` and `error`.
//!
//! Boundary: the only crate that speaks WebRTC or binds UDP. It knows nothing of accounts:
//! the API checks the media link and the device policy, then hands over a live viewer and,
//! for a principal allowed to control the camera, a [`TalkSwitch`].

mod config;
mod error;
mod feed;
mod ice;
mod negotiate;
mod net;
mod session;
pub mod talk;
mod tcp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use kankan_base::ShutdownSignal;
use kankan_core::StreamGuard;
use kankan_core::live::Viewer;
use str0m::config::CryptoProvider;
use tokio::sync::{Notify, oneshot};

pub use config::WebRtcConfig;
pub use error::WebRtcError;
pub use session::IDLE;
pub use talk::{DeviceEnd, TalkHub, TalkSwitch};

/// A browser's offer to watch (and maybe talk to) a camera, already authorized.
pub struct Offer {
    pub uid: String,
    /// Who may end the session: the account the media link names.
    pub owner: String,
    /// The complete SDP offer.
    pub sdp: String,
    pub viewer: Viewer,
    /// How to open the camera's talk channel, for a principal allowed to; without it the
    /// browser's audio is ignored.
    pub talk: Option<TalkSwitch>,
    /// The registration of the session under the account, session and device it was opened
    /// for: when it is revoked the session (and its talk) ends at once.
    pub guard: StreamGuard,
}

impl std::fmt::Debug for Offer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Offer").field("uid", &self.uid).finish_non_exhaustive()
    }
}

/// The server's answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub sdp: String,
    /// The session's id, for `DELETE .../whep/{session}`.
    pub session: String,
}

struct Entry {
    uid: String,
    owner: String,
    stop: oneshot::Sender<()>,
    /// The owner's place among its `max_sessions_per_account`: given back with the entry, so
    /// a viewer who closes a session can open the next at once (its task may still be ending).
    _owner_slot: OwnerSlot,
}

struct Inner {
    config: WebRtcConfig,
    provider: Arc<CryptoProvider>,
    sessions: Mutex<HashMap<String, Entry>>,
    /// Session tasks running or being set up.
    tasks: AtomicUsize,
    /// The same, per account (the offer's owner); an account's count is gone at zero.
    per_owner: Mutex<HashMap<String, usize>>,
    done: Notify,
    /// Sessions ended so far, by why ([`End::code`]).
    ended: Mutex<HashMap<&'static str, u64>>,
    talk: TalkHub,
    shutdown: ShutdownSignal,
}

/// The WebRTC sessions of this server. Cheap to clone.
#[derive(Clone)]
pub struct WebRtc {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for WebRtc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebRtc")
    }
}

/// Counts a session task from its reservation to its end, whatever way it ends.
struct TaskSlot(Arc<Inner>);

impl Drop for TaskSlot {
    fn drop(&mut self) {
        self.0.tasks.fetch_sub(1, Ordering::SeqCst);
        self.0.done.notify_waiters();
    }
}

/// Counts a session against its account from its reservation to its end.
struct OwnerSlot(Arc<Inner>, String);

impl OwnerSlot {
    /// Reserves one of `owner`'s sessions, unless it has `max` already.
    fn reserve(inner: &Arc<Inner>, owner: &str, max: usize) -> Option<OwnerSlot> {
        let mut map = inner.per_owner.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(owner.to_string()).or_default();
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(OwnerSlot(inner.clone(), owner.to_string()))
    }
}

impl Drop for OwnerSlot {
    fn drop(&mut self) {
        let mut map = self.0.per_owner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.1) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.1);
            }
        }
    }
}

fn session_id() -> String {
    let mut b = [0u8; 16];
    // Without the OS's randomness nothing in the server is safe anyway; fall back to the
    // clock so the id is at least unique.
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b = t.to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl WebRtc {
    /// Sessions stop when `shutdown` fires; [`WebRtc::stopped`] waits for them.
    pub fn new(config: WebRtcConfig, shutdown: ShutdownSignal) -> WebRtc {
        WebRtc {
            inner: Arc::new(Inner {
                config,
                provider: Arc::new(str0m::crypto::from_feature_flags()),
                sessions: Mutex::default(),
                tasks: AtomicUsize::new(0),
                per_owner: Mutex::default(),
                done: Notify::new(),
                ended: Mutex::default(),
                talk: TalkHub::new(shutdown.clone()),
                shutdown,
            }),
        }
    }

    pub fn enabled(&self) -> bool {
        self.inner.config.enabled
    }

    /// The ICE servers for a live link made now: STUN, and TURN with a credential of its own
    /// that expires `webrtc.turn_ttl_secs` from now (real time, as the TURN server reads it).
    /// Empty when WebRTC is off or none are configured.
    pub fn ice_servers(&self) -> Vec<kankan_protocol::v1::IceServer> {
        if !self.inner.config.enabled {
            return Vec::new();
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        ice::servers(&self.inner.config, now)
    }

    fn sessions_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.inner.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answers an offer and starts its session: at most `webrtc.max_sessions` at once on the
    /// server, and `webrtc.max_sessions_per_account` for the offer's owner.
    pub async fn open(&self, offer: Offer) -> Result<Answer, WebRtcError> {
        let inner = &self.inner;
        if !inner.config.enabled || inner.shutdown.is_triggered() {
            return Err(WebRtcError::Disabled);
        }
        if inner.tasks.fetch_add(1, Ordering::SeqCst) >= inner.config.max_sessions {
            drop(TaskSlot(inner.clone()));
            return Err(WebRtcError::Busy);
        }
        let slot = TaskSlot(inner.clone());
        // One account cannot take every session of the server.
        let Some(owner_slot) =
            OwnerSlot::reserve(inner, &offer.owner, inner.config.max_sessions_per_account)
        else {
            return Err(WebRtcError::AccountBusy(inner.config.max_sessions_per_account));
        };
        let range = inner.config.ports().map_err(WebRtcError::NoPort)?;
        let sockets = net::bind(&inner.config.ips, range).await?;
        let sockets: Vec<_> = sockets
            .into_iter()
            .map(|s| {
                let a = s.local_addr().map_err(|e| WebRtcError::NoPort(e.to_string()))?;
                Ok((s, a))
            })
            .collect::<Result<_, WebRtcError>>()?;
        let candidates: Vec<SocketAddr> = sockets.iter().map(|(_, a)| *a).collect();
        let tcp = if inner.config.ice_tcp {
            let mut listeners = Vec::with_capacity(candidates.len());
            for a in &candidates {
                let l = tcp::listen(a.ip(), a.port(), range).await?;
                let addr = l.local_addr().map_err(|e| WebRtcError::NoPort(e.to_string()))?;
                listeners.push((l, addr));
            }
            Some(tcp::Tcp::new(listeners))
        } else {
            None
        };
        let tcp_candidates = tcp.as_ref().map(tcp::Tcp::addrs).unwrap_or_default();
        let accepted =
            negotiate::accept(inner.provider.clone(), &offer.sdp, &candidates, &tcp_candidates)?;
        for t in accepted.transmits.iter().filter(|t| t.proto == str0m::net::Protocol::Udp) {
            if let Some((s, _)) = sockets.iter().find(|(_, a)| *a == t.source) {
                let _ = s.try_send_to(&t.contents, t.destination);
            }
        }
        let id = session_id();
        let (stop_tx, stop) = oneshot::channel();
        let entry = Entry {
            uid: offer.uid.clone(),
            owner: offer.owner,
            stop: stop_tx,
            _owner_slot: owner_slot,
        };
        self.sessions_map().insert(id.clone(), entry);
        let parts = session::Parts {
            uid: offer.uid,
            rtc: accepted.rtc,
            sockets,
            tcp,
            negotiated: accepted.negotiated,
            viewer: offer.viewer,
            talk: offer.talk,
            hub: inner.talk.clone(),
            stop,
            guard: offer.guard,
            shutdown: inner.shutdown.clone(),
        };
        let (me, sid) = (self.clone(), id.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let uid = parts.uid.clone();
            let talk = parts.negotiated.audio.is_some();
            let began = Instant::now();
            tracing::info!(%uid, session = %&sid[..8], talk, "webrtc: session open");
            let (end, sent) = session::run(parts).await;
            me.sessions_map().remove(&sid);
            *me.inner
                .ended
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(end.code())
                .or_default() += 1;
            let secs = began.elapsed().as_secs_f64();
            tracing::info!(
                %uid,
                session = %&sid[..8],
                ?end,
                secs = format!("{secs:.1}"),
                video_frames = sent.video_frames,
                audio_frames = sent.audio_frames,
                sound_packets = sent.sound_packets,
                talk_frames = sent.talk_frames,
                "webrtc: session ended"
            );
        });
        Ok(Answer { sdp: accepted.answer, session: id })
    }

    /// Ends session `session` of `uid` if `owner` opened it; false if there is no such session
    /// (or it is someone else's: the caller cannot tell).
    pub fn close(&self, uid: &str, session: &str, owner: &str) -> bool {
        let mut map = self.sessions_map();
        let mine = map.get(session).is_some_and(|e| e.uid == uid && e.owner == owner);
        if mine && let Some(e) = map.remove(session) {
            let _ = e.stop.send(());
        }
        mine
    }

    /// Sessions open now.
    pub fn sessions(&self) -> usize {
        self.sessions_map().len()
    }

    /// Session tasks running now (a session's task outlives its entry by a moment).
    pub fn tasks(&self) -> usize {
        self.inner.tasks.load(Ordering::SeqCst)
    }

    /// Sessions that have ended because of `why`: `deleted`, `revoked`, `shutdown`, `idle`,
    /// `disconnected`, `stream-ended` or `failed`. Counted once the session's task is done.
    pub fn ended(&self, why: &str) -> u64 {
        let ended = self.inner.ended.lock().unwrap_or_else(|p| p.into_inner());
        ended.get(why).copied().unwrap_or(0)
    }

    /// The talk relay.
    pub fn talk(&self) -> &TalkHub {
        &self.inner.talk
    }

    /// Waits for shutdown, then for every session task to end.
    pub async fn stopped(&self) {
        self.inner.shutdown.clone().wait().await;
        loop {
            let done = self.inner.done.notified();
            if self.tasks() == 0 {
                return;
            }
            done.await;
        }
    }

    /// Prometheus text: sessions and talk channels now.
    pub fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write as _;
        let _ = writeln!(out, "# HELP kankan_webrtc_sessions WebRTC live sessions open.");
        let _ = writeln!(out, "# TYPE kankan_webrtc_sessions gauge");
        let _ = writeln!(out, "kankan_webrtc_sessions {}", self.sessions());
        let _ = writeln!(out, "# HELP kankan_talk_channels Cameras with a talk channel open.");
        let _ = writeln!(out, "# TYPE kankan_talk_channels gauge");
        let _ = writeln!(out, "kankan_talk_channels {}", self.talk().open_channels());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_a_session_gives_its_owner_place_back_before_its_task_ends() {
        // Fails without the fix: the place was given back only when the session's task ended,
        // so a viewer closing one view and opening the next could be refused (429).
        let (_stop, signal) = kankan_base::Shutdown::new();
        let w = WebRtc::new(WebRtcConfig::default(), signal);
        let slot = OwnerSlot::reserve(&w.inner, "acct", 1).expect("a first place");
        assert!(OwnerSlot::reserve(&w.inner, "acct", 1).is_none(), "one place only");
        let (stop, mut ended) = oneshot::channel();
        let entry = Entry { uid: "cam".into(), owner: "acct".into(), stop, _owner_slot: slot };
        w.sessions_map().insert("s1".into(), entry);
        assert!(!w.close("cam", "s1", "someone-else"), "only its owner closes it");
        assert!(w.close("cam", "s1", "acct"));
        assert!(ended.try_recv().is_ok(), "the task is told to stop");
        assert!(OwnerSlot::reserve(&w.inner, "acct", 1).is_some(), "the place is free at once");
    }
}
