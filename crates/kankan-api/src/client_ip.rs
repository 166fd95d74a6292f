//! The client's address behind reverse proxies: `X-Forwarded-For` is believed only as far as
//! it was written by proxies the operator named (`server.trusted_proxies`).
//!
//! A client can send any `X-Forwarded-For` it likes; each proxy appends the address it saw. So
//! the list is read from the right (across every header line, in order): while the hop that
//! wrote an entry is a trusted proxy the entry is believed, and the first address not itself
//! a trusted proxy is the client. With no trusted proxies (the default) the header is ignored
//! and the client is the TCP peer.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// IP networks (an address, or `address/prefix`) of the reverse proxies whose
/// `X-Forwarded-For` entries are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<(IpAddr, u8)>,
}

impl TrustedProxies {
    /// Parses `203.0.113.7`, `10.0.0.0/8`, `2001:db8::/32` and the like.
    pub fn parse<S: AsRef<str>>(list: &[S]) -> Result<TrustedProxies, String> {
        let nets =
            list.iter()
                .map(|s| {
                    let s = s.as_ref().trim();
                    let (addr, len) = match s.split_once('/') {
                        Some((a, l)) => (a, Some(l)),
                        None => (s, None),
                    };
                    let ip: IpAddr = addr.parse().map_err(|_| {
                        format!("{s:?} is not an IP address or network (a.b.c.d/n)")
                    })?;
                    let max = if ip.is_ipv4() { 32 } else { 128 };
                    let len = match len {
                        None => max,
                        Some(l) => l.parse::<u8>().ok().filter(|l| *l <= max).ok_or_else(|| {
                            format!("{s:?}: the prefix length must be 0 to {max}")
                        })?,
                    };
                    // An IPv4-mapped IPv6 network is kept as the IPv4 network it is.
                    match ip.to_canonical() {
                        v4 @ IpAddr::V4(_) if ip.is_ipv6() => Ok((v4, len.saturating_sub(96))),
                        ip => Ok((ip, len)),
                    }
                })
                .collect::<Result<_, String>>()?;
        Ok(TrustedProxies { nets })
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|(net, len)| in_net(ip, *net, *len))
    }

    /// The client's address for a request that arrived from `peer` with `headers`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut hop = peer.to_canonical();
        if !self.contains(hop) {
            return hop;
        }
        let lines: Vec<&str> =
            headers.get_all("x-forwarded-for").iter().map(|v| v.to_str().unwrap_or("?")).collect();
        for entry in lines.iter().rev().flat_map(|l| l.rsplit(',')) {
            // An entry that is no address was not written by a proxy: stop at the last hop
            // that was one of ours.
            let Some(ip) = parse_entry(entry) else { return hop };
            if !self.contains(ip) {
                return ip;
            }
            hop = ip;
        }
        hop
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`[v6]:port`, `v4:port`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let e = entry.trim();
    e.parse::<IpAddr>()
        .ok()
        .or_else(|| e.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

fn in_net(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for l in lines {
            h.append("x-forwarded-for", HeaderValue::from_str(l).expect("value"));
        }
        h
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(list).expect("valid")
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let h = headers(&["198.51.100.1"]);
        assert_eq!(TrustedProxies::default().client_ip(ip("203.0.113.5"), &h), ip("203.0.113.5"));
    }

    #[test]
    fn a_peer_that_is_not_a_trusted_proxy_is_the_client_whatever_it_sends() {
        let p = proxies(&["10.0.0.1"]);
        let h = headers(&["198.51.100.1"]);
        assert_eq!(p.client_ip(ip("203.0.113.5"), &h), ip("203.0.113.5"));
    }

    /// Fails without the fix (the last entry of the first header line was taken): a client
    /// sent its own header line, the proxy appended a second one with the real address.
    #[test]
    fn every_header_line_is_read_from_the_right() {
        let p = proxies(&["10.0.0.0/8"]);
        let h = headers(&["1.1.1.1", "203.0.113.9"]);
        assert_eq!(p.client_ip(ip("10.0.0.1"), &h), ip("203.0.113.9"));
        let h = headers(&["1.1.1.1, 203.0.113.9"]);
        assert_eq!(p.client_ip(ip("10.0.0.1"), &h), ip("203.0.113.9"), "spoofed entry is left");
    }

    #[test]
    fn chained_trusted_proxies_are_skipped() {
        let p = proxies(&["10.0.0.0/8", "2001:db8::/32"]);
        let h = headers(&["1.1.1.1, 198.51.100.7, 10.1.1.1", "2001:db8::5"]);
        assert_eq!(p.client_ip(ip("10.0.0.1"), &h), ip("198.51.100.7"));
    }

    #[test]
    fn garbage_stops_at_the_last_trusted_hop() {
        let p = proxies(&["10.0.0.0/8"]);
        let h = headers(&["not-an-ip, 10.2.2.2"]);
        assert_eq!(p.client_ip(ip("10.0.0.1"), &h), ip("10.2.2.2"));
        assert_eq!(p.client_ip(ip("10.0.0.1"), &HeaderMap::new()), ip("10.0.0.1"));
        let h = headers(&["[2001:db8::1]:4711", "198.51.100.1:80"]);
        assert_eq!(p.client_ip(ip("10.0.0.1"), &h), ip("198.51.100.1"), "ports are dropped");
    }

    #[test]
    fn networks_parse_and_match() {
        let p = proxies(&["192.0.2.0/24", "::1", "::ffff:127.0.0.1"]);
        assert!(p.contains(ip("192.0.2.200")));
        assert!(!p.contains(ip("192.0.3.1")));
        assert!(p.contains(ip("::1")));
        assert!(p.contains(ip("127.0.0.1")), "mapped addresses are judged as IPv4");
        assert!(p.contains(ip("::ffff:192.0.2.1")));
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
        assert!(TrustedProxies::parse(&["proxy.example"]).is_err());
        assert!(proxies(&["0.0.0.0/0"]).contains(ip("8.8.8.8")));
    }
}
