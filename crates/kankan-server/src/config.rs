//! Configuration: defaults < TOML file (`--config`) < `KANKAN__SECTION__KEY` environment
//! variables. Unknown keys are errors; secrets are redacted when printed.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use kankan_accounts::{AccountsConfig, LimitsConfig};
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
    pub database: DatabaseConfig,
    pub security: SecurityConfig,
    pub accounts: AccountsConfig,
    pub limits: LimitsConfig,
    pub messenger: MessengerConfig,
    /// `[notify]`: push subject (VAPID contact), whether targets may be private.
    pub notify: NotifyConfig,
    pub gateway: GatewayConfig,
    pub devices: DevicesConfig,
    /// `[cameras]`: where RTSP cameras may be (`allowed_networks`), how many per account.
    pub cameras: CamerasConfig,
    pub recording: RecordingConfig,
    pub webrtc: WebRtcConfig,
    /// `[metrics]`: who may read `/metrics`.
    pub metrics: MetricsConfig,
    pub log: LogConfig,
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
    /// The MQTT address put into pairing codes (`mqtt://host:port`), as devices on the
    /// user's network reach this server. Default: the embedded broker's listening address.
    pub mqtt_url: Option<String>,
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
            database: DatabaseConfig::default(),
            security: SecurityConfig::default(),
            accounts: AccountsConfig::default(),
            limits: LimitsConfig::default(),
            messenger: MessengerConfig::default(),
            notify: NotifyConfig::default(),
            gateway: GatewayConfig::Embedded { listen: SocketAddr::from(([127, 0, 0, 1], 1883)) },
            devices: DevicesConfig::default(),
            cameras: CamerasConfig::default(),
            recording: RecordingConfig::default(),
            webrtc: WebRtcConfig::default(),
            metrics: MetricsConfig::default(),
            log: LogConfig::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            trusted_proxies: Vec::new(),
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
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.exists() {
                return Err(format!("config file {} does not exist", f.display()));
            }
            fig = fig.merge(Toml::file(f));
        }
        let cfg: Config = fig.merge(env).extract().map_err(|e| e.to_string())?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), String> {
        self.accounts.validate()?;
        self.recording.validate()?;
        self.limits.validate()?;
        self.notify.validate()?;
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
        if let Some(t) = &self.metrics.token
            && !(16..=256).contains(&t.expose().len())
        {
            return Err("metrics.token must have 16-256 characters".into());
        }
        if let Some(u) = &self.devices.mqtt_url
            && !u.starts_with("mqtt://")
        {
            return Err("devices.mqtt_url must start with mqtt://".into());
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

    pub fn cookie_secure(&self) -> bool {
        self.server.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
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
        let out = c.dump().expect("dump");
        assert!(!out.contains("c2VjcmV0"));
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
}
