//! The ICE servers a browser is given with its live link: STUN as configured, and TURN with a
//! credential made for that link by the TURN REST convention that coturn checks with
//! `use-auth-secret`: the username is `<expiry, Unix seconds>:<random id>` and the credential
//! `base64(HMAC-SHA1(secret, username))`. The TURN server recomputes it from the shared secret,
//! so nothing is stored, and refuses it once the expiry has passed; the id is random, so the
//! TURN server's logs name no account. The secret itself never leaves the server.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use kankan_protocol::v1::IceServer;
use sha1::Sha1;

use crate::WebRtcConfig;

/// The ICE servers for a link made at `now` (Unix seconds, the real clock the TURN server
/// also reads).
pub(crate) fn servers(config: &WebRtcConfig, now: u64) -> Vec<IceServer> {
    let mut out = Vec::new();
    if !config.stun_urls.is_empty() {
        out.push(IceServer { urls: config.stun_urls.clone(), username: None, credential: None });
    }
    if let (false, Some(secret)) = (config.turn_urls.is_empty(), &config.turn_secret) {
        let username = format!("{}:{}", now + config.turn_ttl_secs, random_id());
        let credential = credential(secret.expose(), &username);
        out.push(IceServer {
            urls: config.turn_urls.clone(),
            username: Some(username),
            credential: Some(credential),
        });
    }
    out
}

/// `base64(HMAC-SHA1(secret, username))`.
fn credential(secret: &str, username: &str) -> String {
    // HMAC takes a key of any length.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// 12 random bytes, hex: the username's opaque part.
fn random_id() -> String {
    let mut b = [0u8; 12];
    if getrandom::fill(&mut b).is_err() {
        // The expiry alone still makes a working username.
        return "0".into();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use kankan_base::Secret;

    use super::*;

    #[test]
    fn the_credential_is_the_turn_rest_hmac_of_the_username() {
        // A known answer, computed independently (`printf %s 1334869311:alice | openssl
        // dgst -sha1 -hmac secret -binary | base64`).
        assert_eq!(credential("secret", "1334869311:alice"), "TosIvGkiyx+VWCE80iryOBsn5As=");
    }

    #[test]
    fn stun_and_turn_are_given_with_a_fresh_expiring_username() {
        let config = WebRtcConfig {
            stun_urls: vec!["stun:t.example:3478".into()],
            turn_urls: vec!["turn:t.example:3478?transport=tcp".into()],
            turn_secret: Some(Secret::new("0123456789abcdef")),
            turn_ttl_secs: 600,
            ..WebRtcConfig::default()
        };
        let a = servers(&config, 1_000_000);
        assert_eq!(a.len(), 2);
        assert_eq!(
            a[0],
            IceServer { urls: config.stun_urls.clone(), username: None, credential: None }
        );
        let user = a[1].username.clone().expect("a username");
        let (expiry, id) = user.split_once(':').expect("expiry:id");
        assert_eq!(expiry, "1000600");
        assert_eq!(id.len(), 24);
        assert_eq!(
            a[1].credential.as_deref(),
            Some(credential("0123456789abcdef", &user).as_str())
        );
        let b = servers(&config, 1_000_000);
        assert_ne!(a[1].username, b[1].username, "each link has its own");
        let all = serde_json::to_string(&a).expect("json");
        assert!(!all.contains("0123456789abcdef"), "the secret is never given: {all}");
        assert!(servers(&WebRtcConfig::default(), 1).is_empty(), "none configured, none given");
    }
}
