//! Cutting a long-lived upload (chunks of any size) into init segments and fragments.

use bytes::{Buf, BytesMut};

use crate::bmff::{FourCc, fourcc_str, read_header};
use crate::fragment::parse_fragment_bytes;
use crate::init::parse_init_bytes;
use crate::{Fragment, InitSegment, Limits, MediaError};

/// One complete unit cut from the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamItem {
    /// An init segment; it replaces any earlier one for the fragments that follow.
    Init(InitSegment),
    /// A media fragment, validated against the current init segment.
    Fragment(Fragment),
}

/// Which group of top-level boxes is being collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Between groups.
    Idle,
    /// After `ftyp`, waiting for `moov`.
    Init,
    /// After `styp`/`prft`/`emsg`/`sidx`, waiting for `moof`.
    Prefix,
    /// After `moof`, waiting for `mdat`.
    Moof,
}

/// What to do with the box whose header was just read.
enum Act {
    /// Drop it without buffering (free, skip, mfra, mfro, a lone sidx).
    Skip,
    /// Add it to the group being collected, which then is in this phase.
    Add(Phase),
    /// Add it and close the group (moov closes an init, mdat a fragment).
    Close,
}

/// The outcome of one parsing step.
enum Step {
    Item(StreamItem),
    Progress,
    NeedMore,
}

/// Incremental parser for a fragmented MP4 upload.
///
/// Feed it the body's chunks with [`push`](Self::push), of any size and split anywhere; it
/// returns each init segment and fragment as soon as its last byte arrives. It buffers at
/// most one group (one init segment or one fragment, bounded by [`Limits`]) plus the chunk
/// being pushed, and refuses an oversized box as soon as its header is in. After a refusal
/// the stream has lost sync: every later call returns the same error.
#[derive(Debug)]
pub struct StreamParser {
    limits: Limits,
    /// Bytes from the start of the group being collected (or of the next box, when idle).
    buf: BytesMut,
    /// Stream position of `buf[0]`.
    buf_offset: u64,
    /// Offset in `buf` of the next box header to read (may lie beyond the bytes in `buf`).
    scan: u64,
    /// Bytes of a skipped box still to drop.
    skip: u64,
    /// Set once the group's closing box header is read: the group's length.
    close_at: Option<u64>,
    phase: Phase,
    init: Option<InitSegment>,
    /// Per track: the last fragment's base decode time and duration.
    times: Vec<(u32, u64, u64)>,
    failed: Option<MediaError>,
}

impl StreamParser {
    /// A parser at the start of a stream.
    pub fn new(limits: Limits) -> Self {
        StreamParser {
            limits,
            buf: BytesMut::new(),
            buf_offset: 0,
            scan: 0,
            skip: 0,
            close_at: None,
            phase: Phase::Idle,
            init: None,
            times: Vec::new(),
            failed: None,
        }
    }

    /// The init segment in force, if one has arrived.
    pub fn init(&self) -> Option<&InitSegment> {
        self.init.as_ref()
    }

    /// Bytes of the stream consumed so far (emitted or skipped).
    pub fn position(&self) -> u64 {
        self.buf_offset
    }

    /// Adds `chunk` and returns the items it completes, in stream order.
    ///
    /// When the chunk both completes items and then breaks the stream, the items are
    /// returned and the error comes from the next call (`push` or [`finish`](Self::finish)).
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<StreamItem>, MediaError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.buf.extend_from_slice(chunk);
        let mut items = Vec::new();
        loop {
            match self.step() {
                Ok(Step::Item(item)) => items.push(item),
                Ok(Step::Progress) => {}
                Ok(Step::NeedMore) => return Ok(items),
                Err(e) => {
                    self.failed = Some(e.clone());
                    self.buf = BytesMut::new();
                    return if items.is_empty() { Err(e) } else { Ok(items) };
                }
            }
        }
    }

    /// Ends the stream: an error if it failed or stops inside a box or a group.
    pub fn finish(self) -> Result<(), MediaError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let have = self.buf.len() as u64;
        if self.skip > 0 {
            return Err(MediaError::Truncated {
                what: "the stream's last top-level box".into(),
                needed: self.skip,
                available: 0,
            });
        }
        if have == 0 && self.phase == Phase::Idle {
            return Ok(());
        }
        let what = match self.phase {
            Phase::Idle => "the stream's last top-level box",
            Phase::Init => "the stream's last init segment",
            Phase::Prefix | Phase::Moof => "the stream's last fragment",
        };
        let needed = match self.close_at {
            Some(end) => end,
            None if self.scan > have => self.scan,
            None => self.scan + 8, // inside the next box header
        };
        Err(MediaError::Truncated { what: what.into(), needed, available: have })
    }

    /// Makes one step of progress.
    fn step(&mut self) -> Result<Step, MediaError> {
        if self.skip > 0 {
            let n = self.skip.min(self.buf.len() as u64);
            self.buf.advance(n as usize); // n <= buf.len()
            self.buf_offset += n;
            self.skip -= n;
            if self.skip > 0 {
                return Ok(Step::NeedMore);
            }
        }
        if let Some(end) = self.close_at {
            return self.emit(end);
        }
        let Some(rest) = usize::try_from(self.scan).ok().and_then(|s| self.buf.get(s..)) else {
            return Ok(Step::NeedMore);
        };
        let Some(h) = read_header(rest)? else { return Ok(Step::NeedMore) };
        let name = fourcc_str(h.typ);
        let size = h.size.ok_or_else(|| {
            MediaError::bad_box(&name, "size 0 (to the end of the stream) is not allowed here")
        })?;
        match self.act(&h.typ)? {
            Act::Skip => {
                let limit = self.limits.max_fragment_bytes as u64;
                if size > limit {
                    let what = format!("top-level '{name}' box, in bytes,");
                    return Err(MediaError::too_large(what, size, limit));
                }
                self.skip = size;
            }
            Act::Add(phase) => {
                self.scan = self.grow(size, phase)?;
                self.phase = phase;
            }
            Act::Close => self.close_at = Some(self.grow(size, self.phase)?),
        }
        Ok(Step::Progress)
    }

    /// The group's length once a box of `size` bytes is added to a group in `phase`.
    fn grow(&self, size: u64, phase: Phase) -> Result<u64, MediaError> {
        let (what, limit) = match phase {
            Phase::Init => ("init segment, in bytes,", self.limits.max_init_bytes as u64),
            _ => (
                "fragment, in bytes,",
                (self.limits.max_fragment_bytes as u64).min(u64::from(u32::MAX)),
            ),
        };
        let len = self.scan.saturating_add(size);
        if len > limit {
            return Err(MediaError::too_large(what, len, limit));
        }
        Ok(len)
    }

    /// Decides what a top-level box of type `typ` means in the current phase.
    fn act(&self, typ: &FourCc) -> Result<Act, MediaError> {
        let name = fourcc_str(*typ);
        let known = [
            b"ftyp", b"moov", b"styp", b"sidx", b"prft", b"emsg", b"moof", b"mdat", b"free",
            b"skip", b"mfra", b"mfro",
        ];
        if !known.contains(&typ) {
            return Err(MediaError::bad_box(
                name,
                "not a top-level box of a fragmented MP4 stream (garbage, or the stream lost sync)",
            ));
        }
        let need_init = || match self.init {
            Some(_) => Ok(()),
            None => Err(MediaError::NoInit { box_type: fourcc_str(*typ) }),
        };
        Ok(match (self.phase, typ) {
            (Phase::Idle, b"free" | b"skip" | b"mfra" | b"mfro" | b"sidx") => Act::Skip,
            (Phase::Idle, b"ftyp") => Act::Add(Phase::Init),
            (Phase::Idle, b"moov") => return Err(MediaError::missing("ftyp", "before moov")),
            (Phase::Idle, b"styp" | b"prft" | b"emsg") => {
                need_init()?;
                Act::Add(Phase::Prefix)
            }
            (Phase::Idle | Phase::Prefix, b"moof") => {
                need_init()?;
                Act::Add(Phase::Moof)
            }
            (Phase::Idle | Phase::Prefix, b"mdat") => {
                return Err(MediaError::missing("moof", "before mdat"));
            }
            (Phase::Init, b"free" | b"skip") => Act::Add(Phase::Init),
            (Phase::Init, b"moov") => Act::Close,
            (Phase::Init, _) => return Err(MediaError::missing("moov", "after ftyp")),
            (Phase::Prefix, b"styp" | b"sidx" | b"prft" | b"emsg" | b"free" | b"skip") => {
                Act::Add(Phase::Prefix)
            }
            (Phase::Moof, b"free" | b"skip") => Act::Add(Phase::Moof),
            (Phase::Moof, b"mdat") => Act::Close,
            (Phase::Moof, _) => return Err(MediaError::missing("mdat", "after moof")),
            (_, _) => return Err(MediaError::bad_box(name, "inside a fragment, before its moof")),
        })
    }

    /// Emits the closed group once its `end` bytes are all in.
    fn emit(&mut self, end: u64) -> Result<Step, MediaError> {
        let Some(end) = usize::try_from(end).ok().filter(|&e| e <= self.buf.len()) else {
            return Ok(Step::NeedMore);
        };
        let bytes = self.buf.split_to(end).freeze();
        let offset = self.buf_offset;
        self.buf_offset += end as u64;
        self.scan = 0;
        self.close_at = None;
        let phase = std::mem::replace(&mut self.phase, Phase::Idle);
        if phase == Phase::Init {
            let init = parse_init_bytes(bytes)?;
            self.init = Some(init.clone());
            self.times.clear();
            return Ok(Step::Item(StreamItem::Init(init)));
        }
        let init = self.init.as_ref().ok_or(MediaError::NoInit { box_type: "moof".into() })?;
        let fragment = parse_fragment_bytes(init, bytes, offset, &self.limits)?;
        self.check_times(&fragment)?;
        Ok(Step::Item(StreamItem::Fragment(fragment)))
    }

    /// Refuses a fragment whose base decode time does not move forward for some track.
    fn check_times(&mut self, fragment: &Fragment) -> Result<(), MediaError> {
        for run in &fragment.runs {
            let prev = self.times.iter().find(|(id, _, _)| *id == run.track_id);
            if let Some(&(_, previous, duration)) = prev {
                let got = run.base_decode_time;
                if got < previous || (got == previous && duration > 0) {
                    return Err(MediaError::TimestampRegression {
                        track_id: run.track_id,
                        previous,
                        got,
                    });
                }
            }
        }
        for run in &fragment.runs {
            let entry = (run.track_id, run.base_decode_time, run.duration);
            match self.times.iter_mut().find(|(id, _, _)| *id == run.track_id) {
                Some(t) => *t = entry,
                None => self.times.push(entry),
            }
        }
        Ok(())
    }
}
