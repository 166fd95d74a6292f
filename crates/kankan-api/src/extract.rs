//! Extractors: the JSON body with API-style errors, the client's identity, and the
//! authenticated user (Bearer token or session cookie + CSRF header).

use std::net::SocketAddr;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use kankan_accounts::{ClientInfo, Principal, StaffPrincipal};
use kankan_core::CoreError;
use serde::de::DeserializeOwned;

use crate::{ApiError, AppState};

pub const SESSION_COOKIE: &str = "kankan_session";
pub const CSRF_COOKIE: &str = "kankan_csrf";
/// A browser remembered for its account's second factor (`kankan_accounts::mfa`).
pub const DEVICE_COOKIE: &str = "kankan_device";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A JSON body whose every rejection is a `{code, message}` 4xx.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let mut value = match axum::Json::<serde_json::Value>::from_request(req, state).await {
            Ok(axum::Json(v)) => v,
            Err(rej) => return Err(json_rejection(rej)),
        };
        integral_numbers(&mut value);
        serde_json::from_value(value)
            .map(ApiJson)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid-body", e.to_string()))
    }
}

/// JSON does not tell `2` from `2.0` (JSON Schema's `integer` takes both, and so do the clients
/// that write every number as a double): a number with no fraction becomes an integer before the
/// typed fields read it.
fn integral_numbers(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // Exactly representable in both f64 and i64 (|f| < 2^53).
            if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
                *v = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(fields) => fields.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

fn json_rejection(rej: JsonRejection) -> ApiError {
    let text = rej.body_text();
    match rej.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "the body is too large",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "send JSON with Content-Type: application/json",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid-body", text)
        }
        _ => ApiError::new(StatusCode::BAD_REQUEST, "invalid-json", text),
    }
}

/// The client as the server saw it: IP (through the trusted proxies only, see
/// [`client_ip`](crate::client_ip)) and User-Agent.
pub struct Client(pub ClientInfo);

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| state.config.trusted_proxies.client_ip(c.0.ip(), &parts.headers).to_string())
            .unwrap_or_else(|| "unknown".into());
        let ua =
            parts.headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let device = cookie(parts, state.config.device_cookie()).map(str::to_string);
        Ok(Client(ClientInfo::new(ip, ua).with_device(device)))
    }
}

/// Whether the request bears `token` as its bearer token (`Authorization: Bearer ...`),
/// compared in constant time: the one check of the operator-set tokens (`metrics.token`,
/// `devices.broker_token`).
pub(crate) fn bears(headers: &axum::http::HeaderMap, token: &kankan_base::Secret) -> bool {
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    kankan_base::constant_time_eq(sent.as_bytes(), token.expose().as_bytes())
}

/// Reads one cookie from the request.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The token of an `Authorization: Bearer` header.
fn bearer(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// An authenticated user. Cookie-authenticated requests that change state must carry the
/// session's CSRF token in `X-CSRF-Token`; Bearer requests cannot be forged cross-site.
///
/// It is also the policy gate: on a route not marked reachable without it
/// ([`routes::reachable_without_policy`](crate::routes::reachable_without_policy)), an account
/// that has not accepted the latest major version of the privacy policy is refused with
/// `policy-acceptance-required`.
pub struct CurrentUser(pub Principal);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (token, via_cookie) = match bearer(parts) {
            Some(t) => (t, false),
            None => {
                let name = state.config.session_cookie();
                (cookie(parts, name).ok_or_else(ApiError::unauthenticated)?, true)
            }
        };
        // A session of an account in its cancellation window reaches only the few routes
        // that let it continue (or look, export, log out); others answer account-cancelling.
        // Likewise a session that must enrol a second factor first
        // (`accounts.require_second_factor`) reaches only the enrolment routes.
        let matched = parts.extensions.get::<axum::extract::MatchedPath>().map(|m| m.as_str());
        let method = parts.method.as_str();
        let gate = kankan_accounts::Gate {
            while_cancelling: matched
                .is_some_and(|m| crate::routes::open_while_cancelling(method, m)),
            while_enrolling: matched
                .is_some_and(|m| crate::routes::open_while_enrolling(method, m)),
        };
        let principal = state.accounts.authenticate_in(token, gate).await?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if via_cookie && !safe {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if !sent.is_some_and(|sent| state.accounts.csrf_matches(&principal, sent)) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf-token-mismatch",
                    "send the CSRF cookie's value (kankan_csrf) in the X-CSRF-Token header",
                ));
            }
        }
        let route = parts.extensions.get::<MatchedPath>().map(MatchedPath::as_str);
        if !route.is_some_and(|r| crate::routes::reachable_without_policy(parts.method.as_str(), r))
        {
            state.accounts.consents().require_policy(principal.account_id).await?;
        }
        Ok(CurrentUser(principal))
    }
}

/// An authenticated staff member: Bearer token from `/api/v1/admin/login` only (no cookies,
/// so no CSRF surface), whose role holds the permission the route table (`routes.rs`) names
/// for the matched route: `staff-forbidden` otherwise, and for a route the table does not
/// class as a staff route.
pub struct CurrentStaff(pub StaffPrincipal);

impl FromRequestParts<AppState> for CurrentStaff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(ApiError::unauthenticated)?;
        let staff = state.accounts.authenticate_staff(token).await?;
        let path = parts.extensions.get::<MatchedPath>().map(|m| m.as_str()).unwrap_or("");
        let permission = match crate::routes::access_of(parts.method.as_str(), path) {
            Some(crate::routes::Access::Staff(p)) => p,
            _ => return Err(CoreError::StaffForbidden("this route").into()),
        };
        kankan_core::authorize_staff(staff.role, permission)?;
        Ok(CurrentStaff(staff))
    }
}

#[cfg(test)]
mod tests {
    use super::integral_numbers;

    // Fails without the normalisation: `{"seconds": 30.0}` did not read as a `u32`.
    #[test]
    fn numbers_without_a_fraction_read_as_integers_and_others_stay() {
        let mut v = serde_json::json!({"a": 30.0, "b": [-660.0, 1.5], "c": {"d": 1e300}});
        integral_numbers(&mut v);
        assert_eq!(v, serde_json::json!({"a": 30, "b": [-660, 1.5], "c": {"d": 1e300}}));
        let n: u32 = serde_json::from_value(v["a"].clone()).expect("an integer");
        assert_eq!(n, 30);
    }
}
