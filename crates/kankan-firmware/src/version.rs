//! Comparing firmware versions: dot- or dash-separated parts, numbers by value, other parts
//! by their text (`1.10.0` is newer than `1.9.2`).

use std::cmp::Ordering;

/// Orders two versions part by part; a version that is a prefix of the other is older.
pub fn version_cmp(a: &str, b: &str) -> Ordering {
    let parts = |s: &str| s.trim().split(['.', '-', '+']).map(String::from).collect::<Vec<_>>();
    let (pa, pb) = (parts(a), parts(b));
    for (x, y) in pa.iter().zip(pb.iter()) {
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(m), Ok(n)) => m.cmp(&n),
            (Ok(_), Err(_)) => Ordering::Greater,
            (Err(_), Ok(_)) => Ordering::Less,
            (Err(_), Err(_)) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    pa.len().cmp(&pb.len())
}

/// `candidate` is newer than `installed`.
pub fn newer(candidate: &str, installed: &str) -> bool {
    version_cmp(candidate, installed) == Ordering::Greater
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn versions_compare_by_number_part_by_part() {
        assert!(newer("1.1", "1.0"));
        assert!(newer("1.10.0", "1.9.2"));
        assert!(newer("1.0.1", "1.0"));
        assert!(!newer("1.0", "1.0"));
        assert!(!newer("0.9", "1.0"));
        assert!(newer("2.0.0-rc2", "2.0.0-rc1"));
    }

    proptest! {
        #[test]
        fn the_order_is_antisymmetric(a in "[0-9a-z.]{0,12}", b in "[0-9a-z.]{0,12}") {
            prop_assert_eq!(version_cmp(&a, &b), version_cmp(&b, &a).reverse());
        }
    }
}
