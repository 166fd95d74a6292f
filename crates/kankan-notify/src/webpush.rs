//! Web Push to browsers: RFC 8030 delivery, RFC 8292 VAPID identification and RFC 8291
//! message encryption with the RFC 8188 `aes128gcm` content coding.
//!
//! A browser subscribes through its push service and hands us a [`PushSubscription`]: an
//! endpoint URL (a capability: whoever knows it can push) and two keys, `p256dh` (the
//! browser's P-256 public key) and `auth` (a 16-byte secret). [`PushClient::send`] encrypts the
//! payload for those keys ([`encrypt`]), signs a VAPID JWT for the endpoint's origin with our
//! [`VapidKey`] and POSTs the body to the endpoint.
//!
//! Answers: 200/201/202 accepted; 404/410 the subscription is gone (delete it); 429, 5xx,
//! timeouts (10 s) and connection failures are transient (retry later); any other answer
//! rejects the message. Error texts name the endpoint's origin, never its full URL.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aes_gcm::Aes128Gcm;
use aes_gcm::aead::{Aead, KeyInit};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use kankan_base::ErrorKind;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::{PublicKey, SecretKey};
use reqwest::StatusCode;
use sha2::Sha256;

/// Record size written into the `aes128gcm` header; one record always fits.
const RECORD_SIZE: u32 = 4096;
/// Salt (16) + record size (4) + key id length (1) + key id (65).
const HEADER_LEN: usize = 86;
/// Push services need accept no more than 4096 bytes of body (RFC 8030 section 7.2); minus the
/// header, the padding delimiter and the AEAD tag, this much plaintext fits (RFC 8291 section 4).
pub const MAX_PAYLOAD: usize = 4096 - HEADER_LEN - 1 - 16;
/// How long a request to a push service may take, connection included.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a VAPID token is valid; RFC 8292 allows at most 24 hours.
const TOKEN_LIFETIME_S: u64 = 12 * 60 * 60;

/// Why a push message was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The push service says the subscription no longer exists (404 or 410): delete it.
    #[error("the push subscription is gone (expired or unsubscribed)")]
    Gone,
    /// Trying again later may work: 429, 5xx, a timeout, no connection.
    #[error("push delivery temporarily failed: {0}")]
    Transient(String),
    /// The push service refused this message (another 4xx); retrying will not help.
    #[error("push service rejected the message: {0}")]
    Rejected(String),
    /// The subscription, key or payload is unusable; nothing was sent.
    #[error("invalid push request: {0}")]
    Invalid(String),
}

impl PushError {
    /// `NotFound` for a gone subscription, `Unavailable` for transient failures,
    /// `FailedPrecondition` for a rejection, `InvalidArgument` for invalid input.
    pub fn kind(&self) -> ErrorKind {
        match self {
            PushError::Gone => ErrorKind::NotFound,
            PushError::Transient(_) => ErrorKind::Unavailable,
            PushError::Rejected(_) => ErrorKind::FailedPrecondition,
            PushError::Invalid(_) => ErrorKind::InvalidArgument,
        }
    }

    /// Whether sending the same message later could succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, PushError::Transient(_))
    }
}

/// The application server's VAPID key pair (ECDSA P-256). Its public key is what browsers
/// pass to `pushManager.subscribe({applicationServerKey})`. `Debug` hides the secret.
#[derive(Clone)]
pub struct VapidKey {
    secret: SecretKey,
}

impl std::fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VapidKey")
            .field("public", &self.public_key_b64url())
            .finish_non_exhaustive()
    }
}

impl VapidKey {
    /// A fresh random key pair.
    ///
    /// # Panics
    /// If the operating system's random source fails, which leaves nothing sensible to do.
    pub fn generate() -> VapidKey {
        VapidKey { secret: random_secret().expect("the OS random source works") }
    }

    /// The key pair whose private scalar is `bytes` (big-endian), as [`Self::secret_bytes`]
    /// returns it.
    pub fn from_secret_bytes(bytes: &[u8; 32]) -> Result<VapidKey, PushError> {
        SecretKey::from_slice(bytes)
            .map(|secret| VapidKey { secret })
            .map_err(|_| PushError::Invalid("VAPID private key is not a valid P-256 scalar".into()))
    }

    /// The private scalar, big-endian; store it as a secret.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.secret.to_bytes().into()
    }

    /// The public key as an uncompressed point (65 bytes), base64url without padding.
    pub fn public_key_b64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(public_bytes(&self.secret.public_key()))
    }

    /// The `Authorization` header value for a push to `audience` (an origin such as
    /// `https://push.example.net`): `vapid t=<ES256 JWT>, k=<public key>`.
    pub fn authorization(&self, audience: &str, subject: &str, expires_at_s: u64) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({ "aud": audience, "exp": expires_at_s, "sub": subject });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{claims}");
        let signature: Signature = SigningKey::from(&self.secret).sign(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(signature.to_bytes());
        format!("vapid t={signing_input}.{signature}, k={}", self.public_key_b64url())
    }
}

/// A browser's push subscription, as `PushSubscription.toJSON()` gives it (keys base64url).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushSubscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

/// A subscription's keys, decoded and checked.
struct Keys {
    p256dh: PublicKey,
    auth: [u8; 16],
}

impl PushSubscription {
    /// Checks that the endpoint is an http(s) URL with a host, `p256dh` an uncompressed P-256
    /// point and `auth` 16 bytes.
    pub fn validate(&self) -> Result<(), PushError> {
        self.endpoint_url()?;
        self.keys()?;
        Ok(())
    }

    fn endpoint_url(&self) -> Result<url::Url, PushError> {
        const MAX_LEN: usize = 2048;
        if self.endpoint.len() > MAX_LEN {
            return Err(PushError::Invalid(format!(
                "endpoint is longer than {MAX_LEN} characters"
            )));
        }
        let url = url::Url::parse(&self.endpoint)
            .map_err(|e| PushError::Invalid(format!("endpoint is not a URL: {e}")))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(PushError::Invalid(format!(
                "endpoint must be an https:// URL, not {}:",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(PushError::Invalid("endpoint has no host".into()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(PushError::Invalid("endpoint must not carry credentials".into()));
        }
        Ok(url)
    }

    fn keys(&self) -> Result<Keys, PushError> {
        let p256dh = decode_b64url(&self.p256dh)
            .ok_or_else(|| PushError::Invalid("keys.p256dh is not base64url".into()))?;
        let p256dh = parse_public_key(&p256dh)?;
        let auth = decode_b64url(&self.auth)
            .ok_or_else(|| PushError::Invalid("keys.auth is not base64url".into()))?;
        let auth: [u8; 16] = auth.as_slice().try_into().map_err(|_| {
            PushError::Invalid(format!("keys.auth must be 16 bytes, not {}", auth.len()))
        })?;
        Ok(Keys { p256dh, auth })
    }
}

/// The `Urgency` header of RFC 8030 section 5.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Urgency {
    VeryLow,
    Low,
    Normal,
    High,
}

impl Urgency {
    /// The header value: `very-low`, `low`, `normal` or `high`.
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::VeryLow => "very-low",
            Urgency::Low => "low",
            Urgency::Normal => "normal",
            Urgency::High => "high",
        }
    }
}

/// Sends encrypted, VAPID-signed push messages.
#[derive(Debug, Clone)]
pub struct PushClient {
    http: reqwest::Client,
    vapid: VapidKey,
    subject: String,
    timeout: Duration,
}

impl PushClient {
    /// `subject` is the VAPID contact (`mailto:ops@example.com` or an `https:` URL) that push
    /// services may use to reach the operator; [`Self::send`] refuses any other form.
    pub fn new(http: reqwest::Client, vapid: VapidKey, subject: String) -> PushClient {
        PushClient { http, vapid, subject, timeout: SEND_TIMEOUT }
    }

    /// Replaces the 10 s limit per request (tests of a silent push service use less).
    pub fn with_timeout(mut self, timeout: Duration) -> PushClient {
        self.timeout = timeout;
        self
    }

    /// The VAPID public key browsers subscribe with.
    pub fn vapid_public_key(&self) -> String {
        self.vapid.public_key_b64url()
    }

    /// Encrypts `payload` for `sub` and posts it; `Ok` means the push service accepted it.
    /// `ttl_secs` is how long the service keeps it for an offline browser.
    pub async fn send(
        &self,
        sub: &PushSubscription,
        payload: &[u8],
        ttl_secs: u32,
        urgency: Urgency,
    ) -> Result<(), PushError> {
        if !(self.subject.starts_with("mailto:") || self.subject.starts_with("https:")) {
            return Err(PushError::Invalid("VAPID subject must be a mailto: or https: URI".into()));
        }
        let url = sub.endpoint_url()?;
        let keys = sub.keys()?;
        let salt = random_bytes::<16>()?;
        let ephemeral = random_secret()?;
        let body = encrypt_with(payload, &keys.p256dh, &keys.auth, &ephemeral, &salt)?;
        let origin = url.origin().ascii_serialization();
        let expires_at_s = now_s() + TOKEN_LIFETIME_S;
        let authorization = self.vapid.authorization(&origin, &self.subject, expires_at_s);

        let result = self
            .http
            .post(url)
            .timeout(self.timeout)
            .header("TTL", ttl_secs.to_string())
            .header("Urgency", urgency.as_str())
            .header("Content-Encoding", "aes128gcm")
            .header("Content-Type", "application/octet-stream")
            .header("Authorization", authorization)
            .body(body)
            .send()
            .await;
        let response = match result {
            Ok(r) => r,
            Err(e) if crate::guard::is_private_target_error(&e) => {
                return Err(PushError::Rejected(format!("{origin} points at a private address")));
            }
            Err(e) => {
                let what = if e.is_timeout() { "timed out" } else { "failed" };
                // The error's text may hold the endpoint URL; keep only its kind.
                let detail = if e.is_connect() { ": cannot connect" } else { "" };
                return Err(PushError::Transient(format!("request to {origin} {what}{detail}")));
            }
        };
        let status = response.status();
        if matches!(status, StatusCode::OK | StatusCode::CREATED | StatusCode::ACCEPTED) {
            tracing::debug!(push_service = %origin, %status, "push message accepted");
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        let text: String = text.trim().chars().take(200).collect();
        let detail = if text.is_empty() {
            format!("{origin} answered {status}")
        } else {
            format!("{origin} answered {status}: {text}")
        };
        Err(match status {
            StatusCode::NOT_FOUND | StatusCode::GONE => PushError::Gone,
            s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
                PushError::Transient(detail)
            }
            _ => PushError::Rejected(detail),
        })
    }
}

/// Encrypts `payload` for a browser's `p256dh` public key (65-byte uncompressed point) and
/// `auth` secret (16 bytes): the RFC 8291 body, one `aes128gcm` record with a fresh ephemeral
/// key and salt.
pub fn encrypt(payload: &[u8], p256dh: &[u8], auth: &[u8]) -> Result<Vec<u8>, PushError> {
    let ua_public = parse_public_key(p256dh)?;
    let auth: [u8; 16] = auth
        .try_into()
        .map_err(|_| PushError::Invalid(format!("auth must be 16 bytes, not {}", auth.len())))?;
    let salt = random_bytes::<16>()?;
    let ephemeral = random_secret()?;
    encrypt_with(payload, &ua_public, &auth, &ephemeral, &salt)
}

/// [`encrypt`] with the application server's ephemeral key and the salt given (RFC 8291
/// section 3, RFC 8188 section 2).
fn encrypt_with(
    payload: &[u8],
    ua_public: &PublicKey,
    auth: &[u8; 16],
    as_secret: &SecretKey,
    salt: &[u8; 16],
) -> Result<Vec<u8>, PushError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(PushError::Invalid(format!(
            "payload is {} bytes; at most {MAX_PAYLOAD} fit in a push message",
            payload.len()
        )));
    }
    let ua_bytes = public_bytes(ua_public);
    let as_bytes = public_bytes(&as_secret.public_key());
    let shared = p256::ecdh::diffie_hellman(as_secret.to_nonzero_scalar(), ua_public.as_affine());

    // IKM = HKDF(salt = auth, ikm = ECDH secret, info = "WebPush: info" 0 ua_public as_public).
    let mut key_info = Vec::with_capacity(14 + 65 + 65);
    key_info.extend_from_slice(b"WebPush: info\0");
    key_info.extend_from_slice(&ua_bytes);
    key_info.extend_from_slice(&as_bytes);
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(auth), shared.raw_secret_bytes())
        .expand(&key_info, &mut ikm)
        .expect("32 bytes is a valid HKDF-SHA256 output length");

    // CEK and nonce from HKDF(salt, IKM), RFC 8188 section 2.2 and 2.3.
    let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let mut cek = [0u8; 16];
    let mut nonce = [0u8; 12];
    prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
        .expect("16 bytes is a valid HKDF-SHA256 output length");
    prk.expand(b"Content-Encoding: nonce\0", &mut nonce)
        .expect("12 bytes is a valid HKDF-SHA256 output length");

    // One record, the last: plaintext, then the delimiter 0x02, no further padding.
    let mut record = Vec::with_capacity(payload.len() + 1);
    record.extend_from_slice(payload);
    record.push(2);
    let cipher = Aes128Gcm::new_from_slice(&cek).expect("the CEK is 16 bytes");
    let sealed = cipher
        .encrypt(&nonce.into(), record.as_slice())
        .map_err(|_| PushError::Invalid("AES-GCM refused the record".into()))?;

    let mut body = Vec::with_capacity(HEADER_LEN + sealed.len());
    body.extend_from_slice(salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(65);
    body.extend_from_slice(&as_bytes);
    body.extend_from_slice(&sealed);
    Ok(body)
}

fn parse_public_key(bytes: &[u8]) -> Result<PublicKey, PushError> {
    if bytes.len() != 65 || bytes[0] != 4 {
        return Err(PushError::Invalid(format!(
            "p256dh must be an uncompressed P-256 point (65 bytes starting with 0x04), not {} bytes",
            bytes.len()
        )));
    }
    PublicKey::from_sec1_bytes(bytes)
        .map_err(|_| PushError::Invalid("p256dh is not a point on the P-256 curve".into()))
}

fn public_bytes(key: &PublicKey) -> [u8; 65] {
    let point = key.to_encoded_point(false);
    point.as_bytes().try_into().expect("an uncompressed P-256 point is 65 bytes")
}

/// Base64url with or without padding (browsers omit it; some libraries add it).
fn decode_b64url(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).ok()
}

fn random_bytes<const N: usize>() -> Result<[u8; N], PushError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| PushError::Transient(format!("no randomness from the OS: {e}")))?;
    Ok(bytes)
}

/// A random P-256 private key (rejection sampling: almost every 32-byte string is one).
fn random_secret() -> Result<SecretKey, PushError> {
    loop {
        if let Ok(key) = SecretKey::from_slice(&random_bytes::<32>()?) {
            return Ok(key);
        }
    }
}

fn now_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::VerifyingKey;
    use p256::ecdsa::signature::Verifier as _;

    fn b64(text: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(text).expect("base64url test vector")
    }

    // RFC 8291 section 5 (the example's values, base64url).
    const PLAINTEXT: &str = "When I grow up, I want to be a watermelon";
    const AS_PRIVATE: &str = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
    const AS_PUBLIC: &str =
        "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
    const UA_PUBLIC: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
    const SALT: &str = "DGv6ra1nlYgDCS1FRnbzlw";
    const BODY: &str = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

    #[test]
    fn encryption_reproduces_the_rfc_8291_example() {
        let as_secret = SecretKey::from_slice(&b64(AS_PRIVATE)).expect("RFC key");
        assert_eq!(public_bytes(&as_secret.public_key()).as_slice(), b64(AS_PUBLIC));
        let ua_public = parse_public_key(&b64(UA_PUBLIC)).expect("RFC key");
        let auth: [u8; 16] = b64(AUTH).try_into().expect("16 bytes");
        let salt: [u8; 16] = b64(SALT).try_into().expect("16 bytes");
        let body = encrypt_with(PLAINTEXT.as_bytes(), &ua_public, &auth, &as_secret, &salt)
            .expect("encrypt");
        assert_eq!(URL_SAFE_NO_PAD.encode(&body), BODY);
    }

    #[test]
    fn encrypt_uses_a_fresh_key_and_salt_each_time() {
        let a = encrypt(b"x", &b64(UA_PUBLIC), &b64(AUTH)).expect("encrypt");
        let b = encrypt(b"x", &b64(UA_PUBLIC), &b64(AUTH)).expect("encrypt");
        assert_eq!(a.len(), HEADER_LEN + 1 + 1 + 16);
        assert_eq!(&a[16..21], &[0, 0, 0x10, 0, 65], "rs 4096, key id of 65 bytes");
        assert_ne!(a[..16], b[..16], "salt");
        assert_ne!(a[21..86], b[21..86], "ephemeral key");
    }

    #[test]
    fn payloads_that_do_not_fit_one_message_are_refused() {
        assert!(encrypt(&[b'a'; MAX_PAYLOAD], &b64(UA_PUBLIC), &b64(AUTH)).is_ok());
        let err =
            encrypt(&[b'a'; MAX_PAYLOAD + 1], &b64(UA_PUBLIC), &b64(AUTH)).expect_err("too large");
        assert!(matches!(err, PushError::Invalid(ref m) if m.contains("3993")), "{err:?}");
        let full = encrypt(&[b'a'; MAX_PAYLOAD], &b64(UA_PUBLIC), &b64(AUTH)).expect("fits");
        assert_eq!(full.len(), 4096);
    }

    fn subscription() -> PushSubscription {
        PushSubscription {
            endpoint: "https://push.example.net/wpush/v2/abc".into(),
            p256dh: UA_PUBLIC.into(),
            auth: AUTH.into(),
        }
    }

    #[test]
    fn a_browser_subscription_validates() {
        subscription().validate().expect("valid");
        let padded = PushSubscription { auth: format!("{AUTH}=="), ..subscription() };
        padded.validate().expect("padding is tolerated");
    }

    #[test]
    fn bogus_subscriptions_are_refused_with_the_reason() {
        let mut on_curve_but_wrong = b64(UA_PUBLIC);
        on_curve_but_wrong[64] ^= 1;
        let cases: &[(PushSubscription, &str)] = &[
            (PushSubscription { endpoint: "not a url".into(), ..subscription() }, "not a URL"),
            (
                PushSubscription { endpoint: "ftp://push.example.net/x".into(), ..subscription() },
                "https://",
            ),
            (
                PushSubscription { endpoint: "javascript:alert(1)".into(), ..subscription() },
                "https://",
            ),
            (
                PushSubscription {
                    endpoint: "https://u:p@push.example.net/x".into(),
                    ..subscription()
                },
                "credentials",
            ),
            (PushSubscription { p256dh: "***".into(), ..subscription() }, "base64url"),
            (PushSubscription { p256dh: AUTH.into(), ..subscription() }, "65 bytes"),
            (
                PushSubscription {
                    p256dh: URL_SAFE_NO_PAD.encode(on_curve_but_wrong),
                    ..subscription()
                },
                "curve",
            ),
            (PushSubscription { auth: "AAAA".into(), ..subscription() }, "16 bytes"),
            (PushSubscription { auth: "!".into(), ..subscription() }, "base64url"),
        ];
        for (sub, needle) in cases {
            let err = sub.validate().expect_err("must be refused");
            assert!(
                matches!(&err, PushError::Invalid(m) if m.contains(needle)),
                "{sub:?}: {err:?}"
            );
        }
    }

    #[test]
    fn vapid_keys_round_trip_through_their_secret_bytes() {
        let key = VapidKey::generate();
        let again = VapidKey::from_secret_bytes(&key.secret_bytes()).expect("valid");
        assert_eq!(key.public_key_b64url(), again.public_key_b64url());
        assert_eq!(b64(&key.public_key_b64url()).len(), 65);
        assert!(VapidKey::from_secret_bytes(&[0; 32]).is_err());
        assert!(!format!("{key:?}").contains(&format!("{:?}", key.secret_bytes())));
    }

    #[test]
    fn the_vapid_token_is_an_es256_jwt_for_the_audience() {
        let key = VapidKey::generate();
        let value = key.authorization("https://push.example.net", "mailto:ops@example.com", 42);
        let rest = value.strip_prefix("vapid t=").expect("scheme");
        let (token, k) = rest.split_once(", k=").expect("k parameter");
        assert_eq!(k, key.public_key_b64url());
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value = serde_json::from_slice(&b64(parts[0])).expect("json");
        assert_eq!(header["alg"], "ES256");
        let claims: serde_json::Value = serde_json::from_slice(&b64(parts[1])).expect("json");
        assert_eq!(claims["aud"], "https://push.example.net");
        assert_eq!(claims["exp"], 42);
        assert_eq!(claims["sub"], "mailto:ops@example.com");
        let verifier = VerifyingKey::from_sec1_bytes(&b64(k)).expect("key");
        let signature = Signature::from_slice(&b64(parts[2])).expect("r||s");
        let input = format!("{}.{}", parts[0], parts[1]);
        verifier.verify(input.as_bytes(), &signature).expect("signature verifies");
    }

    #[test]
    fn urgency_header_values_follow_rfc_8030() {
        let values: Vec<_> = [Urgency::VeryLow, Urgency::Low, Urgency::Normal, Urgency::High]
            .into_iter()
            .map(Urgency::as_str)
            .collect();
        assert_eq!(values, ["very-low", "low", "normal", "high"]);
    }
}
