//! Device secrets and the pairing payload carried by QR code or sound.
//!
//! Every device has its own 256-bit secret, written at the factory. The server keeps only a
//! keyed MAC of it (for MQTT logins) and the device's *pairing key*, `HMAC(secret,
//! "kankan/pairing/v1")`, sealed. When a user adds a device, the server seals the Wi-Fi
//! password under that device's pairing key, so whoever photographs the QR code or records
//! the sound learns the SSID and a single-use bind token, but not the Wi-Fi password. The bind
//! token alone is useless: the device must also log in with its secret to claim it.
//!
//! Payload layout (version 2): `"K" | 2 | token(16) | len(1) | server | len(1) | ssid |
//! len(1) | pin | envelope`, where `pin` is empty or the 32-byte [`Pin`] of the server's TLS
//! key (SHA-256 of its SubjectPublicKeyInfo: the device pins it from its first connection),
//! and the envelope is AES-256-GCM (see [`crate::AeadKey`]) of the Wi-Fi password under the
//! pairing key, with every byte before it as associated data: a payload whose server or pin
//! was altered does not open. A `mqtts://` server always comes with a pin; only a lab
//! server on plain `mqtt://` sends none. The sound modem carries at most 255 bytes: the pin
//! adds 33 to a payload of about 100 plus the server address and SSID.
//!
//! A *rejoin* payload (version 3, same layout) is for a device already bound that lost its
//! network: its token claims the device for the account it is already bound to, and the
//! device keeps its settings (it is not a new binding).
//!
//! A Wi-Fi change for a bound, online device ([`seal_wifi`]) uses the same envelope: the
//! password sealed under the device's pairing key, with the device's UID and the SSID as
//! associated data, sent in the `wifi-set` command.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::tls::Pin;
use crate::{AeadKey, CryptoError};

const MAGIC: u8 = b'K';
const VERSION: u8 = 2;
/// The version byte of a rejoin payload.
const VERSION_REJOIN: u8 = 3;
/// Prefix of the QR code's text form.
pub const QR_PREFIX: &str = "KKP1:";

/// What a device needs to join Wi-Fi and claim its binding.
#[derive(Clone, PartialEq, Eq)]
pub struct PairingPayload {
    pub token: [u8; 16],
    /// The server's MQTT address as the device should reach it, e.g. `mqtts://10.0.0.2:8883`.
    pub server: String,
    pub ssid: String,
    /// The server's TLS public key; `None` only for a lab server on plain `mqtt://`.
    pub pin: Option<Pin>,
    pub wifi_password: String,
    /// A rejoin of a device already bound to the token's account (it keeps its settings).
    pub rejoin: bool,
}

impl std::fmt::Debug for PairingPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PairingPayload")
            .field("server", &self.server)
            .field("pin", &self.pin)
            .field("rejoin", &self.rejoin)
            .finish_non_exhaustive()
    }
}

/// A new device secret (base64url of 32 random bytes).
pub fn new_device_secret() -> Result<String, CryptoError> {
    Ok(crate::random_token()?.0)
}

/// The pairing key a device derives from its secret.
pub fn pairing_key(secret: &str) -> AeadKey {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(b"kankan/pairing/v1");
    AeadKey::from_bytes(mac.finalize().into_bytes().into())
}

impl AeadKey {
    /// The raw key, to be sealed at rest by the server (pairing keys only).
    pub fn to_bytes(&self) -> [u8; 32] {
        *self.bytes()
    }
}

fn push_short(out: &mut Vec<u8>, s: &str, what: &str) -> Result<(), CryptoError> {
    let len = u8::try_from(s.len())
        .map_err(|_| CryptoError::BadKey(format!("{what} is longer than 255 bytes")))?;
    out.push(len);
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Builds the binary payload, sealing the Wi-Fi password under `key`.
pub fn seal_pairing(p: &PairingPayload, key: &AeadKey) -> Result<Vec<u8>, CryptoError> {
    let mut out = vec![MAGIC, if p.rejoin { VERSION_REJOIN } else { VERSION }];
    out.extend_from_slice(&p.token);
    push_short(&mut out, &p.server, "server address")?;
    push_short(&mut out, &p.ssid, "SSID")?;
    match &p.pin {
        Some(pin) => {
            out.push(32);
            out.extend_from_slice(&pin.0);
        }
        None => out.push(0),
    }
    let envelope = key.seal(p.wifi_password.as_bytes(), &out)?;
    out.extend_from_slice(&envelope);
    Ok(out)
}

fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], CryptoError> {
    if b.len() < n {
        return Err(CryptoError::Undecryptable);
    }
    let (head, rest) = b.split_at(n);
    *b = rest;
    Ok(head)
}

fn take_short(b: &mut &[u8]) -> Result<String, CryptoError> {
    let n = usize::from(take(b, 1)?[0]);
    String::from_utf8(take(b, n)?.to_vec()).map_err(|_| CryptoError::Undecryptable)
}

/// Parses and opens a payload with the device's pairing key. Any damage, or another
/// device's key, is `Undecryptable`.
pub fn open_pairing(bytes: &[u8], key: &AeadKey) -> Result<PairingPayload, CryptoError> {
    let mut b = bytes;
    let rejoin = match take(&mut b, 2)? {
        [MAGIC, VERSION] => false,
        [MAGIC, VERSION_REJOIN] => true,
        _ => return Err(CryptoError::Undecryptable),
    };
    let token: [u8; 16] = take(&mut b, 16)?.try_into().map_err(|_| CryptoError::Undecryptable)?;
    let server = take_short(&mut b)?;
    let ssid = take_short(&mut b)?;
    let pin = match take(&mut b, 1)?[0] {
        0 => None,
        32 => Some(Pin(take(&mut b, 32)?.try_into().map_err(|_| CryptoError::Undecryptable)?)),
        _ => return Err(CryptoError::Undecryptable),
    };
    let header = &bytes[..bytes.len() - b.len()];
    let pw = key.open(b, header)?;
    let wifi_password = String::from_utf8(pw).map_err(|_| CryptoError::Undecryptable)?;
    Ok(PairingPayload { token, server, ssid, pin, wifi_password, rejoin })
}

/// What binds a Wi-Fi change to its device, to this purpose and to its SSID.
fn wifi_aad(uid: &str, header: &[u8]) -> Vec<u8> {
    let mut a = b"kankan/wifi-set/v1\0".to_vec();
    a.extend_from_slice(uid.as_bytes());
    a.push(0);
    a.extend_from_slice(header);
    a
}

/// Seals a new Wi-Fi network for a bound device (the `wifi-set` command), under its pairing
/// key: `len(1) | ssid | envelope`, the envelope being the password sealed with the UID and
/// the SSID as associated data, as base64url text. Only the device opens it; a sealed change
/// made for another device, or whose SSID was altered, does not open.
pub fn seal_wifi(
    uid: &str,
    ssid: &str,
    password: &str,
    key: &AeadKey,
) -> Result<String, CryptoError> {
    let mut out = Vec::new();
    push_short(&mut out, ssid, "SSID")?;
    let envelope = key.seal(password.as_bytes(), &wifi_aad(uid, &out))?;
    out.extend_from_slice(&envelope);
    Ok(URL_SAFE_NO_PAD.encode(out))
}

/// A Wi-Fi network opened by [`open_wifi`]; the password is not printed by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct WifiNetwork {
    pub ssid: String,
    pub password: String,
}

impl std::fmt::Debug for WifiNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WifiNetwork").field("ssid", &self.ssid).finish_non_exhaustive()
    }
}

/// Opens what [`seal_wifi`] sealed for device `uid`, with its pairing key; any damage,
/// another device's UID or key is `Undecryptable`.
pub fn open_wifi(uid: &str, sealed: &str, key: &AeadKey) -> Result<WifiNetwork, CryptoError> {
    let bytes = URL_SAFE_NO_PAD.decode(sealed.trim()).map_err(|_| CryptoError::Undecryptable)?;
    let mut b = &bytes[..];
    let ssid = take_short(&mut b)?;
    let header = &bytes[..bytes.len() - b.len()];
    let pw = key.open(b, &wifi_aad(uid, header))?;
    let password = String::from_utf8(pw).map_err(|_| CryptoError::Undecryptable)?;
    Ok(WifiNetwork { ssid, password })
}

/// What binds a rotated secret to its device and to this purpose.
fn rotation_aad(uid: &str) -> Vec<u8> {
    let mut a = b"kankan/secret-rotation/v1\0".to_vec();
    a.extend_from_slice(uid.as_bytes());
    a
}

/// Seals a device's new secret for the device, under the pairing key of its current secret
/// (which the server keeps sealed, and the device derives from the secret it has): only the
/// holder of the current secret opens it. The result is base64url text (the `secret` message).
pub fn seal_new_secret(
    uid: &str,
    new_secret: &str,
    current: &AeadKey,
) -> Result<String, CryptoError> {
    Ok(URL_SAFE_NO_PAD.encode(current.seal(new_secret.as_bytes(), &rotation_aad(uid))?))
}

/// Opens what [`seal_new_secret`] sealed, with the pairing key of the device's current secret.
pub fn open_new_secret(uid: &str, sealed: &str, current: &AeadKey) -> Result<String, CryptoError> {
    let bytes = URL_SAFE_NO_PAD.decode(sealed.trim()).map_err(|_| CryptoError::Undecryptable)?;
    let raw = current.open(&bytes, &rotation_aad(uid))?;
    String::from_utf8(raw).map_err(|_| CryptoError::Undecryptable)
}

/// The QR code's text: a prefix and base64url of the payload.
pub fn pairing_qr_text(payload: &[u8]) -> String {
    format!("{QR_PREFIX}{}", URL_SAFE_NO_PAD.encode(payload))
}

/// The payload bytes back from a QR code's text.
pub fn pairing_from_qr_text(text: &str) -> Result<Vec<u8>, CryptoError> {
    let b64 = text.trim().strip_prefix(QR_PREFIX).ok_or(CryptoError::Undecryptable)?;
    URL_SAFE_NO_PAD.decode(b64).map_err(|_| CryptoError::Undecryptable)
}

/// The bind token as text (what the device sends in its claim).
pub fn token_text(token: &[u8; 16]) -> String {
    URL_SAFE_NO_PAD.encode(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> PairingPayload {
        PairingPayload {
            token: [9; 16],
            server: "mqtts://192.0.2.10:8883".into(),
            ssid: "Home WiFi".into(),
            pin: Some(Pin([7; 32])),
            wifi_password: "correct horse battery".into(),
            rejoin: false,
        }
    }

    #[test]
    fn a_wifi_change_opens_only_on_its_device_and_hides_the_password() {
        let key = pairing_key("device-secret");
        let sealed =
            seal_wifi("KKAAAA0001", "New Net", "correct horse battery", &key).expect("seal");
        let raw = URL_SAFE_NO_PAD.decode(&sealed).expect("base64url");
        assert!(!raw.windows(13).any(|w| w == b"correct horse"), "the password is sealed");
        let net = open_wifi("KKAAAA0001", &sealed, &key).expect("open");
        assert_eq!(
            (net.ssid.as_str(), net.password.as_str()),
            ("New Net", "correct horse battery")
        );
        assert!(!format!("{net:?}").contains("horse"));
        assert!(open_wifi("KKBBBB0002", &sealed, &key).is_err(), "another device's UID");
        assert!(open_wifi("KKAAAA0001", &sealed, &pairing_key("other")).is_err(), "another key");
        let mut swapped = raw.clone();
        swapped[1] ^= 1;
        let swapped = URL_SAFE_NO_PAD.encode(swapped);
        assert!(open_wifi("KKAAAA0001", &swapped, &key).is_err(), "the SSID is authenticated");
        for cut in 0..raw.len() {
            assert!(open_wifi("KKAAAA0001", &URL_SAFE_NO_PAD.encode(&raw[..cut]), &key).is_err());
        }
    }

    #[test]
    fn a_rejoin_payload_says_so_and_a_pairing_one_does_not() {
        let key = pairing_key("s");
        let rejoin = PairingPayload { rejoin: true, ..payload() };
        let back = open_pairing(&seal_pairing(&rejoin, &key).expect("seal"), &key).expect("open");
        assert!(back.rejoin);
        let back =
            open_pairing(&seal_pairing(&payload(), &key).expect("seal"), &key).expect("open");
        assert!(!back.rejoin);
        let mut flipped = seal_pairing(&rejoin, &key).expect("seal");
        flipped[1] = 2;
        assert!(open_pairing(&flipped, &key).is_err(), "the version byte is authenticated");
    }

    #[test]
    fn a_new_secret_opens_only_with_the_current_secret_of_that_device() {
        let current = pairing_key("old-secret");
        let sealed = seal_new_secret("KKAAAA0001", "new-secret", &current).expect("seal");
        assert_eq!(open_new_secret("KKAAAA0001", &sealed, &current).expect("open"), "new-secret");
        assert!(open_new_secret("KKBBBB0002", &sealed, &current).is_err(), "another device");
        assert!(open_new_secret("KKAAAA0001", &sealed, &pairing_key("x")).is_err());
        let bytes = pairing_from_qr_text(&format!("{QR_PREFIX}{sealed}")).expect("base64url");
        assert!(open_pairing(&bytes, &current).is_err(), "not a pairing payload");
    }

    #[test]
    fn the_device_with_the_right_secret_opens_the_payload() {
        let key = pairing_key("device-secret");
        let bytes = seal_pairing(&payload(), &key).expect("seal");
        let back = open_pairing(&bytes, &pairing_key("device-secret")).expect("open");
        assert_eq!(back, payload());
        let via_qr = pairing_from_qr_text(&pairing_qr_text(&bytes)).expect("qr text");
        assert_eq!(via_qr, bytes);
    }

    #[test]
    fn the_wifi_password_is_not_in_the_payload_and_other_keys_fail() {
        let bytes = seal_pairing(&payload(), &pairing_key("device-secret")).expect("seal");
        let needle = b"correct horse";
        assert!(!bytes.windows(needle.len()).any(|w| w == needle));
        assert!(open_pairing(&bytes, &pairing_key("another-device")).is_err());
    }

    #[test]
    fn damaged_payloads_are_refused_without_panicking() {
        let key = pairing_key("s");
        let bytes = seal_pairing(&payload(), &key).expect("seal");
        for cut in 0..bytes.len() {
            assert!(open_pairing(&bytes[..cut], &key).is_err());
        }
        let mut flipped = bytes.clone();
        flipped[20] ^= 1;
        assert!(open_pairing(&flipped, &key).is_err(), "the header is authenticated");
        assert!(pairing_from_qr_text("not a kankan code").is_err());
    }

    #[test]
    fn the_pin_is_carried_and_authenticated() {
        let key = pairing_key("s");
        let bytes = seal_pairing(&payload(), &key).expect("seal");
        assert_eq!(open_pairing(&bytes, &key).expect("open").pin, Some(Pin([7; 32])));
        // fails without the fix: the payload had no pin for the device to hold the server to.
        let at = bytes.windows(32).position(|w| w == [7; 32]).expect("the pin is in the payload");
        let mut swapped = bytes.clone();
        swapped[at] ^= 1;
        assert!(open_pairing(&swapped, &key).is_err(), "a swapped pin does not open");
        let lab = PairingPayload { pin: None, ..payload() };
        let back = open_pairing(&seal_pairing(&lab, &key).expect("seal"), &key).expect("open");
        assert_eq!(back.pin, None);
    }
}
