//! Every route on one screen.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::{MethodRouter, any};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::handlers::passkeys;
use crate::handlers::{
    access, admin, album, auth, billing, broker, cancellation, card, console, console_fleet,
    data_access, devices, events, exports, faces, firmware, help, ingest, live, me, network,
    notify, ops, plans, privacy, recordings, second_factor, sharing, support, talk, tickets,
    tickets_staff, whep,
};
use crate::{ApiError, AppState, doc, metrics, reject, web};

/// JSON bodies are small; the avatar route has its own limit.
const JSON_LIMIT: usize = 16 * 1024;
/// Avatars: larger uploads get 413 before anything decodes them.
const AVATAR_LIMIT: usize = kankan_accounts::AVATAR_MAX_BYTES;

#[derive(OpenApi)]
#[openapi(
    info(title = "Kankan API", description = "Accounts, devices and video of a Kankan camera cloud."),
    tags((name = "auth"), (name = "me"), (name = "devices"), (name = "sharing"), (name = "recordings"), (name = "album"),
        (name = "events"), (name = "faces"), (name = "billing"), (name = "notifications"), (name = "ingest"), (name = "media"), (name = "admin"), (name = "ops"), (name = "privacy"), (name = "broker"), (name = "plans"), (name = "help"), (name = "support"))
)]
struct ApiDoc;

fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::register))
        .routes(routes!(auth::verify))
        .routes(routes!(auth::login))
        .routes(routes!(second_factor::second_factor))
        .routes(routes!(second_factor::status))
        .routes(routes!(second_factor::start_totp))
        .routes(routes!(second_factor::confirm_totp))
        .routes(routes!(second_factor::disable_totp))
        .routes(routes!(second_factor::regenerate_recovery_codes))
        .routes(routes!(second_factor::forget_devices))
        .routes(routes!(second_factor::forget_device))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::reset))
        .routes(routes!(auth::reset_confirm))
        .routes(routes!(privacy::guardian_consent))
        .routes(routes!(privacy::policy))
        .routes(routes!(privacy::about))
        .routes(routes!(privacy::consents))
        .routes(routes!(privacy::set_consent))
        .routes(routes!(privacy::accept_policy))
        .routes(routes!(privacy::acknowledge_disclaimer))
        .routes(routes!(privacy::announcements))
        .routes(routes!(privacy::send_announcement))
        .routes(routes!(me::get_me, me::patch_me))
        .routes(routes!(me::get_avatar))
        .routes(routes!(me::change_password))
        .routes(routes!(me::sessions))
        .routes(routes!(me::revoke_session))
        .routes(routes!(passkeys::creation_options))
        .routes(routes!(passkeys::add, passkeys::list))
        .routes(routes!(passkeys::rename, passkeys::remove))
        .routes(routes!(passkeys::login_options))
        .routes(routes!(passkeys::login))
        .routes(routes!(passkeys::second_factor_options))
        .routes(routes!(me::logins, cancellation::delete_logins))
        .routes(routes!(cancellation::cancel, cancellation::status, cancellation::continue_login))
        .routes(routes!(cancellation::receipt))
        .routes(routes!(exports::create, exports::list))
        .routes(routes!(exports::get, exports::delete))
        .routes(routes!(exports::download))
        .routes(routes!(data_access::data_access))
        .routes(routes!(data_access::file_request, data_access::my_requests))
        .routes(routes!(support::give, support::list))
        .routes(routes!(support::withdraw))
        .routes(routes!(devices::list))
        .routes(routes!(devices::start_pairing))
        .routes(routes!(devices::add_rtsp_camera))
        .routes(routes!(devices::get, devices::rename, devices::unbind))
        .routes(routes!(devices::put_settings))
        .routes(routes!(devices::send_command))
        .routes(routes!(devices::get_command))
        .routes(routes!(access::access_log))
        .routes(routes!(sharing::create, sharing::list))
        .routes(routes!(sharing::revoke))
        .routes(routes!(sharing::preview))
        .routes(routes!(sharing::accept))
        .routes(routes!(sharing::members))
        .routes(routes!(sharing::update_member, sharing::remove_member))
        .routes(routes!(sharing::history))
        .routes(routes!(sharing::leave))
        .routes(routes!(recordings::timeline))
        .routes(routes!(recordings::delete_range))
        .routes(routes!(recordings::link))
        .routes(routes!(recordings::storage))
        .routes(routes!(plans::catalogue))
        .routes(routes!(plans::device_plan))
        .routes(routes!(plans::plan_checkout))
        .routes(routes!(plans::sim))
        .routes(routes!(plans::sim_checkout))
        .routes(routes!(album::list))
        .routes(routes!(album::screenshot))
        .routes(routes!(album::clip))
        .routes(routes!(album::content))
        .routes(routes!(album::delete))
        .routes(routes!(faces::list))
        .routes(routes!(faces::picture))
        .routes(routes!(faces::name, faces::delete))
        .routes(routes!(faces::on_device))
        .routes(routes!(faces::sighting_picture))
        .routes(routes!(billing::list))
        .routes(routes!(billing::get))
        .routes(routes!(billing::receipt))
        .routes(routes!(billing::redeem))
        .routes(routes!(billing::webhook))
        .routes(routes!(billing::return_page))
        .routes(routes!(billing::refund))
        .routes(routes!(billing::coupons, billing::create_coupon))
        .routes(routes!(billing::create_code))
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
        .routes(routes!(network::set_wifi))
        .routes(routes!(network::rejoin_code))
        .routes(routes!(card::card_day))
        .routes(routes!(console::login))
        .routes(routes!(console::enrol))
        .routes(routes!(console::me))
        .routes(routes!(console::logout))
        .routes(routes!(console::list_staff, console::create_staff))
        .routes(routes!(console::set_role))
        .routes(routes!(console::disable_staff))
        .routes(routes!(console_fleet::search_accounts))
        .routes(routes!(console_fleet::get_account))
        .routes(routes!(console_fleet::ban))
        .routes(routes!(console_fleet::unban))
        .routes(routes!(console_fleet::fleet))
        .routes(routes!(console_fleet::device_health))
        .routes(routes!(tickets::request_logs))
        .routes(routes!(tickets::read_logs))
        .routes(routes!(tickets::open, tickets::list))
        .routes(routes!(tickets::get))
        .routes(routes!(tickets::reply))
        .routes(routes!(tickets::close))
        .routes(routes!(tickets_staff::queue))
        .routes(routes!(tickets_staff::get))
        .routes(routes!(tickets_staff::assign))
        .routes(routes!(tickets_staff::reply))
        .routes(routes!(tickets_staff::close))
        .routes(routes!(tickets_staff::attachment))
        .routes(routes!(admin::provision))
        .routes(routes!(admin::workers))
        .routes(routes!(data_access::queue))
        .routes(routes!(data_access::read_request))
        .routes(routes!(data_access::close_request))
        .routes(routes!(data_access::audit))
        .routes(routes!(support::staff_link))
        .routes(routes!(firmware::list_images))
        .routes(routes!(firmware::create_rollout, firmware::list_rollouts))
        .routes(routes!(firmware::get_rollout))
        .routes(routes!(firmware::pause_rollout))
        .routes(routes!(firmware::resume_rollout))
        .routes(routes!(firmware::device_firmware))
        .routes(routes!(firmware::update_device))
        .routes(routes!(firmware::download))
        .routes(routes!(help::search_help))
        .routes(routes!(help::help_article))
        .routes(routes!(help::get_rating, help::put_rating))
        .routes(routes!(help::ratings_summary))
        .layer(DefaultBodyLimit::max(JSON_LIMIT))
        .routes(routes!(me::put_avatar).layer(DefaultBodyLimit::max(AVATAR_LIMIT)))
        // Help articles: up to kankan_help::MAX_BODY of Markdown, escaped in JSON.
        .routes(
            routes!(help::list_help_articles, help::create_help_article)
                .layer(DefaultBodyLimit::max(help::ARTICLE_LIMIT)),
        )
        .routes(
            routes!(help::get_help_article, help::update_help_article, help::delete_help_article)
                .layer(DefaultBodyLimit::max(help::ARTICLE_LIMIT)),
        )
        // Images up to firmware.max_image_mib, which the handler enforces.
        .routes(routes!(firmware::upload_image).layer(DefaultBodyLimit::disable()))
        // Streams of any length; the media parser bounds every box it buffers.
        .routes(routes!(ingest::live).layer(DefaultBodyLimit::disable()))
        .routes(routes!(ingest::backfill).layer(DefaultBodyLimit::disable()))
        // Relayed as it arrives, never buffered whole; the handler bounds its length.
        .routes(routes!(card::card_answer).layer(DefaultBodyLimit::disable()))
        // A camera's log: bounded by the handler (LOGS_MAX_BYTES), read as it comes.
        .routes(routes!(tickets::logs_upload).layer(DefaultBodyLimit::disable()))
        .routes(routes!(talk::talk))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .routes(routes!(broker::auth))
        .routes(routes!(broker::acl))
        .routes(routes!(openapi_json))
        // Media: signed links, decided again on each use.
        .routes(routes!(recordings::playlist))
        .routes(routes!(recordings::init))
        .routes(routes!(recordings::segment))
        .routes(routes!(recordings::export))
        .routes(routes!(recordings::snapshot))
        .routes(routes!(card::card_play))
        .routes(routes!(live::live))
        .routes(routes!(whep::offer).layer(DefaultBodyLimit::max(whep::SDP_LIMIT)))
        .routes(routes!(whep::delete))
}

/// The router and the document, completed (`doc.rs`).
fn parts() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut doc) = api_routes().split_for_parts();
    doc::complete(&mut doc);
    (router, doc)
}

/// The generated OpenAPI document (checked in as `docs/ref/openapi.json`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    parts().1
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "ops",
    responses((status = 200, content_type = "application/json", body = Object)))]
async fn openapi_json() -> Response {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let json = DOC.get_or_init(|| openapi().to_pretty_json().unwrap_or_else(|_| "{}".into()));
    ([(header::CONTENT_TYPE, "application/json")], json.as_str()).into_response()
}

async fn api_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not-found", "no such API route")
}

/// A route outside the OpenAPI document: method (`ANY` for all), path, handler.
type Other = (&'static str, &'static str, MethodRouter<AppState>);

/// The routes outside the OpenAPI document (the API's not-found answer), each classified in
/// `routes.rs` like the rest.
fn other_routes() -> Vec<Other> {
    vec![("ANY", "/api/{*rest}", any(api_not_found))]
}

/// The method and path of each route outside the OpenAPI document.
#[cfg(test)]
pub(crate) fn other_routes_list() -> Vec<(&'static str, &'static str)> {
    other_routes().into_iter().map(|(m, p, _)| (m, p)).collect()
}

/// The browser features the web app may use (policy I(IV), the permissions it lists): the
/// camera to scan a sharing QR code and the microphone to talk, on this origin only, and the
/// clipboard only to write a link the user copies; location, motion sensors and the rest are
/// refused to every origin, so no page or frame of ours can ask for them.
pub const PERMISSIONS_POLICY: &str = "camera=(self), microphone=(self), clipboard-write=(self), \
     clipboard-read=(), geolocation=(), accelerometer=(), gyroscope=(), magnetometer=(), \
     display-capture=(), midi=(), payment=(), usb=()";

/// The whole HTTP surface: API, operations endpoints, OpenAPI document and web app. Who may
/// call each route is in `routes.rs`.
pub fn router(state: AppState) -> Router {
    let (mut api, _) = parts();
    for (_, path, route) in other_routes() {
        api = api.route(path, route);
    }
    api.fallback(web::serve)
        .layer(axum::middleware::from_fn(reject::json_errors))
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
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static(PERMISSIONS_POLICY),
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
