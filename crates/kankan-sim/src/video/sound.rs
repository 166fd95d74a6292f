//! The camera's microphone: a synthetic, seeded sound scene (a quiet room, door knocks,
//! speech-like sound) at 48 kHz mono, encoded to Opus in 20 ms packets, with the camera's
//! sound detector (`kankan_motion::sound`) listening to the same PCM.

use kankan_media::{AudioCodec, AudioParams};
use kankan_motion::{SoundDetector, SoundEvent};
use kankan_protocol::device::{DeviceEvent, MotionPhase};
use opus_pure::{Application, OpusEncoder};

use super::MotionLink;
use crate::SimError;

/// Sample rate and timescale of the audio track.
pub const RATE: u32 = 48_000;
/// Samples in one Opus packet: 20 ms.
pub const PACKET: u32 = 960;
/// The encoder's bit rate.
const BITRATE: i32 = 32_000;

/// What the microphone hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SoundPlan {
    /// A quiet room (noise about -65 dBFS).
    Silence,
    /// Three knocks on a door every 6 s (0.5 s after each 6 s period starts).
    Knock,
    /// Speech-like sound, 4 s of every 8 s (2 s into each period).
    Speech,
    /// 20 s periods: quiet, three knocks at 8 s, speech from 12 to 16 s.
    Cycle,
}

/// Deterministic PCM of a plan.
#[derive(Debug)]
pub struct SoundScene {
    plan: SoundPlan,
    rng: u64,
    /// Samples made so far.
    n: u64,
}

impl SoundScene {
    pub fn new(plan: SoundPlan, seed: u64) -> SoundScene {
        SoundScene { plan, rng: seed | 1, n: 0 }
    }

    fn noise(&mut self) -> f32 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }

    /// The next `out.len()` samples.
    pub fn fill(&mut self, out: &mut [f32]) {
        for x in out.iter_mut() {
            let t = self.n as f32 / RATE as f32;
            let floor = self.noise() * 0.001;
            let sound = match self.plan {
                SoundPlan::Silence => 0.0,
                SoundPlan::Knock => self.knocks(t % 6.0 - 0.5),
                SoundPlan::Speech => speech(t % 8.0 - 2.0, 4.0),
                SoundPlan::Cycle => {
                    let p = t % 20.0;
                    self.knocks(p - 8.0) + speech(p - 12.0, 4.0)
                }
            };
            *x = (floor + sound).clamp(-1.0, 1.0);
            self.n += 1;
        }
    }

    /// Three knocks 250 ms apart from `t` = 0: each a 40 ms thump (a decaying 180 Hz tone and
    /// noise).
    fn knocks(&mut self, t: f32) -> f32 {
        if !(0.0..0.75).contains(&t) {
            return 0.0;
        }
        let k = t % 0.25;
        if k >= 0.04 {
            return 0.0;
        }
        let env = (-k / 0.008).exp();
        let tone = (std::f32::consts::TAU * 180.0 * k).sin();
        0.7 * env * (0.6 * tone + 0.4 * self.noise())
    }
}

/// Speech-like sound for `len` s from `t` = 0: a 140 Hz voice (with vibrato) and its harmonics,
/// its loudness rising and falling four times a second like syllables.
fn speech(t: f32, len: f32) -> f32 {
    if !(0.0..len).contains(&t) {
        return 0.0;
    }
    let tau = std::f32::consts::TAU;
    let f0 = 140.0 + 15.0 * (tau * 0.7 * t).sin();
    let voice: f32 = (1..=6).map(|h| (tau * f0 * h as f32 * t).sin() / h as f32).sum();
    let syllables = 0.5 + 0.5 * (tau * 4.0 * t).sin();
    0.12 * syllables * syllables * voice
}

/// The microphone: scene, Opus encoder and, with a link, the sound detector.
pub struct Microphone {
    scene: SoundScene,
    encoder: OpusEncoder,
    detector: Option<(SoundDetector, MotionLink)>,
    /// Packets made so far.
    packets: u64,
    pcm: Vec<f32>,
}

impl std::fmt::Debug for Microphone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Microphone").field("scene", &self.scene).finish_non_exhaustive()
    }
}

/// One encoded packet of the audio track.
#[derive(Debug, Clone)]
pub struct Packet {
    /// Decode time in 48 kHz units.
    pub dts: u64,
    pub data: Vec<u8>,
}

impl Microphone {
    pub fn new(plan: SoundPlan, seed: u64, detect: Option<MotionLink>) -> Result<Self, SimError> {
        let err = |e: opus_pure::Error| SimError::Video(format!("opus encoder: {e}"));
        let mut encoder = OpusEncoder::new(RATE as i32, 1, Application::Audio).map_err(err)?;
        encoder.bitrate_bps = BITRATE;
        Ok(Microphone {
            scene: SoundScene::new(plan, seed),
            encoder,
            detector: detect.map(|l| (SoundDetector::new(), l)),
            packets: 0,
            pcm: vec![0.0; PACKET as usize],
        })
    }

    /// The audio track's description for the init segment.
    pub fn params(&self) -> AudioParams {
        let pre_skip = u16::try_from(self.encoder.lookahead()).unwrap_or(312);
        AudioParams { codec: AudioCodec::Opus { pre_skip }, channels: 1, sample_rate: RATE }
    }

    /// The packets whose end is at or before `until` (48 kHz units from media time 0);
    /// `epoch_ms` is the wall clock at media time 0 (for the detector's events).
    pub fn until(&mut self, until: u64, epoch_ms: i64) -> Result<Vec<Packet>, SimError> {
        let mut out = Vec::new();
        while (self.packets + 1) * u64::from(PACKET) <= until {
            let dts = self.packets * u64::from(PACKET);
            self.scene.fill(&mut self.pcm);
            if let Some((detector, link)) = &mut self.detector {
                let at = epoch_ms + i64::try_from(dts * 1000 / u64::from(RATE)).unwrap_or(0);
                let sensitivity = link.settings.borrow().sound_alarm.active();
                for e in detector.block(&self.pcm, at, sensitivity) {
                    let _ = link.events.send(device_event(e));
                }
            }
            let mut data = vec![0u8; opus_pure::MAX_PACKET_BYTES];
            let n = self
                .encoder
                .encode(&self.pcm, PACKET as usize, &mut data)
                .map_err(|e| SimError::Video(format!("opus encoder: {e}")))?;
            data.truncate(n);
            out.push(Packet { dts, data });
            self.packets += 1;
        }
        Ok(out)
    }
}

fn db(level: f32) -> i16 {
    level.round().clamp(-100.0, 0.0) as i16
}

/// The device event of a detector's verdict.
pub fn device_event(e: SoundEvent) -> DeviceEvent {
    match e {
        SoundEvent::Start { at_ms, level_db } => DeviceEvent::Sound {
            phase: MotionPhase::Start,
            at_ms,
            started_ms: at_ms,
            level_db: db(level_db),
            duration_ms: 0,
        },
        SoundEvent::End { started_ms, at_ms, level_db, duration_ms } => DeviceEvent::Sound {
            phase: MotionPhase::End,
            at_ms,
            started_ms,
            level_db: db(level_db),
            duration_ms,
        },
    }
}

#[cfg(test)]
mod tests {
    use kankan_protocol::device::Settings;
    use tokio::sync::{mpsc, watch};

    use super::*;

    /// The events a plan raises over `secs` seconds with alarms `on`.
    fn events(plan: SoundPlan, secs: u64, on: bool) -> Vec<DeviceEvent> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut settings = Settings::default();
        settings.sound_alarm.enabled = on;
        let (_keep, watched) = watch::channel(settings);
        let link = MotionLink { events: tx, settings: watched };
        let mut mic = Microphone::new(plan, 7, Some(link)).expect("mic");
        let packets = mic.until(secs * u64::from(RATE), 1_000_000).expect("encodes");
        assert_eq!(packets.len() as u64, secs * 50);
        assert!(packets.iter().all(|p| !p.data.is_empty()));
        std::iter::from_fn(|| rx.try_recv().ok()).collect()
    }

    #[test]
    fn the_same_seed_makes_the_same_sound() {
        let pcm = |seed| {
            let mut s = SoundScene::new(SoundPlan::Cycle, seed);
            let mut out = vec![0.0; 48_000];
            s.fill(&mut out);
            out
        };
        assert_eq!(pcm(3), pcm(3));
        assert_ne!(pcm(3), pcm(4));
    }

    #[test]
    fn knocks_and_speech_alarm_and_silence_does_not() {
        let knock = events(SoundPlan::Knock, 6, true);
        match knock.first() {
            Some(DeviceEvent::Sound { phase: MotionPhase::Start, at_ms, level_db, .. }) => {
                assert_eq!(*at_ms, 1_000_500, "the first knock, 0.5 s in");
                assert!(*level_db > -10, "{level_db}");
            }
            other => panic!("expected a sound start, got {other:?}"),
        }
        match knock.get(1) {
            Some(DeviceEvent::Sound { phase: MotionPhase::End, duration_ms, .. }) => {
                assert!((480..=560).contains(duration_ms), "three knocks: {duration_ms}");
            }
            other => panic!("expected the end, got {other:?}"),
        }
        let speech = events(SoundPlan::Speech, 8, true);
        assert!(
            matches!(speech.first(), Some(DeviceEvent::Sound { phase: MotionPhase::Start, .. })),
            "{speech:?}"
        );
        assert_eq!(events(SoundPlan::Silence, 10, true), []);
        assert_eq!(events(SoundPlan::Knock, 6, false), [], "alarms off");
    }
}
