//! Face detection with MediaPipe BlazeFace "back" (256x256, 896 anchors, 6 keypoints).

use std::path::Path;

use image::RgbImage;

use crate::VisionError;
use crate::geom::{BBox, Letterbox, nms};
use crate::net::Net;

/// The model's input side (pixels).
pub const FACE_INPUT: u32 = 256;
/// The score at or above which a face is reported unless set otherwise.
pub const DEFAULT_FACE_THRESHOLD: f32 = 0.6;
/// Faces overlapping a better one by more than this are dropped.
pub const FACE_NMS_IOU: f32 = 0.3;

/// A face: its score, box and six keypoints, all relative to the image (0..=1). Keypoints in
/// MediaPipe's order: the subject's right eye, left eye, nose tip, mouth centre, right ear,
/// left ear (the subject's right eye is on the image's left for a face looking at the camera).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Face {
    pub score: f32,
    pub bbox: BBox,
    pub landmarks: [(f32, f32); 6],
}

/// BlazeFace face detector.
#[derive(Debug)]
pub struct FaceDetector {
    net: Net,
    anchors: Vec<(f32, f32)>,
    threshold: f32,
}

/// Anchor centres (relative to the input) in the model's output order: a 16x16 grid with 2
/// anchors per cell, then an 8x8 grid with 6.
pub(crate) fn anchors() -> Vec<(f32, f32)> {
    let mut out = Vec::with_capacity(896);
    for (grid, per_cell) in [(16usize, 2usize), (8, 6)] {
        for y in 0..grid {
            for x in 0..grid {
                for _ in 0..per_cell {
                    out.push(((x as f32 + 0.5) / grid as f32, (y as f32 + 0.5) / grid as f32));
                }
            }
        }
    }
    out
}

impl FaceDetector {
    pub fn load(path: &Path) -> Result<FaceDetector, VisionError> {
        let s = FACE_INPUT as usize;
        let net = Net::load(path, &[1, s, s, 3], |outs| {
            outs == [vec![1, 512, 1], vec![1, 384, 1], vec![1, 512, 16], vec![1, 384, 16]]
        })?;
        Ok(FaceDetector { net, anchors: anchors(), threshold: DEFAULT_FACE_THRESHOLD })
    }

    /// The same detector reporting faces scored at or above `threshold` (0..=1).
    pub fn with_threshold(mut self, threshold: f32) -> Result<FaceDetector, VisionError> {
        if !(0.0..=1.0).contains(&threshold) {
            return Err(VisionError::InvalidSetting(format!(
                "face threshold {threshold} is not in 0..=1"
            )));
        }
        self.threshold = threshold;
        Ok(self)
    }

    /// The faces in `img` (best first, overlaps removed). BlazeFace sees the image at 256x256:
    /// give it a person's crop rather than a whole wide frame for distant faces.
    pub fn detect(&self, img: &RgbImage) -> Vec<Face> {
        if img.width() == 0 || img.height() == 0 {
            return Vec::new();
        }
        let lb = Letterbox::new(img.width(), img.height(), FACE_INPUT);
        let input: Vec<f32> =
            lb.apply(img).as_raw().iter().map(|&v| v as f32 / 127.5 - 1.0).collect();
        let Ok(out) = self.net.run(input) else { return Vec::new() };
        let scores = out[0].1.iter().chain(out[1].1.iter());
        let rows = out[2].1.chunks_exact(16).chain(out[3].1.chunks_exact(16));
        let mut found = Vec::new();
        for ((&logit, row), &anchor) in scores.zip(rows).zip(self.anchors.iter()) {
            if let Some(face) = decode(logit, row, anchor, self.threshold, &lb) {
                found.push(face);
            }
        }
        nms(found, FACE_NMS_IOU, |f: &Face| (f.score, f.bbox))
    }
}

/// One anchor's face, if its score reaches `threshold`. `row` is `[dx, dy, w, h, 6 x (kx, ky)]`
/// in input pixels, offsets from the anchor centre.
pub(crate) fn decode(
    logit: f32,
    row: &[f32],
    anchor: (f32, f32),
    threshold: f32,
    lb: &Letterbox,
) -> Option<Face> {
    let score = 1.0 / (1.0 + (-logit.clamp(-100.0, 100.0)).exp());
    if score.is_nan() || score < threshold || row.len() < 16 {
        return None;
    }
    let size = lb.size as f32;
    let (ax, ay) = (anchor.0 * size, anchor.1 * size);
    let (cx, cy, w, h) = (ax + row[0], ay + row[1], row[2], row[3]);
    let (x1, y1) = lb.to_relative(cx - w / 2.0, cy - h / 2.0);
    let (x2, y2) = lb.to_relative(cx + w / 2.0, cy + h / 2.0);
    let bbox = BBox::from_corners(x1, y1, x2, y2);
    if bbox.area() <= 0.0 {
        return None;
    }
    let mut landmarks = [(0.0, 0.0); 6];
    for (k, l) in landmarks.iter_mut().enumerate() {
        *l = lb.to_relative(ax + row[4 + 2 * k], ay + row[5 + 2 * k]);
    }
    Some(Face { score, bbox, landmarks })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_cover_both_grids_in_output_order() {
        let a = anchors();
        assert_eq!(a.len(), 896);
        assert_eq!(a[0], (0.5 / 16.0, 0.5 / 16.0));
        assert_eq!(a[1], a[0]);
        assert_eq!(a[2], (1.5 / 16.0, 0.5 / 16.0));
        assert_eq!(a[512], (0.5 / 8.0, 0.5 / 8.0));
        assert_eq!(a[895], (7.5 / 8.0, 7.5 / 8.0));
    }

    #[test]
    fn an_anchor_row_decodes_to_a_face_in_the_frame() {
        // 512x256 frame: scale 0.5, 64 px of padding above and below in the input.
        let lb = Letterbox::new(512, 256, FACE_INPUT);
        let mut row = [0.0f32; 16];
        row[0] = 8.0; // centre 8 px right of the anchor
        row[2] = 32.0;
        row[3] = 40.0;
        row[4] = -10.0; // right eye 10 px left of the anchor
        row[5] = -5.0;
        let f = decode(3.0, &row, (0.5, 0.5), 0.6, &lb).expect("a face");
        assert!((f.score - 0.952_574).abs() < 1e-4);
        // input box x 120..152, y 108..148 -> frame x 240..304 of 512, y 88..168 of 256
        let want = [240.0 / 512.0, 88.0 / 256.0, 64.0 / 512.0, 80.0 / 256.0];
        let got = [f.bbox.x, f.bbox.y, f.bbox.w, f.bbox.h];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-4, "{got:?} != {want:?}");
        }
        let (ex, ey) = f.landmarks[0];
        assert!((ex - 236.0 / 512.0).abs() < 1e-4 && (ey - 118.0 / 256.0).abs() < 1e-4);
        assert!(decode(0.0, &row, (0.5, 0.5), 0.6, &lb).is_none(), "score 0.5 is below 0.6");
        assert!(decode(f32::NAN, &row, (0.5, 0.5), 0.6, &lb).is_none());
    }
}
