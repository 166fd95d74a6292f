//! A real coturn (Debian's `coturn` package, `turnserver`) for one test, configured from the
//! deployment template `deploy/coturn/turnserver.conf.template` with the test's addresses:
//! TURN over UDP and TCP on a free port, TLS on another (a self-signed certificate), TURN REST
//! credentials (`use-auth-secret`) with the test's secret, relaying only to the Kankan
//! server's address. Killed on drop.

use std::net::{Ipv4Addr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

/// The deployment template the test runs.
pub const TEMPLATE: &str = include_str!("../../../deploy/coturn/turnserver.conf.template");

/// What the template is filled with.
#[derive(Debug, Clone)]
pub struct CoturnConfig {
    /// Where coturn listens and relays.
    pub ip: Ipv4Addr,
    /// The only peer it relays to: the Kankan server's `webrtc.ips`.
    pub peer: Ipv4Addr,
    /// The TURN REST shared secret (Kankan's `webrtc.turn_secret`).
    pub secret: String,
}

/// A running `turnserver`.
pub struct Coturn {
    child: Child,
    dir: tempfile::TempDir,
    /// TURN over UDP and TCP.
    pub port: u16,
    /// TURN over TLS.
    pub tls_port: u16,
    pub ip: Ipv4Addr,
}

/// Fills `${NAME}` in `template` from `vars`; a name left unfilled is an error.
pub fn fill(template: &str, vars: &[(&str, String)]) -> Result<String> {
    let mut out = template.to_owned();
    for (name, value) in vars {
        out = out.replace(&format!("${{{name}}}"), value);
    }
    if let Some(at) = out.find("${") {
        let name: String = out[at..].chars().take_while(|c| *c != '}').collect();
        bail!("the coturn template's {name}}} was not filled");
    }
    Ok(out)
}

/// A TCP port free on `ip` a moment ago.
fn free_port(ip: Ipv4Addr) -> Result<u16> {
    let l = std::net::TcpListener::bind((ip, 0)).context("probing for a free port")?;
    Ok(l.local_addr()?.port())
}

impl Coturn {
    /// Starts coturn and waits until it accepts TCP on its port.
    pub fn start(config: &CoturnConfig) -> Result<Coturn> {
        crate::netns::require(&["turnserver"], "coturn")?;
        let dir = tempfile::tempdir()?;
        let (cert, key) = kankan_crypto::tls::self_signed(&["turn.test".to_owned()])
            .map_err(|e| anyhow::anyhow!("certificate: {e}"))?;
        std::fs::write(dir.path().join("cert.pem"), cert)?;
        std::fs::write(dir.path().join("key.pem"), key)?;
        let port = free_port(config.ip)?;
        let tls_port = free_port(config.ip)?;
        // The relay range: 200 ports somewhere high, by the port coturn got.
        let relay_min = 20_000 + (port % 200) * 200;
        let ip = config.ip.to_string();
        let path = |name: &str| dir.path().join(name).display().to_string();
        let conf = fill(
            TEMPLATE,
            &[
                ("TURN_LISTEN_IP", ip.clone()),
                ("TURN_PORT", port.to_string()),
                ("TURN_TLS_PORT", tls_port.to_string()),
                ("TURN_CERT", path("cert.pem")),
                ("TURN_PKEY", path("key.pem")),
                ("TURN_RELAY_IP", ip.clone()),
                ("TURN_EXTERNAL_IP", ip.clone()),
                ("TURN_RELAY_MIN", relay_min.to_string()),
                ("TURN_RELAY_MAX", (relay_min + 199).to_string()),
                ("TURN_SECRET", config.secret.clone()),
                ("TURN_REALM", "kankan.test".into()),
                ("KANKAN_WEBRTC_IP", config.peer.to_string()),
                ("TURN_LOG_FILE", path("turnserver.log")),
            ],
        )?;
        let conf_path = dir.path().join("turnserver.conf");
        std::fs::write(&conf_path, conf)?;
        let turnserver = crate::netns::which("turnserver").context("turnserver")?;
        let child = Command::new(turnserver)
            .arg("-c")
            .arg(&conf_path)
            .args(["--pidfile", &path("turnserver.pid"), "--no-stdout-log"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(dir.path().join("stderr.log"))?))
            .spawn()
            .context("starting turnserver")?;
        let mut coturn = Coturn { child, dir, port, tls_port, ip: config.ip };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect_timeout(&(config.ip, port).into(), Duration::from_millis(200))
            .is_err()
        {
            if let Some(status) = coturn.child.try_wait()? {
                bail!("turnserver exited with {status}:\n{}", coturn.log());
            }
            if Instant::now() > deadline {
                bail!("turnserver did not listen on {ip}:{port} within 15 s:\n{}", coturn.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(coturn)
    }

    /// `turn:` URLs over UDP and TCP, and the `turns:` URL.
    pub fn urls(&self) -> Vec<String> {
        vec![
            format!("turn:{}:{}?transport=udp", self.ip, self.port),
            format!("turn:{}:{}?transport=tcp", self.ip, self.port),
            format!("turns:{}:{}?transport=tcp", self.ip, self.tls_port),
        ]
    }

    /// The log so far (coturn's own file and its stderr).
    pub fn log(&self) -> String {
        let read =
            |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!("{}{}", read("turnserver.log"), read("stderr.log"))
    }

    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_fills_completely_or_says_what_is_missing() {
        let err = fill(TEMPLATE, &[]).expect_err("nothing filled");
        assert!(err.to_string().contains("${"), "{err}");
        assert!(TEMPLATE.contains("use-auth-secret"));
        assert!(TEMPLATE.contains("static-auth-secret=${TURN_SECRET}"));
    }
}
