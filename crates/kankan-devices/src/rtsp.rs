//! RTSP/ONVIF cameras added by URL: checked by probing them, stored as a device bound to the
//! person who adds it (model [`RTSP_MODEL`]), with the URL and credentials sealed under that
//! account's key. The server's bridge pulls their video with [`Devices::rtsp_sources`].
//!
//! Such a device gets a UID and a random secret like any other, but the secret is never shown
//! to anyone: only its MAC is stored, so nothing can log in as the camera over MQTT or ingest.
//!
//! Camera addresses come from users, so the server connects only where the operator's
//! [`CamerasConfig`] allows ([`kankan_base::net::OutboundPolicy`]: never loopback, link-local
//! or its own addresses; private networks only as `cameras.allowed_networks` says), one
//! account has at most `cameras.max_per_account` of them, and adds are throttled per account
//! (`cameras.adds_per_hour`).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::time::Duration;

use kankan_accounts::RateLimit;
use kankan_base::AccountId;
use kankan_base::net::{OutboundPolicy, RFC1918};
use kankan_crypto::AccountKey;
use kankan_crypto::pairing::{new_device_secret, pairing_key};
use kankan_db::{Device, DeviceKind, RtspCamera};
use serde::{Deserialize, Serialize};

use super::provision::{PAIRING_KEY_PURPOSE, RTSP_MODEL, new_uid};
use super::{DeviceView, Devices};
use crate::{CoreError, Principal};

/// How long adding a camera waits for it to answer.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest username or password accepted for a camera.
pub const MAX_CREDENTIAL_LEN: usize = 128;

/// `[cameras]`: where RTSP cameras may be, and how many.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CamerasConfig {
    /// Private networks cameras may be on (CIDR, or one address). Default: the RFC 1918
    /// ranges, for a household's LAN; `[]` for a public service. Public addresses are always
    /// allowed; loopback, link-local and the server's own addresses only through an entry
    /// naming them specifically (`127.0.0.1/32`, for a lab), unspecified ones never.
    pub allowed_networks: Vec<String>,
    /// RTSP cameras one account may have (1-1000).
    pub max_per_account: u32,
    /// Cameras one account may try to add in an hour, refused ones included (1-1000).
    pub adds_per_hour: u32,
}

impl Default for CamerasConfig {
    fn default() -> Self {
        CamerasConfig {
            allowed_networks: RFC1918.map(String::from).to_vec(),
            max_per_account: 16,
            adds_per_hour: 20,
        }
    }
}

impl CamerasConfig {
    pub fn validate(&self) -> Result<(), String> {
        self.policy().map_err(|e| format!("cameras.allowed_networks: {e}"))?;
        if !(1..=1000).contains(&self.max_per_account) {
            return Err("cameras.max_per_account must be 1-1000".into());
        }
        if !(1..=1000).contains(&self.adds_per_hour) {
            return Err("cameras.adds_per_hour must be 1-1000".into());
        }
        Ok(())
    }

    /// The address policy `allowed_networks` describes.
    pub fn policy(&self) -> Result<OutboundPolicy, String> {
        OutboundPolicy::parse(&self.allowed_networks)
    }
}

/// The `[cameras]` configuration with its policy parsed.
pub(crate) struct Cameras {
    pub(crate) config: CamerasConfig,
    pub(crate) policy: OutboundPolicy,
}

impl Default for Cameras {
    fn default() -> Self {
        let config = CamerasConfig::default();
        let policy = config.policy().unwrap_or_default();
        Cameras { config, policy }
    }
}

/// A camera the bridge should record.
#[derive(Debug, Clone)]
pub struct RtspSource {
    pub uid: String,
    pub owner: AccountId,
    pub source: kankan_rtsp::Source,
}

/// What `source_enc` holds, as JSON.
#[derive(Serialize, Deserialize)]
struct Stored {
    url: String,
    username: Option<String>,
    password: Option<String>,
}

fn field(uid: &str) -> String {
    format!("rtsp-source/{uid}")
}

fn camera_error(e: kankan_rtsp::RtspError) -> CoreError {
    CoreError::Camera { code: e.code(), message: e.to_string() }
}

fn camera_limit(max: u32) -> CoreError {
    CoreError::LimitReached {
        code: "camera-limit-reached",
        message: format!("an account has at most {max} RTSP cameras; remove one to add another"),
    }
}

fn check_credential(what: &str, v: Option<&str>) -> Result<(), CoreError> {
    match v {
        Some(v) if v.chars().count() > MAX_CREDENTIAL_LEN || v.chars().any(char::is_control) => {
            Err(CoreError::InvalidDeviceInput(format!(
                "a camera {what} has at most {MAX_CREDENTIAL_LEN} characters and no control \
                 characters"
            )))
        }
        _ => Ok(()),
    }
}

fn check_name(name: &str) -> Result<&str, CoreError> {
    let name = name.trim();
    let max = super::shadow::MAX_NAME;
    if name.is_empty() || name.chars().count() > max || name.chars().any(char::is_control) {
        return Err(CoreError::InvalidDeviceInput(format!("a device name has 1-{max} characters")));
    }
    Ok(name)
}

impl Devices {
    /// Adds an RTSP camera to the caller's account: checks the input, probes the camera (it
    /// must answer with H.264 video within [`PROBE_TIMEOUT`]), then stores it bound to the
    /// caller. The bridge starts recording it at once.
    pub async fn add_rtsp_camera(
        &self,
        p: &Principal,
        name: &str,
        url: &str,
        username: Option<&str>,
        password: Option<&str>,
    ) -> Result<DeviceView, CoreError> {
        let s = &self.inner;
        let (policy, max, adds_per_hour) = {
            let c = s.cameras.read().unwrap_or_else(|p| p.into_inner());
            (c.policy.clone(), c.config.max_per_account, c.config.adds_per_hour)
        };
        let limit = RateLimit { count: adds_per_hour, per_secs: 3600 };
        s.limiter.check(&format!("rtsp-add:{}", p.account_id), limit).await?;
        let name = check_name(name)?;
        check_credential("username", username)?;
        check_credential("password", password)?;
        let source = kankan_rtsp::Source::new(url, username, password).map_err(camera_error)?;
        let key = self.key_of(p).await?;
        let info =
            kankan_rtsp::probe(&source, PROBE_TIMEOUT, &policy).await.map_err(camera_error)?;
        let uid = new_uid()?;
        let secret = new_device_secret()?;
        let now = s.clock.now();
        let device = Device {
            uid: uid.clone(),
            model: RTSP_MODEL.to_string(),
            kind: DeviceKind::Camera,
            secret_mac: s.keyring.device_secret_mac(&uid, &secret).to_vec(),
            pairing_key_enc: s.keyring.seal_server_data(
                &format!("{PAIRING_KEY_PURPOSE}/{uid}"),
                &pairing_key(&secret).to_bytes(),
            )?,
            batch: "rtsp".into(),
            provisioned_at: now,
            owner: Some(p.account_id),
            name_enc: Some(key.seal(&format!("device-name/{uid}"), name.as_bytes())?),
            bound_at: Some(now),
        };
        let stored = Stored {
            url: source.url.clone(),
            username: source.username.clone(),
            password: source.password.clone(),
        };
        let json = serde_json::to_vec(&stored).map_err(|e| CoreError::Internal(e.to_string()))?;
        let camera = RtspCamera {
            uid: uid.clone(),
            owner: p.account_id,
            source_enc: key.seal(&field(&uid), &json)?,
            created_at: now,
        };
        if !s.store.insert_rtsp_camera(&device, &camera, max).await? {
            return Err(camera_limit(max));
        }
        tracing::info!(uid, codec = info.codec, width = ?info.width, height = ?info.height,
            "RTSP camera added");
        s.rtsp_changed.send_modify(|()| {});
        let h = self.owner_handle(device, key, p.account_id);
        self.view(&h).await
    }

    /// Every bound RTSP camera with its source opened. A camera whose source cannot be
    /// opened is logged and left out, never stopping the others.
    pub async fn rtsp_sources(&self) -> Result<Vec<RtspSource>, CoreError> {
        let s = &self.inner;
        let mut keys: HashMap<AccountId, Option<AccountKey>> = HashMap::new();
        let mut out = Vec::new();
        for cam in s.store.rtsp_cameras().await? {
            let key = match keys.entry(cam.owner) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(v) => v.insert(s.vault.account_key(cam.owner).await?),
            };
            let Some(key) = key else { continue };
            let opened = key
                .open(&field(&cam.uid), &cam.source_enc)
                .map_err(CoreError::from)
                .and_then(|j| {
                    serde_json::from_slice::<Stored>(&j)
                        .map_err(|e| CoreError::Internal(format!("stored RTSP source: {e}")))
                });
            match opened {
                Ok(st) => out.push(RtspSource {
                    uid: cam.uid,
                    owner: cam.owner,
                    source: kankan_rtsp::Source {
                        url: st.url,
                        username: st.username,
                        password: st.password,
                    },
                }),
                Err(e) => tracing::error!(uid = cam.uid, error = %e, "RTSP camera source"),
            }
        }
        Ok(out)
    }

    /// Sets where cameras may be and how many (`[cameras]`; the defaults until called).
    pub fn set_cameras_config(&self, config: CamerasConfig) -> Result<(), String> {
        let policy = config.policy()?;
        *self.inner.cameras.write().unwrap_or_else(|p| p.into_inner()) = Cameras { config, policy };
        Ok(())
    }

    /// Where the bridge may connect to record cameras (checked again at each connection).
    pub fn camera_policy(&self) -> OutboundPolicy {
        self.inner.cameras.read().unwrap_or_else(|p| p.into_inner()).policy.clone()
    }

    /// Changes whenever an RTSP camera may have been added or removed.
    pub fn rtsp_changes(&self) -> tokio::sync::watch::Receiver<()> {
        self.inner.rtsp_changed.subscribe()
    }

    /// Marks an RTSP camera online (streaming) or offline, for the device list.
    pub async fn set_rtsp_online(&self, uid: &str, online: bool) -> Result<(), CoreError> {
        let s = &self.inner;
        Ok(s.store.set_presence(uid, online, s.clock.now()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_credentials_are_checked() {
        assert_eq!(check_name("  Porch ").expect("ok"), "Porch");
        assert!(check_name("").is_err());
        assert!(check_name(&"x".repeat(41)).is_err());
        assert!(check_name("a\u{0}b").is_err());
        assert!(check_credential("password", None).is_ok());
        assert!(check_credential("password", Some("s3cret!")).is_ok());
        assert!(check_credential("password", Some(&"p".repeat(129))).is_err());
        assert!(check_credential("username", Some("ad\nmin")).is_err());
    }
}
