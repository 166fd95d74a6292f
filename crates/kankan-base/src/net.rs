//! Where the server may connect on a user's behalf. Webhook URLs, push endpoints and RTSP camera
//! addresses come from users; a connection to one must not reach into the operator's own
//! network (server-side request forgery, port scans, LAN password guessing).
//!
//! - [`is_public`] classifies one address: loopback, RFC 1918, link-local, CGNAT, unique-local,
//!   unspecified, multicast, documentation and other special ranges are not public; an IPv4
//!   address embedded in IPv6 (mapped, compatible, NAT64, 6to4) is judged as itself.
//! - [`is_own_address`] tells whether an address is one of this host's (it can be bound).
//! - [`OutboundPolicy`] decides one address: public and not the host's own, or inside one of
//!   the operator's allowed networks ([`IpNet`]); loopback, link-local (cloud metadata) and
//!   the host's own addresses only through an entry that names them specifically, unspecified
//!   and multicast addresses never.
//! - [`resolve_checked`] resolves a host once and answers the one checked address to connect
//!   to, so a name re-pointed between the check and the connection cannot reach anything else.
//!
//! `kankan-notify`'s guard (webhooks, push) and `kankan-rtsp` (cameras) both decide here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Whether `ip` is a public unicast address a user-supplied target may reach.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

/// IPv4 ranges that are not public: (network, prefix length).
const NOT_PUBLIC_V4: &[([u8; 4], u8)] = &[
    ([0, 0, 0, 0], 8),       // "this network", unspecified
    ([10, 0, 0, 0], 8),      // private (RFC 1918)
    ([100, 64, 0, 0], 10),   // carrier-grade NAT (RFC 6598)
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link-local (cloud metadata lives here)
    ([172, 16, 0, 0], 12),   // private (RFC 1918)
    ([192, 0, 0, 0], 24),    // IETF protocol assignments
    ([192, 0, 2, 0], 24),    // documentation (TEST-NET-1)
    ([192, 88, 99, 0], 24),  // 6to4 relay anycast (deprecated)
    ([192, 168, 0, 0], 16),  // private (RFC 1918)
    ([198, 18, 0, 0], 15),   // benchmarking
    ([198, 51, 100, 0], 24), // documentation (TEST-NET-2)
    ([203, 0, 113, 0], 24),  // documentation (TEST-NET-3)
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved, and the broadcast address
];

fn in_v4(ip: u32, (net, len): ([u8; 4], u8)) -> bool {
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) };
    ip & mask == u32::from_be_bytes(net) & mask
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let bits = u32::from(ip);
    !NOT_PUBLIC_V4.iter().any(|r| in_v4(bits, *r))
}

fn v4_at(seg: &[u16; 8], i: usize) -> Ipv4Addr {
    let [a, b] = seg[i].to_be_bytes();
    let [c, d] = seg[i + 1].to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64, 6to4), if any.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let seg = ip.segments();
    // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d, which includes :: and ::1).
    if seg[..5] == [0; 5] && (seg[5] == 0xffff || seg[5] == 0) {
        return Some(v4_at(&seg, 6));
    }
    // NAT64 well-known prefix 64:ff9b::/96 (a DNS64 network's view of IPv4 hosts).
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(v4_at(&seg, 6));
    }
    // 6to4 (2002:wwxx:yyzz::/48) reaches the IPv4 address it embeds.
    if seg[0] == 0x2002 {
        return Some(v4_at(&seg, 1));
    }
    None
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if ip == Ipv6Addr::LOCALHOST || ip == Ipv6Addr::UNSPECIFIED {
        return false;
    }
    if let Some(v4) = embedded_v4(ip) {
        return is_public_v4(v4);
    }
    let seg = ip.segments();
    // Public unicast is 2000::/3; everything else (unique-local fc00::/7, link-local fe80::/10,
    // multicast ff00::/8, discard 100::/64, local NAT64 64:ff9b:1::/48, ...) is not.
    if seg[0] & 0xe000 != 0x2000 {
        return false;
    }
    let documentation = (seg[0] == 0x2001 && seg[1] == 0x0db8) || (seg[0] & 0xfff0) == 0x3ff0;
    // 2001::/23: IETF protocol assignments (Teredo, benchmarking, ORCHID).
    let ietf = seg[0] == 0x2001 && seg[1] < 0x0200;
    !(documentation || ietf)
}

/// Whether `ip` is an address of this host: one that a socket can be bound to. (A connection
/// to the host's own public address reaches its services as surely as one to loopback.)
pub fn is_own_address(ip: IpAddr) -> bool {
    if ip.is_unspecified() {
        return true;
    }
    std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// A network in CIDR notation (`192.168.0.0/16`, `fd00::/8`), or one address (`10.0.0.5`,
/// read as `/32` or `/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// The first address and the prefix length.
    pub fn parts(&self) -> (IpAddr, u8) {
        (self.addr, self.prefix)
    }

    /// Whether `ip` lies in this network (an IPv4-mapped IPv6 address counts as its IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => in_v4(u32::from(ip), (net.octets(), self.prefix)),
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask =
                    if self.prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(self.prefix)) };
                u128::from(ip) & mask == u128::from(net) & mask
            }
            _ => false,
        }
    }

    /// Whether every address of this network lies inside `other`.
    fn within(&self, other: &IpNet) -> bool {
        self.prefix >= other.prefix && other.contains(self.addr)
    }
}

impl std::str::FromStr for IpNet {
    type Err = String;

    fn from_str(s: &str) -> Result<IpNet, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr =
            addr.trim().parse().map_err(|_| format!("{s:?} is not an address or network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length is 0-{max}"))?,
        };
        Ok(IpNet { addr: canonical(addr), prefix })
    }
}

impl std::fmt::Display for IpNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// An IPv4-mapped IPv6 address as its IPv4; every other address as it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The RFC 1918 private ranges: a household's LAN.
pub const RFC1918: [&str; 3] = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"];

/// Ranges reached only through an allowed-networks entry that lies inside them: loopback and
/// link-local (cloud metadata services answer at 169.254.169.254).
const SENSITIVE: &[(&str, u8)] =
    &[("127.0.0.0", 8), ("169.254.0.0", 16), ("::1", 128), ("fe80::", 10)];

fn sensitive_range(ip: IpAddr) -> Option<IpNet> {
    SENSITIVE
        .iter()
        .filter_map(|(a, p)| Some(IpNet { addr: a.parse().ok()?, prefix: *p }))
        .find(|n| n.contains(ip))
}

/// Why an address was refused, or a host could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The host is, or resolves to, an address the policy refuses.
    #[error("points at an address this server does not connect to")]
    Refused,
    /// The host does not resolve.
    #[error("does not resolve")]
    Unresolved,
}

/// Which addresses the server connects to for a user: public ones that are not the host's own,
/// and those in `allowed` (the operator's choice), under the rules of the module documentation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    allowed: Vec<IpNet>,
}

impl OutboundPolicy {
    pub fn new(allowed: Vec<IpNet>) -> OutboundPolicy {
        OutboundPolicy { allowed }
    }

    /// Parses the operator's list (`cameras.allowed_networks`), naming the bad entry.
    pub fn parse(entries: &[String]) -> Result<OutboundPolicy, String> {
        entries.iter().map(|e| e.parse()).collect::<Result<_, _>>().map(OutboundPolicy::new)
    }

    /// Whether a connection to `ip` is allowed.
    ///
    /// Unspecified (`0.0.0.0/8`, `::`), multicast and broadcast addresses never are (a
    /// connection to `0.0.0.0` reaches the host itself). Loopback, link-local and the host's own addresses are only through an
    /// entry that lies inside their range or names that one address (`127.0.0.1/32`), never
    /// through a broad one such as `0.0.0.0/0`. Other addresses are when public, or inside an
    /// entry.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        let ip = match ip {
            IpAddr::V6(v6) if v6 == Ipv6Addr::LOCALHOST => ip,
            IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let this_network = matches!(ip, IpAddr::V4(v4) if v4.octets()[0] == 0);
        if this_network || ip.is_unspecified() || ip.is_multicast() || ip == Ipv4Addr::BROADCAST {
            return false;
        }
        let one = IpNet { addr: ip, prefix: if ip.is_ipv4() { 32 } else { 128 } };
        if let Some(range) = sensitive_range(ip) {
            return self.allowed.iter().any(|n| n.contains(ip) && n.within(&range));
        }
        if is_own_address(ip) {
            return self.allowed.contains(&one);
        }
        is_public(ip) || self.allowed.iter().any(|n| n.contains(ip))
    }

    /// Resolves `host` once and answers the address to connect to, if every address it has is
    /// allowed (a name with one refused address is refused: which one a connection picks is
    /// not ours to choose). Connect to the answer, never to the name again.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<SocketAddr, Refusal> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => match tokio::net::lookup_host((host, port)).await {
                Ok(a) => a.collect(),
                Err(_) => return Err(Refusal::Unresolved),
            },
        };
        if addrs.iter().any(|a| !self.allows(a.ip())) {
            return Err(Refusal::Refused);
        }
        addrs.first().copied().ok_or(Refusal::Unresolved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect(s)
    }

    #[test]
    fn addresses_are_classified_public_or_not() {
        let table: &[(&str, bool)] = &[
            ("8.8.8.8", true),
            ("1.1.1.1", true),
            ("93.184.216.34", true),
            ("100.63.255.255", true),
            ("100.128.0.0", true),
            ("172.15.255.255", true),
            ("172.32.0.0", true),
            ("192.169.0.1", true),
            ("0.0.0.0", false),
            ("0.1.2.3", false),
            ("127.0.0.1", false),
            ("127.255.255.254", false),
            ("10.0.0.1", false),
            ("10.255.255.255", false),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("192.168.1.10", false),
            ("169.254.169.254", false),
            ("100.64.0.1", false),
            ("100.127.255.255", false),
            ("192.0.0.170", false),
            ("192.0.2.1", false),
            ("198.51.100.7", false),
            ("203.0.113.9", false),
            ("198.18.0.1", false),
            ("224.0.0.1", false),
            ("239.255.255.250", false),
            ("240.0.0.1", false),
            ("255.255.255.255", false),
            ("2606:4700:4700::1111", true),
            ("2a00:1450:4001:81b::200e", true),
            ("::ffff:8.8.8.8", true),
            ("64:ff9b::808:808", true),
            ("2002:808:808::1", true),
            ("::", false),
            ("::1", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:10.0.0.1", false),
            ("::ffff:169.254.169.254", false),
            ("::127.0.0.1", false),
            ("64:ff9b::a00:1", false),
            ("64:ff9b:1::1", false),
            ("2002:7f00:1::1", false),
            ("2002:c0a8:101::1", false),
            ("fc00::1", false),
            ("fd12:3456:789a::1", false),
            ("fe80::1", false),
            ("febf::1", false),
            ("fec0::1", false),
            ("ff02::1", false),
            ("ff0e::1", false),
            ("100::1", false),
            ("2001:db8::1", false),
            ("3fff::1", false),
            ("2001::1", false),
            ("2001:2::1", false),
        ];
        for (text, public) in table {
            assert_eq!(is_public(ip(text)), *public, "{text}");
        }
    }

    #[test]
    fn networks_parse_and_contain() {
        let n: IpNet = "192.168.0.0/16".parse().expect("net");
        assert!(n.contains(ip("192.168.44.1")) && !n.contains(ip("192.169.0.1")));
        assert!(n.contains(ip("::ffff:192.168.1.1")), "mapped counts as IPv4");
        let one: IpNet = "10.0.0.5".parse().expect("one");
        assert_eq!(one.parts(), (ip("10.0.0.5"), 32));
        let v6: IpNet = "fd00::/8".parse().expect("v6");
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        for bad in ["", "10.0.0.0/33", "fd00::/129", "example.com", "10.0.0.0/x"] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad:?}");
        }
        assert_eq!(n.to_string(), "192.168.0.0/16");
    }

    #[test]
    fn the_policy_keeps_loopback_metadata_and_own_addresses_out_unless_named() {
        let home = OutboundPolicy::parse(&RFC1918.map(String::from)).expect("policy");
        let public_service = OutboundPolicy::default();
        let everything =
            OutboundPolicy::parse(&["0.0.0.0/0".into(), "::/0".into()]).expect("policy");
        for p in [&home, &public_service, &everything] {
            for refused in [
                "127.0.0.1",
                "127.9.9.9",
                "::1",
                "::ffff:127.0.0.1",
                "169.254.169.254",
                "fe80::1",
                "0.0.0.0",
                "::",
                "224.0.0.1",
                "255.255.255.255",
            ] {
                assert!(!p.allows(ip(refused)), "{refused} refused under {p:?}");
            }
            assert!(p.allows(ip("8.8.8.8")), "public addresses are allowed");
        }
        assert!(home.allows(ip("192.168.1.20")) && home.allows(ip("10.1.2.3")));
        assert!(!home.allows(ip("100.64.0.1")) && !home.allows(ip("fd00::1")));
        assert!(!public_service.allows(ip("192.168.1.20")));
        assert!(everything.allows(ip("100.64.0.1")));
        let lab = OutboundPolicy::parse(&["127.0.0.1/32".into()]).expect("lab");
        assert!(lab.allows(ip("127.0.0.1")), "named specifically");
        assert!(!lab.allows(ip("127.0.0.2")) && !lab.allows(ip("169.254.169.254")));
    }

    #[tokio::test]
    async fn a_name_resolves_once_to_a_checked_address() {
        let home = OutboundPolicy::parse(&RFC1918.map(String::from)).expect("policy");
        assert_eq!(home.resolve("localhost", 554).await, Err(Refusal::Refused));
        assert_eq!(home.resolve("[::1]", 554).await, Err(Refusal::Refused));
        let lan: SocketAddr = "192.168.3.4:554".parse().expect("addr");
        assert_eq!(home.resolve("192.168.3.4", 554).await, Ok(lan));
        assert_eq!(home.resolve("no-such-host.invalid", 554).await, Err(Refusal::Unresolved));
        let lab = OutboundPolicy::parse(&["127.0.0.1/32".into(), "::1/128".into()]).expect("lab");
        let got = lab.resolve("localhost", 8554).await.expect("allowed");
        assert!(got.ip().is_loopback() && got.port() == 8554, "{got}");
    }
}
