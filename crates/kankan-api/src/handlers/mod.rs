//! Thin handlers, one module per resource.

pub mod access;
pub mod admin;
pub mod album;
pub mod auth;
pub mod billing;
pub mod broker;
pub mod cancellation;
pub mod card;
pub mod console;
pub mod console_fleet;
pub mod data_access;
pub mod devices;
pub mod events;
pub mod exports;
pub mod faces;
pub mod firmware;
pub mod help;
pub mod ingest;
pub mod live;
pub mod me;
pub mod network;
pub mod notify;
pub mod ops;
pub mod passkeys;
pub mod plans;
pub mod privacy;
pub mod recordings;
pub mod second_factor;
pub mod sharing;
pub mod support;
pub mod talk;
pub mod tickets;
pub mod tickets_staff;
pub mod whep;

use axum::extract::ws::WebSocketUpgrade;
use kankan_accounts::ContactKind;
use kankan_accounts::Profile;
use kankan_protocol::v1::{IdentifierKind, Me};

/// The caller's account as the wire shows it.
pub(crate) fn me_dto(p: Profile) -> Me {
    Me {
        id: p.id.0,
        identifier: p.identifier,
        identifier_kind: match p.identifier_kind {
            ContactKind::Email => IdentifierKind::Email,
            ContactKind::Phone => IdentifierKind::Phone,
        },
        nickname: p.nickname,
        avatar_url: p.avatar_version.map(|v| format!("/api/v1/me/avatar?v={v}")),
        created_at: p.created_at.to_rfc3339(),
    }
}

/// Every WebSocket route upgrades through this: a client's message or frame larger than `max`
/// bytes closes the socket (axum's own default allows 64 MiB, held in memory). A test keeps
/// every `on_upgrade` behind it.
pub(crate) fn bounded(ws: WebSocketUpgrade, max: usize) -> WebSocketUpgrade {
    ws.max_message_size(max).max_frame_size(max)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_websocket_route_bounds_the_client_s_messages() {
        // fails without the fix: the live view's socket took messages of up to 64 MiB.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut upgrades = 0;
        // Spelled in two halves so that this test does not find itself.
        let needle = concat!(".on_", "upgrade(");
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("src").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).expect("source");
                for (i, line) in text.lines().enumerate() {
                    if line.contains(needle) {
                        upgrades += 1;
                        assert!(
                            line.contains("bounded("),
                            "{}:{}: upgrade through handlers::bounded",
                            path.display(),
                            i + 1
                        );
                    }
                }
            }
        }
        assert!(upgrades >= 2, "the live view and talk sockets were found");
    }
}
