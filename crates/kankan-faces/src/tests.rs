//! Unit tests of the faces domain: template bytes and distance, names and relations, box clipping.

use super::*;
use crate::gallery::check_name;

fn t(seed: f32) -> Template {
    let mut v = [0f32; TEMPLATE_LEN];
    for (i, x) in v.iter_mut().enumerate() {
        *x = ((i as f32) * 0.37 + seed).sin() * 0.1;
    }
    Template(v)
}

#[test]
fn a_template_round_trips_through_its_bytes_and_refuses_a_wrong_size() {
    let a = t(1.0);
    assert_eq!(Template::from_bytes(&a.to_bytes()), Some(a));
    assert_eq!(Template::from_bytes(&a.to_bytes()[..508]), None);
    let mut nan = a.to_bytes();
    nan[..4].copy_from_slice(&f32::NAN.to_le_bytes());
    assert_eq!(Template::from_bytes(&nan), None, "a value that is not finite");
}

#[test]
fn distance_is_euclidean() {
    let a = Template([0.0; TEMPLATE_LEN]);
    let mut b = [0.0; TEMPLATE_LEN];
    b[0] = 3.0;
    b[1] = 4.0;
    assert!((a.distance(&Template(b)) - 5.0).abs() < 1e-6);
    assert_eq!(t(2.0).distance(&t(2.0)), 0.0);
}

#[test]
fn names_are_trimmed_and_bounded() {
    assert_eq!(check_name("  Mum ").expect("ok"), "Mum");
    for bad in ["", "   ", "a\u{7}b", &"x".repeat(MAX_NAME_CHARS + 1)] {
        assert_eq!(check_name(bad).expect_err("refused").code(), "invalid-face-name");
    }
    assert!(check_name(&"é".repeat(MAX_NAME_CHARS)).is_ok(), "counted in characters");
}

#[test]
fn relations_round_trip() {
    for r in [Relation::Family, Relation::Friend] {
        assert_eq!(Relation::parse(r.as_str()), Some(r));
    }
    assert_eq!(Relation::parse("neighbour"), None);
}
