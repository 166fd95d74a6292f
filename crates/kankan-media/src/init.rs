//! Init segments (`ftyp` + `moov`): the tracks, their codecs and their `trex` defaults.

use bytes::Bytes;

use crate::bmff::{BoxRef, Boxes, Reader, children, find, fourcc_str, require};
use crate::{Limits, MediaError};

/// What a track carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// H.264 video.
    Video,
    /// AAC, Opus or G.711 audio, carried as is.
    Audio,
}

/// One track of an init segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackInfo {
    /// The track id fragments refer to.
    pub track_id: u32,
    /// Video or audio.
    pub kind: TrackKind,
    /// Units per second of the track's decode times and durations (`mdhd`).
    pub timescale: u32,
    /// RFC 6381 codec string, e.g. `avc1.64001f`, `mp4a.40.2`, `opus`, `ulaw`.
    pub codec: String,
    /// Coded width in pixels (video; 0 for audio).
    pub width: u16,
    /// Coded height in pixels (video; 0 for audio).
    pub height: u16,
    /// Channel count (audio; 0 for video).
    pub channels: u16,
    /// Sample rate in Hz as the sample entry states it (audio; 0 for video).
    pub sample_rate: u32,
    /// `trex` default sample duration, in `timescale` units.
    pub default_sample_duration: u32,
    /// `trex` default sample size, in bytes.
    pub default_sample_size: u32,
    /// `trex` default sample flags.
    pub default_sample_flags: u32,
    /// The track's whole `stsd` box as received (a slice of [`InitSegment::bytes`]), copied
    /// into exported MP4 files.
    pub stsd: Bytes,
}

/// A parsed init segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitSegment {
    /// The init segment exactly as received, re-usable as an HLS `EXT-X-MAP`.
    pub bytes: Bytes,
    /// Its tracks, in `moov` order: exactly one video track and at most one audio track.
    pub tracks: Vec<TrackInfo>,
}

impl InitSegment {
    /// The video track.
    pub fn video(&self) -> Option<&TrackInfo> {
        self.tracks.iter().find(|t| t.kind == TrackKind::Video)
    }

    /// The audio track, if any.
    pub fn audio(&self) -> Option<&TrackInfo> {
        self.tracks.iter().find(|t| t.kind == TrackKind::Audio)
    }

    /// The track with id `track_id`.
    pub fn track(&self, track_id: u32) -> Option<&TrackInfo> {
        self.tracks.iter().find(|t| t.track_id == track_id)
    }

    /// The MIME type with codecs, e.g. `video/mp4; codecs="avc1.64001f,mp4a.40.2"`.
    pub fn mime_codecs(&self) -> String {
        let mut tracks: Vec<&TrackInfo> = self.tracks.iter().collect();
        tracks.sort_by_key(|t| t.kind != TrackKind::Video);
        let codecs: Vec<&str> = tracks.iter().map(|t| t.codec.as_str()).collect();
        let top = if self.video().is_some() { "video" } else { "audio" };
        format!("{top}/mp4; codecs=\"{}\"", codecs.join(","))
    }
}

/// Parses and validates an init segment (`ftyp` + `moov`, optionally with `free`/`skip`).
pub fn parse_init(bytes: &[u8], limits: &Limits) -> Result<InitSegment, MediaError> {
    if bytes.len() > limits.max_init_bytes {
        return Err(MediaError::too_large(
            "init segment, in bytes,",
            bytes.len() as u64,
            limits.max_init_bytes as u64,
        ));
    }
    parse_init_bytes(Bytes::copy_from_slice(bytes))
}

/// [`parse_init`] without the copy; the caller has checked the size.
pub(crate) fn parse_init_bytes(bytes: Bytes) -> Result<InitSegment, MediaError> {
    let mut ftyp = false;
    let mut moov = None;
    for b in Boxes::new(&bytes, "top level") {
        let b = b?;
        match &b.typ {
            b"ftyp" if ftyp => return Err(MediaError::bad_box("ftyp", "a second ftyp")),
            b"ftyp" => {
                if b.body.len() < 8 {
                    return Err(MediaError::bad_box("ftyp", "shorter than its two brands"));
                }
                ftyp = true;
            }
            b"moov" if !ftyp => return Err(MediaError::missing("ftyp", "before moov")),
            b"moov" if moov.is_some() => {
                return Err(MediaError::bad_box("moov", "a second moov"));
            }
            b"moov" => moov = Some(b),
            b"free" | b"skip" => {}
            _ => {
                return Err(MediaError::bad_box(
                    b.name(),
                    "unexpected top-level box in an init segment",
                ));
            }
        }
    }
    if !ftyp {
        return Err(MediaError::missing("ftyp", "at the start of the init segment"));
    }
    let moov = moov.ok_or_else(|| MediaError::missing("moov", "after ftyp"))?;
    let tracks = parse_moov(&bytes, moov)?;
    Ok(InitSegment { bytes, tracks })
}

fn parse_moov(bytes: &Bytes, moov: BoxRef<'_>) -> Result<Vec<TrackInfo>, MediaError> {
    let kids = children(moov.body, "moov")?;
    let mvex = require(&kids, b"mvex", "moov (an init segment must announce fragments)")?;
    let trexes = parse_mvex(mvex.body)?;
    let mut tracks: Vec<TrackInfo> = Vec::new();
    for trak in kids.iter().filter(|b| &b.typ == b"trak") {
        let mut t = parse_trak(bytes, trak.body)?;
        if tracks.iter().any(|o| o.track_id == t.track_id) {
            return Err(MediaError::bad_box("tkhd", format!("track id {} repeats", t.track_id)));
        }
        if tracks.iter().any(|o| o.kind == t.kind) {
            let what = match t.kind {
                TrackKind::Video => "a second video track",
                TrackKind::Audio => "a second audio track",
            };
            return Err(MediaError::UnsupportedCodec { track_id: t.track_id, what: what.into() });
        }
        if let Some(trex) = trexes.iter().find(|x| x.track_id == t.track_id) {
            t.default_sample_duration = trex.duration;
            t.default_sample_size = trex.size;
            t.default_sample_flags = trex.flags;
        }
        tracks.push(t);
    }
    if !tracks.iter().any(|t| t.kind == TrackKind::Video) {
        return Err(MediaError::missing("trak", "with a video (vide) handler in moov"));
    }
    Ok(tracks)
}

struct Trex {
    track_id: u32,
    duration: u32,
    size: u32,
    flags: u32,
}

fn parse_mvex(body: &[u8]) -> Result<Vec<Trex>, MediaError> {
    let mut out = Vec::new();
    for b in Boxes::new(body, "mvex") {
        let b = b?;
        if &b.typ != b"trex" {
            continue;
        }
        let mut r = Reader::new(b.body, "trex");
        r.full_box()?;
        let track_id = r.u32("track_ID")?;
        r.u32("default_sample_description_index")?;
        let duration = r.u32("default_sample_duration")?;
        let size = r.u32("default_sample_size")?;
        let flags = r.u32("default_sample_flags")?;
        out.push(Trex { track_id, duration, size, flags });
    }
    Ok(out)
}

fn parse_trak(bytes: &Bytes, body: &[u8]) -> Result<TrackInfo, MediaError> {
    let kids = children(body, "trak")?;
    let (track_id, tk_width, tk_height) = parse_tkhd(require(&kids, b"tkhd", "trak")?.body)?;
    let mdia = children(require(&kids, b"mdia", "trak")?.body, "mdia")?;
    let timescale = parse_mdhd(require(&mdia, b"mdhd", "mdia")?.body)?;
    let handler = parse_hdlr(require(&mdia, b"hdlr", "mdia")?.body)?;
    let minf = children(require(&mdia, b"minf", "mdia")?.body, "minf")?;
    let stbl = children(require(&minf, b"stbl", "minf")?.body, "stbl")?;
    let stsd = require(&stbl, b"stsd", "stbl")?;
    let mut r = Reader::new(stsd.body, "stsd");
    r.full_box()?;
    if r.u32("entry_count")? == 0 {
        return Err(MediaError::missing("sample entry", "in stsd"));
    }
    let entries = stsd.body.get(r.pos()..).unwrap_or_default();
    let entry = Boxes::new(entries, "stsd")
        .next()
        .ok_or_else(|| MediaError::missing("sample entry", "in stsd"))??;
    let mut t = TrackInfo {
        track_id,
        kind: TrackKind::Video,
        timescale,
        codec: String::new(),
        width: 0,
        height: 0,
        channels: 0,
        sample_rate: 0,
        default_sample_duration: 0,
        default_sample_size: 0,
        default_sample_flags: 0,
        stsd: bytes.slice_ref(stsd.raw),
    };
    match &handler {
        b"vide" => {
            let (codec, w, h) = parse_visual_entry(track_id, entry)?;
            t.codec = codec;
            t.width = if w == 0 { tk_width } else { w };
            t.height = if h == 0 { tk_height } else { h };
        }
        b"soun" => {
            t.kind = TrackKind::Audio;
            let (codec, channels, rate) = parse_audio_entry(track_id, entry)?;
            t.codec = codec;
            t.channels = channels;
            t.sample_rate = rate;
        }
        other => {
            return Err(MediaError::UnsupportedCodec {
                track_id,
                what: format!(
                    "handler '{}' (only 'vide' and 'soun' tracks are accepted)",
                    fourcc_str(*other)
                ),
            });
        }
    }
    Ok(t)
}

/// The track id and the presentation size (integer part of the 16.16 values).
fn parse_tkhd(body: &[u8]) -> Result<(u32, u16, u16), MediaError> {
    let mut r = Reader::new(body, "tkhd");
    let (version, _) = r.full_box()?;
    let times = if version == 1 { 16 } else { 8 };
    r.skip(times, "creation/modification_time")?;
    let track_id = r.u32("track_ID")?;
    if track_id == 0 {
        return Err(MediaError::bad_box("tkhd", "track_ID is 0"));
    }
    r.skip(4 + if version == 1 { 8 } else { 4 }, "duration")?;
    r.skip(8 + 2 + 2 + 2 + 2 + 36, "layer/volume/matrix")?;
    let width = (r.u32("width")? >> 16) as u16;
    let height = (r.u32("height")? >> 16) as u16;
    Ok((track_id, width, height))
}

fn parse_mdhd(body: &[u8]) -> Result<u32, MediaError> {
    let mut r = Reader::new(body, "mdhd");
    let (version, _) = r.full_box()?;
    r.skip(if version == 1 { 16 } else { 8 }, "creation/modification_time")?;
    let timescale = r.u32("timescale")?;
    if timescale == 0 {
        return Err(MediaError::bad_box("mdhd", "timescale is 0"));
    }
    Ok(timescale)
}

fn parse_hdlr(body: &[u8]) -> Result<[u8; 4], MediaError> {
    let mut r = Reader::new(body, "hdlr");
    r.full_box()?;
    r.u32("pre_defined")?;
    Ok(r.u32("handler_type")?.to_be_bytes())
}

/// Length of a VisualSampleEntry before its child boxes.
const VISUAL_ENTRY_FIELDS: usize = 78;

fn parse_visual_entry(track_id: u32, entry: BoxRef<'_>) -> Result<(String, u16, u16), MediaError> {
    let typ = entry.name();
    if !matches!(&entry.typ, b"avc1" | b"avc3") {
        return Err(MediaError::UnsupportedCodec {
            track_id,
            what: format!("video codec '{typ}' (only H.264 avc1/avc3 is accepted)"),
        });
    }
    let mut r = Reader::new(entry.body, "avc1");
    r.skip(24, "reserved/data_reference_index/pre_defined")?;
    let width = r.u16("width")?;
    let height = r.u16("height")?;
    let kids_bytes = entry.body.get(VISUAL_ENTRY_FIELDS..).ok_or_else(|| {
        MediaError::bad_box(typ.clone(), "shorter than a visual sample entry (78 bytes)")
    })?;
    let kids = children(kids_bytes, "avc1")?;
    let avcc = require(&kids, b"avcC", &format!("{typ} sample entry"))?;
    let mut r = Reader::new(avcc.body, "avcC");
    if r.u8("configurationVersion")? != 1 {
        return Err(MediaError::bad_box("avcC", "configurationVersion is not 1"));
    }
    let profile = r.u8("AVCProfileIndication")?;
    let compat = r.u8("profile_compatibility")?;
    let level = r.u8("AVCLevelIndication")?;
    Ok((format!("{typ}.{profile:02x}{compat:02x}{level:02x}"), width, height))
}

fn parse_audio_entry(track_id: u32, entry: BoxRef<'_>) -> Result<(String, u16, u32), MediaError> {
    let typ = entry.name();
    if !matches!(&entry.typ, b"mp4a" | b"Opus" | b"ulaw" | b"alaw") {
        return Err(MediaError::UnsupportedCodec {
            track_id,
            what: format!("audio codec '{typ}' (only mp4a, Opus, ulaw and alaw are accepted)"),
        });
    }
    let mut r = Reader::new(entry.body, "audio sample entry");
    r.skip(8, "reserved/data_reference_index")?;
    let version = r.u16("version")?;
    r.skip(6, "reserved")?;
    let channels = r.u16("channelcount")?;
    r.skip(6, "samplesize/pre_defined/reserved")?;
    let sample_rate = r.u32("samplerate")? >> 16;
    // QuickTime sound description versions 1 and 2 carry extra fields before the children.
    match version {
        0 => {}
        1 => r.skip(16, "sound description v1 fields")?,
        2 => r.skip(36, "sound description v2 fields")?,
        v => return Err(MediaError::bad_box(typ, format!("sound description version {v}"))),
    }
    if matches!(&entry.typ, b"ulaw" | b"alaw") {
        return Ok((typ, channels, sample_rate));
    }
    let kids = children(entry.body.get(r.pos()..).unwrap_or_default(), "audio sample entry")?;
    if &entry.typ == b"Opus" {
        let dops = require(&kids, b"dOps", "Opus sample entry")?;
        let out = parse_dops(dops.body)?;
        if out != channels {
            return Err(MediaError::bad_box(
                "dOps",
                format!(
                    "OutputChannelCount {out} differs from the entry's channelcount {channels}"
                ),
            ));
        }
        return Ok(("opus".into(), channels, 48_000));
    }
    let esds = match find(&kids, b"esds") {
        Some(b) => b,
        // QuickTime nests it in a 'wave' box.
        None => match find(&kids, b"wave") {
            Some(wave) => require(&children(wave.body, "wave")?, b"esds", "mp4a/wave")?,
            None => return Err(MediaError::missing("esds", "in mp4a")),
        },
    };
    Ok((mp4a_codec(esds.body)?, channels, sample_rate))
}

/// Checks an `OpusSpecificBox` (Encapsulation of Opus in ISO BMFF, 4.3.2) and returns its
/// output channel count.
fn parse_dops(body: &[u8]) -> Result<u16, MediaError> {
    let mut r = Reader::new(body, "dOps");
    if r.u8("Version")? != 0 {
        return Err(MediaError::bad_box("dOps", "Version is not 0"));
    }
    let channels = r.u8("OutputChannelCount")?;
    r.u16("PreSkip")?;
    r.u32("InputSampleRate")?;
    r.u16("OutputGain")?;
    let family = r.u8("ChannelMappingFamily")?;
    match family {
        0 if matches!(channels, 1 | 2) => {}
        0 => return Err(MediaError::bad_box("dOps", "family 0 with other than 1 or 2 channels")),
        _ => {
            if channels == 0 {
                return Err(MediaError::bad_box("dOps", "OutputChannelCount is 0"));
            }
            let streams = r.u8("StreamCount")?;
            let coupled = r.u8("CoupledCount")?;
            if streams == 0 || coupled > streams {
                return Err(MediaError::bad_box("dOps", "StreamCount 0 or below CoupledCount"));
            }
            for _ in 0..channels {
                let m = r.u8("ChannelMapping")?;
                if m != 255 && u16::from(m) >= u16::from(streams) + u16::from(coupled) {
                    return Err(MediaError::bad_box("dOps", "ChannelMapping names no stream"));
                }
            }
        }
    }
    Ok(u16::from(channels))
}

/// Reads an MPEG-4 descriptor header: its tag and length.
fn descriptor(r: &mut Reader<'_>) -> Result<(u8, usize), MediaError> {
    let tag = r.u8("descriptor tag")?;
    let mut len = 0usize;
    for _ in 0..4 {
        let b = r.u8("descriptor length")?;
        len = (len << 7) | usize::from(b & 0x7f);
        if b & 0x80 == 0 {
            return Ok((tag, len));
        }
    }
    Err(MediaError::bad_box("esds", "descriptor length longer than 4 bytes"))
}

/// The RFC 6381 string of an `esds`: `mp4a.40.<audio object type>` or `mp4a.<oti>`.
fn mp4a_codec(body: &[u8]) -> Result<String, MediaError> {
    let mut r = Reader::new(body, "esds");
    r.full_box()?;
    let (tag, _) = descriptor(&mut r)?;
    if tag != 0x03 {
        return Err(MediaError::bad_box("esds", format!("expected ES_Descriptor, got tag {tag}")));
    }
    r.u16("ES_ID")?;
    let flags = r.u8("ES flags")?;
    if flags & 0x80 != 0 {
        r.u16("dependsOn_ES_ID")?;
    }
    if flags & 0x40 != 0 {
        let n = r.u8("URLlength")?;
        r.skip(usize::from(n), "URLstring")?;
    }
    if flags & 0x20 != 0 {
        r.u16("OCR_ES_Id")?;
    }
    let (tag, _) = descriptor(&mut r)?;
    if tag != 0x04 {
        return Err(MediaError::bad_box(
            "esds",
            format!("expected DecoderConfigDescriptor, got tag {tag}"),
        ));
    }
    let oti = r.u8("objectTypeIndication")?;
    r.skip(12, "streamType/bufferSizeDB/maxBitrate/avgBitrate")?;
    if oti != 0x40 {
        return Ok(format!("mp4a.{oti:02x}"));
    }
    // The AudioSpecificConfig names the audio object type (2 = AAC-LC).
    if r.remaining() == 0 {
        return Ok("mp4a.40".into());
    }
    let (tag, len) = descriptor(&mut r)?;
    if tag != 0x05 || len == 0 {
        return Ok("mp4a.40".into());
    }
    let b0 = r.u8("AudioSpecificConfig")?;
    let mut aot = b0 >> 3;
    if aot == 31 {
        let b1 = r.u8("AudioSpecificConfig")?;
        aot = 32 + (((b0 & 0x07) << 3) | (b1 >> 5));
    }
    Ok(format!("mp4a.40.{aot}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esds_gives_the_audio_object_type() {
        // ES_Descriptor { DecoderConfig { oti 0x40, DecSpecificInfo { 0x12 0x10 } } }
        let esds = [
            0, 0, 0, 0, 0x03, 0x19, 0x00, 0x01, 0x00, 0x04, 0x11, 0x40, 0x15, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0x05, 0x02, 0x12, 0x10,
        ];
        assert_eq!(mp4a_codec(&esds).expect("valid"), "mp4a.40.2");
        let mut mp3 = esds;
        mp3[11] = 0x6b;
        assert_eq!(mp4a_codec(&mp3).expect("valid"), "mp4a.6b");
    }

    #[test]
    fn esds_with_an_extended_object_type() {
        let esds = [
            0, 0, 0, 0, 3, 20, 0, 1, 0, 4, 15, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 2,
            0xf8, 0x60,
        ];
        // 31 escape: 32 + 0b000011 = 35.
        assert_eq!(mp4a_codec(&esds).expect("valid"), "mp4a.40.35");
    }

    #[test]
    fn truncated_esds_is_refused() {
        let e = mp4a_codec(&[0, 0, 0, 0, 3, 0x19, 0]).expect_err("short");
        assert_eq!(e.code(), "media-bad-box");
    }
}
