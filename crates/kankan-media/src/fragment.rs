//! Media fragments (`[styp][sidx][prft][emsg] moof mdat`): their sample tables, resolved
//! against the init segment and checked against the bytes actually present.

use bytes::Bytes;

use crate::bmff::{BoxRef, Boxes, Reader, children, require};
use crate::{InitSegment, Limits, MediaError, TrackInfo, TrackKind};

/// One sample of a track run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleInfo {
    /// Size in bytes.
    pub size: u32,
    /// Duration in the track's timescale.
    pub duration: u32,
    /// Whether decoding can start here (see the crate docs for the rule).
    pub keyframe: bool,
    /// Composition time minus decode time, in the track's timescale.
    pub cts_offset: i32,
    /// Byte offset of the sample data within [`Fragment::bytes`].
    pub offset_in_fragment: u32,
}

/// The samples of one track in one fragment (all its `trun`s together).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackRun {
    /// The track these samples belong to.
    pub track_id: u32,
    /// Decode time of the first sample (`tfdt`), in the track's timescale.
    pub base_decode_time: u64,
    /// Sum of the sample durations, in the track's timescale.
    pub duration: u64,
    /// The samples, in decode order.
    pub samples: Vec<SampleInfo>,
}

impl TrackRun {
    /// Decode time just after the last sample.
    pub fn end_decode_time(&self) -> u64 {
        self.base_decode_time.saturating_add(self.duration)
    }
}

/// One media fragment, as received, with its sample tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// The fragment exactly as received (`styp`? `prft`? ... `moof` `mdat`), re-usable as an
    /// HLS fMP4 segment.
    pub bytes: Bytes,
    /// The `mfhd` sequence number.
    pub sequence: u32,
    /// One run per track present in the fragment, in `traf` order.
    pub runs: Vec<TrackRun>,
}

impl Fragment {
    /// The run of track `track_id`, if the fragment has one.
    pub fn run(&self, track_id: u32) -> Option<&TrackRun> {
        self.runs.iter().find(|r| r.track_id == track_id)
    }

    /// The run of the init segment's video track, if the fragment has one.
    pub fn video_run(&self, init: &InitSegment) -> Option<&TrackRun> {
        self.run(init.video()?.track_id)
    }

    /// Whether the fragment's video starts with a keyframe (a place playback can start).
    pub fn starts_with_keyframe(&self, init: &InitSegment) -> bool {
        self.video_run(init).and_then(|r| r.samples.first()).is_some_and(|s| s.keyframe)
    }

    /// Decode time of the video run's first sample, in milliseconds.
    pub fn start_ms(&self, init: &InitSegment) -> Option<u64> {
        let video = init.video()?;
        Some(to_ms(self.run(video.track_id)?.base_decode_time, video.timescale))
    }

    /// Decode time just after the video run's last sample, in milliseconds.
    pub fn end_ms(&self, init: &InitSegment) -> Option<u64> {
        let video = init.video()?;
        Some(to_ms(self.run(video.track_id)?.end_decode_time(), video.timescale))
    }

    /// The bytes of `sample` (one of this fragment's samples); `None` when out of range.
    pub fn sample_data(&self, sample: &SampleInfo) -> Option<&[u8]> {
        let start = usize::try_from(sample.offset_in_fragment).ok()?;
        let end = start.checked_add(usize::try_from(sample.size).ok()?)?;
        self.bytes.get(start..end)
    }
}

/// The latest decode time a fragment may reach, in milliseconds (2^53, about 285,000 years):
/// any time a parser returns, in ms, can be added to a wall-clock time in `i64` without
/// overflowing.
pub const MAX_DECODE_MS: u64 = 1 << 53;

/// `t` in `timescale` units, as whole milliseconds (rounded down).
pub(crate) fn to_ms(t: u64, timescale: u32) -> u64 {
    let ms = u128::from(t) * 1000 / u128::from(timescale.max(1));
    u64::try_from(ms).unwrap_or(u64::MAX)
}

/// Parses and validates one fragment that is stored on its own: an explicit `tfhd`
/// base-data-offset is taken from the first byte of `bytes`. For a fragment cut from a longer
/// stream whose muxer wrote stream positions there, use [`parse_fragment_at`].
pub fn parse_fragment(
    init: &InitSegment,
    bytes: &[u8],
    limits: &Limits,
) -> Result<Fragment, MediaError> {
    parse_fragment_at(init, bytes, 0, limits)
}

/// [`parse_fragment`] for a fragment that starts `stream_offset` bytes into its stream: an
/// explicit `tfhd` base-data-offset is a stream position (what `ffmpeg` writes without
/// `default_base_moof`).
pub fn parse_fragment_at(
    init: &InitSegment,
    bytes: &[u8],
    stream_offset: u64,
    limits: &Limits,
) -> Result<Fragment, MediaError> {
    check_fragment_size(bytes.len() as u64, limits)?;
    parse_fragment_bytes(init, Bytes::copy_from_slice(bytes), stream_offset, limits)
}

fn check_fragment_size(len: u64, limits: &Limits) -> Result<(), MediaError> {
    let limit = (limits.max_fragment_bytes as u64).min(u64::from(u32::MAX));
    if len > limit {
        return Err(MediaError::too_large("fragment, in bytes,", len, limit));
    }
    Ok(())
}

pub(crate) fn parse_fragment_bytes(
    init: &InitSegment,
    bytes: Bytes,
    stream_offset: u64,
    limits: &Limits,
) -> Result<Fragment, MediaError> {
    check_fragment_size(bytes.len() as u64, limits)?;
    let mut moof: Option<BoxRef<'_>> = None;
    let mut mdat: Option<BoxRef<'_>> = None;
    for b in Boxes::new(&bytes, "top level").allow_to_end(*b"mdat") {
        let b = b?;
        if mdat.is_some() {
            return Err(MediaError::bad_box(b.name(), "box after the fragment's mdat"));
        }
        match &b.typ {
            b"free" | b"skip" => {}
            b"styp" | b"sidx" | b"prft" | b"emsg" if moof.is_none() => {}
            b"moof" if moof.is_none() => moof = Some(b),
            b"moof" => return Err(MediaError::bad_box("moof", "a second moof in one fragment")),
            b"mdat" if moof.is_none() => return Err(MediaError::missing("moof", "before mdat")),
            b"mdat" => mdat = Some(b),
            b"styp" | b"sidx" | b"prft" | b"emsg" => {
                return Err(MediaError::bad_box(b.name(), "after the fragment's moof"));
            }
            _ => {
                return Err(MediaError::bad_box(
                    b.name(),
                    "unexpected top-level box in a fragment",
                ));
            }
        }
    }
    let moof = moof.ok_or_else(|| MediaError::missing("moof", "in the fragment"))?;
    let mdat = mdat.ok_or_else(|| MediaError::missing("mdat", "after moof"))?;
    let payload = Payload { start: (mdat.start + mdat.header_len) as u64, end: mdat.end() as u64 };
    let (sequence, runs) = parse_moof(init, moof, payload, stream_offset, limits)?;
    Ok(Fragment { bytes, sequence, runs })
}

/// The byte range of the mdat payload within the fragment.
#[derive(Clone, Copy)]
struct Payload {
    start: u64,
    end: u64,
}

fn parse_moof(
    init: &InitSegment,
    moof: BoxRef<'_>,
    payload: Payload,
    stream_offset: u64,
    limits: &Limits,
) -> Result<(u32, Vec<TrackRun>), MediaError> {
    let kids = children(moof.body, "moof")?;
    let mut r = Reader::new(require(&kids, b"mfhd", "moof")?.body, "mfhd");
    r.full_box()?;
    let sequence = r.u32("sequence_number")?;
    let moof_start = moof.start as u64;
    let mut ctx = TrafCtx { payload, stream_offset, moof_start, next_data: moof_start, samples: 0 };
    let mut runs: Vec<TrackRun> = Vec::new();
    for traf in kids.iter().filter(|b| &b.typ == b"traf") {
        let run = parse_traf(init, traf.body, &mut ctx, limits)?;
        if runs.iter().any(|o| o.track_id == run.track_id) {
            return Err(MediaError::bad_box(
                "traf",
                format!("a second traf for track {} in one moof", run.track_id),
            ));
        }
        runs.push(run);
    }
    if runs.is_empty() {
        return Err(MediaError::missing("traf", "in moof"));
    }
    Ok((sequence, runs))
}

/// State carried from one `traf` to the next.
struct TrafCtx {
    payload: Payload,
    stream_offset: u64,
    moof_start: u64,
    /// Where the previous traf's data ended (the implicit base of the next one).
    next_data: u64,
    /// Samples so far in this fragment.
    samples: u32,
}

/// The fields of a `tfhd`, with absent defaults already taken from the `trex`.
struct Tfhd {
    base: u64,
    duration: u32,
    size: u32,
    flags: u32,
}

const TFHD_BASE_DATA_OFFSET: u32 = 0x01;
const TFHD_SAMPLE_DESCRIPTION_INDEX: u32 = 0x02;
const TFHD_DEFAULT_DURATION: u32 = 0x08;
const TFHD_DEFAULT_SIZE: u32 = 0x10;
const TFHD_DEFAULT_FLAGS: u32 = 0x20;
const TFHD_DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;

const TRUN_DATA_OFFSET: u32 = 0x001;
const TRUN_FIRST_SAMPLE_FLAGS: u32 = 0x004;
const TRUN_DURATION: u32 = 0x100;
const TRUN_SIZE: u32 = 0x200;
const TRUN_FLAGS: u32 = 0x400;
const TRUN_CTS: u32 = 0x800;

fn parse_traf(
    init: &InitSegment,
    body: &[u8],
    ctx: &mut TrafCtx,
    limits: &Limits,
) -> Result<TrackRun, MediaError> {
    let kids = children(body, "traf")?;
    let mut r = Reader::new(require(&kids, b"tfhd", "traf")?.body, "tfhd");
    let (_, flags) = r.full_box()?;
    let track_id = r.u32("track_ID")?;
    let track = init
        .track(track_id)
        .ok_or(MediaError::UnknownTrack { box_type: "tfhd".into(), track_id })?;
    let base = if flags & TFHD_BASE_DATA_OFFSET != 0 {
        let bdo = r.u64("base_data_offset")?;
        bdo.checked_sub(ctx.stream_offset).ok_or_else(|| {
            MediaError::bad_table(
                "tfhd",
                format!("base_data_offset {bdo} is before the fragment (at {})", ctx.stream_offset),
            )
        })?
    } else if flags & TFHD_DEFAULT_BASE_IS_MOOF != 0 {
        ctx.moof_start
    } else {
        ctx.next_data
    };
    if flags & TFHD_SAMPLE_DESCRIPTION_INDEX != 0 {
        r.u32("sample_description_index")?;
    }
    let mut opt = |bit: u32, field: &str, default: u32| {
        if flags & bit != 0 { r.u32(field) } else { Ok(default) }
    };
    let tfhd = Tfhd {
        base,
        duration: opt(
            TFHD_DEFAULT_DURATION,
            "default_sample_duration",
            track.default_sample_duration,
        )?,
        size: opt(TFHD_DEFAULT_SIZE, "default_sample_size", track.default_sample_size)?,
        flags: opt(TFHD_DEFAULT_FLAGS, "default_sample_flags", track.default_sample_flags)?,
    };

    let mut r = Reader::new(require(&kids, b"tfdt", "traf")?.body, "tfdt");
    let (version, _) = r.full_box()?;
    let base_decode_time = if version == 1 {
        r.u64("baseMediaDecodeTime")?
    } else {
        u64::from(r.u32("baseMediaDecodeTime")?)
    };

    let mut samples = Vec::new();
    let mut data_pos = tfhd.base;
    for trun in kids.iter().filter(|b| &b.typ == b"trun") {
        data_pos = parse_trun(trun.body, &tfhd, data_pos, ctx, limits, &mut samples)?;
    }
    ctx.next_data = data_pos;
    let duration = samples.iter().map(|s| u64::from(s.duration)).sum();
    check_duration(track, duration, limits)?;
    // Decode times are checked once here, so that no reader of a run (ingest, playback,
    // export, WebRTC) can overflow on them: the run's end fits, and stays below
    // MAX_DECODE_MS in milliseconds.
    let end = base_decode_time.checked_add(duration);
    if end.is_none_or(|e| to_ms(e, track.timescale) > MAX_DECODE_MS) {
        return Err(MediaError::bad_box(
            "tfdt",
            format!(
                "track {track_id}: decode time {base_decode_time} plus {duration} is past the \
                 largest accepted ({MAX_DECODE_MS} ms)"
            ),
        ));
    }
    Ok(TrackRun { track_id, base_decode_time, duration, samples })
}

fn check_duration(track: &TrackInfo, duration: u64, limits: &Limits) -> Result<(), MediaError> {
    let ms = to_ms(duration, track.timescale);
    if ms > u64::from(limits.max_fragment_duration_ms) {
        let kind = match track.kind {
            TrackKind::Video => "video",
            TrackKind::Audio => "audio",
        };
        return Err(MediaError::too_large(
            format!("the {kind} run of track {} lasts, in ms,", track.track_id),
            ms,
            u64::from(limits.max_fragment_duration_ms),
        ));
    }
    Ok(())
}

/// Reads one `trun` into `samples`; returns where its data ends.
fn parse_trun(
    body: &[u8],
    tfhd: &Tfhd,
    mut data_pos: u64,
    ctx: &mut TrafCtx,
    limits: &Limits,
    samples: &mut Vec<SampleInfo>,
) -> Result<u64, MediaError> {
    let mut r = Reader::new(body, "trun");
    let (_, flags) = r.full_box()?;
    let count = r.u32("sample_count")?;
    if flags & TRUN_DATA_OFFSET != 0 {
        let off = r.i32("data_offset")?;
        let pos = i128::from(tfhd.base) + i128::from(off);
        data_pos = u64::try_from(pos).map_err(|_| {
            MediaError::bad_table("trun", format!("data_offset {off} points before the fragment"))
        })?;
    }
    let first_flags = if flags & TRUN_FIRST_SAMPLE_FLAGS != 0 {
        Some(r.u32("first_sample_flags")?)
    } else {
        None
    };

    let total = u64::from(ctx.samples) + u64::from(count);
    if total > u64::from(limits.max_samples_per_fragment) {
        return Err(MediaError::too_large(
            "the fragment's sample count",
            total,
            u64::from(limits.max_samples_per_fragment),
        ));
    }
    let per_sample =
        4 * u64::from((flags & (TRUN_DURATION | TRUN_SIZE | TRUN_FLAGS | TRUN_CTS)).count_ones());
    let table = u64::from(count) * per_sample;
    if table > r.remaining() as u64 {
        return Err(MediaError::bad_table(
            "trun",
            format!(
                "sample_count {count} needs a {table}-byte table but only {} bytes are there",
                r.remaining()
            ),
        ));
    }
    ctx.samples = total as u32; // <= max_samples_per_fragment, a u32
    samples.reserve(count as usize);

    let payload = ctx.payload;
    for i in 0..count {
        let duration =
            if flags & TRUN_DURATION != 0 { r.u32("sample_duration")? } else { tfhd.duration };
        let size = if flags & TRUN_SIZE != 0 { r.u32("sample_size")? } else { tfhd.size };
        let mut sample_flags =
            if flags & TRUN_FLAGS != 0 { r.u32("sample_flags")? } else { tfhd.flags };
        if let (0, Some(f)) = (i, first_flags) {
            sample_flags = f;
        }
        // Version 0 stores the offset unsigned; negative values only exist in version 1,
        // and every muxer writes the same bits either way.
        let cts_offset =
            if flags & TRUN_CTS != 0 { r.i32("sample_composition_time_offset")? } else { 0 };

        if data_pos < payload.start || data_pos > payload.end {
            return Err(MediaError::bad_table(
                "trun",
                format!(
                    "data_offset puts sample {i} at byte {data_pos}, outside the mdat payload \
                     (bytes {}..{})",
                    payload.start, payload.end
                ),
            ));
        }
        // data_pos <= payload.end <= u32::MAX, so this cannot overflow.
        let end = data_pos + u64::from(size);
        if end > payload.end {
            return Err(MediaError::bad_table(
                "trun",
                format!(
                    "sample sizes run past the mdat payload: sample {i} ends at byte {end}, \
                     the payload at {}",
                    payload.end
                ),
            ));
        }
        samples.push(SampleInfo {
            size,
            duration,
            keyframe: is_keyframe(sample_flags),
            cts_offset,
            // Inside the payload, which is inside a fragment of at most u32::MAX bytes.
            offset_in_fragment: data_pos as u32,
        });
        data_pos = end;
    }
    Ok(data_pos)
}

/// A sample is a keyframe when it depends on no other (`sample_depends_on == 2`) or is not
/// marked as a non-sync sample.
pub(crate) fn is_keyframe(sample_flags: u32) -> bool {
    let depends_on = (sample_flags >> 24) & 0x3;
    let non_sync = sample_flags & 0x0001_0000 != 0;
    depends_on == 2 || !non_sync
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyframe_rule_follows_the_sample_flags() {
        let table = [
            (0x0200_0000, true),  // depends on nothing (ffmpeg's keyframe)
            (0x0101_0000, false), // depends on others, non-sync (ffmpeg's delta frame)
            (0x0001_0000, false), // non-sync, dependency unknown
            (0x0000_0000, true),  // no flags at all (audio)
            (0x0201_0000, true),  // an I frame marked non-sync still decodes alone
        ];
        for (flags, key) in table {
            assert_eq!(is_keyframe(flags), key, "flags {flags:#010x}");
        }
    }

    #[test]
    fn milliseconds_round_down_and_do_not_overflow() {
        assert_eq!(to_ms(90_000, 90_000), 1000);
        assert_eq!(to_ms(89, 90), 988);
        assert_eq!(to_ms(u64::MAX, 1), u64::MAX);
    }
}
