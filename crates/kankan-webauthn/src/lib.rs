//! Passkeys (WebAuthn Level 2/3) for a relying party, verified on ring: a bounded CBOR
//! decoder ([`cbor`]), COSE public keys ([`cose`]: ES256, EdDSA, RS256), registration and
//! assertion verification ([`verify`]) and the options the browser takes ([`options`]).
//! Pure: no I/O, no clock, no storage; the caller keeps challenges and credentials.
//!
//! Invariants: every check of the specification's registration (§7.1) and assertion (§7.2)
//! procedures that applies to attestation `none` (and `packed` self-attestation) is made, and
//! any failure answers [`WebauthnError`] with a stable [`Reason`]; challenges are compared as
//! SHA-256 digests in constant time, so the caller need keep only the digest; nothing here
//! panics on any input.

pub mod cbor;
pub mod cose;
pub mod options;
#[cfg(any(test, feature = "soft"))]
pub mod soft;
pub mod verify;

#[cfg(test)]
mod testing;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

pub use cose::PublicKey;
pub use options::{UserEntity, UserVerification, creation_options, request_options};
pub use verify::{
    AssertionOk, AssertionResponse, Expected, NewCredential, RegistrationResponse,
    StoredCredential, verify_assertion, verify_registration,
};

/// The relying party: the site's registrable domain (or host) and the origins its pages are
/// served from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    /// The RP ID: a host name, never an IP address, e.g. `kankan.example` or `localhost`.
    pub id: String,
    /// Shown by the browser and authenticator.
    pub name: String,
    /// The exact origins (`https://kankan.example`, `http://localhost:8080`) accepted.
    pub origins: Vec<String>,
}

impl RelyingParty {
    /// The relying party of a site served at `origin` (scheme, host and optional port): the
    /// RP ID is its host, the origin the only one accepted. `None` when the origin has no
    /// host name (an IP address cannot be an RP ID).
    pub fn for_origin(origin: &str, name: &str) -> Option<RelyingParty> {
        let origin = origin.trim_end_matches('/');
        let rest = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"))?;
        if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
            return None;
        }
        let host = match rest.rsplit_once(':') {
            Some((h, port)) if !h.contains(']') && port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => rest,
        };
        let host = host.to_ascii_lowercase();
        let is_ip = host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok();
        if host.is_empty() || is_ip {
            return None;
        }
        Some(RelyingParty {
            id: host,
            name: name.to_string(),
            origins: vec![origin.to_ascii_lowercase()],
        })
    }
}

/// Why a credential or assertion was refused. The text of each is stable (`as_str`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Not the JSON or base64url expected.
    Malformed,
    /// clientDataJSON is not well formed.
    BadClientData,
    /// clientDataJSON's type is not the ceremony's.
    WrongType,
    /// Not the challenge issued.
    WrongChallenge,
    /// An origin not among the relying party's.
    WrongOrigin,
    /// The authenticator data is for another RP ID.
    WrongRelyingParty,
    /// The user-present flag is not set.
    UserNotPresent,
    /// User verification was required and not done.
    UserNotVerified,
    /// The authenticator data or attestation object is not well formed.
    BadAuthenticatorData,
    /// An attestation format or statement not accepted.
    BadAttestation,
    /// The COSE key is not well formed.
    BadKey,
    /// A key algorithm Kankan does not accept.
    UnsupportedAlgorithm,
    /// The signature does not verify.
    BadSignature,
    /// The signature counter did not grow: the authenticator may have been cloned.
    SignCount,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::BadClientData => "bad-client-data",
            Reason::WrongType => "wrong-type",
            Reason::WrongChallenge => "wrong-challenge",
            Reason::WrongOrigin => "wrong-origin",
            Reason::WrongRelyingParty => "wrong-relying-party",
            Reason::UserNotPresent => "user-not-present",
            Reason::UserNotVerified => "user-not-verified",
            Reason::BadAuthenticatorData => "bad-authenticator-data",
            Reason::BadAttestation => "bad-attestation",
            Reason::BadKey => "bad-key",
            Reason::UnsupportedAlgorithm => "unsupported-algorithm",
            Reason::BadSignature => "bad-signature",
            Reason::SignCount => "sign-count",
        }
    }
}

/// A refused registration or assertion: the stable code `passkey-invalid`, a [`Reason`] and
/// a message for logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("passkey-invalid ({}): {message}", reason.as_str())]
pub struct WebauthnError {
    pub reason: Reason,
    pub message: String,
}

impl WebauthnError {
    pub fn new(reason: Reason, message: &str) -> WebauthnError {
        WebauthnError { reason, message: message.to_string() }
    }

    /// The stable error code.
    pub fn code(&self) -> &'static str {
        "passkey-invalid"
    }
}

/// base64url without padding, as WebAuthn's JSON carries binary fields.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url, padded or not.
pub fn from_b64url(s: &str) -> Result<Vec<u8>, WebauthnError> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| WebauthnError::new(Reason::Malformed, "not base64url"))
}

/// SHA-256, as the challenge digest the caller keeps and the RP ID hash.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub(crate) use kankan_base::constant_time_eq as ct_eq;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_of_an_origin_is_its_host() {
        let rp = RelyingParty::for_origin("http://localhost:8080/", "Kankan").expect("rp");
        assert_eq!(rp.id, "localhost");
        assert_eq!(rp.origins, ["http://localhost:8080"]);
        let rp = RelyingParty::for_origin("https://Cam.Example", "Kankan").expect("rp");
        assert_eq!(rp.id, "cam.example");
        assert!(RelyingParty::for_origin("http://127.0.0.1:8080", "K").is_none(), "an IP");
        assert!(RelyingParty::for_origin("http://[::1]:8080", "K").is_none(), "an IP");
        assert!(RelyingParty::for_origin("ftp://x", "K").is_none());
        assert!(RelyingParty::for_origin("https://a.example/path", "K").is_none());
    }

    #[test]
    fn base64url_round_trips_with_or_without_padding() {
        assert_eq!(b64url(b"\xfb\xff"), "-_8");
        assert_eq!(from_b64url("-_8").expect("plain"), b"\xfb\xff");
        assert_eq!(from_b64url("-_8=").expect("padded"), b"\xfb\xff");
        assert_eq!(from_b64url("+/8").expect_err("standard").reason, Reason::Malformed);
    }
}
