//! What every handler can reach.

use std::sync::Arc;

use kankan_accounts::Accounts;
use kankan_devices::Devices;
use kankan_recording::Recordings;
use kankan_recording::album::Album;

use crate::Metrics;

/// HTTP-level settings, validated by the server before start.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Served over HTTPS (the public URL is https): cookies are `Secure` and named with the
    /// `__Host-` prefix, so no other host or plain-HTTP page can set or shadow them.
    pub cookie_secure: bool,
    /// The reverse proxies whose `X-Forwarded-For` entries are believed (default none).
    pub trusted_proxies: crate::client_ip::TrustedProxies,
    /// Session cookie lifetime.
    pub session_ttl_secs: u64,
    /// When set, `/metrics` answers only requests bearing this token (`metrics.token`).
    pub metrics_token: Option<kankan_base::Secret>,
    /// When set, the external broker's HTTP authenticator and authorizer
    /// (`/internal/v1/mqtt/auth`, `/acl`) answer requests bearing this token
    /// (`devices.broker_token`); unset, they answer 404.
    pub broker_token: Option<kankan_base::Secret>,
    /// `server.public_url`: the origin of the links the server hands out (invitations); when
    /// unset, the origin the request was sent to.
    pub public_url: Option<String>,
}

impl ApiConfig {
    /// The session cookie's name: `__Host-kankan_session` over HTTPS.
    pub fn session_cookie(&self) -> &'static str {
        if self.cookie_secure { "__Host-kankan_session" } else { crate::extract::SESSION_COOKIE }
    }

    /// The remembered-device cookie's name: `__Host-kankan_device` over HTTPS.
    pub fn device_cookie(&self) -> &'static str {
        if self.cookie_secure { "__Host-kankan_device" } else { crate::extract::DEVICE_COOKIE }
    }

    /// The CSRF cookie's name: `__Host-kankan_csrf` over HTTPS.
    pub fn csrf_cookie(&self) -> &'static str {
        if self.cookie_secure { "__Host-kankan_csrf" } else { crate::extract::CSRF_COOKIE }
    }
}

/// What an external broker's HTTP authenticator or authorizer is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Allow,
    Deny,
    /// Not a device: the broker's next authenticator (its own accounts) decides.
    Ignore,
}

/// The device rules an external broker asks about over HTTP (the server implements them with
/// the device secrets and the topic scheme).
#[async_trait::async_trait]
pub trait BrokerRules: Send + Sync + 'static {
    /// May `username` log in with `password` (and this client id)?
    async fn login(&self, username: &str, password: &str, client_id: Option<&str>) -> Verdict;
    /// May `username` `publish` to or `subscribe` to `topic`?
    fn access(&self, username: &str, topic: &str, action: &str) -> Verdict;
}

/// Whether the server can serve requests (its database answers): what `/readyz` asks.
#[async_trait::async_trait]
pub trait Readiness: Send + Sync + 'static {
    async fn check(&self) -> Result<(), String>;
}

#[derive(Clone)]
pub struct AppState {
    pub accounts: Accounts,
    /// The tamper-evident audit log every staff action and access to a user's data goes to.
    pub audit: kankan_core::AuditLog,
    /// The data-subject request queue.
    pub requests: kankan_accounts::Requests,
    pub devices: Devices,
    pub recordings: Recordings,
    pub album: Album,
    pub events: kankan_events::Events,
    /// Familiar faces (the gallery, strangers, the face on an event).
    pub faces: kankan_faces::Faces,
    /// Payments: orders, receipts, refunds, coupons and redemption codes, provider webhooks.
    pub billing: kankan_billing::Billing,
    /// Notification preferences, push subscriptions, webhooks, delivery records.
    pub notify: kankan_events::notify::Notifications,
    /// The operator's announcements to every user.
    pub announcements: kankan_events::notify::announce::Announcements,
    /// Data exports ("Download my data").
    pub exports: kankan_export::Exports,
    /// Firmware images, rollouts and devices' updates.
    pub firmware: kankan_firmware::Firmware,
    /// Cloud-storage plans and 4G data.
    pub plans: kankan_plans::Plans,
    /// What `/readyz` asks.
    pub readiness: Arc<dyn Readiness>,
    /// Every long-lived stream (live WebSocket, WebRTC session, event stream) registers here
    /// under its session and device, and ends when they lose access.
    pub revocations: kankan_core::Revocations,
    /// WebRTC live sessions and the talk relay.
    pub webrtc: kankan_webrtc::WebRtc,
    pub metrics: Arc<Metrics>,
    /// The background workers' status, kept by the server's supervisor.
    pub workers: kankan_worker::Workers,
    pub config: Arc<ApiConfig>,
    /// Who may log in to an external broker and use which topics (with `broker_token`).
    pub broker: Option<Arc<dyn BrokerRules>>,
    /// Fires when the server stops: long requests (device uploads) end so it can.
    pub shutdown: kankan_base::ShutdownSignal,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppState")
    }
}
