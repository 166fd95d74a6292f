//! The embedded web app: static files from `web/`, with `index.html` for the app's own paths.

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

fn find(path: &str) -> Option<&'static (&'static str, &'static str, &'static [u8])> {
    ASSETS.iter().find(|(p, _, _)| *p == path)
}

/// Serves a web asset, or the app shell for any other non-API path.
pub async fn serve(uri: Uri) -> Response {
    let path = uri.path();
    let asset = if path == "/" { find("/index.html") } else { find(path) };
    let asset = asset.or_else(|| {
        let looks_like_file = path.rsplit('/').next().is_some_and(|last| last.contains('.'));
        (!looks_like_file).then(|| find("/index.html")).flatten()
    });
    match asset {
        Some((p, ct, bytes)) => {
            let mut resp = (StatusCode::OK, *bytes).into_response();
            let h = resp.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            let cache = if *p == "/index.html" || *p == "/sw.js" {
                "no-cache"
            } else {
                "public, max-age=300"
            };
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            resp
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
