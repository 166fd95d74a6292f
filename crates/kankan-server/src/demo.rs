//! `kankan demo`: a ready-made account with simulated cameras and a doorbell, paired through
//! the real flow (pairing code -> kankan-cam -> MQTT claim) on first start and reused after.
//! Each records continuously through the HTTPS ingest, as a real camera does. Every device
//! link is TLS, held to the server's key the devices pinned when they paired (a demo device
//! bound earlier keeps its pin in its state file).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use kankan_accounts::ClientInfo;
use kankan_base::RealClock;
use kankan_core::authz::Capability;
use kankan_crypto::pairing::pairing_from_qr_text;
use kankan_sim::fleet::{Credential, parse_credentials};
use kankan_sim::video::VideoConfig;
use kankan_sim::{Device, DeviceConfig, ServerAddr};

use crate::Running;

/// The demo's ready-made account; its password is new at every start.
pub const DEMO_ACCOUNT: &str = "demo@kankan.example";
/// How often someone rings the demo doorbell.
const DEMO_RING_EVERY: Duration = Duration::from_secs(180);
/// The simulated devices: model and the name the demo gives them.
const DEVICES: &[(&str, &str)] =
    &[("KK-C1", "Living room"), ("KK-C2", "Garden"), ("KK-D1", "Front door")];

/// Provisions the demo account (with `password`) and starts its simulated devices.
pub async fn start(running: &Running, data_dir: &Path, password: &str) -> anyhow::Result<()> {
    let s = &running.services;
    s.accounts.provision_account(DEMO_ACCOUNT, password).await?;
    let client = ClientInfo::new("127.0.0.1", "kankan demo");
    let principal =
        s.accounts.login(DEMO_ACCOUNT, password, &client).await?.into_session()?.principal;
    let mqtt = running.mqtt_addr.context("the demo needs the embedded MQTT broker")?;
    let pin = running.pin.context("the demo needs the server's TLS identity")?;
    let server = ServerAddr::parse(&format!("mqtts://{mqtt}"))?;
    let creds = demo_credentials(running, &data_dir.join("demo-devices.csv")).await?;
    for (cred, (_, name)) in creds.iter().zip(DEVICES) {
        let state_dir = data_dir.join("demo-devices").join(&cred.uid);
        let mut cfg = DeviceConfig::new(&cred.uid, &cred.secret, state_dir.clone());
        cfg.model = Some(cred.model.clone());
        cfg.server = Some(server.clone());
        cfg.pin = Some(pin);
        cfg.timings.telemetry = Duration::from_secs(10);
        let bound = s.store.device(&cred.uid).await?.and_then(|d| d.owner).is_some();
        if !bound {
            let pairing = s
                .devices
                .start_pairing(&principal, &cred.uid, "KankanDemo", "demo-wifi-pass")
                .await?;
            let payload = pairing_from_qr_text(&pairing.qr_text)?;
            // The secret the device holds: the server rotates it at each binding.
            let secret = kankan_sim::state::current_secret(&state_dir, &cred.secret)?;
            cfg.pairing = Some(kankan_sim::pairing::join(&payload, &secret)?);
        }
        let (media_tx, media_rx) = tokio::sync::mpsc::unbounded_channel();
        let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
        let (device, motion) = Device::new(cfg)?.with_media(media_tx).with_motion(events_rx);
        if cred.model == "KK-D1" {
            // Someone rings the demo doorbell now and then: the app's ring screen shows it.
            device.buttons().press_every(DEMO_RING_EVERY, running.shutdown_signal());
        }
        let signal = running.shutdown_signal();
        tokio::spawn(async move {
            if let Err(e) = device.run(signal).await {
                tracing::error!(error = %e, "a demo device stopped");
            }
        });
        // Every demo device records continuously (it retries until its binding is done).
        let mut local = running.addr;
        if local.ip().is_unspecified() {
            local.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let scheme = if running.https { "https" } else { "http" };
        let ingest = format!("{scheme}://{local}");
        let mut video = VideoConfig::new(&ingest, &cred.uid, &cred.secret, Arc::new(RealClock));
        video.pin = Some(pin);
        video.secret_from = Some(state_dir.clone());
        video.motion_events =
            Some(kankan_sim::video::MotionLink { events: events_tx, settings: motion });
        video.sub_stream = Some(kankan_video::EncoderConfig {
            width: 320,
            height: 180,
            bitrate_bps: 250_000,
            ..video.encoder
        });
        let cam = kankan_sim::video::start(video, running.shutdown_signal())?;
        // Stream and talk commands: "Talk" on the Live page reaches the simulated speaker.
        let mut talk = kankan_sim::talk::TalkConfig::new(&ingest, &cred.uid, &cred.secret);
        talk.pin = Some(pin);
        talk.secret_from = Some(state_dir);
        let talk = kankan_sim::talk::start(talk, running.shutdown_signal());
        tokio::spawn(kankan_sim::media::serve_with_talk(media_rx, cam, Some(talk)));
        if !bound {
            let (devices, principal, uid, name) =
                (s.devices.clone(), principal.clone(), cred.uid.clone(), name.to_string());
            tokio::spawn(async move {
                for _ in 0..300 {
                    if let Ok(h) =
                        devices.authorize_device(&principal, Capability::ChangeSettings, &uid).await
                    {
                        let _ = devices.rename(&h, &name).await;
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                tracing::warn!(uid, "a demo device did not bind in 30 s");
            });
        }
    }
    Ok(())
}

/// The demo devices' credentials: read from `file`, or provisioned and written there.
async fn demo_credentials(running: &Running, file: &Path) -> anyhow::Result<Vec<Credential>> {
    if let Ok(text) = std::fs::read_to_string(file) {
        return Ok(parse_credentials(&text)?);
    }
    let mut csv = String::from("uid,model,secret\n");
    for (model, _) in DEVICES {
        let made = running.services.devices.provision(model, 1, "demo").await?;
        for d in made {
            csv.push_str(&format!("{},{},{}\n", d.uid, d.model, d.secret));
        }
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(file).with_context(|| format!("writing {}", file.display()))?;
    std::io::Write::write_all(&mut f, csv.as_bytes())?;
    Ok(parse_credentials(&csv)?)
}
