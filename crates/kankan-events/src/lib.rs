//! Events: what devices noticed (motion, a doorbell press, loitering, tamper), stored for the
//! account that owns the device (the Message Center's rows) and seen by the members the owner
//! granted `receive-alarms` on the device (decided by the device policy at each request), each
//! with its own read state and deletion.
//!
//! Devices report them over MQTT (the server's inbound router hands each `event` message to
//! [`Events::on_device_message`]); each is stored at once (unmarked: the dispatch worker,
//! signalled through [`Events::new_events`], queues its notifications for the owner and the
//! members), sent to the open event streams of the owner and of the members holding
//! `receive-alarms` ([`Events::subscribe`]; a press also rings), and the
//! footage of its clip range (`recording.event_preroll_secs` of pre-roll, 5 s by default, and
//! 2 s after) is protected from eviction until the
//! event expires. A new event's thumbnail is captured off that path, from the live picture or
//! else the recording, and stored sealed under the account key. Users list events, mark them
//! read and delete them (a tombstone keeps a late end from bringing one back); a worker
//! ([`EventSweeper`]) deletes them after 30 days and, at shutdown, ends the streams.

pub mod notify;
mod person;
pub use person::{
    Detection, MAX_ANALYSIS, PERSON, PersonDetect, PersonListener, PersonSeen, Running, draw_box,
};
mod relay;
pub use relay::{CHANNEL as RELAY_CHANNEL, EventRelay};
mod stream;
mod thumbnail;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kankan_base::{AccountId, Clocks, Timestamp};
use kankan_db::{DeviceKind, EventFilter, Recorded, Store};
use kankan_protocol::device::{self, DeviceEvent, MotionPhase};
use kankan_worker::{Step, Ticker, WorkError, Worker};
use tokio::sync::{Notify, broadcast, watch};

use kankan_core::authz::Capability;
use kankan_core::{CoreError, Principal};
use kankan_devices::{DeviceHandle, Devices};
use kankan_recording::Recordings;

/// The rows this crate answers with.
pub use kankan_db::{Event, EventKind};
pub use stream::{EventStream, LiveEvent};

/// How long events are kept.
pub const RETENTION_MS: i64 = kankan_db::EVENT_RETENTION_MS;
/// Most events one page lists.
pub const MAX_PAGE: u32 = 200;
/// Footage played after it ends.
pub const POST_ROLL_MS: i64 = 2_000;

/// The longest stretch of footage one event keeps from eviction (from its start; its clip
/// adds the post-roll): a motion that goes on longer still ends, but protects no more.
pub const MAX_CLIP_MS: i64 = kankan_db::EVENT_MAX_CLIP_MS;

/// Device-supplied times: none more than `skew_secs` ahead of the server's clock (the same
/// window as the recording's timestamps, `recording.max_clock_skew_secs`), and no start older
/// than events are kept (it would be deleted at once).
fn check_times(
    now: i64,
    skew_secs: u32,
    started: i64,
    ended: Option<i64>,
) -> Result<(), CoreError> {
    let ahead = i64::from(skew_secs) * 1000;
    if let Some(t) = [Some(started), ended].into_iter().flatten().find(|t| *t > now + ahead) {
        return Err(bad(format!(
            "a time {} ms ahead of the server's clock (at most {skew_secs} s)",
            t - now
        )));
    }
    if started < now - RETENTION_MS {
        return Err(bad("a start older than events are kept (30 days)"));
    }
    Ok(())
}

/// Where an event's clip ends before the post-roll: its end (or start, while it goes on), at
/// most [`MAX_CLIP_MS`] after its start.
fn clip_end(started: i64, ended: Option<i64>) -> i64 {
    ended.unwrap_or(started).min(started.saturating_add(MAX_CLIP_MS))
}

/// The events service. Cheap to clone.
#[derive(Clone)]
pub struct Events {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    clock: Clocks,
    devices: Devices,
    recordings: Recordings,
    /// Each account's open event streams.
    streams: Mutex<HashMap<AccountId, broadcast::Sender<LiveEvent>>>,
    /// Thumbnails being captured; the sender side is dropped when one is done.
    capturing: Mutex<HashMap<uuid::Uuid, watch::Receiver<()>>>,
    /// Set at shutdown: every stream ends.
    closed: watch::Sender<bool>,
    /// Raised whenever a new event is stored (the dispatch worker waits on it).
    new_events: Arc<Notify>,
    /// This process's name in the notes other nodes' relays read (random per start).
    node: String,
    /// Person detection, when the server has the models.
    person: std::sync::OnceLock<person::Person>,
    /// The events being analysed, each with a switch set when it ends.
    analysing: Mutex<HashMap<uuid::Uuid, watch::Sender<bool>>>,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Events")
    }
}

fn not_found() -> CoreError {
    CoreError::NotFound("event")
}

fn bad(why: impl std::fmt::Display) -> CoreError {
    CoreError::InvalidDeviceInput(format!("event: {why}"))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Proof that a requester may reach one event: only [`Events::authorize_event`] makes one.
#[derive(Debug, Clone)]
pub struct EventHandle {
    /// The event as the acting account sees it (its own read state).
    event: Event,
    /// The account acting: the one the event was recorded for (the device's owner), or a
    /// member holding `receive-alarms` on the device.
    account: AccountId,
    /// For a member: the decision that let it see the device's alarms.
    member: Option<DeviceHandle>,
}

impl EventHandle {
    pub fn event(&self) -> &Event {
        &self.event
    }

    pub fn into_event(self) -> Event {
        self.event
    }

    pub fn account(&self) -> AccountId {
        self.account
    }

    /// Whether the acting account is a member (not the event's owner).
    pub fn is_member(&self) -> bool {
        self.member.is_some()
    }
}

/// What to list: [`Events::list`]'s query.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub device: Option<String>,
    pub kind: Option<EventKind>,
    /// Only events with this label (`person`).
    pub label: Option<String>,
    /// Starting before this (the next page).
    pub before: Option<Timestamp>,
    /// Starting at or after this.
    pub after: Option<Timestamp>,
    /// At most this many (capped at [`MAX_PAGE`]; 50 if not given).
    pub limit: Option<u32>,
}

impl Events {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Clocks,
        devices: Devices,
        recordings: Recordings,
    ) -> Events {
        Events {
            inner: Arc::new(Inner {
                store,
                clock,
                devices,
                recordings,
                streams: Mutex::default(),
                capturing: Mutex::default(),
                closed: watch::channel(false).0,
                new_events: Arc::new(Notify::new()),
                node: uuid::Uuid::now_v7().simple().to_string(),
                person: std::sync::OnceLock::new(),
                analysing: Mutex::default(),
            }),
        }
    }

    /// Raised whenever a new event is stored: what the dispatch worker waits on. A raise while
    /// nobody waits is kept for the next wait.
    pub fn new_events(&self) -> Arc<Notify> {
        self.inner.new_events.clone()
    }

    /// A device's `event` message, with the UID the gateway authenticated: decoded, checked
    /// and recorded (see [`Events::record`]).
    pub async fn on_device_message(
        &self,
        uid: &str,
        payload: &[u8],
    ) -> Result<Option<Event>, CoreError> {
        let ev: DeviceEvent = device::decode(payload).map_err(bad)?;
        ev.validate().map_err(bad)?;
        self.record(uid, &ev).await
    }

    /// Stores what a bound device reported, for its owner (an unbound device's events are
    /// refused: nobody may see them; a press or loiter from anything but a doorbell is
    /// refused). Returns the event when it is new (an end, or the same message again, updates
    /// the row and returns `None`, as does one the user deleted). Every change goes to the
    /// streams of the owner and of the members holding `receive-alarms`; a new event's
    /// thumbnail is captured in the background.
    pub async fn record(&self, uid: &str, ev: &DeviceEvent) -> Result<Option<Event>, CoreError> {
        let s = &self.inner;
        let device = s.store.device(uid).await?.ok_or(CoreError::DeviceNotFound)?;
        let owner = device.owner.ok_or(CoreError::DeviceNotBound)?;
        let ended = |phase: MotionPhase, at: i64| (phase == MotionPhase::End).then_some(at);
        let (kind, started, ended_at, zone) = match *ev {
            DeviceEvent::Motion { phase, at_ms, started_ms, zone } => {
                (EventKind::Motion, started_ms, ended(phase, at_ms), zone)
            }
            DeviceEvent::Loiter { phase, at_ms, started_ms } => {
                (EventKind::Loiter, started_ms, ended(phase, at_ms), None)
            }
            DeviceEvent::Press { at_ms } => (EventKind::Press, at_ms, Some(at_ms), None),
            DeviceEvent::Tamper { at_ms } => (EventKind::Tamper, at_ms, Some(at_ms), None),
        };
        if matches!(kind, EventKind::Press | EventKind::Loiter)
            && device.kind != DeviceKind::Doorbell
        {
            return Err(bad(format!("only doorbells report {}", kind.as_str())));
        }
        let now = s.clock.now().0;
        check_times(now, s.recordings.config().max_clock_skew_secs, started, ended_at)?;
        // A motion's start may be analysed for people (stored with a new row only).
        let starts = matches!(ev, DeviceEvent::Motion { phase: MotionPhase::Start, .. });
        let plan = match starts {
            true => self.plan(uid).await,
            false => person::Plan { verdict: None, hold_alert: false },
        };
        let row = Event {
            id: uuid::Uuid::now_v7(),
            account_id: owner,
            uid: uid.to_string(),
            kind,
            started_at: Timestamp(started),
            ended_at: ended_at.map(Timestamp),
            zone,
            read_at: None,
            created_at: Timestamp(now),
            clip_from: Timestamp(started.saturating_sub(s.recordings.config().event_preroll_ms())),
            clip_to: Timestamp(clip_end(started, ended_at).saturating_add(POST_ROLL_MS)),
            thumbnail: false,
            verdict: plan.verdict,
            hold_alert: plan.hold_alert,
            sighting: None,
        };
        let (event, new) = match s.store.record_event(&row).await? {
            Recorded::New(e) => (e, true),
            Recorded::Updated(e) => (e, false),
            Recorded::Deleted => return Ok(None),
        };
        self.publish(&event, new).await;
        if new {
            s.new_events.notify_one();
            self.capture_thumbnail(event.clone());
            if event.verdict == Some(kankan_db::Verdict::Pending) {
                self.analyse(event.clone());
            }
        } else if event.ended_at.is_some() {
            self.event_ended(event.id);
        }
        self.protect(&event).await;
        Ok(new.then_some(event))
    }

    /// Keeps the footage of the event's clip from eviction until the event expires (each
    /// message about it may widen the clip). A segment indexed later (the one holding the
    /// clip's end is cut after the end arrived) is protected by the store as it is indexed.
    async fn protect(&self, e: &Event) {
        let s = &self.inner;
        let until = Timestamp(e.started_at.0.saturating_add(RETENTION_MS));
        if let Err(err) = s.store.protect_segments(&e.uid, e.clip_from, e.clip_to, until).await {
            tracing::warn!(uid = %e.uid, error = %err, "event footage not protected");
        }
    }

    /// The account's events, newest first.
    pub async fn list(&self, p: &Principal, q: ListQuery) -> Result<Vec<Event>, CoreError> {
        let filter = EventFilter {
            uid: q.device,
            kind: q.kind,
            label: q.label,
            before: q.before.unwrap_or(Timestamp(i64::MAX)),
            after: q.after.unwrap_or(Timestamp(i64::MIN)),
            limit: match q.limit {
                None => 50,
                Some(l) if (1..=MAX_PAGE).contains(&l) => l,
                Some(_) => {
                    return Err(CoreError::InvalidDeviceInput(format!("limit is 1-{MAX_PAGE}")));
                }
            },
        };
        // The devices shared with the caller whose alarms it receives now (the device policy's
        // one rule), with the owner their events must belong to.
        let shared: Vec<(String, AccountId)> = self
            .inner
            .devices
            .shared_with(p.account_id)
            .await?
            .into_iter()
            .filter(|d| d.granted.contains(Capability::ReceiveAlarms))
            .map(|d| (d.uid, d.owner))
            .collect();
        Ok(self.inner.store.events_seen_by(p.account_id, &shared, &filter).await?)
    }

    /// The decision for one event: the account it was recorded for (the device's owner), or
    /// a member holding `receive-alarms` on its device now, granted by that owner (the device
    /// policy decides). Another account's event, one the member deleted and a missing one
    /// answer the same `NotFound`.
    pub async fn authorize_event(&self, p: &Principal, id: &str) -> Result<EventHandle, CoreError> {
        let id = uuid::Uuid::parse_str(id).map_err(|_| not_found())?;
        let s = &self.inner;
        let event = s.store.event_seen_by(p.account_id, id).await?.ok_or_else(not_found)?;
        if event.account_id == p.account_id {
            return Ok(EventHandle { event, account: p.account_id, member: None });
        }
        let h = match s
            .devices
            .authorize_account(p.account_id, Capability::ReceiveAlarms, &event.uid)
            .await
        {
            Ok(h) => h,
            Err(CoreError::DeviceNotFound) => return Err(not_found()),
            Err(e) => return Err(e),
        };
        if h.device().owner != Some(event.account_id) {
            return Err(not_found());
        }
        Ok(EventHandle { event, account: p.account_id, member: Some(h) })
    }

    /// Marks the event read: for the owner on the event, for a member on its own state.
    pub async fn mark_read(&self, h: &EventHandle) -> Result<(), CoreError> {
        let (s, now) = (&self.inner, self.inner.clock.now());
        let done = if h.is_member() {
            s.store.mark_event_read_as_member(h.account, h.event.id, now).await?
        } else {
            s.store.mark_event_read(h.account, h.event.id, now).await?
        };
        if done { Ok(()) } else { Err(not_found()) }
    }

    /// The owner's delete removes the event for everyone, with its thumbnail; a later message
    /// about it (its end) stores nothing. A member's delete hides it from that member only.
    pub async fn delete(&self, h: &EventHandle) -> Result<(), CoreError> {
        let (s, now) = (&self.inner, self.inner.clock.now());
        let done = if h.is_member() {
            s.store.delete_event_as_member(h.account, h.event.id, now).await?
        } else {
            s.store.delete_event(h.account, h.event.id, now).await?
        };
        if done { Ok(()) } else { Err(not_found()) }
    }

    /// Deletes events (and tombstones) older than [`RETENTION_MS`]; how many.
    pub async fn sweep(&self) -> Result<u64, CoreError> {
        let cutoff = Timestamp(self.inner.clock.now().0 - RETENTION_MS);
        Ok(self.inner.store.expire_events(cutoff).await?)
    }

    /// The worker that sweeps every `every` (the first time one period after start-up) and
    /// ends every event stream when it stops.
    pub fn sweeper(&self, every: Duration) -> EventSweeper {
        EventSweeper { events: self.clone(), ticker: Ticker::after(every, self.inner.clock.now()) }
    }
}

/// Deletes expired events every period; at shutdown, ends the event streams.
pub struct EventSweeper {
    events: Events,
    ticker: Ticker,
}

impl Worker for EventSweeper {
    fn name(&self) -> &'static str {
        "events-sweeper"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        let clock = self.events.inner.clock.as_ref();
        if let Some(n) = self.ticker.run(clock, self.events.sweep()).await?.filter(|n| *n > 0) {
            tracing::info!(deleted = n, "old events deleted");
        }
        Ok(Step::Idle)
    }

    async fn wait_for_work(&mut self) {
        self.ticker.wait(self.events.inner.clock.as_ref()).await;
    }

    async fn stop(&mut self) {
        self.events.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_times_are_bounded_around_the_servers_clock() {
        let now = 1_800_000_000_000;
        assert!(check_times(now, 30, now - 60_000, Some(now + 30_000)).is_ok());
        assert!(check_times(now, 30, now + 30_001, None).is_err());
        assert!(check_times(now, 30, now, Some(now + 3_600_000)).is_err());
        assert!(check_times(now, 30, now - RETENTION_MS - 1, Some(now)).is_err());
        assert!(check_times(now, 30, now - RETENTION_MS + 1, None).is_ok());
    }

    #[test]
    fn a_clip_covers_at_most_the_longest_protected_stretch() {
        assert_eq!(clip_end(1_000, None), 1_000);
        assert_eq!(clip_end(1_000, Some(5_000)), 5_000);
        assert_eq!(clip_end(1_000, Some(1_000 + 2 * MAX_CLIP_MS)), 1_000 + MAX_CLIP_MS);
    }
}
