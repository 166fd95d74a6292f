//! The answer to a browser's offer: which m-lines carry what, and with which payload type.
//!
//! The server sends the camera's H.264 as it is, relays talk audio as G.711 µ-law and sends
//! the camera's own Opus sound track as it is, so only those three codecs are configured: the
//! answer picks H.264 (packetization mode 1, preferring the baseline profiles cameras encode)
//! from the browser's video m-line, and PCMU (payload type 0) then Opus from its audio m-line.
//! PCMU comes first in the answer, so a browser's talk is PCMU; the server sends Opus on the
//! same m-line while nobody's talk audio comes from the camera.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use str0m::change::SdpOffer;
use str0m::config::CryptoProvider;
use str0m::format::{Codec, PayloadParams};
use str0m::media::{Direction, MediaKind, Mid, Pt};
use str0m::net::{TcpType, Transmit};
use str0m::{Candidate, Output, Rtc};

use crate::WebRtcError;

/// What the answer settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Negotiated {
    /// The m-line the camera's video goes out on, and its H.264 payload type.
    pub video: (Mid, Pt),
    /// The talk m-line (PCMU both ways), when the browser offered audio.
    pub audio: Option<(Mid, Pt)>,
    /// Opus on the talk m-line, for the camera's sound track, when the browser offered it.
    pub sound: Option<(Mid, Pt)>,
}

/// An accepted offer: the session, the SDP answer, and what to send first.
pub(crate) struct Accepted {
    pub rtc: Rtc,
    pub answer: String,
    pub negotiated: Negotiated,
    /// Datagrams the session already wants to send (ICE checks).
    pub transmits: Vec<Transmit>,
}

/// Answers `offer` with `candidates` as the server's UDP host candidates and `tcp` as its
/// passive TCP ones (ICE-TCP).
pub(crate) fn accept(
    provider: Arc<CryptoProvider>,
    offer: &str,
    candidates: &[SocketAddr],
    tcp: &[SocketAddr],
) -> Result<Accepted, WebRtcError> {
    if !offer.trim_start().starts_with("v=0") {
        return Err(WebRtcError::InvalidSdp("an SDP offer starts with v=0".into()));
    }
    let parsed =
        SdpOffer::from_sdp_string(offer).map_err(|e| WebRtcError::InvalidSdp(e.to_string()))?;
    let mut rtc = Rtc::builder()
        .set_crypto_provider(provider)
        .clear_codecs()
        .enable_h264(true)
        .enable_pcmu(true, false)
        .enable_opus(true, false)
        .build(Instant::now());
    for addr in candidates {
        let c = Candidate::host(*addr, "udp")
            .map_err(|e| WebRtcError::NoPort(format!("host candidate {addr}: {e}")))?;
        rtc.add_local_candidate(c);
    }
    for addr in tcp {
        let c = Candidate::builder()
            .tcp()
            .host(*addr)
            .tcptype(TcpType::Passive)
            .build()
            .map_err(|e| WebRtcError::NoPort(format!("tcp candidate {addr}: {e}")))?;
        rtc.add_local_candidate(c);
    }
    let answer = rtc
        .sdp_api()
        .accept_offer(parsed)
        .map_err(|e| WebRtcError::InvalidSdp(e.to_string()))?
        .to_sdp_string();
    // str0m announces the m-lines (MediaAdded) only once connected; the answer names them.
    let media = answered_media(&answer);
    let negotiated = choose(&rtc, &media)?;
    let mut transmits = Vec::new();
    loop {
        match rtc.poll_output() {
            Ok(Output::Transmit(t)) => transmits.push(t),
            Ok(Output::Event(_)) => {}
            Ok(Output::Timeout(_)) => break,
            Err(e) => return Err(WebRtcError::InvalidSdp(e.to_string())),
        }
    }
    Ok(Accepted { rtc, answer, negotiated, transmits })
}

/// The accepted (port not 0) audio and video m-lines of an answer, with their mids.
fn answered_media(answer: &str) -> Vec<(Mid, MediaKind)> {
    let mut out = Vec::new();
    let mut current: Option<MediaKind> = None;
    for line in answer.lines() {
        if let Some(m) = line.strip_prefix("m=") {
            let mut words = m.split(' ');
            let (kind, port) = (words.next(), words.next());
            current = match (kind, port) {
                (_, Some("0")) => None,
                (Some("video"), _) => Some(MediaKind::Video),
                (Some("audio"), _) => Some(MediaKind::Audio),
                _ => None,
            };
        } else if let (Some(kind), Some(mid)) = (current, line.strip_prefix("a=mid:")) {
            out.push((Mid::from(mid.trim()), kind));
            current = None;
        }
    }
    out
}

/// The payload types the answer agreed for `mid`.
fn agreed(rtc: &Rtc, mid: Mid) -> impl Iterator<Item = &PayloadParams> {
    let remote: Vec<Pt> = rtc.media(mid).map(|m| m.remote_pts().to_vec()).unwrap_or_default();
    rtc.codec_config().params().iter().filter(move |p| remote.contains(&p.pt()))
}

fn choose(rtc: &Rtc, media: &[(Mid, MediaKind)]) -> Result<Negotiated, WebRtcError> {
    let sends = |mid: Mid| {
        rtc.media(mid)
            .is_some_and(|m| matches!(m.direction(), Direction::SendOnly | Direction::SendRecv))
    };
    let video = media
        .iter()
        .filter(|(mid, kind)| *kind == MediaKind::Video && sends(*mid))
        .find_map(|(mid, _)| h264_pt(agreed(rtc, *mid)).map(|pt| (*mid, pt)))
        .ok_or(WebRtcError::NoH264)?;
    let audio = media.iter().filter(|(_, kind)| *kind == MediaKind::Audio).find_map(|(mid, _)| {
        agreed(rtc, *mid).find(|p| p.spec().codec == Codec::PCMU).map(|p| (*mid, p.pt()))
    });
    let sound = audio.and_then(|(mid, _)| {
        agreed(rtc, mid).find(|p| p.spec().codec == Codec::Opus).map(|p| (mid, p.pt()))
    });
    Ok(Negotiated { video, audio, sound })
}

/// The best H.264 payload type for a camera's stream: packetization mode 1 (the packetizer
/// fragments large NAL units), baseline profiles first since cameras encode those; any
/// profile works in practice, decoders take what the SPS says.
fn h264_pt<'a>(params: impl Iterator<Item = &'a PayloadParams>) -> Option<Pt> {
    params
        .filter(|p| p.spec().codec == Codec::H264 && p.spec().format.packetization_mode == Some(1))
        .min_by_key(|p| match p.spec().format.profile_level_id.map(|id| id >> 16) {
            Some(0x42) => 0,
            Some(0x4d) => 1,
            _ => 2,
        })
        .map(|p| p.pt())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A browser-like offer made by str0m itself: video to receive, audio both ways, with
    /// the codecs a browser lists.
    pub(crate) fn offer(video: bool, audio: bool) -> (Rtc, String, str0m::change::SdpPendingOffer) {
        let mut client = Rtc::builder()
            .set_crypto_provider(Arc::new(str0m::crypto::from_feature_flags()))
            .enable_opus(true, false)
            .enable_pcmu(true, false)
            .build(Instant::now());
        let addr: SocketAddr = "127.0.0.1:50000".parse().expect("addr");
        client.add_local_candidate(Candidate::host(addr, "udp").expect("candidate"));
        let mut api = client.sdp_api();
        if video {
            api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        }
        if audio {
            api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        }
        let (offer, pending) = api.apply().expect("changes");
        (client, offer.to_sdp_string(), pending)
    }

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(str0m::crypto::from_feature_flags())
    }

    fn here() -> Vec<SocketAddr> {
        vec!["127.0.0.1:40000".parse().expect("addr")]
    }

    #[test]
    fn an_offer_with_video_and_audio_gets_h264_and_pcmu() {
        let (_, sdp, _) = offer(true, true);
        let a = accept(provider(), &sdp, &here(), &[]).expect("accepted");
        assert!(a.answer.contains("H264/90000"), "{}", a.answer);
        assert!(a.answer.contains("a=rtpmap:0 PCMU/8000"), "{}", a.answer);
        assert!(a.answer.contains("a=sendonly"), "video goes one way: {}", a.answer);
        assert!(a.answer.contains("a=sendrecv"), "talk goes both ways: {}", a.answer);
        assert!(a.answer.contains("127.0.0.1 40000 typ host"), "{}", a.answer);
        let (_, pt) = a.negotiated.audio.expect("audio negotiated");
        assert_eq!(*pt, 0, "PCMU is payload type 0");
        // The browser sends the first codec of the answer: PCMU, what talk relays.
        let (_, opus) = a.negotiated.sound.expect("opus negotiated");
        let audio = a.answer.lines().find(|l| l.starts_with("m=audio")).expect("m=audio");
        let pts: Vec<&str> = audio.split(' ').skip(3).collect();
        assert_eq!(pts.first(), Some(&"0"), "PCMU first: {audio}");
        assert!(pts.contains(&opus.to_string().as_str()), "{audio}");
        assert!(a.answer.contains("opus/48000/2"), "{}", a.answer);
        let video_pt = a.negotiated.video.1;
        let line = format!("a=fmtp:{video_pt} ");
        let fmtp = a.answer.lines().find(|l| l.starts_with(&line)).expect("fmtp of the video pt");
        assert!(fmtp.contains("packetization-mode=1"), "{fmtp}");
        assert!(fmtp.contains("profile-level-id=42"), "baseline first: {fmtp}");
    }

    #[test]
    fn with_ice_tcp_the_answer_has_a_passive_tcp_candidate_too() {
        let (_, sdp, _) = offer(true, true);
        let tcp: Vec<SocketAddr> = vec!["127.0.0.1:40000".parse().expect("addr")];
        let a = accept(provider(), &sdp, &here(), &tcp).expect("accepted");
        let candidates: Vec<&str> =
            a.answer.lines().filter(|l| l.starts_with("a=candidate:")).collect();
        assert_eq!(candidates.len(), 2, "{}", a.answer);
        assert!(candidates[0].contains(" udp "), "{candidates:?}");
        assert!(candidates[1].contains(" tcp "), "{candidates:?}");
        assert!(
            candidates[1].contains("127.0.0.1 40000 typ host tcptype passive"),
            "{candidates:?}"
        );
    }

    #[test]
    fn video_alone_is_fine_and_audio_alone_is_not() {
        let (_, sdp, _) = offer(true, false);
        let a = accept(provider(), &sdp, &here(), &[]).expect("accepted");
        assert_eq!(a.negotiated.audio, None);
        let (_, sdp, _) = offer(false, true);
        assert!(matches!(accept(provider(), &sdp, &here(), &[]), Err(WebRtcError::NoH264)));
    }

    #[test]
    fn garbage_is_invalid_sdp() {
        for bad in ["", "hello", "v=0\r\n", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"] {
            match accept(provider(), bad, &here(), &[]) {
                Err(WebRtcError::InvalidSdp(_)) => {}
                Err(e) => panic!("{bad:?}: {e}"),
                Ok(_) => panic!("{bad:?} accepted"),
            }
        }
    }
}
