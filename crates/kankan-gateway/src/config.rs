//! Where the gateway gets its MQTT broker: embedded in this process, or an external one.

use std::net::SocketAddr;
use std::path::PathBuf;

use kankan_base::Secret;
use serde::{Deserialize, Serialize};

use crate::GatewayError;

/// The gateway's configuration, `[gateway]` in the server's config file.
///
/// ```toml
/// [gateway]
/// mode = "embedded"
/// listen = "0.0.0.0:8883"   # MQTT over TLS with the server's identity
/// # plain = true           # lab only: MQTT over plain TCP, device secrets in clear
/// ```
///
/// ```toml
/// [gateway]
/// mode = "external"
/// host = "mqtt.internal"
/// port = 8883
/// ca_file = "/etc/kankan/broker-ca.pem"   # TLS unless plain = true
/// client_id = "kankan-node-1"
/// username = "kankan-node-1"
/// password = "..."
/// shared_group = "kankan"
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase", deny_unknown_fields)]
pub enum GatewayConfig {
    /// Run an MQTT broker (3.1.1 and 5) inside this process, over TLS with the server's
    /// identity (see [`TlsFiles`]).
    Embedded {
        /// Address devices connect to; port 0 picks a free port (tests).
        listen: SocketAddr,
        /// Lab only: plain TCP, so every CONNECT carries a device secret in clear.
        #[serde(default)]
        plain: bool,
    },
    /// Connect as a client to an external broker that authenticates devices and enforces the
    /// topic rules itself (see the `external` module docs for a Mosquitto configuration).
    External {
        host: String,
        #[serde(default = "default_port")]
        port: u16,
        /// PEM file of the certificate authorities to trust for the broker's certificate;
        /// default: the system's roots. Ignored with `plain`.
        #[serde(default)]
        ca_file: Option<PathBuf>,
        /// Lab only: plain TCP to the broker (the node's password in clear).
        #[serde(default)]
        plain: bool,
        /// Unique per server node.
        client_id: String,
        /// The node's login; equal to `client_id` with Mosquitto's `use_username_as_clientid`.
        username: String,
        password: Secret,
        /// Shared-subscription group: nodes in one group split device messages between them.
        #[serde(default = "default_group")]
        shared_group: String,
    },
}

fn default_port() -> u16 {
    8883
}

/// The TLS identity of the embedded broker: PEM certificate chain and private key files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn default_group() -> String {
    "kankan".to_string()
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig::Embedded { listen: SocketAddr::from(([0, 0, 0, 0], 8883)), plain: false }
    }
}

impl GatewayConfig {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), GatewayError> {
        match self {
            GatewayConfig::Embedded { .. } => Ok(()),
            GatewayConfig::External {
                host,
                client_id,
                username,
                shared_group,
                ca_file,
                plain,
                ..
            } => {
                if !plain && ca_file.is_none() {
                    return Err(GatewayError::Config(
                        "ca_file is required for TLS to the broker (or plain = true in a lab)"
                            .into(),
                    ));
                }
                if host.is_empty() {
                    return Err(GatewayError::Config("external broker host is empty".into()));
                }
                if client_id.is_empty() || username.is_empty() {
                    return Err(GatewayError::Config("client_id and username must be set".into()));
                }
                if crate::topics::is_valid_uid(username) {
                    return Err(GatewayError::Config(
                        "the server's username must not look like a device uid".into(),
                    ));
                }
                let bad_group = |c: char| matches!(c, '/' | '+' | '#') || c.is_control();
                if shared_group.is_empty() || shared_group.contains(bad_group) {
                    return Err(GatewayError::Config(format!(
                        "invalid shared_group {shared_group:?}"
                    )));
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_modes_and_redacts_the_password() {
        let e: GatewayConfig =
            serde_json::from_str(r#"{"mode":"embedded","listen":"127.0.0.1:1883"}"#)
                .expect("embedded");
        assert_eq!(
            e,
            GatewayConfig::Embedded {
                listen: "127.0.0.1:1883".parse().expect("addr"),
                plain: false
            }
        );

        let x: GatewayConfig = serde_json::from_str(
            r#"{"mode":"external","host":"h","client_id":"n1","username":"kankan-server","password":"pw","ca_file":"/ca.pem"}"#,
        )
        .expect("external");
        let GatewayConfig::External { port, password, shared_group, .. } = x.clone() else {
            panic!("not external: {x:?}");
        };
        assert_eq!((port, password.expose(), shared_group.as_str()), (8883, "pw", "kankan"));
        x.validate().expect("valid");
        let dumped = serde_json::to_string(&x).expect("dump");
        assert!(!dumped.contains("\"pw\"") && !format!("{x:?}").contains("\"pw\""), "{dumped}");
    }

    #[test]
    fn refuses_unknown_fields_and_modes() {
        for bad in [
            r#"{"mode":"embedded","listen":"127.0.0.1:1883","extra":1}"#,
            r#"{"mode":"cluster"}"#,
            r#"{"listen":"127.0.0.1:1883"}"#,
        ] {
            assert!(serde_json::from_str::<GatewayConfig>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn validates_external_settings() {
        let ext = |username: &str, group: &str| GatewayConfig::External {
            host: "h".into(),
            port: 1883,
            ca_file: Some("/ca.pem".into()),
            plain: false,
            client_id: "n1".into(),
            username: username.into(),
            password: Secret::new("pw"),
            shared_group: group.into(),
        };
        assert!(ext("kankan-server", "kankan").validate().is_ok());
        assert!(ext("KK1A2B3C4D5E", "kankan").validate().is_err());
        assert!(ext("kankan-server", "a/b").validate().is_err());
        assert!(ext("kankan-server", "").validate().is_err());
        // fails without the fix: the external link had no TLS at all.
        let mut no_ca = ext("kankan-server", "kankan");
        if let GatewayConfig::External { ca_file, .. } = &mut no_ca {
            *ca_file = None;
        }
        assert!(no_ca.validate().is_err(), "TLS needs the broker's CA");
        if let GatewayConfig::External { plain, .. } = &mut no_ca {
            *plain = true;
        }
        assert!(no_ca.validate().is_ok(), "a lab may go plain");
    }
}
