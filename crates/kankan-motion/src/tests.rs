//! The detector against synthetic frames: still, noisy, moving, zoned, faint, malformed.

use proptest::prelude::*;

use super::*;

const W: usize = 320;
const H: usize = 180;

/// A grey frame with a `size` px square of luma `level` at `(x, y)`, plus seeded noise.
fn frame(square: Option<(usize, usize, usize, u8)>, noise: u8, seed: u64) -> Vec<u8> {
    let mut f = vec![100u8; W * H];
    let mut s = seed | 1;
    for v in &mut f {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let n = (s % (u64::from(noise) * 2 + 1)) as i32 - i32::from(noise);
        *v = (100 + n).clamp(0, 255) as u8;
    }
    if let Some((x, y, size, level)) = square {
        for row in y..(y + size).min(H) {
            for col in x..(x + size).min(W) {
                f[row * W + col] = level;
            }
        }
    }
    f
}

fn feed(d: &mut Detector, f: &[u8], at_ms: i64) -> Option<MotionEvent> {
    d.feed(f, W, H, W, at_ms).expect("a valid frame")
}

/// Feeds a square moving right by 8 px a frame, 200 ms apart, from `t0`; the events.
fn moving(d: &mut Detector, frames: usize, t0: i64, y: usize) -> Vec<MotionEvent> {
    (0..frames)
        .filter_map(|i| {
            feed(d, &frame(Some((20 + 8 * i, y, 40, 230)), 2, i as u64), t0 + 200 * i as i64)
        })
        .collect()
}

#[test]
fn a_still_noisy_picture_has_no_motion() {
    let mut d = Detector::new(MotionConfig::default()).expect("config");
    for i in 0..50 {
        assert_eq!(feed(&mut d, &frame(None, 6, i), i as i64 * 200), None);
    }
    assert!(!d.active());
}

#[test]
fn motion_starts_after_the_debounce_and_ends_after_the_cooldown() {
    let config = MotionConfig { start_frames: 3, cooldown_ms: 1_000, ..MotionConfig::default() };
    let mut d = Detector::new(config).expect("config");
    feed(&mut d, &frame(None, 2, 99), 0);
    let events = moving(&mut d, 10, 200, 60);
    // The first moving frame differs from the still one; three in a row start the event.
    assert_eq!(events.len(), 1, "{events:?}");
    let MotionEvent::Start { at_ms, zone, share } = events[0].clone() else {
        panic!("a start: {events:?}")
    };
    assert_eq!((at_ms, zone), (200, None), "it starts at the first frame of the run");
    assert!(share > 0.0 && share < 0.2, "{share}");
    // Still again: nothing until a second has passed since the last motion (t = 2000).
    let last = 200 + 200 * 9;
    let still = frame(Some((20 + 8 * 9, 60, 40, 230)), 2, 7);
    assert_eq!(feed(&mut d, &still, last + 200), None);
    assert_eq!(feed(&mut d, &still, last + 800), None);
    assert_eq!(
        feed(&mut d, &still, last + 1_000),
        Some(MotionEvent::End { started_ms: 200, at_ms: last })
    );
    assert!(!d.active());
}

#[test]
fn finishing_ends_an_event_in_progress_at_its_last_motion() {
    let config = MotionConfig { start_frames: 1, ..MotionConfig::default() };
    let mut d = Detector::new(config).expect("config");
    assert_eq!(d.finish(0), None, "nothing in progress");
    feed(&mut d, &frame(None, 2, 9), 0);
    let events = moving(&mut d, 3, 200, 60);
    assert!(matches!(events.first(), Some(MotionEvent::Start { at_ms: 200, .. })), "{events:?}");
    assert_eq!(d.finish(5_000), Some(MotionEvent::End { started_ms: 200, at_ms: 600 }));
    assert!(!d.active());
}

#[test]
fn a_single_flicker_does_not_start_an_event() {
    let config = MotionConfig { start_frames: 2, ..MotionConfig::default() };
    let mut d = Detector::new(config).expect("config");
    let still = frame(None, 2, 1);
    feed(&mut d, &still, 0);
    // One frame differs, then the picture is as before: no two moving frames in a row.
    assert_eq!(feed(&mut d, &frame(Some((100, 50, 60, 250)), 2, 2), 200), None);
    assert_eq!(feed(&mut d, &frame(Some((100, 50, 60, 250)), 2, 3), 400), None);
    assert!(!d.active());
}

#[test]
fn only_motion_inside_a_zone_counts_and_names_its_zone() {
    let p = |x, y| Point { x, y };
    let top = Zone::new(vec![p(0.0, 0.0), p(1.0, 0.0), p(1.0, 0.4), p(0.0, 0.4)]).expect("zone");
    let bottom = Zone::new(vec![p(0.0, 0.6), p(1.0, 0.6), p(1.0, 1.0), p(0.0, 1.0)]).expect("z");
    let config = MotionConfig { zones: vec![top, bottom], ..MotionConfig::default() };
    let mut d = Detector::new(config.clone()).expect("config");
    // A square moving across the middle band (y 80..100 of 180) is in neither zone.
    let mut d_mid = Detector::new(MotionConfig { zones: config.zones.clone(), ..config.clone() })
        .expect("config");
    for i in 0..10 {
        let f: Vec<u8> = frame(None, 2, i)
            .iter()
            .enumerate()
            .map(|(k, v)| {
                let (x, y) = (k % W, k / W);
                if (76..104).contains(&y) && x >= 8 * i as usize && x < 8 * i as usize + 40 {
                    240
                } else {
                    *v
                }
            })
            .collect();
        assert_eq!(feed(&mut d_mid, &f, i as i64 * 200), None, "outside the zones");
    }
    feed(&mut d, &frame(None, 2, 50), 0);
    let events = moving(&mut d, 5, 200, 130);
    assert!(
        matches!(events.first(), Some(MotionEvent::Start { zone: Some(1), .. })),
        "in the bottom zone: {events:?}"
    );
}

#[test]
fn sensitivity_decides_whether_a_small_faint_change_counts() {
    let faint = |d: &mut Detector| {
        feed(d, &frame(None, 0, 1), 0);
        (1..6)
            .filter_map(|i| feed(d, &frame(Some((10 + 10 * i, 10, 12, 125)), 0, 1), i as i64 * 200))
            .count()
    };
    let mut keen = Detector::new(MotionConfig { sensitivity: 100, ..MotionConfig::default() })
        .expect("config");
    let mut dull =
        Detector::new(MotionConfig { sensitivity: 1, ..MotionConfig::default() }).expect("config");
    assert_eq!(faint(&mut keen), 1, "sensitivity 100 sees it");
    assert_eq!(faint(&mut dull), 0, "sensitivity 1 does not");
}

#[test]
fn bad_configs_and_frames_are_refused_with_codes() {
    let e = Detector::new(MotionConfig { sensitivity: 0, ..MotionConfig::default() })
        .expect_err("refused");
    assert_eq!(e.code(), "invalid-sensitivity");
    let zones = vec![Zone::full_frame(); MAX_ZONES + 1];
    let e = Detector::new(MotionConfig { zones, ..MotionConfig::default() }).expect_err("refused");
    assert_eq!(e.code(), "too-many-zones");
    let mut d = Detector::new(MotionConfig::default()).expect("config");
    assert_eq!(d.feed(&[0; 10], W, H, W, 0).expect_err("refused").code(), "bad-frame");
    assert_eq!(d.feed(&[0; 10], 4, 2, 3, 0).expect_err("refused").code(), "bad-frame");
    assert_eq!(d.feed(&[], 0, 0, 0, 0).expect_err("refused").code(), "bad-frame");
}

#[test]
fn a_new_frame_size_starts_over_without_a_false_event() {
    let mut d = Detector::new(MotionConfig::default()).expect("config");
    feed(&mut d, &frame(None, 2, 1), 0);
    let small = vec![200u8; 160 * 90];
    assert_eq!(d.feed(&small, 160, 90, 160, 200).expect("valid"), None);
    assert_eq!(d.feed(&small, 160, 90, 160, 400).expect("valid"), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_planes_never_panic(
        width in 0usize..200,
        height in 0usize..120,
        pad in 0usize..8,
        bytes in proptest::collection::vec(any::<u8>(), 0..30_000),
        sensitivity in 1u8..=100,
    ) {
        let mut d = Detector::new(MotionConfig { sensitivity, ..MotionConfig::default() }).expect("config");
        for t in 0..3 {
            let _ = d.feed(&bytes, width, height, width + pad, t * 200);
        }
    }

    #[test]
    fn arbitrary_zones_are_accepted_only_inside_the_frame(
        points in proptest::collection::vec((-0.5f32..1.5, -0.5f32..1.5), 0..40),
    ) {
        let pts: Vec<Point> = points.iter().map(|(x, y)| Point { x: *x, y: *y }).collect();
        if let Ok(z) = Zone::new(pts) {
            prop_assert!(z.points().iter().all(|p| (0.0..=1.0).contains(&p.x) && (0.0..=1.0).contains(&p.y)));
            prop_assert!(z.area() > 0.0);
        }
    }
}
