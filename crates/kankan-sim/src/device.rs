//! One simulated device: boots, connects, reports, obeys, reboots, and persists its state.
//!
//! [`Device::new`] reads (or creates) the state file; [`Device::run`] runs boot after boot
//! until shutdown. Each boot starts a fresh MQTT connection whose report numbering starts at
//! 1; a `reboot` command ends a boot. [`DeviceHandle`] lets tests and the CLI watch it.
//! Firmware updates (A/B slots, download, health check) are in `device_update.rs`.

use std::time::Duration;

use kankan_base::ShutdownSignal;
use kankan_crypto::pairing::{open_new_secret, pairing_key};
use kankan_protocol::device::{
    Claim, ClaimResult, CommandKind, DeviceEvent, DeviceKind, NewSecret, Settings, StateReport,
    decode,
};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

use crate::config::{
    DEFAULT_MODEL, DEFAULT_TIMEZONE, DeviceConfig, FIRMWARE, ServerAddr, is_valid_uid,
};
use crate::doorbell::{Action, Buttons, Loiter};
use crate::firmware::Firmware;
use crate::link::{Link, LinkEvent, Login, Topics};
use crate::slots::Flash;
use crate::state::{self, StoredState};
use crate::telemetry::Rng;
use crate::update::UpdateEvent;
use crate::{SimError, config};

/// How long a goodbye (reboot, shutdown) may take to reach the broker.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// What the server answered to the device's claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    Accepted,
    /// Refused with the server's code (`invalid-token`, `already-bound`, ...).
    Refused(String),
}

/// What a device is doing, as its handle sees it.
#[derive(Debug, Clone)]
pub struct Status {
    /// Boots so far (1 after power-on, +1 per reboot).
    pub boots: u64,
    /// Whether an MQTT connection is up now.
    pub connected: bool,
    /// Successful connections so far, reconnections included.
    pub connections: u64,
    /// The last state report sent.
    pub last_report: Option<StateReport>,
    /// The outcome of the pairing claim, once known.
    pub claim: Option<ClaimOutcome>,
    /// Why the last connection (or attempt) failed, e.g. a server that does not hold the
    /// pinned key.
    pub last_error: Option<String>,
    /// The state as last changed (what the state file holds once saved).
    pub stored: StoredState,
}

/// Watches a device; cheap to clone.
#[derive(Debug, Clone)]
pub struct DeviceHandle {
    rx: watch::Receiver<Status>,
}

impl DeviceHandle {
    /// The status now.
    pub fn status(&self) -> Status {
        self.rx.borrow().clone()
    }

    /// Waits until `pred` holds, at most `timeout`; `what` names the wait in the error.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&Status) -> bool,
    ) -> Result<Status, SimError> {
        let mut rx = self.rx.clone();
        let waited = tokio::time::timeout(timeout, rx.wait_for(|s| pred(s)))
            .await
            .map(|r| r.map(|s| s.clone()).map_err(|_| ()));
        match waited {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(())) => {
                // The device stopped; its last status may still be what was awaited.
                let s = rx.borrow().clone();
                if pred(&s) {
                    Ok(s)
                } else {
                    Err(SimError::Timeout(format!("device stopped before {what}")))
                }
            }
            Err(_) => Err(SimError::Timeout(format!("{what} (after {timeout:?})"))),
        }
    }
}

/// How a boot ended.
enum End {
    Shutdown,
    Reboot,
    /// Log in again (with a new secret), without rebooting.
    Reconnect,
}

/// What one message asks of the connection.
enum After {
    Stay,
    Reboot,
    Reconnect,
}

/// A simulated camera or doorbell.
pub struct Device {
    cfg: DeviceConfig,
    fw: Firmware,
    server: ServerAddr,
    /// The server's TLS public key (for `mqtts://`).
    pin: Option<crate::tls::Pin>,
    topics: Topics,
    /// The bind token to claim on every connection until the server answers.
    claim: Option<String>,
    connected: bool,
    status: watch::Sender<Status>,
    /// Where stream and talk commands go (the camera's video and talk tasks), if anywhere.
    media: Option<mpsc::UnboundedSender<CommandKind>>,
    /// What the camera noticed (motion), to publish on `event`.
    events: Option<mpsc::UnboundedReceiver<DeviceEvent>>,
    /// The motion settings, for the camera's detector.
    motion_settings: Option<watch::Sender<Settings>>,
    /// Events noticed while offline, sent on the next connection (the oldest dropped past
    /// [`MAX_PENDING_EVENTS`]).
    pending_events: std::collections::VecDeque<DeviceEvent>,
    /// The button and the mount ([`Buttons`]).
    actions: mpsc::UnboundedSender<Action>,
    actions_rx: Option<mpsc::UnboundedReceiver<Action>>,
    /// A doorbell's loitering alarm, following its motion.
    loiter: Loiter,
    /// The firmware slots.
    flash: Flash,
    /// A firmware download under way, and what it says.
    download: Option<tokio::task::JoinHandle<()>>,
    updates: mpsc::UnboundedSender<UpdateEvent>,
    updates_rx: Option<mpsc::UnboundedReceiver<UpdateEvent>>,
    /// When the firmware on trial confirms (or fails) its health check.
    health_due: Option<Instant>,
    /// The device's own log, kept in its state directory (never a secret).
    log: crate::devlog::DevLog,
}

#[path = "device_update.rs"]
mod updating;

#[path = "device_logs.rs"]
mod logs;

/// Events kept through an outage.
const MAX_PENDING_EVENTS: usize = 256;

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device").field("cfg", &self.cfg).finish_non_exhaustive()
    }
}

impl Device {
    /// Loads the device's state file (or makes a factory one), applies the configuration and
    /// a pairing if there is one, and saves the result.
    pub fn new(cfg: DeviceConfig) -> Result<Device, SimError> {
        if !is_valid_uid(&cfg.uid) {
            return Err(SimError::Config(format!(
                "UID {:?} is not 6 to 32 characters of A-Z and 0-9",
                cfg.uid
            )));
        }
        let mut stored = match state::load(&cfg.state_dir)? {
            Some(s) if s.uid != cfg.uid => {
                return Err(SimError::Config(format!(
                    "{} belongs to device {}, not {}",
                    cfg.state_dir.display(),
                    s.uid,
                    cfg.uid
                )));
            }
            Some(s) => s,
            None => StoredState::factory(
                &cfg.uid,
                cfg.model.as_deref().unwrap_or(DEFAULT_MODEL),
                cfg.timezone.as_deref().unwrap_or(DEFAULT_TIMEZONE),
            ),
        };
        if let Some(model) = &cfg.model
            && *model != stored.model
        {
            let factory = StoredState::factory(&cfg.uid, model, &stored.timezone);
            (stored.model, stored.kind, stored.battery_pct) =
                (factory.model, factory.kind, factory.battery_pct);
        }
        if let Some(tz) = &cfg.timezone {
            stored.timezone.clone_from(tz);
        }
        if let Some(joined) = cfg.pairing.as_ref().filter(|j| j.rejoin) {
            // A rejoin (the network was lost): same owner, settings and recordings; only the
            // network and the server's address change.
            stored.ssid = Some(joined.ssid.clone());
            stored.server = Some(joined.server.to_string());
            stored.pin = joined.pin.map(|p| p.to_hex());
        } else if let Some(joined) = &cfg.pairing {
            // Pairing starts from factory settings, as after the reset button: the new
            // binding's desired versions start over.
            let factory = StoredState::factory(&cfg.uid, &stored.model, &stored.timezone);
            stored.settings = factory.settings;
            stored.settings_version = 0;
            stored.presets.clear();
            stored.bound = false;
            stored.ssid = Some(joined.ssid.clone());
            stored.server = Some(joined.server.to_string());
            stored.pin = joined.pin.map(|p| p.to_hex());
        }
        if let Some(server) = &cfg.server {
            stored.server = Some(server.to_string());
        }
        if let Some(pin) = &cfg.pin {
            stored.pin = Some(pin.to_hex());
        }
        let server = match &stored.server {
            Some(s) => ServerAddr::parse(s)?,
            None => return Err(SimError::NoServer),
        };
        let pin = match &stored.pin {
            Some(hex) => Some(crate::tls::Pin::from_hex(hex).ok_or_else(|| {
                SimError::Config(format!("the stored server key {hex:?} is not a pin"))
            })?),
            None => None,
        };
        if server.tls && pin.is_none() {
            return Err(SimError::Config(format!(
                "{server} needs the server's key pinned: pair the device, or pass --pin"
            )));
        }
        state::save(&cfg.state_dir, &stored)?;
        let log = crate::devlog::DevLog::open(&cfg.state_dir);
        let token = cfg.pairing.as_ref().map(|j| j.token.as_str());
        for secret in [Some(cfg.secret.expose()), stored.secret.as_deref(), token] {
            log.add_secret(secret.unwrap_or_default());
        }
        let flash = Flash::open(&cfg.state_dir, &stored.model, FIRMWARE)?;
        let salt = config::fnv1a(cfg.uid.as_bytes());
        let fw = Firmware::new(stored.clone(), Rng::from_entropy(salt));
        let (status, _) = watch::channel(Status {
            boots: 0,
            connected: false,
            connections: 0,
            last_report: None,
            claim: None,
            last_error: None,
            stored,
        });
        let topics = Topics::new(&cfg.uid);
        let claim = cfg.pairing.as_ref().map(|j| j.token.clone());
        let (actions, actions_rx) = mpsc::unbounded_channel();
        let (updates, updates_rx) = mpsc::unbounded_channel();
        Ok(Device {
            cfg,
            fw,
            server,
            pin,
            topics,
            claim,
            connected: false,
            status,
            media: None,
            events: None,
            motion_settings: None,
            pending_events: std::collections::VecDeque::new(),
            actions,
            actions_rx: Some(actions_rx),
            loiter: Loiter::default(),
            flash,
            download: None,
            updates,
            updates_rx: Some(updates_rx),
            health_due: None,
            log,
        })
    }

    /// Sends stream and talk commands to `media`; without it the device refuses them.
    pub fn with_media(mut self, media: mpsc::UnboundedSender<CommandKind>) -> Device {
        self.media = Some(media);
        self
    }

    /// Publishes what `events` reports (the camera's motion detector) on `event`, and gives
    /// the detector the user's settings (motion, schedule, time zone), kept current as desired
    /// settings arrive.
    pub fn with_motion(
        mut self,
        events: mpsc::UnboundedReceiver<DeviceEvent>,
    ) -> (Device, watch::Receiver<Settings>) {
        self.events = Some(events);
        let (tx, rx) = watch::channel(self.fw.state.settings.clone());
        self.motion_settings = Some(tx);
        (self, rx)
    }

    /// The device's button (doorbells) and mount: what a person does to it.
    pub fn buttons(&self) -> Buttons {
        Buttons { tx: self.actions.clone(), kind: self.fw.state.kind }
    }

    /// The server key this device holds its server to, if it has one.
    pub fn pin(&self) -> Option<crate::tls::Pin> {
        self.pin
    }

    /// A handle to watch this device.
    pub fn handle(&self) -> DeviceHandle {
        DeviceHandle { rx: self.status.subscribe() }
    }

    /// Runs until `shutdown` fires, rebooting when told to. Returns an error only if the
    /// state cannot be saved at the end.
    pub async fn run(mut self, mut shutdown: ShutdownSignal) -> Result<(), SimError> {
        let mut power_on = true;
        loop {
            if power_on {
                self.boot_flash();
                self.fw.boot();
                self.status.send_modify(|s| s.boots += 1);
                tracing::info!(uid = %self.cfg.uid, server = %self.server, "booting");
                self.note(&format!(
                    "boot: firmware {} model {}",
                    self.fw.running, self.fw.state.model
                ));
            }
            power_on = true;
            // The secret the server rotated to, once received, else the factory one.
            let secret = self.fw.state.secret.clone();
            let login = Login {
                uid: &self.cfg.uid,
                secret: secret.as_deref().unwrap_or(self.cfg.secret.expose()),
                server: &self.server,
                pin: self.pin,
                keep_alive: self.cfg.timings.keep_alive,
                backoff: self.cfg.timings.backoff,
            };
            let jitter = Rng::new(self.fw.rng().next_u64());
            let mut link = Link::start(&login, &self.topics, jitter);
            let end = self.boot(&mut link, &mut shutdown).await;
            if self.connected {
                if matches!(end, End::Shutdown) {
                    link.publish(&self.topics.presence, b"offline".to_vec());
                }
                link.close(CLOSE_WAIT).await;
            } else {
                // Nothing to say goodbye to: stop retrying at once.
                drop(link);
            }
            self.set_connected(false);
            match end {
                End::Shutdown => {
                    tracing::info!(uid = %self.cfg.uid, "shutting down");
                    if let Some(d) = self.download.take() {
                        d.abort();
                    }
                    return state::save(&self.cfg.state_dir, &self.fw.state);
                }
                End::Reconnect => {
                    tracing::info!(uid = %self.cfg.uid, "logging in again (a new secret or a new network)");
                    power_on = false;
                }
                End::Reboot => {
                    tracing::info!(uid = %self.cfg.uid, "rebooting");
                    self.persist();
                    tokio::select! {
                        () = shutdown.wait() => return state::save(&self.cfg.state_dir, &self.fw.state),
                        () = tokio::time::sleep(self.cfg.timings.reboot_delay) => {}
                    }
                }
            }
        }
    }

    /// One boot: serve the connection until shutdown or reboot.
    async fn boot(&mut self, link: &mut Link, shutdown: &mut ShutdownSignal) -> End {
        let period = self.cfg.timings.telemetry.max(Duration::from_millis(10));
        let mut telemetry = tokio::time::interval_at(Instant::now() + period, period);
        telemetry.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut events = self.events.take();
        let mut actions = self.actions_rx.take();
        let mut updates = self.updates_rx.take();
        let end = loop {
            let loiter_secs = self.loiter_secs();
            let loiter_due = self.loiter.due_in(self.cfg.clock.now().0, loiter_secs);
            tokio::select! {
                () = shutdown.wait() => break End::Shutdown,
                Some(ev) = async {
                    match events.as_mut() {
                        Some(rx) => rx.recv().await,
                        None => std::future::pending().await,
                    }
                } => {
                    let loiter_end = self.loiter.on_motion(&ev);
                    self.queue_event(link, ev);
                    if let Some(end) = loiter_end {
                        self.queue_event(link, end);
                    }
                }
                Some(action) = async {
                    match actions.as_mut() {
                        Some(rx) => rx.recv().await,
                        None => std::future::pending().await,
                    }
                } => {
                    tracing::info!(uid = %self.cfg.uid, ?action, "by hand");
                    let ev = action.event(self.cfg.clock.now().0);
                    self.queue_event(link, ev);
                }
                () = async {
                    match loiter_due {
                        Some(d) => tokio::time::sleep(d).await,
                        None => std::future::pending().await,
                    }
                } => {
                    if let Some(ev) = self.loiter.fire(self.cfg.clock.now().0, loiter_secs) {
                        tracing::info!(uid = %self.cfg.uid, "loitering");
                        self.queue_event(link, ev);
                    }
                }
                Some(ev) = async {
                    match updates.as_mut() {
                        Some(rx) => rx.recv().await,
                        None => std::future::pending().await,
                    }
                } => {
                    if self.on_update_event(link, ev) {
                        break End::Reboot;
                    }
                }
                () = async {
                    match self.health_due {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                } => {
                    if self.on_health_checked(link) {
                        break End::Reboot;
                    }
                }
                _ = telemetry.tick() => {
                    self.fw.tick();
                    if self.connected {
                        self.report(link);
                    }
                }
                event = link.events.recv() => match event {
                    Some(LinkEvent::Connected { session_present }) => {
                        self.on_connected(link, session_present);
                    }
                    Some(LinkEvent::Lost(why)) => {
                        if self.connected {
                            tracing::warn!(uid = %self.cfg.uid, error = %why, "connection lost");
                            self.note(&format!("disconnected: {why}"));
                        } else if self.status.borrow().last_error.as_deref() != Some(why.as_str()) {
                            self.note(&format!("connection failed: {why}"));
                        }
                        self.set_connected(false);
                        self.status.send_modify(|s| s.last_error = Some(why));
                    }
                    Some(LinkEvent::Message { topic, payload }) => {
                        match self.on_message(link, &topic, &payload) {
                            After::Stay => {}
                            After::Reboot => break End::Reboot,
                            After::Reconnect => break End::Reconnect,
                        }
                    }
                    None => {
                        tracing::error!(uid = %self.cfg.uid, "connection task ended; restarting");
                        break End::Reboot;
                    }
                },
            }
        };
        self.events = events;
        self.actions_rx = actions;
        self.updates_rx = updates;
        end
    }

    /// A doorbell's loiter setting in seconds; 0 (off) for cameras.
    fn loiter_secs(&self) -> u16 {
        if self.fw.state.kind == DeviceKind::Doorbell {
            self.fw.state.settings.loiter_secs
        } else {
            0
        }
    }

    /// Publishes an event now, or on the next connection.
    fn queue_event(&mut self, link: &Link, ev: DeviceEvent) {
        if self.pending_events.len() == MAX_PENDING_EVENTS {
            self.pending_events.pop_front();
        }
        self.pending_events.push_back(ev);
        if self.connected {
            self.send_events(link);
        }
    }

    fn on_connected(&mut self, link: &Link, session_present: bool) {
        tracing::info!(uid = %self.cfg.uid, session_present, "connected");
        self.note(&format!("connected to {}", self.server));
        self.connected = true;
        self.status.send_modify(|s| {
            s.connected = true;
            s.connections += 1;
        });
        let t = &self.topics;
        link.subscribe(&[&t.cmd, &t.desired, &t.claim_result, &t.secret]);
        link.publish(&t.presence, b"online".to_vec());
        self.report(link);
        self.send_events(link);
        self.start_health_check();
        if let Some(token) = &self.claim {
            tracing::info!(uid = %self.cfg.uid, "claiming the binding");
            link.publish(&self.topics.claim, json(&Claim { token: token.clone() }));
        }
    }

    /// Publishes the events waiting to go out.
    fn send_events(&mut self, link: &Link) {
        while let Some(ev) = self.pending_events.pop_front() {
            link.publish(&self.topics.event, json(&ev));
        }
    }

    /// Handles one message; says whether the device must reboot or log in again.
    fn on_message(&mut self, link: &Link, topic: &str, payload: &[u8]) -> After {
        if topic == self.topics.secret {
            return self.on_new_secret(payload);
        }
        self.on_other_message(link, topic, payload)
    }

    /// The server rotates this device's secret: open it with the current one, keep it on
    /// flash, and log in with it (the server accepts the old one until then). A message the
    /// current secret does not open (already applied, or not for this device) is ignored.
    fn on_new_secret(&mut self, payload: &[u8]) -> After {
        let uid = self.cfg.uid.clone();
        let msg: NewSecret = match decode(payload) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(%uid, error = %e, "malformed secret message ignored");
                return After::Stay;
            }
        };
        let current = self.fw.state.secret.clone();
        let key = pairing_key(current.as_deref().unwrap_or(self.cfg.secret.expose()));
        let Ok(next) = open_new_secret(&uid, &msg.sealed, &key) else {
            tracing::debug!(%uid, "a secret message the current secret does not open ignored");
            return After::Stay;
        };
        self.log.add_secret(&next);
        self.fw.state.secret = Some(next);
        if let Err(e) = state::save(&self.cfg.state_dir, &self.fw.state) {
            // Not on flash: keep the current secret rather than risk losing the new one.
            tracing::error!(%uid, error = %e, "new secret not saved; keeping the current one");
            self.fw.state.secret = current;
            return After::Stay;
        }
        self.status.send_modify(|s| s.stored = self.fw.state.clone());
        tracing::info!(%uid, "new device secret received");
        self.note("new device secret received");
        After::Reconnect
    }

    /// Handles any other message; says whether the device must reboot or reconnect.
    fn on_other_message(&mut self, link: &Link, topic: &str, payload: &[u8]) -> After {
        let uid = self.cfg.uid.clone();
        if topic == self.topics.cmd {
            let now = self.cfg.clock.now().as_millis();
            let Some(mut exec) = self.fw.execute(payload, now) else {
                tracing::warn!(%uid, "unreadable command ignored");
                return After::Stay;
            };
            let mut reconnect = false;
            if let Some(CommandKind::LogsUpload { request }) =
                exec.media.take_if(|k| matches!(k, CommandKind::LogsUpload { .. }))
                && let Err(e) = self.upload_logs(request)
            {
                exec.ack.ok = false;
                exec.ack.error = Some(e);
            }
            if let Some(CommandKind::WifiSet { sealed }) =
                exec.media.take_if(|k| matches!(k, CommandKind::WifiSet { .. }))
            {
                let secret = self.fw.state.secret.clone();
                let secret = secret.as_deref().unwrap_or(self.cfg.secret.expose());
                match crate::wifi::join_sealed(&uid, &sealed, secret) {
                    Ok(ssid) => {
                        self.fw.state.ssid = Some(ssid);
                        exec.persist = true;
                        reconnect = true;
                    }
                    Err(e) => {
                        exec.ack.ok = false;
                        exec.ack.error = Some(e.to_string());
                    }
                }
            }
            if let Some(kind) = exec.media.take() {
                let sent = self.media.as_ref().is_some_and(|tx| tx.send(kind).is_ok());
                if !sent {
                    exec.ack.ok = false;
                    exec.ack.error = Some("this device sends no media".into());
                }
            }
            if let Some(offer) = exec.update.take()
                && let Err(code) = self.start_update(link, offer)
            {
                exec.ack.ok = false;
                exec.ack.error = Some(code);
            }
            tracing::info!(%uid, id = %exec.ack.id, ok = exec.ack.ok, error = ?exec.ack.error, "command");
            let name = serde_json::from_slice::<serde_json::Value>(payload)
                .ok()
                .and_then(|v| v["command"]["name"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "?".into());
            match &exec.ack.error {
                None => self.note(&format!("command {name} ok")),
                Some(e) => self.note(&format!("command {name} failed: {e}")),
            }
            for report in exec.reports {
                self.send_report(link, report);
            }
            if exec.persist {
                self.persist();
            }
            link.publish(&self.topics.ack, json(&exec.ack));
            return if exec.reboot {
                After::Reboot
            } else if reconnect {
                // On the new network: connect again from there.
                After::Reconnect
            } else {
                After::Stay
            };
        }
        if topic == self.topics.desired {
            match self.fw.apply_desired(payload) {
                Ok(Some(version)) => {
                    tracing::info!(%uid, version, "desired settings applied");
                    self.note(&format!("settings version {version} applied"));
                    if let Some(tx) = &self.motion_settings {
                        tx.send_replace(self.fw.state.settings.clone());
                    }
                    self.persist();
                    self.report(link);
                }
                Ok(None) => tracing::debug!(%uid, "desired settings unchanged"),
                Err(reason) => {
                    tracing::warn!(%uid, %reason, "desired settings refused");
                    self.note(&format!("settings refused: {reason}"));
                }
            }
        } else if topic == self.topics.claim_result {
            self.on_claim_result(link, payload);
        } else {
            tracing::debug!(%uid, topic, "message on an unexpected topic ignored");
        }
        After::Stay
    }

    fn on_claim_result(&mut self, link: &Link, payload: &[u8]) {
        let uid = self.cfg.uid.clone();
        let result: ClaimResult = match decode(payload) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(%uid, error = %e, "malformed claim result ignored");
                return;
            }
        };
        if self.claim.take().is_none() {
            tracing::debug!(%uid, "claim result without a claim ignored");
            return;
        }
        let outcome = if result.ok {
            tracing::info!(%uid, "claim accepted: device bound");
            self.note("claim accepted: bound");
            self.fw.state.bound = true;
            self.persist();
            // The state sent before the claim went to nobody: the new owner gets it now.
            self.report(link);
            ClaimOutcome::Accepted
        } else {
            let code = result.code.unwrap_or_else(|| "refused".into());
            tracing::warn!(%uid, %code, "claim refused");
            self.note(&format!("claim refused: {code}"));
            ClaimOutcome::Refused(code)
        };
        self.status.send_modify(|s| s.claim = Some(outcome));
    }

    fn report(&mut self, link: &Link) {
        let report = self.fw.report();
        self.send_report(link, report);
    }

    fn send_report(&mut self, link: &Link, report: StateReport) {
        link.publish(&self.topics.state, json(&report));
        let stored = self.fw.state.clone();
        self.status.send_modify(|s| {
            s.last_report = Some(report);
            s.stored = stored;
        });
    }

    /// Saves the state; a failure is logged and the device goes on (as firmware with a worn
    /// flash would), trying again at the next change.
    fn persist(&mut self) {
        if let Err(e) = state::save(&self.cfg.state_dir, &self.fw.state) {
            tracing::error!(uid = %self.cfg.uid, error = %e, "cannot save state");
        }
        let stored = self.fw.state.clone();
        self.status.send_modify(|s| s.stored = stored);
    }

    fn set_connected(&mut self, connected: bool) {
        self.connected = connected;
        self.status
            .send_if_modified(|s| std::mem::replace(&mut s.connected, connected) != connected);
    }
}

/// A payload as JSON.
fn json<T: Serialize>(value: &T) -> Vec<u8> {
    // Invariant: the protocol types are plain structs and enums with string keys, which
    // serde_json always serializes.
    serde_json::to_vec(value).expect("protocol payloads serialize")
}
