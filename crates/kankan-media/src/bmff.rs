//! ISO BMFF box framing: box headers, iteration over sibling boxes, and a bounds-checked
//! big-endian field reader. Nothing here allocates in proportion to declared sizes.

use crate::MediaError;

/// A four-character box type.
pub(crate) type FourCc = [u8; 4];

/// `typ` as text: printable ASCII as is, anything else as `\xNN`.
pub(crate) fn fourcc_str(typ: FourCc) -> String {
    let mut s = String::with_capacity(4);
    for b in typ {
        if b.is_ascii_graphic() || b == b' ' {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

/// The parsed header of one box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BoxHeader {
    pub typ: FourCc,
    /// 8, or 16 with a 64-bit size.
    pub header_len: usize,
    /// The whole box size including the header; `None` when the box extends to the end.
    pub size: Option<u64>,
}

/// Reads a box header from the start of `data`; `Ok(None)` when more bytes are needed.
pub(crate) fn read_header(data: &[u8]) -> Result<Option<BoxHeader>, MediaError> {
    let (Some(size), Some(typ)) = (data.get(0..4), data.get(4..8)) else {
        return Ok(None);
    };
    let size32 = u32::from_be_bytes([size[0], size[1], size[2], size[3]]);
    let typ: FourCc = [typ[0], typ[1], typ[2], typ[3]];
    match size32 {
        0 => Ok(Some(BoxHeader { typ, header_len: 8, size: None })),
        1 => {
            let Some(large) = data.get(8..16) else { return Ok(None) };
            let mut b = [0u8; 8];
            b.copy_from_slice(large);
            let large = u64::from_be_bytes(b);
            if large < 16 {
                return Err(MediaError::bad_box(
                    fourcc_str(typ),
                    format!("64-bit size {large} is smaller than its 16-byte header"),
                ));
            }
            Ok(Some(BoxHeader { typ, header_len: 16, size: Some(large) }))
        }
        n if n < 8 => Err(MediaError::bad_box(
            fourcc_str(typ),
            format!("size {n} is smaller than its 8-byte header"),
        )),
        n => Ok(Some(BoxHeader { typ, header_len: 8, size: Some(u64::from(n)) })),
    }
}

/// One complete box inside a byte slice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BoxRef<'a> {
    pub typ: FourCc,
    /// Offset of the box's first header byte within the slice iterated over.
    pub start: usize,
    pub header_len: usize,
    pub body: &'a [u8],
    /// The whole box, header included.
    pub raw: &'a [u8],
}

impl BoxRef<'_> {
    /// Offset just past the box within the slice iterated over.
    pub fn end(&self) -> usize {
        self.start + self.header_len + self.body.len()
    }

    /// The box type as text.
    pub fn name(&self) -> String {
        fourcc_str(self.typ)
    }
}

/// Iterates over the sibling boxes that fill `data` exactly; stops after the first error.
pub(crate) struct Boxes<'a> {
    data: &'a [u8],
    pos: usize,
    parent: &'static str,
    to_end_ok: Option<FourCc>,
    done: bool,
}

impl<'a> Boxes<'a> {
    /// The boxes inside `parent` (used in messages). Size 0 ("to the end") is refused.
    pub fn new(data: &'a [u8], parent: &'static str) -> Self {
        Boxes { data, pos: 0, parent, to_end_ok: None, done: false }
    }

    /// Allows size 0 ("extends to the end") for boxes of type `typ` only.
    pub fn allow_to_end(mut self, typ: FourCc) -> Self {
        self.to_end_ok = Some(typ);
        self
    }

    fn next_box(&mut self) -> Result<Option<BoxRef<'a>>, MediaError> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        if rest.is_empty() {
            return Ok(None);
        }
        let Some(h) = read_header(rest)? else {
            // A few zero bytes closing a container (QuickTime's terminator) are harmless.
            if self.parent != "top level" && rest.iter().all(|&b| b == 0) {
                return Ok(None);
            }
            return Err(MediaError::Truncated {
                what: format!("box header in {}", self.parent),
                needed: if rest.len() < 8 { 8 } else { 16 },
                available: rest.len() as u64,
            });
        };
        let size = match h.size {
            Some(s) => s,
            None if self.to_end_ok == Some(h.typ) => rest.len() as u64,
            None => {
                return Err(MediaError::bad_box(
                    fourcc_str(h.typ),
                    format!("size 0 (to the end) is not allowed in {}", self.parent),
                ));
            }
        };
        if size > rest.len() as u64 {
            return Err(MediaError::Truncated {
                what: format!("'{}' box in {}", fourcc_str(h.typ), self.parent),
                needed: size,
                available: rest.len() as u64,
            });
        }
        // size <= rest.len(), so it fits in usize.
        let size = size as usize;
        let b = BoxRef {
            typ: h.typ,
            start: self.pos,
            header_len: h.header_len,
            body: rest.get(h.header_len..size).unwrap_or_default(),
            raw: rest.get(..size).unwrap_or_default(),
        };
        self.pos += size;
        Ok(Some(b))
    }
}

impl<'a> Iterator for Boxes<'a> {
    type Item = Result<BoxRef<'a>, MediaError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_box() {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Collects the children of a container, for lookups by type.
pub(crate) fn children<'a>(
    data: &'a [u8],
    parent: &'static str,
) -> Result<Vec<BoxRef<'a>>, MediaError> {
    Boxes::new(data, parent).collect()
}

/// The first child of type `typ`, if any.
pub(crate) fn find<'a>(kids: &[BoxRef<'a>], typ: &FourCc) -> Option<BoxRef<'a>> {
    kids.iter().find(|b| &b.typ == typ).copied()
}

/// The first child of type `typ`, or a [`MediaError::MissingBox`] naming `parent`.
pub(crate) fn require<'a>(
    kids: &[BoxRef<'a>],
    typ: &FourCc,
    parent: &str,
) -> Result<BoxRef<'a>, MediaError> {
    find(kids, typ).ok_or_else(|| MediaError::missing(fourcc_str(*typ), format!("in {parent}")))
}

/// A bounds-checked big-endian reader over one box body.
pub(crate) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    box_name: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8], box_name: &'static str) -> Self {
        Reader { data, pos: 0, box_name }
    }

    pub fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8], MediaError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len()).ok_or_else(|| {
            MediaError::bad_box(
                self.box_name,
                format!(
                    "body ends inside field {field} (needs {n} bytes, {} left)",
                    self.remaining()
                ),
            )
        })?;
        let s = self.data.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        Ok(s)
    }

    pub fn skip(&mut self, n: usize, field: &str) -> Result<(), MediaError> {
        self.take(n, field).map(|_| ())
    }

    fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N], MediaError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, field)?);
        Ok(a)
    }

    pub fn u8(&mut self, field: &str) -> Result<u8, MediaError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub fn u16(&mut self, field: &str) -> Result<u16, MediaError> {
        self.array(field).map(u16::from_be_bytes)
    }

    pub fn u32(&mut self, field: &str) -> Result<u32, MediaError> {
        self.array(field).map(u32::from_be_bytes)
    }

    pub fn i32(&mut self, field: &str) -> Result<i32, MediaError> {
        self.array(field).map(i32::from_be_bytes)
    }

    pub fn u64(&mut self, field: &str) -> Result<u64, MediaError> {
        self.array(field).map(u64::from_be_bytes)
    }

    /// The version and flags of a full box.
    pub fn full_box(&mut self) -> Result<(u8, u32), MediaError> {
        let vf = self.u32("version/flags")?;
        Ok(((vf >> 24) as u8, vf & 0x00ff_ffff))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_sizes_are_checked() {
        assert_eq!(read_header(b"\0\0\0"), Ok(None));
        let h = read_header(b"\0\0\0\x10moof").expect("valid");
        assert_eq!(h, Some(BoxHeader { typ: *b"moof", header_len: 8, size: Some(16) }));
        let e = read_header(b"\0\0\0\x04moof").expect_err("too small");
        assert_eq!(e.code(), "media-bad-box");
        assert_eq!(read_header(b"\0\0\0\x01mdat\0\0"), Ok(None));
        let large = read_header(b"\0\0\0\x01mdat\0\0\0\0\0\0\0\x20").expect("valid");
        assert_eq!(large.map(|h| (h.header_len, h.size)), Some((16, Some(32))));
        let to_end = read_header(b"\0\0\0\0mdat").expect("valid");
        assert_eq!(to_end.map(|h| h.size), Some(None));
    }

    #[test]
    fn boxes_iterate_and_stop_at_the_first_error() {
        let data = b"\0\0\0\x09free!\0\0\0\x10skip";
        let mut it = Boxes::new(data, "test");
        let first = it.next().expect("one").expect("valid");
        assert_eq!((first.typ, first.body), (*b"free", b"!".as_slice()));
        let e = it.next().expect("two").expect_err("truncated");
        assert_eq!(e.code(), "media-truncated");
        assert!(it.next().is_none());
    }

    #[test]
    fn unprintable_types_are_escaped() {
        assert_eq!(fourcc_str([b'a', 0, 0xa9, b' ']), "a\\x00\\xa9 ");
    }

    #[test]
    fn reader_refuses_reads_past_the_body() {
        let mut r = Reader::new(&[1, 2, 3], "tfhd");
        assert_eq!(r.u16("a"), Ok(0x0102));
        let e = r.u32("track_id").expect_err("short");
        assert!(e.to_string().contains("track_id"), "{e}");
    }
}
