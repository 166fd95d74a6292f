//! `[vision]`: person detection on the server (see `kankan_events::person`). Off until
//! `models_dir` names the directory `scripts/models` wrote.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct VisionConfig {
    /// The models' directory (`person.onnx`, ...); empty: no detection on this server
    /// (turning a camera's `person_detection` on answers 409 `vision-unavailable`).
    pub models_dir: PathBuf,
    /// Threads running the models (1-64).
    pub workers: usize,
    /// Pictures waiting for a worker (0-256); past it a picture is skipped and counted
    /// (`kankan_vision_frames_skipped_total`).
    pub queue: usize,
    /// Pictures a second looked at while a motion event lasts (1-10).
    pub sample_fps: u32,
    /// The lowest score that counts as a person (0.05-0.99).
    pub person_threshold: f32,
}

impl Default for VisionConfig {
    fn default() -> Self {
        VisionConfig {
            models_dir: PathBuf::new(),
            workers: 1,
            queue: 4,
            sample_fps: 2,
            person_threshold: 0.5,
        }
    }
}

impl VisionConfig {
    /// Whether detection is on (`models_dir` is set).
    pub fn enabled(&self) -> bool {
        !self.models_dir.as_os_str().is_empty()
    }

    pub fn validate(&self) -> Result<(), String> {
        if !(1..=64).contains(&self.workers) {
            return Err("vision.workers must be 1-64".into());
        }
        if self.queue > 256 {
            return Err("vision.queue must be 0-256".into());
        }
        if !(1..=10).contains(&self.sample_fps) {
            return Err("vision.sample_fps must be 1-10".into());
        }
        if !(0.05..=0.99).contains(&self.person_threshold) {
            return Err("vision.person_threshold must be 0.05-0.99".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vision_settings_outside_their_ranges_are_refused() {
        assert!(VisionConfig::default().validate().is_ok());
        assert!(!VisionConfig::default().enabled(), "off by default");
        let bad = [
            VisionConfig { workers: 0, ..VisionConfig::default() },
            VisionConfig { queue: 257, ..VisionConfig::default() },
            VisionConfig { sample_fps: 0, ..VisionConfig::default() },
            VisionConfig { sample_fps: 11, ..VisionConfig::default() },
            VisionConfig { person_threshold: 1.5, ..VisionConfig::default() },
        ];
        for c in bad {
            assert!(c.validate().is_err(), "{c:?}");
        }
    }
}
