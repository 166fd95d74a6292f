//! Boxes, intersection over union, non-maximum suppression and the letterbox that fits a frame
//! into a model's square input.

use image::{RgbImage, imageops};

/// A box relative to the image: `x`, `y` (top-left corner), `w`, `h`, all in 0..=1.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl BBox {
    /// The box from its corners, clamped to the image (0..=1).
    pub fn from_corners(x1: f32, y1: f32, x2: f32, y2: f32) -> BBox {
        let c = |v: f32| if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 };
        let (x1, y1, x2, y2) = (c(x1), c(y1), c(x2), c(y2));
        BBox { x: x1.min(x2), y: y1.min(y2), w: (x2 - x1).abs(), h: (y2 - y1).abs() }
    }

    pub fn area(&self) -> f32 {
        self.w.max(0.0) * self.h.max(0.0)
    }

    /// Intersection over union, 0 for disjoint or empty boxes.
    pub fn iou(&self, o: &BBox) -> f32 {
        let iw = ((self.x + self.w).min(o.x + o.w) - self.x.max(o.x)).max(0.0);
        let ih = ((self.y + self.h).min(o.y + o.h) - self.y.max(o.y)).max(0.0);
        let inter = iw * ih;
        let union = self.area() + o.area() - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }
}

/// Greedy non-maximum suppression: the items by falling score, each kept unless it overlaps a
/// kept one by more than `max_iou`.
pub fn nms<T>(mut items: Vec<T>, max_iou: f32, key: impl Fn(&T) -> (f32, BBox)) -> Vec<T> {
    items.sort_by(|a, b| key(b).0.total_cmp(&key(a).0));
    let mut kept: Vec<T> = Vec::new();
    for item in items {
        let (_, b) = key(&item);
        if kept.iter().all(|k| key(k).1.iou(&b) <= max_iou) {
            kept.push(item);
        }
    }
    kept
}

/// How a frame was placed into a square model input of `size` pixels: scaled by `scale`
/// (aspect kept) and centred, the rest padded black.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    pub size: u32,
    pub scale: f32,
    pub pad_x: f32,
    pub pad_y: f32,
    pub src_w: u32,
    pub src_h: u32,
}

impl Letterbox {
    /// The placement of a `src_w` x `src_h` frame (both > 0) in a `size` square.
    pub fn new(src_w: u32, src_h: u32, size: u32) -> Letterbox {
        let scale = size as f32 / src_w.max(src_h).max(1) as f32;
        let (w, h) = scaled(src_w, src_h, scale, size);
        Letterbox {
            size,
            scale,
            pad_x: ((size - w) / 2) as f32,
            pad_y: ((size - h) / 2) as f32,
            src_w,
            src_h,
        }
    }

    /// A point of the model input (pixels) as a point of the frame relative to its size.
    pub fn to_relative(&self, x: f32, y: f32) -> (f32, f32) {
        (
            (x - self.pad_x) / self.scale / self.src_w.max(1) as f32,
            (y - self.pad_y) / self.scale / self.src_h.max(1) as f32,
        )
    }

    /// The model input: the frame scaled (bilinear) and centred on black.
    pub fn apply(&self, img: &RgbImage) -> RgbImage {
        let (w, h) = scaled(img.width(), img.height(), self.scale, self.size);
        let resized = imageops::resize(img, w, h, imageops::FilterType::Triangle);
        let mut canvas = RgbImage::new(self.size, self.size);
        imageops::replace(&mut canvas, &resized, self.pad_x as i64, self.pad_y as i64);
        canvas
    }
}

fn scaled(w: u32, h: u32, scale: f32, size: u32) -> (u32, u32) {
    let f = |v: u32| ((v as f32 * scale).round() as u32).clamp(1, size);
    (f(w), f(h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_identical_disjoint_and_half_overlapping_boxes() {
        let a = BBox { x: 0.1, y: 0.1, w: 0.2, h: 0.2 };
        assert!((a.iou(&a) - 1.0).abs() < 1e-6);
        assert_eq!(a.iou(&BBox { x: 0.5, y: 0.5, w: 0.1, h: 0.1 }), 0.0);
        let b = BBox { x: 0.2, y: 0.1, w: 0.2, h: 0.2 };
        assert!((a.iou(&b) - 1.0 / 3.0).abs() < 1e-5, "{}", a.iou(&b));
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes_and_every_separate_one() {
        let items = vec![
            (0.5, BBox { x: 0.11, y: 0.1, w: 0.2, h: 0.2 }),
            (0.9, BBox { x: 0.1, y: 0.1, w: 0.2, h: 0.2 }),
            (0.7, BBox { x: 0.6, y: 0.6, w: 0.2, h: 0.2 }),
        ];
        let kept = nms(items, 0.5, |i| *i);
        let scores: Vec<f32> = kept.iter().map(|k| k.0).collect();
        assert_eq!(scores, vec![0.9, 0.7]);
    }

    #[test]
    fn letterbox_centres_a_wide_frame_and_maps_points_back() {
        let lb = Letterbox::new(800, 400, 416);
        assert_eq!((lb.pad_x, lb.pad_y), (0.0, 104.0));
        let (x, y) = lb.to_relative(208.0, 208.0);
        assert!((x - 0.5).abs() < 1e-6 && (y - 0.5).abs() < 1e-6, "{x} {y}");
        let (x, y) = lb.to_relative(0.0, 104.0);
        assert!(x.abs() < 1e-6 && y.abs() < 1e-6);
        let img = RgbImage::from_pixel(800, 400, image::Rgb([200, 10, 10]));
        let input = lb.apply(&img);
        assert_eq!(input.dimensions(), (416, 416));
        assert_eq!(input.get_pixel(208, 50).0, [0, 0, 0], "padding is black");
        assert_eq!(input.get_pixel(208, 208).0, [200, 10, 10]);
    }

    #[test]
    fn boxes_from_corners_are_clamped_and_ordered() {
        let b = BBox::from_corners(0.8, -0.2, 0.2, 1.5);
        assert_eq!(b, BBox { x: 0.2, y: 0.0, w: 0.6, h: 1.0 });
        assert_eq!(BBox::from_corners(f32::NAN, 0.0, 0.5, 0.5).x, 0.0);
    }
}
