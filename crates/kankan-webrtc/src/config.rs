//! `[webrtc]` in the server's configuration.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Where WebRTC sessions listen and how many may run.
///
/// ```toml
/// [webrtc]
/// enabled = true
/// ips = ["192.168.1.10"]
/// port_min = 40000
/// port_max = 40099
/// max_sessions = 100
/// max_sessions_per_account = 8
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebRtcConfig {
    /// Offer WebRTC at all; when off, `POST .../whep` answers 503 `webrtc-disabled` and
    /// browsers use the WebSocket player.
    pub enabled: bool,
    /// The server's own addresses, each bound by every session (one UDP socket per address)
    /// and sent to the browser as a host candidate. Browsers must reach one of them directly:
    /// no STUN or TURN.
    pub ips: Vec<IpAddr>,
    /// The UDP ports sessions may bind, inclusive; both unset: any free port.
    pub port_min: Option<u16>,
    pub port_max: Option<u16>,
    /// Sessions at once on this server; more are refused with 503 `webrtc-busy`.
    pub max_sessions: usize,
    /// Sessions at once for one account (1 to `max_sessions`); more are refused with 429
    /// `webrtc-account-limit`, so one account cannot take the whole server's.
    pub max_sessions_per_account: usize,
}

impl Default for WebRtcConfig {
    fn default() -> Self {
        WebRtcConfig {
            enabled: true,
            ips: vec![IpAddr::from([127, 0, 0, 1])],
            port_min: None,
            port_max: None,
            max_sessions: 100,
            max_sessions_per_account: 8,
        }
    }
}

impl WebRtcConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.enabled && self.ips.is_empty() {
            return Err("webrtc.ips must list at least one address".into());
        }
        if let Some(ip) = self.ips.iter().find(|ip| ip.is_unspecified() || ip.is_multicast()) {
            return Err(format!("webrtc.ips: {ip} is not an address browsers can reach"));
        }
        if self.max_sessions == 0 {
            return Err("webrtc.max_sessions must be at least 1".into());
        }
        if !(1..=self.max_sessions).contains(&self.max_sessions_per_account) {
            return Err("webrtc.max_sessions_per_account must be 1 to webrtc.max_sessions".into());
        }
        match self.ports() {
            Ok(Some((0, _))) => Err("webrtc.port_min must be at least 1".into()),
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The port range, if one is set.
    pub fn ports(&self) -> Result<Option<(u16, u16)>, String> {
        match (self.port_min, self.port_max) {
            (None, None) => Ok(None),
            (Some(lo), Some(hi)) if lo <= hi => Ok(Some((lo, hi))),
            (Some(_), Some(_)) => Err("webrtc.port_min must not exceed webrtc.port_max".into()),
            _ => Err("set both webrtc.port_min and webrtc.port_max, or neither".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_validate_and_bad_values_do_not() {
        assert_eq!(WebRtcConfig::default().validate(), Ok(()));
        let bad = [
            WebRtcConfig { ips: vec![], ..WebRtcConfig::default() },
            WebRtcConfig { ips: vec![IpAddr::from([0, 0, 0, 0])], ..WebRtcConfig::default() },
            WebRtcConfig { port_min: Some(5), ..WebRtcConfig::default() },
            WebRtcConfig { port_min: Some(9), port_max: Some(8), ..WebRtcConfig::default() },
            WebRtcConfig { port_min: Some(0), port_max: Some(8), ..WebRtcConfig::default() },
            WebRtcConfig { max_sessions: 0, ..WebRtcConfig::default() },
            WebRtcConfig { max_sessions_per_account: 0, ..WebRtcConfig::default() },
            WebRtcConfig {
                max_sessions: 4,
                max_sessions_per_account: 5,
                ..WebRtcConfig::default()
            },
        ];
        for c in bad {
            assert!(c.validate().is_err(), "{c:?}");
        }
        let off = WebRtcConfig { enabled: false, ips: vec![], ..WebRtcConfig::default() };
        assert_eq!(off.validate(), Ok(()), "no addresses needed when off");
    }
}
