//! A bounded CBOR (RFC 8949) decoder for what WebAuthn sends: attestation objects and COSE
//! keys. Definite lengths only (CTAP2's canonical form); unsigned and negative integers, byte
//! and text strings, arrays, maps, `true`, `false` and `null`. Tags, floats, `undefined` and
//! indefinite lengths are refused.
//!
//! Invariants: it never panics and never allocates more than the input could hold (a length is
//! checked against the bytes left before anything is reserved); nesting is at most
//! [`MAX_DEPTH`] deep and a container holds at most [`MAX_ITEMS`] items.

/// The deepest nesting accepted (WebAuthn needs 3).
pub const MAX_DEPTH: usize = 16;
/// The most items in one array or map.
pub const MAX_ITEMS: usize = 1024;

/// A decoded CBOR item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// An unsigned or negative integer (CBOR's range: -2^64 ..= 2^64 - 1).
    Int(i128),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Value>),
    /// Pairs in the order sent.
    Map(Vec<(Value, Value)>),
    Bool(bool),
    Null,
}

impl Value {
    /// The value under integer key `k` of a map.
    pub fn get_int(&self, k: i128) -> Option<&Value> {
        self.map()?.iter().find(|(key, _)| *key == Value::Int(k)).map(|(_, v)| v)
    }

    /// The value under text key `k` of a map.
    pub fn get_text(&self, k: &str) -> Option<&Value> {
        self.map()?.iter().find(|(key, _)| matches!(key, Value::Text(t) if t == k)).map(|(_, v)| v)
    }

    pub fn map(&self) -> Option<&[(Value, Value)]> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn int(&self) -> Option<i128> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
}

/// Why bytes are not acceptable CBOR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CborError {
    #[error("the CBOR ends early")]
    Truncated,
    #[error("the CBOR nests too deep")]
    TooDeep,
    #[error("a CBOR container holds too many items")]
    TooMany,
    #[error("the CBOR uses something WebAuthn does not (tag, float, indefinite length)")]
    Unsupported,
    #[error("a CBOR text string is not UTF-8")]
    BadText,
    #[error("bytes follow the CBOR item")]
    Trailing,
    #[error("a CBOR map repeats a key")]
    DuplicateKey,
}

/// Decodes exactly one item filling `bytes`.
pub fn decode(bytes: &[u8]) -> Result<Value, CborError> {
    let (v, rest) = decode_prefix(bytes)?;
    if !rest.is_empty() {
        return Err(CborError::Trailing);
    }
    Ok(v)
}

/// Decodes the item at the start of `bytes`; answers it and the bytes after it.
pub fn decode_prefix(bytes: &[u8]) -> Result<(Value, &[u8]), CborError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let v = r.item(0)?;
    Ok((v, &bytes[r.pos..]))
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&[u8], CborError> {
        if n > self.left() {
            return Err(CborError::Truncated);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, CborError> {
        Ok(self.take(1)?[0])
    }

    /// The argument of a head whose additional information is `info`.
    fn argument(&mut self, info: u8) -> Result<u64, CborError> {
        let n = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            _ => return Err(CborError::Unsupported),
        };
        Ok(self.take(n)?.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// A length that must fit in what is left (each item needs at least `min_each` bytes).
    fn length(&mut self, info: u8, min_each: usize) -> Result<usize, CborError> {
        let n = self.argument(info)?;
        let n = usize::try_from(n).map_err(|_| CborError::Truncated)?;
        if n.saturating_mul(min_each) > self.left() {
            return Err(CborError::Truncated);
        }
        Ok(n)
    }

    fn item(&mut self, depth: usize) -> Result<Value, CborError> {
        if depth >= MAX_DEPTH {
            return Err(CborError::TooDeep);
        }
        let head = self.byte()?;
        let (major, info) = (head >> 5, head & 0x1f);
        match major {
            0 => Ok(Value::Int(i128::from(self.argument(info)?))),
            1 => Ok(Value::Int(-1 - i128::from(self.argument(info)?))),
            2 => {
                let n = self.length(info, 1)?;
                Ok(Value::Bytes(self.take(n)?.to_vec()))
            }
            3 => {
                let n = self.length(info, 1)?;
                let s = std::str::from_utf8(self.take(n)?).map_err(|_| CborError::BadText)?;
                Ok(Value::Text(s.to_string()))
            }
            4 => {
                let n = self.length(info, 1)?;
                if n > MAX_ITEMS {
                    return Err(CborError::TooMany);
                }
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.item(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            5 => {
                let n = self.length(info, 2)?;
                if n > MAX_ITEMS {
                    return Err(CborError::TooMany);
                }
                let mut pairs: Vec<(Value, Value)> = Vec::with_capacity(n);
                for _ in 0..n {
                    let k = self.item(depth + 1)?;
                    let v = self.item(depth + 1)?;
                    if pairs.iter().any(|(seen, _)| *seen == k) {
                        return Err(CborError::DuplicateKey);
                    }
                    pairs.push((k, v));
                }
                Ok(Value::Map(pairs))
            }
            7 => match info {
                20 => Ok(Value::Bool(false)),
                21 => Ok(Value::Bool(true)),
                22 => Ok(Value::Null),
                _ => Err(CborError::Unsupported),
            },
            _ => Err(CborError::Unsupported),
        }
    }
}

/// Encodes a value (definite lengths, shortest heads): for the software authenticator of the
/// tests. Integers outside CBOR's range are clamped.
#[cfg(any(test, feature = "encode"))]
pub fn encode(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(v, &mut out);
    out
}

#[cfg(any(test, feature = "encode"))]
fn head(major: u8, arg: u64, out: &mut Vec<u8>) {
    let m = major << 5;
    match arg {
        0..=23 => out.push(m | arg as u8),
        24..=0xff => out.extend([m | 24, arg as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((arg as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend((arg as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend(arg.to_be_bytes());
        }
    }
}

#[cfg(any(test, feature = "encode"))]
fn encode_into(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Int(i) if *i >= 0 => head(0, u64::try_from(*i).unwrap_or(u64::MAX), out),
        Value::Int(i) => head(1, u64::try_from(-1 - *i).unwrap_or(u64::MAX), out),
        Value::Bytes(b) => {
            head(2, b.len() as u64, out);
            out.extend(b);
        }
        Value::Text(t) => {
            head(3, t.len() as u64, out);
            out.extend(t.as_bytes());
        }
        Value::Array(a) => {
            head(4, a.len() as u64, out);
            a.iter().for_each(|x| encode_into(x, out));
        }
        Value::Map(m) => {
            head(5, m.len() as u64, out);
            for (k, x) in m {
                encode_into(k, out);
                encode_into(x, out);
            }
        }
        Value::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
        Value::Null => out.push(0xf6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            (-(1i128 << 64)..(1i128 << 64)).prop_map(Value::Int),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
            ".{0,20}".prop_map(Value::Text),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                // Distinct integer keys, as COSE keys have.
                proptest::collection::btree_map(any::<i64>(), inner, 0..8).prop_map(|m| {
                    Value::Map(m.into_iter().map(|(k, v)| (Value::Int(i128::from(k)), v)).collect())
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_bytes_decode_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&bytes);
            let _ = decode_prefix(&bytes);
        }

        #[test]
        fn encoded_values_decode_to_themselves(v in value()) {
            let bytes = encode(&v);
            prop_assert_eq!(decode(&bytes), Ok(v));
        }

        #[test]
        fn a_truncated_encoding_is_refused(v in value(), cut in 1usize..64) {
            let bytes = encode(&v);
            let cut = cut.min(bytes.len());
            prop_assert!(decode(&bytes[..bytes.len() - cut]).is_err());
        }
    }

    #[test]
    fn a_huge_declared_length_is_refused_before_allocating() {
        // A byte string claiming 2^63 bytes, an array claiming 2^32 items.
        assert_eq!(decode(&[0x5b, 0x80, 0, 0, 0, 0, 0, 0, 0]), Err(CborError::Truncated));
        assert_eq!(decode(&[0x9a, 0xff, 0xff, 0xff, 0xff]), Err(CborError::Truncated));
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_refused() {
        let deep = vec![0x81u8; MAX_DEPTH + 1];
        assert_eq!(decode(&deep), Err(CborError::TooDeep));
        let mut ok = vec![0x81u8; MAX_DEPTH - 1];
        ok.push(0xf6);
        assert!(decode(&ok).is_ok());
    }

    #[test]
    fn tags_floats_and_indefinite_lengths_are_refused() {
        for bytes in [&[0xc0, 0x01][..], &[0xf9, 0, 0], &[0x9f, 0xff], &[0x5f, 0xff]] {
            assert_eq!(decode(bytes), Err(CborError::Unsupported), "{bytes:?}");
        }
    }

    #[test]
    fn a_repeated_map_key_and_trailing_bytes_are_refused() {
        assert_eq!(decode(&[0xa2, 0x01, 0x01, 0x01, 0x02]), Err(CborError::DuplicateKey));
        assert_eq!(decode(&[0x01, 0x02]), Err(CborError::Trailing));
        assert_eq!(decode_prefix(&[0x01, 0x02]), Ok((Value::Int(1), &[0x02u8][..])));
    }

    #[test]
    fn integers_at_cbors_limits_decode() {
        let max = [0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(decode(&max), Ok(Value::Int(i128::from(u64::MAX))));
        let min = [0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(decode(&min), Ok(Value::Int(-1 - i128::from(u64::MAX))));
        assert_eq!(decode(&[0x38, 0x18]), Ok(Value::Int(-25)));
    }
}
