//! Event streams across nodes: every node sends each event it records or changes to the
//! streams open on it, and tells the other nodes through the database
//! ([`kankan_db::ClusterStore::announce`], PostgreSQL `NOTIFY` on [`CHANNEL`]); each node's
//! [`EventRelay`] worker listens (`LISTEN`), reads the event from the store by its id and sends
//! it to the streams open on that node. Only ids travel: the row, read by its owner's account,
//! is the one the list API answers with.
//!
//! A note sent while a node's listening connection is down is missed by that node: its
//! streams skip the event, as a stream that falls behind does (the list API has it, and the
//! web app reloads the list when its stream reconnects). On SQLite (one node) nothing is
//! announced and no relay runs.

use std::time::Duration;

use kankan_base::AccountId;
use kankan_db::NoteFeed;
use kankan_worker::{Step, WorkError, Worker};

use crate::Events;

/// The notification channel events are announced on.
pub const CHANNEL: &str = "kankan_events";
/// How long the relay waits before listening again after its connection failed.
const RELISTEN: Duration = Duration::from_secs(1);

/// One announced change: which node, whose event, and whether it is new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Note {
    pub node: String,
    pub account: AccountId,
    pub event: uuid::Uuid,
    pub new: bool,
}

impl Note {
    pub fn encode(&self) -> String {
        format!("{} {} {} {}", self.node, self.account.0, self.event, u8::from(self.new))
    }

    pub fn decode(s: &str) -> Option<Note> {
        let mut it = s.split(' ');
        let node = it.next()?.to_string();
        let account = AccountId(it.next()?.parse().ok()?);
        let event = it.next()?.parse().ok()?;
        let new = match it.next()? {
            "1" => true,
            "0" => false,
            _ => return None,
        };
        it.next().is_none().then_some(Note { node, account, event, new })
    }
}

impl Events {
    /// The worker relaying other nodes' events to the streams open here; `None` when the
    /// database is not shared (one node).
    pub fn relay(&self) -> Option<EventRelay> {
        self.inner.store.is_shared().then(|| EventRelay {
            events: self.clone(),
            feed: None,
            pending: None,
        })
    }

    /// Tells the other nodes (if any) about a change this node made.
    pub(crate) async fn announce(&self, account: AccountId, event: uuid::Uuid, new: bool) {
        let s = &self.inner;
        if !s.store.is_shared() {
            return;
        }
        let note = Note { node: s.node.clone(), account, event, new };
        if let Err(e) = s.store.announce(CHANNEL, &note.encode()).await {
            tracing::warn!(event = %event, error = %e, "other nodes' streams not told");
        }
    }
}

/// Listens for other nodes' events and sends them to this node's streams.
pub struct EventRelay {
    events: Events,
    feed: Option<NoteFeed>,
    pending: Option<String>,
}

impl Worker for EventRelay {
    fn name(&self) -> &'static str {
        "events-relay"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        let s = &self.events.inner;
        if self.feed.is_none() {
            self.feed = s.store.listen(CHANNEL).await?;
        }
        let Some(raw) = self.pending.take() else { return Ok(Step::Idle) };
        let Some(note) = Note::decode(&raw) else {
            tracing::warn!("an event note that does not parse");
            return Ok(Step::Busy);
        };
        if note.node == s.node {
            return Ok(Step::Busy);
        }
        if let Some(e) = s.store.event(note.account, note.event).await? {
            self.events.publish_here(&e, note.new).await;
        }
        Ok(Step::Busy)
    }

    async fn wait_for_work(&mut self) {
        if self.pending.is_some() {
            return;
        }
        let Some(feed) = self.feed.as_mut() else {
            self.events.inner.clock.sleep(RELISTEN).await;
            return;
        };
        match feed.next().await {
            Ok(Some(note)) => self.pending = Some(note),
            Ok(None) => tracing::warn!("event relay reconnected: other nodes' events missed"),
            Err(e) => {
                tracing::warn!(error = %e, "event relay lost its connection");
                self.feed = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_read_back_as_written_and_refuse_anything_else() {
        let note = Note {
            node: "n1".into(),
            account: AccountId(uuid::Uuid::now_v7()),
            event: uuid::Uuid::now_v7(),
            new: true,
        };
        assert_eq!(Note::decode(&note.encode()), Some(note.clone()));
        let old = Note { new: false, ..note.clone() };
        assert_eq!(Note::decode(&old.encode()), Some(old));
        for bad in ["", "n1", "n1 x y 1", &format!("{} 2", note.encode()), &note.encode()[..40]] {
            assert_eq!(Note::decode(bad), None, "{bad:?}");
        }
    }
}
