//! The RTSP bridge: one task per RTSP camera pulls its video ([`kankan_rtsp::Puller`]) and
//! feeds the same ingest a Kankan device's upload goes through, so its recordings are stored,
//! indexed and played back exactly alike.
//!
//! The bridge is a [`Worker`] ([`Bridge`]): it rescans the camera list when a camera is added
//! or unbound ([`Devices::rtsp_changes`]) and every [`RESCAN`] on the clock as a fallback; it
//! starts a task for each new camera, restarts one whose source changed and stops those that
//! are gone (and all of them when it stops). A task that loses its camera closes its ingest
//! (keeping what was recorded), marks the camera offline, and reconnects after an exponential
//! backoff with jitter, on the clock. RTSP cameras have no motion detector of their own: each
//! task also runs the server's ([`Recordings::watch_motion`]).

use std::collections::HashMap;
use std::time::Duration;

use kankan_base::{Clocks, Shutdown, ShutdownSignal};
use kankan_core::cluster::{NodeLease, RENEW_EVERY};
use kankan_devices::{Devices, RtspSource};
use kankan_events::Events;
use kankan_recording::{IngestOptions, Recordings};
use kankan_rtsp::{Chunk, Puller};
use kankan_worker::{Step, WorkError, Worker};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often the camera list is read again even without a change notice.
const RESCAN: Duration = Duration::from_secs(30);
/// How long connecting (DESCRIBE, SETUP, PLAY) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// First and longest wait before reconnecting.
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// How long a stopping camera task may take to store what it holds (real time: it bounds
/// real work).
const STOP_GRACE: Duration = Duration::from_secs(10);

struct Running {
    source: kankan_rtsp::Source,
    stop: Shutdown,
    task: JoinHandle<()>,
}

/// What every camera task needs.
#[derive(Clone)]
struct Ctx {
    devices: Devices,
    recordings: Recordings,
    /// Where the server's motion detector reports, as a camera's `event` messages would go.
    events: Events,
    clock: Clocks,
}

/// The bridge's supervising loop, as a worker: one camera task per RTSP camera.
pub struct Bridge {
    ctx: Ctx,
    changes: watch::Receiver<()>,
    /// Whether change notices still come.
    watching: bool,
    running: HashMap<String, Running>,
    /// Only the node holding it pulls the cameras (several nodes on one database).
    lease: NodeLease,
}

impl Bridge {
    pub fn new(
        devices: Devices,
        recordings: Recordings,
        events: Events,
        clock: Clocks,
        lease: NodeLease,
    ) -> Bridge {
        let changes = devices.rtsp_changes();
        let ctx = Ctx { devices, recordings, events, clock };
        Bridge { ctx, changes, watching: true, running: HashMap::new(), lease }
    }
}

impl Worker for Bridge {
    fn name(&self) -> &'static str {
        "rtsp-bridge"
    }

    /// Reads the camera list and brings the camera tasks in line with it (none unless this
    /// node holds the bridge's lease).
    async fn work(&mut self) -> Result<Step, WorkError> {
        let sources = match self.lease.hold().await {
            Ok(true) => self.ctx.devices.rtsp_sources().await?,
            Ok(false) => Vec::new(),
            Err(e) => {
                // Another node may take the lease over: stop pulling before it does.
                stop_all(self.running.drain().map(|(_, r)| r).collect()).await;
                return Err(e.into());
            }
        };
        reconcile(&self.ctx, &mut self.running, sources).await;
        Ok(Step::Idle)
    }

    async fn wait_for_work(&mut self) {
        // A shared lease is renewed (or taken over) more often than the rescan.
        let rescan = if self.lease.is_shared() { RENEW_EVERY } else { RESCAN };
        let changed = tokio::select! {
            // Without notices any more, the periodic rescan still runs.
            r = self.changes.changed(), if self.watching => r.is_ok(),
            () = self.ctx.clock.sleep(rescan) => true,
        };
        self.watching &= changed;
    }

    /// Stops every camera task and waits for them.
    async fn stop(&mut self) {
        stop_all(self.running.drain().map(|(_, r)| r).collect()).await;
        self.lease.release().await;
    }
}

async fn reconcile(ctx: &Ctx, running: &mut HashMap<String, Running>, sources: Vec<RtspSource>) {
    let wanted: HashMap<String, RtspSource> =
        sources.into_iter().map(|s| (s.uid.clone(), s)).collect();
    // Gone (unbound) or changed: stop; a changed one starts again below.
    let stale: Vec<String> = running
        .iter()
        .filter(|(uid, r)| wanted.get(*uid).is_none_or(|w| w.source != r.source))
        .map(|(uid, _)| uid.clone())
        .collect();
    let stopping: Vec<Running> = stale.iter().filter_map(|uid| running.remove(uid)).collect();
    for uid in &stale {
        tracing::info!(uid, "RTSP bridge: camera removed or changed");
    }
    for (uid, cam) in wanted {
        if running.contains_key(&uid) {
            continue;
        }
        let (stop, signal) = Shutdown::new();
        let source = cam.source.clone();
        tracing::info!(uid, url = source.url, "RTSP bridge: recording camera");
        let task = tokio::spawn(camera_task(ctx.clone(), cam, signal));
        running.insert(uid, Running { source, stop, task });
    }
    stop_all(stopping).await;
}

async fn stop_all(cams: Vec<Running>) {
    for c in &cams {
        c.stop.trigger();
    }
    for c in cams {
        if tokio::time::timeout(STOP_GRACE, c.task).await.is_err() {
            tracing::warn!("RTSP bridge: a camera task did not stop in time");
        }
    }
}

/// Records one camera until `stop`, reconnecting after failures, and watches it for motion
/// (`recording.rtsp_motion`).
async fn camera_task(ctx: Ctx, cam: RtspSource, stop: ShutdownSignal) {
    let watcher = ctx.recordings.config().rtsp_motion.then(|| {
        let (recordings, uid, stop) = (ctx.recordings.clone(), cam.uid.clone(), stop.clone());
        let (found, mut seen) = tokio::sync::mpsc::unbounded_channel();
        let watch = tokio::spawn(async move { recordings.watch_motion(uid, 0, stop, found).await });
        let (events, uid) = (ctx.events.clone(), cam.uid.clone());
        tokio::spawn(async move {
            // As if the camera had sent them: checked, recorded for the owner, notified.
            while let Some(ev) = seen.recv().await {
                let Ok(json) = serde_json::to_vec(&ev) else { continue };
                if let Err(e) = events.on_device_message(&uid, &json).await {
                    tracing::warn!(uid, error = %e, "RTSP bridge: recording a motion event");
                }
            }
            let _ = watch.await;
        })
    });
    record_camera(ctx, cam, stop).await;
    if let Some(w) = watcher {
        let _ = w.await;
    }
}

async fn record_camera(ctx: Ctx, cam: RtspSource, mut stop: ShutdownSignal) {
    let uid = cam.uid.as_str();
    let mut backoff = BACKOFF_MIN;
    // Where the previous session's footage ended: a new one never starts before it.
    let mut last_end_ms: Option<i64> = None;
    let mut failures = 0u32;
    loop {
        let mut recorded = false;
        let outcome = session(&ctx, &cam, &mut stop, &mut last_end_ms, &mut recorded).await;
        if let Err(e) = ctx.devices.set_rtsp_online(uid, false).await {
            tracing::debug!(uid, error = %e, "RTSP bridge: marking the camera offline");
        }
        if stop.is_triggered() {
            return;
        }
        if recorded {
            backoff = BACKOFF_MIN;
            failures = 0;
        }
        failures += 1;
        let why = outcome.err().unwrap_or_else(|| "the stream ended".into());
        if failures <= 3 || failures.is_power_of_two() {
            tracing::warn!(uid, error = why, failures, "RTSP bridge: camera lost; reconnecting");
        }
        let wait = jitter(backoff);
        backoff = (backoff * 2).min(BACKOFF_MAX);
        tokio::select! {
            () = stop.wait() => return,
            () = ctx.clock.sleep(wait) => {}
        }
    }
}

/// Between half and all of `d`, so cameras that fail together do not retry together.
fn jitter(d: Duration) -> Duration {
    let r = kankan_crypto::random_bytes(2).ok().and_then(|b| b.try_into().ok()).unwrap_or([0; 2]);
    let frac = f64::from(u16::from_le_bytes(r)) / f64::from(u16::MAX);
    d.mul_f64(0.5 + 0.5 * frac)
}

/// One RTSP session: connect, then feed every chunk to a live ingest until an error or
/// `stop`. The ingest is closed either way, so what was recorded is kept.
async fn session(
    ctx: &Ctx,
    cam: &RtspSource,
    stop: &mut ShutdownSignal,
    last_end_ms: &mut Option<i64>,
    recorded: &mut bool,
) -> Result<(), String> {
    // The address is resolved and checked again at every connection (`[cameras]`).
    let policy = ctx.devices.camera_policy();
    let mut puller = tokio::select! {
        r = Puller::connect(&cam.source, CONNECT_TIMEOUT, &policy) => r.map_err(|e| e.detail())?,
        () = stop.wait() => return Ok(()),
    };
    let mut ingest = None;
    let result = loop {
        let chunk = tokio::select! {
            r = puller.next() => r,
            () = stop.wait() => break Ok(()),
        };
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => break Err(e.detail()),
        };
        let (ing, epoch) = match &mut ingest {
            Some(i) => i,
            None => {
                // The first chunk is the init, sent as the first keyframe arrives: media
                // time 0 is now, or the end of the previous session if the clock says earlier.
                let now = ctx.clock.now().0;
                let epoch = last_end_ms.map_or(now, |e| e.max(now));
                let opts = IngestOptions { stream: 0, epoch_ms: Some(epoch), backfill: false };
                match ctx.recordings.open_ingest(&cam.uid, opts).await {
                    Ok(i) => {
                        if let Err(e) = ctx.devices.set_rtsp_online(&cam.uid, true).await {
                            tracing::debug!(uid = cam.uid, error = %e, "marking online");
                        }
                        ingest.insert((i, epoch))
                    }
                    Err(e) => break Err(e.to_string()),
                }
            }
        };
        if let Err(e) = ing.push_bytes(chunk.bytes()).await {
            break Err(e.to_string());
        }
        if let Chunk::Fragment(f) = &chunk {
            *last_end_ms = Some(*epoch + i64::try_from(f.end_ms).unwrap_or(i64::MAX / 2));
            *recorded = true;
        }
    };
    if let Some((ing, _)) = ingest {
        match ing.close().await {
            Ok(stats) => tracing::debug!(uid = cam.uid, ?stats, "RTSP session recorded"),
            Err(e) => tracing::warn!(uid = cam.uid, error = %e, "RTSP bridge: closing the ingest"),
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_between_half_and_all() {
        for _ in 0..100 {
            let j = jitter(Duration::from_secs(8));
            assert!(j >= Duration::from_secs(4) && j <= Duration::from_secs(8), "{j:?}");
        }
    }
}
