//! The server's person detector: `kankan_vision`'s models, loaded once at start from
//! `vision.models_dir`, run behind its bounded pool (`vision.workers` threads, `vision.queue`
//! pictures waiting; past that a picture is skipped and counted).

use std::sync::Arc;

use anyhow::Context as _;
use kankan_events::{PersonDetect, Running};
use kankan_vision::{Models, Pool};

use crate::vision_config::VisionConfig;

/// The models and the pool, shared by every camera's analysis.
#[derive(Debug)]
pub struct Vision {
    pub models: Arc<Models>,
    pool: Arc<Pool>,
    threshold: f32,
}

impl Vision {
    /// Loads the models when `models_dir` is set; `None` when it is not.
    pub fn load(cfg: &VisionConfig) -> anyhow::Result<Option<Arc<Vision>>> {
        if !cfg.enabled() {
            return Ok(None);
        }
        let models = Models::load(&cfg.models_dir)
            .with_context(|| format!("loading the models in {}", cfg.models_dir.display()))?;
        let pool = Pool::new(cfg.workers, cfg.queue).context("the vision pool")?;
        Ok(Some(Arc::new(Vision {
            models: Arc::new(models),
            pool: Arc::new(pool),
            threshold: cfg.person_threshold,
        })))
    }
}

impl PersonDetect for Vision {
    fn detect(&self, picture: Arc<image::RgbImage>) -> Option<Running> {
        let models = self.models.clone();
        let threshold = self.threshold;
        let running =
            self.pool.try_run(move || models.person.detect_at(&picture, threshold)).ok()?;
        Some(Box::pin(running))
    }

    fn skipped(&self) -> u64 {
        self.pool.skipped()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_busy_pool_skips_pictures_and_counts_them_instead_of_queueing() {
        // fails without the fix: every camera's pictures waited in one unbounded queue.
        let cfg = VisionConfig {
            models_dir: kankan_testkit::models_dir(),
            workers: 1,
            queue: 0,
            ..VisionConfig::default()
        };
        let vision = Vision::load(&cfg).expect("loads").expect("on");
        let picture = Arc::new(image::RgbImage::new(384, 288));
        // The worker takes the first picture once it is waiting for one.
        let first = loop {
            if let Some(running) = vision.detect(picture.clone()) {
                break running;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        };
        let before = vision.skipped();
        // While it runs, more cameras' pictures are skipped at once, and counted.
        let more = (0..5).filter(|_| vision.detect(picture.clone()).is_none()).count();
        assert_eq!(more, 5, "no room while the worker is busy");
        assert_eq!(vision.skipped(), before + 5);
        assert!(first.await.is_empty(), "a black picture has nobody in it");
    }
}
