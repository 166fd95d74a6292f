//! Property tests: chunking never changes what the stream parser sees, and hostile bytes
//! never make any parser panic.

use kankan_media::{
    InitSegment, Limits, MediaError, StreamItem, StreamParser, parse_fragment, parse_init,
};
use proptest::prelude::*;

use crate::run_stream;
use crate::support::{Base, av_fragment, av_init, cmaf_stream};

/// Every code a refusal may carry.
const CODES: [&str; 9] = [
    "media-truncated",
    "media-bad-box",
    "media-too-large",
    "media-no-init",
    "media-unknown-track",
    "media-bad-sample-table",
    "media-timestamp-regression",
    "media-unsupported-codec",
    "media-missing-box",
];

/// A valid A/V stream with stream-position base offsets, then a CMAF stream with a new init.
fn seed_stream() -> Vec<u8> {
    let mut stream = av_init();
    for seq in 1..=2u32 {
        let at = stream.len() as u64;
        let t = u64::from(seq);
        stream.extend(av_fragment(seq, Base::Absolute(at), t * 15_000, t * 4096).0);
    }
    stream.extend(cmaf_stream(2, 3).0);
    // Then the writer's Opus A/V stream.
    let params = crate::support::params();
    stream.extend(kankan_media::write_init_av(&params, Some(&crate::audio::opus())));
    for seq in 1..=2u32 {
        let (video, audio) = (crate::support::gop(seq, 3), crate::audio::packets(seq, 5));
        let t = u64::from(seq);
        stream.extend(crate::audio::av_cmaf_fragment(seq, t * 9000, t * 4800, &video, &audio));
    }
    stream
}

/// Splits `data` at the cumulative `sizes` (cycled).
fn chunked<'a>(data: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut pos = 0;
    for size in sizes.iter().cycle() {
        if pos >= data.len() {
            break;
        }
        let end = (pos + size).min(data.len());
        out.push(&data[pos..end]);
        pos = end;
    }
    out
}

/// Runs every parser over `data`; any error must carry a known code.
fn exercise(data: &[u8], sizes: &[usize]) {
    let check = |e: &MediaError| assert!(CODES.contains(&e.code()), "unknown code {}", e.code());
    let mut parser = StreamParser::new(Limits::default());
    let mut init: Option<InitSegment> = None;
    for chunk in chunked(data, sizes) {
        match parser.push(chunk) {
            Ok(items) => {
                for item in items {
                    if let StreamItem::Init(i) = item {
                        init = Some(i);
                    }
                }
            }
            Err(e) => check(&e),
        }
    }
    if let Err(e) = parser.finish() {
        check(&e);
    }
    if let Err(e) = parse_init(data, &Limits::default()) {
        check(&e);
    }
    let init = init
        .unwrap_or_else(|| parse_init(&av_init(), &Limits::default()).expect("seed init parses"));
    if let Err(e) = parse_fragment(&init, data, &Limits::default()) {
        check(&e);
    }
    let _ = kankan_media::export_mp4(&init, &[]);
}

#[test]
fn the_seed_stream_is_valid() {
    let items = run_stream([seed_stream().as_slice()]).expect("valid");
    assert_eq!(items.len(), 1 + 2 + 1 + 2 + 1 + 2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn chunking_never_changes_the_items(sizes in proptest::collection::vec(1usize..700, 1..20)) {
        let stream = seed_stream();
        let whole = run_stream([stream.as_slice()]).expect("valid");
        let pieces = run_stream(chunked(&stream, &sizes)).expect("valid");
        prop_assert_eq!(whole, pieces);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        data in proptest::collection::vec(any::<u8>(), 0..2000),
        sizes in proptest::collection::vec(1usize..300, 1..8),
    ) {
        exercise(&data, &sizes);
    }

    #[test]
    fn mutated_streams_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 0..6),
        bytes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
        sizes in proptest::collection::vec(1usize..500, 1..8),
    ) {
        let mut stream = seed_stream();
        for (at, bit) in flips {
            let i = at.index(stream.len());
            stream[i] ^= 1 << bit;
        }
        for (at, value) in bytes {
            let i = at.index(stream.len());
            stream[i] = value;
        }
        if truncate {
            stream.truncate(cut.index(stream.len()));
        }
        exercise(&stream, &sizes);
    }

    #[test]
    fn mutated_fragments_never_panic_the_fragment_parser_or_exporter(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..6),
    ) {
        let init = parse_init(&av_init(), &Limits::default()).expect("init");
        let (mut frag, _, _) = av_fragment(1, Base::Moof, 0, 0);
        for (at, bit) in flips {
            let i = at.index(frag.len());
            frag[i] ^= 1 << bit;
        }
        if let Ok(f) = parse_fragment(&init, &frag, &Limits::default()) {
            let _ = kankan_media::export_mp4(&init, &[f]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    // Fails without the fix: a `tfdt` near the top of u64 made `base + duration` overflow
    // (a panic in debug builds, a wrapped time in release) in the readers of a run.
    #[test]
    fn decode_times_anywhere_in_u64_are_refused_or_safe_to_add(
        video_dts in prop_oneof![any::<u64>(), (u64::MAX - 100_000)..=u64::MAX, 0u64..1 << 40],
        next in any::<u32>(),
    ) {
        let init = parse_init(&av_init(), &Limits::default()).expect("init");
        let (frag, _, _) = av_fragment(1, Base::Moof, video_dts, 0);
        match parse_fragment(&init, &frag, &Limits::default()) {
            Ok(f) => {
                for run in &f.runs {
                    let end = run.base_decode_time.checked_add(run.duration);
                    prop_assert!(end.is_some(), "{} + {}", run.base_decode_time, run.duration);
                }
                let end = f.end_ms(&init).expect("video");
                prop_assert!(end <= kankan_media::MAX_DECODE_MS);
                prop_assert!(i64::try_from(end).expect("fits").checked_add(1 << 62).is_some());
                let _ = kankan_media::export_mp4(&init, &[f]);
            }
            Err(e) => prop_assert_eq!(e.code(), "media-bad-box"),
        }
        // The stream parser: the same fragment after another one at an arbitrary time.
        let mut stream = av_init();
        for (seq, dts) in [(1u32, video_dts), (2, video_dts.wrapping_add(u64::from(next)))] {
            stream.extend(av_fragment(seq, Base::Moof, dts, 0).0);
        }
        exercise(&stream, &[stream.len()]);
    }
}
