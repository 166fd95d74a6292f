//! Person detection on motion events, on the server, for every camera kind: when a motion
//! event starts on a camera whose owner turned `person_detection` on, the live stream is
//! sampled (`vision.sample_fps` pictures a second; an on-demand camera is started for it as
//! live view would) while the event lasts, at most [`MAX_ANALYSIS`], and each picture goes to
//! the detector through its bounded pool (a busy pool skips the picture and counts it). The
//! first person seen is stored on the event in clear (label `person`, score, box: numbers,
//! nothing that identifies anyone), the thumbnail is taken again from that picture with the
//! box drawn, the event's streams hear of it and the [`PersonListener`]s are called. The
//! verdict (`pending`, then `person`, `none` or `failed`) decides the alerts of a camera set
//! to alert only on a person (see `notify::dispatch`). A still scene costs nothing: no motion
//! event, no decoding.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use kankan_db::{Event, RelBox, Sighting, Verdict};
use kankan_protocol::device::AlertOn;
use tokio::sync::watch;

use super::{Events, lock};
use crate::CoreError;
use kankan_core::authz::Capability;
use kankan_devices::DeviceHandle;

/// The longest an event is analysed: past it, no person means `none`.
pub const MAX_ANALYSIS: Duration = Duration::from_secs(60);
/// The label of a person.
pub const PERSON: &str = "person";

/// One thing the detector found: a label, its score (0..1) and its box relative to the
/// picture.
pub use kankan_vision::Detection;

/// A detector's box as the event stores it.
fn rel(b: kankan_vision::BBox) -> RelBox {
    RelBox { x: b.x, y: b.y, w: b.w, h: b.h }
}

/// A detection running on the pool.
pub type Running = Pin<Box<dyn Future<Output = Vec<Detection>> + Send>>;

/// The detector as the analysis uses it: a bounded pool in front of the person model.
pub trait PersonDetect: Send + Sync + 'static {
    /// Runs the model on one picture, or `None` at once when the pool is busy (the picture
    /// is skipped and counted).
    fn detect(&self, picture: Arc<image::RgbImage>) -> Option<Running>;
    /// Pictures skipped because the pool was busy, since start.
    fn skipped(&self) -> u64;
}

/// Told of the first person seen in an event (the faces part looks for faces in it).
#[async_trait::async_trait]
pub trait PersonListener: Send + Sync + 'static {
    async fn person_seen(&self, seen: &PersonSeen) -> Result<(), CoreError>;
}

/// The event (with its sighting stored), the picture and the person found in it.
#[derive(Debug, Clone)]
pub struct PersonSeen {
    pub event: Event,
    pub frame: Arc<image::RgbImage>,
    pub person: Detection,
}

/// The analysis' setup: the detector, the sampling rate and who listens.
pub(crate) struct Person {
    pub detector: Arc<dyn PersonDetect>,
    pub sample_fps: u32,
    pub listeners: Vec<Arc<dyn PersonListener>>,
}

/// Whether a new motion event is analysed and whether its alerts wait: read from the owner's
/// settings when the server has a detector.
pub(crate) struct Plan {
    pub verdict: Option<Verdict>,
    pub hold_alert: bool,
}

impl Events {
    /// Turns person detection on for this server: `detector` runs `sample_fps` pictures a
    /// second (1-10) of a motion event's live stream; `listeners` hear of each person seen.
    /// Without it, events are not analysed (and alert as motion).
    pub fn with_person_detection(
        self,
        detector: Arc<dyn PersonDetect>,
        sample_fps: u32,
        listeners: Vec<Arc<dyn PersonListener>>,
    ) -> Events {
        let person = Person { detector, sample_fps: sample_fps.clamp(1, 10), listeners };
        let _ = self.inner.person.set(person);
        self
    }

    /// Whether this server can look for people (it has the models).
    pub fn person_detection_available(&self) -> bool {
        self.inner.person.get().is_some()
    }

    /// Pictures the detector's pool skipped because it was busy, since start.
    pub fn person_frames_skipped(&self) -> u64 {
        self.inner.person.get().map_or(0, |p| p.detector.skipped())
    }

    /// How a new motion event of `uid` is analysed, by its owner's settings.
    pub(crate) async fn plan(&self, uid: &str) -> Plan {
        let off = Plan { verdict: None, hold_alert: false };
        if self.inner.person.get().is_none() {
            return off;
        }
        let settings = match self.inner.devices.stored_desired(uid).await {
            Ok(d) => d.map(|d| d.settings).unwrap_or_default(),
            Err(e) => {
                tracing::warn!(uid, error = %e, "person detection: reading the settings");
                return off;
            }
        };
        if !settings.person_detection {
            return off;
        }
        Plan { verdict: Some(Verdict::Pending), hold_alert: settings.alert_on == AlertOn::Person }
    }

    /// Tells a running analysis its event ended.
    pub(crate) fn event_ended(&self, id: uuid::Uuid) {
        if let Some(ended) = lock(&self.inner.analysing).get(&id) {
            ended.send_replace(true);
        }
    }

    /// Analyses a new event in a task of its own, and stores the verdict.
    pub(crate) fn analyse(&self, e: Event) {
        let Some(person) = self.inner.person.get() else { return };
        let detector = person.detector.clone();
        let fps = person.sample_fps;
        let (ended_tx, ended) = watch::channel(e.ended_at.is_some());
        lock(&self.inner.analysing).insert(e.id, ended_tx);
        let this = self.clone();
        tokio::spawn(async move {
            let outcome = tokio::time::timeout(
                MAX_ANALYSIS,
                this.look_for_person(&e, detector.as_ref(), fps, ended),
            )
            .await;
            lock(&this.inner.analysing).remove(&e.id);
            let outcome = match outcome {
                Ok(o) => o,
                Err(_) => Ok(None),
            };
            if let Err(err) = this.conclude(&e, outcome).await {
                tracing::warn!(uid = %e.uid, id = %e.id, error = %err, "person verdict not stored");
            }
        });
    }

    /// Samples the event's stream until a person is seen, the event ends (after one picture
    /// was looked at) or the stream does.
    async fn look_for_person(
        &self,
        e: &Event,
        detector: &dyn PersonDetect,
        fps: u32,
        mut ended: watch::Receiver<bool>,
    ) -> Result<Option<(DeviceHandle, Arc<image::RgbImage>, Detection)>, CoreError> {
        let s = &self.inner;
        let h = s.devices.authorize_account(e.account_id, Capability::ViewLive, &e.uid).await?;
        // A camera's sub-stream when it sends one: smaller, cheaper to decode.
        let stream = u8::from(s.recordings.live().subscribe(&e.uid, 1).is_some());
        let mut sampler = s.recordings.sample_live(&h, stream, fps).await?;
        let mut looked = false;
        loop {
            let sampled = tokio::select! {
                sampled = sampler.next() => sampled,
                Ok(_) = ended.wait_for(|e| *e), if looked => return Ok(None),
            };
            let Some(sampled) = sampled else {
                return if looked { Ok(None) } else { Err(CoreError::NotLive) };
            };
            let Some(running) = detector.detect(sampled.picture.clone()) else { continue };
            let found = running.await;
            looked = true;
            let best = found
                .into_iter()
                .filter(|d| d.label == PERSON)
                .max_by(|a, b| a.score.total_cmp(&b.score));
            if let Some(d) = best {
                return Ok(Some((h, sampled.picture, d)));
            }
        }
    }

    /// Tells the listeners of a person seen, then stores the verdict (with the sighting and its
    /// thumbnail) and tells the dispatcher and the streams.
    async fn conclude(
        &self,
        e: &Event,
        outcome: Result<Option<(DeviceHandle, Arc<image::RgbImage>, Detection)>, CoreError>,
    ) -> Result<(), CoreError> {
        let s = &self.inner;
        let now = s.clock.now();
        let (h, frame, d) = match outcome {
            Ok(Some(found)) => found,
            Ok(None) => return self.settle(e, Verdict::NoPerson).await,
            Err(err) => {
                tracing::info!(uid = %e.uid, id = %e.id, error = %err, "no picture analysed");
                return self.settle(e, Verdict::Failed).await;
            }
        };
        let seen = Sighting { label: d.label.to_string(), score: d.score, bbox: rel(d.bbox) };
        let marked = frame.clone();
        let jpeg = tokio::task::spawn_blocking(move || {
            let mut pic = (*marked).clone();
            draw_box(&mut pic, rel(d.bbox));
            kankan_video::encode_jpeg(&pic, 85)
        })
        .await
        .map_err(|e| CoreError::Internal(e.to_string()))?
        .map_err(|e| CoreError::Internal(format!("thumbnail: {e}")))?;
        let sealed = h.account_key().seal(&super::thumbnail::field(e.id), &jpeg)?;
        // The listeners (familiar faces) before the verdict: an alert held for the verdict can
        // then say who was seen, and the event published below carries the face.
        if let Some(person) = s.person.get() {
            let heard = PersonSeen { event: e.clone(), frame, person: d };
            for l in &person.listeners {
                if let Err(err) = l.person_seen(&heard).await {
                    tracing::warn!(id = %e.id, error = %err, "a person listener failed");
                }
            }
        }
        let stored = s
            .store
            .set_event_verdict(e.id, Verdict::Person, Some(&seen), Some(&sealed), now)
            .await?;
        s.new_events.notify_one();
        if !stored {
            return Ok(());
        }
        if let Some(event) = s.store.event(e.account_id, e.id).await? {
            self.publish(&event, false).await;
        }
        Ok(())
    }
}

impl Events {
    /// Stores a verdict without a sighting, wakes the dispatcher and tells the streams.
    async fn settle(&self, e: &Event, verdict: Verdict) -> Result<(), CoreError> {
        let s = &self.inner;
        if !s.store.set_event_verdict(e.id, verdict, None, None, s.clock.now()).await? {
            return Ok(());
        }
        s.new_events.notify_one();
        if let Some(event) = s.store.event(e.account_id, e.id).await? {
            self.publish(&event, false).await;
        }
        Ok(())
    }
}

/// Draws `b` (relative) on the picture: a 4-pixel yellow frame (wide enough to keep its colour
/// through a JPEG's halved chroma), clipped to the picture.
pub fn draw_box(pic: &mut image::RgbImage, b: RelBox) {
    let (w, h) = (pic.width(), pic.height());
    if w == 0 || h == 0 {
        return;
    }
    let px = |v: f32, size: u32| ((v.clamp(0.0, 1.0) * size as f32) as u32).min(size - 1);
    let (x0, y0) = (px(b.x, w), px(b.y, h));
    let (x1, y1) = (px(b.x + b.w, w), px(b.y + b.h, h));
    let yellow = image::Rgb([255, 214, 0]);
    for t in 0..4u32 {
        for x in x0..=x1 {
            for y in [y0.saturating_add(t).min(y1), y1.saturating_sub(t).max(y0)] {
                pic.put_pixel(x, y, yellow);
            }
        }
        for y in y0..=y1 {
            for x in [x0.saturating_add(t).min(x1), x1.saturating_sub(t).max(x0)] {
                pic.put_pixel(x, y, yellow);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_box_is_drawn_on_its_edges_and_nowhere_else() {
        let mut pic = image::RgbImage::new(100, 50);
        draw_box(&mut pic, RelBox { x: 0.2, y: 0.2, w: 0.5, h: 0.6 });
        let lit = |pic: &image::RgbImage, x, y| pic.get_pixel(x, y).0 != [0, 0, 0];
        let lit = |x, y| lit(&pic, x, y);
        assert!(lit(20, 10) && lit(70, 40), "its corners");
        assert!(lit(45, 10) && lit(20, 25), "its edges");
        assert!(!lit(45, 25), "not its inside");
        assert!(!lit(5, 5) && !lit(90, 45), "not outside it");
        // A box reaching past the picture is clipped, not a panic.
        draw_box(&mut pic, RelBox { x: 0.9, y: 0.9, w: 0.5, h: 0.5 });
        assert!(pic.get_pixel(99, 49).0 != [0, 0, 0]);
    }
}
