//! Who may call each route: every route of [`crate::router`] is classified here, in one table.
//! A unit test fails when a route of the router is missing here or the table names one that
//! does not exist; kankan-server's integration tests walk the device routes as another account.

use kankan_core::authz::Capability;
use kankan_core::staff::StaffPermission;

/// What a route needs from its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (sign-in, registration, health, the web app, the OpenAPI document).
    Public,
    /// A signed-in account acting on itself or on what it owns outright (its profile,
    /// sessions, settings, lists, its events and Album items).
    Own,
    /// A signed-in account holding a capability on the device named by the route (or by the
    /// body: Album saves); anything less answers `device-not-found`.
    Device(Need),
    /// A signed media link (`?t=`) for the route's purpose that carries the capability; its
    /// session must still be live, and the capability is decided again on each use.
    DeviceLink(Capability),
    /// A signed-in staff member whose role holds the permission (`kankan_core::staff`); the
    /// staff extractor enforces it from this table.
    Staff(StaffPermission),
    /// A device, with its own credentials (HTTP Basic: UID and secret).
    DeviceCredentials,
}

/// The capabilities a device route asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    One(Capability),
    /// Every one of them.
    All(&'static [Capability]),
    /// At least one of them (the link carries those held).
    Any(&'static [Capability]),
    /// What the command sent needs (`Capability::for_command`).
    PerCommand,
}

/// One route: HTTP method (`ANY` for every method), path as the router spells it, access.
#[derive(Debug, Clone, Copy)]
pub struct RouteAccess {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
}

const fn r(method: &'static str, path: &'static str, access: Access) -> RouteAccess {
    RouteAccess { method, path, access }
}

use Access::{DeviceCredentials, DeviceLink, Own, Public, Staff};
use Capability as C;
use StaffPermission as P;

const fn dev(c: Capability) -> Access {
    Access::Device(Need::One(c))
}

/// The routes a session of an account in its cancellation window may call (every other one
/// answers `account-cancelling`): the cancellation itself ("Continue login"), the account,
/// logout and the data exports.
pub const OPEN_WHILE_CANCELLING: &[(&str, &str)] = &[
    ("GET", "/api/v1/me"),
    ("POST", "/api/v1/auth/logout"),
    ("GET", "/api/v1/me/cancellation"),
    ("POST", "/api/v1/me/cancellation"),
    ("DELETE", "/api/v1/me/cancellation"),
];

/// The routes a session that must enrol a second factor first (`accounts.require_second_factor`
/// and none enrolled) may call; every other one answers `second-factor-enrolment-required`.
pub const OPEN_WHILE_ENROLLING: &[(&str, &str)] = &[
    ("GET", "/api/v1/me"),
    ("POST", "/api/v1/auth/logout"),
    ("GET", "/api/v1/me/second-factor"),
    ("POST", "/api/v1/me/second-factor/totp"),
    ("POST", "/api/v1/me/second-factor/totp/confirm"),
    ("POST", "/api/v1/me/passkeys/options"),
    ("POST", "/api/v1/me/passkeys"),
    ("GET", "/api/v1/me/passkeys"),
];

/// Whether a route is open to a session that must enrol a second factor first.
pub fn open_while_enrolling(method: &str, path: &str) -> bool {
    OPEN_WHILE_ENROLLING.iter().any(|(m, p)| *m == method && *p == path)
}

/// Whether a route (method, path as the router spells it) is open during the cancellation
/// window: [`OPEN_WHILE_CANCELLING`] and the export routes (`/api/v1/me/exports*`).
pub fn open_while_cancelling(method: &str, path: &str) -> bool {
    path == "/api/v1/me/exports"
        || path.starts_with("/api/v1/me/exports/")
        || OPEN_WHILE_CANCELLING.iter().any(|(m, p)| *m == method && *p == path)
}

/// The access of the route `method` `path` (as the router spells it), if the table has it.
pub fn access_of(method: &str, path: &str) -> Option<Access> {
    ROUTES.iter().find(|r| r.method == method && r.path == path).map(|r| r.access)
}

/// The path the web app's fallback stands for (every path no route takes).
pub const FALLBACK: &str = "/{*fallback}";

/// Every route of the router.
pub const ROUTES: &[RouteAccess] = &[
    r("POST", "/api/v1/auth/register", Public),
    r("POST", "/api/v1/auth/register/verify", Public),
    r("POST", "/api/v1/auth/login", Public),
    r("POST", "/api/v1/auth/second-factor", Public),
    r("POST", "/api/v1/auth/second-factor/passkey-options", Public),
    r("POST", "/api/v1/auth/logout", Own),
    r("POST", "/api/v1/auth/password-reset", Public),
    r("POST", "/api/v1/auth/password-reset/confirm", Public),
    r("POST", "/api/v1/auth/register/guardian", Public),
    r("POST", "/api/v1/auth/passkey/options", Public),
    r("POST", "/api/v1/auth/passkey/login", Public),
    r("GET", "/api/v1/privacy/policy", Public),
    r("GET", "/api/v1/about", Public),
    r("GET", "/api/v1/me/consents", Own),
    r("PUT", "/api/v1/me/consents/{purpose}", Own),
    r("POST", "/api/v1/me/policy/accept", Own),
    r("POST", "/api/v1/me/disclaimer", Own),
    r("GET", "/api/v1/announcements", Own),
    r("GET", "/api/v1/me", Own),
    r("PATCH", "/api/v1/me", Own),
    r("GET", "/api/v1/me/avatar", Own),
    r("PUT", "/api/v1/me/avatar", Own),
    r("POST", "/api/v1/me/password", Own),
    r("GET", "/api/v1/me/sessions", Own),
    r("DELETE", "/api/v1/me/sessions/{id}", Own),
    r("POST", "/api/v1/me/passkeys/options", Own),
    r("POST", "/api/v1/me/passkeys", Own),
    r("GET", "/api/v1/me/passkeys", Own),
    r("PATCH", "/api/v1/me/passkeys/{id}", Own),
    r("DELETE", "/api/v1/me/passkeys/{id}", Own),
    r("GET", "/api/v1/me/second-factor", Own),
    r("POST", "/api/v1/me/second-factor/totp", Own),
    r("POST", "/api/v1/me/second-factor/totp/confirm", Own),
    r("POST", "/api/v1/me/second-factor/totp/disable", Own),
    r("POST", "/api/v1/me/second-factor/recovery-codes", Own),
    r("DELETE", "/api/v1/me/second-factor/devices", Own),
    r("DELETE", "/api/v1/me/second-factor/devices/{id}", Own),
    r("GET", "/api/v1/me/logins", Own),
    r("DELETE", "/api/v1/me/logins", Own),
    r("POST", "/api/v1/me/cancellation", Own),
    r("GET", "/api/v1/me/cancellation", Own),
    r("DELETE", "/api/v1/me/cancellation", Own),
    r("GET", "/api/v1/deletion-receipts/{token}", Public),
    r("GET", "/api/v1/me/data-access", Own),
    r("GET", "/api/v1/me/requests", Own),
    r("POST", "/api/v1/me/requests", Own),
    r("GET", "/api/v1/me/support-grants", Own),
    r("POST", "/api/v1/me/support-grants", Own),
    r("DELETE", "/api/v1/me/support-grants/{id}", Own),
    r("GET", "/api/v1/me/storage", Own),
    // Plans and 4G data: the catalogue is public; buying is the owner's.
    r("GET", "/api/v1/plans", Public),
    r("GET", "/api/v1/devices/{uid}/plan", dev(C::View)),
    r("POST", "/api/v1/devices/{uid}/plan/checkout", dev(C::ManageRecordings)),
    r("GET", "/api/v1/devices/{uid}/sim", dev(C::View)),
    r("POST", "/api/v1/devices/{uid}/sim/checkout", dev(C::ManageRecordings)),
    r("GET", "/api/v1/devices", Own),
    r("POST", "/api/v1/devices/pairings", Own),
    r("POST", "/api/v1/cameras/rtsp", Own),
    r("GET", "/api/v1/devices/{uid}", dev(C::View)),
    r("PATCH", "/api/v1/devices/{uid}", dev(C::ChangeSettings)),
    r("DELETE", "/api/v1/devices/{uid}", dev(C::Unbind)),
    r("PUT", "/api/v1/devices/{uid}/settings", dev(C::ChangeSettings)),
    r("POST", "/api/v1/devices/{uid}/commands", Access::Device(Need::PerCommand)),
    r("GET", "/api/v1/devices/{uid}/commands/{id}", dev(C::View)),
    r("GET", "/api/v1/devices/{uid}/access-log", dev(C::Share)),
    r("POST", "/api/v1/devices/{uid}/wifi", dev(C::ChangeSettings)),
    // The owner only: `unbind` is never granted to a member.
    r("POST", "/api/v1/devices/{uid}/wifi/code", dev(C::Unbind)),
    r("GET", "/api/v1/devices/{uid}/card", dev(C::PlayBack)),
    // A camera's logs for a support ticket: the owner's (change-settings) by default.
    r("POST", "/api/v1/devices/{uid}/logs", dev(C::ChangeSettings)),
    r("GET", "/api/v1/devices/{uid}/logs/{request}", dev(C::ChangeSettings)),
    r("POST", "/api/v1/support/tickets", Own),
    r("GET", "/api/v1/support/tickets", Own),
    r("GET", "/api/v1/support/tickets/{id}", Own),
    r("POST", "/api/v1/support/tickets/{id}/messages", Own),
    r("POST", "/api/v1/support/tickets/{id}/close", Own),
    r("GET", "/api/v1/admin/tickets", Staff(P::TicketsRead)),
    r("GET", "/api/v1/admin/tickets/{id}", Staff(P::TicketsRead)),
    // To oneself; to someone else also needs tickets-assign (checked by the tickets).
    r("POST", "/api/v1/admin/tickets/{id}/assign", Staff(P::TicketsReply)),
    r("POST", "/api/v1/admin/tickets/{id}/messages", Staff(P::TicketsReply)),
    r("POST", "/api/v1/admin/tickets/{id}/close", Staff(P::TicketsReply)),
    // And the ticket's assignee only, whatever the role (checked by the tickets).
    r("GET", "/api/v1/admin/tickets/{id}/attachments/{att}", Staff(P::TicketsRead)),
    // Needs `share` on every device the body names.
    r("POST", "/api/v1/shares", dev(C::Share)),
    r("GET", "/api/v1/shares", Own),
    r("DELETE", "/api/v1/shares/{id}", Own),
    r("POST", "/api/v1/invitations/preview", Own),
    r("POST", "/api/v1/invitations/accept", Own),
    r("GET", "/api/v1/devices/{uid}/members", dev(C::Share)),
    r("PUT", "/api/v1/devices/{uid}/members/{account}", dev(C::Share)),
    r("DELETE", "/api/v1/devices/{uid}/members/{account}", dev(C::Share)),
    r("GET", "/api/v1/devices/{uid}/members/history", dev(C::Share)),
    // The caller's own membership of a device shared with it.
    r("DELETE", "/api/v1/devices/{uid}/membership", Own),
    r("GET", "/api/v1/devices/{uid}/recordings/timeline", dev(C::PlayBack)),
    r("DELETE", "/api/v1/devices/{uid}/recordings", dev(C::ManageRecordings)),
    r(
        "POST",
        "/api/v1/devices/{uid}/recordings/link",
        Access::Device(Need::Any(&[C::ViewLive, C::Talk, C::PlayBack, C::Download])),
    ),
    r("GET", "/api/v1/devices/{uid}/notifications", dev(C::ReceiveAlarms)),
    r("PUT", "/api/v1/devices/{uid}/notifications", dev(C::ReceiveAlarms)),
    r("POST", "/api/v1/devices/{uid}/snooze", dev(C::ReceiveAlarms)),
    r("DELETE", "/api/v1/devices/{uid}/snooze", dev(C::ReceiveAlarms)),
    // Data exports: the caller's own; cameras named in the body are decided inside
    // (`download`, else `device-not-found`).
    r("POST", "/api/v1/me/exports", Own),
    r("GET", "/api/v1/me/exports", Own),
    r("GET", "/api/v1/me/exports/{id}", Own),
    r("DELETE", "/api/v1/me/exports/{id}", Own),
    r("GET", "/api/v1/me/exports/{id}/download", Own),
    r("GET", "/api/v1/album", Own),
    r("POST", "/api/v1/album/screenshots", Access::Device(Need::All(&[C::ViewLive, C::Download]))),
    r("POST", "/api/v1/album/clips", dev(C::Download)),
    r("GET", "/api/v1/album/{id}/content", Own),
    r("DELETE", "/api/v1/album/{id}", Own),
    // Familiar faces: the account's own gallery and strangers; a camera's faces need
    // `see-faces` (the owner's; a member's only when granted).
    // Payments: the account's orders and receipts, redeeming a code (a device target is
    // checked for the owner's `manage-recordings` in the handler); the providers' webhooks and
    // return pages are public (the webhook is verified by the provider's signature).
    r("GET", "/api/v1/orders", Own),
    r("GET", "/api/v1/orders/{id}", Own),
    r("GET", "/api/v1/orders/{id}/receipt", Own),
    r("POST", "/api/v1/billing/redeem", Own),
    r("POST", "/api/v1/billing/webhooks/{provider}", Public),
    r("GET", "/api/v1/billing/return/{provider}", Public),
    r("POST", "/api/v1/admin/billing/orders/{id}/refund", Staff(P::BillingManage)),
    r("GET", "/api/v1/admin/billing/coupons", Staff(P::BillingManage)),
    r("POST", "/api/v1/admin/billing/coupons", Staff(P::BillingManage)),
    r("POST", "/api/v1/admin/billing/codes", Staff(P::BillingManage)),
    r("GET", "/api/v1/faces", Own),
    r("GET", "/api/v1/faces/{id}/picture", Own),
    r("PUT", "/api/v1/faces/{id}", Own),
    r("DELETE", "/api/v1/faces/{id}", Own),
    r("GET", "/api/v1/devices/{uid}/faces", dev(C::SeeFaces)),
    r("GET", "/api/v1/devices/{uid}/faces/sightings/{id}/picture", dev(C::SeeFaces)),
    r("GET", "/api/v1/events", Own),
    r("GET", "/api/v1/events/stream", Own),
    r("GET", "/api/v1/events/{id}", Own),
    r("DELETE", "/api/v1/events/{id}", Own),
    r("GET", "/api/v1/events/{id}/thumbnail", Own),
    r("POST", "/api/v1/events/{id}/read", Own),
    r("GET", "/api/v1/events/{id}/deliveries", Own),
    r("GET", "/api/v1/push/vapid-public-key", Own),
    r("POST", "/api/v1/me/push-subscriptions", Own),
    r("DELETE", "/api/v1/me/push-subscriptions", Own),
    r("GET", "/api/v1/me/notification-settings", Own),
    r("PUT", "/api/v1/me/notification-settings", Own),
    r("GET", "/api/v1/me/webhooks", Own),
    r("POST", "/api/v1/me/webhooks", Own),
    r("DELETE", "/api/v1/me/webhooks/{id}", Own),
    r("GET", "/api/v1/me/deliveries", Own),
    r("POST", "/api/v1/admin/login", Public),
    r("POST", "/api/v1/admin/login/enrol", Public),
    r("GET", "/api/v1/admin/me", Staff(P::Session)),
    r("POST", "/api/v1/admin/logout", Staff(P::Session)),
    r("GET", "/api/v1/admin/staff", Staff(P::StaffManage)),
    r("POST", "/api/v1/admin/staff", Staff(P::StaffManage)),
    r("POST", "/api/v1/admin/staff/{id}/role", Staff(P::StaffManage)),
    r("POST", "/api/v1/admin/staff/{id}/disable", Staff(P::StaffManage)),
    r("GET", "/api/v1/admin/accounts", Staff(P::AccountsRead)),
    r("GET", "/api/v1/admin/accounts/{id}", Staff(P::AccountsRead)),
    r("POST", "/api/v1/admin/accounts/{id}/ban", Staff(P::AccountsBan)),
    r("POST", "/api/v1/admin/accounts/{id}/unban", Staff(P::AccountsBan)),
    r("GET", "/api/v1/admin/devices", Staff(P::DevicesRead)),
    r("GET", "/api/v1/admin/devices/{uid}", Staff(P::DevicesRead)),
    r("POST", "/api/v1/admin/devices/provision", Staff(P::DevicesProvision)),
    r("GET", "/api/v1/admin/workers", Staff(P::WorkersRead)),
    r("POST", "/api/v1/admin/announcements", Staff(P::AnnouncementsSend)),
    r("GET", "/api/v1/admin/requests", Staff(P::DataRequests)),
    r("GET", "/api/v1/admin/requests/{id}", Staff(P::DataRequests)),
    r("POST", "/api/v1/admin/requests/{id}/close", Staff(P::DataRequests)),
    r("GET", "/api/v1/admin/audit", Staff(P::AuditRead)),
    r(
        "POST",
        "/api/v1/admin/support/{account}/devices/{uid}/recordings/link",
        Staff(P::SupportMedia),
    ),
    r("POST", "/api/v1/admin/firmware/images", Staff(P::FirmwareManage)),
    r("GET", "/api/v1/admin/firmware/images", Staff(P::FirmwareManage)),
    r("POST", "/api/v1/admin/firmware/rollouts", Staff(P::FirmwareManage)),
    r("GET", "/api/v1/admin/firmware/rollouts", Staff(P::FirmwareManage)),
    r("GET", "/api/v1/admin/firmware/rollouts/{id}", Staff(P::FirmwareManage)),
    r("POST", "/api/v1/admin/firmware/rollouts/{id}/pause", Staff(P::FirmwareManage)),
    r("POST", "/api/v1/admin/firmware/rollouts/{id}/resume", Staff(P::FirmwareManage)),
    // The help center: readable signed in or out; editing is staff's.
    r("GET", "/api/v1/help/articles", Public),
    r("GET", "/api/v1/help/articles/{slug}", Public),
    r("GET", "/api/v1/admin/help/articles", Staff(P::HelpEdit)),
    r("POST", "/api/v1/admin/help/articles", Staff(P::HelpEdit)),
    r("GET", "/api/v1/admin/help/articles/{slug}", Staff(P::HelpEdit)),
    r("PUT", "/api/v1/admin/help/articles/{slug}", Staff(P::HelpEdit)),
    r("DELETE", "/api/v1/admin/help/articles/{slug}", Staff(P::HelpEdit)),
    r("GET", "/api/v1/me/rating", Own),
    r("PUT", "/api/v1/me/rating", Own),
    r("GET", "/api/v1/admin/ratings", Staff(P::TicketsRead)),
    r("GET", "/api/v1/devices/{uid}/firmware", dev(C::View)),
    r("POST", "/api/v1/devices/{uid}/firmware/update", dev(C::ChangeSettings)),
    r("GET", "/ingest/v1/{uid}/firmware/{image_id}", DeviceCredentials),
    r("POST", "/ingest/v1/{uid}/live", DeviceCredentials),
    r("PUT", "/ingest/v1/{uid}/backfill", DeviceCredentials),
    r("POST", "/ingest/v1/{uid}/card/{request}", DeviceCredentials),
    r("POST", "/ingest/v1/{uid}/logs/{request}", DeviceCredentials),
    r("GET", "/healthz", Public),
    r("GET", "/readyz", Public),
    r("GET", "/metrics", Public),
    // The external broker's authenticator: its own bearer token (devices.broker_token).
    r("POST", "/internal/v1/mqtt/auth", Public),
    r("POST", "/internal/v1/mqtt/acl", Public),
    r("GET", "/api/openapi.json", Public),
    // Outside the OpenAPI document: the API's not-found answer.
    r("ANY", "/api/{*rest}", Public),
    r("GET", "/media/v1/{uid}/playlist.m3u8", DeviceLink(C::PlayBack)),
    r("GET", "/media/v1/{uid}/init/{file}", DeviceLink(C::PlayBack)),
    r("GET", "/media/v1/{uid}/seg/{file}", DeviceLink(C::PlayBack)),
    r("GET", "/media/v1/{uid}/export.mp4", DeviceLink(C::Download)),
    r("GET", "/media/v1/{uid}/snapshot.jpg", DeviceLink(C::PlayBack)),
    r("GET", "/media/v1/{uid}/card.mp4", DeviceLink(C::PlayBack)),
    r("GET", "/media/v1/{uid}/live", DeviceLink(C::ViewLive)),
    // Talk rides on the session when the link also carries `talk`.
    r("POST", "/media/v1/{uid}/whep", DeviceLink(C::ViewLive)),
    r("DELETE", "/media/v1/{uid}/whep/{session}", DeviceLink(C::ViewLive)),
    r("GET", "/ingest/v1/{uid}/talk", DeviceCredentials),
    r("GET", FALLBACK, Public),
];

/// The signed-in routes an account reaches before accepting the latest major version of the
/// privacy policy (every other one answers `policy-acceptance-required`): who it is, its
/// consents and the policy, logging out, and its rights that need no acceptance: the export
/// of its data and cancelling the account. A path ending in `*` covers the paths it starts.
pub const REACHABLE_WITHOUT_POLICY: &[(&str, &str)] = &[
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/me/consents"),
    ("PUT", "/api/v1/me/consents/{purpose}"),
    ("POST", "/api/v1/me/policy/accept"),
    ("GET", "/api/v1/announcements"),
    ("POST", "/api/v1/auth/logout"),
    ("ANY", "/api/v1/me/exports*"),
    ("ANY", "/api/v1/me/cancellation*"),
];

/// Whether a signed-in route (method, path as the router spells it) is reachable without
/// accepting the latest major policy version ([`REACHABLE_WITHOUT_POLICY`]).
pub fn reachable_without_policy(method: &str, path: &str) -> bool {
    REACHABLE_WITHOUT_POLICY.iter().any(|&(m, p)| {
        (m == "ANY" || m == method)
            && match p.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix),
                None => path == p,
            }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every (method, path) the router serves: the OpenAPI document's, the others, the
    /// fallback.
    fn served() -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (path, item) in &crate::openapi().paths.paths {
            let ops = [
                ("GET", &item.get),
                ("PUT", &item.put),
                ("POST", &item.post),
                ("DELETE", &item.delete),
                ("PATCH", &item.patch),
                ("HEAD", &item.head),
                ("OPTIONS", &item.options),
                ("TRACE", &item.trace),
            ];
            for (method, op) in ops {
                if op.is_some() {
                    out.insert((method.to_string(), path.clone()));
                }
            }
        }
        for (method, path) in crate::router::other_routes_list() {
            out.insert((method.to_string(), path.to_string()));
        }
        out.insert(("GET".to_string(), FALLBACK.to_string()));
        out
    }

    #[test]
    fn every_route_is_classified_once_and_every_classified_route_exists() {
        let served = served();
        let mut table = BTreeSet::new();
        for r in ROUTES {
            let key = (r.method.to_string(), r.path.to_string());
            assert!(table.insert(key), "{} {} is classified twice", r.method, r.path);
        }
        let missing: Vec<_> = served.difference(&table).collect();
        assert!(missing.is_empty(), "routes without a classification in routes.rs: {missing:?}");
        let stale: Vec<_> = table.difference(&served).collect();
        assert!(stale.is_empty(), "classified routes the router does not have: {stale:?}");
    }

    #[test]
    fn the_routes_reachable_without_the_policy_are_own_routes_and_exact_ones_exist() {
        for &(m, p) in REACHABLE_WITHOUT_POLICY {
            if p.ends_with('*') {
                continue;
            }
            let route = ROUTES.iter().find(|r| r.method == m && r.path == p);
            assert!(
                route.is_some_and(|r| r.access == Access::Own),
                "{m} {p} is not a signed-in route of the table"
            );
        }
        assert!(reachable_without_policy("GET", "/api/v1/me"));
        assert!(reachable_without_policy("POST", "/api/v1/me/exports"));
        assert!(reachable_without_policy("GET", "/api/v1/me/exports/{id}/download"));
        assert!(reachable_without_policy("DELETE", "/api/v1/me/cancellation"));
        assert!(!reachable_without_policy("PATCH", "/api/v1/me"));
        assert!(!reachable_without_policy("GET", "/api/v1/devices"));
        assert!(!reachable_without_policy("POST", "/api/v1/me/disclaimer"));
    }

    #[test]
    fn device_routes_name_their_device_and_ask_for_something() {
        for r in ROUTES {
            match r.access {
                Access::Device(Need::All(cs) | Need::Any(cs)) => assert!(!cs.is_empty()),
                Access::DeviceLink(_) => assert!(r.path.starts_with("/media/v1/{uid}/")),
                _ => {}
            }
            if let Access::Device(_) = r.access {
                let by_body = r.path.starts_with("/api/v1/album/") || r.path == "/api/v1/shares";
                assert!(by_body || r.path.contains("{uid}"), "{} {}", r.method, r.path);
            }
        }
    }
}
