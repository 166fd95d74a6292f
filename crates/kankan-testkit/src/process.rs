//! The `kankan` binary as a child process: real start-up, real signals, logs to a file.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

/// A `kankan serve` child whose stderr goes to `<data_dir>/kankan.log`.
pub struct ServerProcess {
    child: Option<Child>,
    pub base_url: String,
    pub data_dir: PathBuf,
    pub log_path: PathBuf,
}

impl ServerProcess {
    /// Starts `bin serve` on a free loopback port with `data_dir`, plus extra `env`.
    pub async fn start(bin: &Path, data_dir: &Path, env: &[(&str, &str)]) -> Result<ServerProcess> {
        let mut all = vec![("KANKAN__GATEWAY__LISTEN", "127.0.0.1:0")];
        all.extend_from_slice(env);
        Self::spawn(bin, data_dir, None, &all).await
    }

    /// Starts `bin --config config serve` (one node of several: its gateway is what the file
    /// says) on a free loopback port with `data_dir`, plus extra `env`.
    pub async fn start_node(
        bin: &Path,
        data_dir: &Path,
        config: &Path,
        env: &[(&str, &str)],
    ) -> Result<ServerProcess> {
        Self::spawn(bin, data_dir, Some(config), env).await
    }

    async fn spawn(
        bin: &Path,
        data_dir: &Path,
        config: Option<&Path>,
        env: &[(&str, &str)],
    ) -> Result<ServerProcess> {
        std::fs::create_dir_all(data_dir)?;
        let log_path = data_dir.join("kankan.log");
        let log = std::fs::File::create(&log_path)?;
        let mut cmd = Command::new(bin);
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        cmd.arg("serve")
            .env("KANKAN__DATA_DIR", data_dir)
            .env("KANKAN__SERVER__LISTEN", "127.0.0.1:0")
            .env("KANKAN_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().with_context(|| format!("starting {}", bin.display()))?;
        let mut proc = ServerProcess {
            child: Some(child),
            base_url: String::new(),
            data_dir: data_dir.to_path_buf(),
            log_path,
        };
        let addr =
            proc.wait_for_log_field("kankan is serving", "addr=", Duration::from_secs(30))?;
        proc.base_url = format!("http://{addr}");
        let http = crate::http_client();
        crate::wait_ready(&http, &format!("{}/readyz", proc.base_url), Duration::from_secs(20))
            .await?;
        Ok(proc)
    }

    /// Polls the log for a line containing `marker` and returns the value after `field`.
    fn wait_for_log_field(
        &mut self,
        marker: &str,
        field: &str,
        timeout: Duration,
    ) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
            let found = log.lines().filter(|l| l.contains(marker)).find_map(|l| {
                let rest = l.split(field).nth(1)?;
                Some(rest.split_whitespace().next()?.trim_matches('"').to_string())
            });
            if let Some(v) = found {
                return Ok(v);
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                bail!("kankan exited with {status} before serving; log:\n{log}");
            }
            if Instant::now() > deadline {
                bail!("kankan did not log {marker:?} within {timeout:?}; log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The address it serves HTTP on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.base_url.trim_start_matches("http://").parse().expect("the logged address")
    }

    /// Kills the process at once (SIGKILL, like a power cut) and waits for it.
    pub fn kill(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else { bail!("already stopped") };
        child.kill()?;
        child.wait()?;
        Ok(())
    }

    /// Sends SIGTERM and waits for the exit code.
    pub fn terminate(&mut self) -> Result<i32> {
        let Some(mut child) = self.child.take() else { bail!("already stopped") };
        let status = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status()?;
        if !status.success() {
            bail!("kill -TERM failed");
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(s) = child.try_wait()? {
                return Ok(s.code().unwrap_or(-1));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("kankan did not stop within 20 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
