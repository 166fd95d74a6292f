//! Deleting faces on time and on withdrawal: the `faces-sweeper` worker (unnamed faces two
//! days after their last sighting) and the `face-recognition` withdrawal effect (every face).

use std::time::Duration;

use async_trait::async_trait;
use kankan_accounts::{Purpose, WithdrawalEffect};
use kankan_base::AccountId;
use kankan_core::CoreError;
use kankan_worker::{Step, Ticker, WorkError, Worker};

use crate::Faces;

/// How often the sweeper runs: an unnamed face goes at most this long after its two days
/// (the lists stop showing it at the two days).
pub const SWEEP_EVERY: Duration = Duration::from_secs(600);

impl Faces {
    /// The worker deleting unnamed faces two days after their last sighting.
    pub fn sweeper(&self) -> FacesSweeper {
        FacesSweeper {
            faces: self.clone(),
            ticker: Ticker::starting(SWEEP_EVERY, self.inner.clock.now()),
        }
    }
}

/// Deletes the unnamed faces (with their sightings and pictures) last seen more than two
/// days ago, every [`SWEEP_EVERY`] on the clock.
pub struct FacesSweeper {
    faces: Faces,
    ticker: Ticker,
}

impl Worker for FacesSweeper {
    fn name(&self) -> &'static str {
        "faces-sweeper"
    }

    async fn work(&mut self) -> Result<Step, WorkError> {
        let clock = self.faces.inner.clock.as_ref();
        if let Some(n) = self.ticker.run(clock, self.faces.sweep()).await?.filter(|n| *n > 0) {
            tracing::info!(deleted = n, "unnamed faces deleted two days after their last sighting");
        }
        Ok(Step::Idle)
    }

    async fn wait_for_work(&mut self) {
        self.ticker.wait(self.faces.inner.clock.as_ref()).await;
    }
}

/// A withdrawn `face-recognition` consent deletes every face of the account (templates,
/// names, sightings, pictures) at once; nothing new is processed from the withdrawal on
/// (`Faces::observe` asks the consent first).
pub struct FacesOnWithdrawal {
    pub faces: Faces,
}

#[async_trait]
impl WithdrawalEffect for FacesOnWithdrawal {
    async fn withdrawn(&self, account: AccountId, purpose: Purpose) -> Result<(), CoreError> {
        if purpose == Purpose::FaceRecognition {
            let n = self.faces.forget_account(account).await?;
            tracing::info!(%account, faces = n, "face recognition consent withdrawn: faces deleted");
        }
        Ok(())
    }
}
