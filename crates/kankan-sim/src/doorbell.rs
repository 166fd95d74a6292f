//! What a person does to a device, and what a doorbell makes of motion.
//!
//! [`Buttons`] press the doorbell's button and pull a device off its mount (tamper): tests
//! and the CLI hold one ([`crate::Device::buttons`]); the device publishes a `press` or
//! `tamper` event at once. [`Loiter`] watches the motion events a doorbell reports: once one
//! has gone on for `settings.loiter_secs` it reports a `loiter` start, and a `loiter` end with
//! the motion's end. Cameras have no button and do not report loitering.

use std::time::Duration;

use kankan_protocol::device::{DeviceEvent, DeviceKind, MotionPhase};
use tokio::sync::mpsc;

use crate::SimError;

/// Something done to the device by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Press,
    Tamper,
}

impl Action {
    /// The event it makes at `now_ms`.
    pub(crate) fn event(self, now_ms: i64) -> DeviceEvent {
        match self {
            Action::Press => DeviceEvent::Press { at_ms: now_ms },
            Action::Tamper => DeviceEvent::Tamper { at_ms: now_ms },
        }
    }
}

/// The device's button and mount; cheap to clone.
#[derive(Debug, Clone)]
pub struct Buttons {
    pub(crate) tx: mpsc::UnboundedSender<Action>,
    pub(crate) kind: DeviceKind,
}

impl Buttons {
    /// Presses the doorbell's button (a camera has none: `Config` error).
    pub fn press(&self) -> Result<(), SimError> {
        if self.kind != DeviceKind::Doorbell {
            return Err(SimError::Config("only doorbells have a button to press".into()));
        }
        self.send(Action::Press)
    }

    /// Removes the device from its mount.
    pub fn tamper(&self) -> Result<(), SimError> {
        self.send(Action::Tamper)
    }

    /// Presses the button every `every` (the first press after one wait) until `stop` or the
    /// device goes away.
    pub fn press_every(&self, every: Duration, mut stop: kankan_base::ShutdownSignal) {
        let b = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = stop.wait() => return,
                    () = tokio::time::sleep(every) => {}
                }
                if b.press().is_err() {
                    return;
                }
            }
        });
    }

    fn send(&self, a: Action) -> Result<(), SimError> {
        self.tx.send(a).map_err(|_| SimError::Config("the device is not running".into()))
    }
}

/// A doorbell's loitering alarm, following its motion events.
#[derive(Debug, Default)]
pub(crate) struct Loiter {
    /// The motion in progress: its start, and whether it was reported as loitering.
    current: Option<(i64, bool)>,
}

impl Loiter {
    /// Follows a motion event; returns the loiter end that goes with a motion end.
    pub(crate) fn on_motion(&mut self, ev: &DeviceEvent) -> Option<DeviceEvent> {
        let DeviceEvent::Motion { phase, at_ms, started_ms, .. } = *ev else { return None };
        match phase {
            MotionPhase::Start => {
                self.current = Some((started_ms, false));
                None
            }
            MotionPhase::End => match self.current.take() {
                Some((started, true)) if started == started_ms => {
                    Some(DeviceEvent::Loiter { phase: MotionPhase::End, at_ms, started_ms })
                }
                _ => None,
            },
        }
    }

    /// How long until the motion in progress counts as loitering (`None`: nothing to wait
    /// for; `loiter_secs` 0 turns it off).
    pub(crate) fn due_in(&self, now_ms: i64, loiter_secs: u16) -> Option<Duration> {
        let (started, reported) = self.current?;
        if reported || loiter_secs == 0 {
            return None;
        }
        let due = started + i64::from(loiter_secs) * 1000;
        Some(Duration::from_millis(u64::try_from(due - now_ms).unwrap_or(0)))
    }

    /// The loiter start, once due (then never again for this motion).
    pub(crate) fn fire(&mut self, now_ms: i64, loiter_secs: u16) -> Option<DeviceEvent> {
        if self.due_in(now_ms, loiter_secs)? > Duration::ZERO {
            return None;
        }
        let (started, reported) = self.current.as_mut()?;
        *reported = true;
        Some(DeviceEvent::Loiter { phase: MotionPhase::Start, at_ms: now_ms, started_ms: *started })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn motion(phase: MotionPhase, at_ms: i64, started_ms: i64) -> DeviceEvent {
        DeviceEvent::Motion { phase, at_ms, started_ms, zone: None }
    }

    #[test]
    fn motion_longer_than_the_setting_loiters_once_and_ends_with_the_motion() {
        let mut l = Loiter::default();
        assert_eq!(l.on_motion(&motion(MotionPhase::Start, 1_000, 1_000)), None);
        assert_eq!(l.due_in(4_000, 10), Some(Duration::from_millis(7_000)));
        assert_eq!(l.fire(4_000, 10), None, "not yet");
        assert_eq!(
            l.fire(11_000, 10),
            Some(DeviceEvent::Loiter {
                phase: MotionPhase::Start,
                at_ms: 11_000,
                started_ms: 1_000
            })
        );
        assert_eq!(l.fire(12_000, 10), None, "once");
        assert_eq!(l.due_in(12_000, 10), None);
        assert_eq!(
            l.on_motion(&motion(MotionPhase::End, 15_000, 1_000)),
            Some(DeviceEvent::Loiter { phase: MotionPhase::End, at_ms: 15_000, started_ms: 1_000 })
        );
    }

    #[test]
    fn short_motion_or_a_zero_setting_is_no_loitering() {
        let mut l = Loiter::default();
        l.on_motion(&motion(MotionPhase::Start, 1_000, 1_000));
        assert_eq!(l.on_motion(&motion(MotionPhase::End, 3_000, 1_000)), None);
        assert_eq!(l.due_in(99_000, 10), None, "nothing in progress");
        l.on_motion(&motion(MotionPhase::Start, 5_000, 5_000));
        assert_eq!(l.due_in(99_000, 0), None, "0 turns it off");
        assert_eq!(l.fire(99_000, 0), None);
    }

    #[test]
    fn only_doorbells_have_a_button() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let camera = Buttons { tx: tx.clone(), kind: DeviceKind::Camera };
        assert!(camera.press().is_err());
        camera.tamper().expect("a camera can be pulled off its mount");
        let doorbell = Buttons { tx, kind: DeviceKind::Doorbell };
        doorbell.press().expect("press");
        assert_eq!(
            (rx.try_recv().ok(), rx.try_recv().ok()),
            (Some(Action::Tamper), Some(Action::Press))
        );
    }
}
