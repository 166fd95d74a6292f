//! Real time: each account's open event streams (the web app's SSE connection) get every new
//! or updated event and a ring for each doorbell press, of its own devices and of the devices
//! shared with it holding `receive-alarms`. A stream that falls behind skips what
//! it missed (the list API has it); all end at shutdown.

use kankan_base::AccountId;
use kankan_db::{Event, EventKind};
use tokio::sync::{broadcast, watch};

use super::{Events, lock};
use crate::Principal;
use kankan_core::authz::Capability;

/// Messages one slow stream may lag behind before it skips.
const BACKLOG: usize = 64;

/// What an event stream carries.
#[derive(Debug, Clone)]
pub enum LiveEvent {
    /// A new event, or one that changed (its end arrived).
    Event(Event),
    /// A doorbell was pressed (the press event).
    Ring(Event),
}

/// One open stream of an account's events.
#[derive(Debug)]
pub struct EventStream {
    rx: broadcast::Receiver<LiveEvent>,
    closed: watch::Receiver<bool>,
}

impl EventStream {
    /// The next message; `None` once the server shuts down.
    pub async fn next(&mut self) -> Option<LiveEvent> {
        loop {
            tokio::select! {
                closed = self.closed.wait_for(|c| *c) => {
                    let _ = closed;
                    return None;
                }
                msg = self.rx.recv() => match msg {
                    Ok(m) => return Some(m),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            }
        }
    }
}

impl Events {
    /// Opens a stream of the caller's events.
    pub fn subscribe(&self, p: &Principal) -> EventStream {
        let s = &self.inner;
        let rx = lock(&s.streams)
            .entry(p.account_id)
            .or_insert_with(|| broadcast::channel(BACKLOG).0)
            .subscribe();
        EventStream { rx, closed: s.closed.subscribe() }
    }

    /// Open streams of an account now (for tests and metrics).
    pub fn streams_of(&self, account: AccountId) -> usize {
        lock(&self.inner.streams).get(&account).map_or(0, broadcast::Sender::receiver_count)
    }

    /// Ends every stream (shutdown).
    pub fn close(&self) {
        self.inner.closed.send_replace(true);
    }

    /// Sends an event to the open streams of its owner and of the members holding
    /// `receive-alarms` on its device now (a member gets its own read state, and nothing of an
    /// event it deleted); a new press also rings. Other nodes' relays do the same with their
    /// streams ([`crate::relay`]).
    pub(super) async fn publish(&self, e: &Event, new: bool) {
        self.publish_here(e, new).await;
        self.announce(e.account_id, e.id, new).await;
    }

    /// [`Events::publish`] to the streams open on this node only.
    pub(crate) async fn publish_here(&self, e: &Event, new: bool) {
        self.send_to(e.account_id, e, new);
        let others = lock(&self.inner.streams).keys().any(|a| *a != e.account_id);
        if !others {
            return;
        }
        let members =
            match self.inner.devices.members_holding(&e.uid, Capability::ReceiveAlarms).await {
                Ok(m) => m,
                Err(err) => {
                    tracing::warn!(uid = %e.uid, error = %err, "members' streams not reached");
                    return;
                }
            };
        for member in members {
            if !lock(&self.inner.streams).contains_key(&member) {
                continue;
            }
            if new {
                self.send_to(member, &Event { read_at: None, ..e.clone() }, new);
                continue;
            }
            match self.inner.store.event_seen_by(member, e.id).await {
                Ok(Some(seen)) => self.send_to(member, &seen, new),
                Ok(None) => {}
                Err(err) => tracing::warn!(id = %e.id, error = %err, "a member's stream"),
            }
        }
    }

    fn send_to(&self, account: AccountId, e: &Event, new: bool) {
        let mut streams = lock(&self.inner.streams);
        let Some(tx) = streams.get(&account) else { return };
        if tx.receiver_count() == 0 {
            streams.remove(&account);
            return;
        }
        let _ = tx.send(LiveEvent::Event(e.clone()));
        if new && e.kind == EventKind::Press {
            let _ = tx.send(LiveEvent::Ring(e.clone()));
        }
    }
}
