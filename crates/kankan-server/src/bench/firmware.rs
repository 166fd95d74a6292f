//! The firmware rollout benchmark: a signed image rolled out to every camera of a fleet of
//! simulated cameras (`kankan_sim::fleet`, in this process, one shared HTTP client for the
//! downloads) by a `kankan serve` child: the server's CPU time and the wall time from
//! creating the rollout (100 %) to the last camera confirming the new version, through the
//! rollout worker's offers, the authenticated ranged downloads from the ingest, the progress
//! reports and the devices' reboots and health checks. Against the reference: nginx from
//! Debian (one process, `sendfile on`) serving the same bytes as a static file to the same
//! number of concurrent downloads through one HTTP client; its CPU time and the wall time to
//! the last byte. Both run in alternating rounds (`rounds`; each Kankan round on a fresh data
//! directory and fleet); the median ratios and their spread are what docs/benchmarks.md
//! records.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use kankan_base::{RealClock, Shutdown};
use kankan_crypto::firmware::SigningKey;
use kankan_protocol::device::UpdatePhase;
use kankan_sim::fleet::{Credential, Fleet, FleetOptions};
use kankan_sim::{Backoff, ServerAddr, Timings, firmware_image};

use super::ingest::setup_account;
use super::rounds::Rounds;
use super::{Child, cpu_secs, free_port};
use crate::config::Config;
use crate::start::build_services;

/// The version rolled out (the cameras start at `kankan_sim::config::FIRMWARE`).
const VERSION: &str = "1.1.0";
const MODEL: &str = "KK-C1";
/// How long the whole rollout may take before the run is called failed.
const ROLLOUT_WAIT: Duration = Duration::from_secs(900);

/// What `kankan bench firmware` runs.
#[derive(Debug, Clone)]
pub struct FirmwareBench {
    pub cameras: usize,
    /// Image size in KiB.
    pub image_kib: usize,
    /// Seconds over which the cameras first connect.
    pub ramp_secs: u64,
    /// Alternating rounds (a rollout on a fresh fleet, then nginx).
    pub rounds: usize,
    pub work_dir: PathBuf,
}

/// A staff administrator in the data dir the server child will use; its password.
async fn create_staff(data: &Path) -> anyhow::Result<String> {
    let database =
        crate::config::DatabaseConfig { url: std::env::var("KANKAN__DATABASE__URL").ok() };
    let cfg = Config { data_dir: data.to_path_buf(), database, ..Config::default() };
    let s = build_services(&cfg, Arc::new(RealClock)).await?;
    let (password, _) = kankan_crypto::random_token()?;
    s.accounts.create_staff_admin("bench-staff", &password).await?;
    Ok(password)
}

pub async fn firmware(b: FirmwareBench) -> anyhow::Result<()> {
    let dir = &b.work_dir;
    std::fs::create_dir_all(dir)?;
    let (key, _) = SigningKey::generate()?;
    let image = firmware_image(MODEL, VERSION, b.image_kib * 1024);
    let signature = key.sign(MODEL, VERSION, &image);
    let public_key = key.public_key();
    let mut rollout_cpu = Rounds::new("rollout CPU (s)", "kankan rollout", "nginx");
    let mut rollout_wall = Rounds::new("rollout wall time (s)", "kankan rollout", "nginx");
    let mut serve_cpu = Rounds::new("download CPU (s)", "kankan download route", "nginx");
    let mut serve_wall = Rounds::new("download wall time (s)", "kankan download route", "nginx");
    println!(
        "firmware rollout of a {} KiB image to {} cameras, {} alternating rounds (kankan, then \
         nginx):",
        b.image_kib,
        b.cameras,
        b.rounds.max(1)
    );
    for round in 1..=b.rounds.max(1) {
        let k = kankan_round(&b, &public_key, &image, &signature).await?;
        let (n_cpu, n_wall) = run_nginx(dir, &image, b.cameras).await?;
        // /proc counts CPU in 10 ms ticks.
        let ratio = |a: f64, b: f64| a / b.max(0.01);
        println!(
            "round {round}:\n  \
             kankan rollout: {:.1} s to all confirmed, server CPU {:.2} s\n  \
             kankan download route: {:.2} s to all downloaded, server CPU {:.2} s\n  \
             nginx: {n_wall:.2} s to all downloaded, CPU {n_cpu:.2} s\n  \
             ratios to nginx: rollout CPU {:.1}, wall {:.1}; download route CPU {:.1}, wall {:.1}",
            k.rollout_wall,
            k.rollout_cpu,
            k.serve_wall,
            k.serve_cpu,
            ratio(k.rollout_cpu, n_cpu),
            ratio(k.rollout_wall, n_wall),
            ratio(k.serve_cpu, n_cpu),
            ratio(k.serve_wall, n_wall),
        );
        // A CPU figure under one tick is counted as one tick, as in the ratios above.
        rollout_cpu.push(k.rollout_cpu, n_cpu.max(0.01));
        rollout_wall.push(k.rollout_wall, n_wall);
        serve_cpu.push(k.serve_cpu, n_cpu.max(0.01));
        serve_wall.push(k.serve_wall, n_wall);
    }
    for r in [rollout_cpu, rollout_wall, serve_cpu, serve_wall] {
        print!("{}", r.report());
    }
    Ok(())
}

/// One Kankan round on a fresh data directory (the cameras start at the old version): the
/// rollout through a new server child, then the download route alone.
async fn kankan_round(
    b: &FirmwareBench,
    public_key: &str,
    image: &[u8],
    signature: &str,
) -> anyhow::Result<Measured> {
    let dir = &b.work_dir;
    let data = dir.join("kankan-data");
    let fleet_dir = dir.join("fw-fleet");
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(&fleet_dir);
    let (_, creds) = setup_account(&data, b.cameras).await?;
    let staff_password = create_staff(&data).await?;
    let n = b.cameras.to_string();
    let env = [
        ("KANKAN__FIRMWARE__PUBLIC_KEY", public_key),
        ("KANKAN__FIRMWARE__ROLLOUT_TICK_SECS", "1"),
        ("KANKAN__FIRMWARE__ROLLOUT_BATCH", n.as_str()),
        ("KANKAN__FIRMWARE__MAX_IN_FLIGHT", n.as_str()),
    ];
    let child = Child::start(&data, &env).await?;
    let prepared = Prepared {
        public_key: public_key.to_string(),
        image: image.to_vec(),
        signature: signature.to_string(),
        staff_password,
    };
    let result = run_kankan(b, &child, &creds, &fleet_dir, &prepared).await;
    child.stop().await;
    let _ = std::fs::remove_dir_all(&fleet_dir);
    result
}

/// The signed image and who uploads it.
struct Prepared {
    public_key: String,
    image: Vec<u8>,
    signature: String,
    staff_password: String,
}

/// The rollout through the server child: its CPU seconds and the wall seconds to all
/// confirmed.
async fn run_kankan(
    b: &FirmwareBench,
    child: &Child,
    creds: &[(String, String)],
    fleet_dir: &Path,
    p: &Prepared,
) -> anyhow::Result<Measured> {
    let (image, signature) = (&p.image, p.signature.as_str());
    let http = reqwest::Client::new();
    let token = staff_login(&http, &child.base, &p.staff_password).await?;
    let admin = format!("{}/api/v1/admin/firmware", child.base);
    let r = http
        // Model, version and base64url signature need no escaping in a query.
        .post(format!("{admin}/images?model={MODEL}&version={VERSION}&signature={signature}"))
        .bearer_auth(&token)
        .body(image.clone())
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("uploading the image: {} {}", r.status(), r.text().await.unwrap_or_default());
    }
    let uploaded: serde_json::Value = r.json().await?;
    let image_id = uploaded.get("id").cloned().context("the image's id")?;

    let creds: Vec<Credential> = creds
        .iter()
        .map(|(uid, secret)| Credential {
            uid: uid.clone(),
            model: MODEL.into(),
            secret: secret.clone(),
        })
        .collect();
    let mut opts =
        FleetOptions::new(ServerAddr::parse(&format!("mqtt://{}", child.mqtt))?, fleet_dir.into());
    opts.timings = Timings {
        backoff: Backoff { base: Duration::from_millis(500), cap: Duration::from_secs(10) },
        telemetry: Duration::from_secs(3600),
        reboot_delay: Duration::from_millis(200),
        keep_alive: Duration::from_secs(60),
        health_check: Duration::from_millis(200),
    };
    opts.ramp = Duration::from_secs(b.ramp_secs);
    opts.firmware_key = Some(p.public_key.clone());
    opts.ingest_url = Some(child.base.clone());
    let (shutdown, signal) = Shutdown::new();
    let fleet = Fleet::start_with(&creds, &opts, &signal)?;
    let connect_by = Instant::now() + Duration::from_secs(b.ramp_secs + 120);
    while fleet.handles.iter().any(|h| h.status().last_report.is_none()) {
        if Instant::now() > connect_by {
            bail!("{} of {} cameras connected", fleet.connected(), creds.len());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Let the server record the reports (the versions the rollout compares).
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!("{} cameras online at {}", creds.len(), kankan_sim::config::FIRMWARE);

    let (cpu0, t0) = (cpu_secs(child.pid)?, Instant::now());
    let body = serde_json::json!({ "image_id": image_id, "percent": 100 });
    let r = http.post(format!("{admin}/rollouts")).bearer_auth(&token).json(&body).send().await?;
    if !r.status().is_success() {
        bail!("creating the rollout: {} {}", r.status(), r.text().await.unwrap_or_default());
    }
    let mut last_print = Instant::now();
    loop {
        let (mut done, mut failed) = (0, 0);
        for h in &fleet.handles {
            let s = h.status();
            let r = s.last_report.as_ref();
            match r.and_then(|r| r.update.as_ref()).map(|u| u.phase) {
                Some(UpdatePhase::Confirmed) if r.is_some_and(|r| r.firmware == VERSION) => {
                    done += 1;
                }
                Some(UpdatePhase::Failed | UpdatePhase::RolledBack) => failed += 1,
                _ => {}
            }
        }
        if done + failed == creds.len() {
            if failed > 0 {
                bail!("{failed} cameras failed to update");
            }
            break;
        }
        if t0.elapsed() > ROLLOUT_WAIT {
            bail!("{done} of {} cameras updated after {ROLLOUT_WAIT:?}", creds.len());
        }
        if last_print.elapsed() > Duration::from_secs(10) {
            println!(
                "  {done} of {} confirmed after {:.0} s",
                creds.len(),
                t0.elapsed().as_secs_f64()
            );
            last_print = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (cpu1, wall) = (cpu_secs(child.pid)?, t0.elapsed().as_secs_f64());
    shutdown.trigger();
    let _ = tokio::time::timeout(Duration::from_secs(30), fleet.join()).await;

    // The same bytes again through the device download route alone: one download per camera
    // with its own credentials (each was offered the image), all at once.
    let id = image_id.as_str().context("the image id is text")?;
    let requests = creds
        .iter()
        .map(|c| {
            let url = format!("{}/ingest/v1/{}/firmware/{id}", child.base, c.uid);
            http.get(url).basic_auth(&c.uid, Some(&c.secret))
        })
        .collect();
    let (cpu2, t2) = (cpu_secs(child.pid)?, Instant::now());
    download_all(requests, image.len()).await.context("downloading from the ingest")?;
    let (cpu3, serve_wall) = (cpu_secs(child.pid)?, t2.elapsed().as_secs_f64());
    Ok(Measured {
        rollout_cpu: cpu1 - cpu0,
        rollout_wall: wall,
        serve_cpu: cpu3 - cpu2,
        serve_wall,
    })
}

/// What the server child did.
struct Measured {
    rollout_cpu: f64,
    rollout_wall: f64,
    /// Serving the image once per camera through the download route, without the rollout.
    serve_cpu: f64,
    serve_wall: f64,
}

/// Sends `requests` all at once and reads each body; every one must be `size` bytes.
async fn download_all(requests: Vec<reqwest::RequestBuilder>, size: usize) -> anyhow::Result<()> {
    let mut tasks = tokio::task::JoinSet::new();
    for req in requests {
        tasks.spawn(async move {
            let mut r = req.send().await?;
            anyhow::ensure!(r.status().is_success(), "HTTP {}", r.status());
            let mut got = 0;
            while let Some(chunk) = r.chunk().await? {
                got += chunk.len();
            }
            anyhow::ensure!(got == size, "{got} of {size} bytes");
            Ok::<(), anyhow::Error>(())
        });
    }
    while let Some(res) = tasks.join_next().await {
        res??;
    }
    Ok(())
}

async fn staff_login(http: &reqwest::Client, base: &str, password: &str) -> anyhow::Result<String> {
    // A new staff member enrols a second factor at the first login: the bench is its
    // authenticator, computing the code from the secret the enrolment shows.
    let body = serde_json::json!({ "username": "bench-staff", "password": password });
    let r = http.post(format!("{base}/api/v1/admin/login")).json(&body).send().await?;
    if r.status() != reqwest::StatusCode::ACCEPTED {
        bail!("staff login: {} (expected an enrolment)", r.status());
    }
    let v: serde_json::Value = r.json().await?;
    let secret = v.get("secret").and_then(|s| s.as_str()).context("the enrolment's secret")?;
    let secret = kankan_crypto::totp::base32_decode(secret).context("a base32 secret")?;
    let enrolment = v.get("enrolment_token").cloned().context("the enrolment token")?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let code = kankan_crypto::totp::code_at(&secret, now);
    let body = serde_json::json!({ "enrolment_token": enrolment, "code": code });
    let r = http.post(format!("{base}/api/v1/admin/login/enrol")).json(&body).send().await?;
    if !r.status().is_success() {
        bail!("staff enrolment: {}", r.status());
    }
    let v: serde_json::Value = r.json().await?;
    v.get("token").and_then(|t| t.as_str()).map(str::to_owned).context("a staff token")
}

/// nginx serving `image` to `downloads` concurrent downloads: its CPU seconds and the wall
/// seconds to the last byte.
async fn run_nginx(dir: &Path, image: &[u8], downloads: usize) -> anyhow::Result<(f64, f64)> {
    let bin = Path::new("/usr/sbin/nginx");
    if !bin.exists() {
        bail!("nginx is not installed (apt-get install nginx)");
    }
    // nginx reads relative paths in its configuration against its prefix: give it absolute
    // ones (the default work dir is relative).
    let root = std::path::absolute(dir.join("nginx"))?;
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("www"))?;
    std::fs::write(root.join("www/image.bin"), image)?;
    let port = free_port()?;
    let d = root.display();
    // One process (no master), so its CPU is one /proc entry.
    let conf = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
         error_log {d}/error.log warn;\nevents {{ worker_connections 8192; }}\n\
         http {{\n  access_log off;\n  sendfile on;\n  client_body_temp_path {d}/body;\n\
         proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n\
         uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
         server {{ listen 127.0.0.1:{port}; root {d}/www; }}\n}}\n"
    );
    std::fs::write(root.join("nginx.conf"), conf)?;
    let mut process = tokio::process::Command::new(bin)
        .arg("-p")
        .arg(&root)
        .arg("-c")
        .arg(root.join("nginx.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .context("starting nginx")?;
    let pid = process.id().context("nginx pid")?;
    let url = format!("http://127.0.0.1:{port}/image.bin");
    let http = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..100 {
        if http.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !ready {
        bail!("nginx did not start (see {d}/error.log)");
    }
    let (cpu0, t0) = (cpu_secs(pid)?, Instant::now());
    download_all((0..downloads).map(|_| http.get(&url)).collect(), image.len()).await?;
    let (cpu1, wall) = (cpu_secs(pid)?, t0.elapsed().as_secs_f64());
    let _ = process.kill().await;
    let _ = std::fs::remove_dir_all(&root);
    Ok((cpu1 - cpu0, wall))
}
