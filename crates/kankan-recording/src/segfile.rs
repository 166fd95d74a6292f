//! The sealed segment file: the on-disk form of a recorded segment, both while it grows in
//! the journal directory and once it is a blob.
//!
//! ```text
//! "KKS2" | u8 stream | i64 init_id | i64 start_ms | u8 uid_len | uid
//! then records: u32 len | u32 duration_ms | u32 frames | AES-256-GCM ciphertext and tag
//! last, the trailer record: u32 len | u32 0 | u32 0 | sealed (u32 records | u64 bytes)
//! ```
//!
//! Each segment has a key of its own, derived from the device's data key and the segment's
//! blob id and UID ([`AeadKey::stream_key`]); a record's number is its nonce, so no nonce
//! repeats under a key however long a camera records. Every record's associated data holds
//! the whole header and the record's own duration and frame count, so neither can be changed,
//! and records cannot be reordered, moved between segments or between devices. The trailer
//! is sealed as the stream's last record and states how many records came before it: a
//! segment cut short, even at a record boundary, is refused (`recording-damaged`) instead of
//! playing as shorter footage. The file only grows by whole records; a crash leaves at most
//! one torn record at the end, which recovery cuts off before writing the trailer. All
//! integers are big-endian.
//!
//! Segments of the first format (`KKS1`: one random-nonce envelope per record under the data
//! key, no trailer) are still read, so footage recorded before the change stays playable
//! until retention removes it; nothing is written in it any more.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use kankan_base::BlobId;
use kankan_crypto::{AeadKey, StreamKey};

use crate::CoreError;

const MAGIC_V1: &[u8; 4] = b"KKS1";
const MAGIC: &[u8; 4] = b"KKS2";
const RECORD_HEAD: usize = 12;
/// The largest record a reader accepts (a fragment is at most 8 MiB, plus the envelope).
const MAX_RECORD: usize = 9 * 1024 * 1024;

/// The two formats a segment file may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// `KKS1`: read only.
    V1,
    /// `KKS2`: what is written.
    V2,
}

/// What the header of a segment file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SegHeader {
    pub uid: String,
    pub stream: u8,
    pub init_id: i64,
    pub start_ms: i64,
}

impl SegHeader {
    fn encode(&self) -> Vec<u8> {
        let mut h = Vec::with_capacity(30 + self.uid.len());
        h.extend_from_slice(MAGIC);
        h.push(self.stream);
        h.extend_from_slice(&self.init_id.to_be_bytes());
        h.extend_from_slice(&self.start_ms.to_be_bytes());
        h.push(u8::try_from(self.uid.len()).unwrap_or(u8::MAX));
        h.extend_from_slice(self.uid.as_bytes());
        h
    }

    /// The header, its format and its length in bytes.
    fn decode(b: &[u8]) -> Option<(SegHeader, Format, usize)> {
        let format = match b.get(..4)? {
            m if m == MAGIC => Format::V2,
            m if m == MAGIC_V1 => Format::V1,
            _ => return None,
        };
        if b.len() < 22 {
            return None;
        }
        let init_id = i64::from_be_bytes(b[5..13].try_into().ok()?);
        let start_ms = i64::from_be_bytes(b[13..21].try_into().ok()?);
        let n = usize::from(b[21]);
        let uid = std::str::from_utf8(b.get(22..22 + n)?).ok()?.to_string();
        Some((SegHeader { uid, stream: b[4], init_id, start_ms }, format, 22 + n))
    }
}

/// The first format's associated data.
fn aad_v1(blob: BlobId, index: u32, uid: &str) -> Vec<u8> {
    let mut a = Vec::with_capacity(40 + uid.len());
    a.extend_from_slice(b"kankan/segment/v1");
    a.extend_from_slice(blob.0.as_bytes());
    a.extend_from_slice(&index.to_be_bytes());
    a.extend_from_slice(uid.as_bytes());
    a
}

/// A segment's own key: bound to its blob and its camera.
fn segment_key(key: &AeadKey, blob: BlobId, uid: &str) -> StreamKey {
    let mut context = Vec::with_capacity(40 + uid.len());
    context.extend_from_slice(b"kankan/segment/v2");
    context.extend_from_slice(blob.0.as_bytes());
    context.extend_from_slice(uid.as_bytes());
    key.stream_key(&context)
}

/// A record's associated data: the whole header, and the record's clear head fields.
fn aad(header: &[u8], duration_ms: u32, frames: u32) -> Vec<u8> {
    let mut a = Vec::with_capacity(header.len() + 8);
    a.extend_from_slice(header);
    a.extend_from_slice(&duration_ms.to_be_bytes());
    a.extend_from_slice(&frames.to_be_bytes());
    a
}

/// The trailer's contents: how many records and bytes of them came before it.
fn trailer(records: u32, bytes: u64) -> [u8; 12] {
    let mut t = [0u8; 12];
    t[..4].copy_from_slice(&records.to_be_bytes());
    t[4..].copy_from_slice(&bytes.to_be_bytes());
    t
}

fn record_head(len: usize, duration_ms: u32, frames: u32) -> Result<[u8; RECORD_HEAD], CoreError> {
    let len = u32::try_from(len)
        .map_err(|_| CoreError::Internal("fragment too large for a record".into()))?;
    let mut head = [0u8; RECORD_HEAD];
    head[0..4].copy_from_slice(&len.to_be_bytes());
    head[4..8].copy_from_slice(&duration_ms.to_be_bytes());
    head[8..12].copy_from_slice(&frames.to_be_bytes());
    Ok(head)
}

/// Totals of a segment's records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SegTotals {
    pub records: u32,
    pub duration_ms: u32,
    pub frames: u32,
    pub bytes: u64,
}

/// A segment file being written in the journal directory (`<blob>.jrnl`).
pub(crate) struct SegWriter {
    file: File,
    path: PathBuf,
    pub blob: BlobId,
    pub header: SegHeader,
    head: Vec<u8>,
    key: StreamKey,
    pub totals: SegTotals,
}

impl SegWriter {
    pub fn create(dir: &Path, header: SegHeader, key: AeadKey) -> Result<SegWriter, CoreError> {
        let blob = BlobId::new();
        let path = dir.join(format!("{blob}.jrnl"));
        let mut file = File::create_new(&path).map_err(io)?;
        let head = header.encode();
        file.write_all(&head).map_err(io)?;
        let totals = SegTotals { bytes: head.len() as u64, ..SegTotals::default() };
        let key = segment_key(&key, blob, &header.uid);
        Ok(SegWriter { file, path, blob, header, head, key, totals })
    }

    /// Appends one fragment; with `sync` it is on disk when this returns (the checkpoint).
    pub fn append(
        &mut self,
        fragment: &[u8],
        duration_ms: u32,
        frames: u32,
        sync: bool,
    ) -> Result<(), CoreError> {
        let index = u64::from(self.totals.records);
        let sealed =
            self.key.seal(index, false, fragment, &aad(&self.head, duration_ms, frames))?;
        let head = record_head(sealed.len(), duration_ms, frames)?;
        self.file.write_all(&head).map_err(io)?;
        self.file.write_all(&sealed).map_err(io)?;
        if sync {
            self.file.sync_data().map_err(io)?;
        }
        let t = &mut self.totals;
        t.records += 1;
        t.duration_ms = t.duration_ms.saturating_add(duration_ms);
        t.frames = t.frames.saturating_add(frames);
        t.bytes += (RECORD_HEAD + sealed.len()) as u64;
        Ok(())
    }

    /// Writes the trailer, makes the file durable and marks it complete (`<blob>.seal`),
    /// ready to be indexed.
    pub fn seal(mut self) -> Result<PathBuf, CoreError> {
        let t = self.totals;
        write_trailer(&mut self.file, &self.key, &self.head, t.records, t.bytes)?;
        self.file.sync_all().map_err(io)?;
        seal_path(&self.path)
    }

    /// Drops an empty segment's file.
    pub fn discard(self) -> Result<(), CoreError> {
        std::fs::remove_file(&self.path).map_err(io)
    }
}

fn write_trailer(
    file: &mut File,
    key: &StreamKey,
    head: &[u8],
    records: u32,
    bytes: u64,
) -> Result<(), CoreError> {
    let sealed = key.seal(u64::from(records), true, &trailer(records, bytes), &aad(head, 0, 0))?;
    file.write_all(&record_head(sealed.len(), 0, 0)?).map_err(io)?;
    file.write_all(&sealed).map_err(io)?;
    Ok(())
}

fn seal_path(path: &Path) -> Result<PathBuf, CoreError> {
    let sealed = path.with_extension("seal");
    std::fs::rename(path, &sealed).map_err(io)?;
    if let Some(dir) = path.parent() {
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    }
    Ok(sealed)
}

fn io(e: std::io::Error) -> CoreError {
    CoreError::Internal(format!("segment file: {e}"))
}

/// Reads a segment file's header.
pub(crate) fn read_header(path: &Path) -> Result<SegHeader, CoreError> {
    let mut b = vec![0u8; 22 + 255];
    let mut f = File::open(path).map_err(io)?;
    let n = read_up_to(&mut f, &mut b)?;
    SegHeader::decode(&b[..n])
        .map(|(h, _, _)| h)
        .ok_or_else(|| CoreError::Internal(format!("{}: not a segment file", path.display())))
}

fn read_up_to(f: &mut File, buf: &mut [u8]) -> Result<usize, CoreError> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]).map_err(io)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Recovers a journal left by a crash: keeps every whole record whose seal opens, cuts the
/// rest, writes the trailer (unless the file was already whole) and marks it sealed. `None`
/// if nothing usable was left (the file is removed).
pub(crate) fn recover(
    path: &Path,
    blob: BlobId,
    key: &AeadKey,
) -> Result<Option<(PathBuf, SegHeader, SegTotals)>, CoreError> {
    let bytes = std::fs::read(path).map_err(io)?;
    let Some((header, format, mut pos)) = SegHeader::decode(&bytes) else {
        std::fs::remove_file(path).map_err(io)?;
        return Ok(None);
    };
    let head = &bytes[..pos];
    let stream = segment_key(key, blob, &header.uid);
    let mut totals = SegTotals { bytes: pos as u64, ..SegTotals::default() };
    let mut whole = false;
    while let Some(r) = record_at(&bytes, pos) {
        let index = totals.records;
        let opens = match format {
            Format::V1 => key.open(r.sealed, &aad_v1(blob, index, &header.uid)).is_ok(),
            Format::V2 => {
                let a = aad(head, r.duration_ms, r.frames);
                if stream.open(u64::from(index), true, r.sealed, &a).is_ok() {
                    whole = true;
                    pos = r.next;
                    break;
                }
                stream.open(u64::from(index), false, r.sealed, &a).is_ok()
            }
        };
        if !opens {
            break;
        }
        totals.records += 1;
        totals.duration_ms = totals.duration_ms.saturating_add(r.duration_ms);
        totals.frames = totals.frames.saturating_add(r.frames);
        pos = r.next;
        totals.bytes = pos as u64;
    }
    if totals.records == 0 {
        std::fs::remove_file(path).map_err(io)?;
        return Ok(None);
    }
    let mut f = std::fs::OpenOptions::new().write(true).open(path).map_err(io)?;
    f.set_len(pos as u64).map_err(io)?;
    f.seek(SeekFrom::End(0)).map_err(io)?;
    if format == Format::V2 && !whole {
        write_trailer(&mut f, &stream, head, totals.records, totals.bytes)?;
    }
    f.sync_all().map_err(io)?;
    let sealed = if path.extension().is_some_and(|e| e == "seal") {
        path.to_path_buf()
    } else {
        seal_path(path)?
    };
    Ok(Some((sealed, header, totals)))
}

struct Record<'a> {
    duration_ms: u32,
    frames: u32,
    sealed: &'a [u8],
    next: usize,
}

fn record_at(b: &[u8], pos: usize) -> Option<Record<'_>> {
    let head = b.get(pos..pos.checked_add(RECORD_HEAD)?)?;
    let len = u32::from_be_bytes(head[0..4].try_into().ok()?) as usize;
    if len > MAX_RECORD {
        return None;
    }
    let next = pos + RECORD_HEAD + len;
    let sealed = b.get(pos + RECORD_HEAD..next)?;
    Some(Record {
        duration_ms: u32::from_be_bytes(head[4..8].try_into().ok()?),
        frames: u32::from_be_bytes(head[8..12].try_into().ok()?),
        sealed,
        next,
    })
}

/// Opens a whole segment file: the header and the decrypted fragments, in order. A file that
/// was altered, cut short (its trailer missing or not at its end) or is not a segment is
/// `RecordingDamaged`.
pub(crate) fn open_segment(
    bytes: &[u8],
    blob: BlobId,
    key: &AeadKey,
) -> Result<(SegHeader, Vec<Vec<u8>>), CoreError> {
    let damaged = |why: &str| CoreError::RecordingDamaged(format!("segment {blob}: {why}"));
    let (header, format, mut pos) =
        SegHeader::decode(bytes).ok_or_else(|| damaged("not a segment file"))?;
    let head = &bytes[..pos];
    let stream = segment_key(key, blob, &header.uid);
    let mut out = Vec::new();
    let mut whole = format == Format::V1;
    while pos < bytes.len() {
        let r = record_at(bytes, pos).ok_or_else(|| damaged("a record is cut"))?;
        let index = u32::try_from(out.len()).map_err(|_| damaged("too many records"))?;
        let opened = match format {
            Format::V1 => key.open(r.sealed, &aad_v1(blob, index, &header.uid)),
            Format::V2 => {
                let a = aad(head, r.duration_ms, r.frames);
                if let Ok(t) = stream.open(u64::from(index), true, r.sealed, &a) {
                    if r.next != bytes.len() || t[..] != trailer(index, pos as u64)[..] {
                        return Err(damaged("bytes after the trailer, or a wrong count"));
                    }
                    whole = true;
                    break;
                }
                stream.open(u64::from(index), false, r.sealed, &a)
            }
        };
        out.push(opened.map_err(|_| damaged("a record does not open"))?);
        pos = r.next;
    }
    if !whole {
        return Err(damaged("cut short: its trailer is missing"));
    }
    Ok((header, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> SegHeader {
        SegHeader { uid: "KKTEST0001".into(), stream: 0, init_id: 7, start_ms: 1_700_000_000_000 }
    }

    #[test]
    fn written_records_open_in_order() {
        let dir = tempfile::tempdir().expect("tmp");
        let key = AeadKey::generate().expect("key");
        let mut w = SegWriter::create(dir.path(), header(), key.clone()).expect("create");
        w.append(b"one", 1000, 15, true).expect("append");
        w.append(b"two", 1000, 15, false).expect("append");
        let blob = w.blob;
        let path = w.seal().expect("seal");
        let (h, frags) =
            open_segment(&std::fs::read(&path).expect("read"), blob, &key).expect("open");
        assert_eq!(h, header());
        assert_eq!(frags, vec![b"one".to_vec(), b"two".to_vec()]);
    }

    #[test]
    fn recovery_cuts_a_torn_record_and_keeps_the_whole_ones() {
        let dir = tempfile::tempdir().expect("tmp");
        let key = AeadKey::generate().expect("key");
        let mut w = SegWriter::create(dir.path(), header(), key.clone()).expect("create");
        w.append(&[1u8; 500], 1000, 15, true).expect("append");
        w.append(&[2u8; 500], 1000, 15, true).expect("append");
        let (blob, path) = (w.blob, w.path.clone());
        drop(w);
        let len = std::fs::metadata(&path).expect("meta").len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .expect("open")
            .set_len(len - 100)
            .expect("cut");
        let (sealed, h, totals) =
            recover(&path, blob, &key).expect("recover").expect("something left");
        assert_eq!(h.start_ms, header().start_ms);
        assert_eq!((totals.records, totals.duration_ms, totals.frames), (1, 1000, 15));
        let (_, frags) =
            open_segment(&std::fs::read(&sealed).expect("read"), blob, &key).expect("open");
        assert_eq!(frags, vec![vec![1u8; 500]]);
    }

    #[test]
    fn a_record_moved_to_another_segment_does_not_open() {
        let dir = tempfile::tempdir().expect("tmp");
        let key = AeadKey::generate().expect("key");
        let mut w = SegWriter::create(dir.path(), header(), key.clone()).expect("create");
        w.append(b"secret", 1000, 15, false).expect("append");
        let path = w.seal().expect("seal");
        let bytes = std::fs::read(&path).expect("read");
        assert!(open_segment(&bytes, BlobId::new(), &key).is_err());
        assert!(open_segment(&bytes[..bytes.len() - 1], BlobId::new(), &key).is_err());
    }

    fn two_records(dir: &Path, key: &AeadKey) -> (BlobId, Vec<u8>, usize) {
        let mut w = SegWriter::create(dir, header(), key.clone()).expect("create");
        w.append(&[1u8; 300], 1000, 15, false).expect("append");
        let first_end = usize::try_from(w.totals.bytes).expect("small");
        w.append(&[2u8; 300], 1000, 15, false).expect("append");
        let blob = w.blob;
        let path = w.seal().expect("seal");
        (blob, std::fs::read(path).expect("read"), first_end)
    }

    // Fails without the fix: a segment cut at a record boundary opened as shorter footage.
    #[test]
    fn a_segment_cut_at_a_record_boundary_is_damaged_not_short() {
        let dir = tempfile::tempdir().expect("tmp");
        let key = AeadKey::generate().expect("key");
        let (blob, bytes, first_end) = two_records(dir.path(), &key);
        assert_eq!(open_segment(&bytes, blob, &key).expect("whole").1.len(), 2);
        for cut in [first_end, first_end + 1, bytes.len() - 1] {
            let err = open_segment(&bytes[..cut], blob, &key).expect_err("cut short");
            assert_eq!(err.code(), "recording-damaged", "cut at {cut}");
        }
        // Nor may anything follow the trailer.
        let mut longer = bytes.clone();
        longer.extend_from_slice(&bytes[first_end..]);
        assert!(open_segment(&longer, blob, &key).is_err());
    }

    // Fails without the fix: the header (start time, stream, init) and the records' clear
    // durations could be changed without any record failing to open.
    #[test]
    fn the_header_and_record_heads_are_authenticated() {
        let dir = tempfile::tempdir().expect("tmp");
        let key = AeadKey::generate().expect("key");
        let (blob, bytes, _) = two_records(dir.path(), &key);
        let head_len = 22 + header().uid.len();
        for at in [4, 12, 20, head_len + 7, head_len + 11] {
            let mut changed = bytes.clone();
            changed[at] ^= 1;
            let err = open_segment(&changed, blob, &key).expect_err("altered");
            assert_eq!(err.code(), "recording-damaged", "byte {at}");
        }
    }

    #[test]
    fn recovery_writes_the_trailer_and_leaves_a_whole_file_alone() {
        let dir = tempfile::tempdir().expect("tmp");
        let key = AeadKey::generate().expect("key");
        let mut w = SegWriter::create(dir.path(), header(), key.clone()).expect("create");
        w.append(b"one", 1000, 15, true).expect("append");
        let (blob, path) = (w.blob, w.path.clone());
        drop(w);
        let (sealed, _, totals) = recover(&path, blob, &key).expect("recover").expect("kept");
        assert_eq!(totals.records, 1);
        let bytes = std::fs::read(&sealed).expect("read");
        assert_eq!(open_segment(&bytes, blob, &key).expect("opens").1, vec![b"one".to_vec()]);
        // Recovering it again (a crash after the rename) changes nothing.
        let (again, _, totals) = recover(&sealed, blob, &key).expect("recover").expect("kept");
        assert_eq!(totals.records, 1);
        assert_eq!(std::fs::read(again).expect("read"), bytes);
    }

    #[test]
    fn first_format_segments_are_still_read() {
        let key = AeadKey::generate().expect("key");
        let blob = BlobId::new();
        let h = header();
        let mut bytes = h.encode();
        bytes[..4].copy_from_slice(MAGIC_V1);
        for (i, frag) in [b"old-1", b"old-2"].iter().enumerate() {
            let index = u32::try_from(i).expect("small");
            let env = key.seal(*frag, &aad_v1(blob, index, &h.uid)).expect("seal");
            bytes.extend_from_slice(&record_head(env.len(), 1000, 15).expect("head"));
            bytes.extend_from_slice(&env);
        }
        let (got, frags) = open_segment(&bytes, blob, &key).expect("opens");
        assert_eq!(got, h);
        assert_eq!(frags, vec![b"old-1".to_vec(), b"old-2".to_vec()]);
    }
}
