//! Audio tracks the writer produces (Opus and AAC) read back, their fragments carry a `traf`
//! per track, and a bad `dOps` is refused.

use kankan_media::{
    AUDIO_TRACK_ID, AudioCodec, AudioParams, Limits, TrackKind, TrackWrite, VIDEO_TRACK_ID,
    WriteSample, export_mp4, parse_fragment, parse_init, write_fragment_tracks, write_init_av,
};

use crate::code;
use crate::support::{FRAME, gop, params};

/// 20 ms of Opus at 48 kHz.
pub const OPUS_FRAME: u32 = 960;

pub fn opus() -> AudioParams {
    AudioParams { codec: AudioCodec::Opus { pre_skip: 312 }, channels: 1, sample_rate: 48_000 }
}

/// Opus-like packets whose bytes depend on `(tag, i)`.
pub fn packets(tag: u32, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| (0..(10 + (i * 3 + tag as usize) % 40)).map(|k| (k + i) as u8).collect())
        .collect()
}

/// An A/V fragment of the writer: `video` samples then `audio` packets.
pub fn av_cmaf_fragment(
    seq: u32,
    video_dts: u64,
    audio_dts: u64,
    video: &[Vec<u8>],
    audio: &[Vec<u8>],
) -> Vec<u8> {
    let v: Vec<WriteSample<'_>> = video
        .iter()
        .enumerate()
        .map(|(i, d)| WriteSample { data: d, duration: FRAME, keyframe: i == 0, cts_offset: 0 })
        .collect();
    let a: Vec<WriteSample<'_>> = audio
        .iter()
        .map(|d| WriteSample { data: d, duration: OPUS_FRAME, keyframe: true, cts_offset: 0 })
        .collect();
    let mut tracks =
        vec![TrackWrite { track_id: VIDEO_TRACK_ID, base_decode_time: video_dts, samples: &v }];
    if !a.is_empty() {
        tracks.push(TrackWrite {
            track_id: AUDIO_TRACK_ID,
            base_decode_time: audio_dts,
            samples: &a,
        });
    }
    write_fragment_tracks(seq, &tracks)
}

#[test]
fn an_opus_track_reads_back_with_its_codec_string() {
    let bytes = write_init_av(&params(), Some(&opus()));
    let init = parse_init(&bytes, &Limits::default()).expect("parses");
    assert_eq!(init.tracks.len(), 2);
    let audio = init.audio().expect("audio track");
    assert_eq!(audio.track_id, AUDIO_TRACK_ID);
    assert_eq!(audio.kind, TrackKind::Audio);
    assert_eq!((audio.codec.as_str(), audio.channels, audio.sample_rate), ("opus", 1, 48_000));
    assert_eq!(audio.timescale, 48_000);
    assert_eq!(init.mime_codecs(), r#"video/mp4; codecs="avc1.64001f,opus""#);
}

#[test]
fn an_aac_track_reads_back_with_its_object_type() {
    let aac = AudioParams {
        codec: AudioCodec::Aac { config: vec![0x14, 0x08] },
        channels: 1,
        sample_rate: 16_000,
    };
    let init = parse_init(&write_init_av(&params(), Some(&aac)), &Limits::default()).expect("ok");
    let audio = init.audio().expect("audio track");
    assert_eq!((audio.codec.as_str(), audio.sample_rate), ("mp4a.40.2", 16_000));
    assert_eq!(audio.timescale, 16_000);
}

#[test]
fn a_fragment_with_both_tracks_reads_back_and_exports_both() {
    let init =
        parse_init(&write_init_av(&params(), Some(&opus())), &Limits::default()).expect("ok");
    let (video, audio) = (gop(3, 5), packets(3, 8));
    let bytes = av_cmaf_fragment(7, 90_000, 48_000, &video, &audio);
    let f = parse_fragment(&init, &bytes, &Limits::default()).expect("parses");
    assert_eq!(f.runs.len(), 2);
    let v = f.video_run(&init).expect("video");
    let a = f.run(AUDIO_TRACK_ID).expect("audio");
    assert_eq!(a.base_decode_time, 48_000);
    assert_eq!(a.duration, 8 * u64::from(OPUS_FRAME));
    let got: Vec<&[u8]> = a.samples.iter().filter_map(|s| f.sample_data(s)).collect();
    assert_eq!(got, audio.iter().map(Vec::as_slice).collect::<Vec<_>>());
    let got: Vec<&[u8]> = v.samples.iter().filter_map(|s| f.sample_data(s)).collect();
    assert_eq!(got, video.iter().map(Vec::as_slice).collect::<Vec<_>>());
    assert!(f.starts_with_keyframe(&init));
    let mp4 = export_mp4(&init, &[f]).expect("exports");
    assert_eq!(mp4.windows(4).filter(|w| w == b"trak").count(), 2);
    assert_eq!(mp4.windows(4).filter(|w| w == b"dOps").count(), 1);
}

#[test]
fn a_fragment_without_audio_samples_has_one_traf() {
    let init =
        parse_init(&write_init_av(&params(), Some(&opus())), &Limits::default()).expect("ok");
    let bytes = av_cmaf_fragment(1, 0, 0, &gop(1, 2), &[]);
    let f = parse_fragment(&init, &bytes, &Limits::default()).expect("parses");
    assert_eq!(f.runs.len(), 1);
}

/// The init with its `dOps` body bytes changed by `patch` (offsets within the body).
fn with_dops(patch: &[(usize, u8)]) -> Vec<u8> {
    let mut bytes = write_init_av(&params(), Some(&opus()));
    let at = bytes.windows(4).position(|w| w == b"dOps").expect("dOps") + 4;
    for &(i, v) in patch {
        bytes[at + i] = v;
    }
    bytes
}

#[test]
fn a_bad_dops_is_refused() {
    let refused = |patch: &[(usize, u8)]| code(parse_init(&with_dops(patch), &Limits::default()));
    assert_eq!(refused(&[(0, 1)]), "media-bad-box", "version 1");
    assert_eq!(refused(&[(1, 2)]), "media-bad-box", "channels differ from the entry");
    assert_eq!(refused(&[(10, 1)]), "media-bad-box", "family 1 without its table");
    let mut bytes = write_init_av(&params(), Some(&opus()));
    let at = bytes.windows(4).position(|w| w == b"dOps").expect("dOps");
    bytes[at..at + 4].copy_from_slice(b"dOpx");
    assert_eq!(code(parse_init(&bytes, &Limits::default())), "media-missing-box");
}
