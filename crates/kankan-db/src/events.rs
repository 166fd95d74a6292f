//! Event rows: what devices noticed.

use kankan_base::{AccountId, Timestamp};

/// What kind of event (the `kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Motion,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Motion => "motion",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        match s {
            "motion" => Some(EventKind::Motion),
            _ => None,
        }
    }
}

/// One event of a device, owned by an account.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// UUIDv7.
    pub id: uuid::Uuid,
    pub account_id: AccountId,
    pub uid: String,
    pub kind: EventKind,
    pub started_at: Timestamp,
    /// `None` while it goes on.
    pub ended_at: Option<Timestamp>,
    pub zone: Option<u8>,
    pub read_at: Option<Timestamp>,
    pub created_at: Timestamp,
}
