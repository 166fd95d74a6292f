//! Bad input is refused with its stable code, never a panic.

use kankan_media::{Limits, StreamParser, parse_fragment, parse_init, write_init};

use crate::support::{
    Base, FRAME, av_fragment, av_init, av_init_with, avcc, b, be32, cmaf_fragment, cmaf_stream, fb,
    gop, mp4a_entry, params, position, u32s, visual_entry,
};
use crate::{cmaf_init, code, run_stream};

fn patch32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

/// Renames the first box of type `from` (after `after`) to `to`.
fn rename(bytes: &mut [u8], from: &[u8; 4], to: &[u8; 4]) {
    let at = position(bytes, from, 0);
    bytes[at..at + 4].copy_from_slice(to);
}

/// A one-track fragment of 3 samples, and the offset of its trun's type.
fn fragment() -> (Vec<u8>, usize) {
    let bytes = cmaf_fragment(1, 0, &gop(1, 3));
    let trun = position(&bytes, b"trun", 0);
    (bytes, trun)
}

fn stream_code(parts: &[&[u8]]) -> &'static str {
    code(run_stream(parts.iter().copied()))
}

#[test]
fn a_truncated_init_is_refused() {
    let init = write_init(&params());
    assert_eq!(code(parse_init(&init[..init.len() - 10], &Limits::default())), "media-truncated");
}

#[test]
fn a_stream_ending_inside_a_box_is_truncated() {
    let (stream, _) = cmaf_stream(2, 3);
    assert_eq!(stream_code(&[&stream[..stream.len() - 5]]), "media-truncated");
    assert_eq!(stream_code(&[&stream[..3]]), "media-truncated");
}

#[test]
fn a_stream_ending_between_moof_and_mdat_is_truncated() {
    let (stream, _) = cmaf_stream(1, 3);
    let mdat = position(&stream, b"mdat", 0) - 4;
    assert_eq!(stream_code(&[&stream[..mdat]]), "media-truncated");
}

#[test]
fn a_size_smaller_than_its_header_is_refused() {
    assert_eq!(stream_code(&[b"\0\0\0\x04ftyp"]), "media-bad-box");
    let mut init = write_init(&params());
    let mvex = position(&init, b"mvex", 0);
    patch32(&mut init, mvex - 4, 7);
    assert_eq!(code(parse_init(&init, &Limits::default())), "media-bad-box");
}

#[test]
fn a_huge_declared_size_is_refused_from_the_header_alone() {
    let init = write_init(&params());
    let huge_moof = [&1u32.to_be_bytes()[..], b"moof", &(1u64 << 40).to_be_bytes()].concat();
    assert_eq!(stream_code(&[&init, &huge_moof]), "media-too-large");
    let huge_ftyp = [&(1u32 << 20).to_be_bytes()[..], b"ftyp"].concat();
    assert_eq!(stream_code(&[&huge_ftyp]), "media-too-large");
    let huge_free = [&u32::MAX.to_be_bytes()[..], b"free"].concat();
    assert_eq!(stream_code(&[&huge_free]), "media-too-large");
}

#[test]
fn a_fragment_over_the_byte_limit_is_refused() {
    let limits = Limits { max_fragment_bytes: 100, ..Limits::default() };
    let (frag, _) = fragment();
    assert_eq!(code(parse_fragment(&cmaf_init(), &frag, &limits)), "media-too-large");
    let mut parser = StreamParser::new(limits);
    parser.push(&write_init(&params())).expect("init");
    assert_eq!(code(parser.push(&frag[..16])), "media-too-large");
}

#[test]
fn an_init_over_the_byte_limit_is_refused() {
    let limits = Limits { max_init_bytes: 200, ..Limits::default() };
    assert_eq!(code(parse_init(&write_init(&params()), &limits)), "media-too-large");
}

#[test]
fn a_trun_data_offset_past_the_mdat_is_refused() {
    let (mut frag, trun) = fragment();
    let past = frag.len() as u32 + 100;
    patch32(&mut frag, trun + 12, past);
    assert_eq!(
        code(parse_fragment(&cmaf_init(), &frag, &Limits::default())),
        "media-bad-sample-table"
    );
}

#[test]
fn a_trun_data_offset_into_the_moof_is_refused() {
    let (mut frag, trun) = fragment();
    patch32(&mut frag, trun + 12, 8);
    assert_eq!(
        code(parse_fragment(&cmaf_init(), &frag, &Limits::default())),
        "media-bad-sample-table"
    );
    patch32(&mut frag, trun + 12, (-100i32) as u32);
    assert_eq!(
        code(parse_fragment(&cmaf_init(), &frag, &Limits::default())),
        "media-bad-sample-table"
    );
}

#[test]
fn sample_sizes_summing_beyond_the_mdat_are_refused() {
    let (mut frag, trun) = fragment();
    let last_size = trun + 16 + 2 * 16 + 4;
    let size = be32(&frag, last_size);
    patch32(&mut frag, last_size, size + 1);
    let e = parse_fragment(&cmaf_init(), &frag, &Limits::default()).expect_err("lying trun");
    assert_eq!(e.code(), "media-bad-sample-table");
    assert!(e.to_string().contains("trun"), "{e}");
}

#[test]
fn a_sample_count_larger_than_the_table_is_refused() {
    let (mut frag, trun) = fragment();
    patch32(&mut frag, trun + 8, 1000);
    assert_eq!(
        code(parse_fragment(&cmaf_init(), &frag, &Limits::default())),
        "media-bad-sample-table"
    );
}

#[test]
fn too_many_samples_in_a_fragment_are_refused() {
    let limits = Limits { max_samples_per_fragment: 2, ..Limits::default() };
    let (frag, _) = fragment();
    assert_eq!(code(parse_fragment(&cmaf_init(), &frag, &limits)), "media-too-large");
}

#[test]
fn a_fragment_lasting_too_long_is_refused() {
    let limits = Limits { max_fragment_duration_ms: 50, ..Limits::default() };
    let (frag, _) = fragment(); // 3 frames at 30 fps: 100 ms
    assert_eq!(code(parse_fragment(&cmaf_init(), &frag, &limits)), "media-too-large");
}

#[test]
fn a_fragment_for_an_unknown_track_is_refused() {
    let samples = gop(1, 2);
    let ws: Vec<_> = samples
        .iter()
        .map(|d| kankan_media::WriteSample {
            data: d,
            duration: FRAME,
            keyframe: true,
            cts_offset: 0,
        })
        .collect();
    let frag = kankan_media::write_fragment(1, 7, 0, &ws);
    assert_eq!(
        code(parse_fragment(&cmaf_init(), &frag, &Limits::default())),
        "media-unknown-track"
    );
    assert_eq!(stream_code(&[&write_init(&params()), &frag]), "media-unknown-track");
}

#[test]
fn two_trafs_for_one_track_are_refused() {
    let (frag, _) = fragment();
    let traf_at = position(&frag, b"traf", 0) - 4;
    let traf_len = be32(&frag, traf_at) as usize;
    let traf = frag[traf_at..traf_at + traf_len].to_vec();
    let moof_len = be32(&frag, 0) as usize;
    let mut doubled = frag[..moof_len].to_vec();
    doubled.extend(&traf);
    patch32(&mut doubled, 0, (moof_len + traf_len) as u32);
    doubled.extend(&frag[moof_len..]);
    // Both truns' data offsets move with the grown moof, so only the duplicate is wrong.
    let first = position(&doubled, b"trun", 0);
    let second = position(&doubled, b"trun", first + 4);
    for trun in [first, second] {
        let off = be32(&doubled, trun + 12);
        patch32(&mut doubled, trun + 12, off + traf_len as u32);
    }
    assert_eq!(code(parse_fragment(&cmaf_init(), &doubled, &Limits::default())), "media-bad-box");
}

#[test]
fn an_mdat_without_a_moof_is_refused() {
    let mdat = b(b"mdat", &[b"data"]);
    assert_eq!(stream_code(&[&write_init(&params()), &mdat]), "media-missing-box");
    assert_eq!(code(parse_fragment(&cmaf_init(), &mdat, &Limits::default())), "media-missing-box");
}

#[test]
fn a_moof_without_its_mdat_is_refused() {
    let (frag, _) = fragment();
    let moof = &frag[..be32(&frag, 0) as usize];
    assert_eq!(stream_code(&[&write_init(&params()), moof, moof]), "media-missing-box");
    assert_eq!(code(parse_fragment(&cmaf_init(), moof, &Limits::default())), "media-missing-box");
}

#[test]
fn a_fragment_before_any_init_is_refused() {
    let (frag, _) = fragment();
    assert_eq!(stream_code(&[&frag]), "media-no-init");
    let styp = b(b"styp", &[b"msdh", &[0; 4]]);
    assert_eq!(stream_code(&[&styp]), "media-no-init");
}

#[test]
fn a_moov_without_ftyp_is_refused() {
    let init = write_init(&params());
    let moov = &init[be32(&init, 0) as usize..];
    assert_eq!(stream_code(&[moov]), "media-missing-box");
    assert_eq!(code(parse_init(moov, &Limits::default())), "media-missing-box");
}

#[test]
fn a_timestamp_regression_is_refused() {
    let init = write_init(&params());
    let later = cmaf_fragment(1, 90_000, &gop(1, 3));
    let earlier = cmaf_fragment(2, 0, &gop(2, 3));
    assert_eq!(stream_code(&[&init, &later, &earlier]), "media-timestamp-regression");
}

#[test]
fn a_repeated_timestamp_is_refused() {
    let init = write_init(&params());
    let first = cmaf_fragment(1, 90_000, &gop(1, 3));
    let again = cmaf_fragment(2, 90_000, &gop(2, 3));
    assert_eq!(stream_code(&[&init, &first, &again]), "media-timestamp-regression");
}

#[test]
fn an_hevc_init_is_refused() {
    let hvcc = b(b"hvcC", &[&[1; 23]]);
    let hevc = av_init_with(&visual_entry(b"hev1", &hvcc), &mp4a_entry());
    let e = parse_init(&hevc, &Limits::default()).expect_err("hevc");
    assert_eq!(e.code(), "media-unsupported-codec");
    assert!(e.to_string().contains("hev1"), "{e}");
    assert_eq!(stream_code(&[&hevc]), "media-unsupported-codec");
}

#[test]
fn a_flac_audio_track_is_refused() {
    let flac = b(b"fLaC", &[&[0; 28]]);
    let init = av_init_with(&visual_entry(b"avc1", &avcc()), &flac);
    assert_eq!(code(parse_init(&init, &Limits::default())), "media-unsupported-codec");
}

#[test]
fn an_opus_entry_without_dops_is_refused() {
    let opus = b(b"Opus", &[&[0; 28]]);
    let init = av_init_with(&visual_entry(b"avc1", &avcc()), &opus);
    assert_eq!(code(parse_init(&init, &Limits::default())), "media-missing-box");
}

#[test]
fn a_track_of_another_handler_is_refused() {
    let mut init = av_init();
    rename(&mut init, b"soun", b"text");
    assert_eq!(code(parse_init(&init, &Limits::default())), "media-unsupported-codec");
}

#[test]
fn two_video_tracks_are_refused() {
    let entry = visual_entry(b"avc1", &avcc());
    let mut patched = av_init_with(&entry, &entry);
    rename(&mut patched, b"soun", b"vide");
    assert_eq!(code(parse_init(&patched, &Limits::default())), "media-unsupported-codec");
}

#[test]
fn an_avc1_without_avcc_is_refused() {
    let init = av_init_with(&visual_entry(b"avc1", &b(b"colr", &[b"nclx"])), &mp4a_entry());
    assert_eq!(code(parse_init(&init, &Limits::default())), "media-missing-box");
}

#[test]
fn an_init_without_mvex_is_refused() {
    let mut init = write_init(&params());
    rename(&mut init, b"mvex", b"mvez");
    let e = parse_init(&init, &Limits::default()).expect_err("no mvex");
    assert_eq!(e.code(), "media-missing-box");
    assert!(e.to_string().contains("mvex"), "{e}");
}

#[test]
fn a_moof_without_mfhd_is_refused() {
    let (mut frag, _) = fragment();
    rename(&mut frag, b"mfhd", b"mfhx");
    assert_eq!(code(parse_fragment(&cmaf_init(), &frag, &Limits::default())), "media-missing-box");
}

#[test]
fn a_traf_without_tfdt_is_refused() {
    let (mut frag, _) = fragment();
    rename(&mut frag, b"tfdt", b"tfdx");
    assert_eq!(code(parse_fragment(&cmaf_init(), &frag, &Limits::default())), "media-missing-box");
}

#[test]
fn a_size_zero_box_inside_a_moof_is_refused() {
    let (mut frag, _) = fragment();
    let mfhd = position(&frag, b"mfhd", 0);
    patch32(&mut frag, mfhd - 4, 0);
    assert_eq!(code(parse_fragment(&cmaf_init(), &frag, &Limits::default())), "media-bad-box");
}

#[test]
fn a_size_zero_box_in_a_stream_is_refused() {
    let (frag, _) = fragment();
    let mut zero = frag.clone();
    let mdat = position(&zero, b"mdat", 0);
    patch32(&mut zero, mdat - 4, 0);
    assert_eq!(stream_code(&[&write_init(&params()), &zero]), "media-bad-box");
}

#[test]
fn garbage_bytes_are_refused() {
    assert_eq!(stream_code(&[b"hello world, this is not an mp4 at all"]), "media-bad-box");
    let (stream, _) = cmaf_stream(1, 2);
    assert_eq!(stream_code(&[&stream, &[0xde; 64]]), "media-bad-box");
    assert!(parse_init(b"hello world, this is not an mp4", &Limits::default()).is_err());
}

#[test]
fn an_unknown_box_inside_a_fragment_group_is_refused() {
    let (frag, _, _) = av_fragment(1, Base::Moof, 0, 0);
    let mut bad = b(b"styp", &[b"msdh", &[0; 4]]);
    bad.extend(fb(b"uuid", 0, 0, &[&u32s(&[1, 2, 3, 4])]));
    bad.extend(frag);
    assert_eq!(stream_code(&[&av_init(), &bad]), "media-bad-box");
}
