//! Event thumbnails: the picture at a new event, taken in the background from the live
//! stream's current GOP (nothing is started for it), else from the recording at the event's
//! start, else none. The JPEG is sealed under the owner's account key (field
//! `event-thumbnail/{id}`) and stored beside the event; it goes when the event goes.

use std::time::Duration;

use kankan_db::Event;
use tokio::sync::watch;

use super::EventHandle;
use super::{Events, lock};
use crate::CoreError;
use kankan_core::authz::Capability;

/// How long a thumbnail request waits for a capture in progress.
const CAPTURE_WAIT: Duration = Duration::from_secs(2);
/// Tries to find a picture: a camera that just started may have no keyframe live yet and
/// its first segment not yet cut.
const TRIES: u32 = 3;
const RETRY: Duration = Duration::from_secs(1);

pub(super) fn field(id: uuid::Uuid) -> String {
    format!("event-thumbnail/{id}")
}

impl Events {
    /// Captures and stores the event's thumbnail in a task of its own.
    pub(super) fn capture_thumbnail(&self, e: Event) {
        let (done, waiting) = watch::channel(());
        lock(&self.inner.capturing).insert(e.id, waiting);
        let this = self.clone();
        tokio::spawn(async move {
            match this.capture(&e).await {
                Ok(true) => {
                    if let Ok(Some(now)) = this.inner.store.event(e.account_id, e.id).await {
                        this.publish(&now, false).await;
                    }
                }
                Ok(false) => tracing::debug!(uid = %e.uid, id = %e.id, "no picture for the event"),
                Err(err) => {
                    tracing::warn!(uid = %e.uid, id = %e.id, error = %err, "event thumbnail")
                }
            }
            lock(&this.inner.capturing).remove(&e.id);
            drop(done);
        });
    }

    /// Takes the picture and stores it; false when there is none (or the event went).
    async fn capture(&self, e: &Event) -> Result<bool, CoreError> {
        let s = &self.inner;
        // The live picture, else the recorded one, for the account the event is recorded for.
        let need = Capability::ViewLive | Capability::PlayBack;
        let h = s.devices.authorize_account(e.account_id, need, &e.uid).await?;
        let mut tries = 0;
        let jpeg = loop {
            let taken = match s.recordings.current_snapshot(&h, 0).await {
                Err(CoreError::NotLive) => s.recordings.snapshot(&h, e.started_at).await,
                other => other,
            };
            match taken {
                Ok(j) => break j,
                Err(CoreError::NoRecording) if tries + 1 < TRIES => {
                    tries += 1;
                    tokio::time::sleep(RETRY).await;
                }
                Err(CoreError::NoRecording) => return Ok(false),
                Err(err) => return Err(err),
            }
        };
        let sealed = h.account_key().seal(&field(e.id), &jpeg)?;
        Ok(s.store.put_event_thumbnail(e.id, &sealed, s.clock.now()).await?)
    }

    /// The event's JPEG, waiting briefly for a capture in progress; `NotFound` when it has
    /// none.
    pub async fn thumbnail(&self, h: &EventHandle) -> Result<Vec<u8>, CoreError> {
        let s = &self.inner;
        let id = h.event.id;
        if !h.event.thumbnail {
            let waiting = lock(&s.capturing).get(&id).cloned();
            if let Some(mut w) = waiting {
                // Ends when the capture is done (its sender dropped) or the wait is over.
                let _ = tokio::time::timeout(CAPTURE_WAIT, w.changed()).await;
            }
        }
        // Sealed under the owner's account key, whoever asks.
        let owner = h.event.account_id;
        let sealed =
            s.store.event_thumbnail(owner, id).await?.ok_or(CoreError::NotFound("thumbnail"))?;
        let key = match &h.member {
            Some(device) => device.device_key().clone(),
            None => s.devices.key_of_account(owner).await?,
        };
        Ok(key.open(&field(id), &sealed)?)
    }
}
