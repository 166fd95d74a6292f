//! Access units in, CMAF fragments out: a fragment starts at each keyframe, and a long GOP is
//! split into fragments of about [`MAX_FRAGMENT_MS`] so a crash loses little.
//!
//! A sample's duration is the distance to the next sample's timestamp, so each sample is held
//! until the next one arrives. Decode times count from the first keyframe (media time 0).

use bytes::Bytes;
use kankan_media::{VIDEO_TRACK_ID, WriteSample, write_fragment};

/// Longest fragment, in milliseconds, before it is cut without waiting for a keyframe.
pub const MAX_FRAGMENT_MS: u64 = 1_000;
/// Largest fragment payload before it is cut (the ingest refuses fragments over 8 MiB).
const MAX_FRAGMENT_BYTES: usize = 4 * 1024 * 1024;
/// Longest single sample: a longer jump of the camera's clock is clamped to this.
const MAX_SAMPLE_MS: u64 = 5_000;

/// A fragment ready for the ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// `moof` + `mdat`.
    pub bytes: Bytes,
    /// Media time of the first sample, in milliseconds since the first keyframe.
    pub start_ms: u64,
    /// Media time just after the last sample, in milliseconds.
    pub end_ms: u64,
    /// Whether the fragment starts with a keyframe.
    pub keyframe: bool,
}

struct Pending {
    data: Vec<u8>,
    ts: i64,
    key: bool,
}

/// Groups timestamped access units (AVCC, 4-byte lengths) into fragments.
pub struct Fragmenter {
    timescale: u32,
    /// Samples of the fragment being built, the last one still without a duration.
    pending: Vec<Pending>,
    pending_bytes: usize,
    /// Decode time of the first pending sample.
    base: u64,
    sequence: u32,
}

impl std::fmt::Debug for Fragmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fragmenter")
            .field("timescale", &self.timescale)
            .field("pending", &self.pending.len())
            .field("base", &self.base)
            .finish()
    }
}

impl Fragmenter {
    /// `timescale`: units per second of the timestamps given to [`Fragmenter::push`] (the RTP
    /// clock rate, 90 000 for H.264).
    pub fn new(timescale: u32) -> Self {
        Fragmenter {
            timescale: timescale.max(1),
            pending: Vec::new(),
            pending_bytes: 0,
            base: 0,
            sequence: 0,
        }
    }

    /// Whether a keyframe has been seen (and media time 0 fixed).
    pub fn started(&self) -> bool {
        !self.pending.is_empty() || self.sequence > 0
    }

    fn ms(&self, t: u64) -> u64 {
        t.saturating_mul(1000) / u64::from(self.timescale)
    }

    /// Adds one access unit with its timestamp (in the timescale). Frames before the first
    /// keyframe are dropped. Returns the fragment this frame completed, if any.
    pub fn push(&mut self, data: Vec<u8>, ts: i64, key: bool) -> Option<Fragment> {
        if !self.started() && !key {
            return None;
        }
        let out = match self.pending.first() {
            Some(first) => {
                let span = self.ms(u64::try_from(ts.saturating_sub(first.ts)).unwrap_or(0));
                let cut =
                    key || span >= MAX_FRAGMENT_MS || self.pending_bytes >= MAX_FRAGMENT_BYTES;
                if cut { self.flush(ts) } else { None }
            }
            None => None,
        };
        self.pending_bytes += data.len();
        self.pending.push(Pending { data, ts, key });
        out
    }

    /// Writes the pending samples as one fragment; `next_ts` ends the last one.
    fn flush(&mut self, next_ts: i64) -> Option<Fragment> {
        let pending = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let first = pending.first()?;
        let max = MAX_SAMPLE_MS * u64::from(self.timescale) / 1000;
        // A sample lasts until the next one; a clock going backwards (or B-frames, which
        // cameras rarely send) gets the shortest duration rather than a negative one.
        let durations: Vec<u32> = pending
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let next = pending.get(i + 1).map_or(next_ts, |n| n.ts);
                let d = u64::try_from(next.saturating_sub(p.ts)).unwrap_or(0).clamp(1, max);
                u32::try_from(d).unwrap_or(u32::MAX)
            })
            .collect();
        let samples: Vec<WriteSample<'_>> = pending
            .iter()
            .zip(&durations)
            .map(|(p, &duration)| WriteSample {
                data: &p.data,
                duration,
                keyframe: p.key,
                cts_offset: 0,
            })
            .collect();
        self.sequence = self.sequence.wrapping_add(1).max(1);
        let bytes = write_fragment(self.sequence, VIDEO_TRACK_ID, self.base, &samples);
        let total: u64 = durations.iter().map(|&d| u64::from(d)).sum();
        let start_ms = self.ms(self.base);
        self.base += total;
        Some(Fragment {
            bytes: Bytes::from(bytes),
            start_ms,
            end_ms: self.ms(self.base),
            keyframe: first.key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kankan_media::{Limits, VideoParams, parse_fragment, parse_init, write_init};

    const TICKS: i64 = 6_000; // 15 fps at 90 kHz

    fn au(n: u8) -> Vec<u8> {
        vec![0, 0, 0, 2, 0x41, n]
    }

    fn init() -> kankan_media::InitSegment {
        let params = VideoParams {
            width: 320,
            height: 180,
            timescale: 90_000,
            sps: vec![0x67, 0x42, 0xc0, 0x0d, 0xd9],
            pps: vec![0x68, 0xce, 0x3c, 0x80],
        };
        parse_init(&write_init(&params), &Limits::default()).expect("init parses")
    }

    #[test]
    fn frames_before_the_first_keyframe_are_dropped() {
        let mut f = Fragmenter::new(90_000);
        assert_eq!(f.push(au(1), 0, false), None);
        assert!(!f.started());
        assert_eq!(f.push(au(2), TICKS, true), None);
        assert!(f.started());
    }

    #[test]
    fn fragments_follow_gops_and_carry_durations() {
        let init = init();
        let mut f = Fragmenter::new(90_000);
        let mut out = Vec::new();
        // Two GOPs of 10 frames, then the keyframe that closes the second.
        for i in 0..21i64 {
            out.extend(f.push(au(i as u8), 1_000_000 + i * TICKS, i % 10 == 0));
        }
        assert_eq!(out.len(), 2);
        for (n, frag) in out.iter().enumerate() {
            assert!(frag.keyframe);
            let parsed = parse_fragment(&init, &frag.bytes, &Limits::default()).expect("parses");
            assert!(parsed.starts_with_keyframe(&init));
            let run = parsed.video_run(&init).expect("video");
            assert_eq!(run.samples.len(), 10);
            assert_eq!(run.base_decode_time, n as u64 * 60_000);
            assert!(run.samples.iter().all(|s| s.duration == 6_000));
        }
        assert_eq!((out[1].start_ms, out[1].end_ms), (666, 1_333));
    }

    #[test]
    fn a_long_gop_is_split_into_about_one_second() {
        let mut f = Fragmenter::new(90_000);
        let mut out = Vec::new();
        for i in 0..40i64 {
            out.extend(f.push(au(i as u8), i * TICKS, i == 0));
        }
        assert_eq!(out.len(), 2, "40 frames at 15 fps, no second keyframe");
        assert!(out[0].keyframe && !out[1].keyframe);
        assert_eq!(out[0].end_ms, out[1].start_ms);
        assert_eq!(out[0].end_ms, 1_000);
    }

    #[test]
    fn a_clock_going_backwards_never_gives_negative_durations() {
        let init = init();
        let mut f = Fragmenter::new(90_000);
        f.push(au(0), 10 * TICKS, true);
        f.push(au(1), 5 * TICKS, false);
        let frag = f.push(au(2), 20 * TICKS, true).expect("a fragment");
        let parsed = parse_fragment(&init, &frag.bytes, &Limits::default()).expect("parses");
        let run = parsed.video_run(&init).expect("video");
        assert_eq!(run.samples[0].duration, 1);
        assert_eq!(run.samples[1].duration, 15 * TICKS as u32);
    }
}
