//! Talk: the browsers' microphones to the camera's speaker, the camera's microphone to every
//! viewer. Audio is G.711 µ-law (PCMU) frames end to end and is never stored: at most
//! [`PENDING_FRAMES`] wait in memory while the camera opens its channel.
//!
//! A WebRTC session that receives audio from its browser is a *talker* until it has been
//! silent for [`SILENCE`] (the browser stops sending when the Talk button is released). The
//! first talker makes the server ask the camera to open its talk channel (`talk-start` over
//! MQTT); the camera then connects to `/ingest/v1/{uid}/talk`. When the last talker has been
//! gone for [`GRACE`], the server sends `talk-stop` and closes the channel. One talker holds
//! the floor at a time: the others' frames are dropped until it falls silent (a camera has
//! one speaker, and mixing would need decoding).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kankan_base::ShutdownSignal;
use tokio::sync::{broadcast, mpsc};

/// A talker that sent nothing for this long has stopped talking.
pub const SILENCE: Duration = Duration::from_millis(500);
/// How long the channel stays open after the last talker stopped.
pub const GRACE: Duration = Duration::from_secs(2);
/// Frames kept while the camera connects (50 frames of 20 ms: one second).
pub const PENDING_FRAMES: usize = 50;
/// The largest frame relayed either way (a frame must fit one RTP packet).
pub const MAX_FRAME_BYTES: usize = 1_000;
/// Frames of camera audio a viewer may fall behind by before it loses some.
const LISTEN_BACKLOG: usize = 50;

/// Asks the camera to open (`true`) or close (`false`) its talk channel; the API builds it
/// from the device policy's handle, so only a principal allowed to control the camera can.
pub type TalkSwitch = Arc<dyn Fn(bool) + Send + Sync>;

struct Channel {
    talkers: HashSet<u64>,
    /// The talker whose frames reach the camera.
    floor: Option<u64>,
    switch: Option<TalkSwitch>,
    /// `talk-start` sent and no `talk-stop` since.
    open: bool,
    /// Bumped by every change that cancels a pending `talk-stop`.
    generation: u64,
    pending: VecDeque<Bytes>,
    /// The connected camera, and which connection it is.
    device: Option<(u64, mpsc::Sender<Bytes>)>,
    from_device: broadcast::Sender<Bytes>,
}

impl Channel {
    fn new() -> Channel {
        Channel {
            talkers: HashSet::new(),
            floor: None,
            switch: None,
            open: false,
            generation: 0,
            pending: VecDeque::new(),
            device: None,
            from_device: broadcast::channel(LISTEN_BACKLOG).0,
        }
    }

    fn idle(&self) -> bool {
        self.talkers.is_empty()
            && !self.open
            && self.device.is_none()
            && self.from_device.receiver_count() == 0
    }
}

struct Inner {
    channels: Mutex<HashMap<String, Channel>>,
    next_id: std::sync::atomic::AtomicU64,
    shutdown: ShutdownSignal,
    grace: Duration,
}

/// Every camera's talk channel on this node. Cheap to clone.
#[derive(Clone)]
pub struct TalkHub {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TalkHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TalkHub")
    }
}

/// A camera's end of its talk channel.
#[derive(Debug)]
pub struct DeviceEnd {
    /// Frames for the camera's speaker; `None` once the server closes the channel.
    pub to_device: mpsc::Receiver<Bytes>,
    uid: String,
    id: u64,
    hub: TalkHub,
}

impl DeviceEnd {
    /// A frame of the camera's microphone, for every viewer.
    pub fn heard(&self, frame: Bytes) {
        if frame.is_empty() || frame.len() > MAX_FRAME_BYTES {
            return;
        }
        if let Some(c) = self.hub.lock().get(&self.uid) {
            let _ = c.from_device.send(frame);
        }
    }

    /// Fires when the server shuts down.
    pub fn shutdown_signal(&self) -> ShutdownSignal {
        self.hub.inner.shutdown.clone()
    }
}

impl Drop for DeviceEnd {
    fn drop(&mut self) {
        let mut map = self.hub.lock();
        if let Some(c) = map.get_mut(&self.uid)
            && c.device.as_ref().is_some_and(|(id, _)| *id == self.id)
        {
            c.device = None;
        }
        gc(&mut map, &self.uid);
    }
}

fn gc(map: &mut HashMap<String, Channel>, uid: &str) {
    if map.get(uid).is_some_and(Channel::idle) {
        map.remove(uid);
    }
}

impl TalkHub {
    pub fn new(shutdown: ShutdownSignal) -> TalkHub {
        Self::with_grace(shutdown, GRACE)
    }

    /// A hub whose channels close `grace` after the last talker (tests).
    pub fn with_grace(shutdown: ShutdownSignal, grace: Duration) -> TalkHub {
        TalkHub {
            inner: Arc::new(Inner {
                channels: Mutex::default(),
                next_id: 1.into(),
                shutdown,
                grace,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Channel>> {
        self.inner.channels.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A number for a new talker or camera connection.
    pub(crate) fn next_id(&self) -> u64 {
        self.inner.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// The camera's microphone, for a viewer of `uid`.
    pub fn listen(&self, uid: &str) -> broadcast::Receiver<Bytes> {
        self.lock().entry(uid.to_string()).or_insert_with(Channel::new).from_device.subscribe()
    }

    /// A viewer stopped listening (its receiver is dropped first).
    pub fn leave(&self, uid: &str) {
        gc(&mut self.lock(), uid);
    }

    /// A frame from talker `talker`'s microphone. `switch` opens the camera's channel if it
    /// is not open yet.
    pub fn talk(&self, uid: &str, talker: u64, switch: &TalkSwitch, frame: Bytes) {
        if frame.is_empty() || frame.len() > MAX_FRAME_BYTES {
            return;
        }
        let mut map = self.lock();
        let c = map.entry(uid.to_string()).or_insert_with(Channel::new);
        if c.talkers.insert(talker) {
            c.generation += 1;
            c.switch = Some(switch.clone());
            if !c.open {
                c.open = true;
                tracing::info!(uid, "talk: asking the camera to open its channel");
                switch(true);
            }
        }
        if *c.floor.get_or_insert(talker) != talker {
            return;
        }
        match &c.device {
            Some((_, tx)) => {
                let _ = tx.try_send(frame);
            }
            None => {
                if c.pending.len() == PENDING_FRAMES {
                    c.pending.pop_front();
                }
                c.pending.push_back(frame);
            }
        }
    }

    /// Talker `talker` stopped (silent, or its session ended). After the last one, the
    /// channel closes once [`GRACE`] has passed without a new talker.
    pub fn silent(&self, uid: &str, talker: u64) {
        let mut map = self.lock();
        let Some(c) = map.get_mut(uid) else { return };
        if !c.talkers.remove(&talker) {
            return;
        }
        if c.floor == Some(talker) {
            c.floor = None;
            c.pending.clear();
        }
        if !c.talkers.is_empty() || !c.open {
            return;
        }
        c.generation += 1;
        let generation = c.generation;
        let (hub, uid, grace) = (self.clone(), uid.to_string(), self.inner.grace);
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            hub.close_if(&uid, generation);
        });
    }

    fn close_if(&self, uid: &str, generation: u64) {
        let mut map = self.lock();
        let Some(c) = map.get_mut(uid) else { return };
        if c.generation != generation || !c.talkers.is_empty() || !c.open {
            return;
        }
        c.open = false;
        c.device = None;
        c.pending.clear();
        tracing::info!(uid, "talk: nobody talks; closing the camera's channel");
        if let Some(switch) = c.switch.take() {
            switch(false);
        }
        gc(&mut map, uid);
    }

    /// The camera connected its talk channel; `None` when nobody asked it to (the server
    /// opens the channel, never the camera).
    pub fn attach(&self, uid: &str) -> Option<DeviceEnd> {
        let mut map = self.lock();
        let c = map.get_mut(uid).filter(|c| c.open)?;
        let id = self.next_id();
        let (tx, rx) = mpsc::channel(PENDING_FRAMES);
        for frame in c.pending.drain(..) {
            let _ = tx.try_send(frame);
        }
        // A second connection replaces the first, which sees its channel close.
        c.device = Some((id, tx));
        drop(map);
        Some(DeviceEnd { to_device: rx, uid: uid.to_string(), id, hub: self.clone() })
    }

    /// Cameras with an open or opening talk channel (for metrics and tests).
    pub fn open_channels(&self) -> usize {
        self.lock().values().filter(|c| c.open).count()
    }

    /// Channels known at all, open or not (tests: back to 0 when everything ended).
    pub fn channels(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use kankan_base::Shutdown;

    use super::*;

    fn switch() -> (TalkSwitch, Arc<Mutex<Vec<bool>>>) {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let seen = calls.clone();
        let s: TalkSwitch = Arc::new(move |open| seen.lock().expect("lock").push(open));
        (s, calls)
    }

    const TEST_GRACE: Duration = Duration::from_millis(200);

    fn frame(n: u8) -> Bytes {
        Bytes::from(vec![n; 160])
    }

    #[tokio::test]
    async fn the_first_talker_opens_the_channel_and_the_last_one_closes_it_after_a_grace() {
        let (_stop, signal) = Shutdown::new();
        let hub = TalkHub::with_grace(signal, TEST_GRACE);
        let (s, calls) = switch();
        assert!(hub.attach("KKCAM1").is_none(), "the camera cannot open a channel by itself");
        hub.talk("KKCAM1", 1, &s, frame(1));
        hub.talk("KKCAM1", 1, &s, frame(2));
        assert_eq!(*calls.lock().expect("lock"), [true]);
        let mut end = hub.attach("KKCAM1").expect("asked to open");
        assert_eq!(end.to_device.recv().await, Some(frame(1)), "what was said first waits");
        assert_eq!(end.to_device.recv().await, Some(frame(2)));
        hub.talk("KKCAM1", 1, &s, frame(3));
        assert_eq!(end.to_device.recv().await, Some(frame(3)));
        hub.silent("KKCAM1", 1);
        tokio::time::sleep(TEST_GRACE / 4).await;
        // A new talker within the grace keeps the channel open.
        hub.talk("KKCAM1", 2, &s, frame(4));
        assert_eq!(end.to_device.recv().await, Some(frame(4)));
        hub.silent("KKCAM1", 2);
        tokio::time::sleep(TEST_GRACE * 2).await;
        assert_eq!(*calls.lock().expect("lock"), [true, false]);
        assert_eq!(end.to_device.recv().await, None, "the server closed the channel");
        drop(end);
        assert_eq!(hub.channels(), 0, "nothing is kept");
    }

    #[tokio::test]
    async fn one_talker_holds_the_floor_and_the_camera_is_heard_by_every_listener() {
        let (_stop, signal) = Shutdown::new();
        let hub = TalkHub::new(signal);
        let (s, _) = switch();
        let mut a = hub.listen("KKCAM1");
        let mut b = hub.listen("KKCAM1");
        hub.talk("KKCAM1", 1, &s, frame(1));
        let mut end = hub.attach("KKCAM1").expect("open");
        hub.talk("KKCAM1", 2, &s, frame(20));
        hub.talk("KKCAM1", 1, &s, frame(2));
        assert_eq!(end.to_device.recv().await, Some(frame(1)));
        assert_eq!(end.to_device.recv().await, Some(frame(2)), "talker 2 waited for the floor");
        hub.silent("KKCAM1", 1);
        hub.talk("KKCAM1", 2, &s, frame(21));
        assert_eq!(end.to_device.recv().await, Some(frame(21)), "then talker 2 has it");
        end.heard(frame(9));
        end.heard(Bytes::from(vec![0; MAX_FRAME_BYTES + 1]));
        assert_eq!(a.recv().await.ok(), Some(frame(9)));
        assert_eq!(b.recv().await.ok(), Some(frame(9)));
        assert!(a.try_recv().is_err(), "an oversized frame is dropped");
    }

    #[tokio::test]
    async fn frames_kept_while_the_camera_connects_are_bounded() {
        let (_stop, signal) = Shutdown::new();
        let hub = TalkHub::new(signal);
        let opened = Arc::new(AtomicUsize::new(0));
        let o = opened.clone();
        let s: TalkSwitch = Arc::new(move |open| {
            if open {
                o.fetch_add(1, Ordering::SeqCst);
            }
        });
        for n in 0..=255u8 {
            hub.talk("KKCAM1", 1, &s, frame(n));
        }
        assert_eq!(opened.load(Ordering::SeqCst), 1);
        let mut end = hub.attach("KKCAM1").expect("open");
        let mut got = Vec::new();
        while let Ok(f) = end.to_device.try_recv() {
            got.push(f[0]);
        }
        assert_eq!(got.len(), PENDING_FRAMES);
        assert_eq!(got.last(), Some(&255), "the newest are kept");
    }
}
