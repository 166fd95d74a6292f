//! Devices: factory provisioning, pairing and binding, the device shadow (reported and
//! desired settings, presence), commands with acknowledgements, and unbinding.
//!
//! Boundary: every device access by a person goes through [`Devices::authorize_device`]
//! (see [`crate::authz`]), whose [`DeviceHandle`] is the only way to reach a device's data
//! here; each operation checks the capability it needs on the handle. Device-originated messages
//! arrive through [`Devices::handle_inbound`] with the UID the gateway authenticated.

mod binding;
mod commands;
mod fleet;
mod inbound;
mod network;
mod policy;
mod provision;
mod rotation;
mod rtsp;
mod shadow;
mod sharing;
mod stream_access;
mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use kankan_base::Clocks;
use kankan_crypto::Keyring;
use kankan_db::Store;
use kankan_protocol::device::{ClaimResult, Command, Desired, NewSecret};
use tokio::sync::oneshot;

use kankan_core::{CoreError, KeyVault, Principal};

pub use binding::Pairing;
pub use commands::CommandOutcome;
pub use fleet::{DeviceHealth, HealthReport, RECENT_PROBLEMS};
pub use inbound::InboundKind;
/// The membership history's actions.
pub use kankan_db::MembershipAction;
pub use kankan_db::SupportGrant;
/// Kinds of the rows this crate answers with.
pub use kankan_db::{CommandStatus, DeviceKind};
pub use kankan_db::{DeviceProblem, FleetCount, FleetDevice, FleetFilter};
pub use policy::{DeviceHandle, SharedDevice};
pub use provision::{ProvisionedDevice, RTSP_MODEL};
pub use rotation::RotationStatus;
pub use rtsp::{CamerasConfig, RtspSource};
pub use shadow::{DeviceView, ShadowView};
pub use sharing::{
    InvitationOffer, MemberView, MembershipEntry, NamedDevice, NewInvitation, PendingInvitation,
};
pub use support::{MAX_SUPPORT_DEVICES, MAX_SUPPORT_HOURS};

/// A message for one device, sent through the gateway.
#[derive(Debug, Clone)]
pub enum Outgoing {
    Command(Command),
    /// Retained, so a device that connects later gets it.
    Desired(Desired),
    /// Clears the retained desired settings (an empty retained message, as MQTT defines):
    /// sent when the device is unbound, so that nothing of the previous owner's settings
    /// reaches the device under its next owner.
    ClearDesired,
    ClaimResult(ClaimResult),
    /// The device's next secret, sealed for it (not retained: resent on each connection
    /// until the device confirms it).
    Secret(NewSecret),
}

/// The gateway as the device service sees it.
#[async_trait]
pub trait DeviceBus: Send + Sync + 'static {
    async fn send(&self, uid: &str, msg: Outgoing) -> Result<(), CoreError>;
}

/// The device service. Cheap to clone.
#[derive(Clone)]
pub struct Devices {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Devices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Devices")
    }
}

struct Inner {
    store: Arc<dyn Store>,
    keyring: Keyring,
    vault: KeyVault,
    clock: Clocks,
    bus: Arc<dyn DeviceBus>,
    /// The MQTT address devices are told to use when pairing, and the server key they pin.
    device_server: std::sync::RwLock<(String, Option<kankan_crypto::tls::Pin>)>,
    /// Commands waiting for their acknowledgement, by id.
    waiting: Mutex<HashMap<uuid::Uuid, oneshot::Sender<CommandOutcome>>>,
    /// Marked whenever an RTSP camera is added or a device unbound (the bridge rescans).
    rtsp_changed: tokio::sync::watch::Sender<()>,
    /// Marked whenever an owner changes a device's recording mode (running ingests ask
    /// again at once).
    modes_changed: tokio::sync::watch::Sender<()>,
    /// Where RTSP cameras may be and how many (`[cameras]`).
    cameras: std::sync::RwLock<rtsp::Cameras>,
    /// Throttles adding RTSP cameras, per account.
    limiter: kankan_accounts::risk::RateLimiter,
    /// Told when access to a device ends (unbinding, a grant revoked): open streams end.
    revocations: kankan_core::Revocations,
    /// Outgoing messages: notices to owners about their devices' members.
    outbox: kankan_core::DeliveryQueue,
    /// Whether device secrets are rotated (off with an external broker, which checks device
    /// logins against its own credentials).
    rotation: std::sync::atomic::AtomicBool,
}

impl Devices {
    pub fn new(
        store: Arc<dyn Store>,
        keyring: Keyring,
        clock: Clocks,
        bus: Arc<dyn DeviceBus>,
        device_server: String,
        revocations: kankan_core::Revocations,
        outbox: kankan_core::DeliveryQueue,
    ) -> Self {
        let limiter =
            kankan_accounts::risk::RateLimiter::for_store(clock.clone(), store.clone(), &keyring);
        Devices {
            inner: Arc::new(Inner {
                vault: KeyVault::new(store.clone(), keyring.clone()),
                store,
                keyring,
                clock,
                bus,
                device_server: std::sync::RwLock::new((device_server, None)),
                waiting: Mutex::new(HashMap::new()),
                rtsp_changed: tokio::sync::watch::channel(()).0,
                modes_changed: tokio::sync::watch::channel(()).0,
                cameras: std::sync::RwLock::new(rtsp::Cameras::default()),
                limiter,
                revocations,
                outbox,
                rotation: std::sync::atomic::AtomicBool::new(true),
            }),
        }
    }
}

impl Devices {
    /// Sets the MQTT address put into pairing payloads (known once the gateway listens) and
    /// the pin of the server's TLS key (`None` only for a lab's plain `mqtt://`).
    pub fn set_device_server(&self, address: String, pin: Option<kankan_crypto::tls::Pin>) {
        *self.inner.device_server.write().unwrap_or_else(|p| p.into_inner()) = (address, pin);
    }

    /// Turns device secret rotation on or off (off with an external broker: it checks device
    /// logins against credentials of its own, which the server does not change).
    pub fn set_secret_rotation(&self, on: bool) {
        self.inner.rotation.store(on, std::sync::atomic::Ordering::SeqCst);
    }

    fn device_server(&self) -> (String, Option<kankan_crypto::tls::Pin>) {
        self.inner.device_server.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Checks the shape of a UID: `KK` and 6-30 more uppercase letters or digits.
pub fn valid_uid(uid: &str) -> bool {
    (8..=32).contains(&uid.len())
        && uid.starts_with("KK")
        && uid.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}
