//! Sound alarms: a loud noise or a sustained sound above the background, over PCM.
//!
//! The caller feeds consecutive blocks of mono samples (any length, in [-1, 1]; the camera
//! gives its 20 ms Opus frames) with the capture time of each. Per block the detector measures
//! the RMS level and the peak in dBFS. The **background** is a slow average of the RMS level
//! (a time constant of [`BACKGROUND_MS`]), updated while no sound event is going on (and ten
//! times slower during one, so that a noise that stays becomes the background). A block is
//!
//! - **loud** when its peak is at least [`SoundThresholds::loud_db`] above the background (a
//!   knock, a bang, glass);
//! - **sustained** when its RMS level is at least [`SoundThresholds::sustained_db`] above the
//!   background, and that has held for [`SoundThresholds::sustained_ms`] (speech, a dog, an
//!   alarm);
//!
//! and either starts an event, on the first loud block or once the sustained run is long
//! enough (its start then is the run's first block). Nothing quieter than [`FLOOR_DBFS`] ever
//! counts, so a quiet room's noise never alarms whatever its background. An event ends after
//! [`COOLDOWN_MS`] without a loud or sustained block; its end reports the loudest peak and the
//! duration (start to the last active block).

/// Levels are clamped to this (digital silence).
pub const MIN_DBFS: f32 = -100.0;
/// Below this peak (loud) or RMS level (sustained), nothing counts.
pub const FLOOR_DBFS: f32 = -50.0;
/// Time constant of the background average.
pub const BACKGROUND_MS: f32 = 10_000.0;
/// Quiet time that ends an event.
pub const COOLDOWN_MS: i64 = 3_000;
/// The default sensitivity (settings `sound_alarm.sensitivity`).
pub const DEFAULT_SENSITIVITY: u8 = 50;

/// What a sensitivity (1-100) means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoundThresholds {
    /// A peak this many dB above the background is loud: 40 dB at sensitivity 1, 25 at 50,
    /// 10 at 100.
    pub loud_db: f32,
    /// A level this many dB above the background is sound: 20 dB at 1, 12.5 at 50, 5 at 100.
    pub sustained_db: f32,
    /// For this long: 2 s at 1, 1 s at 50, 0.5 s at 100.
    pub sustained_ms: i64,
}

impl SoundThresholds {
    /// The thresholds of `sensitivity`, clamped to 1-100.
    pub fn of(sensitivity: u8) -> SoundThresholds {
        let s = f32::from(sensitivity.clamp(1, 100)) - 1.0;
        SoundThresholds {
            loud_db: 40.0 - s * 30.0 / 99.0,
            sustained_db: 20.0 - s * 15.0 / 99.0,
            sustained_ms: 2000 - (s * 1500.0 / 99.0) as i64,
        }
    }
}

/// A detector's verdict, when a sound event starts or ends.
#[derive(Debug, Clone, PartialEq)]
pub enum SoundEvent {
    /// A sound began at `at_ms`; `level_db` is its loudest peak so far (dBFS).
    Start { at_ms: i64, level_db: f32 },
    /// The sound that began at `started_ms` ended at `at_ms` (its last active block), with
    /// `level_db` its loudest peak (dBFS) and `duration_ms` = `at_ms - started_ms`.
    End { started_ms: i64, at_ms: i64, level_db: f32, duration_ms: i64 },
}

/// An event in progress.
#[derive(Debug, Clone, Copy)]
struct Active {
    started_ms: i64,
    last_ms: i64,
    peak_db: f32,
}

/// One microphone's detector: feed it every block in order.
#[derive(Debug, Default)]
pub struct SoundDetector {
    background_db: Option<f32>,
    /// A sustained run: its first block's time and its loudest peak.
    run: Option<(i64, f32)>,
    active: Option<Active>,
    last_ms: Option<i64>,
}

/// RMS level and peak of a block in dBFS (non-finite samples count as 0).
pub fn levels(block: &[f32]) -> (f32, f32) {
    let (mut sum, mut peak) = (0.0f64, 0.0f32);
    for &x in block {
        let x = if x.is_finite() { x.clamp(-1.0, 1.0) } else { 0.0 };
        sum += f64::from(x) * f64::from(x);
        peak = peak.max(x.abs());
    }
    let rms = (sum / block.len().max(1) as f64).sqrt() as f32;
    (db(rms), db(peak))
}

fn db(amplitude: f32) -> f32 {
    if amplitude <= 0.0 { MIN_DBFS } else { (20.0 * amplitude.log10()).max(MIN_DBFS) }
}

impl SoundDetector {
    pub fn new() -> SoundDetector {
        SoundDetector::default()
    }

    /// The background level now (dBFS), once a block was seen.
    pub fn background_db(&self) -> Option<f32> {
        self.background_db
    }

    /// Looks at one block captured at `at_ms` (its first sample), `sensitivity` 1-100, or
    /// `None` when sound alarms are off (an event going on ends at once). Returns what starts
    /// or ends. Blocks with a time before the previous one's are ignored.
    pub fn block(&mut self, block: &[f32], at_ms: i64, sensitivity: Option<u8>) -> Vec<SoundEvent> {
        let mut out = Vec::new();
        if block.is_empty() || self.last_ms.is_some_and(|t| at_ms < t) {
            return out;
        }
        let span_ms = self.last_ms.map_or(20, |t| at_ms.saturating_sub(t).clamp(1, 1000));
        self.last_ms = Some(at_ms);
        let (rms, peak) = levels(block);
        let background = *self.background_db.get_or_insert(rms);
        let alpha = (span_ms as f32 / BACKGROUND_MS).min(1.0);
        let alpha = if self.active.is_some() || self.run.is_some() { alpha / 10.0 } else { alpha };
        self.background_db = Some(background + (rms - background) * alpha);
        let Some(sensitivity) = sensitivity else {
            self.run = None;
            out.extend(self.end());
            return out;
        };
        let t = SoundThresholds::of(sensitivity);
        let loud = peak >= FLOOR_DBFS && peak - background >= t.loud_db;
        let sounding = rms >= FLOOR_DBFS && rms - background >= t.sustained_db;
        self.run = if sounding {
            let (from, p) = self.run.unwrap_or((at_ms, peak));
            Some((from, p.max(peak)))
        } else {
            None
        };
        let sustained = self.run.filter(|(from, _)| at_ms.saturating_sub(*from) >= t.sustained_ms);
        if let Some(a) = &mut self.active {
            if loud || sounding {
                a.last_ms = at_ms;
                a.peak_db = a.peak_db.max(peak);
            } else if at_ms.saturating_sub(a.last_ms) >= COOLDOWN_MS {
                out.extend(self.end());
            }
        } else if loud || sustained.is_some() {
            let started_ms = sustained.map_or(at_ms, |(from, _)| from);
            let peak_db = sustained.map_or(peak, |(_, p)| p.max(peak));
            self.active = Some(Active { started_ms, last_ms: at_ms, peak_db });
            out.push(SoundEvent::Start { at_ms: started_ms, level_db: peak_db });
        }
        out
    }

    /// Ends the event in progress, if any.
    pub fn end(&mut self) -> Option<SoundEvent> {
        let a = self.active.take()?;
        Some(SoundEvent::End {
            started_ms: a.started_ms,
            at_ms: a.last_ms,
            level_db: a.peak_db,
            duration_ms: a.last_ms.saturating_sub(a.started_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// 20 ms at 48 kHz.
    const N: usize = 960;

    /// Deterministic noise in [-amp, amp].
    fn noise(seed: &mut u64, amp: f32) -> Vec<f32> {
        (0..N)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                ((*seed >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * amp
            })
            .collect()
    }

    /// Feeds `blocks` 20 ms apart from `t0`; all events.
    fn feed(d: &mut SoundDetector, blocks: &[Vec<f32>], t0: i64, s: Option<u8>) -> Vec<SoundEvent> {
        let mut out = Vec::new();
        for (i, b) in blocks.iter().enumerate() {
            out.extend(d.block(b, t0 + 20 * i as i64, s));
        }
        out
    }

    fn quiet(seed: &mut u64, blocks: usize, amp: f32) -> Vec<Vec<f32>> {
        (0..blocks).map(|_| noise(seed, amp)).collect()
    }

    /// Two knocks (30 ms bursts of loud noise) after 3 s of quiet, then 5 s of quiet.
    fn knocking(seed: &mut u64, floor: f32, knock: f32) -> Vec<Vec<f32>> {
        let mut blocks = quiet(seed, 150, floor);
        for _ in 0..2 {
            blocks.extend((0..2).map(|_| noise(seed, knock)));
            blocks.extend(quiet(seed, 10, floor));
        }
        blocks.extend(quiet(seed, 250, floor));
        blocks
    }

    #[test]
    fn sensitivity_maps_to_thresholds() {
        assert_eq!(SoundThresholds::of(1).loud_db, 40.0);
        assert_eq!(SoundThresholds::of(100).loud_db, 10.0);
        assert_eq!(SoundThresholds::of(0), SoundThresholds::of(1));
        assert_eq!(SoundThresholds::of(1).sustained_ms, 2000);
        assert_eq!(SoundThresholds::of(100).sustained_ms, 500);
    }

    #[test]
    fn a_knock_starts_and_ends_an_event_with_its_level_and_duration() {
        let mut d = SoundDetector::new();
        let events = feed(&mut d, &knocking(&mut 7, 0.001, 0.8), 1_000_000, Some(50));
        assert_eq!(events.len(), 2, "{events:?}");
        let SoundEvent::Start { at_ms, .. } = events[0] else { panic!("{events:?}") };
        assert_eq!(at_ms, 1_000_000 + 150 * 20);
        let SoundEvent::End { started_ms, level_db, duration_ms, .. } = events[1] else {
            panic!("{events:?}")
        };
        assert_eq!(started_ms, at_ms);
        assert!(level_db > -3.0 && level_db <= 0.0, "{level_db}");
        assert_eq!(duration_ms, 13 * 20, "first knock to the second's last block");
    }

    #[test]
    fn a_sustained_sound_starts_at_its_beginning() {
        let mut seed = 3;
        let mut blocks = quiet(&mut seed, 200, 0.001);
        blocks.extend(quiet(&mut seed, 100, 0.05)); // 2 s at about -31 dBFS rms
        blocks.extend(quiet(&mut seed, 200, 0.001));
        let events = feed(&mut SoundDetector::new(), &blocks, 0, Some(50));
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(matches!(events[0], SoundEvent::Start { at_ms: 4000, .. }), "{events:?}");
        let SoundEvent::End { duration_ms, .. } = events[1] else { panic!() };
        assert_eq!(duration_ms, 99 * 20);
    }

    #[test]
    fn a_short_sound_below_the_loud_margin_is_not_sustained_enough() {
        let mut seed = 5;
        let mut blocks = quiet(&mut seed, 200, 0.001);
        blocks.extend(quiet(&mut seed, 20, 0.02)); // 400 ms, peak about -34 dB: +26 over -60
        blocks.extend(quiet(&mut seed, 200, 0.001));
        assert_eq!(feed(&mut SoundDetector::new(), &blocks, 0, Some(20)), []);
    }

    #[test]
    fn turning_alarms_off_ends_the_event_and_reports_nothing_more() {
        let mut seed = 11;
        let mut d = SoundDetector::new();
        let mut blocks = quiet(&mut seed, 150, 0.001);
        blocks.push(noise(&mut seed, 0.9));
        let events = feed(&mut d, &blocks, 0, Some(50));
        assert!(matches!(events[..], [SoundEvent::Start { .. }]), "{events:?}");
        let off = feed(&mut d, &[noise(&mut seed, 0.9)], 3100, None);
        assert!(matches!(off[..], [SoundEvent::End { .. }]), "{off:?}");
        assert_eq!(feed(&mut d, &knocking(&mut seed, 0.001, 0.9), 4000, None), []);
    }

    #[test]
    fn a_noise_that_stays_becomes_the_background() {
        let mut seed = 13;
        let mut blocks = quiet(&mut seed, 100, 0.001);
        blocks.extend(quiet(&mut seed, 10_000, 0.1)); // 200 s of a fan
        let events = feed(&mut SoundDetector::new(), &blocks, 0, Some(50));
        assert!(matches!(events.last(), Some(SoundEvent::End { .. })), "{events:?}");
        assert_eq!(events.len(), 2, "one event, then background: {events:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_samples_and_times_never_panic(
            blocks in proptest::collection::vec(
                (proptest::collection::vec(proptest::num::f32::ANY, 0..300), any::<i64>(),
                 proptest::option::of(any::<u8>())),
                0..40,
            ),
        ) {
            let mut d = SoundDetector::new();
            for (b, t, s) in &blocks {
                for e in d.block(b, *t, *s) {
                    if let SoundEvent::End { started_ms, at_ms, duration_ms, level_db } = e {
                        prop_assert!(started_ms <= at_ms && duration_ms >= 0);
                        prop_assert!((MIN_DBFS..=0.0).contains(&level_db));
                    }
                }
            }
        }

        #[test]
        fn silence_never_alarms(seed in 1u64.., amp in 0.0f32..0.003, s in 1u8..=100,
                                blocks in 1usize..600) {
            let mut seed = seed;
            let events = feed(&mut SoundDetector::new(), &quiet(&mut seed, blocks, amp), 0, Some(s));
            prop_assert_eq!(events, vec![]);
        }

        #[test]
        fn a_knock_always_alarms_at_the_default_sensitivity(
            seed in 1u64.., floor in 0.0f32..0.01, knock in 0.5f32..1.0,
        ) {
            let mut seed = seed;
            let blocks = knocking(&mut seed, floor, knock);
            let events = feed(&mut SoundDetector::new(), &blocks, 0, Some(DEFAULT_SENSITIVITY));
            prop_assert!(matches!(events.first(), Some(SoundEvent::Start { .. })), "{:?}", events);
        }
    }
}
