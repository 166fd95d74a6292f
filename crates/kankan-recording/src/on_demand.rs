//! Live view of cameras that upload only while someone watches: the first viewer starts the
//! camera's stream with a `stream-start` command over MQTT and waits for its first keyframe;
//! a worker ([`LiveStopper`]) stops it with `stream-stop` a grace period (on the clock) after
//! the last viewer left. A camera already uploading (continuous recording) is watched at once
//! and never stopped.

use std::time::Duration;

use kankan_base::Timestamp;
use kankan_db::CommandStatus;
use kankan_protocol::device::CommandKind;
use kankan_worker::{Step, WorkError, Worker};
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;

use super::Recordings;
use crate::CoreError;
use kankan_core::authz::Capability;
use kankan_core::live::{StreamKey, Viewer};
use kankan_devices::DeviceHandle;

impl Recordings {
    /// Starts watching a stream of the device `h` grants viewing: at once when it is live,
    /// else after asking the camera to start it (`stream-not-started` if it does not within
    /// `recording.live_start_wait_secs`; `view-live`).
    pub async fn watch_live(&self, h: &DeviceHandle, stream: u8) -> Result<Viewer, CoreError> {
        h.require(Capability::ViewLive)?;
        let hub = self.live();
        let mut ready = hub.readiness();
        if let Some(v) = hub.subscribe(h.uid(), stream) {
            return Ok(v);
        }
        if h.is_rtsp() {
            // The server's own bridge pulls it whenever it can: nothing to ask.
            return Err(CoreError::NotLive);
        }
        let state = self.inner.store.device_state(h.uid()).await?;
        if !state.is_some_and(|s| s.online) {
            return Err(CoreError::StreamNotStarted("the camera is offline".into()));
        }
        let key: StreamKey = (h.uid().to_string(), stream);
        hub.mark_on_demand(key.clone());
        let wait = Duration::from_secs(u64::from(self.inner.config.live_start_wait_secs));
        let devices = &self.inner.devices;
        let start = devices.send_command(h, CommandKind::StreamStart { stream }, wait);
        tokio::pin!(start);
        let deadline = tokio::time::sleep(wait);
        tokio::pin!(deadline);
        let mut answered = false;
        let failure = loop {
            if let Some(v) = hub.subscribe(h.uid(), stream) {
                return Ok(v);
            }
            tokio::select! {
                outcome = &mut start, if !answered => {
                    answered = true;
                    match outcome {
                        Ok(o) if o.status == CommandStatus::Failed => {
                            break o.error.unwrap_or_else(|| "the camera refused".into());
                        }
                        Ok(_) => {}
                        Err(e) => break e.to_string(),
                    }
                }
                changed = ready.changed() => {
                    if changed.is_err() {
                        break "the server is stopping".into();
                    }
                }
                () = &mut deadline => break format!("no video within {} s", wait.as_secs()),
            }
        };
        // Should the camera start late, nobody watches it: the worker stops it.
        hub.viewer_left(key);
        Err(CoreError::StreamNotStarted(failure))
    }

    /// The worker that stops on-demand streams nobody watches any more; `None` when one was
    /// made already (it holds the hub's one receiver of departures).
    pub fn live_stopper(&self) -> Option<LiveStopper> {
        let departures = self.live().take_departures()?;
        let grace = Duration::from_secs(u64::from(self.inner.config.live_grace_secs));
        Some(LiveStopper {
            rec: self.clone(),
            departures,
            grace,
            pending: Vec::new(),
            closed: false,
        })
    }

    async fn stop_if_unwatched(&self, key: StreamKey) {
        let hub = self.live();
        if hub.viewers_of(&key) > 0 || !hub.unmark_on_demand(&key) {
            return;
        }
        let (uid, stream) = (&key.0, key.1);
        tracing::info!(%uid, stream, "no viewer left: stopping the on-demand stream");
        let stop = CommandKind::StreamStop { stream };
        if let Err(e) = self.inner.devices.send_to(uid, stop, Duration::ZERO).await {
            tracing::warn!(%uid, stream, error = %e, "stream-stop not sent");
        }
    }
}

/// Sends `stream-stop` a grace period after the last viewer of an on-demand stream left,
/// unless someone watches it again by then.
pub struct LiveStopper {
    rec: Recordings,
    departures: mpsc::UnboundedReceiver<StreamKey>,
    grace: Duration,
    /// Streams whose last viewer left, and when to look at them again.
    pending: Vec<(Timestamp, StreamKey)>,
    /// The hub is gone: no more departures.
    closed: bool,
}

impl LiveStopper {
    fn left(&mut self, key: StreamKey, now: Timestamp) {
        if self.rec.live().is_on_demand(&key) {
            self.pending.push((now.plus(self.grace), key));
        }
    }
}

impl Worker for LiveStopper {
    fn name(&self) -> &'static str {
        "live-stopper"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        let now = self.rec.inner.clock.now();
        loop {
            match self.departures.try_recv() {
                Ok(key) => self.left(key, now),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    self.closed = true;
                    break;
                }
            }
        }
        let (due, later) = std::mem::take(&mut self.pending).into_iter().partition(|p| p.0 <= now);
        self.pending = later;
        for (_, key) in due {
            self.rec.stop_if_unwatched(key).await;
        }
        Ok(if self.closed && self.pending.is_empty() { Step::Done } else { Step::Idle })
    }

    async fn wait_for_work(&mut self) {
        let clock = self.rec.inner.clock.clone();
        let next = self.pending.iter().map(|p| p.0).min();
        let due = async move {
            match next {
                Some(t) => clock.sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        let key = tokio::select! {
            key = self.departures.recv(), if !self.closed => key,
            () = due => return,
        };
        match key {
            Some(key) => self.left(key, self.rec.inner.clock.now()),
            None => self.closed = true,
        }
    }
}
