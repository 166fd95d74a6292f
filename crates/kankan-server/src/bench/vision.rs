//! Person and face detection (`kankan_vision::bench`, which holds the measurements so that
//! they run the same from this command and from kankan-vision's `bench` example). Here the
//! whole run repeats in alternating rounds (`rounds`: tract's measurements, then the same ONNX
//! files in onnxruntime); the report gives the median ratio of each compared figure and its
//! spread. The example runs one round.

use std::path::PathBuf;

use anyhow::Context as _;

use super::rounds::Rounds;

pub fn vision(
    models_dir: Option<PathBuf>,
    sample_fps: f64,
    reference: PathBuf,
    rounds_n: usize,
    work_dir: PathBuf,
) -> anyhow::Result<()> {
    let models_dir = models_dir.unwrap_or_else(kankan_vision::default_models_dir);
    let work_dir = work_dir.join("vision");
    std::fs::create_dir_all(&work_dir).with_context(|| work_dir.display().to_string())?;
    let options = kankan_vision::bench::BenchOptions {
        face_photos: kankan_vision::bench::face_photos(&models_dir, &work_dir),
        models_dir,
        work_dir,
        reference: reference.is_file().then_some(reference),
        sample_fps,
    };
    let mut person =
        Rounds::new("person detection, inference (ms a frame)", "tract", "onnxruntime");
    let mut embed = Rounds::new("face embedding (ms a face)", "tract", "onnxruntime");
    for round in 1..=rounds_n.max(1) {
        let (report, f) =
            kankan_vision::bench::run_figures(&options).map_err(anyhow::Error::msg)?;
        if round == 1 {
            print!("{report}");
        }
        println!(
            "round {round}: person inference tract {:.1} ms, onnxruntime {}; face embedding \
             tract {:.1} ms, onnxruntime {}",
            f.person_infer_ms,
            shown(f.reference_person_ms),
            f.face_embed_ms,
            shown(f.reference_embed_ms)
        );
        if let (Some(p), Some(e)) = (f.reference_person_ms, f.reference_embed_ms) {
            person.push(f.person_infer_ms, p);
            embed.push(f.face_embed_ms, e);
        }
    }
    if person.a.is_empty() {
        println!("no reference figures (scripts/bench-vision did not run): no ratios");
    } else {
        print!("{}{}", person.report(), embed.report());
    }
    Ok(())
}

fn shown(ms: Option<f64>) -> String {
    ms.map_or_else(|| "-".into(), |v| format!("{v:.1} ms"))
}
