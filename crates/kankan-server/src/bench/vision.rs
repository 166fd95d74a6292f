//! Person and face detection (`kankan_vision::bench`, which holds the measurements so that
//! they run the same from this command and from kankan-vision's `bench` example).

use std::path::PathBuf;

use anyhow::Context as _;

pub fn vision(
    models_dir: Option<PathBuf>,
    sample_fps: f64,
    reference: PathBuf,
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
    let report = kankan_vision::bench::run(&options).map_err(anyhow::Error::msg)?;
    print!("{report}");
    Ok(())
}
