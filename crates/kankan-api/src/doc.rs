//! What the OpenAPI document says beyond each handler's annotation, derived from one source
//! each so that it cannot drift: every operation's security requirement comes from the
//! classification in `routes.rs`; every body that is not JSON or text is a binary string;
//! every operation may answer a `{code, message}` error (the `reject` middleware sees to it).

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, ResponseBuilder};

use crate::routes::{Access, ROUTES};

/// The headers of a WebSocket handshake (RFC 6455), for the WebSocket routes' documentation.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub(crate) struct WebSocketHeaders {
    /// `Upgrade`.
    #[param(rename = "Connection", pattern = "^[Uu]pgrade$")]
    connection: String,
    /// `websocket`.
    #[param(rename = "Upgrade", pattern = "^websocket$")]
    upgrade: String,
    /// `13`.
    #[param(rename = "Sec-WebSocket-Version", pattern = "^13$")]
    version: String,
    /// 16 random bytes, base64.
    #[param(rename = "Sec-WebSocket-Key", pattern = "^[A-Za-z0-9+/]{22}==$")]
    key: String,
}

/// Bearer token of a user session (`POST /api/v1/auth/login`).
const BEARER: &str = "bearer";
/// The session cookie, for the web app; with [`CSRF`] on requests that change state.
const SESSION: &str = "session";
const CSRF: &str = "csrf";
/// Bearer token of a staff session (`POST /api/v1/admin/login`).
const STAFF: &str = "staff";
/// A device's UID and secret (HTTP Basic).
const DEVICE: &str = "device";
/// A signed media link (`POST /api/v1/devices/{uid}/recordings/link`), as `?t=`.
const MEDIA_LINK: &str = "media_link";

/// Completes the generated document.
pub(crate) fn complete(doc: &mut OpenApi) {
    add_schemes(doc);
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, op) in operations(item) {
            let access = ROUTES.iter().find(|r| r.method == method && r.path == path);
            op.security = access.and_then(|r| requirements(r.access, method));
            if let Some(Access::Staff(p)) = access.map(|r| r.access) {
                staff_permission(op, p);
            }
            binary_bodies(op);
            error_responses(op);
        }
    }
}

fn add_schemes(doc: &mut OpenApi) {
    let http = |scheme, desc: &str| {
        SecurityScheme::Http(HttpBuilder::new().scheme(scheme).description(Some(desc)).build())
    };
    let key = |k: fn(ApiKeyValue) -> ApiKey, name: &str, desc: &str| {
        SecurityScheme::ApiKey(k(ApiKeyValue::with_description(name, desc)))
    };
    let c = doc.components.get_or_insert_with(Default::default);
    c.add_security_scheme(
        BEARER,
        http(HttpAuthScheme::Bearer, "the `token` of POST /api/v1/auth/login"),
    );
    c.add_security_scheme(
        SESSION,
        key(ApiKey::Cookie, crate::extract::SESSION_COOKIE, "the session cookie the web app holds"),
    );
    c.add_security_scheme(
        CSRF,
        key(
            ApiKey::Header,
            "X-CSRF-Token",
            "with the session cookie, on every request that changes state: the kankan_csrf \
             cookie's value",
        ),
    );
    c.add_security_scheme(
        STAFF,
        http(HttpAuthScheme::Bearer, "the `token` of POST /api/v1/admin/login (staff)"),
    );
    c.add_security_scheme(DEVICE, http(HttpAuthScheme::Basic, "the device's UID and secret"));
    c.add_security_scheme(
        MEDIA_LINK,
        key(
            ApiKey::Query,
            "t",
            "the `token` of POST /api/v1/devices/{uid}/recordings/link; checked again on each use",
        ),
    );
}

/// The operations of a path item with their methods as `routes.rs` spells them.
fn operations(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    let ops = [
        ("GET", &mut item.get),
        ("PUT", &mut item.put),
        ("POST", &mut item.post),
        ("DELETE", &mut item.delete),
        ("PATCH", &mut item.patch),
        ("HEAD", &mut item.head),
        ("OPTIONS", &mut item.options),
        ("TRACE", &mut item.trace),
    ];
    ops.into_iter().filter_map(|(m, op)| Some((m, op.as_mut()?))).collect()
}

fn requirement(schemes: &[&str]) -> SecurityRequirement {
    let none: [&str; 0] = [];
    let mut req = SecurityRequirement::default();
    for s in schemes {
        req = req.add(*s, none);
    }
    req
}

/// Who may call: the alternatives, each a set of schemes all of which are needed.
fn requirements(access: Access, method: &str) -> Option<Vec<SecurityRequirement>> {
    let safe = matches!(method, "GET" | "HEAD" | "OPTIONS");
    let user = || {
        let cookie = if safe { requirement(&[SESSION]) } else { requirement(&[SESSION, CSRF]) };
        vec![requirement(&[BEARER]), cookie]
    };
    match access {
        Access::Public => None,
        Access::Own | Access::Device(_) => Some(user()),
        Access::DeviceLink(_) => Some(vec![requirement(&[MEDIA_LINK])]),
        // OpenAPI 3.1: a non-OAuth scheme's list names the roles needed; here the permission.
        Access::Staff(p) => Some(vec![SecurityRequirement::new(STAFF, [p.name()])]),
        Access::DeviceCredentials => Some(vec![requirement(&[DEVICE])]),
    }
}

/// Says in the description which staff permission the operation needs and which roles hold it.
fn staff_permission(op: &mut Operation, p: kankan_core::staff::StaffPermission) {
    let roles: Vec<&str> = kankan_core::staff::StaffRole::ALL
        .into_iter()
        .filter(|r| r.permits(p))
        .map(|r| r.name())
        .collect();
    let line = format!(
        "Staff permission: `{}` (roles: {}); other staff answer 403 `staff-forbidden`.",
        p.name(),
        roles.join(", ")
    );
    op.description = Some(match op.description.take() {
        Some(d) if !d.is_empty() => format!("{d}\n\n{line}"),
        _ => line,
    });
}

fn binary() -> RefOr<Schema> {
    let s = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)));
    RefOr::T(Schema::Object(s.build()))
}

fn is_binary(content_type: &str) -> bool {
    !(content_type.starts_with("application/json")
        || content_type.starts_with("text/")
        || content_type == "application/sdp"
        || content_type == "application/vnd.apple.mpegurl")
}

/// Bodies of images and video are bytes, not JSON arrays of numbers.
fn binary_bodies(op: &mut Operation) {
    let fix = |ct: &str, c: &mut RefOr<Content>| {
        if let RefOr::T(c) = c
            && is_binary(ct)
        {
            c.schema = Some(binary());
        }
    };
    if let Some(RefOr::T(body)) = op.request_body.as_mut() {
        for (ct, c) in body.content.iter_mut() {
            fix(ct, c);
        }
    }
    for r in op.responses.responses.values_mut() {
        if let RefOr::T(r) = r {
            for (ct, c) in r.content.iter_mut() {
                fix(ct, c);
            }
        }
    }
}

/// Any operation may refuse a request with a documented `{code, message}` 4xx (malformed
/// input, rate limits, authentication) or fail with a 5xx of the same shape.
fn error_responses(op: &mut Operation) {
    let error = |desc: &str| {
        let content = Content::new(Some(RefOr::Ref(Ref::from_schema_name("ErrorBody"))));
        RefOr::T(
            ResponseBuilder::new().description(desc).content("application/json", content).build(),
        )
    };
    let responses = &mut op.responses.responses;
    // Every response object needs a description; the generator leaves some empty.
    for (status, r) in responses.iter_mut() {
        if let RefOr::T(r) = r
            && r.description.is_empty()
        {
            let reason = status
                .parse()
                .ok()
                .and_then(|s| axum::http::StatusCode::from_u16(s).ok()?.canonical_reason());
            r.description = reason.unwrap_or("the answer").to_string();
        }
    }
    responses.entry("4XX".into()).or_insert_with(|| error("refused: see `code`"));
    responses.entry("5XX".into()).or_insert_with(|| error("failed: see `code`"));
}
