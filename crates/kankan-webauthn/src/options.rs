//! The options `navigator.credentials.create` and `.get` take, as JSON with binary fields in
//! base64url (`PublicKeyCredentialCreationOptionsJSON`, `…RequestOptionsJSON`); the web app
//! converts them to buffers.

use serde_json::{Value, json};

use crate::{RelyingParty, b64url, cose};

/// Whether the user must be verified (PIN, biometrics) beyond being present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserVerification {
    Required,
    Preferred,
    Discouraged,
}

impl UserVerification {
    pub fn as_str(self) -> &'static str {
        match self {
            UserVerification::Required => "required",
            UserVerification::Preferred => "preferred",
            UserVerification::Discouraged => "discouraged",
        }
    }
}

/// The account a new credential is for, as the authenticator keeps it.
#[derive(Debug, Clone, Copy)]
pub struct UserEntity<'a> {
    /// The user handle: opaque bytes (at most 64), never an e-mail address or account id.
    pub id: &'a [u8],
    /// Shown by the authenticator's account picker.
    pub name: &'a str,
    pub display_name: &'a str,
}

fn descriptors(ids: &[Vec<u8>]) -> Vec<Value> {
    ids.iter().map(|id| json!({"type": "public-key", "id": b64url(id)})).collect()
}

/// Creation options for a discoverable credential (resident key required), attestation
/// `none`, excluding the credentials the account already has.
pub fn creation_options(
    rp: &RelyingParty,
    user: &UserEntity<'_>,
    challenge: &[u8],
    exclude: &[Vec<u8>],
    user_verification: UserVerification,
    timeout_ms: u64,
) -> Value {
    let params: Vec<Value> =
        cose::ALGORITHMS.iter().map(|alg| json!({"type": "public-key", "alg": alg})).collect();
    json!({
        "rp": {"id": rp.id, "name": rp.name},
        "user": {"id": b64url(user.id), "name": user.name, "displayName": user.display_name},
        "challenge": b64url(challenge),
        "pubKeyCredParams": params,
        "timeout": timeout_ms,
        "excludeCredentials": descriptors(exclude),
        "authenticatorSelection": {
            "residentKey": "required",
            "requireResidentKey": true,
            "userVerification": user_verification.as_str(),
        },
        "attestation": "none",
    })
}

/// Request options; an empty `allow` lets the authenticator offer its discoverable
/// credentials for the RP ID (passkey-only login).
pub fn request_options(
    rp: &RelyingParty,
    challenge: &[u8],
    allow: &[Vec<u8>],
    user_verification: UserVerification,
    timeout_ms: u64,
) -> Value {
    json!({
        "rpId": rp.id,
        "challenge": b64url(challenge),
        "timeout": timeout_ms,
        "allowCredentials": descriptors(allow),
        "userVerification": user_verification.as_str(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp() -> RelyingParty {
        RelyingParty::for_origin("http://localhost:1234", "Kankan").expect("rp")
    }

    #[test]
    fn creation_options_ask_for_a_discoverable_credential_and_exclude_known_ones() {
        let user = UserEntity { id: &[1, 2, 3], name: "a", display_name: "A" };
        let o = creation_options(
            &rp(),
            &user,
            &[9; 32],
            &[vec![7, 7]],
            UserVerification::Preferred,
            60_000,
        );
        assert_eq!(o["rp"]["id"], "localhost");
        assert_eq!(o["user"]["id"], "AQID");
        assert_eq!(o["challenge"], b64url(&[9; 32]));
        assert_eq!(o["authenticatorSelection"]["residentKey"], "required");
        assert_eq!(o["authenticatorSelection"]["userVerification"], "preferred");
        assert_eq!(o["excludeCredentials"][0]["id"], "Bwc");
        assert_eq!(o["attestation"], "none");
        let algs: Vec<i64> = o["pubKeyCredParams"]
            .as_array()
            .expect("params")
            .iter()
            .filter_map(|p| p["alg"].as_i64())
            .collect();
        assert_eq!(algs, [-7, -8, -257]);
    }

    #[test]
    fn request_options_name_the_rp_and_allowed_credentials() {
        let o = request_options(&rp(), &[1; 32], &[], UserVerification::Required, 1000);
        assert_eq!(o["rpId"], "localhost");
        assert_eq!(o["allowCredentials"], json!([]));
        assert_eq!(o["userVerification"], "required");
        let o = request_options(&rp(), &[1; 32], &[vec![0xff]], UserVerification::Preferred, 1);
        assert_eq!(o["allowCredentials"][0], json!({"type": "public-key", "id": "_w"}));
    }
}
