//! Every rejection in the documented shape: the query and path extractors answer
//! `{code, message}` with their own stable codes, and [`json_errors`] turns any other error
//! response that is not JSON yet (an extractor without a wrapper, a method the route does not
//! take, a WebSocket route called without the upgrade) into one, so that no API, media or
//! ingest route answers an error in plain text.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::ApiError;

/// A query string whose rejection is a 400 `invalid-query`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(rej) => {
                Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid-query", rej.body_text()))
            }
        }
    }
}

/// Path parameters whose rejection is a 400 `invalid-path` (a 500 only for a route whose
/// parameters do not match its handler, which a test of every route would show).
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(rej) if rej.status().is_server_error() => {
                tracing::error!(error = %rej.body_text(), "path parameters do not fit the handler");
                Err(ApiError::new(rej.status(), "internal", "internal error; it has been logged"))
            }
            Err(rej) => {
                Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid-path", rej.body_text()))
            }
        }
    }
}

/// A request to a WebSocket route that is not a WebSocket handshake: 426 `upgrade-required`
/// (400 `bad-request` for a malformed one), after the caller's credentials were checked.
pub fn websocket(rej: axum::extract::ws::rejection::WebSocketUpgradeRejection) -> ApiError {
    let status = rej.status();
    ApiError::new(status, code_of(status), rej.body_text())
}

/// The stable code of an error status that reached the client without one.
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::REQUEST_TIMEOUT => "request-timeout",
        StatusCode::LENGTH_REQUIRED => "length-required",
        StatusCode::PAYLOAD_TOO_LARGE => "payload-too-large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid-body",
        StatusCode::UPGRADE_REQUIRED => "upgrade-required",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers-too-large",
        StatusCode::TOO_MANY_REQUESTS => "rate-limited",
        s if s.is_server_error() => "internal",
        _ => "bad-request",
    }
}

/// The routes whose errors the API documents (the web app's pages are not among them).
fn documented(path: &str) -> bool {
    ["/api/", "/media/", "/ingest/"].iter().any(|p| path.starts_with(p))
        || matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// Middleware: an error response from a documented route that is not JSON becomes
/// `{code, message}` (the message is the original text, or the status's reason when empty).
pub async fn json_errors(req: Request, next: Next) -> Response {
    let documented = documented(req.uri().path());
    let resp = next.run(req).await;
    let status = resp.status();
    if !documented || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = match axum::body::to_bytes(body, 4096).await {
        Ok(b) if !b.is_empty() && !status.is_server_error() => {
            String::from_utf8_lossy(&b).into_owned()
        }
        _ => status.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let mut out = ApiError::new(status, code_of(status), text).into_response();
    // Keep what the original answer says about the request (Allow, WWW-Authenticate, ...).
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::HeaderValue;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    #[derive(serde::Deserialize)]
    struct Q {
        #[allow(dead_code)]
        n: u8,
    }

    async fn q(ApiQuery(_): ApiQuery<Q>) -> &'static str {
        "ok"
    }

    async fn p(ApiPath(_): ApiPath<u8>) -> &'static str {
        "ok"
    }

    fn app() -> Router {
        Router::new()
            .route("/api/q", get(q))
            .route("/api/p/{n}", get(p))
            .route("/api/plain", get(|| async { (StatusCode::BAD_REQUEST, "plain words") }))
            .route("/page", get(|| async { (StatusCode::NOT_FOUND, "<h1>no</h1>") }))
            .layer(axum::middleware::from_fn(json_errors))
    }

    fn is_json(resp: &Response) -> bool {
        resp.headers().get(header::CONTENT_TYPE)
            == Some(&HeaderValue::from_static("application/json"))
    }

    async fn call(method: &str, uri: &str) -> (StatusCode, Response) {
        let req = Request::builder().method(method).uri(uri).body(Body::empty()).expect("request");
        let resp = app().oneshot(req).await.expect("response");
        (resp.status(), resp)
    }

    async fn code(resp: Response) -> String {
        let b = axum::body::to_bytes(resp.into_body(), 4096).await.expect("body");
        let v: serde_json::Value = serde_json::from_slice(&b).expect("json");
        v["code"].as_str().expect("code").to_string()
    }

    // Fails without the wrappers: axum's Query and Path answer text/plain.
    #[tokio::test]
    async fn malformed_query_and_path_answer_json_with_stable_codes() {
        let (s, r) = call("GET", "/api/q?n=300").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(is_json(&r));
        assert_eq!(code(r).await, "invalid-query");
        let (s, r) = call("GET", "/api/p/x").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(code(r).await, "invalid-path");
    }

    // Fails without the middleware: axum's 405 has an empty body, a handler's text stays text.
    #[tokio::test]
    async fn other_error_answers_of_documented_routes_become_json() {
        let (s, r) = call("POST", "/api/q").await;
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
        assert!(r.headers().contains_key(header::ALLOW), "Allow is kept");
        assert_eq!(code(r).await, "method-not-allowed");
        let (s, r) = call("GET", "/api/plain").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(code(r).await, "bad-request");
        let (_, r) = call("GET", "/page").await;
        assert!(!is_json(&r), "the web app's own pages keep their answers");
    }
}
