//! The sealed segment file: the on-disk form of a recorded segment, both while it grows in
//! the journal directory and once it is a blob.
//!
//! ```text
//! "KKS1" | u8 stream | i64 init_id | i64 start_ms | u8 uid_len | uid
//! then records: u32 len | u32 duration_ms | u32 frames | AES-256-GCM envelope of one fragment
//! ```
//!
//! Each record is sealed under the device's data key with the segment's blob id, the record's
//! index and the UID as associated data, so records cannot be reordered, moved between
//! segments or between devices. The file only grows by whole records; a crash leaves at most
//! one torn record at the end, which recovery cuts off. All integers are big-endian.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use kankan_base::BlobId;
use kankan_crypto::AeadKey;

use crate::CoreError;

const MAGIC: &[u8; 4] = b"KKS1";
const RECORD_HEAD: usize = 12;
/// The largest record a reader accepts (a fragment is at most 8 MiB, plus the envelope).
const MAX_RECORD: usize = 9 * 1024 * 1024;

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

    fn decode(b: &[u8]) -> Option<(SegHeader, usize)> {
        if b.len() < 22 || &b[..4] != MAGIC {
            return None;
        }
        let init_id = i64::from_be_bytes(b[5..13].try_into().ok()?);
        let start_ms = i64::from_be_bytes(b[13..21].try_into().ok()?);
        let n = usize::from(b[21]);
        let uid = std::str::from_utf8(b.get(22..22 + n)?).ok()?.to_string();
        Some((SegHeader { uid, stream: b[4], init_id, start_ms }, 22 + n))
    }
}

fn aad(blob: BlobId, index: u32, uid: &str) -> Vec<u8> {
    let mut a = Vec::with_capacity(40 + uid.len());
    a.extend_from_slice(b"kankan/segment/v1");
    a.extend_from_slice(blob.0.as_bytes());
    a.extend_from_slice(&index.to_be_bytes());
    a.extend_from_slice(uid.as_bytes());
    a
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
    key: AeadKey,
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
        Ok(SegWriter { file, path, blob, header, key, totals })
    }

    /// Appends one fragment; with `sync` it is on disk when this returns (the checkpoint).
    pub fn append(
        &mut self,
        fragment: &[u8],
        duration_ms: u32,
        frames: u32,
        sync: bool,
    ) -> Result<(), CoreError> {
        let env =
            self.key.seal(fragment, &aad(self.blob, self.totals.records, &self.header.uid))?;
        let len = u32::try_from(env.len())
            .map_err(|_| CoreError::Internal("fragment too large for a record".into()))?;
        let mut head = [0u8; RECORD_HEAD];
        head[0..4].copy_from_slice(&len.to_be_bytes());
        head[4..8].copy_from_slice(&duration_ms.to_be_bytes());
        head[8..12].copy_from_slice(&frames.to_be_bytes());
        self.file.write_all(&head).map_err(io)?;
        self.file.write_all(&env).map_err(io)?;
        if sync {
            self.file.sync_data().map_err(io)?;
        }
        let t = &mut self.totals;
        t.records += 1;
        t.duration_ms = t.duration_ms.saturating_add(duration_ms);
        t.frames = t.frames.saturating_add(frames);
        t.bytes += (RECORD_HEAD + env.len()) as u64;
        Ok(())
    }

    /// Makes the file durable and marks it complete (`<blob>.seal`), ready to be indexed.
    pub fn seal(self) -> Result<PathBuf, CoreError> {
        self.file.sync_all().map_err(io)?;
        seal_path(&self.path)
    }

    /// Drops an empty segment's file.
    pub fn discard(self) -> Result<(), CoreError> {
        std::fs::remove_file(&self.path).map_err(io)
    }
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
        .map(|(h, _)| h)
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
/// rest, and marks it sealed. `None` if nothing usable was left (the file is removed).
pub(crate) fn recover(
    path: &Path,
    blob: BlobId,
    key: &AeadKey,
) -> Result<Option<(PathBuf, SegHeader, SegTotals)>, CoreError> {
    let bytes = std::fs::read(path).map_err(io)?;
    let Some((header, mut pos)) = SegHeader::decode(&bytes) else {
        std::fs::remove_file(path).map_err(io)?;
        return Ok(None);
    };
    let mut totals = SegTotals { bytes: pos as u64, ..SegTotals::default() };
    while let Some(r) = record_at(&bytes, pos) {
        if key.open(r.envelope, &aad(blob, totals.records, &header.uid)).is_err() {
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
    envelope: &'a [u8],
    next: usize,
}

fn record_at(b: &[u8], pos: usize) -> Option<Record<'_>> {
    let head = b.get(pos..pos + RECORD_HEAD)?;
    let len = u32::from_be_bytes(head[0..4].try_into().ok()?) as usize;
    if len > MAX_RECORD {
        return None;
    }
    let envelope = b.get(pos + RECORD_HEAD..pos + RECORD_HEAD + len)?;
    Some(Record {
        duration_ms: u32::from_be_bytes(head[4..8].try_into().ok()?),
        frames: u32::from_be_bytes(head[8..12].try_into().ok()?),
        envelope,
        next: pos + RECORD_HEAD + len,
    })
}

/// Opens a whole segment file: the header and the decrypted fragments, in order.
pub(crate) fn open_segment(
    bytes: &[u8],
    blob: BlobId,
    key: &AeadKey,
) -> Result<(SegHeader, Vec<Vec<u8>>), CoreError> {
    let corrupt = || CoreError::Internal(format!("segment {blob} is corrupt"));
    let (header, mut pos) = SegHeader::decode(bytes).ok_or_else(corrupt)?;
    let mut out = Vec::new();
    while pos < bytes.len() {
        let r = record_at(bytes, pos).ok_or_else(corrupt)?;
        let index = u32::try_from(out.len()).map_err(|_| corrupt())?;
        out.push(key.open(r.envelope, &aad(blob, index, &header.uid))?);
        pos = r.next;
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
}
