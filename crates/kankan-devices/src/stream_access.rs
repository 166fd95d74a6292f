//! The revocation sweeper's question, answered by the one decision: does an account still hold
//! what its open streams on a device need? A member whose grant's time box has passed (its end
//! date, its weekly schedule) holds nothing there, and its streams end at the next sweep.

use async_trait::async_trait;
use kankan_base::AccountId;
use kankan_core::authz::CapabilitySet;
use kankan_core::{CoreError, DeviceAccess};

use super::Devices;

#[async_trait]
impl DeviceAccess for Devices {
    async fn holds(
        &self,
        account: AccountId,
        uid: &str,
        need: CapabilitySet,
    ) -> Result<bool, CoreError> {
        match self.authorize_account(account, need, uid).await {
            Ok(_) => Ok(true),
            // Not held, no such device, or an account (its own, or the owner's) that may not
            // act any more: the same refusal the routes give.
            Err(CoreError::DeviceNotFound | CoreError::Unauthenticated) => Ok(false),
            Err(e) => Err(e),
        }
    }
}
