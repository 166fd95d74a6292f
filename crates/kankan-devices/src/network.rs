//! A bound device's network ("network settings"): a new Wi-Fi network sent to a camera that is
//! online, sealed for it as at pairing (`wifi-set`), or, for a camera that lost its network, a
//! new QR/sound code whose single-use *rejoin* token claims the device for the account it is
//! already bound to. Either way the device keeps its owner, settings and recordings; the
//! Wi-Fi password is sealed for the device and never stored or logged here.

use std::time::Duration;

use kankan_core::authz::Capability;
use kankan_crypto::pairing::seal_wifi;
use kankan_protocol::device::CommandKind;

use super::binding::check_wifi;
use super::{CommandOutcome, DeviceHandle, Devices, Pairing};
use crate::{CoreError, Principal};

impl Devices {
    /// Sends the device a new Wi-Fi network (`change-settings`): the SSID and password sealed
    /// under its pairing key, so only the device opens them; the commands table keeps only
    /// that a `wifi-set` was sent. A device offline now is `DeviceOffline`: it cannot be told
    /// (show it a rejoin code instead, [`Devices::rejoin_code`]).
    pub async fn set_wifi(
        &self,
        h: &DeviceHandle,
        ssid: &str,
        password: &str,
        wait: Duration,
    ) -> Result<CommandOutcome, CoreError> {
        h.require(Capability::ChangeSettings)?;
        check_wifi(ssid, password)?;
        let s = &self.inner;
        if h.is_rtsp() {
            return Err(CoreError::InvalidCommand("an RTSP camera's network is its own".into()));
        }
        let online = s.store.device_state(h.uid()).await?.is_some_and(|st| st.online);
        if !online {
            return Err(CoreError::DeviceOffline);
        }
        let device = s.store.device(h.uid()).await?.ok_or(CoreError::DeviceNotFound)?;
        let sealed = seal_wifi(h.uid(), ssid, password, &self.pairing_key_of(&device)?)?;
        self.send_command(h, CommandKind::WifiSet { sealed }, wait).await
    }

    /// A pairing code for the caller's own bound device that lost its network: the same QR
    /// code and sound as pairing, carrying the new Wi-Fi network and a single-use rejoin token
    /// that expires like a bind token. The device claims it while bound to this account and
    /// keeps its binding. The owner only (`unbind`, which no member is ever granted).
    pub async fn rejoin_code(
        &self,
        p: &Principal,
        h: &DeviceHandle,
        ssid: &str,
        password: &str,
    ) -> Result<Pairing, CoreError> {
        h.require(Capability::Unbind)?;
        check_wifi(ssid, password)?;
        if h.is_rtsp() || h.account() != p.account_id {
            return Err(CoreError::DeviceNotFound);
        }
        let device = self.inner.store.device(h.uid()).await?.ok_or(CoreError::DeviceNotFound)?;
        if device.owner != Some(p.account_id) {
            return Err(CoreError::DeviceNotFound);
        }
        self.issue_code(p, &device, ssid, password, true).await
    }
}
