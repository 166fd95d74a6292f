//! The real models (scripts/models) on real frames: Debian opencv-doc's vtest.avi (pedestrians)
//! and tree.avi (a tree in the wind, then a hand), and two face photos whose licences allow
//! it (tests/data/README.md).

use std::path::PathBuf;
use std::sync::OnceLock;

use image::RgbImage;
use kankan_vision::samples::{opencv_sample, video_frames};
use kankan_vision::{Face, Models, SAME_PERSON_MAX_DISTANCE, VisionError, default_models_dir};

/// The models directory; fails the test (never skips it) when scripts/models has not run.
/// Same rule as `kankan_testkit::models_dir`, without building the server for this crate.
fn models_dir() -> PathBuf {
    let dir = default_models_dir();
    for f in [
        kankan_vision::PERSON_MODEL,
        kankan_vision::FACE_DETECT_MODEL,
        kankan_vision::FACE_EMBED_MODEL,
    ] {
        assert!(dir.join(f).is_file(), "{f} is missing in {}: run scripts/models", dir.display());
    }
    dir
}

fn models() -> &'static Models {
    static MODELS: OnceLock<Models> = OnceLock::new();
    MODELS.get_or_init(|| match Models::load(&models_dir()) {
        Ok(m) => m,
        Err(e) => panic!("loading the models failed ({}): {e}", e.code()),
    })
}

fn frames(video: &str, numbers: &[u32]) -> Vec<(u32, RgbImage)> {
    let path = opencv_sample(video).unwrap_or_else(|e| panic!("{e}"));
    let frames = video_frames(&path, numbers).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(frames.len(), numbers.len(), "ffmpeg decoded fewer frames than asked");
    frames
}

fn photo(name: &str) -> RgbImage {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name);
    image::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).to_rgb8()
}

#[test]
fn a_person_is_found_in_every_sampled_frame_of_vtest() {
    let m = models();
    for (n, frame) in frames("vtest.avi", &[0, 130, 260, 390, 520, 650, 780]) {
        let people = m.person.detect(&frame);
        assert!(!people.is_empty(), "no person found in vtest.avi frame {n}");
        for p in &people {
            assert_eq!(p.label, "person");
            assert!(p.score >= m.person.threshold() && p.score <= 1.0, "{p:?}");
            let b = p.bbox;
            assert!(
                b.x >= 0.0 && b.y >= 0.0 && b.x + b.w <= 1.0001 && b.y + b.h <= 1.0001,
                "{b:?}"
            );
            // pedestrians seen from afar: upright, small boxes
            assert!(b.h > b.w && b.h < 0.6, "frame {n}: {b:?}");
        }
    }
}

#[test]
fn no_person_is_found_in_tree_before_the_hand_appears() {
    let m = models();
    for (n, frame) in frames("tree.avi", &[0, 8, 16, 24, 32, 40, 48, 52]) {
        let people = m.person.detect(&frame);
        assert!(people.is_empty(), "tree.avi frame {n}: {people:?}");
    }
}

fn one_face(m: &Models, img: &RgbImage, what: &str) -> Face {
    let faces = m.faces.detect(img);
    assert_eq!(faces.len(), 1, "{what}: {faces:?}");
    let f = faces[0];
    let (re, le, mouth) = (f.landmarks[0], f.landmarks[1], f.landmarks[3]);
    assert!(re.1 < mouth.1 && le.1 < mouth.1, "{what}: eyes above the mouth: {f:?}");
    let inside = |(x, y): (f32, f32)| {
        x >= f.bbox.x - 0.02
            && x <= f.bbox.x + f.bbox.w + 0.02
            && y >= f.bbox.y - 0.02
            && y <= f.bbox.y + f.bbox.h + 0.02
    };
    assert!(inside(re) && inside(le) && inside(mouth), "{what}: keypoints in the box: {f:?}");
    f
}

#[test]
fn one_face_with_its_keypoints_is_found_on_each_photo() {
    let m = models();
    let astronaut = one_face(m, &photo("astronaut.jpg"), "astronaut");
    // Eileen Collins' face is in the upper middle of the 512x512 photo.
    let b = astronaut.bbox;
    assert!(b.x > 0.3 && b.x + b.w < 0.7 && b.y > 0.05 && b.y + b.h < 0.5, "{b:?}");
    one_face(m, &photo("camera.jpg"), "cameraman");
}

/// A copy of `img` moved and rescaled: the crop `(x, y, w, h)` resized to `size`.
fn moved(img: &RgbImage, (x, y, w, h): (u32, u32, u32, u32), size: (u32, u32)) -> RgbImage {
    let crop = image::imageops::crop_imm(img, x, y, w, h).to_image();
    image::imageops::resize(&crop, size.0, size.1, image::imageops::FilterType::Triangle)
}

#[test]
fn the_same_face_moved_and_rescaled_embeds_closer_than_another_face() {
    let m = models();
    let embed = |img: &RgbImage, what: &str| {
        let f = one_face(m, img, what);
        m.embedder.embed(img, &f)
    };
    let astronaut = photo("astronaut.jpg");
    let a = embed(&astronaut, "astronaut");
    let a_moved = embed(&moved(&astronaut, (40, 0, 400, 400), (560, 560)), "astronaut moved, 1.4x");
    let a_small =
        embed(&moved(&astronaut, (0, 30, 480, 480), (300, 300)), "astronaut moved, 0.62x");
    let c = embed(&photo("camera.jpg"), "cameraman");
    let same = [a.distance(&a_moved), a.distance(&a_small)];
    let other = [a.distance(&c), a_moved.distance(&c), a_small.distance(&c)];
    for d in same {
        assert!(d < SAME_PERSON_MAX_DISTANCE, "same face: {same:?}, other: {other:?}");
    }
    for d in other {
        assert!(d > SAME_PERSON_MAX_DISTANCE, "same face: {same:?}, other: {other:?}");
    }
    let norm = a.0.iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!(norm > 0.1 && norm.is_finite(), "a real embedding, not zeros: {norm}");
}

#[test]
fn a_missing_or_broken_model_file_is_reported_with_its_code() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = Models::load(dir.path()).expect_err("no files");
    assert_eq!(missing.code(), "models-missing", "{missing}");
    assert!(missing.to_string().contains("scripts/models"), "{missing}");
    std::fs::write(dir.path().join(kankan_vision::PERSON_MODEL), b"not a model").expect("write");
    let broken = Models::load(dir.path()).expect_err("garbage");
    assert_eq!(broken.code(), "model-invalid", "{broken}");
    // A real model in the wrong place: the face embedder where the person detector should be.
    std::fs::copy(
        models_dir().join(kankan_vision::FACE_EMBED_MODEL),
        dir.path().join(kankan_vision::PERSON_MODEL),
    )
    .expect("copy");
    let wrong = Models::load(dir.path()).expect_err("wrong model");
    assert!(matches!(wrong, VisionError::ModelInvalid { .. }), "{wrong}");
}

mod never_panic {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        /// Any size (including 0 and 1 pixel sides, extreme aspect ratios) and any content.
        #[test]
        fn detectors_and_the_embedder_accept_any_image(
            w in 0u32..600, h in 0u32..40, tall in any::<bool>(), seed in any::<u64>()
        ) {
            let (w, h) = if tall { (h, w) } else { (w, h) };
            let mut s = seed | 1;
            let img = RgbImage::from_fn(w, h, |_, _| {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                image::Rgb([s as u8, (s >> 8) as u8, (s >> 16) as u8])
            });
            let m = models();
            for d in m.person.detect_at(&img, 0.05) {
                prop_assert!(d.bbox.x >= 0.0 && d.bbox.x + d.bbox.w <= 1.0001 && d.score <= 1.0);
            }
            let faces = m.faces.detect(&img);
            let face = faces.first().copied().unwrap_or(Face {
                score: 1.0,
                bbox: kankan_vision::BBox { x: 0.0, y: 0.0, w: 1.0, h: 1.0 },
                landmarks: [(0.3, 0.3), (0.7, 0.3), (0.5, 0.5), (0.5, 0.7), (0.0, 0.4), (1.0, 0.4)],
            });
            let e = m.embedder.embed(&img, &face);
            prop_assert!(e.0.iter().all(|v| v.is_finite()));
        }
    }
}
