//! `[webrtc]` in the server's configuration.

use std::net::IpAddr;

use kankan_base::Secret;
use serde::{Deserialize, Serialize};

/// The default and the bounds of `webrtc.turn_ttl_secs`.
pub const TURN_TTL_DEFAULT: u64 = 3_600;
pub const TURN_TTL_RANGE: std::ops::RangeInclusive<u64> = 60..=86_400;

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
/// ice_tcp = false
/// stun_urls = ["stun:turn.example.com:3478"]
/// turn_urls = ["turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349?transport=tcp"]
/// turn_secret = "..."      # coturn's static-auth-secret
/// turn_ttl_secs = 3600
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
    /// Also offer a passive TCP host candidate on each address (ICE-TCP, RFC 6544), on the
    /// session's UDP port number where it is free: a browser whose network lets no UDP out
    /// connects over TCP without a TURN server. Off: UDP only.
    pub ice_tcp: bool,
    /// STUN servers (`stun:host:port`) given to browsers, so one behind a NAT learns its
    /// public address (a server-reflexive candidate).
    pub stun_urls: Vec<String>,
    /// TURN servers (`turn:host:port?transport=udp|tcp`, `turns:host:port?transport=tcp`)
    /// given to browsers with a short-lived credential of their own: a browser that cannot
    /// reach `ips` directly (a NAT, a firewall that drops UDP) relays through one.
    pub turn_urls: Vec<String>,
    /// The secret shared with the TURN server (coturn's `static-auth-secret`, with
    /// `use-auth-secret`): credentials are HMAC-SHA1 of their username under it. Required with
    /// `turn_urls`; never sent anywhere.
    pub turn_secret: Option<Secret>,
    /// How long a TURN credential works, from the link it came with (60 s to 1 day).
    pub turn_ttl_secs: u64,
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
            ice_tcp: false,
            stun_urls: Vec::new(),
            turn_urls: Vec::new(),
            turn_secret: None,
            turn_ttl_secs: TURN_TTL_DEFAULT,
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
        self.validate_ice()?;
        match self.ports() {
            Ok(Some((0, _))) => Err("webrtc.port_min must be at least 1".into()),
            Ok(_) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn validate_ice(&self) -> Result<(), String> {
        if let Some(u) = self.stun_urls.iter().find(|u| !url_ok(u, &["stun:", "stuns:"])) {
            return Err(format!(
                "webrtc.stun_urls: {u:?} is not a stun: or stuns: URL with a host"
            ));
        }
        if let Some(u) = self.turn_urls.iter().find(|u| !url_ok(u, &["turn:", "turns:"])) {
            return Err(format!(
                "webrtc.turn_urls: {u:?} is not a turn: or turns: URL with a host"
            ));
        }
        let secret = self.turn_secret.as_ref().map_or(0, |s| s.expose().len());
        match (self.turn_urls.is_empty(), secret) {
            (false, 0) => return Err("webrtc.turn_urls needs webrtc.turn_secret".into()),
            (false, 1..16) => {
                return Err("webrtc.turn_secret must be at least 16 characters".into());
            }
            (true, 1..) => return Err("webrtc.turn_secret is set without webrtc.turn_urls".into()),
            _ => {}
        }
        if !TURN_TTL_RANGE.contains(&self.turn_ttl_secs) {
            return Err("webrtc.turn_ttl_secs must be 60 to 86400".into());
        }
        Ok(())
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

/// Whether `u` starts with one of `schemes` and names a host, with no spaces.
fn url_ok(u: &str, schemes: &[&str]) -> bool {
    schemes.iter().any(|s| u.strip_prefix(s).is_some_and(|rest| !rest.is_empty()))
        && !u.chars().any(char::is_whitespace)
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
        let turn = |urls: &[&str], secret: Option<&str>, ttl| WebRtcConfig {
            turn_urls: urls.iter().map(|u| (*u).to_owned()).collect(),
            turn_secret: secret.map(Secret::new),
            turn_ttl_secs: ttl,
            ..WebRtcConfig::default()
        };
        let secret = Some("0123456789abcdef");
        let ok = turn(&["turn:t.example:3478?transport=tcp"], secret, 3600);
        assert_eq!(ok.validate(), Ok(()));
        let bad_ice = [
            turn(&["turn:t.example:3478"], None, 3600),
            turn(&["turn:t.example:3478"], Some("short"), 3600),
            turn(&[], secret, 3600),
            turn(&["http://t.example"], secret, 3600),
            turn(&["turn:"], secret, 3600),
            turn(&["turn:t.example:3478"], secret, 59),
            turn(&["turn:t.example:3478"], secret, 86_401),
            WebRtcConfig { stun_urls: vec!["turn:x".into()], ..WebRtcConfig::default() },
        ];
        for c in bad.into_iter().chain(bad_ice) {
            assert!(c.validate().is_err(), "{c:?}");
        }
        let off = WebRtcConfig { enabled: false, ips: vec![], ..WebRtcConfig::default() };
        assert_eq!(off.validate(), Ok(()), "no addresses needed when off");
    }
}
