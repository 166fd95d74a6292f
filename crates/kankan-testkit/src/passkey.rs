//! Passkeys in tests: a software authenticator (ES256 keys made by ring) that answers the
//! server's creation and request options with the JSON a browser sends, so integration tests
//! drive the real routes without a browser; and the app's address by host name (WebAuthn needs
//! one: an IP address cannot be a relying party id).

pub use kankan_webauthn::soft::{SoftAuthenticator, SoftCredential};

use crate::TestApp;

impl TestApp {
    /// The app's base URL with `localhost` for the loopback address: a secure context and a
    /// valid relying party id.
    pub fn localhost_url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.replace("127.0.0.1", "localhost"))
    }

    /// A software authenticator whose "browser" is on [`TestApp::localhost_url`].
    pub fn soft_authenticator(&self) -> SoftAuthenticator {
        SoftAuthenticator::new(self.localhost_url("").trim_end_matches('/'))
    }
}
