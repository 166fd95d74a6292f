//! Pairing a device to an account: a single-use bind token, carried to the device with the
//! Wi-Fi credentials by QR code or by sound, and claimed by the device over MQTT.

use std::io::Cursor;
use std::time::Duration;

use kankan_base::Timestamp;
use kankan_crypto::TokenHash;
use kankan_crypto::pairing::{PairingPayload, pairing_qr_text, seal_pairing, token_text};
use kankan_db::BindToken;

use super::Devices;
use crate::{CoreError, Principal};

/// How long a bind token may be claimed.
pub const TOKEN_TTL: Duration = Duration::from_secs(10 * 60);

/// What the app shows the device: the same payload as a QR code and as sound.
#[derive(Clone)]
pub struct Pairing {
    pub uid: String,
    pub expires_at: Timestamp,
    /// The QR code's text (`KKP1:...`).
    pub qr_text: String,
    /// The QR code as a PNG image.
    pub qr_png: Vec<u8>,
    /// The sound-wave signal as a WAV file.
    pub wav: Vec<u8>,
}

impl std::fmt::Debug for Pairing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pairing").field("uid", &self.uid).finish_non_exhaustive()
    }
}

pub(crate) fn check_wifi(ssid: &str, password: &str) -> Result<(), CoreError> {
    let bad = |m: &str| Err(CoreError::InvalidDeviceInput(m.to_string()));
    if ssid.is_empty() || ssid.len() > 32 {
        return bad("the Wi-Fi name (SSID) has 1-32 bytes");
    }
    if !password.is_empty() && !(8..=63).contains(&password.len()) {
        return bad("a Wi-Fi (WPA2) password has 8-63 characters, or none for an open network");
    }
    if ssid.chars().chain(password.chars()).any(char::is_control) {
        return bad("Wi-Fi name and password may not hold control characters");
    }
    Ok(())
}

fn qr_png(text: &str) -> Result<Vec<u8>, CoreError> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
        .map_err(|e| CoreError::Internal(format!("QR code: {e}")))?;
    let img = code.render::<image::Luma<u8>>().module_dimensions(6, 6).quiet_zone(true).build();
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .map_err(|e| CoreError::Internal(format!("QR image: {e}")))?;
    Ok(out)
}

impl Devices {
    /// Starts pairing `uid` to the caller's account with the given Wi-Fi network.
    pub async fn start_pairing(
        &self,
        p: &Principal,
        uid: &str,
        ssid: &str,
        wifi_password: &str,
    ) -> Result<Pairing, CoreError> {
        let s = &self.inner;
        check_wifi(ssid, wifi_password)?;
        let uid = uid.trim().to_ascii_uppercase();
        if !super::valid_uid(&uid) {
            return Err(CoreError::InvalidDeviceInput(
                "the UID on the device label starts with KK and has 8-32 letters and digits".into(),
            ));
        }
        // An unknown UID and a bound one answer alike, so that nobody learns from pairing
        // which UIDs exist or are in use (the owner sees its devices in its list).
        let device = s.store.device(&uid).await?.ok_or(CoreError::DeviceNotFound)?;
        if device.owner.is_some() {
            return Err(CoreError::DeviceNotFound);
        }
        self.issue_code(p, &device, ssid, wifi_password, false).await
    }

    /// A single-use bind token for `device`, held for `p`'s account, and the payload that
    /// carries it with the Wi-Fi network, sealed for the device and rendered as a QR code and
    /// as sound. `rejoin`: the device is already bound to `p`'s account and keeps its binding.
    pub(crate) async fn issue_code(
        &self,
        p: &Principal,
        device: &kankan_db::Device,
        ssid: &str,
        wifi_password: &str,
        rejoin: bool,
    ) -> Result<Pairing, CoreError> {
        let s = &self.inner;
        let uid = device.uid.clone();
        let token: [u8; 16] = kankan_crypto::random_bytes(16)?
            .try_into()
            .map_err(|_| CoreError::Internal("random source gave the wrong length".into()))?;
        let now = s.clock.now();
        let expires_at = now.plus(TOKEN_TTL);
        let row = BindToken {
            token_hash: TokenHash::of(&token_text(&token)).0,
            account_id: p.account_id,
            uid: uid.clone(),
            created_at: now,
            expires_at,
        };
        s.store.insert_bind_token(&row).await?;
        let (server, pin) = self.device_server();
        let payload = PairingPayload {
            token,
            server,
            pin,
            ssid: ssid.to_string(),
            wifi_password: wifi_password.to_string(),
            rejoin,
        };
        let bytes = seal_pairing(&payload, &self.pairing_key_of(device)?)?;
        let qr_text = pairing_qr_text(&bytes);
        let (qr_png, wav) = {
            let text = qr_text.clone();
            tokio::task::spawn_blocking(move || -> Result<_, CoreError> {
                let samples = kankan_sonic::encode(&bytes, &kankan_sonic::ModemConfig::default())
                    .map_err(|e| CoreError::Internal(format!("sound signal: {e}")))?;
                let rate = kankan_sonic::ModemConfig::default().sample_rate;
                Ok((qr_png(&text)?, kankan_sonic::write_wav(&samples, rate)))
            })
            .await
            .map_err(|e| CoreError::Internal(format!("pairing task: {e}")))??
        };
        Ok(Pairing { uid, expires_at, qr_text, qr_png, wav })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wifi_credentials_are_checked() {
        assert!(check_wifi("Home", "").is_ok());
        assert!(check_wifi("Home", "12345678").is_ok());
        assert!(check_wifi("", "12345678").is_err());
        assert!(check_wifi(&"x".repeat(33), "12345678").is_err());
        assert!(check_wifi("Home", "short").is_err());
        assert!(check_wifi("Home", &"p".repeat(64)).is_err());
        assert!(check_wifi("Ho\nme", "12345678").is_err());
    }
}
