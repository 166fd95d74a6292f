//! Event rows: what devices noticed.

use kankan_base::{AccountId, Timestamp};

/// How long events are kept; the footage under an event is protected from eviction as long.
pub const EVENT_RETENTION_MS: i64 = 30 * 86_400_000;
/// The longest stretch of footage one event keeps from eviction, from its start (its clip
/// adds the post-roll): an events-only device's footage waits at least this long for an
/// event's end to claim it.
pub const EVENT_MAX_CLIP_MS: i64 = 10 * 60_000;

/// What kind of event (the `kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Motion in the picture, with a start and an end.
    Motion,
    /// The doorbell's button (an instant).
    Press,
    /// Presence in front of a doorbell for longer than its loiter setting.
    Loiter,
    /// The device was removed from its mount (an instant).
    Tamper,
}

impl EventKind {
    pub const ALL: [EventKind; 4] =
        [EventKind::Motion, EventKind::Press, EventKind::Loiter, EventKind::Tamper];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Motion => "motion",
            EventKind::Press => "press",
            EventKind::Loiter => "loiter",
            EventKind::Tamper => "tamper",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
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
    /// The footage to play for it: `[clip_from, clip_to)`.
    pub clip_from: Timestamp,
    pub clip_to: Timestamp,
    /// Whether a thumbnail is stored (read only: ignored when recording).
    pub thumbnail: bool,
    /// What person detection made of it; `None`: not analysed. Written with a new row only
    /// (an end or a repeat keeps the stored one); later by [`crate::EventStore::set_event_verdict`].
    pub verdict: Option<Verdict>,
    /// Its alerts wait for the verdict (the camera alerts only on a person). Written with a
    /// new row only.
    pub hold_alert: bool,
    /// The first person seen (read only: ignored when recording).
    pub sighting: Option<Sighting>,
}

/// What person detection made of a motion event (the `verdict` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The analysis runs.
    Pending,
    /// A person was seen.
    Person,
    /// The event ended (or the analysis' time was up) without one.
    NoPerson,
    /// No picture could be analysed (no stream, no models, the server stopped).
    Failed,
}

impl Verdict {
    pub const ALL: [Verdict; 4] =
        [Verdict::Pending, Verdict::Person, Verdict::NoPerson, Verdict::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pending => "pending",
            Verdict::Person => "person",
            Verdict::NoPerson => "none",
            Verdict::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Verdict> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A box relative to the picture: each of `x`, `y`, `w`, `h` in 0..1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RelBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

/// What the detector found on an event: a label (`person`), its score (0..1) and its box.
#[derive(Debug, Clone, PartialEq)]
pub struct Sighting {
    pub label: String,
    pub score: f32,
    pub bbox: RelBox,
}

/// What [`crate::EventStore::record_event`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// A new row.
    New(Event),
    /// The row with the same device, kind and start, completed (or unchanged).
    Updated(Event),
    /// The user deleted that event, or the account no longer owns the device: nothing was
    /// stored.
    Deleted,
}

/// Which of an account's events to list, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct EventFilter {
    /// One device's only.
    pub uid: Option<String>,
    pub kind: Option<EventKind>,
    /// Only events with this label (`person`).
    pub label: Option<String>,
    /// Starting before this (a page).
    pub before: Timestamp,
    /// Starting at or after this.
    pub after: Timestamp,
    pub limit: u32,
}

impl Default for EventFilter {
    fn default() -> Self {
        EventFilter {
            uid: None,
            kind: None,
            label: None,
            before: Timestamp(i64::MAX),
            after: Timestamp(i64::MIN),
            limit: 50,
        }
    }
}
