//! Changing the camera's Wi-Fi while it is bound and online (`wifi-set`): the server seals
//! the new network under this device's pairing key, as at pairing; the device opens it with
//! its own secret, "joins" the network and keeps only its name. The password is used and
//! dropped, never stored or logged; a change sealed for another device is refused.

use kankan_crypto::pairing::{open_wifi, pairing_key};

use crate::SimError;

/// Opens a sealed Wi-Fi change for device `uid` with its current `secret` and joins the
/// network: the SSID to keep. [`SimError::WrongDevice`] when it was not made for this device.
pub fn join_sealed(uid: &str, sealed: &str, secret: &str) -> Result<String, SimError> {
    let net = open_wifi(uid, sealed, &pairing_key(secret)).map_err(|_| SimError::WrongDevice)?;
    // A real device hands the password to its Wi-Fi chip here; the simulator lets it go out
    // of scope with `net`.
    let secured = !net.password.is_empty();
    tracing::info!(uid, ssid = %net.ssid, secured, "joined another Wi-Fi network");
    Ok(net.ssid)
}

#[cfg(test)]
mod tests {
    use kankan_crypto::pairing::seal_wifi;
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_network_round_trips_and_any_damage_is_refused(
            ssid in "[^\\x00-\\x1f]{1,32}", password in "[ -~]{8,63}", flip in any::<usize>(),
        ) {
            prop_assume!(ssid.len() <= 32);
            let key = pairing_key("s1");
            let sealed = seal_wifi("KKCAM00001", &ssid, &password, &key).expect("seal");
            prop_assert_eq!(join_sealed("KKCAM00001", &sealed, "s1").expect("join"), ssid);
            let mut raw = base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD, &sealed).expect("b64");
            let i = flip % raw.len();
            raw[i] ^= 0x01;
            let damaged = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw);
            prop_assert!(join_sealed("KKCAM00001", &damaged, "s1").is_err());
        }

        #[test]
        fn arbitrary_text_never_opens_and_never_panics(text in ".{0,300}") {
            prop_assert!(join_sealed("KKCAM00001", &text, "s1").is_err());
        }
    }

    #[test]
    fn the_device_joins_a_change_sealed_for_it_and_refuses_another_devices() {
        let sealed =
            seal_wifi("KKCAM00001", "Upstairs", "hunter2-wifi", &pairing_key("s1")).expect("seal");
        assert_eq!(join_sealed("KKCAM00001", &sealed, "s1").expect("join"), "Upstairs");
        let e = join_sealed("KKCAM00002", &sealed, "s1").expect_err("another UID");
        assert!(matches!(e, SimError::WrongDevice));
        let e = join_sealed("KKCAM00001", &sealed, "s2").expect_err("another secret");
        assert!(matches!(e, SimError::WrongDevice));
        assert!(join_sealed("KKCAM00001", "not base64 !", "s1").is_err());
    }
}
