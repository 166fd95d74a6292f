//! The synthetic scene: motion on and off, as a motion detector will see it.

use kankan_video::{Rect, Scene, Yuv420};

/// Luma pixels outside `excluded` that differ between `a` and `b`, with where they lie.
fn changed_pixels(a: &Yuv420, b: &Yuv420, excluded: Rect) -> Vec<(u32, u32)> {
    let mut changed = Vec::new();
    for y in 0..a.height() {
        for x in 0..a.width() {
            if !excluded.contains(x, y) && a.luma(x, y) != b.luma(x, y) {
                changed.push((x, y));
            }
        }
    }
    changed
}

#[test]
fn with_motion_consecutive_frames_differ_only_where_the_objects_are() {
    let scene = Scene::new(640, 360, 5).expect("scene");
    for i in [0, 7, 100] {
        let (a, b) = (scene.render(i, 1000), scene.render(i + 1, 1066));
        let changed = changed_pixels(&a, &b, scene.clock_area());
        assert!(changed.len() > 500, "frame {i}: only {} pixels changed", changed.len());
        let objects: Vec<Rect> =
            scene.object_areas(i).into_iter().chain(scene.object_areas(i + 1)).collect();
        for (x, y) in changed {
            assert!(objects.iter().any(|r| r.contains(x, y)), "({x}, {y}) changed off the objects");
        }
    }
}

#[test]
fn without_motion_only_the_clock_changes() {
    let scene = Scene::new(640, 360, 5).expect("scene").with_motion(false);
    let (a, b) = (scene.render(3, 1000), scene.render(4, 1066));
    assert_ne!(a, b, "the clock still ticks");
    assert!(changed_pixels(&a, &b, scene.clock_area()).is_empty());
    assert_eq!(scene.object_areas(3), scene.object_areas(400));
}
