//! What the writer produces reads back with its order, times and keyframes intact.

use kankan_media::{
    Limits, TrackKind, VIDEO_TRACK_ID, WriteSample, parse_fragment, parse_init, write_fragment,
    write_init,
};

use crate::cmaf_init;
use crate::support::{FRAME, access_unit, cmaf_fragment, gop, params};

#[test]
fn written_init_reads_back_as_one_h264_track() {
    let bytes = write_init(&params());
    let init = parse_init(&bytes, &Limits::default()).expect("parses");
    assert_eq!(init.bytes, bytes);
    assert_eq!(init.tracks.len(), 1);
    let video = init.video().expect("video track");
    assert_eq!(video.track_id, VIDEO_TRACK_ID);
    assert_eq!(video.kind, TrackKind::Video);
    assert_eq!(video.timescale, 90_000);
    assert_eq!((video.width, video.height), (1280, 720));
    assert_eq!(video.codec, "avc1.64001f");
    assert!(init.audio().is_none());
    assert_eq!(init.mime_codecs(), r#"video/mp4; codecs="avc1.64001f""#);
}

#[test]
fn written_fragment_reads_back_with_samples_in_order() {
    let init = cmaf_init();
    let samples = gop(7, 6);
    let bytes = cmaf_fragment(42, 900_000, &samples);
    let f = parse_fragment(&init, &bytes, &Limits::default()).expect("parses");
    assert_eq!(f.bytes, bytes);
    assert_eq!(f.sequence, 42);
    let run = f.video_run(&init).expect("video run");
    assert_eq!(run.base_decode_time, 900_000);
    assert_eq!(run.duration, 6 * u64::from(FRAME));
    assert_eq!(run.samples.len(), 6);
    for (s, data) in run.samples.iter().zip(&samples) {
        assert_eq!(f.sample_data(s), Some(data.as_slice()));
        assert_eq!(s.duration, FRAME);
    }
    let keys: Vec<bool> = run.samples.iter().map(|s| s.keyframe).collect();
    assert_eq!(keys, [true, false, false, false, false, false]);
    assert!(f.starts_with_keyframe(&init));
    assert_eq!((f.start_ms(&init), f.end_ms(&init)), (Some(10_000), Some(10_200)));
}

#[test]
fn composition_offsets_survive_including_negative_ones() {
    let init = cmaf_init();
    let data: Vec<Vec<u8>> = (0..3).map(|i| access_unit(1, i, i == 0)).collect();
    let cts = [3000, -3000, 0];
    let ws: Vec<WriteSample<'_>> = data
        .iter()
        .zip(cts)
        .map(|(d, c)| WriteSample { data: d, duration: FRAME, keyframe: c == 3000, cts_offset: c })
        .collect();
    let bytes = write_fragment(1, VIDEO_TRACK_ID, 0, &ws);
    let f = parse_fragment(&init, &bytes, &Limits::default()).expect("parses");
    let got: Vec<i32> = f.runs[0].samples.iter().map(|s| s.cts_offset).collect();
    assert_eq!(got, cts);
}

#[test]
fn a_fragment_starting_with_a_delta_frame_is_flagged() {
    let init = cmaf_init();
    let data = access_unit(1, 0, false);
    let ws = [WriteSample { data: &data, duration: FRAME, keyframe: false, cts_offset: 0 }];
    let f =
        parse_fragment(&init, &write_fragment(1, 1, 0, &ws), &Limits::default()).expect("parses");
    assert!(!f.starts_with_keyframe(&init));
}

#[test]
fn an_empty_fragment_has_an_empty_run() {
    let init = cmaf_init();
    let f = parse_fragment(&init, &write_fragment(3, 1, 5000, &[]), &Limits::default())
        .expect("parses");
    let run = f.video_run(&init).expect("run");
    assert!(run.samples.is_empty());
    assert_eq!(run.duration, 0);
    assert!(!f.starts_with_keyframe(&init));
}

#[test]
fn a_64_bit_mdat_size_is_read() {
    let init = cmaf_init();
    let samples = gop(2, 3);
    let bytes = cmaf_fragment(1, 0, &samples);
    // Re-frame the mdat with a 64-bit size, and move the data offset by the 8 extra bytes.
    let mdat_at = crate::support::position(&bytes, b"mdat", 0) - 4;
    let payload = &bytes[mdat_at + 8..];
    let mut wide = bytes[..mdat_at].to_vec();
    wide.extend(1u32.to_be_bytes());
    wide.extend(b"mdat");
    wide.extend((payload.len() as u64 + 16).to_be_bytes());
    wide.extend(payload);
    let trun = crate::support::position(&wide, b"trun", 0);
    let off = crate::support::be32(&wide, trun + 12) + 8;
    wide[trun + 12..trun + 16].copy_from_slice(&off.to_be_bytes());
    let f = parse_fragment(&init, &wide, &Limits::default()).expect("parses");
    assert_eq!(f.sample_data(&f.runs[0].samples[2]), Some(samples[2].as_slice()));
}

#[test]
fn a_size_zero_mdat_extends_to_the_end_of_a_stored_fragment() {
    let init = cmaf_init();
    let samples = gop(4, 3);
    let mut bytes = cmaf_fragment(1, 0, &samples);
    let mdat = crate::support::position(&bytes, b"mdat", 0) - 4;
    bytes[mdat..mdat + 4].copy_from_slice(&0u32.to_be_bytes());
    let f = parse_fragment(&init, &bytes, &Limits::default()).expect("parses");
    assert_eq!(f.sample_data(&f.runs[0].samples[2]), Some(samples[2].as_slice()));
}
