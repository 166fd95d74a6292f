//! Glue between the MQTT gateway and the device service: the bus the service sends through,
//! the authenticator the broker asks, and the worker that hands device messages to the service.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use kankan_core::CoreError;
use kankan_core::devices::{DeviceBus, Devices, InboundKind, Outgoing};
use kankan_gateway::{DeviceAuthenticator, DeviceMessage, GatewayHandle, Inbound, Outbound};
use kankan_worker::{Step, WorkError, Worker};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;

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

fn kind_of(k: Inbound) -> InboundKind {
    match k {
        Inbound::State => InboundKind::State,
        Inbound::Event => InboundKind::Event,
        Inbound::Ack => InboundKind::Ack,
        Inbound::Claim => InboundKind::Claim,
        Inbound::Presence => InboundKind::Presence,
    }
}

/// Hands every device message to the service, as a worker. A bad message is counted,
/// logged and dropped; it never stops the pump. Done when the gateway's stream ends.
pub struct Pump {
    devices: Devices,
    messages: mpsc::Receiver<DeviceMessage>,
    rejected: Arc<std::sync::atomic::AtomicU64>,
    /// Received while waiting for work.
    next: Option<DeviceMessage>,
}

impl Pump {
    pub fn new(
        devices: Devices,
        messages: mpsc::Receiver<DeviceMessage>,
        rejected: Arc<std::sync::atomic::AtomicU64>,
    ) -> Pump {
        Pump { devices, messages, rejected, next: None }
    }
}

impl Worker for Pump {
    fn name(&self) -> &'static str {
        "device-pump"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        let msg = match self.next.take().map_or_else(|| self.messages.try_recv(), Ok) {
            Ok(m) => m,
            Err(TryRecvError::Empty) => return Ok(Step::Idle),
            Err(TryRecvError::Disconnected) => return Ok(Step::Done),
        };
        let kind = kind_of(msg.kind);
        if let Err(e) = self.devices.handle_inbound(&msg.uid, kind, &msg.payload).await {
            self.rejected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(uid = %msg.uid, kind = ?msg.kind, error = %e, "device message refused");
        }
        Ok(Step::Busy)
    }

    async fn wait_for_work(&mut self) {
        // None: the stream ended, which the next step sees.
        self.next = self.messages.recv().await;
    }
}

/// Gateway counters for `/metrics`.
pub fn metrics(
    handle: GatewayHandle,
    rejected: Arc<std::sync::atomic::AtomicU64>,
) -> kankan_api::MetricsSource {
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
                "kankan_mqtt_auth_failures_total",
                "counter",
                "Refused device logins.",
                s.auth_failures,
            ),
            (
                "kankan_device_messages_refused_total",
                "counter",
                "Device messages the server refused.",
                rejected.load(std::sync::atomic::Ordering::Relaxed),
            ),
        ];
        for (name, kind, help, value) in rows {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        }
    })
}
