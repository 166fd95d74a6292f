//! Writing CMAF fragmented MP4 from H.264 (the simulated camera's muxer), and the box
//! helpers the exporter shares.

/// What [`write_init`] needs to describe an H.264 track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VideoParams {
    /// Coded width in pixels.
    pub width: u16,
    /// Coded height in pixels.
    pub height: u16,
    /// Units per second of decode times (90 000 for video).
    pub timescale: u32,
    /// The sequence parameter set, a NAL unit without start code.
    pub sps: Vec<u8>,
    /// The picture parameter set, a NAL unit without start code.
    pub pps: Vec<u8>,
}

/// One sample (access unit) for [`write_fragment`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteSample<'a> {
    /// The access unit in AVCC form (4-byte length-prefixed NAL units, see
    /// [`crate::annexb_to_avcc`]).
    pub data: &'a [u8],
    /// Duration in the track's timescale.
    pub duration: u32,
    /// Whether this is an IDR (sync) sample.
    pub keyframe: bool,
    /// Composition time minus decode time (0 without B-frames).
    pub cts_offset: i32,
}

/// Sample flags of a sync sample: depends on no other sample.
pub(crate) const FLAGS_KEY: u32 = 0x0200_0000;
/// Sample flags of a non-sync sample: depends on others, `sample_is_non_sync_sample`.
pub(crate) const FLAGS_DELTA: u32 = 0x0101_0000;

/// The track id [`write_init`] gives the video track.
pub const VIDEO_TRACK_ID: u32 = 1;

/// The track id [`write_init_av`] gives the audio track.
pub const AUDIO_TRACK_ID: u32 = 2;

/// The codec of an audio track [`write_init_av`] describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AudioCodec {
    /// Opus (an `Opus` sample entry with a `dOps`, channel mapping family 0); `pre_skip` is
    /// the encoder's lookahead in 48 kHz samples.
    Opus { pre_skip: u16 },
    /// AAC (an `mp4a` sample entry with an `esds`); `config` is the AudioSpecificConfig.
    Aac { config: Vec<u8> },
}

/// What [`write_init_av`] needs to describe an audio track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioParams {
    /// Opus or AAC.
    pub codec: AudioCodec,
    /// 1 (mono) or 2.
    pub channels: u16,
    /// Sample rate in Hz, also the track's timescale (48 000 for Opus).
    pub sample_rate: u32,
}

/// One track's samples in a fragment written by [`write_fragment_tracks`].
#[derive(Debug, Clone, Copy)]
pub struct TrackWrite<'a> {
    /// The track id of the init segment.
    pub track_id: u32,
    /// Decode time of the first sample (`tfdt`), in the track's timescale.
    pub base_decode_time: u64,
    /// The samples, in decode order.
    pub samples: &'a [WriteSample<'a>],
}

/// Writes a CMAF init segment for one H.264 track (id [`VIDEO_TRACK_ID`]): `ftyp` (iso6,
/// cmfc, avc1) and a `moov` with empty sample tables and `mvex`/`trex`. The `avcC` takes
/// profile, compatibility and level from SPS bytes 1..4 and declares 4-byte NAL lengths.
pub fn write_init(video: &VideoParams) -> Vec<u8> {
    write_init_av(video, None)
}

/// [`write_init`] with an optional audio track (id [`AUDIO_TRACK_ID`]) after the video one.
pub fn write_init_av(video: &VideoParams, audio: Option<&AudioParams>) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    bx(&mut out, b"ftyp", |o| {
        o.extend_from_slice(b"iso6");
        put32(o, 0);
        for brand in [b"iso6", b"cmfc", b"avc1"] {
            o.extend_from_slice(brand);
        }
    });
    bx(&mut out, b"moov", |o| {
        let next = if audio.is_some() { AUDIO_TRACK_ID + 1 } else { VIDEO_TRACK_ID + 1 };
        write_mvhd(o, 1000, 0, next);
        bx(o, b"trak", |o| {
            write_tkhd(o, VIDEO_TRACK_ID, 0, Some((video.width, video.height)));
            bx(o, b"mdia", |o| {
                write_mdhd(o, video.timescale, 0);
                write_hdlr(o, true);
                bx(o, b"minf", |o| {
                    write_media_header(o, true);
                    write_dinf(o);
                    bx(o, b"stbl", |o| {
                        full(o, b"stsd", 0, 0, |o| {
                            put32(o, 1);
                            write_avc1(o, video);
                        });
                        write_empty_tables(o);
                    });
                });
            });
        });
        if let Some(audio) = audio {
            write_audio_trak(o, audio);
        }
        bx(o, b"mvex", |o| {
            let mut ids = vec![VIDEO_TRACK_ID];
            ids.extend(audio.map(|_| AUDIO_TRACK_ID));
            for id in ids {
                full(o, b"trex", 0, 0, |o| {
                    for v in [id, 1, 0, 0, 0] {
                        put32(o, v);
                    }
                });
            }
        });
    });
    out
}

fn write_empty_tables(o: &mut Vec<u8>) {
    for typ in [b"stts", b"stsc", b"stco"] {
        full(o, typ, 0, 0, |o| put32(o, 0));
    }
    full(o, b"stsz", 0, 0, |o| {
        put32(o, 0);
        put32(o, 0);
    });
}

fn write_audio_trak(o: &mut Vec<u8>, audio: &AudioParams) {
    bx(o, b"trak", |o| {
        write_tkhd(o, AUDIO_TRACK_ID, 0, None);
        bx(o, b"mdia", |o| {
            write_mdhd(o, audio.sample_rate, 0);
            write_hdlr(o, false);
            bx(o, b"minf", |o| {
                write_media_header(o, false);
                write_dinf(o);
                bx(o, b"stbl", |o| {
                    full(o, b"stsd", 0, 0, |o| {
                        put32(o, 1);
                        write_audio_entry(o, audio);
                    });
                    write_empty_tables(o);
                });
            });
        });
    });
}

/// An AudioSampleEntry (version 0) of `Opus` + `dOps` or `mp4a` + `esds`.
fn write_audio_entry(o: &mut Vec<u8>, audio: &AudioParams) {
    let typ = match audio.codec {
        AudioCodec::Opus { .. } => b"Opus",
        AudioCodec::Aac { .. } => b"mp4a",
    };
    bx(o, typ, |o| {
        o.extend_from_slice(&[0; 6]);
        put16(o, 1); // data_reference_index
        o.extend_from_slice(&[0; 8]); // version, revision, vendor
        put16(o, audio.channels);
        put16(o, 16); // samplesize
        put32(o, 0); // pre_defined, reserved
        put32(o, audio.sample_rate.min(0xffff) << 16);
        match &audio.codec {
            AudioCodec::Opus { pre_skip } => bx(o, b"dOps", |o| {
                o.push(0); // version
                o.push(u8::try_from(audio.channels).unwrap_or(2));
                put16(o, *pre_skip);
                put32(o, audio.sample_rate);
                put16(o, 0); // output gain
                o.push(0); // channel mapping family 0: mono or stereo
            }),
            AudioCodec::Aac { config } => full(o, b"esds", 0, 0, |o| {
                let cfg = &config[..config.len().min(100)];
                let dsi = 2 + cfg.len();
                let dcd = 2 + 13 + dsi;
                let es = 2 + 3 + dcd + 3;
                o.extend_from_slice(&[0x03, es as u8 - 2, 0, 0, 0]);
                o.extend_from_slice(&[0x04, (dcd - 2) as u8, 0x40, 0x15, 0, 0, 0]);
                put32(o, 0); // maxBitrate
                put32(o, 0); // avgBitrate
                o.extend_from_slice(&[0x05, cfg.len() as u8]);
                o.extend_from_slice(cfg);
                o.extend_from_slice(&[0x06, 1, 2]); // SLConfigDescriptor: predefined MP4
            }),
        }
    });
}

fn write_avc1(o: &mut Vec<u8>, video: &VideoParams) {
    bx(o, b"avc1", |o| {
        o.extend_from_slice(&[0; 6]);
        put16(o, 1); // data_reference_index
        o.extend_from_slice(&[0; 16]); // pre_defined, reserved
        put16(o, video.width);
        put16(o, video.height);
        put32(o, 0x0048_0000); // 72 dpi
        put32(o, 0x0048_0000);
        put32(o, 0);
        put16(o, 1); // frame_count
        o.extend_from_slice(&[0; 32]); // compressorname
        put16(o, 0x0018); // depth
        put16(o, 0xffff); // pre_defined = -1
        bx(o, b"avcC", |o| {
            let byte = |i: usize| video.sps.get(i).copied().unwrap_or(0);
            o.extend_from_slice(&[1, byte(1), byte(2), byte(3), 0xff, 0xe1]);
            put16(o, len16(&video.sps));
            o.extend_from_slice(&video.sps);
            o.push(1);
            put16(o, len16(&video.pps));
            o.extend_from_slice(&video.pps);
        });
    });
}

fn len16(b: &[u8]) -> u16 {
    u16::try_from(b.len()).unwrap_or(u16::MAX)
}

/// Writes one CMAF fragment of one track: `moof` (`mfhd`, `traf` with `tfhd`
/// default-base-is-moof, `tfdt` version 1 and a `trun` with data offset and per-sample
/// duration, size, flags and composition offset) then `mdat`.
pub fn write_fragment(
    sequence: u32,
    track_id: u32,
    base_decode_time: u64,
    samples: &[WriteSample<'_>],
) -> Vec<u8> {
    write_fragment_tracks(sequence, &[TrackWrite { track_id, base_decode_time, samples }])
}

/// [`write_fragment`] with a `traf` per track, in the order given, their data one after the
/// other in the one `mdat`.
pub fn write_fragment_tracks(sequence: u32, tracks: &[TrackWrite<'_>]) -> Vec<u8> {
    let samples = || tracks.iter().flat_map(|t| t.samples.iter());
    let payload: u64 = samples().map(|s| s.data.len() as u64).sum();
    let count = samples().count();
    let mut out = Vec::with_capacity(128 + 16 * count + payload as usize);
    let mut offsets_at = Vec::with_capacity(tracks.len());
    bx(&mut out, b"moof", |o| {
        full(o, b"mfhd", 0, 0, |o| put32(o, sequence));
        for t in tracks {
            bx(o, b"traf", |o| {
                full(o, b"tfhd", 0, 0x02_0000, |o| put32(o, t.track_id));
                full(o, b"tfdt", 1, 0, |o| put64(o, t.base_decode_time));
                full(o, b"trun", 1, 0x0f01, |o| {
                    put32(o, u32::try_from(t.samples.len()).unwrap_or(u32::MAX));
                    offsets_at.push(o.len());
                    put32(o, 0); // data_offset, patched below
                    for s in t.samples {
                        put32(o, s.duration);
                        put32(o, u32::try_from(s.data.len()).unwrap_or(u32::MAX));
                        put32(o, if s.keyframe { FLAGS_KEY } else { FLAGS_DELTA });
                        o.extend_from_slice(&s.cts_offset.to_be_bytes());
                    }
                });
            });
        }
    });
    let mdat_header = mdat_header(payload);
    let mut data_offset = out.len() + mdat_header.len();
    for (at, t) in offsets_at.into_iter().zip(tracks) {
        let value = u32::try_from(data_offset).unwrap_or(u32::MAX);
        if let Some(slot) = out.get_mut(at..at + 4) {
            slot.copy_from_slice(&value.to_be_bytes());
        }
        data_offset += t.samples.iter().map(|s| s.data.len()).sum::<usize>();
    }
    out.extend_from_slice(&mdat_header);
    for s in samples() {
        out.extend_from_slice(s.data);
    }
    out
}

/// An `mdat` header for `payload` bytes: 8 bytes, or 16 with a 64-bit size when needed.
pub(crate) fn mdat_header(payload: u64) -> Vec<u8> {
    match u32::try_from(payload + 8) {
        Ok(size) => [&size.to_be_bytes()[..], b"mdat"].concat(),
        Err(_) => [&1u32.to_be_bytes()[..], b"mdat", &(payload + 16).to_be_bytes()].concat(),
    }
}

pub(crate) fn put16(o: &mut Vec<u8>, v: u16) {
    o.extend_from_slice(&v.to_be_bytes());
}

pub(crate) fn put32(o: &mut Vec<u8>, v: u32) {
    o.extend_from_slice(&v.to_be_bytes());
}

pub(crate) fn put64(o: &mut Vec<u8>, v: u64) {
    o.extend_from_slice(&v.to_be_bytes());
}

/// Writes a box of type `typ` whose body `body` writes.
pub(crate) fn bx(o: &mut Vec<u8>, typ: &[u8; 4], body: impl FnOnce(&mut Vec<u8>)) {
    let start = o.len();
    put32(o, 0);
    o.extend_from_slice(typ);
    body(o);
    // Only mdat can outgrow 32 bits, and it is written with `mdat_header`.
    let size = u32::try_from(o.len() - start).unwrap_or(u32::MAX);
    if let Some(slot) = o.get_mut(start..start + 4) {
        slot.copy_from_slice(&size.to_be_bytes());
    }
}

/// Writes a full box (version and flags, then `body`).
pub(crate) fn full(
    o: &mut Vec<u8>,
    typ: &[u8; 4],
    version: u8,
    flags: u32,
    body: impl FnOnce(&mut Vec<u8>),
) {
    bx(o, typ, |o| {
        put32(o, (u32::from(version) << 24) | (flags & 0x00ff_ffff));
        body(o);
    });
}

const MATRIX: [u32; 9] = [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000];

/// Writes an `mvhd` (version 1 when the duration needs it).
pub(crate) fn write_mvhd(o: &mut Vec<u8>, timescale: u32, duration: u64, next_track_id: u32) {
    let v1 = duration > u64::from(u32::MAX);
    full(o, b"mvhd", u8::from(v1), 0, |o| {
        times(o, v1, timescale, duration);
        put32(o, 0x0001_0000); // rate 1.0
        put16(o, 0x0100); // volume 1.0
        o.extend_from_slice(&[0; 10]);
        MATRIX.iter().for_each(|&m| put32(o, m));
        o.extend_from_slice(&[0; 24]); // pre_defined
        put32(o, next_track_id);
    });
}

/// Creation and modification time (0), timescale and duration, in version 0 or 1 widths.
fn times(o: &mut Vec<u8>, v1: bool, timescale: u32, duration: u64) {
    if v1 {
        put64(o, 0);
        put64(o, 0);
        put32(o, timescale);
        put64(o, duration);
    } else {
        put32(o, 0);
        put32(o, 0);
        put32(o, timescale);
        put32(o, duration as u32); // fits: checked by the caller's v1 choice
    }
}

/// Writes a `tkhd` (enabled, in movie); `size` is `Some` for video, `None` for audio.
pub(crate) fn write_tkhd(o: &mut Vec<u8>, track_id: u32, duration: u64, size: Option<(u16, u16)>) {
    let v1 = duration > u64::from(u32::MAX);
    full(o, b"tkhd", u8::from(v1), 0x3, |o| {
        if v1 {
            put64(o, 0);
            put64(o, 0);
            put32(o, track_id);
            put32(o, 0);
            put64(o, duration);
        } else {
            put32(o, 0);
            put32(o, 0);
            put32(o, track_id);
            put32(o, 0);
            put32(o, duration as u32); // fits: v1 otherwise
        }
        o.extend_from_slice(&[0; 8]);
        put16(o, 0); // layer
        put16(o, u16::from(size.is_none())); // alternate_group: audio tracks form group 1
        put16(o, if size.is_none() { 0x0100 } else { 0 });
        put16(o, 0);
        MATRIX.iter().for_each(|&m| put32(o, m));
        let (w, h) = size.unwrap_or((0, 0));
        put32(o, u32::from(w) << 16);
        put32(o, u32::from(h) << 16);
    });
}

/// Writes an `mdhd` with language `und`.
pub(crate) fn write_mdhd(o: &mut Vec<u8>, timescale: u32, duration: u64) {
    let v1 = duration > u64::from(u32::MAX);
    full(o, b"mdhd", u8::from(v1), 0, |o| {
        times(o, v1, timescale, duration);
        put16(o, 0x55c4); // 'und'
        put16(o, 0);
    });
}

/// Writes an `hdlr` for a video (`vide`) or sound (`soun`) track.
pub(crate) fn write_hdlr(o: &mut Vec<u8>, video: bool) {
    full(o, b"hdlr", 0, 0, |o| {
        put32(o, 0);
        o.extend_from_slice(if video { b"vide" } else { b"soun" });
        o.extend_from_slice(&[0; 12]);
        o.extend_from_slice(if video { b"VideoHandler\0" } else { b"SoundHandler\0" });
    });
}

/// Writes a `vmhd` (video) or `smhd` (sound).
pub(crate) fn write_media_header(o: &mut Vec<u8>, video: bool) {
    if video {
        full(o, b"vmhd", 0, 1, |o| o.extend_from_slice(&[0; 8]));
    } else {
        full(o, b"smhd", 0, 0, |o| put32(o, 0));
    }
}

/// Writes a `dinf` whose one `url ` entry says "the data is in this file".
pub(crate) fn write_dinf(o: &mut Vec<u8>) {
    bx(o, b"dinf", |o| {
        full(o, b"dref", 0, 0, |o| {
            put32(o, 1);
            full(o, b"url ", 0, 1, |_| {});
        });
    });
}
