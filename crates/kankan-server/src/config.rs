//! Configuration: defaults < TOML file (`--config`) < `KANKAN__SECTION__KEY` environment
//! variables. Unknown keys are errors; secrets are redacted when printed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use kankan_accounts::{AccountsConfig, LimitsConfig, PrivacyConfig};
use kankan_base::Secret;
use kankan_devices::CamerasConfig;
use kankan_events::notify::NotifyConfig;
use kankan_gateway::GatewayConfig;
use kankan_notify::MessengerConfig;
use kankan_recording::RecordingConfig;
use kankan_webrtc::WebRtcConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the database, keys, blobs and the development outbox live.
    pub data_dir: PathBuf,
    pub server: ServerConfig,
    /// `[tls]`: the server's TLS identity (embedded MQTT broker, HTTPS).
    pub tls: TlsConfig,
    pub database: DatabaseConfig,
    /// `[blobs]`: where sealed segments, exports and Album items go: a directory or S3.
    pub blobs: kankan_blobs::BlobsConfig,
    pub security: SecurityConfig,
    pub accounts: AccountsConfig,
    pub privacy: PrivacyConfig,
    /// `[exports]`: how long a data export is kept, how often one may be started.
    pub exports: kankan_export::ExportsConfig,
    /// `[faces]`: familiar faces (the most one account keeps).
    pub faces: kankan_faces::FacesConfig,
    /// `[firmware]`: the operator's public key, the largest image, the rollouts' pace.
    pub firmware: kankan_firmware::FirmwareConfig,
    pub limits: LimitsConfig,
    pub messenger: MessengerConfig,
    /// `[notify]`: push subject (VAPID contact), whether targets may be private.
    pub notify: NotifyConfig,
    pub gateway: GatewayConfig,
    pub devices: DevicesConfig,
    /// `[cameras]`: where RTSP cameras may be (`allowed_networks`), how many per account.
    pub cameras: CamerasConfig,
    pub recording: RecordingConfig,
    /// `[plans]`: the free tier, the cloud-storage plans and the 4G data packages.
    pub plans: kankan_plans::PlansConfig,
    pub webrtc: WebRtcConfig,
    /// `[metrics]`: who may read `/metrics`.
    pub metrics: MetricsConfig,
    pub log: LogConfig,
    /// `[ai]`: the OpenAI-compatible endpoint that describes events (off unless set).
    pub ai: kankan_events::ai::AiConfig,
    /// `[vision]`: person detection on the server (off until `models_dir` is set).
    pub vision: crate::vision_config::VisionConfig,
    /// `[billing]`: the payment providers (off until one is configured).
    pub billing: kankan_billing::BillingConfig,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// When set, `/metrics` answers only `Authorization: Bearer <token>` (16-256 characters;
    /// prefer the environment). Unset, anyone who reaches the port may read it.
    pub token: Option<Secret>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DevicesConfig {
    /// The MQTT address put into pairing codes (`mqtts://host:port`; `mqtt://` only for a
    /// plain lab broker), as devices on the user's network reach this server. Default: the
    /// embedded broker's listening address.
    pub mqtt_url: Option<String>,
    /// With an external broker on `mqtts://`: the pin of the broker's TLS key (64 hex digits,
    /// SHA-256 of its SubjectPublicKeyInfo) put into pairing codes. The embedded broker's pin
    /// is the server's own.
    pub mqtt_pin: Option<String>,
    /// With an external broker: the bearer token its HTTP authenticator and authorizer send
    /// to `/internal/v1/mqtt/auth` and `/acl` (32-256 characters), so it checks device logins
    /// against the secrets this server holds (and rotates). Unset: those routes answer 404.
    pub broker_token: Option<kankan_base::Secret>,
}

/// The server's TLS identity: the embedded MQTT broker always uses it (unless
/// `gateway.plain`), the HTTP listener with `server.tls`. Devices pin its public key when
/// they pair, so keep the key across certificate renewals (or pair devices again).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first; with `key_file`. Default: a self-signed certificate
    /// generated on first start in `<data_dir>/tls/`.
    pub cert_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
    /// More names (DNS names or IP addresses) for the generated certificate, besides
    /// `localhost`, the loopback addresses and the hosts of `server.public_url` and
    /// `devices.mqtt_url`.
    pub names: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub listen: SocketAddr,
    /// The address users reach the server at; `https://` turns on Secure, `__Host-` cookies.
    pub public_url: Option<String>,
    /// Reverse proxies (addresses or networks) whose `X-Forwarded-For` entries are believed;
    /// default none: the client is the TCP peer.
    pub trusted_proxies: Vec<String>,
    /// Serve HTTPS on `listen` with the `[tls]` identity (reloaded when its files change),
    /// instead of plain HTTP for a reverse proxy to front.
    pub tls: bool,
    /// A client has this long to send a request's headers (and its TLS handshake), and an
    /// idle keep-alive connection is closed after it (1-300).
    pub header_timeout_secs: u64,
    /// A connection on which nothing is read or written for this long is closed (10-86400).
    pub idle_timeout_secs: u64,
    /// Connections served at once; more wait to be accepted (16-65536).
    pub max_connections: usize,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://path` or `postgres://user:password@host:port/db`; default
    /// `sqlite://<data_dir>/kankan.db`. The password is redacted in `dump()`.
    #[serde(serialize_with = "redact_url_password")]
    pub url: Option<String>,
}

/// Writes a database URL with its password redacted (see [`redacted_url`]).
fn redact_url_password<S: serde::Serializer>(
    url: &Option<String>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match url {
        Some(url) => s.serialize_some(&redacted_url(url)),
        None => s.serialize_none(),
    }
}

/// A database URL fit for logs and dumps: `user:password@` becomes `user:[redacted]@`.
pub fn redacted_url(url: &str) -> String {
    let authority = url.find("://").map_or(0, |i| i + 3);
    let end = url[authority..].find('/').map_or(url.len(), |i| authority + i);
    let Some(at) = url[authority..end].rfind('@').map(|at| authority + at) else {
        return url.to_owned();
    };
    match url[authority..at].find(':') {
        Some(colon) => format!("{}:[redacted]{}", &url[..authority + colon], &url[at..]),
        None => url.to_owned(),
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Base64 of 32 bytes. Prefer `master_key_file` or the environment.
    pub master_key: Option<Secret>,
    /// File holding the master key; default `<data_dir>/master.key`, created on first start.
    pub master_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` or `json`.
    pub format: LogFormat,
    /// A tracing filter (`info`, `kankan_core=debug`); `KANKAN_LOG` overrides it.
    pub filter: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("kankan-data"),
            server: ServerConfig::default(),
            tls: TlsConfig::default(),
            database: DatabaseConfig::default(),
            blobs: kankan_blobs::BlobsConfig::default(),
            security: SecurityConfig::default(),
            accounts: AccountsConfig::default(),
            privacy: PrivacyConfig::default(),
            exports: kankan_export::ExportsConfig::default(),
            faces: kankan_faces::FacesConfig::default(),
            firmware: kankan_firmware::FirmwareConfig::default(),
            limits: LimitsConfig::default(),
            messenger: MessengerConfig::default(),
            notify: NotifyConfig::default(),
            vision: crate::vision_config::VisionConfig::default(),
            gateway: GatewayConfig::Embedded {
                listen: SocketAddr::from(([127, 0, 0, 1], 8883)),
                plain: false,
            },
            devices: DevicesConfig::default(),
            cameras: CamerasConfig::default(),
            recording: RecordingConfig::default(),
            plans: kankan_plans::PlansConfig::default(),
            webrtc: WebRtcConfig::default(),
            metrics: MetricsConfig::default(),
            log: LogConfig::default(),
            ai: kankan_events::ai::AiConfig::default(),
            billing: kankan_billing::BillingConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            trusted_proxies: Vec::new(),
            tls: false,
            header_timeout_secs: 10,
            idle_timeout_secs: 300,
            max_connections: 1024,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { format: LogFormat::Text, filter: "info".into() }
    }
}

impl Config {
    /// Loads defaults, then the file (if any), then `KANKAN__*` variables, and validates.
    pub fn load(file: Option<&Path>) -> Result<Config, String> {
        Self::load_from(file, Env::prefixed("KANKAN__").split("__"))
    }

    fn load_from(file: Option<&Path>, env: Env) -> Result<Config, String> {
        let mut given = Figment::new();
        if let Some(f) = file {
            if !f.exists() {
                return Err(format!("config file {} does not exist", f.display()));
            }
            given = given.merge(Toml::file(f));
        }
        given = given.merge(env);
        // The default gateway is the embedded broker; an external one chosen in the file or
        // the environment replaces it whole (its `listen` would be an unknown field there).
        let mut defaults =
            figment::value::Value::serialize(Config::default()).map_err(|e| e.to_string())?;
        if given.extract_inner::<String>("gateway.mode").is_ok_and(|m| m == "external")
            && let figment::value::Value::Dict(_, d) = &mut defaults
        {
            d.remove("gateway");
        }
        let fig = Figment::from(Serialized::defaults(defaults)).merge(given);
        let cfg: Config = fig.extract().map_err(|e| e.to_string())?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), String> {
        self.blobs.validate()?;
        self.accounts.validate()?;
        self.privacy.validate()?;
        self.exports.validate()?;
        self.faces.validate()?;
        self.firmware.validate()?;
        self.recording.validate()?;
        self.plans.validate()?;
        self.limits.validate()?;
        self.notify.validate()?;
        self.vision.validate()?;
        self.billing.validate()?;
        if let Some(u) = &self.server.public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err("server.public_url must start with http:// or https://".into());
        }
        if self.security.master_key.is_some() && self.security.master_key_file.is_some() {
            return Err("set security.master_key or security.master_key_file, not both".into());
        }
        kankan_api::client_ip::TrustedProxies::parse(&self.server.trusted_proxies)
            .map_err(|e| format!("server.trusted_proxies: {e}"))?;
        self.gateway.validate().map_err(|e| format!("gateway: {e}"))?;
        self.webrtc.validate()?;
        self.cameras.validate()?;
        self.ai.validate()?;
        if let Some(t) = &self.devices.broker_token
            && !(32..=256).contains(&t.expose().len())
        {
            return Err("devices.broker_token must have 32-256 characters".into());
        }
        if let Some(t) = &self.metrics.token
            && !(16..=256).contains(&t.expose().len())
        {
            return Err("metrics.token must have 16-256 characters".into());
        }
        if let Some(u) = &self.devices.mqtt_url {
            let want = if self.mqtt_tls() { "mqtts://" } else { "mqtt://" };
            if !u.starts_with(want) {
                return Err(format!("devices.mqtt_url must start with {want} for this broker"));
            }
        }
        if let Some(pin) = &self.devices.mqtt_pin
            && kankan_crypto::tls::Pin::from_hex(pin).is_none()
        {
            return Err("devices.mqtt_pin must be 64 hex digits".into());
        }
        if matches!(self.gateway, GatewayConfig::External { .. })
            && self.devices.mqtt_url.as_deref().is_some_and(|u| u.starts_with("mqtts://"))
            && self.devices.mqtt_pin.is_none()
        {
            return Err("devices.mqtt_pin is required for an external broker on mqtts://".into());
        }
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            return Err("set both tls.cert_file and tls.key_file, or neither".into());
        }
        let s = &self.server;
        if !(1..=300).contains(&s.header_timeout_secs) {
            return Err("server.header_timeout_secs must be 1-300".into());
        }
        if !(10..=86_400).contains(&s.idle_timeout_secs) {
            return Err("server.idle_timeout_secs must be 10-86400".into());
        }
        if !(16..=65_536).contains(&s.max_connections) {
            return Err("server.max_connections must be 16-65536".into());
        }
        if let Some(url) = &self.database.url
            && kankan_db::Engine::of_url(url).is_none()
        {
            return Err("database.url must start with sqlite:// or postgres://".into());
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        self.database
            .url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("kankan.db").display()))
    }

    /// The shred ledger (the accounts whose keys were destroyed), kept beside the master key
    /// file, or in the data directory when the key comes from the configuration.
    pub fn shred_ledger_path(&self) -> PathBuf {
        let dir = match &self.security.master_key_file {
            Some(f) => f.parent().map(Path::to_path_buf).unwrap_or_else(|| self.data_dir.clone()),
            None => self.data_dir.clone(),
        };
        dir.join("shredded-accounts")
    }

    pub fn master_key_source(&self) -> kankan_crypto::MasterKeySource {
        match (&self.security.master_key, &self.security.master_key_file) {
            (Some(k), _) => kankan_crypto::MasterKeySource::Inline(k.expose().to_string()),
            (None, Some(f)) => kankan_crypto::MasterKeySource::File(f.clone()),
            (None, None) => kankan_crypto::MasterKeySource::File(self.data_dir.join("master.key")),
        }
    }

    pub fn outbox_path(&self) -> PathBuf {
        self.data_dir.join("outbox.log")
    }

    /// Whether devices reach MQTT over TLS: an embedded broker unless `plain`; an external
    /// broker as `devices.mqtt_url` says (default TLS).
    pub fn mqtt_tls(&self) -> bool {
        match &self.gateway {
            GatewayConfig::Embedded { plain, .. } => !plain,
            GatewayConfig::External { .. } => {
                !self.devices.mqtt_url.as_deref().is_some_and(|u| u.starts_with("mqtt://"))
            }
        }
    }

    /// Whether anything serves the `[tls]` identity.
    pub fn needs_tls_identity(&self) -> bool {
        self.server.tls || matches!(self.gateway, GatewayConfig::Embedded { plain: false, .. })
    }

    pub fn cookie_secure(&self) -> bool {
        self.server.tls
            || self.server.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }

    /// The effective configuration as TOML, secrets redacted.
    pub fn dump(&self) -> Result<String, String> {
        toml::to_string_pretty(self).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An environment provider that matches nothing (env overrides are tested end to end
    /// in `tests/it/cli.rs`, where a child process gets its own environment).
    fn no_env() -> Env {
        Env::prefixed("KANKAN_UNIT_TEST_NOTHING__").split("__")
    }

    /// Fails without the fix: the embedded default's `listen` stayed under an external
    /// gateway, whose fields do not include it.
    #[test]
    fn an_external_broker_in_the_file_replaces_the_embedded_default() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("kankan.toml");
        let toml = "[gateway]\nmode = \"external\"\nhost = \"127.0.0.1\"\nplain = true\n\
                    client_id = \"n1\"\nusername = \"n1\"\npassword = \"p\"\n\
                    [devices]\nmqtt_url = \"mqtt://127.0.0.1:1883\"\n";
        std::fs::write(&f, toml).expect("write");
        let c = Config::load_from(Some(&f), no_env()).expect("an external broker loads");
        assert!(matches!(c.gateway, GatewayConfig::External { port: 8883, .. }), "{c:?}");
        let plain = Config::load_from(None, no_env()).expect("defaults");
        assert!(matches!(plain.gateway, GatewayConfig::Embedded { .. }));
    }

    #[test]
    fn defaults_validate() {
        let c = Config::load_from(None, no_env()).expect("defaults are valid");
        assert_eq!(c.server.listen.port(), 8080);
        assert!(c.database_url().ends_with("kankan-data/kankan.db"));
    }

    #[test]
    fn the_example_config_parses_and_validates() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/kankan.example.toml");
        let c = Config::load_from(Some(&path), no_env()).expect("example config is valid");
        assert_eq!(c.accounts.code_ttl_minutes, 10);
    }

    #[test]
    fn unknown_keys_are_errors() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("k.toml");
        std::fs::write(&f, "[server]\nlisten = \"127.0.0.1:1\"\nlistne = 3\n").expect("write");
        let err = Config::load_from(Some(&f), no_env()).expect_err("typo refused");
        assert!(err.contains("listne"), "{err}");
    }

    #[test]
    fn dump_redacts_secrets() {
        let mut c = Config::default();
        c.security.master_key = Some(Secret::new("c2VjcmV0LWtleS1ieXRlcw=="));
        c.ai.api_key = Some(Secret::new("sk-provider-key-1234"));
        let out = c.dump().expect("dump");
        assert!(!out.contains("c2VjcmV0"));
        assert!(!out.contains("sk-provider"), "{out}");
        assert!(out.contains("[redacted]"));
    }

    #[test]
    fn dump_redacts_the_database_password_and_keeps_the_rest_of_the_url() {
        let mut c = Config::default();
        c.database.url = Some("postgres://kankan:hunter2@db.internal:5432/kankan".into());
        let out = c.dump().expect("dump");
        assert!(!out.contains("hunter2"), "{out}");
        assert!(out.contains("postgres://kankan:[redacted]@db.internal:5432/kankan"), "{out}");
        c.database.url = Some("postgres://kankan@db.internal/kankan".into());
        assert!(c.dump().expect("dump").contains("postgres://kankan@db.internal/kankan"));
    }

    #[test]
    fn database_urls_of_other_engines_are_refused() {
        let mut c = Config::default();
        c.database.url = Some("mysql://x".into());
        assert!(c.validate().is_err());
        c.database.url = Some("postgresql://kankan@localhost/kankan".into());
        assert!(c.validate().is_ok());
    }

    #[test]
    fn invalid_values_are_refused() {
        let mut c = Config::default();
        c.accounts.code_ttl_minutes = 0;
        assert!(c.validate().is_err());
        // The upper ends of the ranges docs/ref/config.md gives (unbounded before).
        let out_of_range: [fn(&mut Config); 17] = [
            |c| c.accounts.cancellation_working_days = 0,
            |c| c.accounts.cancellation_working_days = 61,
            |c| c.accounts.receipt_days = 0,
            |c| c.accounts.dormant_days = 29,
            |c| c.accounts.dormant_notice_days = 1095,
            |c| c.accounts.code_max_attempts = 101,
            |c| c.privacy.time_zone = "Nowhere/Else".into(),
            |c| c.privacy.holidays = vec!["12/25".into()],
            |c| c.accounts.session_ttl_days = 3651,
            |c| c.accounts.login_history_days = 0,
            |c| c.accounts.session_idle_days = 0,
            |c| c.accounts.pending_registration_days = 366,
            |c| c.privacy.response_working_days = 61,
            |c| c.recording.max_clock_skew_secs = 0,
            |c| c.recording.sweep_secs = 86_401,
            |c| c.recording.live_upload_max_secs = 4,
            |c| c.recording.live_upload_max_secs = 86_401,
        ];
        for f in out_of_range {
            let mut c = Config::default();
            f(&mut c);
            assert!(c.validate().is_err());
        }
        let mut c = Config::default();
        c.server.public_url = Some("ftp://x".into());
        assert!(c.validate().is_err());
        let mut c = Config::default();
        c.cameras.allowed_networks = vec!["192.168.0.0/33".into()];
        let err = c.validate().expect_err("a bad network");
        assert!(err.contains("cameras.allowed_networks"), "{err}");
        let mut c = Config::default();
        c.cameras.max_per_account = 0;
        assert!(c.validate().is_err());
    }

    #[test]
    fn cameras_may_be_on_the_household_lan_by_default_and_never_on_loopback() {
        let policy = Config::default().cameras.policy().expect("policy");
        assert!(policy.allows("192.168.1.64".parse().expect("ip")));
        assert!(!policy.allows("127.0.0.1".parse().expect("ip")));
        assert!(!policy.allows("169.254.169.254".parse().expect("ip")));
    }

    #[test]
    fn listener_limits_and_tls_files_are_checked() {
        let bad: [fn(&mut Config); 5] = [
            |c| c.server.header_timeout_secs = 0,
            |c| c.server.idle_timeout_secs = 5,
            |c| c.server.max_connections = 1,
            |c| c.tls.cert_file = Some("cert.pem".into()),
            |c| c.devices.mqtt_url = Some("mqtt://cams.example:1883".into()),
        ];
        for f in bad {
            let mut c = Config::default();
            f(&mut c);
            assert!(c.validate().is_err(), "{:?}", c.server);
        }
        let listen = "127.0.0.1:1883".parse().expect("an address");
        let mut lab = Config {
            gateway: GatewayConfig::Embedded { listen, plain: true },
            ..Config::default()
        };
        lab.devices.mqtt_url = Some("mqtt://cams.example:1883".into());
        assert!(lab.validate().is_ok() && !lab.mqtt_tls() && !lab.needs_tls_identity());
        assert!(Config::default().mqtt_tls(), "devices reach MQTT over TLS by default");
    }
}
