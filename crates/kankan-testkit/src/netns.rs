//! A viewer behind a NAT, made of network namespaces for one test: the test's own namespace
//! is the server side (the "internet" with the server and the TURN server on it), a `nat`
//! namespace routes and masquerades, and a `viewer` namespace sits behind it.
//!
//! ```text
//!  test's namespace                 nat namespace                    viewer namespace
//!  server_ip, turn_ip  ── veth ──  10.N.1.2  (MASQUERADE)  10.N.2.1 ── veth ──  viewer_ip
//!      10.N.1.0/24                  drops forwarded UDP from the viewer        default via 10.N.2.1
//! ```
//!
//! The viewer reaches the server side only through the NAT; [`NatLab::block_udp_to`] drops
//! its UDP to one address (the server's: direct UDP fails, a TURN server over UDP works) and
//! [`NatLab::block_udp`] all of it (only TCP gets out: HTTP, and a TURN server over TCP).
//! [`NatLab::netem`] slows the router's links where the kernel has `tc netem`, and
//! [`NatLab::lose_towards_viewer`] loses packets at random with iptables where it has not. Nothing from the server side reaches
//! the viewer unless the viewer spoke first (no route into 10.N.2.0/24). Needs root and `ip`,
//! `iptables` and `tc` (Debian: iproute2, iptables); [`NatLab::create`] fails with a clear
//! message without them. Dropping the lab deletes the namespaces and the veth.

use std::net::Ipv4Addr;
use std::process::Command;

use anyhow::{Context as _, Result, bail};

/// Fails unless this process is root and every tool of `tools` is on the PATH (or in /sbin).
pub fn require(tools: &[&str], apt: &str) -> Result<()> {
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false);
    if !root {
        bail!(
            "this test needs root (network namespaces, iptables, tc): run it as root, as CI does"
        );
    }
    let missing: Vec<&str> = tools.iter().copied().filter(|t| which(t).is_none()).collect();
    if !missing.is_empty() {
        bail!("this test needs {} on the PATH: apt-get install {apt}", missing.join(", "));
    }
    Ok(())
}

/// The full path of `tool`, looking on the PATH and in the sbin directories.
pub fn which(tool: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"])
        .map(|d| std::path::Path::new(d).join(tool))
        .find(|p| p.is_file())
}

/// Runs a command line of words (optionally in namespace `ns`), failing with its stderr.
fn sh(ns: Option<&str>, line: &str) -> Result<()> {
    let mut words: Vec<&str> = line.split_whitespace().collect();
    if words.first() == Some(&"iptables") {
        // Wait for the xtables lock rather than fail while a concurrent test holds it.
        words.insert(1, "-w");
    }
    run(ns, &words)
}

/// Runs `ip`/`iptables`/`tc` (optionally in namespace `ns`), failing with its stderr.
fn run(ns: Option<&str>, args: &[&str]) -> Result<()> {
    let mut cmd = match ns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]);
            c.args(args);
            c
        }
        None => {
            let mut c = Command::new(args[0]);
            c.args(&args[1..]);
            c
        }
    };
    let out = cmd.output().with_context(|| format!("running {args:?}"))?;
    if !out.status.success() {
        bail!("{} failed: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// The namespaces and links of one NAT.
#[derive(Debug)]
pub struct NatLab {
    /// The namespace the viewer (a browser) runs in.
    pub viewer_ns: String,
    /// The router's namespace.
    pub nat_ns: String,
    /// The server's address on the server side (bind the server and `webrtc.ips` here).
    pub server_ip: Ipv4Addr,
    /// A second server-side address, for the TURN server.
    pub turn_ip: Ipv4Addr,
    /// The viewer's own (private) address.
    pub viewer_ip: Ipv4Addr,
    /// The router's address on the server side: what the server sees the viewer as.
    pub public_ip: Ipv4Addr,
    outside: String,
    nat_out: String,
    nat_in: String,
}

impl NatLab {
    /// Creates the namespaces, links, routes and the masquerade.
    pub fn create() -> Result<NatLab> {
        require(&["ip", "iptables", "tc"], "iproute2 iptables")?;
        // Names of our own (an interface name is at most 15 bytes): the process id and a
        // per-process counter, so concurrent tests and runs do not collide.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let id = format!("{:x}{n}", std::process::id() % 0xfffff);
        // A /16 of 10/8 that the id picks, away from the usual 10.0.x.x.
        let net = u8::try_from(100 + (std::process::id() + n) % 150).unwrap_or(200);
        let lab = NatLab {
            viewer_ns: format!("kkv-{id}"),
            nat_ns: format!("kkn-{id}"),
            server_ip: Ipv4Addr::new(10, net, 1, 1),
            turn_ip: Ipv4Addr::new(10, net, 1, 3),
            viewer_ip: Ipv4Addr::new(10, net, 2, 2),
            public_ip: Ipv4Addr::new(10, net, 1, 2),
            outside: format!("kko{id}"),
            nat_out: format!("kkno{id}"),
            nat_in: format!("kkni{id}"),
        };
        // Dropped on failure from here on: whatever was made is removed.
        lab.build().with_context(|| format!("building the NAT lab {}", lab.nat_ns))?;
        Ok(lab)
    }

    fn build(&self) -> Result<()> {
        let (v, r) = (Some(self.viewer_ns.as_str()), Some(self.nat_ns.as_str()));
        let net = self.server_ip.octets()[1];
        let (outside, nat_out, nat_in) = (&self.outside, &self.nat_out, &self.nat_in);
        sh(None, &format!("ip netns add {}", self.nat_ns))?;
        sh(None, &format!("ip netns add {}", self.viewer_ns))?;
        for ns in [r, v] {
            sh(ns, "ip link set lo up")?;
        }
        // The server side and the router.
        sh(None, &format!("ip link add {outside} type veth peer name {nat_out}"))?;
        sh(None, &format!("ip link set {nat_out} netns {}", self.nat_ns))?;
        for ip in [self.server_ip, self.turn_ip] {
            sh(None, &format!("ip addr add {ip}/24 dev {outside}"))?;
        }
        sh(None, &format!("ip link set {outside} up"))?;
        sh(r, &format!("ip addr add {}/24 dev {nat_out}", self.public_ip))?;
        sh(r, &format!("ip link set {nat_out} up"))?;
        // The router and the viewer.
        sh(r, &format!("ip link add {nat_in} type veth peer name eth0"))?;
        sh(r, &format!("ip link set eth0 netns {}", self.viewer_ns))?;
        sh(r, &format!("ip addr add 10.{net}.2.1/24 dev {nat_in}"))?;
        sh(r, &format!("ip link set {nat_in} up"))?;
        sh(v, &format!("ip addr add {}/24 dev eth0", self.viewer_ip))?;
        sh(v, "ip link set eth0 up")?;
        sh(v, &format!("ip route add default via 10.{net}.2.1"))?;
        // Routing with a masquerade: the server side sees the viewer as the router's address.
        sh(r, "sysctl -qw net.ipv4.ip_forward=1")?;
        sh(r, &format!("iptables -t nat -A POSTROUTING -o {nat_out} -j MASQUERADE"))?;
        // Random loss towards the viewer goes in a chain of its own (lose_towards_viewer).
        sh(r, "iptables -N KKLOSS")?;
        sh(r, &format!("iptables -A FORWARD -o {nat_in} -j KKLOSS"))?;
        Ok(())
    }

    /// Drops every UDP packet the viewer sends through the router (a firewall that blocks
    /// UDP): only TCP gets out, so WebRTC must relay through a TURN server over TCP.
    pub fn block_udp(&self) -> Result<()> {
        sh(Some(&self.nat_ns), &format!("iptables -A FORWARD -i {} -p udp -j DROP", self.nat_in))
    }

    /// Drops the UDP packets the viewer sends to `ip` (a NAT whose mapping the server cannot
    /// use, or a firewall): UDP elsewhere, e.g. to a TURN server, still gets out.
    pub fn block_udp_to(&self, ip: Ipv4Addr) -> Result<()> {
        let rule = format!("iptables -A FORWARD -i {} -d {ip} -p udp -j DROP", self.nat_in);
        sh(Some(&self.nat_ns), &rule)
    }

    /// Drops the viewer's TCP connections to `addr` (a firewall that lets only some ports out).
    pub fn block_tcp_to(&self, addr: std::net::SocketAddr) -> Result<()> {
        let (ip, port) = (addr.ip(), addr.port());
        let rule =
            format!("iptables -A FORWARD -i {} -d {ip} -p tcp --dport {port} -j DROP", self.nat_in);
        sh(Some(&self.nat_ns), &rule)
    }

    /// Whether this kernel has `tc netem` (`CONFIG_NET_SCH_NETEM`; some VM kernels lack it).
    pub fn has_netem(&self) -> bool {
        let r = Some(self.nat_ns.as_str());
        let ok =
            sh(r, &format!("tc qdisc replace dev {} root netem delay 0ms", self.nat_in)).is_ok();
        if ok {
            let _ = sh(r, &format!("tc qdisc del dev {} root", self.nat_in));
        }
        ok
    }

    /// Slows the router's links with `tc netem`: `one_way_ms` each way (a round trip of twice
    /// that) and `loss_pct` percent of the packets towards the viewer lost.
    pub fn netem(&self, one_way_ms: u32, loss_pct: f32) -> Result<()> {
        let r = Some(self.nat_ns.as_str());
        let q = format!("root netem delay {one_way_ms}ms");
        sh(r, &format!("tc qdisc replace dev {} {q}", self.nat_out))?;
        sh(r, &format!("tc qdisc replace dev {} {q} loss {loss_pct}%", self.nat_in))
    }

    /// Loses `loss_pct` percent of the packets the router forwards to the viewer, at random
    /// (iptables' statistic match: loss without `tc netem`).
    pub fn lose_towards_viewer(&self, loss_pct: f32) -> Result<()> {
        let p = format!("{:.4}", loss_pct / 100.0);
        let rule =
            format!("iptables -A KKLOSS -m statistic --mode random --probability {p} -j DROP");
        sh(Some(&self.nat_ns), &rule)
    }

    /// Back to the links' own speed: no netem, no random loss.
    pub fn clear_netem(&self) -> Result<()> {
        for dev in [&self.nat_out, &self.nat_in] {
            let _ = sh(Some(&self.nat_ns), &format!("tc qdisc del dev {dev} root"));
        }
        sh(Some(&self.nat_ns), "iptables -F KKLOSS")
    }
}

impl Drop for NatLab {
    fn drop(&mut self) {
        // Deleting a namespace deletes its interfaces, and a veth goes with its peer.
        for ns in [&self.viewer_ns, &self.nat_ns] {
            let _ = run(None, &["ip", "netns", "del", ns]);
        }
        let _ = run(None, &["ip", "link", "del", &self.outside]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_tool_or_root_is_an_error_that_says_what_to_install() {
        let err = require(&["ip", "kankan-no-such-tool"], "kankan-no-such-package")
            .expect_err("never satisfied");
        let msg = err.to_string();
        assert!(
            msg.contains("needs root") || msg.contains("apt-get install kankan-no-such-package"),
            "{msg}"
        );
        assert!(!msg.contains("needs kankan-no-such-tool, ip"), "only what is missing: {msg}");
    }
}
