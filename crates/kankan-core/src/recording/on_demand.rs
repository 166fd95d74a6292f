//! Live view of cameras that upload only while someone watches: the first viewer starts the
//! camera's stream with a `stream-start` command over MQTT and waits for its first keyframe;
//! a worker stops it with `stream-stop` a grace period after the last viewer left. A camera
//! already uploading (continuous recording) is watched at once and never stopped.

use std::time::Duration;

use kankan_base::ShutdownSignal;
use kankan_db::CommandStatus;
use kankan_protocol::device::CommandKind;

use super::Recordings;
use crate::CoreError;
use crate::authz::Capability;
use crate::devices::DeviceHandle;
use crate::live::{StreamKey, Viewer};

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

    /// Stops on-demand streams nobody watches any more, a grace period after their last
    /// viewer left. Runs until `shutdown`.
    pub async fn run_live_stopper(self, mut shutdown: ShutdownSignal) {
        let Some(mut departures) = self.live().take_departures() else {
            tracing::error!("a live stopper is already running");
            return;
        };
        let grace = Duration::from_secs(u64::from(self.inner.config.live_grace_secs));
        loop {
            let key = tokio::select! {
                () = shutdown.wait() => return,
                key = departures.recv() => match key {
                    Some(k) => k,
                    None => return,
                },
            };
            if !self.live().is_on_demand(&key) {
                continue;
            }
            let rec = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(grace).await;
                rec.stop_if_unwatched(key).await;
            });
        }
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
