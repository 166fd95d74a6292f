//! The external MQTT broker's HTTP authenticator and authorizer, in the request and answer
//! shapes of EMQX 5's HTTP authentication and authorization (`{"result": "allow" | "deny" |
//! "ignore"}`): a device logs in to the broker with its UID and the secret the server holds
//! (and rotates), and may use only its own topics. Answered only when `devices.broker_token`
//! is set and the broker sends it as a bearer token; otherwise 404.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use kankan_protocol::v1::ErrorBody;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::extract::{ApiJson, bears};
use crate::{ApiError, AppState, BrokerRules, Verdict};

/// A client's login, as the broker forwards it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BrokerLogin {
    pub username: String,
    pub password: String,
    /// The MQTT client id; a device's must be its UID.
    pub clientid: Option<String>,
}

/// A client's publish or subscribe, as the broker forwards it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BrokerAccess {
    pub username: String,
    pub topic: String,
    /// `publish` or `subscribe`.
    pub action: String,
}

/// The answer: `ignore` for logins that are not devices' (the broker's own accounts for the
/// server nodes), so its next authenticator decides.
#[derive(Debug, Serialize, ToSchema)]
pub struct BrokerAnswer {
    pub result: Verdict,
    pub is_superuser: bool,
}

/// The rules, when the broker that asks brings the configured token.
fn rules<'a>(state: &'a AppState, headers: &HeaderMap) -> Result<&'a dyn BrokerRules, ApiError> {
    let (Some(token), Some(rules)) = (&state.config.broker_token, &state.broker) else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such API route"));
    };
    if !bears(headers, token) {
        return Err(ApiError::unauthenticated());
    }
    Ok(rules.as_ref())
}

/// May this client log in to the broker?
#[utoipa::path(post, path = "/internal/v1/mqtt/auth", tag = "broker", request_body = BrokerLogin,
    responses((status = 200, body = BrokerAnswer),
        (status = 401, body = ErrorBody, description = "unauthenticated: not the broker's token"),
        (status = 404, body = ErrorBody, description = "not-found: devices.broker_token unset")))]
pub async fn auth(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(login): ApiJson<BrokerLogin>,
) -> Result<Json<BrokerAnswer>, ApiError> {
    let rules = rules(&state, &headers)?;
    let result = rules.login(&login.username, &login.password, login.clientid.as_deref()).await;
    Ok(Json(BrokerAnswer { result, is_superuser: false }))
}

/// May this client publish to or subscribe to this topic?
#[utoipa::path(post, path = "/internal/v1/mqtt/acl", tag = "broker", request_body = BrokerAccess,
    responses((status = 200, body = BrokerAnswer),
        (status = 401, body = ErrorBody, description = "unauthenticated: not the broker's token"),
        (status = 404, body = ErrorBody, description = "not-found: devices.broker_token unset")))]
pub async fn acl(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(access): ApiJson<BrokerAccess>,
) -> Result<Json<BrokerAnswer>, ApiError> {
    let rules = rules(&state, &headers)?;
    let result = rules.access(&access.username, &access.topic, &access.action);
    Ok(Json(BrokerAnswer { result, is_superuser: false }))
}
