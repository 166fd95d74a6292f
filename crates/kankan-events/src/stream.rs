//! Real time: each account's open event streams (the web app's SSE connection) get every new
//! or updated event and a ring for each doorbell press. A stream that falls behind skips what
//! it missed (the list API has it); all end at shutdown.

use kankan_base::AccountId;
use kankan_db::{Event, EventKind};
use tokio::sync::{broadcast, watch};

use super::{Events, lock};
use crate::Principal;

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

    /// Sends an event to its owner's open streams; a new press also rings.
    pub(super) fn publish(&self, e: &Event, new: bool) {
        let mut streams = lock(&self.inner.streams);
        let Some(tx) = streams.get(&e.account_id) else { return };
        if tx.receiver_count() == 0 {
            streams.remove(&e.account_id);
            return;
        }
        let _ = tx.send(LiveEvent::Event(e.clone()));
        if new && e.kind == EventKind::Press {
            let _ = tx.send(LiveEvent::Ring(e.clone()));
        }
    }
}
