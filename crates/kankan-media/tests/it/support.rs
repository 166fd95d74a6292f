//! Test fixtures: synthetic H.264 samples, a hand-built box writer for streams shaped like
//! ffmpeg's, and a small box-tree reader for checking output.

use kankan_media::{VideoParams, WriteSample, annexb_to_avcc, write_fragment, write_init};

/// A High-profile level 3.1 SPS (codec string `avc1.64001f`); only bytes 1..4 matter here.
pub const SPS: &[u8] = &[0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01];
/// A PPS.
pub const PPS: &[u8] = &[0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0];
/// 30 fps at 90 kHz.
pub const FRAME: u32 = 3000;

pub fn params() -> VideoParams {
    VideoParams {
        width: 1280,
        height: 720,
        timescale: 90_000,
        sps: SPS.to_vec(),
        pps: PPS.to_vec(),
    }
}

/// An AVCC access unit whose bytes depend on `(tag, i)`, so misplaced data is caught.
pub fn access_unit(tag: u32, i: usize, key: bool) -> Vec<u8> {
    let len = 20 + (i * 7 + tag as usize * 13) % 50;
    let mut annexb = vec![0, 0, 0, 1, if key { 0x65 } else { 0x41 }];
    annexb.extend((0..len).map(|k| (tag as usize * 31 + i * 7 + k) as u8 | 1));
    annexb_to_avcc(&annexb)
}

/// The samples of one GOP-sized fragment: a keyframe then `n - 1` delta frames.
pub fn gop(tag: u32, n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| access_unit(tag, i, i == 0)).collect()
}

/// A CMAF fragment of `samples` (first one key) via the crate's writer.
pub fn cmaf_fragment(sequence: u32, base: u64, samples: &[Vec<u8>]) -> Vec<u8> {
    let ws: Vec<WriteSample<'_>> = samples
        .iter()
        .enumerate()
        .map(|(i, d)| WriteSample { data: d, duration: FRAME, keyframe: i == 0, cts_offset: 0 })
        .collect();
    write_fragment(sequence, 1, base, &ws)
}

/// A whole CMAF stream: init, then `frags` fragments of `n` samples, 1 s apart at 30 fps.
/// Returns the stream and each fragment's samples.
pub fn cmaf_stream(frags: u32, n: usize) -> (Vec<u8>, Vec<Vec<Vec<u8>>>) {
    let mut stream = write_init(&params());
    let mut all = Vec::new();
    for f in 0..frags {
        let samples = gop(f, n);
        stream.extend(cmaf_fragment(f + 1, u64::from(f) * n as u64 * u64::from(FRAME), &samples));
        all.push(samples);
    }
    (stream, all)
}

// ---- a hand-built box writer -------------------------------------------------------------

pub fn b(typ: &[u8; 4], parts: &[&[u8]]) -> Vec<u8> {
    let body: Vec<u8> = parts.concat();
    let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(typ);
    out.extend(body);
    out
}

pub fn fb(typ: &[u8; 4], version: u8, flags: u32, parts: &[&[u8]]) -> Vec<u8> {
    let vf = ((u32::from(version) << 24) | flags).to_be_bytes();
    let mut all: Vec<&[u8]> = vec![&vf];
    all.extend_from_slice(parts);
    b(typ, &all)
}

pub fn u16s(v: &[u16]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_be_bytes()).collect()
}

pub fn u32s(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_be_bytes()).collect()
}

const MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

fn tkhd(track_id: u32, w: u16, h: u16) -> Vec<u8> {
    let m = u32s(&MATRIX);
    let wh = u32s(&[u32::from(w) << 16, u32::from(h) << 16]);
    fb(b"tkhd", 0, 3, &[&u32s(&[0, 0, track_id, 0, 0, 0, 0, 0, 0]), &m, &wh])
}

fn trak(track_id: u32, handler: &[u8; 4], timescale: u32, entry: &[u8], w: u16, h: u16) -> Vec<u8> {
    let mdhd = fb(b"mdhd", 0, 0, &[&u32s(&[0, 0, timescale, 0]), &u16s(&[0x55c4, 0])]);
    let hdlr = fb(b"hdlr", 0, 0, &[&[0; 4], handler, &[0; 12], b"Handler\0"]);
    let mhd = if handler == b"vide" {
        fb(b"vmhd", 0, 1, &[&[0; 8]])
    } else {
        fb(b"smhd", 0, 0, &[&[0; 4]])
    };
    let dinf = b(b"dinf", &[&fb(b"dref", 0, 0, &[&u32s(&[1]), &fb(b"url ", 0, 1, &[])])]);
    let stbl = b(
        b"stbl",
        &[
            &fb(b"stsd", 0, 0, &[&u32s(&[1]), entry]),
            &fb(b"stts", 0, 0, &[&[0; 4]]),
            &fb(b"stsc", 0, 0, &[&[0; 4]]),
            &fb(b"stsz", 0, 0, &[&[0; 8]]),
            &fb(b"stco", 0, 0, &[&[0; 4]]),
        ],
    );
    let minf = b(b"minf", &[&mhd, &dinf, &stbl]);
    let edts = b(b"edts", &[&fb(b"elst", 0, 0, &[&u32s(&[1, 0, 0, 0x0001_0000])])]);
    b(b"trak", &[&tkhd(track_id, w, h), &edts, &b(b"mdia", &[&mdhd, &hdlr, &minf])])
}

/// A visual sample entry of type `typ` with the given config box (avcC, hvcC, ...).
pub fn visual_entry(typ: &[u8; 4], config: &[u8]) -> Vec<u8> {
    let fields = [
        &[0u8; 6][..],
        &u16s(&[1]),
        &[0; 16],
        &u16s(&[1280, 720]),
        &u32s(&[0x0048_0000, 0x0048_0000, 0]),
        &u16s(&[1]),
        &[0; 32],
        &u16s(&[0x18, 0xffff]),
    ]
    .concat();
    let pasp = b(b"pasp", &[&u32s(&[1, 1])]);
    b(typ, &[&fields, config, &pasp])
}

pub fn avcc() -> Vec<u8> {
    let len = |x: &[u8]| (x.len() as u16).to_be_bytes();
    b(b"avcC", &[&[1, 0x64, 0, 0x1f, 0xff, 0xe1], &len(SPS), SPS, &[1], &len(PPS), PPS])
}

/// An AAC-LC (`mp4a.40.2`) stereo 48 kHz sample entry.
pub fn mp4a_entry() -> Vec<u8> {
    let esds = fb(
        b"esds",
        0,
        0,
        &[
            &[0x03, 0x19, 0x00, 0x02, 0x00, 0x04, 0x11, 0x40, 0x15],
            &[0; 11],
            &[0x05, 0x02, 0x11, 0x90, 0x06, 0x01, 0x02],
        ],
    );
    let fields =
        [&[0u8; 6][..], &u16s(&[1]), &[0; 8], &u16s(&[2, 16, 0, 0]), &u32s(&[48_000 << 16])]
            .concat();
    b(b"mp4a", &[&fields, &esds])
}

/// Video timescale, audio timescale and the audio trex default duration of [`av_init`].
pub const AV_VIDEO_TS: u32 = 90_000;
pub const AV_AUDIO_TS: u32 = 48_000;
pub const AAC_FRAME: u32 = 1024;

/// An init segment shaped like ffmpeg's (`iso5` brand, edts, udta/meta, mehd, trex
/// defaults) with H.264 track 1 and AAC track 2, or with `video_entry` instead of avc1.
pub fn av_init_with(video_entry: &[u8], audio_entry: &[u8]) -> Vec<u8> {
    let ftyp = b(b"ftyp", &[b"iso5", &u32s(&[512]), b"iso5iso6mp41"]);
    let mvhd = fb(
        b"mvhd",
        0,
        0,
        &[
            &u32s(&[0, 0, 1000, 0, 0x0001_0000]),
            &u16s(&[0x100]),
            &[0; 10],
            &u32s(&MATRIX),
            &[0; 24],
            &u32s(&[3]),
        ],
    );
    let mvex = b(
        b"mvex",
        &[
            &fb(b"mehd", 0, 0, &[&u32s(&[0])]),
            &fb(b"trex", 0, 0, &[&u32s(&[1, 1, 0, 0, 0])]),
            &fb(b"trex", 0, 0, &[&u32s(&[2, 1, AAC_FRAME, 0, 0x0200_0000])]),
        ],
    );
    let udta = b(b"udta", &[&fb(b"meta", 0, 0, &[&b(b"ilst", &[&b(b"\xa9too", &[b"Lavf"])])])]);
    let moov = b(
        b"moov",
        &[
            &mvhd,
            &trak(1, b"vide", AV_VIDEO_TS, video_entry, 1280, 720),
            &trak(2, b"soun", AV_AUDIO_TS, audio_entry, 0, 0),
            &mvex,
            &udta,
        ],
    );
    [ftyp, moov].concat()
}

pub fn av_init() -> Vec<u8> {
    av_init_with(&visual_entry(b"avc1", &avcc()), &mp4a_entry())
}

/// How an [`av_fragment`] locates its data.
#[derive(Clone, Copy)]
pub enum Base {
    /// `tfhd` default-base-is-moof.
    Moof,
    /// `tfhd` base-data-offset holding a stream position; the value is the stream position
    /// of the fragment's first byte (what ffmpeg writes without default_base_moof).
    Absolute(u64),
}

/// One A/V fragment shaped like ffmpeg's: `styp`, `prft`, `free`, then a moof whose video
/// traf has two truns (data interleaved with the audio run: video 0..2, audio, video 2..),
/// video flags from tfhd defaults with first-sample-flags, audio durations and flags from
/// trex. Returns the bytes and the video and audio samples.
pub fn av_fragment(
    seq: u32,
    base: Base,
    video_dts: u64,
    audio_dts: u64,
) -> (Vec<u8>, Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let video = gop(seq, 5);
    let audio: Vec<Vec<u8>> = (0..4).map(|i| vec![0x21 ^ seq as u8; 10 + i]).collect();
    let prefix = [
        b(b"styp", &[b"msdh", &u32s(&[0]), b"msdhmsix"]),
        fb(b"prft", 1, 0, &[&u32s(&[1, 0, 0, 0, 0])]),
        b(b"free", &[b"pad"]),
    ]
    .concat();
    let build = |offsets: [i32; 3]| {
        let (bdo_flag, bdo) = match base {
            Base::Moof => (0x02_0000, Vec::new()),
            Base::Absolute(at) => (0x01, (at + prefix.len() as u64).to_be_bytes().to_vec()),
        };
        let vtfhd = fb(b"tfhd", 0, bdo_flag | 0x20, &[&u32s(&[1]), &bdo, &u32s(&[0x0101_0000])]);
        let sizes = |s: &[Vec<u8>]| -> Vec<u8> {
            s.iter().flat_map(|d| u32s(&[FRAME, d.len() as u32])).collect()
        };
        let trun1 = fb(
            b"trun",
            0,
            0x301 | 0x004,
            &[&u32s(&[2]), &offsets[0].to_be_bytes(), &u32s(&[0x0200_0000]), &sizes(&video[..2])],
        );
        let trun2 =
            fb(b"trun", 0, 0x301, &[&u32s(&[3]), &offsets[2].to_be_bytes(), &sizes(&video[2..])]);
        let vtraf =
            b(b"traf", &[&vtfhd, &fb(b"tfdt", 1, 0, &[&video_dts.to_be_bytes()]), &trun1, &trun2]);
        let atfhd = fb(b"tfhd", 0, bdo_flag, &[&u32s(&[2]), &bdo]);
        let asizes: Vec<u8> = audio.iter().flat_map(|d| u32s(&[d.len() as u32])).collect();
        let atrun = fb(b"trun", 0, 0x201, &[&u32s(&[4]), &offsets[1].to_be_bytes(), &asizes]);
        let atraf =
            b(b"traf", &[&atfhd, &fb(b"tfdt", 0, 0, &[&u32s(&[audio_dts as u32])]), &atrun]);
        b(b"moof", &[&fb(b"mfhd", 0, 0, &[&u32s(&[seq])]), &vtraf, &atraf])
    };
    let moof_len = build([0; 3]).len();
    let v01: usize = video[..2].iter().map(Vec::len).sum();
    let a: usize = audio.iter().map(Vec::len).sum();
    let data = moof_len + 8;
    let moof = build([data as i32, (data + v01) as i32, (data + v01 + a) as i32]);
    let payload: Vec<u8> = [&video[..2], &audio[..], &video[2..]].concat().concat();
    let bytes = [prefix, moof, b(b"mdat", &[&payload])].concat();
    (bytes, video, audio)
}

// ---- a box-tree reader for checking output ------------------------------------------------

/// A box found by [`boxes`]: its type and its body range.
#[derive(Debug, Clone, Copy)]
pub struct Found {
    pub typ: [u8; 4],
    pub body: (usize, usize),
}

/// The boxes filling `data[range]` (32-bit and 64-bit sizes), offsets within `data`.
pub fn boxes(data: &[u8], range: (usize, usize)) -> Vec<Found> {
    let mut out = Vec::new();
    let mut pos = range.0;
    while pos < range.1 {
        let size32 = u32::from_be_bytes(data[pos..pos + 4].try_into().expect("4 bytes"));
        let typ: [u8; 4] = data[pos + 4..pos + 8].try_into().expect("4 bytes");
        let (header, size) = if size32 == 1 {
            (16, u64::from_be_bytes(data[pos + 8..pos + 16].try_into().expect("8 bytes")) as usize)
        } else {
            (8, size32 as usize)
        };
        assert!(size >= header && pos + size <= range.1, "bad box at {pos}");
        out.push(Found { typ, body: (pos + header, pos + size) });
        pos += size;
    }
    out
}

/// The bodies of all boxes at `path` (e.g. `["moov", "trak"]`) below `data`'s top level.
pub fn find_all(data: &[u8], path: &[&[u8; 4]]) -> Vec<Found> {
    let mut level = boxes(data, (0, data.len()));
    for (depth, typ) in path.iter().enumerate() {
        let hits: Vec<Found> = level.into_iter().filter(|f| &&f.typ == typ).collect();
        if depth + 1 == path.len() {
            return hits;
        }
        level = hits.iter().flat_map(|f| boxes(data, f.body)).collect();
    }
    Vec::new()
}

/// The body of the one box at `path`.
pub fn body<'a>(data: &'a [u8], path: &[&[u8; 4]]) -> &'a [u8] {
    let hits = find_all(data, path);
    assert_eq!(hits.len(), 1, "expected one box at {path:?}");
    &data[hits[0].body.0..hits[0].body.1]
}

/// The big-endian u32 at `at`.
pub fn be32(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(data[at..at + 4].try_into().expect("4 bytes"))
}

/// Offset of the first occurrence of `needle` in `hay` at or after `from`.
pub fn position(hay: &[u8], needle: &[u8], from: usize) -> usize {
    from + hay[from..].windows(needle.len()).position(|w| w == needle).expect("present")
}
