//! Progressive MP4 export: the tables, read back from the output, describe the sample bytes.

use kankan_media::{
    Fragment, InitSegment, Limits, export_mp4, export_plan, parse_fragment, parse_init,
};

use crate::support::{
    Base, FRAME, av_fragment, av_init, be32, body, boxes, cmaf_fragment, find_all, gop,
};
use crate::{cmaf_init, code};

/// One track's tables, read from an exported file.
struct Tables {
    sizes: Vec<u32>,
    stss: Option<Vec<u32>>,
    stts: Vec<(u32, u32)>,
    stsc: Vec<(u32, u32, u32)>,
    offsets: Vec<u64>,
    stsd: Vec<u8>,
    handler: [u8; 4],
    mdhd_duration: u32,
}

fn tables(mp4: &[u8], trak: usize) -> Tables {
    let trak = find_all(mp4, &[b"moov", b"trak"])[trak];
    let sub = &mp4[..trak.body.1];
    let kid = |path: &[&[u8; 4]]| -> Vec<u8> {
        let mut range = trak.body;
        for typ in path {
            let level = boxes(sub, range);
            range = level.iter().find(|f| &&f.typ == typ).expect("box present").body;
        }
        sub[range.0..range.1].to_vec()
    };
    let has = |typ: &[u8; 4]| {
        let stbl = [b"mdia", b"minf", b"stbl"];
        let mut level = boxes(sub, trak.body);
        for t in stbl {
            let hit = *level.iter().find(|f| &f.typ == t).expect("box present");
            level = boxes(sub, hit.body);
        }
        level.iter().any(|f| &f.typ == typ)
    };
    let stbl = |typ: &[u8; 4]| kid(&[b"mdia", b"minf", b"stbl", typ]);
    let list = |b: &[u8], skip: usize, width: usize| -> Vec<u32> {
        let n = be32(b, skip - 4) as usize;
        (0..n * width).map(|i| be32(b, skip + 4 * i)).collect()
    };
    let stsz = stbl(b"stsz");
    assert_eq!(be32(&stsz, 4), 0, "per-sample sizes");
    let stts = list(&stbl(b"stts"), 8, 2);
    let stsc = list(&stbl(b"stsc"), 8, 3);
    let offsets = if has(b"co64") {
        let co = stbl(b"co64");
        (0..be32(&co, 4) as usize)
            .map(|i| u64::from_be_bytes(co[8 + 8 * i..16 + 8 * i].try_into().expect("8")))
            .collect()
    } else {
        list(&stbl(b"stco"), 8, 1).into_iter().map(u64::from).collect()
    };
    let stsd_body = stbl(b"stsd");
    let stsd = [&(stsd_body.len() as u32 + 8).to_be_bytes()[..], b"stsd", &stsd_body].concat();
    let hdlr = kid(&[b"mdia", b"hdlr"]);
    Tables {
        sizes: list(&stsz, 12, 1),
        stss: has(b"stss").then(|| list(&stbl(b"stss"), 8, 1)),
        stts: stts.chunks(2).map(|c| (c[0], c[1])).collect(),
        stsc: stsc.chunks(3).map(|c| (c[0], c[1], c[2])).collect(),
        offsets,
        stsd,
        handler: hdlr[8..12].try_into().expect("4"),
        mdhd_duration: be32(&kid(&[b"mdia", b"mdhd"]), 16),
    }
}

/// The sample bytes the tables of `t` point at, in order.
fn samples_via_tables(mp4: &[u8], t: &Tables) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut sample = 0;
    for (chunk, &offset) in t.offsets.iter().enumerate() {
        let chunk_no = chunk as u32 + 1;
        let per_chunk = t.stsc.iter().rev().find(|e| e.0 <= chunk_no).expect("stsc entry").1;
        let mut at = offset as usize;
        for _ in 0..per_chunk {
            let size = t.sizes[sample] as usize;
            out.push(mp4[at..at + size].to_vec());
            at += size;
            sample += 1;
        }
    }
    out
}

fn parse_all(init: &InitSegment, frags: &[Vec<u8>]) -> Vec<Fragment> {
    frags.iter().map(|f| parse_fragment(init, f, &Limits::default()).expect("valid")).collect()
}

#[test]
fn export_of_three_fragments_has_tables_matching_the_samples() {
    let init = cmaf_init();
    let gops: Vec<Vec<Vec<u8>>> = (0..3).map(|i| gop(i, 5)).collect();
    let frags: Vec<Vec<u8>> = (0..3u32)
        .map(|i| cmaf_fragment(i + 1, 1_000_000 + u64::from(i * 5 * FRAME), &gops[i as usize]))
        .collect();
    let frags = parse_all(&init, &frags);
    let mp4 = export_mp4(&init, &frags).expect("exports");

    let top: Vec<[u8; 4]> = boxes(&mp4, (0, mp4.len())).iter().map(|f| f.typ).collect();
    assert_eq!(top, [*b"ftyp", *b"moov", *b"mdat"], "faststart: moov before mdat");
    let t = tables(&mp4, 0);
    let all: Vec<Vec<u8>> = gops.concat();
    assert_eq!(t.sizes.len(), 15);
    assert_eq!(t.sizes, all.iter().map(|s| s.len() as u32).collect::<Vec<_>>());
    assert_eq!(t.stss, Some(vec![1, 6, 11]));
    assert_eq!(t.stts, [(15, FRAME)]);
    assert_eq!(t.stsc, [(1, 5, 1)]);
    assert_eq!(t.offsets.len(), 3);
    assert_eq!(samples_via_tables(&mp4, &t), all);
    assert_eq!(t.stsd, init.video().expect("video").stsd);
    assert_eq!(&t.handler, b"vide");
    assert_eq!(t.mdhd_duration, 15 * FRAME);
    // mvhd duration in ms (timescale 1000): 15 frames at 30 fps.
    assert_eq!(be32(body(&mp4, &[b"moov", b"mvhd"]), 16), 500);
}

#[test]
fn export_rebases_time_to_zero_without_an_edit_list() {
    let init = cmaf_init();
    let frags = parse_all(&init, &[cmaf_fragment(1, 9_000_000, &gop(1, 3))]);
    let mp4 = export_mp4(&init, &frags).expect("exports");
    assert!(find_all(&mp4, &[b"moov", b"trak", b"edts"]).is_empty());
    assert_eq!(be32(body(&mp4, &[b"moov", b"mvhd"]), 16), 100);
}

#[test]
fn the_plan_streams_the_same_file() {
    let init = cmaf_init();
    let frags =
        parse_all(&init, &[cmaf_fragment(1, 0, &gop(1, 4)), cmaf_fragment(2, 12_000, &gop(2, 4))]);
    let plan = export_plan(&init, &frags).expect("plans");
    let mp4 = export_mp4(&init, &frags).expect("exports");
    assert_eq!(plan.total_len, mp4.len() as u64);
    assert!(mp4.starts_with(&plan.header));
    // Each fragment's samples are contiguous in its mdat: one range per fragment.
    assert_eq!(plan.ranges.len(), 2);
}

#[test]
fn a_gap_between_fragments_lengthens_the_sample_before_it() {
    let init = cmaf_init();
    let frags =
        parse_all(&init, &[cmaf_fragment(1, 0, &gop(1, 5)), cmaf_fragment(2, 180_000, &gop(2, 5))]);
    let t = tables(&export_mp4(&init, &frags).expect("exports"), 0);
    assert_eq!(t.stts, [(4, FRAME), (1, 180_000 - 4 * FRAME), (5, FRAME)]);
}

#[test]
fn export_of_an_av_recording_keeps_both_tracks_and_their_sync() {
    let init = parse_init(&av_init(), &Limits::default()).expect("init");
    // Audio starts 100 ms after video.
    let (f1, v1, a1) = av_fragment(1, Base::Moof, 0, 4800);
    let (f2, v2, a2) = av_fragment(2, Base::Moof, 15_000, 4800 + 4 * 1024);
    let frags = parse_all(&init, &[f1, f2]);
    let mp4 = export_mp4(&init, &frags).expect("exports");
    let video = tables(&mp4, 0);
    let audio = tables(&mp4, 1);
    assert_eq!(&video.handler, b"vide");
    assert_eq!(&audio.handler, b"soun");
    assert_eq!(samples_via_tables(&mp4, &video), [v1, v2].concat());
    assert_eq!(samples_via_tables(&mp4, &audio), [a1, a2].concat());
    assert_eq!(video.stss, Some(vec![1, 6]));
    assert_eq!(audio.stss, None, "every audio sample is a sync sample");
    assert_eq!(audio.stsd, init.audio().expect("audio").stsd);
    // The audio track's edit list delays it by 100 ms (an empty edit).
    let elst = find_all(&mp4, &[b"moov", b"trak", b"edts", b"elst"]);
    assert_eq!(elst.len(), 1);
    let e = &mp4[elst[0].body.0..elst[0].body.1];
    assert_eq!(be32(e, 4), 2);
    assert_eq!(u64::from_be_bytes(e[8..16].try_into().expect("8")), 100);
    assert_eq!(u64::from_be_bytes(e[16..24].try_into().expect("8")), u64::MAX);
}

#[test]
fn export_refuses_fragments_of_another_init() {
    let av = parse_init(&av_init(), &Limits::default()).expect("init");
    let (f, _, _) = av_fragment(1, Base::Moof, 0, 0);
    let frags = parse_all(&av, &[f]);
    assert_eq!(code(export_mp4(&cmaf_init(), &frags)), "media-unknown-track");
}

#[test]
fn export_of_no_samples_is_refused() {
    assert_eq!(code(export_mp4(&cmaf_init(), &[])), "media-missing-box");
}
