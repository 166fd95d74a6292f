//! Glue between the MQTT gateway and the domains: the bus the device service sends through,
//! the authenticator the broker asks, the inbound router that hands each device message to the
//! domain that owns it, and the worker that runs the gateway's lanes through it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use futures_util::FutureExt as _;
use kankan_api::Verdict;
use kankan_core::CoreError;
use kankan_devices::{DeviceBus, Devices, InboundKind, Outgoing};
use kankan_events::Events;
use kankan_gateway::{
    DeviceAuthenticator, DeviceMessage, GatewayHandle, Inbound, Outbound, topics,
};
use kankan_worker::{Step, WorkError, Worker};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// The gateway as a [`DeviceBus`]; unusable until the gateway has started.
#[derive(Default)]
pub struct GatewayBus {
    handle: OnceLock<GatewayHandle>,
}

impl GatewayBus {
    pub fn connect(&self, handle: GatewayHandle) {
        let _ = self.handle.set(handle);
    }

    pub fn handle(&self) -> Option<&GatewayHandle> {
        self.handle.get()
    }
}

#[async_trait]
impl DeviceBus for GatewayBus {
    async fn send(&self, uid: &str, msg: Outgoing) -> Result<(), CoreError> {
        let handle = self
            .handle
            .get()
            .ok_or_else(|| CoreError::GatewayUnavailable("the gateway is not running".into()))?;
        let json = |v: Result<Vec<u8>, serde_json::Error>| {
            v.map_err(|e| CoreError::Internal(format!("encoding a device message: {e}")))
        };
        let (kind, bytes) = match &msg {
            Outgoing::Command(c) => (Outbound::Cmd, json(serde_json::to_vec(c))?),
            Outgoing::Desired(d) => (Outbound::Desired, json(serde_json::to_vec(d))?),
            Outgoing::ClaimResult(r) => (Outbound::ClaimResult, json(serde_json::to_vec(r))?),
            Outgoing::ClearDesired => (Outbound::Desired, Vec::new()),
            Outgoing::Secret(m) => (Outbound::Secret, json(serde_json::to_vec(m))?),
        };
        handle
            .publish(uid, kind, bytes)
            .await
            .map_err(|e| CoreError::GatewayUnavailable(e.to_string()))
    }
}

/// Lets the embedded broker check device secrets.
pub struct Authenticator(pub Devices);

#[async_trait]
impl DeviceAuthenticator for Authenticator {
    async fn authenticate(&self, uid: &str, secret: &str) -> bool {
        self.0.authenticate(uid, secret).await
    }
}

/// Answers an external broker's HTTP authenticator and authorizer with the same rules the
/// embedded broker keeps: a device logs in with its UID (as username and client id) and the
/// secret the server holds, and uses only its own topics; other logins (the nodes' own broker
/// accounts) are left to the broker.
pub struct BrokerDeviceRules(pub Devices);

#[async_trait]
impl kankan_api::BrokerRules for BrokerDeviceRules {
    async fn login(&self, username: &str, password: &str, client_id: Option<&str>) -> Verdict {
        if !topics::is_valid_uid(username) {
            return Verdict::Ignore;
        }
        // A device's session is its own: no client may take it over under its UID.
        if client_id.is_some_and(|c| c != username) {
            return Verdict::Deny;
        }
        if self.0.authenticate(username, password).await { Verdict::Allow } else { Verdict::Deny }
    }

    fn access(&self, username: &str, topic: &str, action: &str) -> Verdict {
        if !topics::is_valid_uid(username) {
            return Verdict::Ignore;
        }
        let allowed = match action {
            "publish" => topics::check_publish(username, topic).is_ok(),
            "subscribe" => topics::may_subscribe(username, topic),
            _ => false,
        };
        if allowed { Verdict::Allow } else { Verdict::Deny }
    }
}

/// The inbound router: hands each device message to the domain that owns it: state,
/// acknowledgements, claims and presence to the device service, events to the events service
/// (which stores them; the dispatch worker notifies). A refused message is counted and
/// logged; it never stops anything.
#[derive(Clone)]
pub struct Router {
    devices: Devices,
    events: Events,
    /// Told of every state report the device service accepted (the firmware's version and
    /// its update's progress).
    firmware: Option<kankan_firmware::Firmware>,
    rejected: Arc<AtomicU64>,
}

impl Router {
    pub fn new(devices: Devices, events: Events, rejected: Arc<AtomicU64>) -> Router {
        Router { devices, events, firmware: None, rejected }
    }

    pub fn with_firmware(mut self, firmware: kankan_firmware::Firmware) -> Router {
        self.firmware = Some(firmware);
        self
    }

    /// A state report the device service accepted, to the firmware service.
    async fn state_to_firmware(&self, uid: &str, payload: &[u8]) -> Result<(), CoreError> {
        let Some(f) = &self.firmware else { return Ok(()) };
        let report: kankan_protocol::device::StateReport = kankan_protocol::device::decode(payload)
            .map_err(|e| CoreError::InvalidDeviceInput(format!("state: {e}")))?;
        f.on_state(uid, &report).await
    }

    pub async fn route(&self, msg: &DeviceMessage) {
        let (uid, payload) = (msg.uid.as_str(), &msg.payload[..]);
        let to_devices = |kind| self.devices.handle_inbound(uid, kind, payload);
        let done = match msg.kind {
            Inbound::Event => self.events.on_device_message(uid, payload).await.map(drop),
            Inbound::State => match to_devices(InboundKind::State).await {
                Ok(()) => self.state_to_firmware(uid, payload).await,
                Err(e) => Err(e),
            },
            Inbound::Ack => to_devices(InboundKind::Ack).await,
            Inbound::Claim => to_devices(InboundKind::Claim).await,
            Inbound::Presence => to_devices(InboundKind::Presence).await,
        };
        if let Err(e) = done {
            self.rejected.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(uid, kind = ?msg.kind, error = %e, "device message refused");
        }
    }
}

/// The gateway's lanes under the supervisor: one task per lane hands that lane's messages to
/// the [`Router`] in order, so a device flooding the gateway, or a write that hangs for one
/// device, holds up only its own lane (1/[`kankan_gateway::LANES`] of the devices) and never
/// another lane's command acknowledgements. A message whose handling panics is dropped and
/// counted; its lane goes on. Done when every lane has closed.
pub struct Pump {
    router: Router,
    /// Lanes not yet started (all of them, until the first step).
    lanes: Vec<mpsc::Receiver<DeviceMessage>>,
    tasks: JoinSet<()>,
}

impl Pump {
    pub fn new(router: Router, lanes: Vec<mpsc::Receiver<DeviceMessage>>) -> Pump {
        Pump { router, lanes, tasks: JoinSet::new() }
    }
}

async fn run_lane(router: Router, mut lane: mpsc::Receiver<DeviceMessage>) {
    while let Some(msg) = lane.recv().await {
        let routed = std::panic::AssertUnwindSafe(router.route(&msg)).catch_unwind().await;
        if routed.is_err() {
            router.rejected.fetch_add(1, Ordering::Relaxed);
            tracing::error!(uid = %msg.uid, kind = ?msg.kind, "handling a device message panicked");
        }
    }
}

impl Worker for Pump {
    fn name(&self) -> &'static str {
        "device-pump"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        for lane in self.lanes.drain(..) {
            self.tasks.spawn(run_lane(self.router.clone(), lane));
        }
        while self.tasks.try_join_next().is_some() {}
        Ok(if self.tasks.is_empty() { Step::Done } else { Step::Idle })
    }

    async fn wait_for_work(&mut self) {
        // A lane ended (its stream closed): the next step counts what is left.
        self.tasks.join_next().await;
    }

    async fn stop(&mut self) {
        // The gateway stops with the server and closes the lanes; what they still hold is
        // handled first, for a few seconds at most.
        let drained = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(std::time::Duration::from_secs(5), drained).await.is_err() {
            tracing::warn!("device lanes still busy at shutdown: stopped");
            self.tasks.abort_all();
        }
    }
}

/// Gateway counters for `/metrics`.
pub fn metrics(handle: GatewayHandle, rejected: Arc<AtomicU64>) -> kankan_api::MetricsSource {
    Box::new(move |out: &mut String| {
        use std::fmt::Write as _;
        let s = handle.stats();
        let rows = [
            ("kankan_mqtt_connected_devices", "gauge", "Devices connected now.", s.connected),
            (
                "kankan_mqtt_messages_in_total",
                "counter",
                "Device messages received.",
                s.messages_in,
            ),
            (
                "kankan_mqtt_messages_out_total",
                "counter",
                "Messages sent to devices.",
                s.messages_out,
            ),
            (
                "kankan_mqtt_rejected_malformed_total",
                "counter",
                "Malformed device messages.",
                s.rejected_malformed,
            ),
            (
                "kankan_mqtt_rejected_oversized_total",
                "counter",
                "Oversized device messages.",
                s.rejected_oversized,
            ),
            (
                "kankan_mqtt_denied_acl_total",
                "counter",
                "Publishes or subscriptions refused by the topic rules.",
                s.denied_acl,
            ),
            (
                "kankan_mqtt_rate_limited_total",
                "counter",
                "Device messages over the device's pace (held back, or dropped on an external broker).",
                s.rate_limited,
            ),
            (
                "kankan_mqtt_auth_failures_total",
                "counter",
                "Refused device logins.",
                s.auth_failures,
            ),
            (
                "kankan_device_messages_refused_total",
                "counter",
                "Device messages the server refused.",
                rejected.load(Ordering::Relaxed),
            ),
        ];
        for (name, kind, help, value) in rows {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        }
    })
}
