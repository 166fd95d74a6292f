//! The gateway's errors and their [`ErrorKind`]s.

use std::net::SocketAddr;

use kankan_base::ErrorKind;

/// What can go wrong starting the gateway or sending to a device.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The embedded broker could not listen on its address.
    #[error("cannot listen for MQTT on {addr}: {message}")]
    Bind { addr: SocketAddr, message: String },
    /// The configuration is unusable (empty client id, bad shared group, ...).
    #[error("invalid gateway configuration: {0}")]
    Config(String),
    /// Not a well-formed device UID.
    #[error("invalid device uid {0:?}")]
    InvalidUid(String),
    /// A payload larger than the gateway accepts.
    #[error("payload of {size} bytes exceeds the limit of {max} bytes")]
    PayloadTooLarge { size: usize, max: usize },
    /// The gateway has shut down.
    #[error("the MQTT gateway is not running")]
    Stopped,
    /// Too many messages are already waiting for the external broker (it is down or slow).
    #[error("too many messages are waiting for the MQTT broker")]
    Backlogged,
    /// The broker refused or failed an operation.
    #[error("MQTT broker error: {0}")]
    Broker(String),
}

impl GatewayError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            GatewayError::Bind { .. } | GatewayError::Stopped => ErrorKind::Unavailable,
            GatewayError::Config(_)
            | GatewayError::InvalidUid(_)
            | GatewayError::PayloadTooLarge { .. } => ErrorKind::InvalidArgument,
            GatewayError::Backlogged => ErrorKind::ResourceExhausted,
            GatewayError::Broker(_) => ErrorKind::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(GatewayError::Stopped.kind(), ErrorKind::Unavailable);
        assert_eq!(GatewayError::InvalidUid("x".into()).kind(), ErrorKind::InvalidArgument);
        assert_eq!(
            GatewayError::PayloadTooLarge { size: 2, max: 1 }.kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(GatewayError::Broker("x".into()).kind(), ErrorKind::Internal);
        assert!(GatewayError::Backlogged.kind().is_transient());
    }
}
