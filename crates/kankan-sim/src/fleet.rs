//! Many already-bound devices in one process, for load tests.
//!
//! Credentials come from the CSV the server's provisioning writes: a header line
//! `uid,model,secret`, then one device per line. Each device keeps its own state directory
//! (`<state-dir>/<UID>`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use kankan_base::ShutdownSignal;
use tokio::task::JoinSet;

use crate::config::{DeviceConfig, ServerAddr, Timings, is_valid_uid};
use crate::{Device, DeviceHandle, SimError};

/// One line of the credentials file.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub uid: String,
    pub model: String,
    pub secret: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("uid", &self.uid)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

/// Parses the credentials CSV: header `uid,model,secret` (columns in any order, extra
/// columns ignored), blank lines skipped. Fields may not contain commas or quotes (UIDs,
/// model names and base64url secrets never do).
pub fn parse_credentials(text: &str) -> Result<Vec<Credential>, SimError> {
    let mut lines =
        text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty());
    let (_, header) = lines
        .next()
        .ok_or(SimError::Credentials { line: 1, reason: "the file is empty".into() })?;
    let names: Vec<&str> = header.split(',').map(str::trim).collect();
    let col = |name: &str| {
        names.iter().position(|n| n.eq_ignore_ascii_case(name)).ok_or_else(|| {
            SimError::Credentials {
                line: 1,
                reason: format!("the header has no `{name}` column (expected uid,model,secret)"),
            }
        })
    };
    let (uid_at, model_at, secret_at) = (col("uid")?, col("model")?, col("secret")?);
    let mut out = Vec::new();
    for (line, text) in lines {
        let bad = |reason: String| SimError::Credentials { line, reason };
        if text.contains('"') {
            return Err(bad("quoted fields are not supported".into()));
        }
        let fields: Vec<&str> = text.split(',').map(str::trim).collect();
        if fields.len() != names.len() {
            return Err(bad(format!("{} fields, the header has {}", fields.len(), names.len())));
        }
        let (uid, model, secret) = (fields[uid_at], fields[model_at], fields[secret_at]);
        if !is_valid_uid(uid) {
            return Err(bad(format!("UID {uid:?} is not 6 to 32 of A-Z and 0-9")));
        }
        if model.is_empty() || secret.is_empty() {
            return Err(bad("empty model or secret".into()));
        }
        out.push(Credential { uid: uid.into(), model: model.into(), secret: secret.into() });
    }
    Ok(out)
}

/// How every device of a fleet runs.
#[derive(Debug, Clone)]
pub struct FleetOptions {
    pub server: ServerAddr,
    /// The server's TLS key, for `mqtts://` and `https://`.
    pub pin: Option<crate::tls::Pin>,
    /// Each device keeps its state in `<state_root>/<UID>`.
    pub state_root: PathBuf,
    pub timings: Timings,
    /// Spread the first connections over this long.
    pub ramp: Duration,
    /// The operator's firmware public key (base64url); `None`: updates refused.
    pub firmware_key: Option<String>,
    /// The server's HTTP base URL firmware is downloaded from.
    pub ingest_url: Option<String>,
    /// This percentage of the devices (chosen by [`fails_health`]) fail the health check of
    /// new firmware.
    pub fail_health_percent: u8,
}

impl FleetOptions {
    /// Devices on `server` with default timings, no ramp and no firmware key.
    pub fn new(server: ServerAddr, state_root: PathBuf) -> FleetOptions {
        FleetOptions {
            server,
            pin: None,
            state_root,
            timings: Timings::default(),
            ramp: Duration::ZERO,
            firmware_key: None,
            ingest_url: None,
            fail_health_percent: 0,
        }
    }
}

/// Whether device `uid` is among the `percent` % whose new firmware fails its health check:
/// a stable hash of the UID, so the same devices fail on every run.
pub fn fails_health(uid: &str, percent: u8) -> bool {
    let mut z = crate::config::fnv1a(uid.as_bytes());
    z = (z ^ (z >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
    z ^= z >> 33;
    z % 100 < u64::from(percent.min(100))
}

/// Running devices of a fleet.
#[derive(Debug)]
pub struct Fleet {
    /// One per device, in credentials order.
    pub handles: Vec<DeviceHandle>,
    tasks: JoinSet<Result<(), SimError>>,
}

impl Fleet {
    /// Starts one device per credential, all on `server`, spreading their first connections
    /// over `ramp` so a thousand devices do not knock at once.
    pub fn start(
        creds: &[Credential],
        server: &ServerAddr,
        pin: Option<crate::tls::Pin>,
        state_root: &Path,
        timings: Timings,
        ramp: Duration,
        shutdown: &ShutdownSignal,
    ) -> Result<Fleet, SimError> {
        let mut opts = FleetOptions::new(server.clone(), state_root.to_path_buf());
        (opts.pin, opts.timings, opts.ramp) = (pin, timings, ramp);
        Fleet::start_with(creds, &opts, shutdown)
    }

    /// Starts one device per credential as `opts` says. Firmware downloads share one HTTP
    /// client.
    pub fn start_with(
        creds: &[Credential],
        opts: &FleetOptions,
        shutdown: &ShutdownSignal,
    ) -> Result<Fleet, SimError> {
        let mut handles = Vec::with_capacity(creds.len());
        let mut tasks = JoinSet::new();
        let count = u32::try_from(creds.len().max(1)).unwrap_or(u32::MAX);
        let http = opts
            .ingest_url
            .as_deref()
            .map(|url| crate::tls::http_client(url, opts.pin))
            .transpose()?;
        for (i, c) in (0u32..).zip(creds) {
            let mut cfg = DeviceConfig::new(&c.uid, &c.secret, opts.state_root.join(&c.uid));
            cfg.model = Some(c.model.clone());
            cfg.server = Some(opts.server.clone());
            cfg.pin = opts.pin;
            cfg.timings = opts.timings;
            cfg.firmware_key.clone_from(&opts.firmware_key);
            cfg.ingest_url.clone_from(&opts.ingest_url);
            cfg.http.clone_from(&http);
            cfg.fail_health = fails_health(&c.uid, opts.fail_health_percent);
            let device = Device::new(cfg)?;
            handles.push(device.handle());
            let delay = opts.ramp / count * i;
            let mut stop = shutdown.clone();
            let signal = shutdown.clone();
            tasks.spawn(async move {
                tokio::select! {
                    () = stop.wait() => return Ok(()),
                    () = tokio::time::sleep(delay) => {}
                }
                device.run(signal).await
            });
        }
        Ok(Fleet { handles, tasks })
    }

    /// How many devices are connected now.
    pub fn connected(&self) -> usize {
        self.handles.iter().filter(|h| h.status().connected).count()
    }

    /// Waits for every device to stop (after shutdown); the first error, if any.
    pub async fn join(mut self) -> Result<(), SimError> {
        let mut first = Ok(());
        while let Some(res) = self.tasks.join_next().await {
            let res =
                res.unwrap_or_else(|e| Err(SimError::Config(format!("device task failed: {e}"))));
            if first.is_ok() {
                first = res;
            }
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_parse_with_header_in_any_order() {
        let csv = "uid,model,secret\nKKAAAA000001,KK-C1,s1\n\n KKBBBB000002 , KK-D1 , s2 \n";
        let c = parse_credentials(csv).expect("parse");
        assert_eq!(c.len(), 2);
        assert_eq!(
            (c[1].uid.as_str(), c[1].model.as_str(), c[1].secret.as_str()),
            ("KKBBBB000002", "KK-D1", "s2")
        );
        let c = parse_credentials("secret,uid,model\ns,KKAAAA000001,KK-C1\n").expect("reordered");
        assert_eq!(c[0].uid, "KKAAAA000001");
        assert!(!format!("{c:?}").contains("\"s\""), "secrets stay out of Debug");
    }

    #[test]
    fn the_health_failures_are_stable_and_about_the_percentage() {
        let uids: Vec<String> = (0..10_000).map(|i| format!("KKFLEET{i:06}")).collect();
        let failing = |p| uids.iter().filter(|u| fails_health(u, p)).count();
        assert_eq!(failing(0), 0);
        assert_eq!(failing(100), uids.len());
        assert!((400..600).contains(&failing(5)), "{}", failing(5));
        assert_eq!(fails_health("KKFLEET000001", 5), fails_health("KKFLEET000001", 5));
        assert!(uids.iter().all(|u| !fails_health(u, 5) || fails_health(u, 10)), "nested");
    }

    #[test]
    fn malformed_credentials_name_the_line() {
        for (csv, line) in [
            ("", 1),
            ("uid,secret\n", 1),
            ("uid,model,secret\nKKAAAA000001,KK-C1\n", 2),
            ("uid,model,secret\nKKAAAA000001,KK-C1,s\nlower,KK-C1,s\n", 3),
            ("uid,model,secret\nKKAAAA000001,\"KK-C1\",s\n", 2),
            ("uid,model,secret\nKKAAAA000001,KK-C1,\n", 2),
        ] {
            match parse_credentials(csv) {
                Err(SimError::Credentials { line: l, .. }) => assert_eq!(l, line, "{csv:?}"),
                other => panic!("{csv:?}: {other:?}"),
            }
        }
    }
}
