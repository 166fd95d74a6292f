//! The stream parser: grouping, tolerance of what ffmpeg writes, and its time checks.

use kankan_media::{
    Limits, StreamItem, StreamParser, TrackKind, parse_fragment, parse_fragment_at, parse_init,
    write_init,
};

use crate::support::{
    AAC_FRAME, AV_AUDIO_TS, Base, FRAME, av_fragment, av_init, b, cmaf_fragment, cmaf_stream, fb,
    gop, params, u32s,
};
use crate::{code, run_stream};

fn fragments(items: &[StreamItem]) -> Vec<&kankan_media::Fragment> {
    items
        .iter()
        .filter_map(|i| match i {
            StreamItem::Fragment(f) => Some(f),
            StreamItem::Init(_) => None,
        })
        .collect()
}

#[test]
fn a_whole_stream_in_one_chunk_yields_init_then_fragments() {
    let (stream, samples) = cmaf_stream(3, 4);
    let items = run_stream([stream.as_slice()]).expect("valid stream");
    assert_eq!(items.len(), 4);
    let StreamItem::Init(init) = &items[0] else { panic!("init first") };
    assert_eq!(init.bytes, write_init(&params()));
    for (i, f) in fragments(&items).into_iter().enumerate() {
        assert_eq!(f.sequence, i as u32 + 1);
        let run = f.video_run(init).expect("video");
        assert_eq!(run.base_decode_time, i as u64 * 4 * u64::from(FRAME));
        for (s, data) in run.samples.iter().zip(&samples[i]) {
            assert_eq!(f.sample_data(s), Some(data.as_slice()));
        }
    }
}

#[test]
fn a_stream_fed_one_byte_at_a_time_yields_the_same_items() {
    let (stream, _) = cmaf_stream(2, 3);
    let whole = run_stream([stream.as_slice()]).expect("valid");
    let bytewise = run_stream(stream.chunks(1)).expect("valid");
    assert_eq!(whole, bytewise);
}

#[test]
fn an_ffmpeg_shaped_av_stream_is_accepted() {
    let mut stream = av_init();
    // A global sidx between the init and the first fragment is skipped.
    stream.extend(fb(b"sidx", 1, 0, &[&u32s(&[1, 90_000, 0, 0, 0, 0, 0])]));
    let mut expected = Vec::new();
    for seq in 1..=3u32 {
        let at = stream.len() as u64;
        let dts = u64::from(seq - 1);
        let (frag, video, audio) =
            av_fragment(seq, Base::Absolute(at), dts * 5 * 3000, dts * 4 * u64::from(AAC_FRAME));
        stream.extend(&frag);
        expected.push((video, audio));
    }
    // ffmpeg ends a fragmented file with an mfra index; a top-level sidx and skip are skipped.
    stream.extend(b(b"mfra", &[&fb(b"mfro", 0, 0, &[&u32s(&[16])])]));
    stream.extend(b(b"skip", &[b"trailing"]));
    let items = run_stream(stream.chunks(97)).expect("valid stream");
    let StreamItem::Init(init) = &items[0] else { panic!("init first") };
    assert_eq!(init.mime_codecs(), r#"video/mp4; codecs="avc1.64001f,mp4a.40.2""#);
    let audio = init.audio().expect("audio");
    assert_eq!((audio.kind, audio.timescale, audio.channels), (TrackKind::Audio, AV_AUDIO_TS, 2));
    assert_eq!(audio.sample_rate, 48_000);
    let frags = fragments(&items);
    assert_eq!(frags.len(), 3);
    for (f, (video, audio)) in frags.into_iter().zip(&expected) {
        let v = f.run(1).expect("video run");
        let a = f.run(2).expect("audio run");
        let vdata: Vec<&[u8]> = v.samples.iter().map(|s| f.sample_data(s).expect("in")).collect();
        let adata: Vec<&[u8]> = a.samples.iter().map(|s| f.sample_data(s).expect("in")).collect();
        assert_eq!(vdata, video.iter().map(Vec::as_slice).collect::<Vec<_>>());
        assert_eq!(adata, audio.iter().map(Vec::as_slice).collect::<Vec<_>>());
        // first-sample-flags make the first video sample key, tfhd defaults the rest delta.
        let keys: Vec<bool> = v.samples.iter().map(|s| s.keyframe).collect();
        assert_eq!(keys, [true, false, false, false, false]);
        // Audio takes duration and flags from the trex.
        assert!(a.samples.iter().all(|s| s.duration == AAC_FRAME && s.keyframe));
        assert_eq!(v.duration, 5 * 3000);
    }
}

#[test]
fn explicit_base_data_offsets_are_stream_positions() {
    let init = parse_init(&av_init(), &Limits::default()).expect("init");
    let (frag, video, _) = av_fragment(1, Base::Absolute(5000), 0, 0);
    let f = parse_fragment_at(&init, &frag, 5000, &Limits::default()).expect("parses");
    let first = f.run(1).expect("video").samples[0];
    assert_eq!(f.sample_data(&first), Some(video[0].as_slice()));
    // Read as a stand-alone file, the same offsets point past the data.
    assert_eq!(code(parse_fragment(&init, &frag, &Limits::default())), "media-bad-sample-table");
}

#[test]
fn default_base_is_moof_fragments_parse_on_their_own() {
    let init = parse_init(&av_init(), &Limits::default()).expect("init");
    let (frag, video, audio) = av_fragment(9, Base::Moof, 0, 0);
    let f = parse_fragment(&init, &frag, &Limits::default()).expect("parses");
    let v = f.run(1).expect("video");
    assert_eq!(f.sample_data(&v.samples[4]), Some(video[4].as_slice()));
    let a = f.run(2).expect("audio");
    assert_eq!(f.sample_data(&a.samples[3]), Some(audio[3].as_slice()));
}

#[test]
fn a_new_init_mid_stream_replaces_the_old_one_and_restarts_time() {
    let (mut stream, _) = cmaf_stream(2, 3);
    stream.extend(av_init());
    let (frag, _, _) = av_fragment(1, Base::Moof, 0, 0);
    stream.extend(frag);
    let items = run_stream([stream.as_slice()]).expect("valid");
    let inits: Vec<_> = items
        .iter()
        .filter_map(|i| if let StreamItem::Init(init) = i { Some(init) } else { None })
        .collect();
    assert_eq!(inits.len(), 2);
    assert_eq!(inits[1].tracks.len(), 2);
    assert_eq!(fragments(&items).len(), 3);
}

#[test]
fn items_completed_before_an_error_are_returned_and_the_error_follows() {
    let (mut stream, _) = cmaf_stream(1, 3);
    stream.extend(b"garbage!");
    let mut parser = StreamParser::new(Limits::default());
    let items = parser.push(&stream).expect("items first");
    assert_eq!(items.len(), 2);
    assert_eq!(code(parser.push(&[])), "media-bad-box");
    assert_eq!(code(parser.finish()), "media-bad-box");
}

#[test]
fn errors_are_sticky() {
    let mut parser = StreamParser::new(Limits::default());
    assert_eq!(code(parser.push(&cmaf_fragment(1, 0, &gop(1, 2)))), "media-no-init");
    assert_eq!(code(parser.push(&write_init(&params()))), "media-no-init");
}

#[test]
fn position_counts_consumed_bytes() {
    let (stream, _) = cmaf_stream(2, 2);
    let mut parser = StreamParser::new(Limits::default());
    parser.push(&stream[..stream.len() - 1]).expect("valid so far");
    assert!(parser.position() < stream.len() as u64);
    parser.push(&stream[stream.len() - 1..]).expect("valid");
    assert_eq!(parser.position(), stream.len() as u64);
    assert!(parser.init().is_some());
    parser.finish().expect("complete");
}

#[test]
fn an_empty_stream_finishes_cleanly() {
    assert_eq!(run_stream([]), Ok(Vec::new()));
}
