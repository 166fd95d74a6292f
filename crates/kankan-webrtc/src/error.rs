//! What can go wrong when a browser asks for a WebRTC session.

use kankan_base::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum WebRtcError {
    /// The offer is not SDP, or not one this server can answer.
    #[error("invalid SDP offer: {0}")]
    InvalidSdp(String),
    /// The offer has no H.264 video this server can send.
    #[error("the offer has no H.264 video to receive (the camera sends H.264 only)")]
    NoH264,
    #[error("WebRTC is turned off on this server")]
    Disabled,
    #[error("too many WebRTC sessions; try again later")]
    Busy,
    /// The account has its most sessions open (`webrtc.max_sessions_per_account`).
    #[error("this account has {0} live sessions open already; close one to open another")]
    AccountBusy(usize),
    #[error("no UDP port free for the session: {0}")]
    NoPort(String),
}

impl WebRtcError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            WebRtcError::InvalidSdp(_) | WebRtcError::NoH264 => ErrorKind::InvalidArgument,
            WebRtcError::Disabled | WebRtcError::Busy | WebRtcError::NoPort(_) => {
                ErrorKind::Unavailable
            }
            WebRtcError::AccountBusy(_) => ErrorKind::ResourceExhausted,
        }
    }

    /// The stable code API clients see.
    pub fn code(&self) -> &'static str {
        match self {
            WebRtcError::InvalidSdp(_) => "invalid-sdp",
            WebRtcError::NoH264 => "sdp-no-h264",
            WebRtcError::Disabled => "webrtc-disabled",
            WebRtcError::Busy => "webrtc-busy",
            WebRtcError::AccountBusy(_) => "webrtc-account-limit",
            WebRtcError::NoPort(_) => "webrtc-no-port",
        }
    }
}
