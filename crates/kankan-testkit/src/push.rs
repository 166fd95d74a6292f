//! A Web Push service stand-in (RFC 8030) on 127.0.0.1, and a browser's side of a push
//! subscription ([`UserAgentKeys`]) that decrypts what arrives (RFC 8291).
//!
//! [`PushService`] accepts `POST /push/{name}` like a real push service would:
//!
//! - `Authorization: vapid t=<JWT>, k=<key>` (RFC 8292) is required: missing or malformed →
//!   401; a signature that does not verify under `k`, an `aud` other than this service's
//!   origin, an `exp` in the past or more than 24 h ahead, a `sub` that is not `mailto:` or
//!   `https:`, or a `k` other than the one a subscription is [restricted](PushService::restrict)
//!   to → 403;
//! - `Content-Encoding: aes128gcm` (else 415), a `TTL` header (else 400), an `Urgency` among
//!   `very-low`, `low`, `normal`, `high` if present (else 400), at most 4096 bytes (else 413);
//! - names marked [expired](PushService::expire) answer 410;
//! - otherwise 201 Created with a `Location` and the message is recorded.
//!
//! Refusals are recorded too ([`PushService::refusals`]) so a failing test can say why.
//! The checks here are written independently of `kankan-notify` on purpose.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aes_gcm::Aes128Gcm;
use aes_gcm::aead::{Aead, KeyInit};
use anyhow::{Context as _, Result, anyhow, bail, ensure};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::{PublicKey, SecretKey};
use sha2::Sha256;

/// One message the push service accepted.
#[derive(Debug, Clone)]
pub struct PushedMessage {
    /// The encrypted body, as posted.
    pub body: Vec<u8>,
    /// The `TTL` header, seconds.
    pub ttl: u32,
    /// The `Urgency` header; `"normal"` when absent (RFC 8030 section 5.3).
    pub urgency: String,
    /// The `Authorization` header, as posted.
    pub authorization: String,
}

/// One request the push service refused, and why.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub name: String,
    pub status: u16,
    pub reason: String,
}

#[derive(Default)]
struct Inner {
    messages: HashMap<String, Vec<PushedMessage>>,
    expired: HashSet<String>,
    restricted: HashMap<String, String>,
    refusals: Vec<Refusal>,
    next_id: u64,
}

#[derive(Clone)]
struct Shared {
    origin: String,
    inner: Arc<Mutex<Inner>>,
}

/// The push service stand-in; stops when dropped.
pub struct PushService {
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PushService {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PushService {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> PushService {
        let inner: Arc<Mutex<Inner>> = Arc::default();
        let state = Arc::clone(&inner);
        let (origin, task) = crate::local::serve(|origin| {
            let shared = Shared { origin: origin.to_owned(), inner: state };
            Router::new().route("/push/{name}", post(push)).with_state(shared)
        })
        .await;
        PushService { shared: Shared { origin, inner }, task }
    }

    /// `http://127.0.0.1:<port>`: the audience VAPID tokens must name.
    pub fn origin(&self) -> &str {
        &self.shared.origin
    }

    /// The endpoint URL a browser's subscription called `name` would carry.
    pub fn subscription_endpoint(&self, name: &str) -> String {
        format!("{}/push/{name}", self.shared.origin)
    }

    /// From now on, pushes to `name` answer 410 Gone (the browser unsubscribed).
    pub fn expire(&self, name: &str) {
        self.lock().expired.insert(name.to_owned());
    }

    /// From now on, pushes to `name` must be signed with this VAPID public key (base64url),
    /// as when the browser subscribed with `applicationServerKey` (RFC 8292 section 4).
    pub fn restrict(&self, name: &str, vapid_public_key: &str) {
        self.lock().restricted.insert(name.to_owned(), vapid_public_key.to_owned());
    }

    /// Messages accepted for `name`, oldest first.
    pub fn received(&self, name: &str) -> Vec<PushedMessage> {
        self.lock().messages.get(name).cloned().unwrap_or_default()
    }

    /// Every refused request so far.
    pub fn refusals(&self) -> Vec<Refusal> {
        self.lock().refusals.clone()
    }

    /// Waits until `name` has at least `n` messages and returns them; panics after `timeout`
    /// naming the refusals seen.
    pub async fn wait_for(&self, name: &str, n: usize, timeout: Duration) -> Vec<PushedMessage> {
        let shortfall = |got| {
            format!(
                "push service: {got} of {n} messages for {name:?} within {timeout:?}; refusals: {:?}",
                self.refusals()
            )
        };
        crate::local::wait_for_n(n, timeout, || self.received(name), shortfall).await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().expect("push service state lock")
    }
}

async fn push(
    State(shared): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let checked = check(&shared, &name, &headers, &body);
    let mut inner = shared.inner.lock().expect("push service state lock");
    match checked {
        Ok(message) => {
            inner.next_id += 1;
            let location = format!("{}/message/{}", shared.origin, inner.next_id);
            inner.messages.entry(name).or_default().push(message);
            (StatusCode::CREATED, [(header::LOCATION, location)]).into_response()
        }
        Err((status, reason)) => {
            inner.refusals.push(Refusal { name, status: status.as_u16(), reason: reason.clone() });
            (status, reason).into_response()
        }
    }
}

fn check(
    shared: &Shared,
    name: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<PushedMessage, (StatusCode, String)> {
    let get = |h: &str| headers.get(h).and_then(|v| v.to_str().ok()).map(str::trim);
    let refuse = |status: StatusCode, why: &str| Err((status, why.to_owned()));

    let Some(authorization) = get("authorization") else {
        return refuse(StatusCode::UNAUTHORIZED, "no Authorization header");
    };
    let (token, key) = match parse_vapid_header(authorization) {
        Ok(parts) => parts,
        Err(e) => return Err((StatusCode::UNAUTHORIZED, format!("{e:#}"))),
    };
    if let Err(e) = verify_token(&token, &key, &shared.origin, now_s()) {
        return Err((StatusCode::FORBIDDEN, format!("{e:#}")));
    }
    let (expired, restricted) = {
        let inner = shared.inner.lock().expect("push service state lock");
        (inner.expired.contains(name), inner.restricted.get(name).cloned())
    };
    if restricted.is_some_and(|k| k.trim_end_matches('=') != key.trim_end_matches('=')) {
        return refuse(StatusCode::FORBIDDEN, "VAPID key differs from the subscription's");
    }
    if expired {
        return refuse(StatusCode::GONE, "push subscription has expired or been unsubscribed");
    }
    if get("content-encoding") != Some("aes128gcm") {
        return refuse(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Encoding must be aes128gcm");
    }
    let Some(ttl) = get("ttl").and_then(|t| t.parse::<u32>().ok()) else {
        return refuse(StatusCode::BAD_REQUEST, "TTL header missing or not a number");
    };
    let urgency = get("urgency").unwrap_or("normal").to_owned();
    if !matches!(urgency.as_str(), "very-low" | "low" | "normal" | "high") {
        return refuse(StatusCode::BAD_REQUEST, "Urgency must be very-low, low, normal or high");
    }
    if body.len() > 4096 {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "push message body over 4096 bytes");
    }
    if body.is_empty() {
        return refuse(StatusCode::BAD_REQUEST, "empty push message body");
    }
    Ok(PushedMessage { body: body.to_vec(), ttl, urgency, authorization: authorization.to_owned() })
}

/// Splits `vapid t=<token>, k=<key>` into token and key.
fn parse_vapid_header(value: &str) -> Result<(String, String)> {
    let (scheme, params) = value.split_once(' ').context("Authorization has no parameters")?;
    ensure!(scheme.eq_ignore_ascii_case("vapid"), "Authorization scheme is not vapid");
    let (mut token, mut key) = (None, None);
    for param in params.split(',') {
        let (name, value) = param.trim().split_once('=').context("a vapid parameter lacks =")?;
        match name.trim() {
            "t" => token = Some(value.trim().to_owned()),
            "k" => key = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    Ok((token.context("vapid t= missing")?, key.context("vapid k= missing")?))
}

/// Verifies an ES256 JWT under `key` (uncompressed P-256 point, base64url) and its claims.
fn verify_token(token: &str, key: &str, origin: &str, now_s: u64) -> Result<()> {
    let b64 = |s: &str| URL_SAFE_NO_PAD.decode(s.trim_end_matches('='));
    let parts: Vec<&str> = token.split('.').collect();
    ensure!(parts.len() == 3, "JWT must have three parts");
    let header: serde_json::Value = serde_json::from_slice(&b64(parts[0])?)?;
    ensure!(header["alg"] == "ES256", "JWT alg must be ES256, not {}", header["alg"]);
    let key =
        VerifyingKey::from_sec1_bytes(&b64(key)?).map_err(|_| anyhow!("k is not a P-256 key"))?;
    let signature =
        Signature::from_slice(&b64(parts[2])?).map_err(|_| anyhow!("signature is not r||s"))?;
    let input = format!("{}.{}", parts[0], parts[1]);
    key.verify(input.as_bytes(), &signature)
        .map_err(|_| anyhow!("JWT signature does not verify"))?;
    let claims: serde_json::Value = serde_json::from_slice(&b64(parts[1])?)?;
    ensure!(claims["aud"] == origin, "aud {} is not {origin}", claims["aud"]);
    let exp = claims["exp"].as_u64().context("exp missing")?;
    ensure!(exp > now_s, "JWT expired");
    // A minute of leeway for clocks, as push services allow.
    ensure!(exp <= now_s + 24 * 3600 + 60, "exp more than 24 hours ahead");
    let sub = claims["sub"].as_str().unwrap_or_default();
    if !(sub.starts_with("mailto:") || sub.starts_with("https:")) {
        bail!("sub must be a mailto: or https: URI, not {sub:?}");
    }
    Ok(())
}

fn now_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A browser's keys for one push subscription: its P-256 key pair and 16-byte auth secret.
#[derive(Clone)]
pub struct UserAgentKeys {
    /// The public key (uncompressed point), base64url: the subscription's `keys.p256dh`.
    pub p256dh: String,
    /// The auth secret, base64url: the subscription's `keys.auth`.
    pub auth: String,
    secret: SecretKey,
    auth_bytes: [u8; 16],
}

impl std::fmt::Debug for UserAgentKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserAgentKeys").field("p256dh", &self.p256dh).finish_non_exhaustive()
    }
}

impl UserAgentKeys {
    /// Fresh random keys, as a browser makes when subscribing.
    pub fn generate() -> UserAgentKeys {
        let mut auth_bytes = [0u8; 16];
        getrandom::fill(&mut auth_bytes).expect("OS randomness");
        let secret = loop {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).expect("OS randomness");
            if let Ok(key) = SecretKey::from_slice(&bytes) {
                break key;
            }
        };
        let public = secret.public_key().to_encoded_point(false);
        UserAgentKeys {
            p256dh: URL_SAFE_NO_PAD.encode(public.as_bytes()),
            auth: URL_SAFE_NO_PAD.encode(auth_bytes),
            secret,
            auth_bytes,
        }
    }

    /// The private key, base64url (32 bytes), for tools that decrypt independently.
    pub fn private_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.secret.to_bytes())
    }

    /// `PushSubscription.toJSON()` for a subscription with these keys at `endpoint`.
    pub fn subscription_json(&self, endpoint: &str) -> serde_json::Value {
        serde_json::json!({
            "endpoint": endpoint,
            "expirationTime": null,
            "keys": { "p256dh": self.p256dh, "auth": self.auth },
        })
    }

    /// Decrypts an RFC 8291 body; panics if it is not for these keys.
    pub fn decrypt(&self, body: &[u8]) -> Vec<u8> {
        self.try_decrypt(body).expect("push message decrypts with the browser's keys")
    }

    /// Decrypts an RFC 8291 body (`aes128gcm`, one record, padding delimiter 2).
    pub fn try_decrypt(&self, body: &[u8]) -> Result<Vec<u8>> {
        ensure!(body.len() >= 21, "body shorter than the aes128gcm header");
        let salt = &body[..16];
        let rs = u32::from_be_bytes(body[16..20].try_into().expect("4 bytes"));
        let id_len = usize::from(body[20]);
        ensure!(id_len == 65, "keyid must be the sender's 65-byte public key, not {id_len} bytes");
        ensure!(body.len() > 21 + 65 + 16, "body holds no record");
        let as_bytes = &body[21..86];
        let record = &body[86..];
        ensure!(record.len() <= rs as usize, "more than one record (rs {rs})");
        let as_public = PublicKey::from_sec1_bytes(as_bytes)
            .map_err(|_| anyhow!("keyid is not a P-256 key"))?;
        let shared =
            p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), as_public.as_affine());
        let ua_public = self.secret.public_key().to_encoded_point(false);

        let mut info = b"WebPush: info\0".to_vec();
        info.extend_from_slice(ua_public.as_bytes());
        info.extend_from_slice(as_bytes);
        let mut ikm = [0u8; 32];
        Hkdf::<Sha256>::new(Some(&self.auth_bytes), shared.raw_secret_bytes())
            .expand(&info, &mut ikm)
            .map_err(|_| anyhow!("HKDF"))?;
        let prk = Hkdf::<Sha256>::new(Some(salt), &ikm);
        let (mut cek, mut nonce) = ([0u8; 16], [0u8; 12]);
        prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek).map_err(|_| anyhow!("HKDF"))?;
        prk.expand(b"Content-Encoding: nonce\0", &mut nonce).map_err(|_| anyhow!("HKDF"))?;
        let cipher = Aes128Gcm::new_from_slice(&cek).map_err(|_| anyhow!("CEK length"))?;
        let mut plain = cipher
            .decrypt(&nonce.into(), record)
            .map_err(|_| anyhow!("AES-GCM authentication failed: not for these keys"))?;
        let end = plain.iter().rposition(|&b| b != 0).context("record is all padding")?;
        ensure!(plain[end] == 2, "padding delimiter is {} (2 marks the last record)", plain[end]);
        plain.truncate(end);
        Ok(plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decrypt_reads_the_rfc_8291_example() {
        let b64 = |s: &str| URL_SAFE_NO_PAD.decode(s).expect("base64url");
        let secret = SecretKey::from_slice(&b64("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"))
            .expect("RFC key");
        let keys = UserAgentKeys {
            p256dh: String::new(),
            auth: String::new(),
            secret,
            auth_bytes: b64("BTBZMqHH6r4Tts7J_aSIgg").try_into().expect("16 bytes"),
        };
        let body = b64(
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
        );
        assert_eq!(keys.decrypt(&body), b"When I grow up, I want to be a watermelon");
        let mut tampered = body.clone();
        *tampered.last_mut().expect("non-empty") ^= 1;
        assert!(keys.try_decrypt(&tampered).is_err());
    }

    #[test]
    fn vapid_header_parameters_parse_in_any_order() {
        let (t, k) = parse_vapid_header("vapid k=KEY, t=a.b.c").expect("parse");
        assert_eq!((t.as_str(), k.as_str()), ("a.b.c", "KEY"));
        assert!(parse_vapid_header("WebPush a.b.c").is_err());
        assert!(parse_vapid_header("vapid t=a.b.c").is_err());
    }
}
