//! The camera's live fMP4 as RTP-ready H.264: each sample of the video track becomes an
//! Annex B access unit (the parameter sets of the init segment before every keyframe, so a
//! browser can start at any keyframe) with a 90 kHz timestamp on one continuous timeline.
//!
//! The timeline follows the camera's presentation times; it is re-based so it never runs
//! backwards or leaps far ahead when the camera restarts its encoder (a new init segment,
//! times from 0 again) or its clock jumps. Skips forward of a viewer that fell behind stay:
//! that time really passed.

use kankan_media::{AvcConfig, InitSegment, Limits, parse_fragment, parse_init};

/// The RTP clock of video.
pub(crate) const VIDEO_HZ: u64 = 90_000;
/// A forward jump larger than this is a discontinuity, not time that passed.
const MAX_LEAP: u64 = 10 * VIDEO_HZ;

/// One Opus packet of the camera's sound track to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sound {
    /// Its time on the session's (90 kHz) timeline, so it stays in step with the picture.
    pub rtp90: u64,
    pub data: Vec<u8>,
}

/// One access unit to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    /// Presentation time on the session's timeline, 90 kHz.
    pub rtp: u64,
    pub keyframe: bool,
    /// Annex B bytes.
    pub data: Vec<u8>,
}

struct Track {
    init: InitSegment,
    avc: AvcConfig,
    id: u32,
    timescale: u64,
    /// The Opus track's id and timescale, if the camera sends one.
    opus: Option<(u32, u64)>,
}

/// The session's timeline.
#[derive(Default)]
struct Timeline {
    /// Added to the camera's 90 kHz times to place them on the session's timeline.
    offset: i64,
    /// The last frame's decode time on the timeline and its duration.
    last: Option<(u64, u64)>,
    /// The next frame starts a new run of camera times (after an init).
    rebase: bool,
}

/// Turns init segments and fragments into frames.
#[derive(Default)]
pub(crate) struct VideoFeed {
    track: Option<Track>,
    timeline: Timeline,
    /// No keyframe yet since the start or the last init: frames are dropped.
    need_key: bool,
    /// The sound of the fragments fed since the last [`VideoFeed::take_sound`].
    sound: Vec<Sound>,
}

impl VideoFeed {
    /// A new init segment: the next frame must be a keyframe and the times may restart.
    pub fn init(&mut self, bytes: &[u8]) -> Result<(), String> {
        let init = parse_init(bytes, &Limits::default()).map_err(|e| e.to_string())?;
        let video = init.video().ok_or("no video track")?;
        let avc = AvcConfig::from_stsd(&video.stsd).ok_or("no H.264 parameter sets")?;
        let (id, timescale) = (video.track_id, u64::from(video.timescale.max(1)));
        let opus = init
            .audio()
            .filter(|a| a.codec == "opus")
            .map(|a| (a.track_id, u64::from(a.timescale.max(1))));
        self.track = Some(Track { init, avc, id, timescale, opus });
        self.need_key = true;
        self.timeline.rebase = true;
        Ok(())
    }

    /// The frames of one fragment (none before the first keyframe).
    pub fn fragment(&mut self, bytes: &[u8]) -> Result<Vec<Frame>, String> {
        let Some(t) = &self.track else { return Err("a fragment before the init".into()) };
        let frag = parse_fragment(&t.init, bytes, &Limits::default()).map_err(|e| e.to_string())?;
        let Some(run) = frag.run(t.id) else { return Ok(Vec::new()) };
        let to_90k = |v: u64| u64::try_from(u128::from(v) * 90_000 / u128::from(t.timescale));
        let mut out = Vec::with_capacity(run.samples.len());
        let mut dts = run.base_decode_time;
        for s in &run.samples {
            let at = dts;
            dts = dts.saturating_add(u64::from(s.duration));
            if self.need_key && !s.keyframe {
                continue;
            }
            let Some(data) = frag.sample_data(s) else { continue };
            let Some(annexb) = t.avc.to_annexb(data, s.keyframe) else {
                return Err("a sample whose NAL lengths overrun it".into());
            };
            let (Ok(dts90), Ok(dur90)) = (to_90k(at), to_90k(u64::from(s.duration))) else {
                continue;
            };
            let pts90 = dts90.saturating_add_signed(
                i64::from(s.cts_offset) * 90_000 / i64::try_from(t.timescale).unwrap_or(1),
            );
            self.need_key = false;
            let placed = self.timeline.place(dts90, dur90);
            let rtp = pts90.saturating_add_signed(self.timeline.offset).max(placed);
            out.push(Frame { rtp, keyframe: s.keyframe, data: annexb });
        }
        if let (Some((id, scale)), false) = (t.opus, self.need_key)
            && let Some(run) = frag.run(id)
        {
            let mut dts = run.base_decode_time;
            for s in &run.samples {
                let at = u128::from(dts) * 90_000 / u128::from(scale);
                dts = dts.saturating_add(u64::from(s.duration));
                let (Ok(at), Some(data)) = (u64::try_from(at), frag.sample_data(s)) else {
                    continue;
                };
                let rtp90 = at.saturating_add_signed(self.timeline.offset);
                self.sound.push(Sound { rtp90, data: data.to_vec() });
            }
        }
        Ok(out)
    }

    /// The camera's sound (Opus packets) of the fragments fed since the last call.
    pub fn take_sound(&mut self) -> Vec<Sound> {
        std::mem::take(&mut self.sound)
    }
}

impl Timeline {
    /// Puts a decode time on the timeline, re-basing at a discontinuity; returns it.
    fn place(&mut self, dts90: u64, dur90: u64) -> u64 {
        let mut at = dts90.saturating_add_signed(self.offset);
        if let Some((last, last_dur)) = self.last {
            let next = last + last_dur.max(1);
            if self.rebase || at < next || at > next + MAX_LEAP {
                self.offset = i64::try_from(next).unwrap_or(i64::MAX)
                    - i64::try_from(dts90).unwrap_or(i64::MAX);
                at = next;
            }
        }
        self.rebase = false;
        self.last = Some((at, dur90));
        at
    }
}

#[cfg(test)]
mod tests {
    use kankan_media::{VIDEO_TRACK_ID, VideoParams, WriteSample, write_fragment, write_init};

    use super::*;

    const SPS: &[u8] = &[0x67, 0x42, 0xc0, 0x1e];
    const PPS: &[u8] = &[0x68, 0xce, 0x38, 0x80];

    fn init() -> Vec<u8> {
        write_init(&VideoParams {
            width: 320,
            height: 180,
            timescale: 90_000,
            sps: SPS.to_vec(),
            pps: PPS.to_vec(),
        })
    }

    /// A fragment of `n` frames of 6000 ticks (15 fps) from `base`, the first a keyframe.
    fn fragment(seq: u32, base: u64, n: usize, key_first: bool) -> Vec<u8> {
        let datas: Vec<Vec<u8>> = (0..n)
            .map(|i| vec![0, 0, 0, 2, if i == 0 && key_first { 0x65 } else { 0x41 }, i as u8 + 1])
            .collect();
        let samples: Vec<WriteSample<'_>> = datas
            .iter()
            .enumerate()
            .map(|(i, d)| WriteSample {
                data: d,
                duration: 6000,
                keyframe: i == 0 && key_first,
                cts_offset: 0,
            })
            .collect();
        write_fragment(seq, VIDEO_TRACK_ID, base, &samples)
    }

    #[test]
    fn samples_become_annexb_frames_with_parameter_sets_on_keyframes() {
        let mut feed = VideoFeed::default();
        feed.init(&init()).expect("init");
        let frames = feed.fragment(&fragment(1, 90_000, 3, true)).expect("fragment");
        assert_eq!(frames.len(), 3);
        let key = &frames[0];
        assert!(key.keyframe);
        let nals = kankan_media::split_annexb(&key.data);
        assert_eq!(nals, [SPS, PPS, &[0x65, 1][..]]);
        assert_eq!(frames[1].data, [0, 0, 0, 1, 0x41, 2], "a delta frame is just its NAL");
        let times: Vec<u64> = frames.iter().map(|f| f.rtp).collect();
        assert_eq!(times, [90_000, 96_000, 102_000]);
    }

    #[test]
    fn nothing_is_sent_before_a_keyframe() {
        let mut feed = VideoFeed::default();
        assert!(feed.fragment(&fragment(1, 0, 2, true)).is_err(), "no init yet");
        feed.init(&init()).expect("init");
        assert!(feed.fragment(&fragment(1, 0, 2, false)).expect("parsed").is_empty());
        assert_eq!(feed.fragment(&fragment(2, 12_000, 2, true)).expect("parsed").len(), 2);
    }

    #[test]
    fn the_timeline_never_runs_backwards_across_an_encoder_restart() {
        let mut feed = VideoFeed::default();
        feed.init(&init()).expect("init");
        let a = feed.fragment(&fragment(1, 900_000, 2, true)).expect("first");
        // The camera restarts: a new init, times from 0.
        feed.init(&init()).expect("init again");
        let b = feed.fragment(&fragment(1, 0, 2, true)).expect("after restart");
        assert_eq!(a[1].rtp, 906_000);
        assert_eq!(b.iter().map(|f| f.rtp).collect::<Vec<_>>(), [912_000, 918_000]);
        // A skip forward (a viewer that fell behind) keeps the time that passed...
        let c = feed.fragment(&fragment(2, 60_000, 1, true)).expect("skip");
        assert_eq!(c[0].rtp, 912_000 + 60_000);
        // ...a leap of an hour does not.
        let d = feed.fragment(&fragment(3, 60_000 + 3600 * 90_000, 1, true)).expect("leap");
        assert_eq!(d[0].rtp, 912_000 + 66_000);
    }

    #[test]
    fn the_camera_s_opus_packets_come_out_on_the_video_s_timeline_from_a_keyframe_on() {
        use kankan_media::{AUDIO_TRACK_ID, AudioCodec, AudioParams, TrackWrite, write_init_av};
        let params = VideoParams {
            width: 320,
            height: 180,
            timescale: 90_000,
            sps: SPS.to_vec(),
            pps: PPS.to_vec(),
        };
        let opus = AudioParams {
            codec: AudioCodec::Opus { pre_skip: 312 },
            channels: 1,
            sample_rate: 48_000,
        };
        let av = |seq: u32, key: bool, video_dts: u64, audio_dts: u64| {
            let v = vec![0, 0, 0, 2, if key { 0x65 } else { 0x41 }, 1];
            let video = [WriteSample { data: &v, duration: 6000, keyframe: key, cts_offset: 0 }];
            let packets = [vec![0xf8, 1], vec![0xf8, 2]];
            let sound: Vec<WriteSample<'_>> = packets
                .iter()
                .map(|d| WriteSample { data: d, duration: 960, keyframe: true, cts_offset: 0 })
                .collect();
            kankan_media::write_fragment_tracks(
                seq,
                &[
                    TrackWrite {
                        track_id: VIDEO_TRACK_ID,
                        base_decode_time: video_dts,
                        samples: &video,
                    },
                    TrackWrite {
                        track_id: AUDIO_TRACK_ID,
                        base_decode_time: audio_dts,
                        samples: &sound,
                    },
                ],
            )
        };
        let mut feed = VideoFeed::default();
        feed.init(&write_init_av(&params, Some(&opus))).expect("init");
        feed.fragment(&av(1, false, 0, 0)).expect("before a keyframe");
        assert!(feed.take_sound().is_empty(), "no sound before the picture can start");
        feed.fragment(&av(2, true, 90_000, 48_000)).expect("keyframe");
        let sound = feed.take_sound();
        let times: Vec<u64> = sound.iter().map(|s| s.rtp90).collect();
        assert_eq!(times, [90_000, 91_800], "1 s, and 20 ms later, at 90 kHz");
        assert_eq!(sound[1].data, [0xf8, 2]);
        assert!(feed.take_sound().is_empty(), "taken once");
    }

    #[test]
    fn hostile_fragments_are_errors_not_panics() {
        let mut feed = VideoFeed::default();
        feed.init(&init()).expect("init");
        assert!(feed.fragment(b"not a fragment").is_err());
        assert!(feed.init(b"nor an init").is_err());
    }
}
