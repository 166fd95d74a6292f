//! What a withdrawn consent deletes in the other domains (`kankan_accounts::WithdrawalEffect`),
//! wired into `Accounts` at start-up.

use async_trait::async_trait;
use kankan_accounts::{CoreError, Purpose, WithdrawalEffect};
use kankan_base::AccountId;
use kankan_recording::Recordings;

/// A withdrawn consent to cloud recording (where the operator makes it optional) deletes the
/// account's recordings: from then on `Recordings::effective_mode` keeps nothing new, and
/// this removes what was kept.
pub struct FootageOnWithdrawal {
    pub recordings: Recordings,
}

#[async_trait]
impl WithdrawalEffect for FootageOnWithdrawal {
    async fn withdrawn(&self, account: AccountId, purpose: Purpose) -> Result<(), CoreError> {
        if purpose == Purpose::CloudRecording {
            let segments = self.recordings.forget_footage_of(account).await?;
            tracing::info!(%account, segments, "cloud recording consent withdrawn: footage deleted");
        }
        Ok(())
    }
}

/// A withdrawn consent to AI descriptions deletes every description of the account's events at
/// once: from then on `Events::describe` asks for none (it checks the consent before each
/// request).
pub struct DescriptionsOnWithdrawal {
    pub events: kankan_events::Events,
}

#[async_trait]
impl WithdrawalEffect for DescriptionsOnWithdrawal {
    async fn withdrawn(&self, account: AccountId, purpose: Purpose) -> Result<(), CoreError> {
        if purpose == Purpose::AiDescriptions {
            let n = self.events.forget_descriptions(account).await?;
            tracing::info!(%account, descriptions = n, "AI descriptions consent withdrawn: deleted");
        }
        Ok(())
    }
}
