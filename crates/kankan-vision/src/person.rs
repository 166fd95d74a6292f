//! Person detection with NanoDet-g 416 (COCO): letterbox, BGR mean/std normalisation,
//! generalized-focal-loss box decoding, class 0 (person) only, threshold, NMS.

use std::path::Path;

use image::RgbImage;

use crate::geom::{BBox, Letterbox, nms};
use crate::net::Net;
use crate::{Detection, VisionError};

/// The model's input side (pixels).
pub const PERSON_INPUT: u32 = 416;
/// The score at or above which [`PersonDetector::detect`] reports a person unless set
/// otherwise (measured on the labelled frames, docs/benchmarks.md).
pub const DEFAULT_PERSON_THRESHOLD: f32 = 0.45;
/// Boxes overlapping a better one by more than this are dropped.
pub const PERSON_NMS_IOU: f32 = 0.5;

const CLASSES: usize = 80;
const BINS: usize = 11; // reg_max 10: distances 0..=10 strides
const STRIDES: [usize; 3] = [8, 16, 32];
// NanoDet's own normalisation, in BGR order.
const MEAN_BGR: [f32; 3] = [103.53, 116.28, 123.675];
const STD_BGR: [f32; 3] = [57.375, 57.12, 58.395];

/// NanoDet-g person detector.
#[derive(Debug)]
pub struct PersonDetector {
    net: Net,
    threshold: f32,
}

impl PersonDetector {
    pub fn load(path: &Path) -> Result<PersonDetector, VisionError> {
        let s = PERSON_INPUT as usize;
        let net = Net::load(path, &[1, 3, s, s], |outs| {
            outs.len() == 6
                && STRIDES.iter().enumerate().all(|(i, st)| {
                    let n = (s / st) * (s / st);
                    outs[i] == [1, n, CLASSES] && outs[i + 3] == [1, n, 4 * BINS]
                })
        })?;
        Ok(PersonDetector { net, threshold: DEFAULT_PERSON_THRESHOLD })
    }

    /// The same detector reporting persons scored at or above `threshold` (0..=1).
    pub fn with_threshold(mut self, threshold: f32) -> Result<PersonDetector, VisionError> {
        if !(0.0..=1.0).contains(&threshold) {
            return Err(VisionError::InvalidSetting(format!(
                "person threshold {threshold} is not in 0..=1"
            )));
        }
        self.threshold = threshold;
        Ok(self)
    }

    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    /// The persons in `img` scored at or above the threshold, best first, overlaps removed.
    pub fn detect(&self, img: &RgbImage) -> Vec<Detection> {
        self.detect_at(img, self.threshold)
    }

    /// The model's input for `img` (letterboxed, NCHW, normalised): what [`PersonDetector::infer`]
    /// takes. For benchmarks that run the same tensor elsewhere.
    pub fn input(img: &RgbImage) -> Vec<f32> {
        let lb = Letterbox::new(img.width().max(1), img.height().max(1), PERSON_INPUT);
        input_tensor(&lb.apply(img))
    }

    /// The raw model outputs (scores of strides 8, 16, 32, then distances) for an input made by
    /// [`PersonDetector::input`]; `None` if the input has the wrong length.
    pub fn infer(&self, input: Vec<f32>) -> Option<Vec<Vec<f32>>> {
        let outs = self.net.run(input).ok()?;
        Some(outs.into_iter().map(|(_, v)| v).collect())
    }

    /// [`PersonDetector::detect`] with another threshold (for measuring precision and recall).
    pub fn detect_at(&self, img: &RgbImage, threshold: f32) -> Vec<Detection> {
        if img.width() == 0 || img.height() == 0 {
            return Vec::new();
        }
        let lb = Letterbox::new(img.width(), img.height(), PERSON_INPUT);
        let Ok(outputs) = self.net.run(input_tensor(&lb.apply(img))) else {
            return Vec::new();
        };
        let mut found = Vec::new();
        for (level, stride) in STRIDES.iter().enumerate() {
            let (_, scores) = &outputs[level];
            let (_, dists) = &outputs[level + 3];
            found.extend(decode_level(scores, dists, *stride, threshold, &lb));
        }
        nms(found, PERSON_NMS_IOU, |d: &Detection| (d.score, d.bbox))
    }
}

/// NCHW, BGR, normalised with NanoDet's mean and standard deviation.
fn input_tensor(img: &RgbImage) -> Vec<f32> {
    let plane = (img.width() * img.height()) as usize;
    let mut out = vec![0.0; 3 * plane];
    for (i, p) in img.pixels().enumerate() {
        for c in 0..3 {
            // channel c of the input is BGR[c] = RGB[2 - c]
            out[c * plane + i] = (p.0[2 - c] as f32 - MEAN_BGR[c]) / STD_BGR[c];
        }
    }
    out
}

/// The person boxes of one stride level: `scores` is [cells x 80] (sigmoid), `dists` is
/// [cells x 44], the distances from the cell centre to the left, top, right and bottom sides,
/// each as a distribution over 11 bins of one stride (its expectation is the distance).
pub(crate) fn decode_level(
    scores: &[f32],
    dists: &[f32],
    stride: usize,
    threshold: f32,
    lb: &Letterbox,
) -> Vec<Detection> {
    let grid = (lb.size as usize).div_ceil(stride);
    let cells = (scores.len() / CLASSES).min(dists.len() / (4 * BINS)).min(grid * grid);
    let mut out = Vec::new();
    for i in 0..cells {
        let score = scores[i * CLASSES];
        if score.is_nan() || score < threshold {
            continue;
        }
        let cx = ((i % grid) as f32 + 0.5) * stride as f32;
        let cy = ((i / grid) as f32 + 0.5) * stride as f32;
        let d = &dists[i * 4 * BINS..(i + 1) * 4 * BINS];
        let side = |k: usize| expectation(&d[k * BINS..(k + 1) * BINS]) * stride as f32;
        let (x1, y1) = lb.to_relative(cx - side(0), cy - side(1));
        let (x2, y2) = lb.to_relative(cx + side(2), cy + side(3));
        let bbox = BBox::from_corners(x1, y1, x2, y2);
        if bbox.area() > 0.0 {
            out.push(Detection { label: "person", score, bbox });
        }
    }
    out
}

/// The expected bin index under the softmax of `logits`.
pub(crate) fn expectation(logits: &[f32]) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    let mut weighted = 0.0;
    for (i, l) in logits.iter().enumerate() {
        let e = (l - max).exp();
        sum += e;
        weighted += e * i as f32;
    }
    if sum > 0.0 && sum.is_finite() { weighted / sum } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expected_distance_is_the_softmax_weighted_bin() {
        let mut peak = [-100.0; BINS];
        peak[3] = 100.0;
        assert!((expectation(&peak) - 3.0).abs() < 1e-4);
        let flat = [0.0; BINS];
        assert!((expectation(&flat) - 5.0).abs() < 1e-4);
        let mut two = [-100.0; BINS];
        two[2] = 0.0;
        two[4] = 0.0;
        assert!((expectation(&two) - 3.0).abs() < 1e-4);
        assert_eq!(expectation(&[f32::NAN; BINS]), 0.0);
    }

    #[test]
    fn a_person_cell_decodes_to_its_box_in_the_frame() {
        // A 832x416 frame: letterboxed at scale 0.5, 104 px of padding above and below.
        let lb = Letterbox::new(832, 416, PERSON_INPUT);
        let stride = 32;
        let grid = 13;
        let cells = grid * grid;
        let mut scores = vec![0.0; cells * CLASSES];
        let mut dists = vec![-100.0; cells * 4 * BINS];
        // cell (x 6, y 6): centre (208, 208); distances 2, 1, 2, 3 strides
        let cell = 6 * grid + 6;
        scores[cell * CLASSES] = 0.9;
        scores[(cell + 1) * CLASSES + 1] = 0.99; // another class: ignored
        for (side, bin) in [2, 1, 2, 3].into_iter().enumerate() {
            dists[cell * 4 * BINS + side * BINS + bin] = 100.0;
        }
        let found = decode_level(&scores, &dists, stride, 0.5, &lb);
        assert_eq!(found.len(), 1);
        let b = found[0].bbox;
        // input box x 144..272, y 176..304 -> frame (scale 0.5, pad_y 104) x 288..544, y 144..400
        let want = BBox { x: 288.0 / 832.0, y: 144.0 / 416.0, w: 256.0 / 832.0, h: 256.0 / 416.0 };
        for (g, w) in [(b.x, want.x), (b.y, want.y), (b.w, want.w), (b.h, want.h)] {
            assert!((g - w).abs() < 1e-3, "{b:?} != {want:?}");
        }
        assert_eq!(found[0].label, "person");
        assert!(decode_level(&scores, &dists, stride, 0.95, &lb).is_empty());
    }

    #[test]
    fn short_or_mismatched_outputs_decode_without_panicking() {
        let lb = Letterbox::new(10, 10, PERSON_INPUT);
        assert!(decode_level(&[1.0; 5], &[0.0; 7], 8, 0.1, &lb).is_empty());
        assert!(decode_level(&[], &[], 32, 0.1, &lb).is_empty());
    }
}
