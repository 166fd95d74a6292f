//! Errors of loading the models, each with a stable code.

use std::path::PathBuf;

/// Why the models could not be loaded. Running a loaded model does not fail: bad frames give
/// no detections.
#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    /// A model file is not in the models directory (run `scripts/models`).
    #[error("the model file {} is missing: run scripts/models to fetch and convert the models", .0.display())]
    ModelsMissing(PathBuf),
    /// A model file is there but is not the model expected (unreadable ONNX, other inputs or
    /// outputs).
    #[error("the model file {} is not a usable model: {reason}", .path.display())]
    ModelInvalid { path: PathBuf, reason: String },
    /// A setting is out of its range (thresholds in 0..=1, at least one worker).
    #[error("invalid vision setting: {0}")]
    InvalidSetting(String),
}

impl VisionError {
    /// The stable kebab-case code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            VisionError::ModelsMissing(_) => "models-missing",
            VisionError::ModelInvalid { .. } => "model-invalid",
            VisionError::InvalidSetting(_) => "vision-setting-invalid",
        }
    }
}
