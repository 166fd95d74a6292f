//! The outbound target guard: push endpoints and webhook URLs come from users, so a request to
//! one must not reach the server's own network (server-side request forgery). A target is
//! allowed only when its host resolves to public addresses alone.
//!
//! Three layers:
//! - [`is_public`] classifies one address with [`kankan_base::net`] (loopback, RFC 1918,
//!   link-local, CGNAT, unique-local, unspecified, multicast, documentation and other special
//!   ranges are not public; an IPv4 address embedded in IPv6 — mapped, compatible, NAT64,
//!   6to4 — is judged as itself), and this host's own addresses are not public either;
//! - [`check_url`] resolves a URL's host and refuses it if any address is not public (used when
//!   a target is registered, and again before each send);
//! - [`PublicOnly`] is a `reqwest` resolver that does the same at connection time, so the
//!   address connected to is one that was checked (a name re-pointed between check and connect
//!   fails instead of reaching a private address). Use it with [`guarded_client`], which also
//!   turns off proxies (the guard must see the real target).
//!
//! A household that wants webhooks to its LAN turns the guard off in the server's
//! configuration (`notify.allow_private_targets`).
//!
//! The same guard under an operator's allow-list ([`OutboundPolicy`], as for RTSP cameras):
//! [`check_url_with`] and [`PolicyResolver`] / [`policy_client`] for targets the operator
//! configures but whose data is a user's (the AI description endpoint): its name is resolved
//! once per connection, every address checked against the policy, and only the checked address
//! connected to.

use std::net::{IpAddr, SocketAddr};

use kankan_base::net::{self, OutboundPolicy};

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

/// Whether `ip` is a public unicast address that is not one of this host's own: what a
/// user-supplied URL may reach (the classifier is shared with camera addresses, see
/// [`kankan_base::net`]).
pub fn is_public(ip: IpAddr) -> bool {
    net::is_public(ip) && !net::is_own_address(ip)
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

/// [`check_url`] under `policy`: http(s), a host, and an IP literal the policy allows. A name is
/// checked when connecting ([`PolicyResolver`]), so a name re-pointed later is refused then.
pub fn check_url_with(url: &str, policy: &OutboundPolicy) -> Result<url::Url, TargetError> {
    let parsed =
        url::Url::parse(url).map_err(|_| TargetError::Invalid("is not a URL".to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(TargetError::Invalid("must start with https:// or http://".to_string()));
    }
    let literal = match parsed.host() {
        None => return Err(TargetError::Invalid("has no host".to_string())),
        Some(url::Host::Ipv4(a)) => Some(IpAddr::V4(a)),
        Some(url::Host::Ipv6(a)) => Some(IpAddr::V6(a)),
        Some(url::Host::Domain(_)) => None,
    };
    match literal {
        Some(ip) if !policy.allows(ip) => Err(TargetError::Private),
        _ => Ok(parsed),
    }
}

/// A `reqwest` resolver under an [`OutboundPolicy`]: resolves the name once, refuses it with
/// [`PrivateTargetError`] when any address is outside the policy, and answers the one checked
/// address (so the connection goes there and nowhere else).
#[derive(Debug, Clone, Default)]
pub struct PolicyResolver(pub OutboundPolicy);

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (host, policy) = (name.as_str().to_string(), self.0.clone());
        Box::pin(async move {
            match policy.resolve(&host, 0).await {
                Ok(addr) => Ok(Box::new(std::iter::once(addr)) as reqwest::dns::Addrs),
                Err(net::Refusal::Refused) => Err(Box::new(PrivateTargetError { host }) as _),
                Err(net::Refusal::Unresolved) => Err(format!("{host} does not resolve").into()),
            }
        })
    }
}

/// A client builder for a target under `policy` ([`PolicyResolver`], no proxy). Check IP
/// literals with [`check_url_with`] first: resolvers never see them.
pub fn policy_client(policy: OutboundPolicy) -> reqwest::ClientBuilder {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::builder().no_proxy().dns_resolver(PolicyResolver(policy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classifier_is_kankan_base_s_and_the_host_s_own_addresses_are_not_public() {
        // The table of ranges is tested in kankan_base::net.
        for text in ["8.8.8.8", "2606:4700:4700::1111"] {
            assert!(is_public(text.parse().expect(text)), "{text}");
        }
        for text in ["127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "fe80::1"] {
            assert!(!is_public(text.parse().expect(text)), "{text}");
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

    #[tokio::test]
    async fn under_a_policy_loopback_is_reached_only_when_listed() {
        let closed = OutboundPolicy::default();
        let lab = OutboundPolicy::parse(&["127.0.0.0/8".into()]).expect("policy");
        let url = "http://127.0.0.1:9/v1";
        assert_eq!(check_url_with(url, &closed), Err(TargetError::Private));
        assert!(check_url_with(url, &lab).is_ok());
        assert!(check_url_with("ftp://127.0.0.1/", &lab).is_err());

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let client = policy_client(closed).build().expect("client");
        let err = client
            .get(format!("http://localhost:{port}/"))
            .send()
            .await
            .expect_err("localhost is refused");
        assert!(is_private_target_error(&err), "{err:?}");
    }
}
