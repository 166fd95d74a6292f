//! A local RTSP camera for tests: `scripts/rtsp_server.py` (GStreamer's gst-rtsp-server, run
//! by Debian's `/usr/bin/python3`) streaming a live H.264 test pattern, 320x180 at 15 fps with
//! a keyframe a second, behind Basic authentication.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

/// Debian's Python, which has `gi` (the pyenv one does not).
const PYTHON: &str = "/usr/bin/python3";

/// Lets the server record cameras on 127.0.0.1, where [`RtspCamera`] listens. The default
/// `cameras.allowed_networks` refuses loopback (a user must not reach the server's own
/// services through a camera URL); a lab allows it with an entry naming it, as tests do here.
pub fn allow_loopback_cameras(config: &mut kankan_server::Config) {
    config.cameras.allowed_networks = vec!["127.0.0.1/32".into()];
}

/// A running RTSP camera; killed on drop.
pub struct RtspCamera {
    child: Option<Child>,
    pub port: u16,
    pub path: String,
    pub user: String,
    pub password: String,
    /// Raw I420 frames streamed instead of the test pattern: the file, its size and rate.
    raw: Option<(PathBuf, (u32, u32), u32)>,
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl RtspCamera {
    /// Starts a camera on a free port with those credentials; waits until it listens.
    pub async fn start(user: &str, password: &str) -> Result<RtspCamera> {
        Self::start_with(user, password, None).await
    }

    /// A camera streaming `file`'s raw I420 frames of `size` at `fps` (once) instead of the
    /// test pattern.
    pub async fn start_raw(
        user: &str,
        password: &str,
        file: &std::path::Path,
        size: (u32, u32),
        fps: u32,
    ) -> Result<RtspCamera> {
        Self::start_with(user, password, Some((file.to_path_buf(), size, fps))).await
    }

    async fn start_with(
        user: &str,
        password: &str,
        raw: Option<(PathBuf, (u32, u32), u32)>,
    ) -> Result<RtspCamera> {
        let mut cam = RtspCamera {
            child: None,
            port: free_port(),
            path: "cam".into(),
            user: user.into(),
            password: password.into(),
            raw,
        };
        cam.spawn().await?;
        Ok(cam)
    }

    /// `rtsp://127.0.0.1:PORT/cam`, without credentials.
    pub fn url(&self) -> String {
        format!("rtsp://127.0.0.1:{}/{}", self.port, self.path)
    }

    /// Kills the server (the camera "loses power").
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port.
    pub async fn restart(&mut self) -> Result<()> {
        self.kill();
        self.spawn().await
    }

    async fn spawn(&mut self) -> Result<()> {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts").join("rtsp_server.py");
        let (port, path, user, password) =
            (self.port.to_string(), self.path.clone(), self.user.clone(), self.password.clone());
        // The port may linger briefly after a kill: retry a few times.
        for _ in 0..20 {
            let mut cmd = Command::new(PYTHON);
            cmd.arg(&script).args([
                "--port",
                &port,
                "--path",
                &path,
                "--user",
                &user,
                "--password",
                &password,
            ]);
            if let Some((file, (w, h), fps)) = &self.raw {
                cmd.arg("--raw").arg(file).args(["--size", &format!("{w}x{h}")]);
                cmd.args(["--fps", &fps.to_string()]);
            }
            let mut child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .with_context(|| {
                    format!("starting {PYTHON} {} (scripts/test installs it)", script.display())
                })?;
            let stdout = child.stdout.take().context("stdout")?;
            let ready = tokio::task::spawn_blocking(move || {
                let mut line = String::new();
                BufReader::new(stdout).read_line(&mut line).map(|_| line.trim() == "ready")
            });
            match tokio::time::timeout(Duration::from_secs(20), ready).await {
                Ok(Ok(Ok(true))) => {
                    self.child = Some(child);
                    return Ok(());
                }
                Err(_) => {
                    let _ = child.kill();
                    bail!("the RTSP server did not print ready within 20 s");
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
        bail!("the RTSP server could not listen on port {port}")
    }
}

impl Drop for RtspCamera {
    fn drop(&mut self) {
        self.kill();
    }
}
