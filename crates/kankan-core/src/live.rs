//! Live view: the fragments a camera uploads fan out to viewers as they arrive.
//!
//! The hub keeps each live stream's init segment and its current GOP (the fragments since the
//! last keyframe), so a new viewer starts at that keyframe and sees a picture at once. Viewers
//! read from a bounded broadcast: one that falls behind loses its place and skips to the next
//! keyframe; nothing waits for it, neither the recorder nor the other viewers.
//!
//! Cameras that upload only on demand are started by `Recordings::watch_live`; the hub tells
//! it when a stream becomes ready (its first keyframe arrived) and when a viewer leaves, so
//! the stream can be stopped once nobody watches.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{broadcast, mpsc, watch};

/// Fragments (frames) a viewer may lag behind before it skips to the next keyframe: about
/// four seconds at 15 fps.
const BACKLOG: usize = 64;
/// The current GOP is not kept past this size (a camera with very long GOPs).
const MAX_GOP_BYTES: usize = 16 * 1024 * 1024;

/// What a viewer receives.
#[derive(Debug, Clone)]
pub enum LivePart {
    /// A new init segment: the camera restarted its encoder.
    Init(Bytes),
    Fragment {
        bytes: Bytes,
        keyframe: bool,
    },
}

#[derive(Default)]
struct Current {
    init: Option<Bytes>,
    gop: Vec<Bytes>,
    gop_bytes: usize,
}

struct Feed {
    current: Mutex<Current>,
    tx: broadcast::Sender<LivePart>,
}

/// A stream: device UID and stream number (0 main, 1 sub).
pub type StreamKey = (String, u8);

/// The live streams by device and stream number.
type Feeds = HashMap<StreamKey, Arc<Feed>>;

/// Every live stream on this node. Cheap to clone.
#[derive(Clone)]
pub struct LiveHub {
    feeds: Arc<Mutex<Feeds>>,
    /// Bumped whenever a stream becomes ready to watch.
    ready: Arc<watch::Sender<u64>>,
    /// Streams a viewer just left.
    left: mpsc::UnboundedSender<StreamKey>,
    left_rx: Arc<Mutex<Option<mpsc::UnboundedReceiver<StreamKey>>>>,
    /// Streams this node asked a camera to start (on demand): they are stopped again.
    on_demand: Arc<Mutex<HashSet<StreamKey>>>,
}

impl Default for LiveHub {
    fn default() -> Self {
        let (left, left_rx) = mpsc::unbounded_channel();
        LiveHub {
            feeds: Arc::default(),
            ready: Arc::new(watch::channel(0).0),
            left,
            left_rx: Arc::new(Mutex::new(Some(left_rx))),
            on_demand: Arc::default(),
        }
    }
}

impl std::fmt::Debug for LiveHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveHub")
    }
}

/// One viewer of one stream.
#[derive(Debug)]
pub struct Viewer {
    /// The init segment, then the current GOP: what to show first.
    pub start: Vec<Bytes>,
    rx: broadcast::Receiver<LivePart>,
    skipping: bool,
    _leaving: Leaving,
}

/// Tells the hub when the viewer goes.
#[derive(Debug)]
struct Leaving {
    key: StreamKey,
    left: mpsc::UnboundedSender<StreamKey>,
}

impl Drop for Leaving {
    fn drop(&mut self) {
        let _ = self.left.send(std::mem::take(&mut self.key));
    }
}

impl Viewer {
    /// The next part, skipping to a keyframe after falling behind; `None` when the stream
    /// ended.
    pub async fn next(&mut self) -> Option<LivePart> {
        loop {
            match self.rx.recv().await {
                Ok(LivePart::Fragment { keyframe: false, .. }) if self.skipping => continue,
                Ok(part) => {
                    self.skipping = false;
                    return Some(part);
                }
                Err(broadcast::error::RecvError::Lagged(_)) => self.skipping = true,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl LiveHub {
    fn feed(&self, uid: &str, stream: u8) -> Arc<Feed> {
        let mut feeds = lock(&self.feeds);
        feeds
            .entry((uid.to_string(), stream))
            .or_insert_with(|| {
                Arc::new(Feed { current: Mutex::default(), tx: broadcast::channel(BACKLOG).0 })
            })
            .clone()
    }

    /// A stream starts, or its camera restarted its encoder.
    pub fn publish_init(&self, uid: &str, stream: u8, init: Bytes) {
        let feed = self.feed(uid, stream);
        let mut c = lock(&feed.current);
        *c = Current { init: Some(init.clone()), ..Current::default() };
        let _ = feed.tx.send(LivePart::Init(init));
    }

    /// A fragment was accepted from the camera.
    pub fn publish(&self, uid: &str, stream: u8, bytes: Bytes, keyframe: bool) {
        let feed = self.feed(uid, stream);
        let mut c = lock(&feed.current);
        if keyframe {
            if c.gop.is_empty() && c.init.is_some() {
                self.ready.send_modify(|n| *n += 1);
            }
            c.gop.clear();
            c.gop_bytes = 0;
        } else if c.gop.is_empty() {
            // Nothing to decode it against: a viewer starts at a keyframe.
            return;
        }
        if c.gop_bytes + bytes.len() <= MAX_GOP_BYTES {
            c.gop_bytes += bytes.len();
            c.gop.push(bytes.clone());
        }
        let _ = feed.tx.send(LivePart::Fragment { bytes, keyframe });
    }

    /// The camera's upload ended: viewers see the end; nothing is kept.
    pub fn end(&self, uid: &str, stream: u8) {
        lock(&self.feeds).remove(&(uid.to_string(), stream));
    }

    /// Starts watching `uid`'s stream; `None` when it is not live or has had no keyframe
    /// yet.
    pub fn subscribe(&self, uid: &str, stream: u8) -> Option<Viewer> {
        let key = (uid.to_string(), stream);
        let feed = lock(&self.feeds).get(&key)?.clone();
        let c = lock(&feed.current);
        let init = c.init.clone()?;
        if c.gop.is_empty() {
            return None;
        }
        let rx = feed.tx.subscribe();
        let start = std::iter::once(init).chain(c.gop.iter().cloned()).collect();
        let leaving = Leaving { key, left: self.left.clone() };
        Some(Viewer { start, rx, skipping: false, _leaving: leaving })
    }

    /// Viewers of every stream now (for metrics and tests).
    pub fn viewers(&self) -> usize {
        lock(&self.feeds).values().map(|f| f.tx.receiver_count()).sum()
    }

    /// Viewers of one stream now.
    pub fn viewers_of(&self, key: &StreamKey) -> usize {
        lock(&self.feeds).get(key).map_or(0, |f| f.tx.receiver_count())
    }

    /// A counter that moves whenever some stream becomes ready to watch.
    pub fn readiness(&self) -> watch::Receiver<u64> {
        self.ready.subscribe()
    }

    /// The streams viewers leave, once: for the worker that stops idle on-demand streams.
    pub fn take_departures(&self) -> Option<mpsc::UnboundedReceiver<StreamKey>> {
        lock(&self.left_rx).take()
    }

    /// Reports `key` as left by a viewer (also used when a start timed out, so a camera
    /// that starts late is stopped again).
    pub fn viewer_left(&self, key: StreamKey) {
        let _ = self.left.send(key);
    }

    /// Remembers that this node started `key` on demand; true if it was not already.
    pub fn mark_on_demand(&self, key: StreamKey) -> bool {
        lock(&self.on_demand).insert(key)
    }

    /// Forgets `key` as started on demand; true if it was.
    pub fn unmark_on_demand(&self, key: &StreamKey) -> bool {
        lock(&self.on_demand).remove(key)
    }

    /// Whether this node started `key` on demand and has not stopped it.
    pub fn is_on_demand(&self, key: &StreamKey) -> bool {
        lock(&self.on_demand).contains(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(n: u8, keyframe: bool) -> Bytes {
        Bytes::from(vec![n, u8::from(keyframe)])
    }

    #[tokio::test]
    async fn a_new_viewer_starts_at_the_latest_keyframe() {
        let hub = LiveHub::default();
        assert!(hub.subscribe("KKCAM", 0).is_none(), "nothing live yet");
        hub.publish_init("KKCAM", 0, Bytes::from_static(b"init"));
        for (n, k) in [(1, true), (2, false), (3, true), (4, false)] {
            hub.publish("KKCAM", 0, frag(n, k), k);
        }
        let mut v = hub.subscribe("KKCAM", 0).expect("live");
        assert_eq!(v.start, vec![Bytes::from_static(b"init"), frag(3, true), frag(4, false)]);
        hub.publish("KKCAM", 0, frag(5, false), false);
        match v.next().await {
            Some(LivePart::Fragment { bytes, .. }) => assert_eq!(bytes, frag(5, false)),
            other => panic!("expected fragment 5, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_slow_viewer_skips_to_the_next_keyframe_without_holding_anyone_up() {
        let hub = LiveHub::default();
        hub.publish_init("KKCAM", 0, Bytes::from_static(b"init"));
        hub.publish("KKCAM", 0, frag(0, true), true);
        let mut slow = hub.subscribe("KKCAM", 0).expect("live");
        let mut fast = hub.subscribe("KKCAM", 0).expect("live");
        for n in 1..=(BACKLOG as u8 + 5) {
            hub.publish("KKCAM", 0, frag(n, false), false);
            assert!(matches!(fast.next().await, Some(LivePart::Fragment { .. })));
        }
        hub.publish("KKCAM", 0, frag(99, true), true);
        hub.publish("KKCAM", 0, frag(100, false), false);
        match slow.next().await {
            Some(LivePart::Fragment { bytes, keyframe }) => {
                assert!(keyframe, "after lagging it resumes at a keyframe");
                assert_eq!(bytes, frag(99, true));
            }
            other => panic!("expected the keyframe, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn viewers_see_the_end_of_a_stream() {
        let hub = LiveHub::default();
        hub.publish_init("KKCAM", 0, Bytes::from_static(b"init"));
        hub.publish("KKCAM", 0, frag(1, true), true);
        let mut v = hub.subscribe("KKCAM", 0).expect("live");
        hub.end("KKCAM", 0);
        assert!(v.next().await.is_none());
        assert!(hub.subscribe("KKCAM", 0).is_none());
        assert_eq!(hub.viewers(), 0);
    }

    #[tokio::test]
    async fn a_stream_is_ready_at_its_first_keyframe_and_departures_are_reported() {
        let hub = LiveHub::default();
        let mut departures = hub.take_departures().expect("first taker");
        assert!(hub.take_departures().is_none(), "only one worker takes them");
        let ready = hub.readiness();
        hub.publish_init("KKCAM", 1, Bytes::from_static(b"init"));
        hub.publish("KKCAM", 1, frag(1, false), false);
        assert!(hub.subscribe("KKCAM", 1).is_none(), "no keyframe yet: nothing to show");
        assert!(!ready.has_changed().unwrap_or(false));
        hub.publish("KKCAM", 1, frag(2, true), true);
        assert!(ready.has_changed().unwrap_or(false), "the first keyframe makes it ready");
        let v = hub.subscribe("KKCAM", 1).expect("ready");
        assert_eq!(v.start, vec![Bytes::from_static(b"init"), frag(2, true)]);
        let key = ("KKCAM".to_string(), 1);
        assert_eq!(hub.viewers_of(&key), 1);
        drop(v);
        assert_eq!(departures.recv().await, Some(key.clone()));
        assert_eq!(hub.viewers_of(&key), 0);
    }
}
