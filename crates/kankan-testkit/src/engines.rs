//! Real engines a multi-node test runs beside the `kankan` nodes: a throwaway PostgreSQL
//! cluster, a Mosquitto broker and nginx, each on a free loopback port, each killed (and its
//! files removed) on drop. A missing binary is an error naming the Debian package, never a
//! skipped test.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Waits until something accepts connections at `addr`, or `child` exits.
fn wait_listening(addr: SocketAddr, child: &mut Child, what: &str, log: &Path) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Some(status) = child.try_wait()? {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            bail!("{what} exited with {status} before listening on {addr}; log:\n{log}");
        }
        ensure!(Instant::now() < deadline, "{what} did not listen on {addr} within 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn need(path: &str, package: &str) -> Result<PathBuf> {
    let p = PathBuf::from(path);
    ensure!(p.exists(), "{path} is missing: install Debian's {package} (scripts/test does)");
    Ok(p)
}

/// A PostgreSQL cluster of its own (as scripts/pg-cluster makes one): trust authentication on
/// 127.0.0.1, durability off.
pub struct Postgres {
    pub url: String,
    bin: PathBuf,
    data: PathBuf,
    as_pg: bool,
    _dir: tempfile::TempDir,
}

impl Postgres {
    pub fn start() -> Result<Postgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .context("PostgreSQL is missing: install Debian's postgresql (scripts/test does)")?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").exists())
            .max()
            .context("no initdb under /usr/lib/postgresql")?;
        let dir = tempfile::Builder::new().prefix("kankan-pg").tempdir()?;
        let as_pg = is_root();
        if as_pg {
            // initdb refuses to run as root.
            let ok = Command::new("chown").arg("postgres:").arg(dir.path()).status()?.success();
            ensure!(ok, "chown postgres {}", dir.path().display());
        }
        let run = |tool: &str| {
            let mut c = if as_pg {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
                c
            } else {
                Command::new(bin.join(tool))
            };
            c.stdout(Stdio::null()).stderr(Stdio::null());
            c
        };
        let data = dir.path().join("data");
        let ok = run("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "kankan", "--auth=trust", "--no-locale", "-E", "UTF8"])
            .status()?
            .success();
        ensure!(ok, "initdb failed");
        let port = free_port()?;
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            dir.path().display()
        );
        let ok = run("pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.path().join("server.log"))
            .args(["-w", "start", "-o", &opts])
            .status()?
            .success();
        ensure!(ok, "pg_ctl start failed");
        let url = format!("postgres://kankan@127.0.0.1:{port}/postgres");
        Ok(Postgres { url, bin, data, as_pg, _dir: dir })
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let mut c = if self.as_pg {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join("pg_ctl"));
            c
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        let _ = c
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// A lab Mosquitto for several server nodes: plain TCP, anonymous devices, shared
/// subscriptions (Mosquitto 2.0 has them on). A production broker authenticates devices and
/// enforces the topic rules (`kankan_gateway::external`'s docs).
pub struct Mosquitto {
    pub addr: SocketAddr,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Mosquitto {
    pub fn start() -> Result<Mosquitto> {
        let bin = need("/usr/sbin/mosquitto", "mosquitto")?;
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let mut conf = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\nmax_packet_size 70000\n\
             persistence false\nlog_dest stderr\nmax_queued_messages 10000\n"
        );
        if is_root() {
            // Mosquitto would switch to its own user, which cannot read the temp dir.
            conf += "user root\n";
        }
        let conf_path = dir.path().join("mosquitto.conf");
        std::fs::write(&conf_path, conf)?;
        let log = dir.path().join("mosquitto.log");
        let mut child = Command::new(bin)
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log)?))
            .spawn()
            .context("starting mosquitto")?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        wait_listening(addr, &mut child, "mosquitto", &log)?;
        Ok(Mosquitto { addr, child, _dir: dir })
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// nginx in front of the nodes, configured from a site file such as the repository's
/// `deploy/nginx/kankan.conf`: its lines marked `# kankan:servers` become one `server` line
/// per node, the one marked `# kankan:listen` listens on `port` of 127.0.0.1.
pub struct Nginx {
    pub addr: SocketAddr,
    child: Child,
    dir: tempfile::TempDir,
}

impl Nginx {
    pub fn start(site: &Path, port: u16, nodes: &[SocketAddr]) -> Result<Nginx> {
        let bin = need("/usr/sbin/nginx", "nginx")?;
        let dir = tempfile::tempdir()?;
        let template =
            std::fs::read_to_string(site).with_context(|| format!("reading {}", site.display()))?;
        let site = fill_site(&template, port, nodes)?;
        std::fs::write(dir.path().join("kankan.conf"), site)?;
        let d = dir.path().display();
        let user = if is_root() { "user root;\n" } else { "" };
        let main = format!(
            "{user}worker_processes 2;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
             daemon off;\nevents {{ worker_connections 1024; }}\n\
             http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n\
             proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n\
             uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
             include {d}/kankan.conf;\n}}\n"
        );
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, main)?;
        let mut child = Command::new(bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(dir.path().join("stderr.log"))?))
            .spawn()
            .context("starting nginx")?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        wait_listening(addr, &mut child, "nginx", &dir.path().join("stderr.log"))?;
        Ok(Nginx { addr, child, dir })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// nginx's error log (upstream failures and retries).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The site file with this test's listening port and nodes.
pub fn fill_site(template: &str, port: u16, nodes: &[SocketAddr]) -> Result<String> {
    let mut out = String::new();
    let (mut servers, mut listen) = (false, false);
    for line in template.lines() {
        // A mark ends a directive's line; comment lines only mention it.
        let marked = |mark: &str| !line.trim_start().starts_with('#') && line.ends_with(mark);
        if marked("# kankan:servers") {
            if !servers {
                // The first marked line's parameters, with each node's address.
                let (indent, rest) = line.split_once("server ").unwrap_or(("    ", ";"));
                let params = rest.split_once(' ').map_or(";", |(_, p)| p);
                let params = params.split(" #").next().unwrap_or(";").trim_end();
                for n in nodes {
                    out += &format!("{indent}server {n} {params}\n");
                }
            }
            servers = true;
        } else if marked("# kankan:listen") {
            out += &format!("    listen 127.0.0.1:{port};\n");
            listen = true;
        } else {
            out += line;
            out.push('\n');
        }
    }
    ensure!(servers && listen, "the site file lacks its kankan:servers or kankan:listen marks");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_gets_one_server_line_per_node_with_the_templates_parameters() {
        let t = "# names # kankan:servers in prose\nupstream u {\n    hash $k consistent;\n    \
                 server 10.0.0.1:80 max_fails=0;  # kankan:servers\n    \
                 server 10.0.0.2:80 max_fails=0;  # kankan:servers\n}\n\
                 server {\n    listen 80;  # kankan:listen\n}\n";
        let nodes = ["127.0.0.1:1".parse().expect("addr"), "127.0.0.1:2".parse().expect("addr")];
        let site = fill_site(t, 9, &nodes).expect("filled");
        assert_eq!(
            site,
            "# names # kankan:servers in prose\nupstream u {\n    hash $k consistent;\n    \
             server 127.0.0.1:1 max_fails=0;\n    server 127.0.0.1:2 max_fails=0;\n}\n\
             server {\n    listen 127.0.0.1:9;\n}\n"
        );
        assert!(fill_site("server {}\n", 9, &nodes).is_err(), "marks are required");
    }
}
