//! Thin handlers, one module per resource.

pub mod admin;
pub mod album;
pub mod auth;
pub mod devices;
pub mod events;
pub mod ingest;
pub mod live;
pub mod me;
pub mod notify;
pub mod ops;
pub mod recordings;
pub mod talk;
pub mod whep;

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
