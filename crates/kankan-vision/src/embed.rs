//! Face embeddings with dlib's face recognition ResNet (128-d, Euclidean): the face is aligned
//! on its eyes and mouth onto a 150x150 chip like dlib's `get_face_chip_details(shape, 150,
//! 0.25)`, then embedded.

use std::path::Path;

use image::RgbImage;

use crate::VisionError;
use crate::face::Face;
use crate::net::Net;

/// Side of the aligned face chip (pixels).
pub const CHIP: u32 = 150;
/// Two embeddings closer than this (Euclidean) are taken as the same person: dlib's threshold
/// for this network (LFW 99.38 %); our proxy measurement (docs/benchmarks.md) agrees.
pub const SAME_PERSON_MAX_DISTANCE: f32 = 0.6;

/// Where dlib's mean face puts the eye centres and the mouth centre on a 150 px chip with
/// padding 0.25: the means of landmarks 36-41, 42-47 and 48-67 of its 68-point template,
/// `(0.25 + t) / 1.5 * 150`. Image-left eye first (the subject's right eye).
const TEMPLATE: [(f32, f32); 3] = [(47.549, 46.598), (100.476, 46.598), (74.013, 105.422)];

/// A face embedding: 128 numbers; compare with [`Embedding::distance`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Embedding(pub [f32; 128]);

impl Embedding {
    /// Euclidean distance; below [`SAME_PERSON_MAX_DISTANCE`] means the same person.
    pub fn distance(&self, o: &Embedding) -> f32 {
        self.0.iter().zip(o.0.iter()).map(|(a, b)| (a - b) * (a - b)).sum::<f32>().sqrt()
    }

    /// 512 bytes: the 128 values as little-endian f32.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// The embedding of [`Embedding::to_bytes`]; `None` unless `b` is 512 bytes of finite values.
    pub fn from_bytes(b: &[u8]) -> Option<Embedding> {
        if b.len() != 512 {
            return None;
        }
        let mut out = [0.0f32; 128];
        for (v, c) in out.iter_mut().zip(b.chunks_exact(4)) {
            *v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            if !v.is_finite() {
                return None;
            }
        }
        Some(Embedding(out))
    }
}

/// dlib ResNet face embedder.
#[derive(Debug)]
pub struct FaceEmbedder {
    net: Net,
}

impl FaceEmbedder {
    pub fn load(path: &Path) -> Result<FaceEmbedder, VisionError> {
        let s = CHIP as usize;
        let net = Net::load(path, &[1, s, s, 3], |outs| outs == [vec![1, 128]])?;
        Ok(FaceEmbedder { net })
    }

    /// The embedding of `face` (found by [`crate::FaceDetector`] in this `img`).
    pub fn embed(&self, img: &RgbImage, face: &Face) -> Embedding {
        self.embed_chip(&align(img, face))
    }

    /// The embedding of an aligned 150x150 chip (see [`align`]).
    pub fn embed_chip(&self, chip: &RgbImage) -> Embedding {
        let chip = if chip.dimensions() == (CHIP, CHIP) {
            chip.clone()
        } else {
            image::imageops::resize(chip, CHIP, CHIP, image::imageops::FilterType::Triangle)
        };
        let input: Vec<f32> = chip.as_raw().iter().map(|&v| v as f32).collect();
        let mut out = [0.0f32; 128];
        if let Ok(outs) = self.net.run(input) {
            for (o, v) in out.iter_mut().zip(outs[0].1.iter()) {
                *o = if v.is_finite() { *v } else { 0.0 };
            }
        }
        Embedding(out)
    }
}

/// The face's 150x150 chip: the similarity transform (rotation, scale, shift) that best maps its
/// eyes and mouth (least squares) onto the template, sampled bilinearly; outside is black.
pub fn align(img: &RgbImage, face: &Face) -> RgbImage {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let px = |(x, y): (f32, f32)| (x * w, y * h);
    // image-left eye first: the subject's right eye is landmark 0
    let src = [px(face.landmarks[0]), px(face.landmarks[1]), px(face.landmarks[3])];
    let m = similarity(&TEMPLATE, &src);
    let mut chip = RgbImage::new(CHIP, CHIP);
    for (cx, cy, p) in chip.enumerate_pixels_mut() {
        let (x, y) = (cx as f32 + 0.5, cy as f32 + 0.5);
        let sx = m[0] * x - m[1] * y + m[2];
        let sy = m[1] * x + m[0] * y + m[3];
        p.0 = sample(img, sx - 0.5, sy - 0.5);
    }
    chip
}

/// `[a, b, tx, ty]` of the similarity `(x, y) -> (a x - b y + tx, b x + a y + ty)` that maps
/// `from` onto `to` with the least squared error. Degenerate input gives a finite transform.
pub(crate) fn similarity(from: &[(f32, f32)], to: &[(f32, f32)]) -> [f32; 4] {
    let n = from.len().min(to.len()).max(1) as f32;
    let mean = |v: &[(f32, f32)]| {
        let (sx, sy) = v.iter().fold((0.0, 0.0), |a, p| (a.0 + p.0, a.1 + p.1));
        (sx / n, sy / n)
    };
    let (fx, fy) = mean(from);
    let (tx, ty) = mean(to);
    let (mut sxx, mut num_a, mut num_b) = (0.0f32, 0.0f32, 0.0f32);
    for (f, t) in from.iter().zip(to) {
        let (ux, uy) = (f.0 - fx, f.1 - fy);
        let (vx, vy) = (t.0 - tx, t.1 - ty);
        sxx += ux * ux + uy * uy;
        num_a += ux * vx + uy * vy;
        num_b += ux * vy - uy * vx;
    }
    let (a, b) = if sxx > 1e-9 && (num_a + num_b).is_finite() {
        (num_a / sxx, num_b / sxx)
    } else {
        (1.0, 0.0)
    };
    let m = [a, b, tx - (a * fx - b * fy), ty - (b * fx + a * fy)];
    if m.iter().all(|v| v.is_finite()) { m } else { [1.0, 0.0, 0.0, 0.0] }
}

fn sample(img: &RgbImage, x: f32, y: f32) -> [u8; 3] {
    let (w, h) = (img.width() as i64, img.height() as i64);
    if !(x > -1.0 && y > -1.0 && x < w as f32 && y < h as f32) {
        return [0, 0, 0];
    }
    let (x0, y0) = (x.floor(), y.floor());
    let (dx, dy) = (x - x0, y - y0);
    let at = |xi: i64, yi: i64| -> [f32; 3] {
        if xi < 0 || yi < 0 || xi >= w || yi >= h {
            return [0.0; 3];
        }
        let p = img.get_pixel(xi as u32, yi as u32).0;
        [p[0] as f32, p[1] as f32, p[2] as f32]
    };
    let (x0, y0) = (x0 as i64, y0 as i64);
    let (p00, p10, p01, p11) = (at(x0, y0), at(x0 + 1, y0), at(x0, y0 + 1), at(x0 + 1, y0 + 1));
    let mut out = [0u8; 3];
    for c in 0..3 {
        let top = p00[c] * (1.0 - dx) + p10[c] * dx;
        let bottom = p01[c] * (1.0 - dx) + p11[c] * dx;
        out[c] = (top * (1.0 - dy) + bottom * dy).round().clamp(0.0, 255.0) as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_similarity_recovers_a_rotation_scale_and_shift() {
        let (a, b, tx, ty) = (1.5f32 * 0.8, 1.5f32 * 0.6, 10.0, -4.0);
        let from = [(0.0, 0.0), (10.0, 0.0), (5.0, 12.0)];
        let to: Vec<(f32, f32)> =
            from.iter().map(|&(x, y)| (a * x - b * y + tx, b * x + a * y + ty)).collect();
        let m = similarity(&from, &to);
        for (g, w) in m.iter().zip([a, b, tx, ty]) {
            assert!((g - w).abs() < 1e-4, "{m:?}");
        }
        assert_eq!(similarity(&[(1.0, 1.0); 3], &[(2.0, 2.0); 3])[..2], [1.0, 0.0]);
    }

    #[test]
    fn embeddings_round_trip_through_bytes_and_reject_other_lengths() {
        let mut e = Embedding([0.0; 128]);
        e.0[5] = -0.25;
        e.0[127] = 3.5;
        let b = e.to_bytes();
        assert_eq!(b.len(), 512);
        assert_eq!(Embedding::from_bytes(&b), Some(e));
        assert_eq!(Embedding::from_bytes(&b[1..]), None);
        let mut nan = b.clone();
        nan[0..4].copy_from_slice(&f32::NAN.to_le_bytes());
        assert_eq!(Embedding::from_bytes(&nan), None);
        let mut o = e;
        o.0[0] = 3.0;
        o.0[1] = 4.0;
        assert!((e.distance(&o) - 5.0).abs() < 1e-6);
    }

    #[test]
    fn a_face_whose_landmarks_sit_on_the_template_is_copied_unchanged() {
        let img = RgbImage::from_fn(CHIP, CHIP, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let rel = |(x, y): (f32, f32)| (x / CHIP as f32, y / CHIP as f32);
        let face = Face {
            score: 1.0,
            bbox: crate::BBox { x: 0.2, y: 0.2, w: 0.6, h: 0.6 },
            landmarks: [
                rel(TEMPLATE[0]),
                rel(TEMPLATE[1]),
                (0.5, 0.5),
                rel(TEMPLATE[2]),
                (0.0, 0.5),
                (1.0, 0.5),
            ],
        };
        let chip = align(&img, &face);
        for (x, y) in [(0, 0), (75, 75), (149, 149), (20, 130)] {
            assert_eq!(chip.get_pixel(x, y).0, img.get_pixel(x, y).0, "at {x},{y}");
        }
    }
}
