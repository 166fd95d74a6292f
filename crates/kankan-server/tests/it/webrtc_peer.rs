//! A browser's part in a WebRTC session, played by str0m: it offers to receive video and to
//! send and receive PCMU audio, posts the offer to the server's WHEP endpoint, then drives
//! its own UDP socket. It decodes every video frame with OpenH264 and reads the clock the
//! camera burned into it, keeps the camera's audio, and sends a tone while "talking".

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kankan_media::g711;
use kankan_testkit::TestApp;
use kankan_video::{Decoder, Stamp, read_stamp};
use serde_json::Value;
use str0m::change::SdpAnswer;
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;

/// What a refused offer got back.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub body: Value,
}

impl Refused {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }
}

pub struct Peer {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    video: Mid,
    audio: Mid,
    decoder: Decoder,
    /// The session's URL path (`Location`).
    pub location: String,
    pub connected: bool,
    /// The server closed the session or ICE lost it.
    pub closed: bool,
    pub video_frames: u64,
    /// The camera's clock in each decoded picture, with when it was decoded (ms since the
    /// epoch).
    pub stamps: Vec<(Stamp, u64)>,
    /// PCMU bytes of the camera's microphone.
    pub heard: Vec<u8>,
    /// The tone sent while talking, in Hz.
    pub tone_hz: f32,
    talking: bool,
    phase: f32,
    audio_ts: u64,
    next_audio: Instant,
    /// PCMU bytes sent while talking.
    pub said: Vec<u8>,
}

fn now_ms() -> u64 {
    let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    d.map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Posts `sdp` as an offer for `uid`'s camera.
pub async fn post_offer(
    app: &TestApp,
    uid: &str,
    token: &str,
    sdp: &str,
    content_type: &str,
) -> reqwest::Response {
    app.http
        .post(app.url(&format!("/media/v1/{uid}/whep?t={token}")))
        .header("content-type", content_type)
        .body(sdp.to_string())
        .send()
        .await
        .expect("the offer is posted")
}

impl Peer {
    fn rtc() -> Rtc {
        Rtc::builder()
            .set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags()))
            .clear_codecs()
            .enable_h264(true)
            .enable_pcmu(true, false)
            .build(Instant::now())
    }

    /// An offer (SDP text) to receive video, with PCMU both ways when `audio`, or audio only
    /// without `video`.
    pub fn offer_sdp(video: bool, audio: bool) -> String {
        let mut rtc = Self::rtc();
        let addr: SocketAddr = "127.0.0.1:9".parse().expect("an address");
        rtc.add_local_candidate(Candidate::host(addr, "udp").expect("a host candidate"));
        let mut api = rtc.sdp_api();
        if video {
            api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        }
        if audio {
            api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        }
        api.apply().expect("an offer").0.to_sdp_string()
    }

    /// Offers to watch `uid`'s camera with the link token `token`.
    pub async fn connect(app: &TestApp, uid: &str, token: &str) -> Result<Peer, Refused> {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("a UDP socket");
        let local = socket.local_addr().expect("its address");
        let mut rtc = Self::rtc();
        rtc.add_local_candidate(Candidate::host(local, "udp").expect("a host candidate"));
        let mut api = rtc.sdp_api();
        let video = api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        let audio = api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (offer, pending) = api.apply().expect("an offer");
        let r = post_offer(app, uid, token, &offer.to_sdp_string(), "application/sdp").await;
        let status = r.status().as_u16();
        if status != 201 {
            let body = r.json().await.unwrap_or(Value::Null);
            return Err(Refused { status, body });
        }
        let header = |name: &str| {
            r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
        };
        assert_eq!(header("content-type"), "application/sdp");
        let location = header("location");
        let answer = r.text().await.expect("the answer");
        assert!(answer.contains("typ host"), "the answer names a host candidate: {answer}");
        let answer = SdpAnswer::from_sdp_string(&answer).expect("a valid answer");
        rtc.sdp_api().accept_answer(pending, answer).expect("the answer is accepted");
        Ok(Peer {
            rtc,
            socket,
            local,
            video,
            audio,
            decoder: Decoder::new().expect("a decoder"),
            location,
            connected: false,
            closed: false,
            video_frames: 0,
            stamps: Vec::new(),
            heard: Vec::new(),
            tone_hz: 1000.0,
            talking: false,
            phase: 0.0,
            audio_ts: 0,
            next_audio: Instant::now(),
            said: Vec::new(),
        })
    }

    /// Sends the tone (`true`) or nothing.
    pub fn talk(&mut self, on: bool) {
        if on && !self.talking {
            self.next_audio = Instant::now();
        }
        self.talking = on;
    }

    /// Runs the session until `done` holds; panics after `limit`.
    pub async fn run_until(&mut self, limit: Duration, what: &str, done: impl Fn(&Peer) -> bool) {
        let deadline = Instant::now() + limit;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "{what} (after {limit:?}): connected {}, closed {}, {} video frames, {} stamps, \
                 {} bytes heard",
                self.connected,
                self.closed,
                self.video_frames,
                self.stamps.len(),
                self.heard.len()
            );
            self.step(deadline).await;
        }
    }

    /// Runs the session for `d`.
    pub async fn run_for(&mut self, d: Duration) {
        let end = Instant::now() + d;
        while Instant::now() < end {
            self.step(end).await;
        }
    }

    async fn step(&mut self, deadline: Instant) {
        let timeout = loop {
            if !self.rtc.is_alive() {
                self.closed = true;
                tokio::time::sleep_until(deadline.into()).await;
                return;
            }
            match self.rtc.poll_output().expect("str0m polls") {
                Output::Timeout(t) => break t,
                Output::Transmit(t) => {
                    let _ = self.socket.send_to(&t.contents, t.destination).await;
                }
                Output::Event(e) => self.event(e),
            }
        };
        let now = Instant::now();
        if self.talking && self.connected && now >= self.next_audio {
            self.send_tone(now);
            return;
        }
        let mut wake = timeout.min(deadline);
        if self.talking && self.connected {
            wake = wake.min(self.next_audio);
        }
        let mut buf = vec![0u8; 2048];
        tokio::select! {
            r = self.socket.recv_from(&mut buf) => {
                let Ok((n, source)) = r else { return };
                let Ok(contents) = buf[..n].try_into() else { return };
                let input = Input::Receive(
                    Instant::now(),
                    Receive { proto: Protocol::Udp, source, destination: self.local, contents },
                );
                let _ = self.rtc.handle_input(input);
            }
            () = tokio::time::sleep_until(wake.into()) => {
                let _ = self.rtc.handle_input(Input::Timeout(Instant::now()));
            }
        }
    }

    fn send_tone(&mut self, now: Instant) {
        let step = std::f32::consts::TAU * self.tone_hz / g711::SAMPLE_RATE as f32;
        let frame: Vec<u8> = (0..g711::FRAME_BYTES)
            .map(|_| {
                let s = (self.phase.sin() * 10_000.0) as i16;
                self.phase = (self.phase + step) % std::f32::consts::TAU;
                g711::encode(s)
            })
            .collect();
        let Some(w) = self.rtc.writer(self.audio) else { return };
        let Some(pt) = w.payload_params().find(|p| p.spec().codec == Codec::PCMU).map(|p| p.pt())
        else {
            return;
        };
        let time = MediaTime::new(self.audio_ts, Frequency::EIGHT_KHZ);
        if w.write(pt, now, time, frame.clone()).is_ok() {
            self.said.extend_from_slice(&frame);
        }
        self.audio_ts += g711::FRAME_BYTES as u64;
        self.next_audio += Duration::from_millis(20);
    }

    fn event(&mut self, e: Event) {
        match e {
            Event::Connected => self.connected = true,
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) | Event::Closed => {
                self.closed = true;
            }
            Event::MediaData(d) if d.mid == self.video => {
                self.video_frames += 1;
                let avcc = kankan_media::annexb_to_avcc(&d.data);
                if let Ok(Some(picture)) = self.decoder.decode(&avcc)
                    && let Some(stamp) = read_stamp(&picture)
                {
                    self.stamps.push((stamp, now_ms()));
                }
            }
            Event::MediaData(d) if d.mid == self.audio => self.heard.extend_from_slice(&d.data),
            _ => {}
        }
    }
}

/// The main frequency of µ-law audio, from its zero crossings.
pub fn tone_of(pcmu: &[u8]) -> f32 {
    let pcm = g711::decode_all(pcmu);
    let crossings = pcm.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
    crossings as f32 / 2.0 / (pcm.len().max(1) as f32 / g711::SAMPLE_RATE as f32)
}
