//! Reading a pairing code the way a camera does: a QR code in front of the lens, or the
//! pairing sound through the microphone. The payload is opened with the device's own
//! pairing key; the Wi-Fi password inside is used to "join" the network and then dropped.

use std::path::Path;

use kankan_crypto::pairing::{open_pairing, pairing_from_qr_text, pairing_key, token_text};

use crate::SimError;
use crate::config::{Joined, ServerAddr};

/// Where the pairing code comes from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// A photo of the QR code (PNG or JPEG).
    Qr(&'a Path),
    /// A recording of the pairing sound (RIFF/WAVE).
    Wav(&'a Path),
}

/// The payload bytes in a QR code image.
pub fn payload_from_qr_image(bytes: &[u8]) -> Result<Vec<u8>, SimError> {
    let img =
        image::load_from_memory(bytes).map_err(|e| SimError::UnreadableImage(e.to_string()))?;
    let mut prepared = rqrr::PreparedImage::prepare(img.to_luma8());
    let mut saw_code = false;
    for grid in prepared.detect_grids() {
        let Ok((_meta, text)) = grid.decode() else { continue };
        saw_code = true;
        if let Ok(payload) = pairing_from_qr_text(&text) {
            return Ok(payload);
        }
    }
    Err(if saw_code { SimError::NotAPairingCode } else { SimError::NoQrCode })
}

/// The payload bytes in a recording of the pairing sound.
pub fn payload_from_wav(bytes: &[u8]) -> Result<Vec<u8>, SimError> {
    let (samples, rate) = kankan_sonic::read_wav(bytes)?;
    Ok(kankan_sonic::decode(&samples, rate)?)
}

/// Opens `payload` with the pairing key of the device whose secret is `secret`, "joins" the
/// Wi-Fi network and answers what the device needs next. A payload sealed for another device
/// is [`SimError::WrongDevice`].
pub fn join(payload: &[u8], secret: &str) -> Result<Joined, SimError> {
    let opened = open_pairing(payload, &pairing_key(secret)).map_err(|_| SimError::WrongDevice)?;
    let server = ServerAddr::parse(&opened.server)?;
    // A real device would hand the password to its Wi-Fi chip here. The simulator only checks
    // that there is one and lets it go out of scope: it is never stored or logged.
    let has_password = !opened.wifi_password.is_empty();
    tracing::info!(ssid = %opened.ssid, secured = has_password, "joined Wi-Fi");
    if server.tls && opened.pin.is_none() {
        return Err(SimError::Config(format!(
            "the pairing code names {server} but carries no server key to pin"
        )));
    }
    Ok(Joined {
        token: token_text(&opened.token),
        server,
        ssid: opened.ssid,
        pin: opened.pin,
        rejoin: opened.rejoin,
    })
}

/// Reads `source` and joins with it.
pub fn read_and_join(source: Source<'_>, secret: &str) -> Result<Joined, SimError> {
    let (path, payload) = match source {
        Source::Qr(path) => {
            let bytes = std::fs::read(path).map_err(|e| SimError::io(path, e))?;
            (path, payload_from_qr_image(&bytes))
        }
        Source::Wav(path) => {
            let bytes = std::fs::read(path).map_err(|e| SimError::io(path, e))?;
            (path, payload_from_wav(&bytes))
        }
    };
    let payload = payload?;
    tracing::debug!(path = %path.display(), len = payload.len(), "pairing code read");
    join(&payload, secret)
}

#[cfg(test)]
mod tests {
    use kankan_crypto::pairing::{PairingPayload, seal_pairing};

    use super::*;

    fn sealed(secret: &str) -> Vec<u8> {
        let p = PairingPayload {
            token: [4; 16],
            server: "mqtt://127.0.0.1:1883".into(),
            ssid: "Lab".into(),
            pin: None,
            wifi_password: "hunter2-wifi".into(),
            rejoin: false,
        };
        seal_pairing(&p, &pairing_key(secret)).expect("seal")
    }

    #[test]
    fn the_right_secret_joins_and_keeps_no_password() {
        let joined = join(&sealed("s1"), "s1").expect("join");
        assert_eq!(joined.ssid, "Lab");
        assert_eq!(joined.server.port, 1883);
        assert_eq!(joined.token, token_text(&[4; 16]));
        assert!(!format!("{joined:?}").contains("hunter2"));
    }

    #[test]
    fn another_devices_payload_is_refused_clearly() {
        let e = join(&sealed("s1"), "s2").expect_err("wrong key");
        assert!(matches!(e, SimError::WrongDevice));
        assert!(e.to_string().contains("not made for this device"), "{e}");
    }

    #[test]
    fn garbage_images_and_sounds_are_errors() {
        assert!(matches!(payload_from_qr_image(b"not a png"), Err(SimError::UnreadableImage(_))));
        assert!(matches!(payload_from_wav(b"RIFF...."), Err(SimError::Sound(_))));
    }
}
