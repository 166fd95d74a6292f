//! Person and face analysis on CPU, in Rust: person detection (NanoDet-g 416, COCO class 0),
//! face detection (MediaPipe BlazeFace "back" 256), face embeddings (dlib's ResNet, 128-d,
//! Euclidean distance), run with tract from the ONNX files `scripts/models` makes; a bounded
//! worker [`Pool`] to run them on; and [`yuv420_to_rgb`] for decoded frames.
//!
//! Nothing here touches the store or the network: the server samples frames and decides what
//! to keep. Each inference runs on the calling thread; parallelism comes from the pool.

pub mod bench;
mod embed;
mod error;
mod face;
mod geom;
mod net;
mod person;
mod pool;
pub mod samples;
mod yuv;

use std::path::{Path, PathBuf};

pub use embed::{CHIP, Embedding, FaceEmbedder, SAME_PERSON_MAX_DISTANCE, align};
pub use error::VisionError;
pub use face::{DEFAULT_FACE_THRESHOLD, FACE_INPUT, FACE_NMS_IOU, Face, FaceDetector};
pub use geom::{BBox, Letterbox, nms};
pub use person::{DEFAULT_PERSON_THRESHOLD, PERSON_INPUT, PERSON_NMS_IOU, PersonDetector};
pub use pool::{Busy, Pool};
pub use yuv::{MAX_PIXELS, yuv420_to_rgb};

/// The person detector's file in the models directory.
pub const PERSON_MODEL: &str = "person.onnx";
/// The face detector's file in the models directory.
pub const FACE_DETECT_MODEL: &str = "face-detect.onnx";
/// The face embedder's file in the models directory.
pub const FACE_EMBED_MODEL: &str = "face-embed.onnx";

/// Something found in a frame: its label (`"person"`), score (0..=1) and box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub label: &'static str,
    pub score: f32,
    pub bbox: BBox,
}

/// The three models, loaded. Shareable between threads (`Arc<Models>`).
#[derive(Debug)]
pub struct Models {
    pub person: PersonDetector,
    pub faces: FaceDetector,
    pub embedder: FaceEmbedder,
}

impl Models {
    /// Loads the models from `dir` (what `scripts/models` wrote). Takes about a second.
    pub fn load(dir: &Path) -> Result<Models, VisionError> {
        Ok(Models {
            person: PersonDetector::load(&dir.join(PERSON_MODEL))?,
            faces: FaceDetector::load(&dir.join(FACE_DETECT_MODEL))?,
            embedder: FaceEmbedder::load(&dir.join(FACE_EMBED_MODEL))?,
        })
    }
}

/// Where `scripts/models` puts the models unless told otherwise: `KANKAN_MODELS_DIR`, else
/// `~/.cache/kankan/models`.
pub fn default_models_dir() -> PathBuf {
    match std::env::var_os("KANKAN_MODELS_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/kankan/models")
        }
    }
}
