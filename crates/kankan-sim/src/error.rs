//! Why the simulator could not do what it was asked.

use std::path::PathBuf;

/// Everything that stops a simulated device. Pairing failures say what was wrong with the
/// code so a person holding the QR code or the recording knows what to try next.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A flag or a value read from a file is not acceptable.
    #[error("{0}")]
    Config(String),
    /// The server address is not `mqtt://host:port`.
    #[error("server address {address:?}: {reason}")]
    ServerAddress { address: String, reason: String },
    /// Neither `--server` nor the state file says where the server is.
    #[error("no server address: pair the device first or pass --server")]
    NoServer,
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The state file exists but is not a state file this version can read.
    #[error("state file {}: {reason}", path.display())]
    StateFile { path: PathBuf, reason: String },
    /// The image could not be read as an image at all.
    #[error("cannot read the QR image: {0}")]
    UnreadableImage(String),
    /// The image holds no QR code that decodes.
    #[error("no readable QR code in the image")]
    NoQrCode,
    /// A QR code was read but is not a Kankan pairing code.
    #[error("the QR code is not a Kankan pairing code")]
    NotAPairingCode,
    /// The recording could not be read or holds no intact pairing signal.
    #[error("cannot read the pairing sound: {0}")]
    Sound(#[from] kankan_sonic::SonicError),
    /// The payload does not open with this device's pairing key.
    #[error(
        "the pairing code was not made for this device (another device's code, or damaged): \
         check that the UID and secret match the device being added"
    )]
    WrongDevice,
    /// The server refused the claim.
    #[error("the server refused the claim: {code}")]
    ClaimRefused { code: String },
    /// Waited too long for something (a claim result, a device state).
    #[error("timed out: {0}")]
    Timeout(String),
    /// The video source or encoder failed.
    #[error("video: {0}")]
    Video(String),
    /// The credentials file is malformed.
    #[error("credentials line {line}: {reason}")]
    Credentials { line: usize, reason: String },
}

impl SimError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SimError::Io { path: path.into(), source }
    }
}
