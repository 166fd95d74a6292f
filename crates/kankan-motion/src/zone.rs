//! Activity zones: polygons drawn on a snapshot, in coordinates relative to the frame
//! (0.0 left/top to 1.0 right/bottom), so they survive a change of resolution.

use crate::MotionError;

/// Most corners a zone may have.
pub const MAX_POINTS: usize = 32;
/// Most zones a camera may have.
pub const MAX_ZONES: usize = 8;
/// A zone must cover at least this share of the frame (a sliver is a mistake).
const MIN_AREA: f32 = 0.0005;

/// A point of a zone, relative to the frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

/// A polygon of at least three corners inside the frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Zone {
    points: Vec<Point>,
}

impl Zone {
    /// Checks the polygon: 3 to [`MAX_POINTS`] corners, each inside the frame, with an area.
    pub fn new(points: Vec<Point>) -> Result<Zone, MotionError> {
        if points.len() < 3 || points.len() > MAX_POINTS {
            return Err(MotionError::ZonePoints { count: points.len() });
        }
        let inside = |v: f32| v.is_finite() && (0.0..=1.0).contains(&v);
        if let Some(p) = points.iter().find(|p| !inside(p.x) || !inside(p.y)) {
            return Err(MotionError::ZoneOutsideFrame { x: p.x, y: p.y });
        }
        let zone = Zone { points };
        if zone.area() < MIN_AREA {
            return Err(MotionError::ZoneDegenerate);
        }
        Ok(zone)
    }

    /// The whole frame.
    pub fn full_frame() -> Zone {
        let p = |x, y| Point { x, y };
        Zone { points: vec![p(0.0, 0.0), p(1.0, 0.0), p(1.0, 1.0), p(0.0, 1.0)] }
    }

    pub fn points(&self) -> &[Point] {
        &self.points
    }

    /// The polygon's area as a share of the frame (shoelace formula).
    pub fn area(&self) -> f32 {
        let n = self.points.len();
        let twice: f32 = (0..n)
            .map(|i| {
                let (a, b) = (self.points[i], self.points[(i + 1) % n]);
                a.x * b.y - b.x * a.y
            })
            .sum();
        twice.abs() / 2.0
    }

    /// Whether `(x, y)` lies inside (even-odd rule).
    pub fn contains(&self, x: f32, y: f32) -> bool {
        let n = self.points.len();
        let mut inside = false;
        for i in 0..n {
            let (a, b) = (self.points[i], self.points[(i + n - 1) % n]);
            if (a.y > y) != (b.y > y) && x < (b.x - a.x) * (y - a.y) / (b.y - a.y) + a.x {
                inside = !inside;
            }
        }
        inside
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(x: f32, y: f32) -> Point {
        Point { x, y }
    }

    #[test]
    fn bad_zones_are_refused_with_a_reason() {
        assert!(matches!(
            Zone::new(vec![p(0.1, 0.1), p(0.5, 0.5)]),
            Err(MotionError::ZonePoints { count: 2 })
        ));
        let outside = Zone::new(vec![p(0.1, 0.1), p(1.2, 0.1), p(0.5, 0.5)]);
        assert!(matches!(outside, Err(MotionError::ZoneOutsideFrame { .. })));
        let nan = Zone::new(vec![p(0.1, 0.1), p(f32::NAN, 0.1), p(0.5, 0.5)]);
        assert!(matches!(nan, Err(MotionError::ZoneOutsideFrame { .. })));
        let line = Zone::new(vec![p(0.1, 0.1), p(0.5, 0.5), p(0.9, 0.9)]);
        assert!(matches!(line, Err(MotionError::ZoneDegenerate)));
        let many = Zone::new((0..40).map(|i| p(0.5, i as f32 / 40.0)).collect());
        assert!(matches!(many, Err(MotionError::ZonePoints { count: 40 })));
    }

    #[test]
    fn a_triangle_contains_its_inside_and_not_its_outside() {
        let z = Zone::new(vec![p(0.0, 0.0), p(1.0, 0.0), p(0.0, 1.0)]).expect("valid");
        assert!((z.area() - 0.5).abs() < 1e-6);
        assert!(z.contains(0.2, 0.2));
        assert!(!z.contains(0.8, 0.8));
        assert!(Zone::full_frame().contains(0.5, 0.99));
    }
}
