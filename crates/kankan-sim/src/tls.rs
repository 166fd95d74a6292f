//! The device's TLS: every connection to the server (MQTT, the HTTPS ingest, the talk
//! channel) is accepted only from a server presenting the public key the device pinned from
//! its pairing code ([`Pin`]). No certificate authority or name is trusted instead: a device
//! with a wrong pin refuses to connect, before its secret is sent.

use std::sync::Arc;
use std::time::Duration;

pub use kankan_crypto::tls::Pin;
use kankan_crypto::tls::pinned_client_config;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::SimError;

/// A byte stream: plain TCP or TLS.
pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// The pin an `https://` URL needs; `None` for `http://` (a lab server without TLS).
pub fn pin_for(url: &str, pin: Option<Pin>) -> Result<Option<Pin>, SimError> {
    if url.starts_with("https://") || url.starts_with("wss://") {
        pin.map(Some).ok_or_else(|| {
            SimError::Config(format!(
                "{url}: no pinned server key (pair the device again, or pass --pin)"
            ))
        })
    } else {
        Ok(None)
    }
}

/// An HTTP client for the ingest: pinned TLS for `https://` URLs.
pub fn http_client(url: &str, pin: Option<Pin>) -> Result<reqwest::Client, SimError> {
    // reqwest is built without a default TLS provider: the process-wide one is ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut b = reqwest::Client::builder().connect_timeout(Duration::from_secs(5));
    if let Some(pin) = pin_for(url, pin)? {
        b = b.tls_backend_preconfigured(pinned_client_config(pin));
    }
    b.build().map_err(|e| SimError::Config(format!("HTTP client: {e}")))
}

/// A pinned TLS connection to `host:port`.
pub async fn connect(host: &str, port: u16, pin: Pin) -> Result<TlsStream<TcpStream>, String> {
    let tcp = TcpStream::connect((host, port)).await.map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| format!("{host}: {e}"))?;
    TlsConnector::from(Arc::new(pinned_client_config(pin)))
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())
}

/// rumqttc's transport for a pinned MQTT-over-TLS connection.
pub fn mqtt_transport(pin: Pin) -> rumqttc::Transport {
    rumqttc::Transport::Tls(rumqttc::TlsConfiguration::Rustls(Arc::new(pinned_client_config(pin))))
}
