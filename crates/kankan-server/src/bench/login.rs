//! The login memory benchmark: a `kankan serve` child's resident memory (VmRSS of
//! `/proc/<pid>/status`) at rest, through registrations, a burst of correct logins and a
//! credential-stuffing run from many client addresses, and after it. Password hashing
//! (Argon2id, 19 MiB each) is what such traffic costs; the bar is that the server stays under
//! 256 MiB throughout and comes back near its baseline.
//!
//! The attack's client addresses reach the server as `X-Forwarded-For` from 127.0.0.1, named a
//! trusted proxy for the run; each address stays within `limits.login_per_ip`, as a botnet's
//! would, and every attempt names another identifier, so neither the per-identifier throttle
//! nor the lockout stops it: only the hashing bound does.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use kankan_base::RealClock;
use serde_json::json;

use super::{Child, rss_mib};
use crate::{Config, build_services};

/// What to run.
#[derive(Debug, Clone)]
pub struct LoginBench {
    /// Registrations at once.
    pub registrations: usize,
    /// Correct logins at once.
    pub logins: usize,
    /// Client addresses of the credential-stuffing run.
    pub attackers: usize,
    /// Seconds of the credential-stuffing run.
    pub secs: u64,
    pub work_dir: PathBuf,
}

const BENCH_ACCOUNT: &str = "bench-login@example.com";

/// Samples the server's RSS every 50 ms until `stop`; answers the peak (MiB).
fn sample_peak(pid: u32, stop: Arc<std::sync::atomic::AtomicBool>) -> tokio::task::JoinHandle<f64> {
    tokio::spawn(async move {
        let mut peak = rss_mib(pid);
        while !stop.load(Ordering::Relaxed) {
            peak = peak.max(rss_mib(pid));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        peak.max(rss_mib(pid))
    })
}

/// Runs `phase` while sampling; answers (peak MiB, seconds taken).
async fn measured<F: std::future::Future<Output = anyhow::Result<()>>>(
    pid: u32,
    phase: F,
) -> anyhow::Result<(f64, f64)> {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = sample_peak(pid, stop.clone());
    let t0 = Instant::now();
    phase.await?;
    let took = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    Ok((sampler.await?, took))
}

pub async fn login(b: LoginBench) -> anyhow::Result<()> {
    let data = b.work_dir.join("login");
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data)?;
    let (password, _) = kankan_crypto::random_token()?;
    {
        let cfg = Config { data_dir: data.clone(), ..Config::default() };
        let s = build_services(&cfg, Arc::new(RealClock)).await?;
        s.accounts.provision_account(BENCH_ACCOUNT, &password).await?;
    }
    let child = Child::start(
        &data,
        &[
            ("KANKAN__SERVER__TRUSTED_PROXIES", "[\"127.0.0.1\"]"),
            ("KANKAN__LIMITS__REGISTER_PER_IP__COUNT", "1000"),
            ("KANKAN__LIMITS__CODES_PER_IP__COUNT", "1000"),
        ],
    )
    .await?;
    let pid = child.pid;
    let http = reqwest::Client::builder().no_proxy().pool_max_idle_per_host(512).build()?;
    let url = |p: &str| format!("{}{p}", child.base);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let baseline = rss_mib(pid);
    println!("baseline                     {baseline:7.1} MiB");

    let (peak, took) = measured(pid, async {
        let tasks: Vec<_> = (0..b.registrations)
            .map(|i| {
                let req = http
                    .post(url("/api/v1/auth/register"))
                    .header("x-forwarded-for", format!("198.51.100.{}", i % 250))
                    .json(&json!({"identifier": format!("new{i}@example.com"),
                        "password": "plum-garden-kettle-42", "accept_policy": "1"}));
                tokio::spawn(async move { req.send().await.map(|r| r.status().as_u16()) })
            })
            .collect();
        for t in tasks {
            let s = t.await??;
            anyhow::ensure!(s == 202, "registration answered {s}");
        }
        Ok(())
    })
    .await?;
    println!(
        "{:3} registrations at once     peak {peak:7.1} MiB, {took:.1} s; after: {:7.1} MiB",
        b.registrations,
        rss_mib(pid)
    );

    let (peak, took) = measured(pid, async {
        let tasks: Vec<_> = (0..b.logins)
            .map(|i| {
                let req = http
                    .post(url("/api/v1/auth/login"))
                    .header("x-forwarded-for", format!("203.0.113.{}", i % 250))
                    .json(&json!({"identifier": BENCH_ACCOUNT, "password": password}));
                tokio::spawn(async move { req.send().await.map(|r| r.status().as_u16()) })
            })
            .collect();
        for t in tasks {
            let s = t.await??;
            anyhow::ensure!(s == 200 || s == 429, "login answered {s}");
        }
        Ok(())
    })
    .await?;
    println!(
        "{:3} correct logins at once    peak {peak:7.1} MiB, {took:.1} s; after: {:7.1} MiB",
        b.logins,
        rss_mib(pid)
    );

    let checked = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let (peak, took) = measured(pid, async {
        let until = Instant::now() + Duration::from_secs(b.secs);
        let tasks: Vec<_> = (0..b.attackers)
            .map(|a| {
                let (http, login, checked, refused) =
                    (http.clone(), url("/api/v1/auth/login"), checked.clone(), refused.clone());
                tokio::spawn(async move {
                    let ip = format!("10.{}.{}.{}", a / 65536 % 256, a / 256 % 256, a % 256);
                    let mut n = 0u64;
                    while Instant::now() < until {
                        n += 1;
                        let body = json!({"identifier": format!("victim{a}-{n}@example.com"),
                            "password": format!("guess-{n}-stuffed")});
                        let r = http.post(&login).header("x-forwarded-for", &ip).json(&body);
                        match r.send().await.map(|r| r.status().as_u16()) {
                            Ok(401) => checked.fetch_add(1, Ordering::Relaxed),
                            Ok(_) => refused.fetch_add(1, Ordering::Relaxed),
                            Err(_) => refused.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.context("attacker task")?;
        }
        Ok(())
    })
    .await?;
    println!(
        "stuffing from {:3} addresses   peak {peak:7.1} MiB over {took:.0} s ({} checked, {} refused)",
        b.attackers,
        checked.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed)
    );
    let mut waited = 0;
    for after in [1u64, 5, 12, 30] {
        tokio::time::sleep(Duration::from_secs(after - waited)).await;
        waited = after;
        println!("{after:2} s after the attack          {:7.1} MiB", rss_mib(pid));
    }
    child.stop().await;
    Ok(())
}
