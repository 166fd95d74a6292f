//! The notification benchmark: from a motion start (the camera's clock) to the encrypted,
//! VAPID-signed push arriving at a local RFC 8030 push endpoint, through a `kankan serve`
//! child: the simulated camera's MQTT `event`, the event store, the dispatcher, the durable
//! job queue and the Web Push sender. p50/p95 over `events` events, against the reference: the
//! same push encrypted, signed and posted directly from this process (the floor any server
//! pays). With `members` > 0 the camera is shared with that many member accounts holding the
//! default capabilities (receive-alarms among them), each with a browser subscribed to its own
//! endpoint: each event is timed to the owner's push and to the last member's push. Kankan's
//! events and the direct pushes run in alternating rounds (`--rounds`); the report gives the
//! median ratio of their p50 and its spread.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine as _;
use kankan_base::{Clock as _, RealClock, Shutdown};
use kankan_notify::webpush::{PushClient, PushSubscription, Urgency, VapidKey};
use kankan_protocol::device::{DeviceEvent, MotionPhase};
use kankan_sim::{Device, DeviceConfig, ServerAddr};
use tokio::sync::mpsc;

use super::ingest::setup_account;
use super::live::{Session, quantiles};
use super::rounds::Rounds;
use super::{Child, free_port};
use crate::start::build_services;

/// How long one push may take before the run is called failed.
const PUSH_WAIT: Duration = Duration::from_secs(10);

fn now_ms() -> i64 {
    RealClock.now().0
}

/// Wall-clock milliseconds with the microseconds as the fraction: the direct push takes about
/// a millisecond, so whole milliseconds would make its rounds' ratios mostly rounding.
pub(super) fn now_precise_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_micros() as f64 / 1000.0)
}

/// One push at the endpoint: whose subscription (the path's name) and when it arrived
/// ([`now_precise_ms`]).
type Arrival = (String, f64);

/// A push service on loopback: accepts every message and reports when it arrived.
pub(super) async fn push_endpoint(
    arrivals: mpsc::UnboundedSender<Arrival>,
) -> anyhow::Result<String> {
    async fn accept(
        State(tx): State<mpsc::UnboundedSender<Arrival>>,
        Path(name): Path<String>,
    ) -> (StatusCode, [(&'static str, &'static str); 1]) {
        let _ = tx.send((name, now_precise_ms()));
        (StatusCode::CREATED, [("location", "/message/1")])
    }
    let port = free_port()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let app =
        axum::Router::new().route("/push/{name}", axum::routing::post(accept)).with_state(arrivals);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://127.0.0.1:{port}"))
}

/// A browser's subscription to `endpoint`: a fresh P-256 key pair and auth secret.
fn subscription(endpoint: &str) -> anyhow::Result<PushSubscription> {
    let auth = kankan_crypto::random_bytes(16)?;
    Ok(PushSubscription {
        endpoint: endpoint.to_string(),
        p256dh: VapidKey::generate().public_key_b64url(),
        auth: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(auth),
    })
}

pub(super) async fn next_arrival(
    arrivals: &mut mpsc::UnboundedReceiver<Arrival>,
) -> anyhow::Result<Arrival> {
    match tokio::time::timeout(PUSH_WAIT, arrivals.recv()).await {
        Ok(Some(a)) => Ok(a),
        _ => bail!("no push arrived within {PUSH_WAIT:?}"),
    }
}

/// `n` member accounts of the camera `uid`, each granted the default member capabilities by
/// its owner (as accepting an invitation does); their identifiers and passwords.
async fn add_members(data: &FsPath, uid: &str, n: usize) -> anyhow::Result<Vec<(String, String)>> {
    let database =
        crate::config::DatabaseConfig { url: std::env::var("KANKAN__DATABASE__URL").ok() };
    let cfg =
        crate::config::Config { data_dir: data.to_path_buf(), database, ..Default::default() };
    let s = build_services(&cfg, Arc::new(RealClock)).await?;
    let owner = s.store.device(uid).await?.and_then(|d| d.owner).context("the camera is bound")?;
    let now = RealClock.now();
    let mut members = Vec::with_capacity(n);
    for i in 0..n {
        let identifier = format!("member{i}@kankan.example");
        let (password, _) = kankan_crypto::random_token()?;
        let account = s.accounts.provision_account(&identifier, &password).await?;
        let grant = kankan_db::DeviceGrant {
            id: uuid::Uuid::now_v7(),
            uid: uid.to_string(),
            account_id: account,
            granted_by: owner,
            capabilities: kankan_core::authz::CapabilitySet::member_default().to_names(),
            created_at: now,
            expires_at: None,
            revoked_at: None,
            schedule: None,
        };
        s.store.insert_device_grant(&grant).await?;
        members.push((identifier, password));
    }
    Ok(members)
}

/// Subscribes a fresh browser key pair of the session's account to `endpoint`.
pub(super) async fn subscribe(
    session: &Session,
    endpoint: &str,
) -> anyhow::Result<PushSubscription> {
    let sub = subscription(endpoint)?;
    let body = serde_json::json!({
        "endpoint": sub.endpoint, "keys": {"p256dh": sub.p256dh, "auth": sub.auth}});
    let r = session
        .http
        .post(format!("{}/api/v1/me/push-subscriptions", session.base))
        .bearer_auth(&session.token)
        .json(&body)
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("subscribing: {} {}", r.status(), r.text().await.unwrap_or_default());
    }
    Ok(sub)
}

/// One motion start: the milliseconds to the owner's push and to the last member's push (the
/// owner's too when there are no members); the motion ends once all arrived.
async fn one_event(
    detector: &mpsc::UnboundedSender<DeviceEvent>,
    arrivals: &mut mpsc::UnboundedReceiver<Arrival>,
    members: usize,
) -> anyhow::Result<(f64, f64)> {
    let sent = now_precise_ms();
    let at = now_ms();
    let start =
        DeviceEvent::Motion { phase: MotionPhase::Start, at_ms: at, started_ms: at, zone: None };
    detector.send(start).context("the camera stopped")?;
    // The owner's push and one per member, in whatever order they arrive.
    let (mut owner, mut latest, mut reached) = (None, sent, 0);
    while reached < members + 1 {
        let (name, t) = next_arrival(arrivals).await?;
        if name == "kankan" {
            owner = Some(t);
        }
        latest = latest.max(t);
        reached += 1;
    }
    let owner = owner.context("the owner's push")? - sent;
    let end =
        DeviceEvent::Motion { phase: MotionPhase::End, at_ms: at + 1, started_ms: at, zone: None };
    detector.send(end).context("the camera stopped")?;
    // Distinct start times, and the end recorded before the next start.
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok((owner, latest - sent))
}

pub async fn notify(
    events: usize,
    members: usize,
    rounds_n: usize,
    work_dir: PathBuf,
) -> anyhow::Result<()> {
    let dir = &work_dir;
    std::fs::create_dir_all(dir)?;
    let data = dir.join("kankan-data");
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(dir.join("cam-state"));
    let (password, creds) = setup_account(&data, 1).await?;
    let (uid, secret) = creds.first().context("a camera")?;
    let member_logins = add_members(&data, uid, members).await?;
    let (arrive, mut arrivals) = mpsc::unbounded_channel();
    let base = push_endpoint(arrive).await?;
    // The push endpoint is on loopback: let the server send there.
    let child = Child::start(&data, &[("KANKAN__NOTIFY__ALLOW_PRIVATE_TARGETS", "true")]).await?;
    let session = Session::login(&child.base, &password).await?;
    let sub = subscribe(&session, &format!("{base}/push/kankan")).await?;
    for (i, (identifier, password)) in member_logins.iter().enumerate() {
        let member = Session::login_as(&child.base, identifier, password).await?;
        subscribe(&member, &format!("{base}/push/member{i}")).await?;
    }

    let (stop, signal) = Shutdown::new();
    let mut cfg = DeviceConfig::new(uid, secret, dir.join("cam-state"));
    cfg.server = Some(ServerAddr::parse(&format!("mqtt://{}", child.mqtt))?);
    let (detector, rx) = mpsc::unbounded_channel();
    let (device, _settings) = Device::new(cfg)?.with_motion(rx);
    let handle = device.handle();
    tokio::spawn(device.run(signal.clone()));
    handle.wait_for("the camera on MQTT", Duration::from_secs(15), |s| s.connected).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;

    println!(
        "motion start (camera clock) to push at the local push endpoint, {events} events a \
         round, the owner and {members} members, {} alternating rounds (kankan, then the \
         reference):",
        rounds_n.max(1)
    );
    let client = PushClient::new(
        reqwest::Client::new(),
        VapidKey::generate(),
        "mailto:bench@localhost".into(),
    );
    let payload = serde_json::to_vec(&serde_json::json!({
        "title": "Motion at Camera", "body": "Motion", "event_id": "reference",
        "device": uid, "kind": "motion", "at_ms": 0, "url": "#/devices", "thumbnail": null}))?;
    let mut rounds = Rounds::new("motion start to the owner's push, p50 (ms)", "kankan", "direct");
    let (mut kankan, mut last, mut direct) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds_n.max(1) {
        let (mut k, mut l) = (Vec::with_capacity(events), Vec::with_capacity(events));
        for _ in 0..events {
            let (owner, latest) = one_event(&detector, &mut arrivals, members).await?;
            k.push(owner);
            l.push(latest);
        }
        let mut d = Vec::with_capacity(events);
        for _ in 0..events {
            let t0 = now_precise_ms();
            client
                .send(&sub, &payload, 60, Urgency::High)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            d.push(next_arrival(&mut arrivals).await?.1 - t0);
        }
        let (k50, k95, _) = quantiles(&mut k);
        let (d50, d95, _) = quantiles(&mut d);
        println!(
            "  round {round}: to the owner's push p50 {k50:.1} ms, p95 {k95:.1} ms; reference \
             p50 {d50:.1} ms, p95 {d95:.1} ms"
        );
        rounds.push(k50, d50);
        kankan.extend(k);
        last.extend(l);
        direct.extend(d);
    }
    let (k50, k95, kmax) = quantiles(&mut kankan);
    let (d50, d95, _) = quantiles(&mut direct);
    println!(
        "  to the owner's push (MQTT -> events -> dispatcher -> job queue -> Web Push): p50 {k50:.0} ms, p95 {k95:.0} ms, max {kmax:.0} ms"
    );
    if members > 0 {
        let (l50, l95, lmax) = quantiles(&mut last);
        println!(
            "  to the last of {members} members' pushes: p50 {l50:.0} ms, p95 {l95:.0} ms, max {lmax:.0} ms"
        );
    }
    println!(
        "  reference (encrypt, sign and post from this process): p50 {d50:.0} ms, p95 {d95:.0} ms"
    );
    print!("{}", rounds.report());
    stop.trigger();
    child.stop().await;
    Ok(())
}
