//! What a simulated device is and how it behaves: identity, server address and timings.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kankan_base::{Clocks, RealClock, Secret};
use kankan_protocol::device::DeviceKind;

use crate::SimError;

/// The factory firmware version: what a new simulated device has in its slot A.
pub const FIRMWARE: &str = "1.0.0-sim";
/// The model of a device whose model was never given.
pub const DEFAULT_MODEL: &str = "KK-C1";
/// The time zone of a device whose time zone was never given.
pub const DEFAULT_TIMEZONE: &str = "Asia/Shanghai";
/// The MQTT port when an address names none.
pub const DEFAULT_PORT: u16 = 1883;
/// The MQTT-over-TLS port when an `mqtts://` address names none.
pub const DEFAULT_TLS_PORT: u16 = 8883;

/// Doorbell models start with `KK-D`; every other model is a camera.
pub fn kind_of_model(model: &str) -> DeviceKind {
    if model.starts_with("KK-D") { DeviceKind::Doorbell } else { DeviceKind::Camera }
}

/// Whether `uid` is a well-formed device UID (6 to 32 of `A`-`Z`, `0`-`9`), as the gateway
/// requires.
pub fn is_valid_uid(uid: &str) -> bool {
    (6..=32).contains(&uid.len())
        && uid.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// FNV-1a, 64 bits: a stable hash for deriving per-device constants (not for security).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

/// The device's MAC address, derived from its UID: the same UID always gets the same address,
/// a locally administered unicast one (`02:..`-style first octet).
pub fn mac_of(uid: &str) -> String {
    let h = fnv1a(uid.as_bytes()).to_be_bytes();
    let first = (h[0] & 0xfc) | 0x02;
    format!("{first:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", h[1], h[2], h[3], h[4], h[5])
}

/// The address the device "got from DHCP", derived from its UID.
pub fn lan_ip_of(uid: &str) -> String {
    let h = fnv1a(uid.as_bytes()).to_be_bytes();
    format!("192.168.{}.{}", h[6] % 8, 2 + h[7] % 252)
}

/// Where the MQTT server is: `mqtts://host:port` (TLS, the server's key pinned), or a lab's
/// `mqtt://host:port` (or `tcp://`, or a bare `host:port`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddr {
    pub host: String,
    pub port: u16,
    /// MQTT over TLS.
    pub tls: bool,
}

impl ServerAddr {
    /// Parses an address as found in a pairing payload or on the command line.
    pub fn parse(address: &str) -> Result<ServerAddr, SimError> {
        let bad = |reason: &str| SimError::ServerAddress {
            address: address.to_string(),
            reason: reason.to_string(),
        };
        let (rest, tls) = match address.split_once("://") {
            Some(("mqtt" | "tcp", rest)) => (rest, false),
            Some(("mqtts" | "ssl" | "tls", rest)) => (rest, true),
            Some(_) => return Err(bad("the scheme must be mqtts:// or mqtt://")),
            None => (address, false),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') || rest.contains('@') {
            return Err(bad("expected host:port with no path or user"));
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
            (host, after.strip_prefix(':'))
        } else {
            match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            }
        };
        if host.is_empty() {
            return Err(bad("the host is empty"));
        }
        let port = match port {
            None if tls => DEFAULT_TLS_PORT,
            None => DEFAULT_PORT,
            Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| bad("bad port"))?,
        };
        Ok(ServerAddr { host: host.to_string(), port, tls })
    }
}

impl fmt::Display for ServerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// Reconnection delays: exponential from `base`, capped at `cap`, each with jitter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    /// 1 s, doubling up to 30 s.
    fn default() -> Self {
        Backoff { base: Duration::from_secs(1), cap: Duration::from_secs(30) }
    }
}

impl Backoff {
    /// The wait before reconnection attempt `attempt` (0 = first retry). `unit` is a random
    /// number in [0, 1): the wait is between half and all of `min(cap, base · 2^attempt)`, so
    /// a fleet cut off at once does not come back at once.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let full = self.base.saturating_mul(1u32 << attempt.min(20)).min(self.cap);
        full.mul_f64(0.5 + 0.5 * unit.clamp(0.0, 1.0))
    }
}

/// How fast the device does things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timings {
    pub backoff: Backoff,
    /// How often the device reports telemetry (battery, signal) unprompted.
    pub telemetry: Duration,
    /// How long a reboot keeps the device off the network.
    pub reboot_delay: Duration,
    /// MQTT keep-alive (at least one second).
    pub keep_alive: Duration,
    /// How long new firmware runs connected before it confirms its health.
    pub health_check: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            backoff: Backoff::default(),
            telemetry: Duration::from_secs(60),
            reboot_delay: Duration::from_secs(3),
            keep_alive: Duration::from_secs(30),
            health_check: Duration::from_secs(2),
        }
    }
}

/// What a device learned from a pairing code: where to go and what to claim. The Wi-Fi
/// password is not here: it is used to "join" the network and forgotten.
#[derive(Clone, PartialEq, Eq)]
pub struct Joined {
    /// The bind token, as text (what the claim carries).
    pub token: String,
    pub server: ServerAddr,
    pub ssid: String,
    /// The server's TLS public key, from the pairing code.
    pub pin: Option<crate::tls::Pin>,
    /// A rejoin code: the device is already bound to the account and keeps its settings.
    pub rejoin: bool,
}

impl fmt::Debug for Joined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Joined")
            .field("server", &self.server)
            .field("ssid", &self.ssid)
            .field("pin", &self.pin)
            .field("rejoin", &self.rejoin)
            .finish_non_exhaustive()
    }
}

/// Everything needed to start one simulated device.
#[derive(Clone)]
pub struct DeviceConfig {
    pub uid: String,
    pub secret: Secret,
    /// Where the state file lives (created if missing).
    pub state_dir: PathBuf,
    /// The model; `None` keeps the state file's, or [`DEFAULT_MODEL`] for a new device.
    pub model: Option<String>,
    /// The IANA time zone; `None` keeps the state file's, or [`DEFAULT_TIMEZONE`].
    pub timezone: Option<String>,
    /// The server; `None` uses the state file's (or the pairing's).
    pub server: Option<ServerAddr>,
    /// The server's TLS public key; `None` uses the state file's (or the pairing's).
    pub pin: Option<crate::tls::Pin>,
    /// A pairing to complete: claim `token` on the pairing's server.
    pub pairing: Option<Joined>,
    pub timings: Timings,
    /// The clock command deadlines are checked against.
    pub clock: Clocks,
    /// The operator's firmware public key (base64url Ed25519) updates must be signed with;
    /// without one every update is refused (`no-firmware-key`).
    pub firmware_key: Option<String>,
    /// The server's HTTP base URL (e.g. `https://127.0.0.1:8080`) firmware is downloaded
    /// from; an `https://` one is held to the pinned server key.
    pub ingest_url: Option<String>,
    /// The HTTP client for downloads (a fleet shares one); `None`: the device makes its own.
    pub http: Option<reqwest::Client>,
    /// New firmware fails its health check (and is rolled back): for tests.
    pub fail_health: bool,
}

impl DeviceConfig {
    /// A device with default model, time zone and timings, on the real clock.
    pub fn new(uid: impl Into<String>, secret: impl Into<String>, state_dir: PathBuf) -> Self {
        DeviceConfig {
            uid: uid.into(),
            secret: Secret::new(secret),
            state_dir,
            model: None,
            timezone: None,
            server: None,
            pin: None,
            pairing: None,
            timings: Timings::default(),
            clock: Arc::new(RealClock),
            firmware_key: None,
            ingest_url: None,
            http: None,
            fail_health: false,
        }
    }
}

impl fmt::Debug for DeviceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceConfig")
            .field("uid", &self.uid)
            .field("state_dir", &self.state_dir)
            .field("model", &self.model)
            .field("server", &self.server)
            .field("pairing", &self.pairing)
            .field("timings", &self.timings)
            .field("ingest_url", &self.ingest_url)
            .field("fail_health", &self.fail_health)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_parse_with_or_without_scheme_and_port() {
        let ok = |s: &str| ServerAddr::parse(s).expect(s);
        assert_eq!(
            ok("mqtt://127.0.0.1:1883"),
            ServerAddr { host: "127.0.0.1".into(), port: 1883, tls: false }
        );
        assert_eq!(ok("tcp://cams.example:9000/").port, 9000);
        assert_eq!(ok("10.0.0.2").port, DEFAULT_PORT);
        assert_eq!(
            ok("mqtt://[::1]:1884"),
            ServerAddr { host: "::1".into(), port: 1884, tls: false }
        );
        assert_eq!(ok("mqtts://h").to_string(), "mqtts://h:8883");
        assert!(ok("mqtts://h:1").tls);
        assert_eq!(ok("mqtt://[::1]:1884").to_string(), "mqtt://[::1]:1884");
        assert_eq!(ok("mqtt://h:1").to_string(), "mqtt://h:1");
        for bad in ["http://h:1", "mqtt://:1883", "mqtt://h:0", "mqtt://h:x", "h/p"] {
            assert!(ServerAddr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identity_is_derived_from_the_uid_and_stable() {
        assert_eq!(mac_of("KK1A2B3C4D5E"), mac_of("KK1A2B3C4D5E"));
        assert_ne!(mac_of("KK1A2B3C4D5E"), mac_of("KK1A2B3C4D5F"));
        let mac = mac_of("KK1A2B3C4D5E");
        assert_eq!(mac.len(), 17);
        let first = u8::from_str_radix(&mac[..2], 16).expect("hex");
        assert_eq!(first & 0x03, 0x02, "locally administered unicast: {mac}");
        assert!(lan_ip_of("KK1A2B3C4D5E").starts_with("192.168."));
    }

    #[test]
    fn doorbells_are_the_kk_d_models() {
        assert_eq!(kind_of_model("KK-D1"), DeviceKind::Doorbell);
        assert_eq!(kind_of_model("KK-C1"), DeviceKind::Camera);
        assert_eq!(kind_of_model("XX-D1"), DeviceKind::Camera);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_bounded_jitter() {
        let b = Backoff { base: Duration::from_millis(100), cap: Duration::from_secs(1) };
        assert_eq!(b.delay(0, 0.999_999).as_millis(), 99);
        assert_eq!(b.delay(0, 0.0), Duration::from_millis(50));
        assert_eq!(b.delay(2, 0.0), Duration::from_millis(200));
        assert_eq!(b.delay(10, 0.0), Duration::from_millis(500));
        assert!(b.delay(u32::MAX, 1.0) <= b.cap);
    }
}
