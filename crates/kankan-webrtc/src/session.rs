//! One browser's WebRTC session: the str0m state machine driven over the session's UDP
//! sockets, the camera's video written to it frame by frame, and talk audio both ways.
//!
//! The session ends when its owner deletes it, when its access is revoked (the link's session
//! ended, the account was banned, the device unbound or its grant revoked), when the server
//! shuts down, when the camera's stream ends, when ICE reports the browser gone, or after
//! [`IDLE`] without a datagram from the browser (its consent checks and RTCP arrive every few
//! seconds). Keyframe requests
//! (PLI/FIR) are not passed on: cameras send a keyframe about every second anyway, and a
//! viewer that fell behind resumes at the next one.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kankan_base::ShutdownSignal;
use kankan_core::StreamGuard;
use kankan_core::live::{LivePart, Viewer};
use str0m::format::Codec;
use str0m::media::{Frequency, MediaTime};
use str0m::net::{Protocol, Receive, Transmit};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::{broadcast, oneshot};

use crate::feed::{Frame, VIDEO_HZ, VideoFeed};
use crate::negotiate::Negotiated;
use crate::net::recv_any;
use crate::talk::{SILENCE, TalkHub, TalkSwitch};
use crate::tcp::{Packet, Tcp};

/// A session with no datagram from the browser for this long is over.
pub const IDLE: Duration = Duration::from_secs(15);
/// The RTP clock of PCMU.
const AUDIO_HZ: u64 = 8_000;
/// A pause in the camera's audio longer than this starts a new talkspurt.
const AUDIO_GAP: Duration = Duration::from_millis(200);

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    Deleted,
    /// Its account, session or device lost access (logout, ban, unbind...).
    Revoked,
    Shutdown,
    Idle,
    Disconnected,
    StreamEnded,
    Failed(String),
}

impl End {
    /// A stable name for why the session ended.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            End::Deleted => "deleted",
            End::Revoked => "revoked",
            End::Shutdown => "shutdown",
            End::Idle => "idle",
            End::Disconnected => "disconnected",
            End::StreamEnded => "stream-ended",
            End::Failed(_) => "failed",
        }
    }
}

/// Everything a session runs with.
pub(crate) struct Parts {
    pub uid: String,
    pub rtc: Rtc,
    pub sockets: Vec<(UdpSocket, SocketAddr)>,
    /// ICE-TCP's listeners, with `webrtc.ice_tcp`.
    pub tcp: Option<Tcp>,
    pub negotiated: Negotiated,
    pub viewer: Viewer,
    pub talk: Option<TalkSwitch>,
    pub hub: TalkHub,
    pub stop: oneshot::Receiver<()>,
    pub guard: StreamGuard,
    pub shutdown: ShutdownSignal,
}

/// What a session sent, for the log line at its end.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Sent {
    pub video_frames: u64,
    pub audio_frames: u64,
    pub talk_frames: u64,
    /// Opus packets of the camera's sound track.
    pub sound_packets: u64,
}

struct Session {
    uid: String,
    rtc: Rtc,
    sockets: Vec<(UdpSocket, SocketAddr)>,
    tcp: Option<Tcp>,
    negotiated: Negotiated,
    feed: VideoFeed,
    /// Instant and timestamp of the first video frame written: the media clock's origin.
    video_origin: Option<(Instant, u64)>,
    /// The next audio timestamp and when the last camera frame came.
    audio_clock: Option<(u64, Instant)>,
    talk: Option<TalkSwitch>,
    hub: TalkHub,
    talker: u64,
    talking_until: Option<Instant>,
    connected: bool,
    sent: Sent,
}

/// Runs a session to its end.
pub(crate) async fn run(parts: Parts) -> (End, Sent) {
    let Parts {
        uid,
        rtc,
        sockets,
        tcp,
        negotiated,
        mut viewer,
        talk,
        hub,
        mut stop,
        mut guard,
        mut shutdown,
    } = parts;
    let mut listen = negotiated.audio.map(|_| hub.listen(&uid));
    let talker = hub.next_id();
    let mut s = Session {
        uid,
        rtc,
        sockets,
        tcp,
        negotiated,
        feed: VideoFeed::default(),
        video_origin: None,
        audio_clock: None,
        talk,
        hub,
        talker,
        talking_until: None,
        connected: false,
        sent: Sent::default(),
    };
    let mut start = std::mem::take(&mut viewer.start);
    let mut buf = vec![0u8; 2048];
    let mut last_heard = Instant::now();
    let end = loop {
        let timeout = match s.drain() {
            Ok(t) => t,
            Err(end) => break end,
        };
        if s.connected && !start.is_empty() {
            s.catch_up(std::mem::take(&mut start), &mut viewer).await;
            continue;
        }
        let now = Instant::now();
        if now >= last_heard + IDLE {
            break End::Idle;
        }
        if s.talking_until.is_some_and(|t| now >= t) {
            s.talking_until = None;
            s.hub.silent(&s.uid, s.talker);
        }
        let wake = [Some(timeout), Some(last_heard + IDLE), s.talking_until]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now);
        tokio::select! {
            biased;
            _ = &mut stop => break End::Deleted,
            () = guard.revoked() => break End::Revoked,
            () = shutdown.wait() => break End::Shutdown,
            got = recv_any(&s.sockets, &mut buf) => match got {
                Ok((n, source, destination)) => {
                    last_heard = Instant::now();
                    s.receive(&buf[..n], source, destination);
                }
                Err(e) => break End::Failed(format!("UDP: {e}")),
            },
            (data, source, destination) = next_tcp(&mut s.tcp) => {
                last_heard = Instant::now();
                s.receive_on(Protocol::Tcp, &data, source, destination);
            }
            () = tokio::time::sleep_until(wake.into()) => {
                if let Err(e) = s.rtc.handle_input(Input::Timeout(Instant::now())) {
                    break End::Failed(e.to_string());
                }
            }
            part = viewer.next(), if s.connected => match part {
                Some(part) => s.video(part),
                None => break End::StreamEnded,
            },
            frame = recv_audio(&mut listen), if s.connected => {
                if let Some(frame) = frame {
                    s.audio(frame);
                }
            }
        }
    };
    if s.talking_until.is_some() {
        s.hub.silent(&s.uid, s.talker);
    }
    drop(listen);
    s.hub.leave(&s.uid);
    s.close();
    (end, s.sent)
}

/// The next packet over ICE-TCP; never, without it.
async fn next_tcp(tcp: &mut Option<Tcp>) -> Packet {
    match tcp {
        Some(t) => t.next().await,
        None => std::future::pending().await,
    }
}

/// The camera's next audio frame; `None` after falling behind (some frames were lost).
async fn recv_audio(listen: &mut Option<broadcast::Receiver<Bytes>>) -> Option<Bytes> {
    let Some(rx) = listen else { return std::future::pending().await };
    match rx.recv().await {
        Ok(frame) => Some(frame),
        Err(broadcast::error::RecvError::Lagged(_)) => None,
        Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
    }
}

impl Session {
    /// Sends what str0m wants sent and handles its events, until it waits for a timeout.
    fn drain(&mut self) -> Result<Instant, End> {
        loop {
            if !self.rtc.is_alive() {
                return Err(End::Disconnected);
            }
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => return Ok(t),
                Ok(Output::Transmit(t)) => self.transmit(&t),
                Ok(Output::Event(e)) => self.event(e)?,
                Err(e) => return Err(End::Failed(e.to_string())),
            }
        }
    }

    fn event(&mut self, e: Event) -> Result<(), End> {
        match e {
            Event::Connected => {
                tracing::debug!(uid = %self.uid, "webrtc: connected");
                self.connected = true;
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) | Event::Closed => {
                return Err(End::Disconnected);
            }
            Event::MediaData(d) => {
                let talk_mid = self.negotiated.audio.map(|(mid, _)| mid);
                if Some(d.mid) == talk_mid && d.params.spec().codec == Codec::PCMU {
                    self.heard(Bytes::copy_from_slice(&d.data));
                }
            }
            Event::KeyframeRequest(r) => {
                tracing::trace!(uid = %self.uid, kind = ?r.kind, "webrtc: keyframe request ignored");
            }
            _ => {}
        }
        Ok(())
    }

    /// Sends what str0m wants sent, over UDP or the browser's ICE-TCP connection. A full
    /// send buffer loses the packet, as the network might.
    fn transmit(&self, t: &Transmit) {
        match t.proto {
            Protocol::Udp => {
                if let Some((socket, _)) = self.sockets.iter().find(|(_, a)| *a == t.source) {
                    let _ = socket.try_send_to(&t.contents, t.destination);
                }
            }
            // Checks towards a browser's active candidate (port 9) have no connection.
            Protocol::Tcp => {
                if let Some(tcp) = &self.tcp {
                    tcp.send(t.destination, &t.contents);
                }
            }
            _ => {}
        }
    }

    fn receive(&mut self, data: &[u8], source: SocketAddr, destination: SocketAddr) {
        self.receive_on(Protocol::Udp, data, source, destination);
    }

    fn receive_on(
        &mut self,
        proto: Protocol,
        data: &[u8],
        source: SocketAddr,
        destination: SocketAddr,
    ) {
        let Ok(contents) = data.try_into() else { return };
        let input =
            Input::Receive(Instant::now(), Receive { proto, source, destination, contents });
        if let Err(e) = self.rtc.handle_input(input) {
            tracing::debug!(uid = %self.uid, error = %e, "webrtc: datagram refused");
        }
    }

    /// A frame of the browser's microphone.
    fn heard(&mut self, frame: Bytes) {
        let Some(switch) = &self.talk else { return };
        self.hub.talk(&self.uid, self.talker, switch, frame);
        self.sent.talk_frames += 1;
        self.talking_until = Some(Instant::now() + SILENCE);
    }

    /// Once connected: the picture from the newest keyframe on, without waiting.
    async fn catch_up(&mut self, start: Vec<Bytes>, viewer: &mut Viewer) {
        let mut frames = Vec::new();
        let mut parts = start.into_iter();
        if let Some(init) = parts.next() {
            self.take(LivePart::Init(init), &mut frames);
        }
        for bytes in parts {
            self.take(LivePart::Fragment { bytes, keyframe: false }, &mut frames);
        }
        while let Ok(Some(part)) = tokio::time::timeout(Duration::ZERO, viewer.next()).await {
            self.take(part, &mut frames);
        }
        let from = frames.iter().rposition(|f| f.keyframe).unwrap_or(0);
        let from_rtp = frames.get(from).map_or(0, |f| f.rtp);
        self.write_video(frames.split_off(from));
        // The sound of the GOP before the newest keyframe is stale: only what follows.
        self.write_sound(from_rtp);
    }

    fn video(&mut self, part: LivePart) {
        let mut frames = Vec::new();
        self.take(part, &mut frames);
        self.write_video(frames);
        self.write_sound(0);
    }

    fn take(&mut self, part: LivePart, frames: &mut Vec<Frame>) {
        let done = match part {
            LivePart::Init(bytes) => self.feed.init(&bytes),
            LivePart::Fragment { bytes, .. } => {
                self.feed.fragment(&bytes).map(|f| frames.extend(f))
            }
        };
        if let Err(e) = done {
            tracing::warn!(uid = %self.uid, error = %e, "webrtc: live media skipped");
        }
    }

    /// The camera's Opus sound, on the talk m-line, while the camera's talk microphone is
    /// quiet (the two share the m-line's one stream).
    fn write_sound(&mut self, from_rtp: u64) {
        let mut sound = self.feed.take_sound();
        sound.retain(|s| s.rtp90 >= from_rtp);
        let Some((mid, pt)) = self.negotiated.sound else { return };
        let now = Instant::now();
        if self.audio_clock.is_some_and(|(_, last)| now - last < AUDIO_GAP) {
            return;
        }
        let Some((t0, rtp0)) = self.video_origin else { return };
        for s in sound {
            let since = Duration::from_micros(s.rtp90.saturating_sub(rtp0) * 1_000_000 / VIDEO_HZ);
            let wallclock = (t0 + since).min(now);
            let time = MediaTime::new(s.rtp90 * 8 / 15, Frequency::FORTY_EIGHT_KHZ);
            let Some(w) = self.rtc.writer(mid) else { return };
            match w.write(pt, wallclock, time, s.data) {
                Ok(()) => self.sent.sound_packets += 1,
                Err(e) => tracing::debug!(uid = %self.uid, error = %e, "webrtc: sound dropped"),
            }
        }
    }

    fn write_video(&mut self, frames: Vec<Frame>) {
        let (mid, pt) = self.negotiated.video;
        let now = Instant::now();
        for f in frames {
            let (t0, rtp0) = *self.video_origin.get_or_insert((now, f.rtp));
            let since = Duration::from_micros(f.rtp.saturating_sub(rtp0) * 1_000_000 / VIDEO_HZ);
            let wallclock = (t0 + since).min(now);
            let Some(w) = self.rtc.writer(mid) else { return };
            match w.write(pt, wallclock, MediaTime::from_90khz(f.rtp), f.data) {
                Ok(()) => self.sent.video_frames += 1,
                Err(e) => {
                    tracing::debug!(uid = %self.uid, error = %e, "webrtc: video frame dropped")
                }
            }
        }
    }

    /// A frame of the camera's microphone for this browser.
    fn audio(&mut self, frame: Bytes) {
        let Some((mid, pt)) = self.negotiated.audio else { return };
        let now = Instant::now();
        let samples = u64::try_from(frame.len()).unwrap_or(0);
        let (ts, spurt) = match self.audio_clock {
            None => (0, true),
            Some((next, last)) if now - last > AUDIO_GAP => {
                let gap = u64::try_from((now - last).as_millis()).unwrap_or(0) * AUDIO_HZ / 1000;
                (next + gap, true)
            }
            Some((next, _)) => (next, false),
        };
        self.audio_clock = Some((ts + samples, now));
        let Some(w) = self.rtc.writer(mid) else { return };
        let time = MediaTime::new(ts, Frequency::EIGHT_KHZ);
        match w.start_of_talkspurt(spurt).write(pt, now, time, frame.to_vec()) {
            Ok(()) => self.sent.audio_frames += 1,
            Err(e) => tracing::debug!(uid = %self.uid, error = %e, "webrtc: audio frame dropped"),
        }
    }

    /// Says goodbye (RTCP BYE, DTLS close_notify) so the browser knows at once.
    fn close(&mut self) {
        if self.rtc.close().is_err() {
            return;
        }
        for _ in 0..64 {
            match self.rtc.poll_output() {
                Ok(Output::Transmit(t)) => self.transmit(&t),
                Ok(Output::Event(_)) => {}
                Ok(Output::Timeout(_)) | Err(_) => return,
            }
        }
    }
}
