//! Wiring: opens the data directory, keys, store and messenger; builds the services; serves
//! HTTP and runs the workers under one [`Supervisor`] until shutdown.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use kankan_accounts::Accounts;
use kankan_api::{ApiConfig, AppState, Metrics};
use kankan_base::{Clocks, Shutdown, ShutdownSignal};
use kankan_core::{DeliveryQueue, JobRunner};
use kankan_crypto::tls::{Identity, IdentityFiles, Pin};
use kankan_crypto::{Keyring, MasterKey};
use kankan_db::Store;
use kankan_devices::Devices;
use kankan_recording::Recordings;
use kankan_recording::album::Album;
use kankan_worker::{Supervisor, Workers};
use tokio::task::JoinHandle;

use kankan_core::cluster::{Leased, NodeLease};

use crate::Config;
use crate::devices::{Authenticator, GatewayBus};

/// The assembled components, before anything listens.
pub struct Services {
    pub store: Arc<dyn Store>,
    pub accounts: Accounts,
    /// The tamper-evident audit log (`kankan_core::audit`).
    pub audit: kankan_core::AuditLog,
    /// The data-subject request queue.
    pub requests: kankan_accounts::Requests,
    pub devices: Devices,
    pub recordings: Recordings,
    pub album: Album,
    pub events: kankan_events::Events,
    /// The vision models and their pool (`[vision]`), when the operator set `models_dir`.
    pub vision: Option<Arc<crate::vision::Vision>>,
    /// Familiar faces.
    pub faces: kankan_faces::Faces,
    /// Data exports ("Download my data").
    pub exports: kankan_export::Exports,
    /// Payments: orders, provider webhooks, refunds, coupons and redemption codes.
    pub billing: kankan_billing::Billing,
    /// Firmware images, rollouts and devices' updates.
    pub firmware: kankan_firmware::Firmware,
    pub delivery: DeliveryQueue,
    pub messenger: Arc<dyn kankan_notify::Messenger>,
    /// Notification preferences, and the dispatcher new events go through.
    pub notify: kankan_events::notify::Notifications,
    pub dispatcher: kankan_events::notify::Dispatcher,
    /// The operator's announcements (stored, listed, pushed by the `announce` worker).
    pub announcements: kankan_events::notify::announce::Announcements,
    vapid: kankan_events::notify::VapidKey,
    /// The gateway, once started by [`start`].
    pub bus: Arc<GatewayBus>,
    /// The open streams, ended when access is taken away.
    pub revocations: kankan_core::Revocations,
    /// Deleting accounts across the domains (shred, then purge).
    pub lifecycle: crate::lifecycle::Lifecycle,
    /// Cloud-storage plans and 4G data; the fulfilment of paid orders.
    pub plans: kankan_plans::Plans,
    /// The help center and the app's ratings.
    pub help: kankan_help::Help,
    /// Support tickets and cameras' logs for them.
    pub support: kankan_support::Support,
}

/// Creates the data directory (mode 0700) if missing, and makes every file the server creates
/// from now on private to its user (umask 077): the database and its WAL, blobs, journals,
/// keys and certificates are 0600, so that a copied backup keeps tight modes.
fn ensure_data_dir(dir: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating data directory {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {}", dir.display()))?;
    }
    Ok(())
}

/// Opens everything the configuration names and applies pending migrations.
pub async fn build_services(cfg: &Config, clock: Clocks) -> anyhow::Result<Services> {
    ensure_data_dir(&cfg.data_dir)?;
    let master = MasterKey::load(&cfg.master_key_source()).context("loading the master key")?;
    let keyring = Keyring::new(&master);
    drop(master);
    let store = kankan_db::open(&cfg.database_url()).await.context("opening the database")?;
    let applied = store.migrate().await.context("migrating the database")?;
    if !applied.is_empty() {
        tracing::info!(?applied, "database migrated");
    }
    let blobs = kankan_blobs::open(&cfg.blobs, &cfg.data_dir).context("opening the blob store")?;
    let messenger =
        kankan_notify::build_with_clock(&cfg.messenger, &cfg.outbox_path(), clock.clone())
            .context("configuring the messenger")?;
    let delivery = DeliveryQueue::new(store.clone(), keyring.clone(), clock.clone());
    let revocations = kankan_core::Revocations::new(store.clone(), clock.clone());
    let bus = Arc::new(GatewayBus::default());
    let device_server = cfg.devices.mqtt_url.clone().unwrap_or_default();
    let devices = Devices::new(
        store.clone(),
        keyring.clone(),
        clock.clone(),
        bus.clone(),
        device_server,
        revocations.clone(),
        delivery.clone(),
    );
    devices.set_cameras_config(cfg.cameras.clone()).map_err(anyhow::Error::msg)?;
    let recordings = Recordings::new(
        store.clone(),
        blobs.clone(),
        keyring.clone(),
        clock.clone(),
        devices.clone(),
        cfg.data_dir.join("journal"),
        cfg.recording.clone(),
        revocations.clone(),
        kankan_accounts::ConsentCheck::new(store.clone(), cfg.privacy.cloud_recording_optional),
    )?;
    // Devices without a plan follow the free tier of `[plans]`.
    let free = kankan_plans::Plans::free_limits(&cfg.plans, cfg.recording.retention_days);
    recordings.set_free_tier(free).map_err(|_| anyhow::anyhow!("free tier set twice"))?;
    let recovered = recordings.recover().await.context("recovering interrupted recordings")?;
    if recovered.recovered + recovered.dropped > 0 {
        tracing::info!(?recovered, "recordings recovered");
    }
    let album = Album::new(
        store.clone(),
        blobs.clone(),
        clock.clone(),
        devices.clone(),
        recordings.clone(),
        cfg.data_dir.join("album-staging"),
    )?;
    let vision = crate::vision::Vision::load(&cfg.vision)?;
    let mut events = kankan_events::Events::with_describer(
        store.clone(),
        clock.clone(),
        devices.clone(),
        recordings.clone(),
        describer(cfg, &store, &keyring, &clock).await?,
    );
    let faces = kankan_faces::Faces::new(
        store.clone(),
        clock.clone(),
        devices.clone(),
        kankan_accounts::ConsentCheck::new(store.clone(), cfg.privacy.cloud_recording_optional),
        cfg.faces,
        kankan_faces::SAME_PERSON_MAX_DISTANCE,
    );
    if let Some(v) = &vision {
        // The person listeners: familiar faces (which checks the camera's setting and the
        // owner's consent for each person seen).
        let listeners: Vec<Arc<dyn kankan_events::PersonListener>> =
            vec![Arc::new(kankan_faces::FaceListener::new(faces.clone(), v.models.clone()))];
        events = events.with_person_detection(v.clone(), cfg.vision.sample_fps, listeners);
    }
    let dispatcher = kankan_events::notify::Dispatcher::new(
        store.clone(),
        keyring.clone(),
        clock.clone(),
        devices.clone(),
        cfg.server.public_url.clone(),
        cfg.notify.allow_private_targets,
    );
    dispatcher.set_daily_caps(cfg.notify.sms_per_day, cfg.notify.calls_per_day);
    dispatcher.set_who(Arc::new(faces.clone()));
    let vapid = kankan_events::notify::load_vapid_key(store.as_ref(), &keyring, clock.now())
        .await
        .context("loading the VAPID key")?;
    let notify = kankan_events::notify::Notifications::new(
        store.clone(),
        keyring.clone(),
        clock.clone(),
        dispatcher.clone(),
        vapid.public_key_b64url(),
    );
    let audit = kankan_core::AuditLog::new(store.clone(), keyring.clone(), clock.clone());
    let vault = kankan_core::KeyVault::new(store.clone(), keyring.clone());
    let requests = kankan_accounts::Requests::new(
        store.clone(),
        vault,
        clock.clone(),
        audit.clone(),
        &cfg.privacy,
    )?;
    let accounts = Accounts::new(
        store.clone(),
        blobs.clone(),
        keyring.clone(),
        clock.clone(),
        delivery.clone(),
        cfg.accounts.clone(),
        cfg.limits.clone(),
        revocations.clone(),
        privacy(cfg)?,
        // What a withdrawn consent produced is deleted here: footage for cloud recording,
        // events' descriptions for AI descriptions, every face for face recognition.
        vec![
            Arc::new(crate::withdrawals::FootageOnWithdrawal { recordings: recordings.clone() }),
            Arc::new(crate::withdrawals::DescriptionsOnWithdrawal { events: events.clone() }),
            Arc::new(kankan_faces::FacesOnWithdrawal { faces: faces.clone() }),
        ],
    );
    let plans = kankan_plans::Plans::new(
        store.clone(),
        clock.clone(),
        devices.clone(),
        recordings.clone(),
        kankan_core::KeyVault::new(store.clone(), keyring.clone()),
        delivery.clone(),
        cfg.plans.clone(),
    );
    let billing = kankan_billing::Billing::from_config(
        store.clone(),
        clock.clone(),
        &cfg.billing,
        cfg.server.public_url.as_deref().unwrap_or_default(),
    )
    .map_err(anyhow::Error::msg)
    .context("configuring billing")?;
    let firmware = kankan_firmware::Firmware::new(
        store.clone(),
        blobs.clone(),
        devices.clone(),
        clock.clone(),
        cfg.firmware.clone(),
    );
    let help = kankan_help::Help::new(store.clone(), clock.clone());
    // The starter articles not seeded yet; an operator's edit or deletion stays.
    help.seed_starter_set().await.context("seeding the help center")?;
    let support = kankan_support::Support::new(
        store.clone(),
        &keyring,
        clock.clone(),
        devices.clone(),
        delivery.clone(),
    );
    let sources = kankan_export::Sources {
        accounts: accounts.clone(),
        devices: devices.clone(),
        recordings: recordings.clone(),
        album: album.clone(),
        events: events.clone(),
        notify: notify.clone(),
        faces: faces.clone(),
        plans: plans.clone(),
        billing: billing.clone(),
        help: help.clone(),
        support: support.clone(),
    };
    let exports = kankan_export::Exports::new(
        store.clone(),
        blobs,
        clock.clone(),
        sources,
        cfg.exports.clone(),
        cfg.data_dir.join("export-staging"),
        &keyring,
    )?;
    let lifecycle = crate::lifecycle::Lifecycle {
        accounts: accounts.clone(),
        devices: devices.clone(),
        album: album.clone(),
        recordings: recordings.clone(),
        ledger: crate::lifecycle::ShredLedger::new(cfg.shred_ledger_path()),
        audit: audit.clone(),
        exports: exports.clone(),
        help: help.clone(),
    };
    // Paid orders are granted by the plans (entitlements, 4G top-ups).
    billing.set_fulfilment(Arc::new(plans.clone()));
    let reshredded =
        lifecycle.reshred_from_ledger().await.context("shredding again from the ledger")?;
    if reshredded > 0 {
        tracing::warn!(reshredded, "accounts restored from a backup were shredded again");
    }
    Ok(Services {
        store,
        accounts,
        lifecycle,
        audit,
        requests,
        devices,
        recordings,
        album,
        events,
        vision,
        faces,
        exports,
        billing,
        firmware,
        delivery,
        messenger,
        notify,
        announcements: kankan_events::notify::announce::Announcements::new(dispatcher.clone()),
        dispatcher,
        vapid,
        bus,
        revocations,
        plans,
        help,
        support,
    })
}

/// The AI describer of `[ai]`, if an endpoint is set. An endpoint whose name resolves now to
/// an address outside `ai.allowed_networks` stops the start (each request checks again).
async fn describer(
    cfg: &Config,
    store: &Arc<dyn kankan_db::Store>,
    keyring: &Keyring,
    clock: &Clocks,
) -> anyhow::Result<Option<kankan_events::ai::Describer>> {
    let ai = &cfg.ai;
    if !ai.enabled() {
        return Ok(None);
    }
    let url = ai.completions_url().map_err(anyhow::Error::msg)?;
    let (host, port) = (url.host_str().unwrap_or_default(), url.port_or_known_default());
    let policy = ai.policy().map_err(anyhow::Error::msg)?;
    match policy.resolve(host, port.unwrap_or(443)).await {
        Ok(_) => {}
        Err(kankan_base::net::Refusal::Refused) => {
            anyhow::bail!("ai.endpoint resolves to an address outside ai.allowed_networks")
        }
        Err(kankan_base::net::Refusal::Unresolved) => {
            tracing::warn!(host, "ai.endpoint does not resolve now");
        }
    }
    let consent =
        kankan_accounts::ConsentCheck::new(store.clone(), cfg.privacy.cloud_recording_optional);
    let limiter =
        kankan_accounts::risk::RateLimiter::for_store(clock.clone(), store.clone(), keyring);
    let d = kankan_events::ai::Describer::new(ai, consent, limiter).map_err(anyhow::Error::msg)?;
    if let Some(d) = &d {
        tracing::info!(host = d.host(), model = d.model(), "AI descriptions on");
    }
    Ok(d)
}

/// The operator's privacy settings with the policy texts read from the files configured.
fn privacy(cfg: &Config) -> anyhow::Result<kankan_accounts::Privacy> {
    let mut texts = Vec::new();
    for file in cfg.privacy.policy_files() {
        texts.push(match file {
            Some(path) => {
                Some(std::fs::read_to_string(&path).with_context(|| {
                    format!("reading the privacy policy file {}", path.display())
                })?)
            }
            None => None,
        });
    }
    kankan_accounts::Privacy::new(&cfg.privacy, texts).map_err(anyhow::Error::msg)
}

/// The runner of notification deliveries: web push with the server's VAPID key, webhooks,
/// and e-mail, SMS and calls through the configured providers.
fn notify_runner(
    cfg: &Config,
    services: &Services,
) -> anyhow::Result<kankan_events::notify::NotifyRunner> {
    use kankan_events::notify::{Caller, Channels, NotifyRunner, PushClient};
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    // User-supplied targets: unless allowed, only public addresses are connected to.
    let http = kankan_notify::guard::guarded_client(cfg.notify.allow_private_targets)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("kankan/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("building the notification HTTP client")?;
    let subject = cfg.notify.push_subject(cfg.server.public_url.as_deref());
    let push = PushClient::new(http.clone(), services.vapid.clone(), subject);
    let caller: Option<Arc<dyn Caller>> = match &cfg.messenger.sms {
        kankan_notify::SmsChannelConfig::Twilio(t) => {
            Some(Arc::new(kankan_notify::TwilioSms::new(t).context("configuring Twilio calls")?))
        }
        kankan_notify::SmsChannelConfig::Outbox {} => None,
    };
    let channels = Channels { push, http, messenger: services.messenger.clone(), caller };
    Ok(NotifyRunner::new(services.dispatcher.clone(), channels))
}

/// The server's TLS identity files (the operator's, or generated on first start in
/// `<data_dir>/tls/`) and its pin, when anything serves TLS.
fn tls_identity(cfg: &Config) -> anyhow::Result<Option<(IdentityFiles, Pin)>> {
    if !cfg.needs_tls_identity() {
        return Ok(None);
    }
    let files = match (&cfg.tls.cert_file, &cfg.tls.key_file) {
        (Some(cert), Some(key)) => IdentityFiles { cert: cert.clone(), key: key.clone() },
        _ => {
            let host = |url: &Option<String>| {
                let rest = url.as_deref()?.split_once("://")?.1;
                let authority = rest.split('/').next()?;
                let host = match authority.strip_prefix('[') {
                    Some(v6) => v6.split(']').next()?,
                    None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
                };
                Some(host.to_string())
            };
            let mut names = cfg.tls.names.clone();
            names.extend(host(&cfg.server.public_url));
            names.extend(host(&cfg.devices.mqtt_url));
            kankan_crypto::tls::load_or_create(&cfg.data_dir.join("tls"), &names)
                .context("creating the server's TLS identity")?
        }
    };
    let pin = Identity::load(&files).context("loading the server's TLS identity")?.pin;
    tracing::info!(cert = %files.cert.display(), %pin, "TLS identity (devices pin this key)");
    Ok(Some((files, pin)))
}

/// A server that is listening.
pub struct Running {
    pub addr: SocketAddr,
    /// The pin of the server's TLS key, which devices hold it to (None when nothing serves
    /// TLS).
    pub pin: Option<Pin>,
    /// Whether the HTTP listener serves HTTPS.
    pub https: bool,
    /// Where the embedded MQTT broker listens (None with an external broker).
    pub mqtt_addr: Option<SocketAddr>,
    pub services: Services,
    /// WebRTC live sessions and the talk relay.
    pub webrtc: kankan_webrtc::WebRtc,
    /// The background workers' status.
    pub workers: Workers,
    shutdown: Shutdown,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Asks every task to stop and waits for them.
    pub async fn stop(self) {
        self.shutdown.trigger();
        for t in self.tasks {
            let _ = t.await;
        }
    }

    pub fn shutdown_signal(&self) -> ShutdownSignal {
        self.shutdown.signal()
    }
}

/// Builds the services, binds the listener and spawns the HTTP server and the workers.
pub async fn start(cfg: &Config, clock: Clocks) -> anyhow::Result<Running> {
    let services = build_services(cfg, clock.clone()).await?;
    let identity = tls_identity(cfg)?;
    let pin = identity.as_ref().map(|(_, pin)| *pin);
    let listener = tokio::net::TcpListener::bind(cfg.server.listen)
        .await
        .with_context(|| format!("listening on {}", cfg.server.listen))?;
    let addr = listener.local_addr()?;
    // Without a configured public URL, the providers send buyers back to this address.
    let scheme = if identity.is_some() && cfg.server.tls { "https" } else { "http" };
    services.billing.default_public_url(&format!("{scheme}://{addr}"));
    let (shutdown, signal) = Shutdown::new();
    let webrtc = kankan_webrtc::WebRtc::new(cfg.webrtc.clone(), signal.clone());
    let mut supervisor = Supervisor::new(clock.clone(), signal.clone());
    let workers = supervisor.workers();
    let state = AppState {
        accounts: services.accounts.clone(),
        audit: services.audit.clone(),
        requests: services.requests.clone(),
        devices: services.devices.clone(),
        recordings: services.recordings.clone(),
        album: services.album.clone(),
        events: services.events.clone(),
        faces: services.faces.clone(),
        billing: services.billing.clone(),
        notify: services.notify.clone(),
        announcements: services.announcements.clone(),
        exports: services.exports.clone(),
        firmware: services.firmware.clone(),
        plans: services.plans.clone(),
        help: services.help.clone(),
        support: services.support.clone(),
        readiness: Arc::new(StoreReadiness(services.store.clone())),
        revocations: services.revocations.clone(),
        webrtc: webrtc.clone(),
        metrics: Arc::new(Metrics::default()),
        workers: workers.clone(),
        config: Arc::new(ApiConfig {
            cookie_secure: cfg.cookie_secure(),
            trusted_proxies: kankan_api::client_ip::TrustedProxies::parse(
                &cfg.server.trusted_proxies,
            )
            .map_err(|e| anyhow::anyhow!("server.trusted_proxies: {e}"))?,
            session_ttl_secs: u64::from(cfg.accounts.session_ttl_days) * 86_400,
            metrics_token: cfg.metrics.token.clone(),
            broker_token: cfg.devices.broker_token.clone(),
            public_url: cfg.server.public_url.clone(),
        }),
        broker: cfg.devices.broker_token.as_ref().map(|_| {
            Arc::new(crate::devices::BrokerDeviceRules(services.devices.clone()))
                as Arc<dyn kankan_api::BrokerRules>
        }),
        shutdown: signal.clone(),
    };
    // An external broker checks device logins against its own credentials, unless it asks
    // this server (`devices.broker_token`): secrets it does not know of must not be rolled out
    // to devices.
    let external = matches!(cfg.gateway, kankan_gateway::GatewayConfig::External { .. });
    services.devices.set_secret_rotation(!external || cfg.devices.broker_token.is_some());
    let auth = Arc::new(Authenticator(services.devices.clone()));
    let gateway_tls = identity
        .as_ref()
        .map(|(f, _)| kankan_gateway::TlsFiles { cert: f.cert.clone(), key: f.key.clone() });
    let gateway =
        kankan_gateway::start_with_tls(&cfg.gateway, gateway_tls.as_ref(), auth, signal.clone())
            .await
            .context("starting the MQTT gateway")?;
    services.bus.connect(gateway.handle.clone());
    let mqtt_addr = gateway.local_addr;
    let scheme = if cfg.mqtt_tls() { "mqtts" } else { "mqtt" };
    let device_server = match (&cfg.devices.mqtt_url, mqtt_addr) {
        (Some(url), _) => url.clone(),
        (None, Some(a)) => format!("{scheme}://{a}"),
        (None, None) => String::new(),
    };
    let device_pin = match (&cfg.gateway, cfg.mqtt_tls()) {
        (_, false) => None,
        (kankan_gateway::GatewayConfig::Embedded { .. }, true) => pin,
        (kankan_gateway::GatewayConfig::External { .. }, true) => {
            cfg.devices.mqtt_pin.as_deref().and_then(Pin::from_hex)
        }
    };
    services.devices.set_device_server(device_server, device_pin);
    let rejected = Arc::new(std::sync::atomic::AtomicU64::new(0));
    state.metrics.add_source(crate::devices::metrics(gateway.handle.clone(), rejected.clone()));
    let w = webrtc.clone();
    state.metrics.add_source(Box::new(move |out| w.render_metrics(out)));
    state.metrics.add_source(kankan_api::worker_metrics(workers.clone()));
    if let Some(d) = services.events.describer().cloned() {
        state.metrics.add_source(Box::new(move |out| d.render_metrics(out)));
    }
    let events = services.events.clone();
    state.metrics.add_source(Box::new(move |out| {
        use std::fmt::Write as _;
        let _ = writeln!(
            out,
            "# HELP kankan_vision_frames_skipped_total Pictures person detection skipped because \
             its pool was busy."
        );
        let _ = writeln!(out, "# TYPE kankan_vision_frames_skipped_total counter");
        let _ =
            writeln!(out, "kankan_vision_frames_skipped_total {}", events.person_frames_skipped());
    }));
    let router =
        crate::devices::Router::new(services.devices.clone(), services.events.clone(), rejected)
            .with_firmware(services.firmware.clone());
    supervisor.spawn(crate::devices::Pump::new(router, gateway.lanes));
    let app = kankan_api::router(state);
    let https = match (&identity, cfg.server.tls) {
        (Some((files, _)), true) => {
            Some(Arc::new(crate::listener::ReloadingTls::new(files.clone())?))
        }
        _ => None,
    };
    let limits = crate::listener::Limits {
        header_timeout: std::time::Duration::from_secs(cfg.server.header_timeout_secs),
        idle_timeout: std::time::Duration::from_secs(cfg.server.idle_timeout_secs),
        max_connections: cfg.server.max_connections,
    };
    let http =
        tokio::spawn(crate::listener::serve(listener, app, limits, https.clone(), signal.clone()));
    supervisor.spawn(JobRunner::new(services.delivery.clone(), services.messenger.clone()));
    supervisor.spawn(kankan_events::notify::DispatchWorker::new(
        services.dispatcher.clone(),
        services.events.new_events(),
    ));
    supervisor.spawn(notify_runner(cfg, &services)?.worker());
    // Work one node at a time does when several share the database (docs/deploy.md).
    let node = uuid::Uuid::now_v7().simple().to_string();
    tracing::info!(node, shared = services.store.is_shared(), "this node");
    let lease = |name| NodeLease::new(services.store.clone(), clock.clone(), &node, name);
    supervisor.spawn(Leased::new(services.announcements.worker(), lease("announce")));
    supervisor.spawn(Leased::new(services.firmware.worker(), lease("firmware-rollout")));
    supervisor.spawn(crate::rtsp::Bridge::new(
        services.devices.clone(),
        services.recordings.clone(),
        services.events.clone(),
        clock.clone(),
        lease("rtsp-bridge"),
    ));
    if let Some(relay) = services.events.relay() {
        supervisor.spawn(relay);
    }
    let stopper = services.recordings.live_stopper().context("the live stopper is taken")?;
    supervisor.spawn(stopper);
    supervisor.spawn(services.events.sweeper(std::time::Duration::from_secs(3600)));
    supervisor.spawn(services.faces.sweeper());
    supervisor.spawn(services.accounts.sweeper());
    supervisor.spawn(Leased::new(services.lifecycle.worker(&clock), lease("account-lifecycle")));
    supervisor.spawn(services.exports.worker());
    supervisor.spawn(services.exports.sweeper());
    // The sweeper asks the devices' one decision again for every open stream on a device.
    supervisor.spawn(kankan_core::revoke::RevocationSweeper::new(
        services.revocations.clone(),
        Arc::new(services.devices.clone()),
    ));
    supervisor.spawn(Leased::new(services.recordings.retention_worker(), lease("retention")));
    supervisor.spawn(Leased::new(services.plans.worker(), lease("plans")));
    supervisor.spawn(Leased::new(services.support.worker(), lease("support")));
    // The journal is this node's own: every node finishes its own failed segments.
    supervisor.spawn(services.recordings.sealed_retry_worker());
    let supervised = tokio::spawn(supervisor.stopped());
    let w = webrtc.clone();
    let sessions = tokio::spawn(async move { w.stopped().await });
    Ok(Running {
        addr,
        pin,
        https: https.is_some(),
        mqtt_addr,
        services,
        webrtc,
        workers,
        shutdown,
        tasks: vec![http, supervised, sessions],
    })
}

/// `/readyz`: the database answers.
struct StoreReadiness(Arc<dyn Store>);

#[async_trait::async_trait]
impl kankan_api::Readiness for StoreReadiness {
    async fn check(&self) -> Result<(), String> {
        self.0.ping().await.map_err(|e| e.to_string())
    }
}
