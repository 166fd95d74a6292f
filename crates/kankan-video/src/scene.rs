//! A synthetic camera picture: a static textured background, a few bouncing objects, and the
//! burned-in clock ([`crate::stamp`]).

use crate::VideoError;
use crate::frame::{Rect, Yuv420, check_size};
use crate::stamp::{Stamp, burn_stamp, stamp_area};

/// A synthetic scene of a given size; renders any frame index directly (positions are a
/// function of the index, so frames can be made out of order or skipped).
#[derive(Debug, Clone)]
pub struct Scene {
    background: Yuv420,
    clock: Rect,
    /// Where the objects bounce: the picture below the clock.
    arena: Rect,
    objects: Vec<Object>,
    motion: bool,
}

#[derive(Debug, Clone, Copy)]
enum Shape {
    Box,
    Disc,
}

#[derive(Debug, Clone, Copy)]
struct Object {
    shape: Shape,
    w: u32,
    h: u32,
    /// Start position, relative to the arena.
    x0: i64,
    y0: i64,
    /// Speed in pixels per frame.
    vx: i64,
    vy: i64,
    colour: (u8, u8, u8),
}

impl Scene {
    /// A scene `width`×`height` (even, at least about 256×112 so the clock fits), with the
    /// background tint and start positions chosen by `seed`. Motion is on.
    pub fn new(width: u32, height: u32, seed: u64) -> Result<Scene, VideoError> {
        check_size(width, height)?;
        let clock = stamp_area(width, height).ok_or(VideoError::BadSize {
            width,
            height,
            reason: "too small for the burned-in clock (needs about 256x112)",
        })?;
        let arena = Rect { x: 0, y: clock.h, w: width, h: height - clock.h };
        let mut rng = SplitMix(seed);
        // Speeds are given for a 640-pixel-wide picture and scale with the width.
        let speed = |v: i64| match v * i64::from(width) / 640 {
            0 => v.signum(),
            scaled => scaled,
        };
        let specs = [
            (Shape::Box, width / 8, arena.h / 3, (4, 3), (81, 90, 240)),
            (Shape::Box, width / 12, arena.h / 4, (-7, 2), (41, 240, 110)),
            (Shape::Disc, arena.h / 4, arena.h / 4, (3, -5), (210, 16, 146)),
        ];
        let objects = specs
            .into_iter()
            .map(|(shape, w, h, (vx, vy), colour)| Object {
                shape,
                w,
                h,
                x0: rng.below(arena.w - w),
                y0: rng.below(arena.h - h),
                vx: speed(vx),
                vy: speed(vy),
                colour,
            })
            .collect();
        let tint = rng.below(24) - 12;
        Ok(Scene {
            background: background(width, height, tint)?,
            clock,
            arena,
            objects,
            motion: true,
        })
    }

    /// The same scene with motion on or off (off freezes the objects where frame 0 has them).
    pub fn with_motion(mut self, motion: bool) -> Scene {
        self.motion = motion;
        self
    }

    /// Turns motion on or off.
    pub fn set_motion(&mut self, motion: bool) {
        self.motion = motion;
    }

    /// Whether the objects move.
    pub fn motion(&self) -> bool {
        self.motion
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.background.width()
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.background.height()
    }

    /// The area the burned-in clock covers (the only part that changes without motion).
    pub fn clock_area(&self) -> Rect {
        self.clock
    }

    /// The bounding boxes of the moving objects in frame `frame_index`.
    pub fn object_areas(&self, frame_index: u32) -> Vec<Rect> {
        self.objects.iter().map(|o| self.place(o, frame_index)).collect()
    }

    /// Renders frame `frame_index`, with `capture_ms` and `frame_index` burned into the clock.
    pub fn render(&self, frame_index: u32, capture_ms: u64) -> Yuv420 {
        let mut frame = self.background.clone();
        self.draw(&mut frame, frame_index, capture_ms);
        frame
    }

    /// Like [`Scene::render`], reusing `frame`'s buffers when it already has this scene's size.
    pub fn render_into(&self, frame: &mut Yuv420, frame_index: u32, capture_ms: u64) {
        let bg = &self.background;
        let same = frame.width() == bg.width()
            && frame.height() == bg.height()
            && frame.y_stride() == bg.y_stride()
            && frame.uv_stride() == bg.uv_stride();
        if same {
            let (y, u, v) = frame.planes_mut();
            y.copy_from_slice(bg.y());
            u.copy_from_slice(bg.u());
            v.copy_from_slice(bg.v());
        } else {
            *frame = bg.clone();
        }
        self.draw(frame, frame_index, capture_ms);
    }

    fn draw(&self, frame: &mut Yuv420, frame_index: u32, capture_ms: u64) {
        for o in &self.objects {
            let r = self.place(o, frame_index);
            match o.shape {
                Shape::Box => frame.fill_rect(r, o.colour),
                Shape::Disc => fill_disc(frame, r, o.colour),
            }
        }
        // The scene's size was checked against the clock in `new`, so this cannot fail.
        let _ = burn_stamp(frame, Stamp { capture_ms, frame: frame_index });
    }

    /// Where object `o` is in frame `frame_index`: it bounces off the arena's edges.
    fn place(&self, o: &Object, frame_index: u32) -> Rect {
        let t = if self.motion { i64::from(frame_index) } else { 0 };
        let x = bounce(o.x0 + o.vx * t, i64::from(self.arena.w - o.w));
        let y = bounce(o.y0 + o.vy * t, i64::from(self.arena.h - o.h));
        Rect { x: self.arena.x + x, y: self.arena.y + y, w: o.w, h: o.h }
    }
}

/// Folds an unbounded coordinate into `0..=range` as a ball bouncing between two walls.
fn bounce(pos: i64, range: i64) -> u32 {
    if range <= 0 {
        return 0;
    }
    let q = pos.rem_euclid(2 * range);
    let folded = if q > range { 2 * range - q } else { q };
    u32::try_from(folded).unwrap_or(0)
}

/// The static background: a diagonal luma gradient over large soft tiles, tinted chroma.
fn background(width: u32, height: u32, tint: i64) -> Result<Yuv420, VideoError> {
    let mut frame = Yuv420::new(width, height)?;
    let (w, h) = (width as usize, height as usize);
    let tile = (w / 10).max(8);
    let (y_plane, u_plane, v_plane) = frame.planes_mut();
    for (row, line) in y_plane.chunks_exact_mut(w).enumerate() {
        for (col, px) in line.iter_mut().enumerate() {
            let ramp = 50 + 90 * col / w + 50 * row / h;
            let checker = if (col / tile + row / tile).is_multiple_of(2) { 0 } else { 16 };
            *px = (ramp + checker + grain(col, row)) as u8;
        }
    }
    let tint = tint as isize;
    for (row, (u_line, v_line)) in
        u_plane.chunks_exact_mut(w / 2).zip(v_plane.chunks_exact_mut(w / 2)).enumerate()
    {
        for (col, (u, v)) in u_line.iter_mut().zip(v_line.iter_mut()).enumerate() {
            *u = (116 + tint + (24 * col / (w / 2)) as isize) as u8;
            *v = (140 - tint - (24 * row / (h / 2)) as isize) as u8;
        }
    }
    Ok(frame)
}

/// Fixed fine texture, `0..GRAIN`: what keeps keyframes from being trivially small.
fn grain(x: usize, y: usize) -> usize {
    let h = (x as u32).wrapping_mul(0x9E37_79B1) ^ (y as u32).wrapping_mul(0x85EB_CA77);
    let h = (h ^ (h >> 15)).wrapping_mul(0x2C1B_3C6D);
    (h >> 24) as usize % GRAIN
}

const GRAIN: usize = 12;

/// Fills the disc inscribed in `r` (a square) with one colour.
fn fill_disc(frame: &mut Yuv420, r: Rect, colour: (u8, u8, u8)) {
    let radius = i64::from(r.w / 2);
    let (cx, cy) = (i64::from(r.x) + radius, i64::from(r.y) + radius);
    let mut dy = -radius;
    while dy < radius {
        // A two-row band keeps chroma (one row per two luma rows) aligned.
        let mid = dy + 1;
        let half = isqrt(radius * radius - mid * mid);
        let span = Rect {
            x: u32::try_from(cx - half).unwrap_or(0),
            y: u32::try_from(cy + dy).unwrap_or(0),
            w: u32::try_from(2 * half).unwrap_or(0),
            h: 2,
        };
        frame.fill_rect(span, colour);
        dy += 2;
    }
}

fn isqrt(n: i64) -> i64 {
    if n <= 0 {
        return 0;
    }
    let mut x = (n as f64).sqrt() as i64;
    while x * x > n {
        x -= 1;
    }
    while (x + 1) * (x + 1) <= n {
        x += 1;
    }
    x
}

/// A tiny deterministic generator (SplitMix64) for start positions and tint.
struct SplitMix(u64);

impl SplitMix {
    /// A value in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: u32) -> i64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        if n == 0 { 0 } else { (z % u64::from(n)) as i64 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stamp::read_stamp;

    #[test]
    fn bounce_reflects_off_both_walls() {
        let got: Vec<u32> = [-3, 0, 5, 10, 12, 20, 23].into_iter().map(|p| bounce(p, 10)).collect();
        assert_eq!(got, [3, 0, 5, 10, 8, 0, 3]);
    }

    #[test]
    fn objects_stay_inside_the_picture_below_the_clock() {
        let scene = Scene::new(320, 180, 7).expect("valid size");
        for i in (0..2000).step_by(37) {
            for r in scene.object_areas(i) {
                assert!(
                    r.y >= scene.clock_area().h && r.x + r.w <= 320 && r.y + r.h <= 180,
                    "{r:?}"
                );
            }
        }
    }

    #[test]
    fn render_into_matches_render_and_carries_the_stamp() {
        let scene = Scene::new(640, 360, 1).expect("valid size");
        let mut reused = scene.render(0, 0);
        scene.render_into(&mut reused, 9, 1_700_000_000_123);
        assert_eq!(reused, scene.render(9, 1_700_000_000_123));
        let stamp = read_stamp(&reused).expect("stamp");
        assert_eq!((stamp.capture_ms, stamp.frame), (1_700_000_000_123, 9));
    }

    #[test]
    fn seeds_change_the_picture_and_sizes_are_checked() {
        let a = Scene::new(320, 180, 1).expect("valid size").render(0, 0);
        let b = Scene::new(320, 180, 2).expect("valid size").render(0, 0);
        assert_ne!(a, b);
        for (w, h) in [(321, 180), (0, 0), (200, 180), (320, 100)] {
            assert_eq!(
                Scene::new(w, h, 0).map(|_| ()).map_err(|e| e.code()),
                Err("video-bad-size")
            );
        }
    }
}
