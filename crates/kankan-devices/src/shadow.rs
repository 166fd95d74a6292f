//! The device shadow: what the device reported, what its owner wants, whether they agree.

use kankan_base::{AccountId, Timestamp};
use kankan_db::DeviceKind;
use kankan_protocol::device::{Desired, Settings, StateReport};

use super::{DeviceHandle, Devices, Outgoing};
use crate::{CoreError, Principal};
use kankan_core::authz::{Capability, CapabilitySet};

/// Reported and desired state.
#[derive(Debug, Clone)]
pub struct ShadowView {
    pub online: bool,
    pub last_seen: Option<Timestamp>,
    pub reported: Option<StateReport>,
    pub reported_at: Option<Timestamp>,
    pub reported_version: u64,
    pub desired: Option<Settings>,
    pub desired_version: u64,
}

impl ShadowView {
    /// The device runs the settings its owner last asked for.
    pub fn in_sync(&self) -> bool {
        self.reported_version >= self.desired_version
    }
}

/// A device as its owner sees it.
#[derive(Debug, Clone)]
pub struct DeviceView {
    pub uid: String,
    pub model: String,
    pub kind: DeviceKind,
    pub name: Option<String>,
    pub bound_at: Option<Timestamp>,
    pub shadow: ShadowView,
    /// The requester owns it (else it is a member).
    pub owned: bool,
    /// What the requester may do with it now.
    pub held: CapabilitySet,
    /// The owner's nickname, when the requester is a member.
    pub shared_by: Option<String>,
}

pub(super) const MAX_NAME: usize = 40;

/// The settings' recording mode as the store keeps it.
fn store_mode(m: kankan_protocol::device::RecordingMode) -> kankan_db::RecordingMode {
    use kankan_protocol::device::RecordingMode as Wire;
    match m {
        Wire::Continuous => kankan_db::RecordingMode::Continuous,
        Wire::Events => kankan_db::RecordingMode::Events,
        Wire::CardOnly => kankan_db::RecordingMode::CardOnly,
    }
}

impl Devices {
    async fn view_of(&self, h: &DeviceHandle) -> Result<DeviceView, CoreError> {
        let s = &self.inner;
        let d = &h.device;
        let st = s.store.device_state(&d.uid).await?.unwrap_or_default();
        let open_json =
            |field: String, enc: &Option<Vec<u8>>| -> Result<Option<Vec<u8>>, CoreError> {
                enc.as_deref().map(|e| h.key.open(&field, e)).transpose().map_err(CoreError::from)
            };
        // People see the device identifiers only masked (privacy promise 13).
        let reported = open_json(format!("device-reported/{}", d.uid), &st.reported_enc)?
            .map(|j| serde_json::from_slice::<StateReport>(&j))
            .transpose()
            .map_err(|e| CoreError::Internal(format!("stored report: {e}")))?
            .map(StateReport::with_identifiers_masked);
        let desired = open_json(format!("device-desired/{}", d.uid), &st.desired_enc)?
            .map(|j| serde_json::from_slice::<Settings>(&j))
            .transpose()
            .map_err(|e| CoreError::Internal(format!("stored settings: {e}")))?;
        let name = d
            .name_enc
            .as_deref()
            .map(|n| h.key.open_string(&format!("device-name/{}", d.uid), n))
            .transpose()?;
        let owner = d.owner.ok_or(CoreError::DeviceNotFound)?;
        let owned = owner == h.principal;
        let (held, shared_by) = if owned {
            (CapabilitySet::all(), None)
        } else {
            let held = self.granted_to(&d.uid, owner, h.principal).await?;
            (held, Some(self.nickname_of(owner).await?))
        };
        Ok(DeviceView {
            uid: d.uid.clone(),
            model: d.model.clone(),
            kind: d.kind,
            name,
            bound_at: d.bound_at,
            shadow: ShadowView {
                online: st.online,
                last_seen: st.last_seen,
                reported,
                reported_at: st.reported_at,
                reported_version: st.reported_version,
                desired,
                desired_version: st.desired_version,
            },
            owned,
            held,
            shared_by,
        })
    }

    /// One device, through its handle (`view`).
    pub async fn view(&self, h: &DeviceHandle) -> Result<DeviceView, CoreError> {
        h.require(Capability::View)?;
        self.view_of(h).await
    }

    /// The SIM card the device last reported, its ICCID whole (a 4G top-up needs it; people
    /// are shown it masked), with its usage counters; `None` for a device without one.
    pub async fn sim_card(
        &self,
        h: &DeviceHandle,
    ) -> Result<Option<kankan_protocol::device::SimCard>, CoreError> {
        // Whoever sees the device, or its owner buying data for it.
        if h.require(Capability::View).is_err() {
            h.require(Capability::ManageRecordings)?;
        }
        let st = self.inner.store.device_state(&h.device.uid).await?.unwrap_or_default();
        let Some(enc) = st.reported_enc.as_deref() else { return Ok(None) };
        let json = h.key.open(&format!("device-reported/{}", h.device.uid), enc)?;
        let report: StateReport = serde_json::from_slice(&json)
            .map_err(|e| CoreError::Internal(format!("stored report: {e}")))?;
        Ok(report.sim)
    }

    /// The device's name, for what the requester saves of it (an Album item).
    pub fn name_of(&self, h: &DeviceHandle) -> Result<Option<String>, CoreError> {
        let d = &h.device;
        let name = d.name_enc.as_deref();
        Ok(name.map(|n| h.key.open_string(&format!("device-name/{}", d.uid), n)).transpose()?)
    }

    /// Every device bound to the caller, then those shared with it that it may `view` now.
    /// The first query selects by owner, who holds every capability (the account key is
    /// unwrapped once for all of them); each shared device is decided like any access.
    pub async fn list(&self, p: &Principal) -> Result<Vec<DeviceView>, CoreError> {
        let s = &self.inner;
        let key = self.key_of(p).await?;
        let mut out = Vec::new();
        for device in s.store.devices_of(p.account_id).await? {
            let h = self.owner_handle(device, key.clone(), p.account_id);
            out.push(self.view_of(&h).await?);
        }
        for shared in self.shared_with(p.account_id).await? {
            match self.authorize_device(p, Capability::View, &shared.uid).await {
                Ok(h) => out.push(self.view_of(&h).await?),
                Err(CoreError::DeviceNotFound) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Renames the device (`change-settings`).
    pub async fn rename(&self, h: &DeviceHandle, name: &str) -> Result<DeviceView, CoreError> {
        h.require(Capability::ChangeSettings)?;
        let s = &self.inner;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME || name.chars().any(char::is_control)
        {
            return Err(CoreError::InvalidDeviceInput(format!(
                "a device name has 1-{MAX_NAME} characters"
            )));
        }
        let owner = h.device.owner.ok_or(CoreError::DeviceNotFound)?;
        let enc = h.key.seal(&format!("device-name/{}", h.device.uid), name.as_bytes())?;
        s.store.set_device_name(&h.device.uid, owner, &enc).await?;
        // The answer shows the new name (the handle holds the device as it was read).
        let mut renamed = h.clone();
        renamed.device.name_enc = Some(enc);
        self.view_of(&renamed).await
    }

    /// Stores new settings as the desired state and sends them (retained;
    /// `change-settings`). Changing the recording mode also needs `manage-recordings`, which
    /// only the owner holds: a member's settings must carry the mode in force
    /// (`recording-mode-owner-only` otherwise), checked again in the store's update; so must
    /// its `ai_descriptions` (`ai-descriptions-owner-only`), `familiar_faces` and
    /// `stranger_alerts` (`familiar-faces-owner-only`).
    pub async fn set_settings(
        &self,
        h: &DeviceHandle,
        settings: Settings,
    ) -> Result<DeviceView, CoreError> {
        h.require(Capability::ChangeSettings)?;
        let s = &self.inner;
        settings
            .validate()
            .map_err(|e| CoreError::InvalidSettings { code: e.code, message: e.message })?;
        let uid = &h.device.uid;
        let mode = store_mode(settings.recording_mode);
        let current = s.store.device_state(uid).await?.unwrap_or_default().recording_mode;
        let may_change =
            match self.authorize_account(h.principal, Capability::ManageRecordings, uid).await {
                Ok(_) => true,
                Err(CoreError::DeviceNotFound) => false,
                Err(e) => return Err(e),
            };
        if mode != current && !may_change {
            return Err(CoreError::RecordingModeOwnerOnly);
        }
        // Processing under the owner's own consent is the owner's to switch: AI descriptions
        // send the owner's pictures to a third party, familiar faces keep templates of faces
        // and alert on strangers.
        if h.device.owner != Some(h.principal) {
            let now = self.stored_desired(uid).await?.map(|d| d.settings).unwrap_or_default();
            let faces = |s: &Settings| (s.familiar_faces, s.stranger_alerts);
            for (changed, code, what) in [
                (
                    settings.ai_descriptions != now.ai_descriptions,
                    "ai-descriptions-owner-only",
                    "AI descriptions",
                ),
                (faces(&settings) != faces(&now), "familiar-faces-owner-only", "familiar faces"),
            ] {
                if changed {
                    return Err(CoreError::InvalidSettings {
                        code,
                        message: format!("only the camera's owner turns {what} on or off"),
                    });
                }
            }
        }
        let json = serde_json::to_vec(&settings).map_err(|e| CoreError::Internal(e.to_string()))?;
        let enc = h.key.seal(&format!("device-desired/{uid}"), &json)?;
        let now = s.clock.now();
        let version = s
            .store
            .set_desired(uid, &enc, mode, !may_change, now)
            .await?
            .ok_or(CoreError::RecordingModeOwnerOnly)?;
        if mode != current {
            tracing::info!(%uid, mode = mode.as_str(), "recording mode changed");
            s.modes_changed.send_modify(|()| {});
        }
        s.bus.send(uid, Outgoing::Desired(Desired { version, settings })).await?;
        self.view_of(h).await
    }

    /// Marked whenever an owner changes a device's recording mode on this node.
    pub fn recording_modes_changed(&self) -> tokio::sync::watch::Receiver<()> {
        self.inner.modes_changed.subscribe()
    }

    /// Unbinds the device and deletes everything recorded about it (state, events and their
    /// deliveries, notification preferences, recordings, grants) and the broker's retained
    /// settings for it (`unbind`: the owner only).
    pub async fn unbind(&self, h: &DeviceHandle) -> Result<(), CoreError> {
        h.require(Capability::Unbind)?;
        let owner = h.device.owner.ok_or(CoreError::DeviceNotFound)?;
        if self.unbind_of(&h.device.uid, owner).await? {
            Ok(())
        } else {
            Err(CoreError::DeviceNotFound)
        }
    }

    /// An account's deletion: unbinds every device it owns, as [`Devices::unbind`] does (its
    /// members' access ends, its recordings, events and keys are deleted, the broker forgets
    /// its settings). Each device is one store transaction, so a purge cut short resumes where
    /// it stopped. Answers how many were unbound now.
    pub async fn forget_account(&self, account: AccountId) -> Result<u64, CoreError> {
        let mut n = 0;
        for d in self.inner.store.devices_of(account).await? {
            if self.unbind_of(&d.uid, account).await? {
                n += 1;
            }
        }
        Ok(n)
    }

    async fn unbind_of(&self, uid: &str, owner: AccountId) -> Result<bool, CoreError> {
        let s = &self.inner;
        if !s.store.unbind_device(uid, owner).await? {
            return Ok(false);
        }
        // Whoever watches or talks through it (the owner, accounts it was shared with) stops
        // now; an RTSP camera's bridge task stops.
        s.revocations.revoke(&kankan_core::Revoke::Device { uid: uid.to_string() });
        s.rtsp_changed.send_modify(|()| {});
        // The broker forgets the owner's settings (an embedded broker's copy would go with a
        // restart; an external broker keeps it until told).
        if let Err(e) = s.bus.send(uid, Outgoing::ClearDesired).await {
            tracing::warn!(uid = %uid, error = %e, "retained settings not cleared");
        }
        Ok(true)
    }
}
