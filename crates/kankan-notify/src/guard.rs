//! The outbound target guard: push endpoints and webhook URLs come from users, so a request to
//! one must not reach the server's own network (server-side request forgery). A target is
//! allowed only when its host resolves to public addresses alone.
//!
//! Three layers:
//! - [`is_public`] classifies one address (loopback, RFC 1918, link-local, CGNAT, unique-local,
//!   unspecified, multicast, documentation and other special ranges are not public; an IPv4
//!   address embedded in IPv6 — mapped, compatible, NAT64, 6to4 — is judged as itself);
//! - [`check_url`] resolves a URL's host and refuses it if any address is not public (used when
//!   a target is registered, and again before each send);
//! - [`PublicOnly`] is a `reqwest` resolver that does the same at connection time, so the
//!   address connected to is one that was checked (a name re-pointed between check and connect
//!   fails instead of reaching a private address). Use it with [`guarded_client`], which also
//!   turns off proxies (the guard must see the real target).
//!
//! A household that wants webhooks to its LAN turns the guard off in the server's
//! configuration (`notify.allow_private_targets`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why a target was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not an http(s) URL with a host.
    #[error("{0}")]
    Invalid(String),
    /// The host is, or resolves to, an address that is not public.
    #[error("points at a private address")]
    Private,
}

/// The error [`PublicOnly`] fails a connection with; found in a `reqwest::Error`'s sources by
/// [`is_private_target_error`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("{host} resolves to a private address; not connecting")]
pub struct PrivateTargetError {
    pub host: String,
}

/// Whether `ip` is a public unicast address a user-supplied URL may reach.
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

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let seg = ip.segments();
    // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d, which includes :: and ::1):
    // judged as the IPv4 address they carry.
    if seg[..5] == [0; 5] && (seg[5] == 0xffff || seg[5] == 0) {
        return is_public_v4(v4_at(&seg, 6));
    }
    // NAT64 well-known prefix 64:ff9b::/96 (a DNS64 network's view of IPv4 hosts).
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(v4_at(&seg, 6));
    }
    // 6to4 (2002:wwxx:yyzz::/48) reaches the IPv4 address it embeds.
    if seg[0] == 0x2002 {
        return is_public_v4(v4_at(&seg, 1));
    }
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

/// Checks `url` as an outbound target: http(s), a host, and (unless `allow_private`) a host
/// that is a public address or a name whose addresses are all public. A name that does not
/// resolve now passes: the check at send time (and [`PublicOnly`]) applies again.
pub async fn check_url(url: &str, allow_private: bool) -> Result<url::Url, TargetError> {
    let parsed =
        url::Url::parse(url).map_err(|_| TargetError::Invalid("is not a URL".to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(TargetError::Invalid("must start with https:// or http://".to_string()));
    }
    let Some(host) = parsed.host() else {
        return Err(TargetError::Invalid("has no host".to_string()));
    };
    if allow_private {
        return Ok(parsed);
    }
    let literal = match host {
        url::Host::Ipv4(a) => Some(IpAddr::V4(a)),
        url::Host::Ipv6(a) => Some(IpAddr::V6(a)),
        url::Host::Domain(_) => None,
    };
    if let Some(ip) = literal {
        return if is_public(ip) { Ok(parsed) } else { Err(TargetError::Private) };
    }
    let name = parsed.host_str().unwrap_or_default().to_string();
    let port = parsed.port_or_known_default().unwrap_or(443);
    match tokio::net::lookup_host((name.as_str(), port)).await {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.iter().all(|a| is_public(a.ip())) {
                Ok(parsed)
            } else {
                Err(TargetError::Private)
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, "outbound target does not resolve now");
            Ok(parsed)
        }
    }
}

/// A `reqwest` resolver that answers only when every address of the name is public, and
/// fails the connection with [`PrivateTargetError`] otherwise. (IP literals in URLs bypass
/// resolvers: [`check_url`] is what refuses those.)
#[derive(Debug, Clone, Copy, Default)]
pub struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() || !addrs.iter().all(|a| is_public(a.ip())) {
                return Err(Box::new(PrivateTargetError { host }) as _);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether `err` (or one of its sources) is [`PublicOnly`]'s refusal.
pub fn is_private_target_error(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if e.is::<PrivateTargetError>() {
            return true;
        }
        cur = e.source();
    }
    false
}

/// A client builder for user-supplied targets: [`PublicOnly`] resolution and no proxy (the
/// guard must see the real target), or a plain builder when private targets are allowed.
///
/// If no process-wide rustls crypto provider is installed yet, installs `ring`'s (the one the
/// server installs at start), since the HTTP client needs one.
pub fn guarded_client(allow_private: bool) -> reqwest::ClientBuilder {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race against another installer is fine: a provider is then installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    let builder = reqwest::Client::builder();
    if allow_private { builder } else { builder.no_proxy().dns_resolver(PublicOnly) }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let ip: IpAddr = text.parse().expect(text);
            assert_eq!(is_public(ip), *public, "{text}");
        }
    }

    #[tokio::test]
    async fn urls_must_be_http_with_a_public_host_unless_private_targets_are_allowed() {
        for ok in ["https://8.8.8.8/hook", "http://[2606:4700:4700::1111]:8080/x"] {
            assert!(check_url(ok, false).await.is_ok(), "{ok}");
        }
        for private in [
            "http://127.0.0.1:9000/h",
            "https://10.1.2.3/",
            "http://[::1]/",
            "http://[::ffff:192.168.0.1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://localhost:8123/api/webhook/x",
        ] {
            assert_eq!(check_url(private, false).await, Err(TargetError::Private), "{private}");
            assert!(check_url(private, true).await.is_ok(), "{private} allowed");
        }
        for bad in ["", "hooks.example.com", "ftp://x.example.com/", "file:///etc/passwd"] {
            assert!(matches!(check_url(bad, true).await, Err(TargetError::Invalid(_))), "{bad}");
        }
    }

    #[tokio::test]
    async fn the_guarded_client_refuses_to_connect_to_a_name_of_a_private_address() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let client = guarded_client(false).build().expect("client");
        let err = client
            .get(format!("http://localhost:{port}/"))
            .send()
            .await
            .expect_err("localhost is refused");
        assert!(is_private_target_error(&err), "{err:?}");
    }
}
