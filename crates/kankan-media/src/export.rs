//! Progressive ("faststart") MP4 from stored fragments, for downloads ordinary players open.
//!
//! The sample tables are computed first, so the whole header (`ftyp`, `moov`, the `mdat`
//! header) is known before any sample byte is written: [`export_plan`] returns that header and
//! the fragment byte ranges that follow it, which a server can stream without holding the
//! file; [`export_mp4`] simply concatenates them.

use crate::fragment::to_ms;
use crate::write::{
    bx, full, mdat_header, put32, put64, write_dinf, write_hdlr, write_mdhd, write_media_header,
    write_mvhd, write_tkhd,
};
use crate::{Fragment, InitSegment, MediaError, TrackInfo, TrackKind, TrackRun};

/// Movie timescale of exported files: milliseconds.
const MOVIE_TIMESCALE: u32 = 1000;

/// A byte range of one fragment, copied into the exported `mdat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportRange {
    /// Index into the `fragments` given to [`export_plan`].
    pub fragment: usize,
    /// First byte within [`Fragment::bytes`].
    pub start: usize,
    /// Length in bytes.
    pub len: usize,
}

/// A progressive MP4 as a header followed by byte ranges of the source fragments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportPlan {
    /// `ftyp`, `moov` and the `mdat` header.
    pub header: Vec<u8>,
    /// The sample bytes, in file order, after the header.
    pub ranges: Vec<ExportRange>,
    /// Length of the whole file.
    pub total_len: u64,
}

impl ExportPlan {
    /// Writes the file: the header, then every range of `fragments` (those the plan was
    /// made from).
    pub fn write(&self, fragments: &[Fragment], out: &mut Vec<u8>) -> Result<(), MediaError> {
        out.extend_from_slice(&self.header);
        for r in &self.ranges {
            let bytes = fragments
                .get(r.fragment)
                .and_then(|f| f.bytes.get(r.start..r.start.checked_add(r.len)?))
                .ok_or_else(|| {
                    MediaError::bad_table("export", "a planned range is outside its fragment")
                })?;
            out.extend_from_slice(bytes);
        }
        Ok(())
    }
}

/// Exports `fragments` (in decode order, all described by `init`) as one progressive MP4.
pub fn export_mp4(init: &InitSegment, fragments: &[Fragment]) -> Result<Vec<u8>, MediaError> {
    let plan = export_plan(init, fragments)?;
    let mut out = Vec::with_capacity(usize::try_from(plan.total_len).unwrap_or(0));
    plan.write(fragments, &mut out)?;
    Ok(out)
}

/// What planning an export needs of a fragment: its sample tables and its length, not its
/// bytes — so a long range can be planned first and its media streamed afterwards.
#[derive(Debug, Clone)]
pub struct FragmentTable {
    pub sequence: u32,
    pub runs: Vec<TrackRun>,
    pub byte_len: usize,
}

impl From<Fragment> for FragmentTable {
    fn from(f: Fragment) -> Self {
        FragmentTable { sequence: f.sequence, byte_len: f.bytes.len(), runs: f.runs }
    }
}

/// Fragments or their tables, as [`export_plan`] reads them.
pub trait SampleTables {
    fn sequence(&self) -> u32;
    fn runs(&self) -> &[TrackRun];
    fn byte_len(&self) -> usize;
}

impl SampleTables for Fragment {
    fn sequence(&self) -> u32 {
        self.sequence
    }
    fn runs(&self) -> &[TrackRun] {
        &self.runs
    }
    fn byte_len(&self) -> usize {
        self.bytes.len()
    }
}

impl SampleTables for FragmentTable {
    fn sequence(&self) -> u32 {
        self.sequence
    }
    fn runs(&self) -> &[TrackRun] {
        &self.runs
    }
    fn byte_len(&self) -> usize {
        self.byte_len
    }
}

/// Plans a progressive MP4 of `fragments`: `ftyp`, `moov` (a `trak` per track that has
/// samples, with real `stts`/`ctts`/`stss`/`stsz`/`stsc`/`stco` or `co64`, the init's sample
/// entries copied), then one `mdat` with one chunk per track run. Decode times start at 0; a
/// track starting later than the earliest one gets an empty edit so audio stays in sync, and
/// a gap between fragments lengthens the sample before it.
pub fn export_plan<F: SampleTables>(
    init: &InitSegment,
    fragments: &[F],
) -> Result<ExportPlan, MediaError> {
    let mut tables: Vec<Table<'_>> = init.tracks.iter().map(Table::new).collect();
    let mut ranges: Vec<ExportRange> = Vec::new();
    let mut payload: u64 = 0;
    for (fi, fragment) in fragments.iter().enumerate() {
        for run in fragment.runs() {
            let table = tables.iter_mut().find(|t| t.info.track_id == run.track_id).ok_or(
                MediaError::UnknownTrack { box_type: "traf".into(), track_id: run.track_id },
            )?;
            if run.samples.is_empty() {
                continue;
            }
            table.start_run(run.base_decode_time);
            table.chunks.push(Chunk { offset: payload, samples: 0 });
            for s in &run.samples {
                let start = usize::try_from(s.offset_in_fragment).unwrap_or(usize::MAX);
                let len = usize::try_from(s.size).unwrap_or(usize::MAX);
                if start.checked_add(len).is_none_or(|end| end > fragment.byte_len()) {
                    return Err(MediaError::bad_table(
                        "trun",
                        format!(
                            "a sample of fragment {} lies outside its bytes",
                            fragment.sequence()
                        ),
                    ));
                }
                match ranges.last_mut() {
                    Some(r) if r.fragment == fi && r.start + r.len == start => r.len += len,
                    _ => ranges.push(ExportRange { fragment: fi, start, len }),
                }
                table.push(s.size, s.duration, s.keyframe, s.cts_offset);
                payload += u64::from(s.size);
            }
        }
    }
    tables.retain(|t| !t.sizes.is_empty());
    if tables.is_empty() {
        return Err(MediaError::missing("trun", "with samples in the fragments to export"));
    }
    for t in &tables {
        if u32::try_from(t.sizes.len()).is_err() {
            return Err(MediaError::too_large("samples in one track", t.sizes.len() as u64, 0));
        }
        check_stsd(t.info)?;
    }
    let origin_ms = tables.iter().map(|t| t.start_ms()).min().unwrap_or(0);

    let ftyp = ftyp();
    let mdat = mdat_header(payload);
    let fixed = (ftyp.len() + mdat.len()) as u64;
    // The moov's size depends on stco vs co64 only, not on the offsets written in it.
    let mut co64 = false;
    let mut moov_len = moov(&tables, origin_ms, 0, co64).len() as u64;
    if fixed + moov_len + payload > u64::from(u32::MAX) {
        co64 = true;
        moov_len = moov(&tables, origin_ms, 0, co64).len() as u64;
    }
    let moov = moov(&tables, origin_ms, fixed + moov_len, co64);
    let header = [ftyp, moov, mdat].concat();
    let total_len = header.len() as u64 + payload;
    Ok(ExportPlan { header, ranges, total_len })
}

/// The copied `stsd` must at least be an `stsd` box.
fn check_stsd(info: &TrackInfo) -> Result<(), MediaError> {
    match info.stsd.get(4..8) {
        Some(b"stsd") => Ok(()),
        _ => Err(MediaError::missing("stsd", format!("for track {}", info.track_id))),
    }
}

fn ftyp() -> Vec<u8> {
    let mut o = Vec::new();
    bx(&mut o, b"ftyp", |o| {
        o.extend_from_slice(b"isom");
        put32(o, 0x200);
        for brand in [b"isom", b"iso2", b"avc1", b"mp41"] {
            o.extend_from_slice(brand);
        }
    });
    o
}

/// One chunk: a track run's samples, contiguous in the exported `mdat`.
struct Chunk {
    /// Offset within the `mdat` payload.
    offset: u64,
    samples: u32,
}

/// The sample table of one track, built as the runs are read.
struct Table<'a> {
    info: &'a TrackInfo,
    /// Decode time of the first sample.
    first_dts: u64,
    /// Decode time of the last sample pushed.
    last_dts: u64,
    /// Decode time of the next sample, if it follows on.
    cursor: u64,
    sizes: Vec<u32>,
    durations: Vec<u32>,
    cts: Vec<i32>,
    /// 1-based numbers of the sync samples.
    keyframes: Vec<u32>,
    chunks: Vec<Chunk>,
}

impl<'a> Table<'a> {
    fn new(info: &'a TrackInfo) -> Self {
        Table {
            info,
            first_dts: 0,
            last_dts: 0,
            cursor: 0,
            sizes: Vec::new(),
            durations: Vec::new(),
            cts: Vec::new(),
            keyframes: Vec::new(),
            chunks: Vec::new(),
        }
    }

    /// Starts a run at decode time `base`. After a gap, the previous sample lasts until
    /// `base`; a run that overlaps the previous one simply follows it.
    fn start_run(&mut self, base: u64) {
        if self.sizes.is_empty() {
            self.first_dts = base;
            self.cursor = base;
            return;
        }
        let gap = base.checked_sub(self.last_dts).and_then(|g| u32::try_from(g).ok());
        if let (Some(gap @ 1..), Some(last)) = (gap, self.durations.last_mut()) {
            *last = gap;
            self.cursor = base;
        }
    }

    fn push(&mut self, size: u32, duration: u32, keyframe: bool, cts: i32) {
        self.last_dts = self.cursor;
        self.cursor = self.cursor.saturating_add(u64::from(duration));
        self.sizes.push(size);
        self.durations.push(duration);
        self.cts.push(cts);
        if keyframe {
            // At most u32::MAX samples per track: checked before the moov is written.
            self.keyframes.push(self.sizes.len() as u32);
        }
        if let Some(c) = self.chunks.last_mut() {
            c.samples += 1;
        }
    }

    fn start_ms(&self) -> u64 {
        to_ms(self.first_dts, self.info.timescale)
    }

    /// Total duration in the track's timescale.
    fn duration(&self) -> u64 {
        self.durations.iter().map(|&d| u64::from(d)).sum()
    }
}

/// Run-length encodes `values` as (count, value) pairs.
fn runs<T: PartialEq + Copy>(values: &[T]) -> Vec<(u32, T)> {
    let mut out: Vec<(u32, T)> = Vec::new();
    for &v in values {
        match out.last_mut() {
            Some((n, last)) if *last == v => *n += 1,
            _ => out.push((1, v)),
        }
    }
    out
}

/// The `moov`; chunk offsets are `data_start` (the file offset of the `mdat` payload) plus
/// each chunk's offset within it.
fn moov(tables: &[Table<'_>], origin_ms: u64, data_start: u64, co64: bool) -> Vec<u8> {
    let movie_ms = |t: &Table<'_>| {
        (t.start_ms() - origin_ms).saturating_add(to_ms(t.duration(), t.info.timescale))
    };
    let duration = tables.iter().map(movie_ms).max().unwrap_or(0);
    let next_id = tables.iter().map(|t| t.info.track_id).max().unwrap_or(0).saturating_add(1);
    let mut o = Vec::new();
    bx(&mut o, b"moov", |o| {
        write_mvhd(o, MOVIE_TIMESCALE, duration, next_id);
        for t in tables {
            trak(o, t, origin_ms, data_start, co64);
        }
    });
    o
}

fn trak(o: &mut Vec<u8>, t: &Table<'_>, origin_ms: u64, data_start: u64, co64: bool) {
    let video = t.info.kind == TrackKind::Video;
    let media_duration = t.duration();
    let media_ms = to_ms(media_duration, t.info.timescale);
    let delay_ms = t.start_ms() - origin_ms;
    let size = video.then_some((t.info.width, t.info.height));
    bx(o, b"trak", |o| {
        write_tkhd(o, t.info.track_id, delay_ms.saturating_add(media_ms), size);
        let media_time = t.cts.first().copied().unwrap_or(0).max(0);
        if delay_ms > 0 || media_time > 0 {
            write_edts(o, delay_ms, media_ms, media_time);
        }
        bx(o, b"mdia", |o| {
            write_mdhd(o, t.info.timescale, media_duration);
            write_hdlr(o, video);
            bx(o, b"minf", |o| {
                write_media_header(o, video);
                write_dinf(o);
                bx(o, b"stbl", |o| stbl(o, t, data_start, co64));
            });
        });
    });
}

/// An edit list: an empty edit of `delay_ms`, then the media from `media_time`.
fn write_edts(o: &mut Vec<u8>, delay_ms: u64, media_ms: u64, media_time: i32) {
    bx(o, b"edts", |o| {
        full(o, b"elst", 1, 0, |o| {
            put32(o, if delay_ms > 0 { 2 } else { 1 });
            if delay_ms > 0 {
                put64(o, delay_ms);
                put64(o, u64::MAX); // media_time -1: empty
                put32(o, 0x0001_0000);
            }
            put64(o, media_ms);
            put64(o, u64::from(media_time.unsigned_abs()));
            put32(o, 0x0001_0000); // media_rate 1.0
        });
    });
}

fn stbl(o: &mut Vec<u8>, t: &Table<'_>, data_start: u64, co64: bool) {
    o.extend_from_slice(&t.info.stsd);
    let stts = runs(&t.durations);
    full(o, b"stts", 0, 0, |o| {
        put32(o, stts.len() as u32); // <= sample count, checked to fit
        for (n, d) in stts {
            put32(o, n);
            put32(o, d);
        }
    });
    if t.cts.iter().any(|&c| c != 0) {
        let signed = t.cts.iter().any(|&c| c < 0);
        let ctts = runs(&t.cts);
        full(o, b"ctts", u8::from(signed), 0, |o| {
            put32(o, ctts.len() as u32);
            for (n, c) in ctts {
                put32(o, n);
                o.extend_from_slice(&c.to_be_bytes());
            }
        });
    }
    if t.keyframes.len() < t.sizes.len() {
        full(o, b"stss", 0, 0, |o| {
            put32(o, t.keyframes.len() as u32);
            t.keyframes.iter().for_each(|&k| put32(o, k));
        });
    }
    let per_chunk: Vec<u32> = t.chunks.iter().map(|c| c.samples).collect();
    let mut stsc: Vec<(u32, u32)> = Vec::new();
    for (i, &n) in per_chunk.iter().enumerate() {
        if stsc.last().is_none_or(|&(_, last)| last != n) {
            stsc.push((i as u32 + 1, n));
        }
    }
    full(o, b"stsc", 0, 0, |o| {
        put32(o, stsc.len() as u32);
        for (first, n) in stsc {
            put32(o, first);
            put32(o, n);
            put32(o, 1); // sample_description_index
        }
    });
    full(o, b"stsz", 0, 0, |o| {
        put32(o, 0);
        put32(o, t.sizes.len() as u32);
        t.sizes.iter().for_each(|&s| put32(o, s));
    });
    let typ = if co64 { b"co64" } else { b"stco" };
    full(o, typ, 0, 0, |o| {
        put32(o, t.chunks.len() as u32);
        for c in &t.chunks {
            let at = data_start + c.offset;
            if co64 { put64(o, at) } else { put32(o, at as u32) } // co64 whenever it would not fit
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_compress_repeats() {
        assert_eq!(runs(&[3, 3, 3, 4, 3]), [(3, 3), (1, 4), (1, 3)]);
        assert!(runs::<u32>(&[]).is_empty());
    }

    #[test]
    fn a_gap_lengthens_the_sample_before_it() {
        let info = TrackInfo {
            track_id: 1,
            kind: TrackKind::Video,
            timescale: 90_000,
            codec: "avc1.42001e".into(),
            width: 0,
            height: 0,
            channels: 0,
            sample_rate: 0,
            default_sample_duration: 0,
            default_sample_size: 0,
            default_sample_flags: 0,
            stsd: bytes::Bytes::new(),
        };
        let mut t = Table::new(&info);
        t.start_run(1000);
        t.push(1, 10, true, 0);
        t.push(1, 10, false, 0);
        t.start_run(1050);
        t.push(1, 10, true, 0);
        assert_eq!(t.durations, [10, 40, 10]);
        assert_eq!((t.first_dts, t.duration()), (1000, 60));
        assert_eq!(t.keyframes, [1, 3]);
    }
}
