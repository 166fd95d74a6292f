//! Pulling H.264 from ordinary RTSP/ONVIF cameras, as fragmented MP4 for the recorder.
//!
//! [`Puller`] opens an RTSP session with [retina](https://docs.rs/retina) (TCP interleaved,
//! Basic or Digest credentials), takes the first H.264 video stream, and turns its access
//! units into the same CMAF bytes a Kankan device uploads: one init segment (SPS/PPS from the
//! camera's parameters, see [`kankan_media::write_init`]) then fragments that start at each
//! keyframe, a long GOP split into fragments of about a second ([`fragmenter`]). Nothing is
//! transcoded. Audio is not recorded yet.
//!
//! [`probe`] is the check made when a camera is added: it answers within a timeout with what
//! the camera offers, or an [`RtspError`] whose [`RtspError::code`] tells the person what to
//! fix (address, credentials, or camera settings).
//!
//! Camera addresses come from users, so every connection ([`probe`] and [`Puller::connect`])
//! first resolves the host once and checks the address against the operator's
//! [`OutboundPolicy`] (loopback, link-local, unspecified and the server's own addresses
//! refused; private networks only where allowed), then connects to that checked address
//! only. Nothing short of an RTSP answer tells the caller anything: a closed port, a filtered
//! one, a name that does not resolve and a service that is not RTSP all answer the same
//! [`RtspError::Unreachable`], and [`probe`] gives that answer only at its deadline, so
//! neither the words nor the time tell port states apart.
//!
//! Reconnecting is the caller's business (the server's bridge backs off with jitter).

pub mod fragmenter;

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt as _;
use kankan_base::net::{OutboundPolicy, Refusal};
use kankan_media::{VideoParams, write_init};
use retina::client::{
    Credentials, Demuxed, PlayOptions, Session, SessionOptions, SetupOptions, TcpTransportOptions,
    Transport,
};
use retina::codec::{CodecItem, FrameFormat, ParametersRef, VideoParametersCodec};

pub use fragmenter::{Fragment, Fragmenter};

/// How long [`Puller::next`] waits for a video frame before giving up on the camera.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a camera could not be used. Each has a stable kebab-case [`code`](RtspError::code).
#[derive(Debug, Clone, thiserror::Error)]
pub enum RtspError {
    /// Nothing answered there as an RTSP camera (closed, filtered, unresolvable, timed out,
    /// went silent, or not RTSP). The message is always the same; the detail is for the
    /// server's log only ([`RtspError::detail`]).
    #[error("the camera cannot be reached: check its address and that it is on")]
    Unreachable(String),
    /// The address is one the server does not connect to (its own, loopback, link-local, or
    /// a private network the operator has not allowed: `cameras.allowed_networks`).
    #[error("this server does not connect to that address")]
    AddressRefused,
    /// The camera refused the username or password.
    #[error("the camera refused the username or password (RTSP status {0})")]
    AuthFailed(u16),
    /// Something answered, but not as an RTSP camera with a usable stream.
    #[error("the camera did not answer as an RTSP camera: {0}")]
    BadStream(String),
    /// The camera streams only codecs the recorder cannot store (it never transcodes).
    #[error("the camera offers no H.264 video (it offers {0}); set its stream to H.264")]
    UnsupportedCodec(String),
    /// The URL is not one this client can open.
    #[error("{0}")]
    BadUrl(String),
}

impl RtspError {
    pub fn code(&self) -> &'static str {
        match self {
            RtspError::Unreachable(_) => "camera-unreachable",
            RtspError::AddressRefused => "camera-address-refused",
            RtspError::AuthFailed(_) => "camera-auth-failed",
            RtspError::BadStream(_) => "camera-bad-stream",
            RtspError::UnsupportedCodec(_) => "camera-unsupported-codec",
            RtspError::BadUrl(_) => "invalid-camera-url",
        }
    }

    /// The error with what the server's log may know besides (never shown to the caller).
    pub fn detail(&self) -> String {
        match self {
            RtspError::Unreachable(why) => format!("{self} ({why})"),
            e => e.to_string(),
        }
    }
}

/// Where a camera streams and how to log in.
#[derive(Clone, PartialEq, Eq)]
pub struct Source {
    /// `rtsp://host[:port]/path`, without credentials.
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// What a camera offers, as seen by [`probe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// RFC 6381 codec string of the video (`avc1.42C01E`), or `h264` before the camera
    /// sent its parameters.
    pub codec: String,
    /// Display size, when the camera announced its parameters.
    pub width: Option<u16>,
    pub height: Option<u16>,
    /// The first audio stream's encoding (`mpeg4-generic`, `pcmu`, ...); not recorded yet.
    pub audio: Option<String>,
}

/// One piece of the fMP4 stream, in order: an init, then fragments; a new init whenever the
/// camera changes its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    Init(Bytes),
    Fragment(Fragment),
}

impl Chunk {
    pub fn bytes(&self) -> &Bytes {
        match self {
            Chunk::Init(b) => b,
            Chunk::Fragment(f) => &f.bytes,
        }
    }
}

/// Longest camera URL accepted.
pub const MAX_URL_LEN: usize = 1024;

impl Source {
    /// Checks what a person typed: an `rtsp://` URL with a host, at most [`MAX_URL_LEN`]
    /// bytes, no whitespace or control characters. Credentials written into the URL
    /// (`rtsp://user:pass@host/...`) move to `username`/`password` unless those are given;
    /// the stored URL never carries them.
    pub fn new(
        url: &str,
        username: Option<&str>,
        password: Option<&str>,
    ) -> Result<Source, RtspError> {
        let url = url.trim();
        if url.is_empty() || url.len() > MAX_URL_LEN {
            return Err(RtspError::BadUrl(format!("a camera URL has 1-{MAX_URL_LEN} bytes")));
        }
        if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(RtspError::BadUrl(
                "a camera URL may not hold spaces or control characters".into(),
            ));
        }
        let mut u = parse_url(url)?;
        let in_url = |s: &str| Some(percent_decode(s)).filter(|s| !s.is_empty());
        let url_user = in_url(u.username());
        let url_password = u.password().and_then(in_url);
        let given = |s: Option<&str>| s.map(str::to_string).filter(|s| !s.is_empty());
        let (username, password) = match (given(username), given(password)) {
            (None, None) => (url_user, url_password),
            given => given,
        };
        // Neither can fail on a URL with a host, which `parse_url` ensured.
        let _ = u.set_username("");
        let _ = u.set_password(None);
        u.set_fragment(None);
        Ok(Source { url: u.to_string(), username, password })
    }
}

/// Decodes `%XX` escapes (as in URL user info); invalid escapes stay as they are.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (c, hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_url(url: &str) -> Result<url::Url, RtspError> {
    let u = url::Url::parse(url).map_err(|e| RtspError::BadUrl(format!("not a URL: {e}")))?;
    if u.scheme() != "rtsp" {
        let also = if u.scheme() == "rtsps" { " (RTSP over TLS is not supported yet)" } else { "" };
        return Err(RtspError::BadUrl(format!(
            "only rtsp:// URLs are supported, not {}://{also}",
            u.scheme()
        )));
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Err(RtspError::BadUrl("the URL names no host".into()));
    }
    Ok(u)
}

fn credentials(source: &Source) -> Option<Credentials> {
    match (&source.username, &source.password) {
        (None, None) => None,
        (u, p) => Some(Credentials {
            username: u.clone().unwrap_or_default(),
            password: p.clone().unwrap_or_default(),
        }),
    }
}

/// Sorts a retina error into what the person adding the camera can act on. Before the camera
/// has answered as RTSP (`answered` false), anything but an RTSP status is
/// [`RtspError::Unreachable`], so a port that is open to something else reads as a closed one.
fn classify(e: &retina::Error, answered: bool) -> RtspError {
    match e.status_code() {
        Some(status @ (401 | 403)) => RtspError::AuthFailed(status),
        Some(_) => RtspError::BadStream(first_line(&e.to_string())),
        None if answered => RtspError::BadStream(first_line(&e.to_string())),
        None => RtspError::Unreachable(first_line(&e.to_string())),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().chars().take(300).collect()
}

/// The address to connect to: the URL's host resolved once and checked against `policy`.
async fn checked_target(url: &url::Url, policy: &OutboundPolicy) -> Result<url::Url, RtspError> {
    let host = url.host_str().unwrap_or_default();
    let addr =
        policy.resolve(host, url.port().unwrap_or(554)).await.map_err(|refusal| match refusal {
            Refusal::Refused => RtspError::AddressRefused,
            Refusal::Unresolved => RtspError::Unreachable(format!("{host} does not resolve")),
        })?;
    let mut target = url.clone();
    target
        .set_ip_host(addr.ip())
        .map_err(|()| RtspError::BadUrl("the URL names no host".into()))?;
    // `parse_url` ensured an rtsp URL with a host, which takes a port.
    let _ = target.set_port(Some(addr.port()));
    Ok(target)
}

/// The first video stream, if it is H.264; the codecs on offer otherwise.
fn pick_video(streams: &[retina::client::Stream]) -> Result<usize, RtspError> {
    if let Some(i) = streams
        .iter()
        .position(|s| s.media() == "video" && s.encoding_name().eq_ignore_ascii_case("h264"))
    {
        return Ok(i);
    }
    let offered: Vec<String> =
        streams.iter().map(|s| format!("{} {}", s.media(), s.encoding_name())).collect();
    if offered.is_empty() {
        return Err(RtspError::BadStream("the camera described no streams".into()));
    }
    Err(RtspError::UnsupportedCodec(offered.join(", ")))
}

/// Connects to the checked address and sends `DESCRIBE`: what every session starts with.
async fn describe(
    source: &Source,
    policy: &OutboundPolicy,
) -> Result<Session<retina::client::Described>, RtspError> {
    let url = parse_url(&source.url)?;
    let target = checked_target(&url, policy).await?;
    let opts = SessionOptions::default()
        .creds(credentials(source))
        .user_agent(format!("kankan/{}", env!("CARGO_PKG_VERSION")));
    Session::describe(target, opts).await.map_err(|e| classify(&e, false))
}

/// Checks that `source` answers as an RTSP camera with H.264 video, within `timeout`. An
/// unreachable camera is answered at the deadline, whatever the reason (see the crate
/// documentation).
pub async fn probe(
    source: &Source,
    timeout: Duration,
    policy: &OutboundPolicy,
) -> Result<StreamInfo, RtspError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let work = async {
        let session = describe(source, policy).await?;
        let streams = session.streams();
        let video = pick_video(streams)?;
        let audio = streams.iter().find(|s| s.media() == "audio").map(|s| s.encoding_name().into());
        let mut info = StreamInfo { codec: "h264".into(), width: None, height: None, audio };
        if let Some(ParametersRef::Video(v)) = streams.get(video).and_then(|s| s.parameters()) {
            let (w, h) = v.pixel_dimensions();
            info.codec = v.rfc6381_codec().to_string();
            info.width = u16::try_from(w).ok();
            info.height = u16::try_from(h).ok();
        }
        Ok(info)
    };
    let result = tokio::time::timeout_at(deadline, work).await.unwrap_or_else(|_| {
        Err(RtspError::Unreachable(format!("no RTSP answer within {} s", timeout.as_secs())))
    });
    if let Err(RtspError::Unreachable(_)) = &result {
        tokio::time::sleep_until(deadline).await;
    }
    result
}

/// A playing RTSP session turned into fMP4 [`Chunk`]s.
pub struct Puller {
    session: std::pin::Pin<Box<Demuxed>>,
    video: usize,
    fragmenter: Fragmenter,
    /// The parameters the last init was written from.
    params: Option<VideoParams>,
    queued: Option<Chunk>,
}

impl std::fmt::Debug for Puller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Puller").field("video", &self.video).finish_non_exhaustive()
    }
}

impl Puller {
    /// `DESCRIBE`, `SETUP` (TCP interleaved) and `PLAY` of the first H.264 stream, within
    /// `timeout`, at the address `policy` allows (checked again at every connection).
    pub async fn connect(
        source: &Source,
        timeout: Duration,
        policy: &OutboundPolicy,
    ) -> Result<Puller, RtspError> {
        let work = async {
            let mut session = describe(source, policy).await?;
            let video = pick_video(session.streams())?;
            let clock = session.streams().get(video).map_or(90_000, |s| s.clock_rate_hz());
            let setup = SetupOptions::default()
                .transport(Transport::Tcp(TcpTransportOptions::default()))
                .frame_format(FrameFormat::MP4);
            session.setup(video, setup).await.map_err(|e| classify(&e, true))?;
            let playing =
                session.play(PlayOptions::default()).await.map_err(|e| classify(&e, true))?;
            let demuxed = playing.demuxed().map_err(|e| classify(&e, true))?;
            Ok(Puller {
                session: Box::pin(demuxed),
                video,
                fragmenter: Fragmenter::new(clock),
                params: None,
                queued: None,
            })
        };
        tokio::time::timeout(timeout, work).await.unwrap_or_else(|_| {
            Err(RtspError::Unreachable(format!(
                "the session did not start within {} s",
                timeout.as_secs()
            )))
        })
    }

    /// The next init or fragment. An error ends the session: connect again.
    pub async fn next(&mut self) -> Result<Chunk, RtspError> {
        if let Some(c) = self.queued.take() {
            return Ok(c);
        }
        // Only video counts as life: a camera sending RTCP reports alone has stalled.
        let mut deadline = tokio::time::Instant::now() + STALL_TIMEOUT;
        loop {
            let item =
                tokio::time::timeout_at(deadline, self.session.next()).await.map_err(|_| {
                    RtspError::Unreachable(format!("no video for {} s", STALL_TIMEOUT.as_secs()))
                })?;
            let frame = match item {
                None => return Err(RtspError::BadStream("the camera ended the stream".into())),
                Some(Err(e)) => return Err(classify(&e, true)),
                Some(Ok(CodecItem::VideoFrame(f))) if f.stream_id() == self.video => f,
                Some(Ok(_)) => continue,
            };
            deadline = tokio::time::Instant::now() + STALL_TIMEOUT;
            let key = frame.is_random_access_point();
            if !self.fragmenter.started() && !key {
                continue;
            }
            let ts = frame.timestamp().elapsed();
            let new_init = if key && (self.params.is_none() || frame.has_new_parameters()) {
                self.init_if_changed()?
            } else {
                None
            };
            // A parameter change ends the fragment before it: push decides that from `key`.
            let fragment = self.fragmenter.push(frame.into_data(), ts, key).map(Chunk::Fragment);
            match (fragment, new_init) {
                (Some(f), Some(i)) => {
                    self.queued = Some(Chunk::Init(i));
                    return Ok(f);
                }
                (Some(f), None) => return Ok(f),
                (None, Some(i)) => return Ok(Chunk::Init(i)),
                (None, None) => {}
            }
        }
    }

    /// A new init segment if the stream's parameters differ from the last one written.
    fn init_if_changed(&mut self) -> Result<Option<Bytes>, RtspError> {
        let stream = self.session.streams().get(self.video);
        let Some(ParametersRef::Video(v)) = stream.and_then(|s| s.parameters()) else {
            return Err(RtspError::BadStream("a keyframe arrived without SPS/PPS".into()));
        };
        let VideoParametersCodec::H264 { sps, pps } = v.codec_params() else {
            return Err(RtspError::UnsupportedCodec(v.rfc6381_codec().to_string()));
        };
        let (w, h) = v.pixel_dimensions();
        let params = VideoParams {
            width: u16::try_from(w).unwrap_or(u16::MAX),
            height: u16::try_from(h).unwrap_or(u16::MAX),
            timescale: stream.map_or(90_000, |s| s.clock_rate_hz()),
            sps: sps.to_vec(),
            pps: pps.to_vec(),
        };
        if self.params.as_ref() == Some(&params) {
            return Ok(None);
        }
        let init = Bytes::from(write_init(&params));
        self.params = Some(params);
        Ok(Some(init))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(url: &str) -> Source {
        Source { url: url.into(), username: None, password: None }
    }

    #[test]
    fn only_rtsp_urls_with_a_host_are_opened() {
        assert!(parse_url("rtsp://cam.local/stream1").is_ok());
        for bad in ["http://cam/", "rtsps://cam/", "rtsp:///x", "nonsense"] {
            assert_eq!(parse_url(bad).map(|_| ()).map_err(|e| e.code()), Err("invalid-camera-url"));
        }
    }

    #[test]
    fn credentials_in_the_url_move_out_of_it() {
        let s = Source::new(" rtsp://ad%40min:p%3Ass@cam:8554/live#x ", None, None).expect("ok");
        assert_eq!(s.url, "rtsp://cam:8554/live");
        assert_eq!((s.username.as_deref(), s.password.as_deref()), (Some("ad@min"), Some("p:ss")));
        let s = Source::new("rtsp://u:p@cam/live", Some("admin"), Some("")).expect("ok");
        assert_eq!((s.username.as_deref(), s.password), (Some("admin"), None));
        let s = Source::new("rtsp://cam/live", None, None).expect("ok");
        assert_eq!((s.username, s.password), (None, None));
    }

    #[test]
    fn odd_urls_are_refused_with_a_reason() {
        let long = format!("rtsp://cam/{}", "x".repeat(MAX_URL_LEN));
        for bad in ["", "rtsp://cam/a b", "rtsp://cam/\u{7}", &long, "rtsps://cam/"] {
            let e = Source::new(bad, None, None).expect_err(bad);
            assert_eq!(e.code(), "invalid-camera-url", "{bad}");
        }
        let e = Source::new("rtsps://cam/", None, None).expect_err("tls");
        assert!(e.to_string().contains("TLS"), "{e}");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }

    #[tokio::test]
    async fn the_connection_goes_to_the_checked_address_at_the_default_port_554() {
        let lan = OutboundPolicy::parse(&["10.0.0.0/8".into()]).expect("policy");
        let u = parse_url("rtsp://10.0.0.5/s").expect("url");
        assert_eq!(checked_target(&u, &lan).await.expect("ok").as_str(), "rtsp://10.0.0.5:554/s");
        let u = parse_url("rtsp://10.0.0.5:8554/s").expect("url");
        assert_eq!(checked_target(&u, &lan).await.expect("ok").as_str(), "rtsp://10.0.0.5:8554/s");
        let lab = OutboundPolicy::parse(&["127.0.0.1/32".into(), "::1/128".into()]).expect("lab");
        let u = parse_url("rtsp://localhost:8554/s").expect("url");
        let t = checked_target(&u, &lab).await.expect("resolved");
        assert!(
            matches!(t.host_str(), Some("127.0.0.1" | "[::1]")),
            "an address, not the name: {t}"
        );
    }

    #[tokio::test]
    async fn loopback_metadata_and_unallowed_private_addresses_are_refused_before_connecting() {
        // fails without the fix: the probe connected wherever the URL pointed.
        let home = OutboundPolicy::parse(&["192.168.0.0/16".into()]).expect("policy");
        for url in [
            "rtsp://127.0.0.1:22/",
            "rtsp://localhost/",
            "rtsp://[::1]/",
            "rtsp://169.254.169.254/latest",
            "rtsp://0.0.0.0/",
            "rtsp://10.1.2.3/",
        ] {
            let e = probe(&src(url), Duration::from_secs(5), &home).await.expect_err(url);
            assert_eq!(e.code(), "camera-address-refused", "{url}");
        }
    }

    #[test]
    fn passwords_stay_out_of_debug_output() {
        let s = Source { password: Some("hunter2".into()), ..src("rtsp://cam/") };
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn a_closed_port_and_a_port_open_to_something_else_answer_alike() {
        // fails without the fix: the two answered with different codes and messages, which
        // told open ports from closed ones.
        let lab = OutboundPolicy::parse(&["127.0.0.1/32".into()]).expect("lab");
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let closed = l.local_addr().expect("addr").port();
        drop(l);
        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let open_port = open.local_addr().expect("addr").port();
        tokio::spawn(async move {
            use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
            while let Ok((mut sock, _)) = open.accept().await {
                let mut buf = [0u8; 1024];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(b"SSH-2.0-OpenSSH_9.2\r\n\x00\xff garbage\r\n\r\n").await;
            }
        });
        let mut answers = Vec::new();
        for port in [closed, open_port] {
            let url = format!("rtsp://127.0.0.1:{port}/x");
            let e = probe(&src(&url), Duration::from_millis(300), &lab).await.expect_err(&url);
            answers.push((e.code(), e.to_string()));
        }
        assert_eq!(answers[0], answers[1]);
        assert_eq!(answers[0].0, "camera-unreachable");
        assert!(!answers[0].1.contains(&closed.to_string()), "{answers:?}");
    }
}
