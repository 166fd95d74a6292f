//! A ZIP writer without compression (method 0, "stored"), sans I/O: it returns the bytes to
//! write before and after each entry's data, and the central directory at the end, so the
//! caller streams entries of any size to whatever it writes to (a sealed file, a plain file)
//! with about nothing in memory.
//!
//! Each entry's CRC-32 is known only once its data went by, so entries carry a data descriptor
//! (general purpose flag bit 3) after their data. Names are UTF-8 (flag bit 11). ZIP64
//! (APPNOTE 6.3, section 4.3.9 and 4.4) is used where a size, an offset or the entry count
//! does not fit the classic fields: an entry of 4 GiB or more, an entry starting past 4 GiB,
//! more than 65,534 entries. Media are already compressed, and JSON is small beside them, so
//! storing costs little and keeps the writer small.

use kankan_base::Timestamp;

const LOCAL: u32 = 0x0403_4b50;
const DESCRIPTOR: u32 = 0x0807_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
const END64: u32 = 0x0606_4b50;
const LOCATOR64: u32 = 0x0706_4b50;
/// Data descriptor present; names in UTF-8.
const FLAGS: u16 = (1 << 3) | (1 << 11);
const ZIP64_TAG: u16 = 0x0001;

/// A regular file, mode 0644, made on Unix.
const EXTERNAL_ATTRS: u32 = 0o100_644 << 16;
const MADE_BY_UNIX: u16 = 3 << 8;

/// Checksum of an entry's data as it streams by.
#[derive(Default)]
pub struct Crc(crc32fast::Hasher);

impl Crc {
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    pub fn finish(self) -> u32 {
        self.0.finalize()
    }
}

struct Entry {
    name: String,
    crc: u32,
    size: u64,
    offset: u64,
    zip64: bool,
    time: (u16, u16),
}

struct Open {
    entry: Entry,
    written: u64,
}

/// Builds a ZIP as a sequence of byte runs; see the module documentation.
pub struct ZipWriter {
    offset: u64,
    entries: Vec<Entry>,
    open: Option<Open>,
    /// Sizes and offsets from this on need ZIP64 (`u32::MAX`; lower in tests).
    limit: u64,
    /// Entry counts from this on need ZIP64.
    count_limit: usize,
}

/// A mistake of the caller's: the entries were not written as announced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZipError {
    #[error("an entry is still open")]
    EntryOpen,
    #[error("no entry is open")]
    NoEntry,
    #[error("entry {name}: {written} bytes written of {size} announced")]
    SizeMismatch { name: String, written: u64, size: u64 },
    #[error("entry name {0:?} is empty, too long, absolute or has a .. part")]
    BadName(String),
}

impl Default for ZipWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl ZipWriter {
    pub fn new() -> ZipWriter {
        ZipWriter {
            offset: 0,
            entries: Vec::new(),
            open: None,
            limit: u64::from(u32::MAX),
            count_limit: usize::from(u16::MAX),
        }
    }

    #[cfg(test)]
    fn with_limits(limit: u64, count_limit: usize) -> ZipWriter {
        ZipWriter { limit, count_limit, ..ZipWriter::new() }
    }

    /// Bytes written so far (the archive's length once [`ZipWriter::finish`]'s are too).
    pub fn len(&self) -> u64 {
        self.offset
    }

    pub fn is_empty(&self) -> bool {
        self.offset == 0
    }

    /// Opens an entry of exactly `size` bytes: returns its local header, to be followed by the
    /// data (counted with [`ZipWriter::data`]) and [`ZipWriter::end_entry`]'s bytes.
    pub fn begin_entry(
        &mut self,
        name: &str,
        size: u64,
        modified: Timestamp,
    ) -> Result<Vec<u8>, ZipError> {
        if self.open.is_some() {
            return Err(ZipError::EntryOpen);
        }
        if name.is_empty()
            || name.len() > 1024
            || name.starts_with('/')
            || name.contains('\\')
            || name.split('/').any(|p| p.is_empty() || p == "." || p == "..")
        {
            return Err(ZipError::BadName(name.to_string()));
        }
        let zip64 = size >= self.limit;
        let time = dos_time(modified);
        let mut h = Vec::with_capacity(30 + name.len() + 20);
        put32(&mut h, LOCAL);
        put16(&mut h, if zip64 { 45 } else { 20 });
        put16(&mut h, FLAGS);
        put16(&mut h, 0);
        put16(&mut h, time.0);
        put16(&mut h, time.1);
        put32(&mut h, 0);
        // Sizes and CRC follow in the data descriptor; a ZIP64 entry says so here.
        let sizes = if zip64 { u32::MAX } else { 0 };
        put32(&mut h, sizes);
        put32(&mut h, sizes);
        put16(&mut h, name.len() as u16);
        put16(&mut h, if zip64 { 20 } else { 0 });
        h.extend_from_slice(name.as_bytes());
        if zip64 {
            put16(&mut h, ZIP64_TAG);
            put16(&mut h, 16);
            put64(&mut h, 0);
            put64(&mut h, 0);
        }
        let entry =
            Entry { name: name.to_string(), crc: 0, size, offset: self.offset, zip64, time };
        self.offset += h.len() as u64;
        self.open = Some(Open { entry, written: 0 });
        Ok(h)
    }

    /// Counts `n` bytes of the open entry's data as written.
    pub fn data(&mut self, n: usize) -> Result<(), ZipError> {
        let open = self.open.as_mut().ok_or(ZipError::NoEntry)?;
        open.written += n as u64;
        self.offset += n as u64;
        Ok(())
    }

    /// Closes the open entry: returns its data descriptor.
    pub fn end_entry(&mut self, crc: u32) -> Result<Vec<u8>, ZipError> {
        let open = self.open.take().ok_or(ZipError::NoEntry)?;
        let mut entry = open.entry;
        if open.written != entry.size {
            return Err(ZipError::SizeMismatch {
                name: entry.name,
                written: open.written,
                size: entry.size,
            });
        }
        entry.crc = crc;
        let mut d = Vec::with_capacity(24);
        put32(&mut d, DESCRIPTOR);
        put32(&mut d, crc);
        if entry.zip64 {
            put64(&mut d, entry.size);
            put64(&mut d, entry.size);
        } else {
            put32(&mut d, entry.size as u32);
            put32(&mut d, entry.size as u32);
        }
        self.offset += d.len() as u64;
        self.entries.push(entry);
        Ok(d)
    }

    /// The central directory and end records: the archive's last bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, ZipError> {
        if self.open.is_some() {
            return Err(ZipError::EntryOpen);
        }
        let start = self.offset;
        let mut c = Vec::new();
        for e in &self.entries {
            let big_size = e.size >= self.limit;
            let big_offset = e.offset >= self.limit;
            let mut extra = Vec::new();
            if big_size || big_offset {
                let mut fields = Vec::new();
                if big_size {
                    put64(&mut fields, e.size);
                    put64(&mut fields, e.size);
                }
                if big_offset {
                    put64(&mut fields, e.offset);
                }
                put16(&mut extra, ZIP64_TAG);
                put16(&mut extra, fields.len() as u16);
                extra.extend_from_slice(&fields);
            }
            let needs = if extra.is_empty() { 20 } else { 45 };
            put32(&mut c, CENTRAL);
            put16(&mut c, MADE_BY_UNIX | 45);
            put16(&mut c, needs);
            put16(&mut c, FLAGS);
            put16(&mut c, 0);
            put16(&mut c, e.time.0);
            put16(&mut c, e.time.1);
            put32(&mut c, e.crc);
            let size = if big_size { u32::MAX } else { e.size as u32 };
            put32(&mut c, size);
            put32(&mut c, size);
            put16(&mut c, e.name.len() as u16);
            put16(&mut c, extra.len() as u16);
            put16(&mut c, 0);
            put16(&mut c, 0);
            put16(&mut c, 0);
            put32(&mut c, EXTERNAL_ATTRS);
            put32(&mut c, if big_offset { u32::MAX } else { e.offset as u32 });
            c.extend_from_slice(e.name.as_bytes());
            c.extend_from_slice(&extra);
        }
        let size = c.len() as u64;
        let count = self.entries.len();
        let zip64 = count >= self.count_limit || size >= self.limit || start >= self.limit;
        if zip64 {
            let end64 = start + size;
            put32(&mut c, END64);
            put64(&mut c, 44);
            put16(&mut c, MADE_BY_UNIX | 45);
            put16(&mut c, 45);
            put32(&mut c, 0);
            put32(&mut c, 0);
            put64(&mut c, count as u64);
            put64(&mut c, count as u64);
            put64(&mut c, size);
            put64(&mut c, start);
            put32(&mut c, LOCATOR64);
            put32(&mut c, 0);
            put64(&mut c, end64);
            put32(&mut c, 1);
        }
        let small_count = if zip64 { u16::MAX } else { count as u16 };
        put32(&mut c, END);
        put16(&mut c, 0);
        put16(&mut c, 0);
        put16(&mut c, small_count);
        put16(&mut c, small_count);
        put32(&mut c, if zip64 { u32::MAX } else { size as u32 });
        put32(&mut c, if zip64 { u32::MAX } else { start as u32 });
        put16(&mut c, 0);
        self.offset += c.len() as u64;
        Ok(c)
    }
}

fn put16(b: &mut Vec<u8>, v: u16) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut Vec<u8>, v: u32) {
    b.extend_from_slice(&v.to_le_bytes());
}

fn put64(b: &mut Vec<u8>, v: u64) {
    b.extend_from_slice(&v.to_le_bytes());
}

/// MS-DOS time and date (UTC; 2-second steps; 1980-2107, clamped).
fn dos_time(t: Timestamp) -> (u16, u16) {
    let secs = t.0.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    if y < 1980 {
        return (0, (1 << 5) | 1);
    }
    if y > 2107 {
        return ((23 << 11) | (59 << 5) | 29, (127 << 9) | (12 << 5) | 31);
    }
    let time = ((rem / 3600) << 11) | (((rem % 3600) / 60) << 5) | ((rem % 60) / 2);
    let date = ((y - 1980) << 9) | (i64::from(m) << 5) | i64::from(d);
    (time as u16, date as u16)
}

/// The UTC calendar date of `t`.
pub fn date_of(t: Timestamp) -> (i64, u32, u32) {
    civil_from_days(t.0.div_euclid(86_400_000))
}

/// Year, month, day of a count of days since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes `files` into an archive with the given limits.
    fn archive(files: &[(&str, &[u8])], limit: u64, count_limit: usize) -> Vec<u8> {
        let mut z = ZipWriter::with_limits(limit, count_limit);
        let mut out = Vec::new();
        for (name, data) in files {
            out.extend(
                z.begin_entry(name, data.len() as u64, Timestamp(1_700_000_000_000))
                    .expect("test step"),
            );
            let mut crc = Crc::default();
            crc.update(data);
            out.extend_from_slice(data);
            z.data(data.len()).expect("test step");
            out.extend(z.end_entry(crc.finish()).expect("test step"));
        }
        let len_before = z.len();
        let tail = z.finish().expect("test step");
        assert_eq!(len_before, out.len() as u64, "the writer counts what was written");
        out.extend(tail);
        out
    }

    /// Python's zipfile reads the archive back: names, contents and CRCs (it checks them).
    fn python_reads(zip: &[u8], files: &[(&str, &[u8])]) {
        let dir = tempfile::tempdir().expect("test step");
        let path = dir.path().join("t.zip");
        std::fs::write(&path, zip).expect("test step");
        let script = "import sys, zipfile, json\n\
            z = zipfile.ZipFile(sys.argv[1])\n\
            assert z.testzip() is None\n\
            print(json.dumps([[i.filename, z.read(i).hex(), i.date_time[0]] for i in z.infolist()]))";
        let out = std::process::Command::new("python3")
            .args(["-c", script, path.to_str().expect("test step")])
            .output()
            .expect("python3 runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let got: Vec<(String, String, i64)> =
            serde_json::from_slice(&out.stdout).expect("test step");
        let want: Vec<(String, String, i64)> = files
            .iter()
            .map(|(n, d)| (n.to_string(), d.iter().map(|b| format!("{b:02x}")).collect(), 2023))
            .collect();
        assert_eq!(got, want);
    }

    const FILES: &[(&str, &[u8])] = &[
        ("data.json", b"{\"a\": 1}"),
        ("album/2 pictures/été.jpg", &[0xff, 0xd8, 0, 1, 2, 0xff, 0xd9]),
        ("empty", b""),
    ];

    #[test]
    fn a_classic_archive_reads_back_with_names_contents_and_checksums() {
        python_reads(&archive(FILES, u64::from(u32::MAX), 0xffff), FILES);
    }

    #[test]
    fn sizes_offsets_and_counts_past_the_classic_fields_use_zip64() {
        // Limits lowered so that the first entry's size, the later entries' offsets, the
        // directory's place and the count all take the ZIP64 forms.
        let zip = archive(FILES, 5, 2);
        assert!(zip.windows(4).any(|w| w == END64.to_le_bytes()), "a ZIP64 end record");
        python_reads(&zip, FILES);
    }

    #[test]
    fn an_entry_must_be_as_long_as_announced_and_names_stay_inside() {
        let mut z = ZipWriter::new();
        z.begin_entry("a", 3, Timestamp(0)).expect("test step");
        assert_eq!(z.begin_entry("b", 1, Timestamp(0)), Err(ZipError::EntryOpen));
        z.data(2).expect("test step");
        assert!(matches!(z.end_entry(0), Err(ZipError::SizeMismatch { .. })));
        for bad in ["", "/etc/passwd", "a/../b", "a//b", "a\\b", "./a"] {
            assert!(matches!(z.begin_entry(bad, 0, Timestamp(0)), Err(ZipError::BadName(_))));
        }
    }

    #[test]
    fn dos_times_are_utc_calendar_fields() {
        // 2023-11-14 22:13:20 UTC.
        let (time, date) = dos_time(Timestamp(1_700_000_000_000));
        assert_eq!(time, (22 << 11) | (13 << 5) | 10);
        assert_eq!(date, (43 << 9) | (11 << 5) | 14);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(dos_time(Timestamp(0)), (0, (1 << 5) | 1), "before 1980: its first day");
    }
}
