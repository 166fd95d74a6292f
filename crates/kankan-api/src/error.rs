//! API errors: `{"code", "message"}` with a status from the error kind. 5xx bodies hide
//! internals; this is the one place that logs them.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kankan_base::ErrorKind;
use kankan_core::CoreError;
use kankan_protocol::v1::ErrorBody;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after: Option<Duration>,
}

/// The one mapping from error kind to HTTP status.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidArgument => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::FailedPrecondition => StatusCode::CONFLICT,
        ErrorKind::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), retry_after: None }
    }

    pub fn unauthenticated() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", "log in first")
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        let status = match &e {
            CoreError::ImageTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            CoreError::CapabilityNotGrantable(_) | CoreError::Consent { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            other => status_of(other.kind()),
        };
        // A camera that did not start is the camera's doing: say why.
        let camera = matches!(e, CoreError::StreamNotStarted(_));
        let message = if status.is_server_error() && !camera {
            tracing::error!(error = %e, code = e.code(), "request failed");
            "internal error; it has been logged".to_string()
        } else {
            e.to_string()
        };
        ApiError { status, code: e.code(), message, retry_after: e.retry_after() }
    }
}

impl From<kankan_webrtc::WebRtcError> for ApiError {
    fn from(e: kankan_webrtc::WebRtcError) -> Self {
        let message = match &e {
            kankan_webrtc::WebRtcError::NoPort(_) => {
                tracing::error!(error = %e, code = e.code(), "request failed");
                "no UDP port free for the session; it has been logged".to_string()
            }
            other => other.to_string(),
        };
        ApiError { status: status_of(e.kind()), code: e.code(), message, retry_after: None }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody { code: self.code.to_string(), message: self.message };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(d) = self.retry_after {
            let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}
