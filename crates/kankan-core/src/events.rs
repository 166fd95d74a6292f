//! Events: what devices noticed, stored for the account that owns the device (the Message
//! Center's rows). Devices report them over MQTT (`Devices::handle_inbound`); users list them,
//! mark them read and delete them; a worker deletes them after 30 days.

use std::sync::Arc;
use std::time::Duration;

use kankan_base::{Clocks, ShutdownSignal, Timestamp};
use kankan_db::{Event, EventKind, Store};
use kankan_protocol::device::{DeviceEvent, MotionPhase};

use crate::{CoreError, Principal};

/// How long events are kept.
pub const RETENTION_MS: i64 = 30 * 86_400_000;
/// Most events one page lists.
pub const MAX_PAGE: u32 = 200;

/// The events service. Cheap to clone.
#[derive(Clone)]
pub struct Events {
    store: Arc<dyn Store>,
    clock: Clocks,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Events")
    }
}

fn not_found() -> CoreError {
    CoreError::NotFound("event")
}

/// Stores what a bound device reported, for its owner (an unbound device's events are
/// refused: nobody may see them).
pub(crate) async fn record(
    store: &dyn Store,
    now: Timestamp,
    uid: &str,
    ev: &DeviceEvent,
) -> Result<(), CoreError> {
    let device = store.device(uid).await?.ok_or(CoreError::DeviceNotFound)?;
    let owner = device.owner.ok_or(CoreError::DeviceNotBound)?;
    let DeviceEvent::Motion { phase, at_ms, started_ms, zone } = ev;
    let ended_at = (*phase == MotionPhase::End).then_some(Timestamp(*at_ms));
    let row = Event {
        id: uuid::Uuid::now_v7(),
        account_id: owner,
        uid: uid.to_string(),
        kind: EventKind::Motion,
        started_at: Timestamp(*started_ms),
        ended_at,
        zone: *zone,
        read_at: None,
        created_at: now,
    };
    Ok(store.record_event(&row).await?)
}

impl Events {
    pub fn new(store: Arc<dyn Store>, clock: Clocks) -> Events {
        Events { store, clock }
    }

    /// The account's events, newest first: of one device if given, starting before
    /// `before` (a page), at most `limit` (capped at [`MAX_PAGE`]).
    pub async fn list(
        &self,
        p: &Principal,
        device: Option<&str>,
        before: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<Event>, CoreError> {
        let before = before.unwrap_or(Timestamp(i64::MAX));
        let limit = limit.clamp(1, MAX_PAGE);
        Ok(self.store.events(p.account_id, device, before, limit).await?)
    }

    pub async fn mark_read(&self, p: &Principal, id: &str) -> Result<(), CoreError> {
        let id = uuid::Uuid::parse_str(id).map_err(|_| not_found())?;
        let now = self.clock.now();
        if self.store.mark_event_read(p.account_id, id, now).await? {
            Ok(())
        } else {
            Err(not_found())
        }
    }

    pub async fn delete(&self, p: &Principal, id: &str) -> Result<(), CoreError> {
        let id = uuid::Uuid::parse_str(id).map_err(|_| not_found())?;
        if self.store.delete_event(p.account_id, id).await? { Ok(()) } else { Err(not_found()) }
    }

    /// Deletes events older than [`RETENTION_MS`]; how many.
    pub async fn sweep(&self) -> Result<u64, CoreError> {
        let cutoff = Timestamp(self.clock.now().0 - RETENTION_MS);
        Ok(self.store.expire_events(cutoff).await?)
    }

    /// Sweeps every `every` until `shutdown`.
    pub async fn run_sweeper(self, every: Duration, mut shutdown: ShutdownSignal) {
        loop {
            tokio::select! {
                () = shutdown.wait() => return,
                () = tokio::time::sleep(every) => {}
            }
            match self.sweep().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "old events deleted"),
                Err(e) => tracing::error!(error = %e, "event sweep"),
            }
        }
    }
}
