//! WebAuthn in the browser: the W3C WebAuthn WebDriver extension's virtual authenticator, so
//! browser tests register and use passkeys with no hardware.

use anyhow::{Context as _, Result, anyhow};
use serde_json::{Value, json};

use super::Browser;

impl Browser {
    /// Adds a virtual authenticator to this session (`POST /session/{id}/webauthn/authenticator`):
    /// CTAP2, internal transport (a platform authenticator), resident keys, user verification,
    /// the user verified. Answers its id.
    pub async fn add_virtual_authenticator(&self) -> Result<String> {
        let options = json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
            "isUserConsenting": true,
        });
        let v = self
            .session
            .post("/webauthn/authenticator", options)
            .await
            .context("adding a virtual authenticator")?;
        v.as_str().map(str::to_owned).ok_or_else(|| anyhow!("no authenticator id in {v}"))
    }

    /// The credentials the virtual authenticator `id` holds.
    pub async fn virtual_credentials(&self, id: &str) -> Result<Vec<Value>> {
        let v = self
            .session
            .get(&format!("/webauthn/authenticator/{id}/credentials"))
            .await
            .context("reading the virtual authenticator's credentials")?;
        Ok(v.as_array().cloned().unwrap_or_default())
    }
}
