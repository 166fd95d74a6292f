//! The `Range` header of a resumed download: `bytes=N-` (and `bytes=N-M`), one range only.

/// What a `Range` header asks of a body of `len` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeAsk {
    /// No usable range: send everything (200). A header we do not understand (another
    /// unit, several ranges) is ignored, as RFC 9110 allows.
    Full,
    /// Bytes `start..=end` (206).
    Part { start: u64, end: u64 },
    /// A start at or past the end (416).
    Unsatisfiable,
}

/// Parses a `Range` header value against a body of `len` bytes.
pub fn parse_range(value: Option<&str>, len: u64) -> RangeAsk {
    let Some(v) = value else { return RangeAsk::Full };
    let Some(spec) = v.trim().strip_prefix("bytes=") else { return RangeAsk::Full };
    if spec.contains(',') {
        return RangeAsk::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else { return RangeAsk::Full };
    let (a, b) = (a.trim(), b.trim());
    let digits = |s: &str| !s.is_empty() && s.len() <= 19 && s.bytes().all(|c| c.is_ascii_digit());
    if a.is_empty() {
        // A suffix: the last N bytes.
        if !digits(b) {
            return RangeAsk::Full;
        }
        let n: u64 = b.parse().unwrap_or(0);
        if n == 0 || len == 0 {
            return RangeAsk::Unsatisfiable;
        }
        return RangeAsk::Part { start: len.saturating_sub(n), end: len - 1 };
    }
    if !digits(a) || !(b.is_empty() || digits(b)) {
        return RangeAsk::Full;
    }
    let start: u64 = a.parse().unwrap_or(u64::MAX);
    if start >= len {
        return RangeAsk::Unsatisfiable;
    }
    let end =
        if b.is_empty() { len - 1 } else { b.parse::<u64>().unwrap_or(u64::MAX).min(len - 1) };
    if end < start {
        return RangeAsk::Full;
    }
    RangeAsk::Part { start, end }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_open_range_resumes_from_its_start() {
        assert_eq!(parse_range(Some("bytes=100-"), 1000), RangeAsk::Part { start: 100, end: 999 });
        assert_eq!(parse_range(Some("bytes=0-9"), 1000), RangeAsk::Part { start: 0, end: 9 });
        assert_eq!(parse_range(Some("bytes=-10"), 1000), RangeAsk::Part { start: 990, end: 999 });
        assert_eq!(parse_range(Some("bytes=1000-"), 1000), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=5-2000"), 10), RangeAsk::Part { start: 5, end: 9 });
        assert_eq!(parse_range(None, 10), RangeAsk::Full);
        assert_eq!(parse_range(Some("items=1-"), 10), RangeAsk::Full);
        assert_eq!(parse_range(Some("bytes=1-2,4-5"), 10), RangeAsk::Full);
        assert_eq!(parse_range(Some("bytes=x-"), 10), RangeAsk::Full);
        assert_eq!(parse_range(Some("bytes=5-3"), 10), RangeAsk::Full);
    }

    proptest! {
        #[test]
        fn any_header_gives_a_range_inside_the_body(v in ".{0,40}", len in 0u64..5000) {
            match parse_range(Some(&v), len) {
                RangeAsk::Part { start, end } => prop_assert!(start <= end && end < len),
                RangeAsk::Full | RangeAsk::Unsatisfiable => {}
            }
        }

        #[test]
        fn a_resume_from_any_offset_inside_is_served_to_the_end(n in 0u64..10_000, extra in 1u64..10_000) {
            let len = n + extra;
            prop_assert_eq!(
                parse_range(Some(&format!("bytes={n}-")), len),
                RangeAsk::Part { start: n, end: len - 1 }
            );
        }

        #[test]
        fn digits_and_dashes_never_panic(v in "bytes=[0-9-]{0,30}", len in 0u64..u64::MAX) {
            let _ = parse_range(Some(&v), len);
        }
    }
}
