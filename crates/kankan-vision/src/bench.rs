//! The measurements behind `kankan bench vision` (docs/benchmarks.md), here so that they need
//! only this crate: person detection time per frame and CPU per camera at a sampling rate,
//! precision and recall on the labelled frames, face detection and embedding time, the
//! verification proxy, and the same ONNX files on the same inputs in onnxruntime
//! (`scripts/bench-vision`, run when a Python with onnxruntime is given).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use image::{RgbImage, imageops};

use crate::samples::{Label, labelled_frames, opencv_sample, video_frames};
use crate::{
    CHIP, Embedding, FACE_INPUT, Face, Letterbox, Models, PERSON_INPUT, PersonDetector,
    SAME_PERSON_MAX_DISTANCE, align,
};

/// What to measure with.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub models_dir: PathBuf,
    /// Where the inputs for the reference run are written.
    pub work_dir: PathBuf,
    /// The reference: `scripts/bench-vision` (onnxruntime); `None` skips it.
    pub reference: Option<PathBuf>,
    /// Photos with faces for the face timings and the verification proxy.
    pub face_photos: Vec<PathBuf>,
    /// Frames a second analysed per camera while motion lasts.
    pub sample_fps: f64,
}

/// Thresholds at which precision and recall are printed.
const THRESHOLDS: [f32; 8] = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7];

/// The figures compared with the reference, for a caller that repeats the run in rounds
/// (`kankan bench vision --rounds`).
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Person detection, inference alone, ms a frame (tract).
    pub person_infer_ms: f64,
    /// Face embedding (alignment + ResNet), ms a face (tract).
    pub face_embed_ms: f64,
    /// The same in onnxruntime, when the reference ran.
    pub reference_person_ms: Option<f64>,
    pub reference_embed_ms: Option<f64>,
}

/// Runs every measurement; the report as text.
pub fn run(o: &BenchOptions) -> Result<String, String> {
    run_figures(o).map(|(report, _)| report)
}

/// [`run`], also giving the compared figures.
pub fn run_figures(o: &BenchOptions) -> Result<(String, Figures), String> {
    let mut r = String::new();
    let t0 = Instant::now();
    let models = Models::load(&o.models_dir).map_err(|e| e.to_string())?;
    let _ = writeln!(
        r,
        "models loaded in {:.2} s from {}",
        t0.elapsed().as_secs_f64(),
        o.models_dir.display()
    );
    std::fs::create_dir_all(&o.work_dir).map_err(|e| format!("{}: {e}", o.work_dir.display()))?;

    // Person detection on the labelled frames.
    let labelled = labelled_frames();
    let mut frames: Vec<(Label, RgbImage)> = Vec::new();
    for video in ["vtest.avi", "tree.avi"] {
        let wanted: Vec<_> = labelled.iter().filter(|f| f.video == video).collect();
        let numbers: Vec<u32> = wanted.iter().map(|f| f.frame).collect();
        let decoded = video_frames(&opencv_sample(video)?, &numbers)?;
        if decoded.len() != numbers.len() {
            return Err(format!("{video}: {} of {} frames decoded", decoded.len(), numbers.len()));
        }
        frames.extend(wanted.iter().zip(decoded).map(|(f, (_, img))| (f.label, img)));
    }
    let mut full_ms = Vec::new();
    let mut infer_ms = Vec::new();
    let mut best = Vec::new();
    let mut inputs = Vec::new();
    for (_, img) in &frames {
        let t = Instant::now();
        let found = models.person.detect_at(img, 0.1);
        full_ms.push(t.elapsed().as_secs_f64() * 1e3);
        best.push(found.iter().map(|d| d.score).fold(0.0f32, f32::max));
        let lb = Letterbox::new(img.width(), img.height(), PERSON_INPUT);
        let letterboxed = lb.apply(img);
        let input = PersonDetector::input(img);
        let t = Instant::now();
        models.person.infer(input).ok_or("person inference failed")?;
        infer_ms.push(t.elapsed().as_secs_f64() * 1e3);
        inputs.extend_from_slice(letterboxed.as_raw());
    }
    let person_file = o.work_dir.join("person-inputs.rgb");
    std::fs::write(&person_file, &inputs).map_err(|e| e.to_string())?;
    let (full, infer) = (mean(&full_ms), mean(&infer_ms));
    let _ = writeln!(
        r,
        "\nperson detection (NanoDet-g 416, tract, one thread), {} frames:",
        frames.len()
    );
    let _ = writeln!(
        r,
        "  whole detect (letterbox, normalise, inference, decoding, NMS): {full:.1} ms a frame \
         (p95 {:.1}); inference alone {infer:.1} ms",
        p95(&full_ms)
    );
    let _ = writeln!(
        r,
        "  CPU per camera at {} frames/s while motion lasts: {:.1}% of a core (detector only)",
        o.sample_fps,
        full * o.sample_fps / 10.0
    );
    let _ = writeln!(
        r,
        "  frame-level precision and recall on the labelled frames (data/labelled-frames.txt):"
    );
    let _ = writeln!(
        r,
        "    threshold  precision  recall  (person {} / none {} frames; hand frames flagged)",
        frames.iter().filter(|f| f.0 == Label::Person).count(),
        frames.iter().filter(|f| f.0 == Label::NoPerson).count()
    );
    for t in THRESHOLDS {
        let (mut tp, mut fp, mut fneg, mut hands, mut hand_total) = (0, 0, 0, 0, 0);
        for ((label, _), &b) in frames.iter().zip(&best) {
            let said = b >= t;
            match label {
                Label::Person if said => tp += 1,
                Label::Person => fneg += 1,
                Label::NoPerson if said => fp += 1,
                Label::NoPerson => {}
                Label::Hand => {
                    hand_total += 1;
                    hands += usize::from(said);
                }
            }
        }
        let precision = if tp + fp > 0 { tp as f64 / (tp + fp) as f64 } else { 1.0 };
        let recall = if tp + fneg > 0 { tp as f64 / (tp + fneg) as f64 } else { 0.0 };
        let default = if t == crate::DEFAULT_PERSON_THRESHOLD { "  <- default" } else { "" };
        let _ = writeln!(
            r,
            "    {t:>9.2}  {precision:>9.3}  {recall:>6.3}  ({hands}/{hand_total}){default}"
        );
    }

    let best_of = |l: Label, pick: fn(f32, f32) -> f32, start: f32| {
        frames.iter().zip(&best).filter(|(f, _)| f.0 == l).map(|(_, &b)| b).fold(start, pick)
    };
    let _ = writeln!(
        r,
        "    best score of a frame: person frames min {:.3}; no-person frames max {:.3}; hand \
         frames max {:.3}",
        best_of(Label::Person, f32::min, 1.0),
        best_of(Label::NoPerson, f32::max, 0.0),
        best_of(Label::Hand, f32::max, 0.0)
    );

    // Faces.
    let mut detect_ms = Vec::new();
    let mut embed_ms = Vec::new();
    let mut faces_found = 0;
    let mut face_inputs: Vec<u8> = Vec::new();
    let mut chips: Vec<u8> = Vec::new();
    let mut originals: Vec<Embedding> = Vec::new();
    let mut same: Vec<f32> = Vec::new();
    for path in &o.face_photos {
        let img = image::open(path).map_err(|e| format!("{}: {e}", path.display()))?.to_rgb8();
        let t = Instant::now();
        let faces = models.faces.detect(&img);
        detect_ms.push(t.elapsed().as_secs_f64() * 1e3);
        face_inputs.extend_from_slice(
            Letterbox::new(img.width(), img.height(), FACE_INPUT).apply(&img).as_raw(),
        );
        for f in &faces {
            faces_found += 1;
            let chip = align(&img, f);
            let t = Instant::now();
            let e = models.embedder.embed_chip(&chip);
            embed_ms.push(t.elapsed().as_secs_f64() * 1e3);
            chips.extend_from_slice(chip.as_raw());
            // The proxy: the face's surroundings, and a copy shifted by 8% of the face, scaled
            // by 1.1 and brightened by 1.2, each searched for its face again.
            let (Some(a), Some(b)) =
                (around(&img, f, 0.0, 1.0, 1.0), around(&img, f, 0.08, 1.1, 1.2))
            else {
                continue;
            };
            let (Some(fa), Some(fb)) = (
                models.faces.detect(&a).first().copied(),
                models.faces.detect(&b).first().copied(),
            ) else {
                continue;
            };
            let (ea, eb) = (models.embedder.embed(&a, &fa), models.embedder.embed(&b, &fb));
            same.push(ea.distance(&eb));
            originals.push(e);
        }
    }
    std::fs::write(o.work_dir.join("face-inputs.rgb"), &face_inputs).map_err(|e| e.to_string())?;
    std::fs::write(o.work_dir.join("face-chips.rgb"), &chips).map_err(|e| e.to_string())?;
    let mut other = Vec::new();
    for i in 0..originals.len() {
        for j in i + 1..originals.len() {
            other.push(originals[i].distance(&originals[j]));
        }
    }
    let _ = writeln!(
        r,
        "\nfaces ({} photos, {faces_found} faces; BlazeFace back 256 + dlib ResNet, tract, one thread):",
        o.face_photos.len()
    );
    let _ = writeln!(
        r,
        "  face detection {:.1} ms a photo; embedding (alignment + ResNet) {:.1} ms a face; \
         detect + embed of a one-face crop: {:.1} ms a face",
        mean(&detect_ms),
        mean(&embed_ms),
        mean(&detect_ms) + mean(&embed_ms)
    );
    if !same.is_empty() && !other.is_empty() {
        let accept = |d: &[f32]| d.iter().filter(|&&x| x < SAME_PERSON_MAX_DISTANCE).count();
        let _ = writeln!(
            r,
            "  verification PROXY (not a benchmark: each face against a shifted 8%, scaled 1.1x, \
             brightened 1.2x copy of itself; against every other face of the photos):"
        );
        let _ = writeln!(
            r,
            "    same face: {} pairs, distance max {:.3} mean {:.3}; accepted at < {SAME_PERSON_MAX_DISTANCE}: {}/{}",
            same.len(),
            max(&same),
            mean32(&same),
            accept(&same),
            same.len()
        );
        let _ = writeln!(
            r,
            "    different faces: {} pairs, distance min {:.3} mean {:.3}; wrongly accepted: {}/{}",
            other.len(),
            min(&other),
            mean32(&other),
            accept(&other),
            other.len()
        );
        for t in [0.4f32, 0.45, 0.5, 0.55, 0.6] {
            let n = |d: &[f32]| d.iter().filter(|&&x| x < t).count();
            let _ = writeln!(
                r,
                "    at < {t:.2}: same face accepted {}/{}, different faces accepted {}/{}",
                n(&same),
                same.len(),
                n(&other),
                other.len()
            );
        }
    }

    let mut figures =
        Figures { person_infer_ms: infer, face_embed_ms: mean(&embed_ms), ..Figures::default() };
    if let Some(script) = &o.reference {
        let _ = writeln!(
            r,
            "\nreference: the same ONNX files on the same inputs in onnxruntime (one thread):"
        );
        let scores: Vec<String> = best.iter().map(|b| format!("{b:.6}")).collect();
        std::fs::write(o.work_dir.join("tract-person-best.txt"), scores.join("\n"))
            .map_err(|e| e.to_string())?;
        let out = match Command::new(script).arg(&o.models_dir).arg(&o.work_dir).output() {
            Ok(out) if out.status.success() => out,
            Ok(out) => {
                let why = String::from_utf8_lossy(&out.stderr);
                let _ = writeln!(r, "  {} failed: {why}", script.display());
                return Ok((r, figures));
            }
            Err(e) => {
                let _ = writeln!(r, "  cannot run {}: {e}", script.display());
                return Ok((r, figures));
            }
        };
        let text = String::from_utf8_lossy(&out.stdout);
        let value = |key: &str| -> Option<f64> {
            text.lines().find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
        };
        for line in text.lines() {
            let _ = writeln!(r, "  {line}");
        }
        figures.reference_person_ms = value("person_ms");
        figures.reference_embed_ms = value("face_embed_ms");
        if let Some(ort) = value("person_ms") {
            let _ = writeln!(
                r,
                "  person inference: tract {infer:.1} ms / onnxruntime {ort:.1} ms = {:.2}x",
                infer / ort
            );
        }
        if let Some(ort) = value("face_detect_ms") {
            let _ = writeln!(
                r,
                "  face detection: tract {:.1} ms (whole detect) / onnxruntime {ort:.1} ms (inference)",
                mean(&detect_ms)
            );
        }
        if let Some(ort) = value("face_embed_ms") {
            let _ = writeln!(
                r,
                "  face embedding: tract {:.1} ms / onnxruntime {ort:.1} ms = {:.2}x",
                mean(&embed_ms),
                mean(&embed_ms) / ort
            );
        }
    }
    let _ = writeln!(
        r,
        "\ninputs written to {} (person {}x{}, faces {}x{}, chips {}x{})",
        o.work_dir.display(),
        PERSON_INPUT,
        PERSON_INPUT,
        FACE_INPUT,
        FACE_INPUT,
        CHIP,
        CHIP
    );
    Ok((r, figures))
}

/// The square around `f` (twice its size), moved by `shift` of the face's size, shown `scale`
/// times larger and `bright` times brighter.
fn around(img: &RgbImage, f: &Face, shift: f32, scale: f32, bright: f32) -> Option<RgbImage> {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let side = (f.bbox.w * w).max(f.bbox.h * h) * 2.0;
    let cx = (f.bbox.x + f.bbox.w / 2.0) * w + shift * f.bbox.w * w;
    let cy = (f.bbox.y + f.bbox.h / 2.0) * h + shift * f.bbox.h * h;
    let x0 = (cx - side / 2.0).clamp(0.0, w - 1.0) as u32;
    let y0 = (cy - side / 2.0).clamp(0.0, h - 1.0) as u32;
    let cw = (side as u32).min(img.width() - x0);
    let ch = (side as u32).min(img.height() - y0);
    if cw < 16 || ch < 16 {
        return None;
    }
    let crop = imageops::crop_imm(img, x0, y0, cw, ch).to_image();
    let mut out = imageops::resize(
        &crop,
        (cw as f32 * scale) as u32,
        (ch as f32 * scale) as u32,
        imageops::FilterType::Triangle,
    );
    for p in out.pixels_mut() {
        for c in p.0.iter_mut() {
            *c = (*c as f32 * bright).min(255.0) as u8;
        }
    }
    Some(out)
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 }
}

fn p95(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s.get(((s.len() as f64 * 0.95).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0)
}

fn mean32(v: &[f32]) -> f32 {
    if v.is_empty() { 0.0 } else { v.iter().sum::<f32>() / v.len() as f32 }
}

fn max(v: &[f32]) -> f32 {
    v.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

fn min(v: &[f32]) -> f32 {
    v.iter().copied().fold(f32::INFINITY, f32::min)
}

/// The face photos for the bench: the two committed with this crate (public domain and CC0),
/// and the six group photos of `@vladmandic/face-api`'s demo when `scripts/models` left its
/// tarball in the models directory (extracted into `work_dir`; used here only, never committed).
pub fn face_photos(models_dir: &Path, work_dir: &Path) -> Vec<PathBuf> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut out = vec![data.join("astronaut.jpg"), data.join("camera.jpg")];
    let tarball = models_dir.join(".packages/vladmandic-face-api-1.7.15.tgz");
    if tarball.is_file() {
        let ok = Command::new("tar")
            .arg("-xzf")
            .arg(&tarball)
            .arg("-C")
            .arg(work_dir)
            .args((1..=6).map(|i| format!("package/demo/sample{i}.jpg")))
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            out.extend((1..=6).map(|i| work_dir.join(format!("package/demo/sample{i}.jpg"))));
        }
    }
    out
}
