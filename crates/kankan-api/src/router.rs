//! Every route on one screen.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, any, delete, get, post};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::handlers::{
    admin, album, auth, devices, events, ingest, live, me, notify, ops, recordings, talk, whep,
};
use crate::{ApiError, AppState, metrics, web};

/// JSON bodies are small; the avatar route has its own limit.
const JSON_LIMIT: usize = 16 * 1024;
/// Avatars: larger uploads get 413 before anything decodes them.
const AVATAR_LIMIT: usize = kankan_accounts::AVATAR_MAX_BYTES;

#[derive(OpenApi)]
#[openapi(
    info(title = "Kankan API", description = "Accounts, devices and video of a Kankan camera cloud."),
    tags((name = "auth"), (name = "me"), (name = "devices"), (name = "recordings"), (name = "album"),
        (name = "events"), (name = "notifications"), (name = "ingest"), (name = "admin"), (name = "ops"))
)]
struct ApiDoc;

fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::register))
        .routes(routes!(auth::verify))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::reset))
        .routes(routes!(auth::reset_confirm))
        .routes(routes!(me::get_me, me::patch_me))
        .routes(routes!(me::get_avatar))
        .routes(routes!(me::change_password))
        .routes(routes!(me::sessions))
        .routes(routes!(me::revoke_session))
        .routes(routes!(me::logins))
        .routes(routes!(devices::list))
        .routes(routes!(devices::start_pairing))
        .routes(routes!(devices::add_rtsp_camera))
        .routes(routes!(devices::get, devices::rename, devices::unbind))
        .routes(routes!(devices::put_settings))
        .routes(routes!(devices::send_command))
        .routes(routes!(devices::get_command))
        .routes(routes!(recordings::timeline))
        .routes(routes!(recordings::link))
        .routes(routes!(recordings::storage))
        .routes(routes!(album::list))
        .routes(routes!(album::screenshot))
        .routes(routes!(album::clip))
        .routes(routes!(album::content))
        .routes(routes!(album::delete))
        .routes(routes!(events::list))
        .routes(routes!(events::stream))
        .routes(routes!(events::get, events::delete))
        .routes(routes!(events::thumbnail))
        .routes(routes!(events::read))
        .routes(routes!(notify::deliveries))
        .routes(routes!(notify::vapid_public_key))
        .routes(routes!(notify::subscribe, notify::unsubscribe))
        .routes(routes!(notify::get_settings, notify::put_settings))
        .routes(routes!(notify::get_device, notify::put_device))
        .routes(routes!(notify::snooze, notify::unsnooze))
        .routes(routes!(notify::list_webhooks, notify::add_webhook))
        .routes(routes!(notify::delete_webhook))
        .routes(routes!(notify::account_deliveries))
        .routes(routes!(admin::login))
        .routes(routes!(admin::provision))
        .routes(routes!(admin::workers))
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
        .routes(routes!(me::put_avatar).layer(DefaultBodyLimit::max(AVATAR_LIMIT)))
        // Streams of any length; the media parser bounds every box it buffers.
        .routes(routes!(ingest::live).layer(DefaultBodyLimit::disable()))
        .routes(routes!(ingest::backfill).layer(DefaultBodyLimit::disable()))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
}

/// The generated OpenAPI document (checked in as `docs/ref/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api_routes().split_for_parts().1
}

async fn api_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such API route")
}

/// A route outside the OpenAPI document: method (`ANY` for all), path, handler.
type Other = (&'static str, &'static str, MethodRouter<AppState>);

/// The routes outside the OpenAPI document (media, the camera's talk channel, the document
/// itself), each classified in `routes.rs` like the rest.
fn other_routes(doc_json: String) -> Vec<Other> {
    let doc = move || async move {
        ([(header::CONTENT_TYPE, "application/json")], doc_json).into_response()
    };
    vec![
        ("GET", "/api/openapi.json", get(doc)),
        ("ANY", "/api/{*rest}", any(api_not_found)),
        ("GET", "/media/v1/{uid}/playlist.m3u8", get(recordings::playlist)),
        ("GET", "/media/v1/{uid}/init/{id}", get(recordings::init)),
        ("GET", "/media/v1/{uid}/seg/{id}", get(recordings::segment)),
        ("GET", "/media/v1/{uid}/export.mp4", get(recordings::export)),
        ("GET", "/media/v1/{uid}/snapshot.jpg", get(recordings::snapshot)),
        ("GET", "/media/v1/{uid}/live", get(live::live)),
        (
            "POST",
            "/media/v1/{uid}/whep",
            post(whep::offer).layer(DefaultBodyLimit::max(whep::SDP_LIMIT)),
        ),
        ("DELETE", "/media/v1/{uid}/whep/{session}", delete(whep::delete)),
        ("GET", "/ingest/v1/{uid}/talk", get(talk::talk)),
    ]
}

/// The method and path of each route outside the OpenAPI document.
#[cfg(test)]
pub(crate) fn other_routes_list() -> Vec<(&'static str, &'static str)> {
    other_routes(String::new()).into_iter().map(|(m, p, _)| (m, p)).collect()
}

/// The whole HTTP surface: API, operations endpoints, OpenAPI document and web app. Who may
/// call each route is in `routes.rs`.
pub fn router(state: AppState) -> Router {
    let (mut api, doc) = api_routes().split_for_parts();
    let doc_json = doc.to_pretty_json().unwrap_or_else(|_| "{}".into());
    for (_, path, route) in other_routes(doc_json) {
        api = api.route(path, route);
    }
    api.fallback(web::serve)
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; \
             connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
            ),
        ))
        .with_state(state)
}
