//! `kankan bench vision` without building the server:
//! `cargo run --release -p kankan-vision --example bench [WORK_DIR]` from the repository root.
//! Same measurements (kankan_vision::bench), same output.

fn main() {
    let models_dir = kankan_vision::default_models_dir();
    let work_dir = std::env::args()
        .nth(1)
        .map_or_else(|| std::env::temp_dir().join("kankan-bench-vision"), std::path::PathBuf::from);
    if let Err(e) = std::fs::create_dir_all(&work_dir) {
        eprintln!("{}: {e}", work_dir.display());
        std::process::exit(1);
    }
    let reference = std::path::PathBuf::from("scripts/bench-vision");
    let options = kankan_vision::bench::BenchOptions {
        face_photos: kankan_vision::bench::face_photos(&models_dir, &work_dir),
        models_dir,
        work_dir,
        reference: reference.is_file().then_some(reference),
        sample_fps: 2.0,
    };
    match kankan_vision::bench::run(&options) {
        Ok(report) => print!("{report}"),
        Err(e) => {
            eprintln!("bench vision: {e}");
            std::process::exit(1);
        }
    }
}
