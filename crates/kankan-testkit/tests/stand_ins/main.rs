//! The testkit's local stand-ins, driven by the real clients of `kankan-notify`: the Web Push
//! service ([`kankan_testkit::push`]) and the webhook receiver ([`kankan_testkit::webhook`]).

mod push;
mod webhook;

/// A reqwest client for the tests (installs the rustls provider first).
pub fn http() -> reqwest::Client {
    kankan_testkit::http_client()
}
