//! The camera's speaker and microphone for two-way talk (docs/ref/live.md).
//!
//! On `talk-start` the camera connects its talk channel (`GET /ingest/v1/{uid}/talk` upgraded
//! to a WebSocket, HTTP Basic with its UID and secret, on the ingest server), then, until
//! `talk-stop` or until the server closes, sends its microphone, a synthetic tone, as G.711
//! µ-law frames of 20 ms in real time, and plays what it receives: it counts the frames, and
//! with [`TalkConfig::out`] keeps the decoded sound and writes it to a WAV file each time the
//! channel closes (all the sound heard since start, at most [`MAX_KEPT_SECS`]).

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt as _, StreamExt as _};
use kankan_base::ShutdownSignal;
use kankan_media::g711;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::SimError;

/// The longest sound kept for the WAV file.
pub const MAX_KEPT_SECS: usize = 600;
/// One frame: 20 ms at 8 kHz.
const FRAME: Duration = Duration::from_millis(20);

/// Where the camera's talk channel goes and what it does with the sound.
#[derive(Clone)]
pub struct TalkConfig {
    /// The server's HTTP base URL (the ingest's), e.g. `https://127.0.0.1:8080`.
    pub url: String,
    /// The server's TLS public key, required for an `https://` URL.
    pub pin: Option<crate::tls::Pin>,
    pub uid: String,
    /// The factory secret (see `secret_from`).
    pub secret: String,
    /// The device's state directory: once the server rotated the secret, the one stored
    /// there is used instead of `secret`.
    pub secret_from: Option<PathBuf>,
    /// Write what the speaker played to this WAV file (8 kHz, 16-bit mono).
    pub out: Option<PathBuf>,
    /// The microphone's tone, in Hz.
    pub tone_hz: f32,
}

impl std::fmt::Debug for TalkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TalkConfig")
            .field("url", &self.url)
            .field("uid", &self.uid)
            .field("out", &self.out)
            .finish_non_exhaustive()
    }
}

impl TalkConfig {
    pub fn new(url: &str, uid: &str, secret: &str) -> TalkConfig {
        TalkConfig {
            url: url.trim_end_matches('/').to_string(),
            pin: None,
            uid: uid.to_string(),
            secret: secret.to_string(),
            secret_from: None,
            out: None,
            tone_hz: 440.0,
        }
    }

    /// The talk channel's WebSocket URL.
    fn ws_url(&self) -> Result<String, SimError> {
        let path = format!("/ingest/v1/{}/talk", self.uid);
        if let Some(rest) = self.url.strip_prefix("http://") {
            Ok(format!("ws://{rest}{path}"))
        } else if let Some(rest) = self.url.strip_prefix("https://") {
            Ok(format!("wss://{rest}{path}"))
        } else {
            Err(SimError::Config(format!(
                "talk needs an https:// or http:// URL, not {}",
                self.url
            )))
        }
    }
}

/// What the talk channel did so far.
#[derive(Debug, Clone, Default)]
pub struct TalkStatus {
    /// Channels opened.
    pub connections: u64,
    /// Whether a channel is open now.
    pub open: bool,
    /// Frames and bytes the speaker received.
    pub frames_received: u64,
    pub bytes_received: u64,
    /// The loudest sample received (0: silence only).
    pub peak: u16,
    /// Microphone frames sent.
    pub frames_sent: u64,
    /// WAV files written.
    pub wav_written: u64,
    pub last_error: Option<String>,
}

/// Commands and watches the talk task; cheap to clone.
#[derive(Debug, Clone)]
pub struct TalkHandle {
    status: watch::Receiver<TalkStatus>,
    commands: mpsc::UnboundedSender<bool>,
}

impl TalkHandle {
    pub fn status(&self) -> TalkStatus {
        self.status.borrow().clone()
    }

    /// Opens (`talk-start`) or closes (`talk-stop`) the channel.
    pub fn set_open(&self, open: bool) {
        let _ = self.commands.send(open);
    }

    /// Waits until `pred` holds, at most `timeout`.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&TalkStatus) -> bool,
    ) -> Result<TalkStatus, SimError> {
        let mut rx = self.status.clone();
        match tokio::time::timeout(timeout, rx.wait_for(|s| pred(s))).await {
            Ok(Ok(s)) => Ok(s.clone()),
            _ => Err(SimError::Timeout(format!("{what}; talk status: {:?}", self.status()))),
        }
    }
}

/// Starts the talk task; it waits for commands until `shutdown`.
pub fn start(cfg: TalkConfig, shutdown: ShutdownSignal) -> TalkHandle {
    let (status, rx) = watch::channel(TalkStatus::default());
    let (commands, cmd_rx) = mpsc::unbounded_channel();
    tokio::spawn(run(cfg, cmd_rx, status, shutdown));
    TalkHandle { status: rx, commands }
}

async fn run(
    cfg: TalkConfig,
    mut commands: mpsc::UnboundedReceiver<bool>,
    status: watch::Sender<TalkStatus>,
    mut shutdown: ShutdownSignal,
) {
    let mut heard: Vec<i16> = Vec::new();
    let mut mic = Tone::new(cfg.tone_hz);
    loop {
        tokio::select! {
            cmd = commands.recv() => match cmd {
                Some(true) => {}
                Some(false) => continue,
                None => return,
            },
            () = shutdown.wait() => return,
        }
        let opened = channel(&cfg, &mut commands, &status, &mut shutdown, &mut heard, &mut mic);
        if let Err(e) = opened.await {
            tracing::warn!(uid = %cfg.uid, error = %e, "talk channel failed");
            status.send_modify(|s| s.last_error = Some(e.to_string()));
        }
        status.send_modify(|s| s.open = false);
        if let Some(path) = &cfg.out {
            let samples: Vec<f32> = heard.iter().map(|&s| f32::from(s) / 32768.0).collect();
            let wav = kankan_sonic::write_wav(&samples, g711::SAMPLE_RATE);
            match write_file(path, &wav) {
                Ok(()) => status.send_modify(|s| s.wav_written += 1),
                Err(e) => status.send_modify(|s| s.last_error = Some(e.to_string())),
            }
        }
    }
}

/// Writes through a temporary file and a rename: a reader never sees half a WAV file.
fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), SimError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(|e| SimError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| SimError::io(path, e))
}

/// One open channel: microphone out, speaker in, until closed.
async fn channel(
    cfg: &TalkConfig,
    commands: &mut mpsc::UnboundedReceiver<bool>,
    status: &watch::Sender<TalkStatus>,
    shutdown: &mut ShutdownSignal,
    heard: &mut Vec<i16>,
    mic: &mut Tone,
) -> Result<(), SimError> {
    let fail = |e: tokio_tungstenite::tungstenite::Error| SimError::Video(format!("talk: {e}"));
    let mut request = cfg.ws_url()?.into_client_request().map_err(fail)?;
    let secret = match &cfg.secret_from {
        Some(dir) => crate::state::current_secret(dir, &cfg.secret)?,
        None => cfg.secret.clone(),
    };
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", cfg.uid, secret));
    let auth = HeaderValue::from_str(&format!("Basic {basic}"))
        .map_err(|e| SimError::Config(format!("talk credentials: {e}")))?;
    request.headers_mut().insert("authorization", auth);
    let uri = request.uri().clone();
    let host = uri.host().unwrap_or_default().trim_matches(|c| c == '[' || c == ']');
    let connect_err = |e: String| SimError::Video(format!("talk: {e}"));
    // wss://: the pinned TLS connection first, then the WebSocket over it.
    let stream: Box<dyn crate::tls::Io> = match crate::tls::pin_for(&cfg.url, cfg.pin)? {
        Some(pin) => Box::new(
            crate::tls::connect(host, uri.port_u16().unwrap_or(443), pin)
                .await
                .map_err(connect_err)?,
        ),
        None => Box::new(
            tokio::net::TcpStream::connect((host, uri.port_u16().unwrap_or(80)))
                .await
                .map_err(|e| connect_err(e.to_string()))?,
        ),
    };
    let (mut ws, _) = tokio_tungstenite::client_async(request, stream).await.map_err(fail)?;
    tracing::info!(uid = %cfg.uid, "talk channel open");
    status.send_modify(|s| {
        s.open = true;
        s.connections += 1;
    });
    let mut tick = tokio::time::interval(FRAME);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                ws.send(Message::Binary(mic.frame().into())).await.map_err(fail)?;
                status.send_modify(|s| s.frames_sent += 1);
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Binary(frame))) => {
                    let pcm = g711::decode_all(&frame);
                    let peak = pcm.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
                    let room = (MAX_KEPT_SECS * g711::SAMPLE_RATE as usize).saturating_sub(heard.len());
                    heard.extend(pcm.iter().take(room));
                    status.send_modify(|s| {
                        s.frames_received += 1;
                        s.bytes_received += frame.len() as u64;
                        s.peak = s.peak.max(peak);
                    });
                }
                Some(Ok(Message::Close(_))) | None => {
                    tracing::info!(uid = %cfg.uid, "the server closed the talk channel");
                    return Ok(());
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(fail(e)),
            },
            cmd = commands.recv() => match cmd {
                Some(true) => {}
                Some(false) | None => {
                    tracing::info!(uid = %cfg.uid, "talk-stop: closing the talk channel");
                    let _ = ws.close(None).await;
                    return Ok(());
                }
            },
            () = shutdown.wait() => {
                let _ = ws.close(None).await;
                return Ok(());
            }
        }
    }
}

/// The microphone: a sine tone at a comfortable level, one 20 ms µ-law frame at a time.
struct Tone {
    step: f32,
    phase: f32,
}

impl Tone {
    fn new(hz: f32) -> Tone {
        Tone { step: std::f32::consts::TAU * hz / g711::SAMPLE_RATE as f32, phase: 0.0 }
    }

    fn frame(&mut self) -> Vec<u8> {
        (0..g711::FRAME_BYTES)
            .map(|_| {
                let s = (self.phase.sin() * 8_000.0) as i16;
                self.phase = (self.phase + self.step) % std::f32::consts::TAU;
                g711::encode(s)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tone_is_a_steady_sine_in_frames_of_20_ms() {
        let mut t = Tone::new(440.0);
        let a = g711::decode_all(&t.frame());
        assert_eq!(a.len(), 160);
        let peak = a.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        assert!((7_000..=8_200).contains(&peak), "peak {peak}");
        // 440 Hz over 20 ms: 8.8 periods, about 17 sign changes.
        let crossings = a.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        assert!((16..=19).contains(&crossings), "{crossings} zero crossings");
    }

    #[test]
    fn only_plain_http_servers_are_reachable() {
        let c = TalkConfig::new("http://127.0.0.1:8080/", "KKCAM1", "s");
        assert_eq!(c.ws_url().expect("http"), "ws://127.0.0.1:8080/ingest/v1/KKCAM1/talk");
        let tls = TalkConfig::new("https://x:1", "KKCAM1", "s");
        assert_eq!(tls.ws_url().expect("https"), "wss://x:1/ingest/v1/KKCAM1/talk");
        assert!(TalkConfig::new("ftp://x", "KKCAM1", "s").ws_url().is_err());
    }
}
