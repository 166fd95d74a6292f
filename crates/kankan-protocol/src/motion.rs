//! Motion detection that follows a device's settings, the same on the camera (`kankan-cam`,
//! on its raw frames) and on the server (on a decoded stream of a camera without a detector
//! of its own): on/off, sensitivity, zones, and the schedule read on the device's clock.

use kankan_motion::{Detector, MotionError, Schedule, Zone};

use crate::device::{DeviceEvent, MotionSettings, Settings};

/// A detector kept in step with the settings it is given frame by frame.
pub struct MotionFollower {
    /// Where to look when the user drew no zone.
    fallback: Vec<Zone>,
    /// `None` while detection is off or outside its schedule.
    detector: Option<Detector>,
    /// The motion settings the detector was built from.
    applied: Option<MotionSettings>,
    /// The settings `schedule` was read from.
    seen: Option<Settings>,
    /// The checked schedule and the device's time zone; `None`: always on.
    schedule: Option<(Schedule, jiff::tz::TimeZone)>,
}

impl std::fmt::Debug for MotionFollower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MotionFollower").field("on", &self.detector.is_some()).finish()
    }
}

impl MotionFollower {
    /// `fallback`: the zones to watch when the user drew none (empty: the whole picture).
    pub fn new(fallback: Vec<Zone>) -> MotionFollower {
        MotionFollower { fallback, detector: None, applied: None, seen: None, schedule: None }
    }

    /// Looks at one luma plane taken at `at_ms` under `settings`; what it reports, in order.
    /// Turning detection off, leaving the schedule, or new motion settings end an event in
    /// progress (the detector starts afresh).
    pub fn frame(
        &mut self,
        settings: &Settings,
        luma: &[u8],
        size: (usize, usize),
        stride: usize,
        at_ms: i64,
    ) -> Result<Vec<DeviceEvent>, MotionError> {
        if self.seen.as_ref() != Some(settings) {
            self.schedule = read_schedule(settings);
            self.seen = Some(settings.clone());
        }
        let on = settings.motion.enabled
            && self.schedule.as_ref().is_none_or(|(s, tz)| s.active_at(tz, at_ms));
        let mut out = Vec::new();
        if !on || self.applied.as_ref() != Some(&settings.motion) {
            out.extend(self.finish(at_ms));
        }
        if !on {
            return Ok(out);
        }
        let d = match &mut self.detector {
            Some(d) => d,
            None => {
                let d = Detector::new(settings.motion.detector_config(self.fallback.clone())?)?;
                self.applied = Some(settings.motion.clone());
                self.detector.insert(d)
            }
        };
        if let Some(e) = d.feed(luma, size.0, size.1, stride, at_ms)? {
            let mut ev = DeviceEvent::from_motion(e);
            // A zone number names one the user drew; the fallback area is no zone of theirs.
            if let DeviceEvent::Motion { zone, .. } = &mut ev
                && settings.motion.zones.is_empty()
            {
                *zone = None;
            }
            out.push(ev);
        }
        Ok(out)
    }

    /// Ends an event in progress (detection stops); the detector starts afresh next frame.
    pub fn finish(&mut self, at_ms: i64) -> Option<DeviceEvent> {
        self.applied = None;
        self.detector.take().and_then(|mut d| d.finish(at_ms)).map(DeviceEvent::from_motion)
    }
}

/// The settings' schedule in the device's time zone. Settings the server let through are
/// valid; should a bad one arrive anyway, detection runs always rather than never.
fn read_schedule(s: &Settings) -> Option<(Schedule, jiff::tz::TimeZone)> {
    let spec = s.motion.schedule.as_ref()?;
    match (spec.to_schedule(), kankan_motion::time_zone(&s.time_zone)) {
        (Ok(schedule), Ok(tz)) => Some((schedule, tz)),
        (Err(_), _) | (_, Err(_)) => None,
    }
}
