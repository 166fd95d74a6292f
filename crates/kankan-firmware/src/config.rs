//! `[firmware]`: the operator's public key, the largest image, the rollout worker's pace.

/// `[firmware]`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FirmwareConfig {
    /// The operator's Ed25519 public key (base64url, from `kankan firmware keygen`): only
    /// images signed with its private key are stored and offered. Empty: firmware updates are
    /// off (uploads answer `firmware-not-configured`).
    pub public_key: String,
    /// The largest image accepted, in MiB (1-2048).
    pub max_image_mib: u32,
    /// How often the rollout worker offers images, in seconds (1-3600).
    pub rollout_tick_secs: u64,
    /// The most offers one tick sends, across rollouts (1-10000).
    pub rollout_batch: u32,
    /// No new offers while this many updates are under way (1-100000).
    pub max_in_flight: u32,
}

impl Default for FirmwareConfig {
    fn default() -> Self {
        FirmwareConfig {
            public_key: String::new(),
            max_image_mib: 64,
            rollout_tick_secs: 10,
            rollout_batch: 50,
            max_in_flight: 500,
        }
    }
}

impl FirmwareConfig {
    /// Firmware updates are on (a public key is set).
    pub fn enabled(&self) -> bool {
        !self.public_key.trim().is_empty()
    }

    /// The largest image in bytes.
    pub fn max_image_bytes(&self) -> usize {
        usize::try_from(u64::from(self.max_image_mib) * 1024 * 1024).unwrap_or(usize::MAX)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.enabled() {
            // A signature of nothing must be refused for a well-formed key, not for the key.
            match kankan_crypto::firmware::verify(&self.public_key, "m", "v", "00", "AA") {
                Err(kankan_crypto::CryptoError::BadSignature) => {}
                _ => {
                    return Err("firmware.public_key must be an Ed25519 public key in \
                                base64url (kankan firmware keygen prints it)"
                        .into());
                }
            }
        }
        let ranges = [
            ("max_image_mib", u64::from(self.max_image_mib), 1, 2048),
            ("rollout_tick_secs", self.rollout_tick_secs, 1, 3600),
            ("rollout_batch", u64::from(self.rollout_batch), 1, 10_000),
            ("max_in_flight", u64::from(self.max_in_flight), 1, 100_000),
        ];
        for (name, v, lo, hi) in ranges {
            if !(lo..=hi).contains(&v) {
                return Err(format!("firmware.{name} must be {lo}-{hi}, not {v}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_must_be_an_ed25519_public_key_and_the_pace_in_range() {
        assert!(FirmwareConfig::default().validate().is_ok(), "off by default");
        assert!(!FirmwareConfig::default().enabled());
        let key = kankan_crypto::firmware::SigningKey::generate().expect("key").0;
        let on = FirmwareConfig { public_key: key.public_key(), ..FirmwareConfig::default() };
        assert!(on.validate().is_ok() && on.enabled());
        for bad in ["not base64!", "AAAA", "c2hvcnQ"] {
            let c = FirmwareConfig { public_key: bad.into(), ..FirmwareConfig::default() };
            assert!(c.validate().is_err(), "{bad}");
        }
        let c = FirmwareConfig { rollout_batch: 0, ..on.clone() };
        assert!(c.validate().expect_err("batch").contains("rollout_batch"));
        let c = FirmwareConfig { max_image_mib: 4096, ..on };
        assert!(c.validate().expect_err("size").contains("max_image_mib"));
    }
}
