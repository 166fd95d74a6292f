//! Per-device limits: how long a device's footage is kept, how much of it, and the most its
//! owner's recording mode may be (continuous > events > card-only). The plans write a
//! device's limits from its entitlement (`device_limits`); a device without them follows the
//! free tier ([`Recordings::set_free_tier`], else continuous for `recording.retention_days`).
//! The recording domain only reads them: it knows nothing of plans.

pub use kankan_db::DeviceLimits;
use kankan_db::RecordingMode;

use super::Recordings;
use crate::CoreError;

/// The free tier was set already (it is set once, at start-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeTierError;

/// How restrictive a mode is: the lower keeps less.
fn rank(m: RecordingMode) -> u8 {
    match m {
        RecordingMode::CardOnly => 0,
        RecordingMode::Events => 1,
        RecordingMode::Continuous => 2,
    }
}

/// The owner's `chosen` mode, capped by what the device's limits allow.
pub fn capped(chosen: RecordingMode, allowed: RecordingMode) -> RecordingMode {
    if rank(chosen) <= rank(allowed) { chosen } else { allowed }
}

impl Recordings {
    /// Sets the limits of devices without their own (the plans' free tier); once, at
    /// start-up, before the first sweep.
    pub fn set_free_tier(&self, limits: DeviceLimits) -> Result<(), FreeTierError> {
        self.inner.free_tier.set(limits).map_err(|_| FreeTierError)
    }

    /// The limits of devices without their own.
    pub fn free_tier(&self) -> DeviceLimits {
        self.inner.free_tier.get().copied().unwrap_or(DeviceLimits {
            kind: RecordingMode::Continuous,
            retention_days: self.inner.config.retention_days,
            quota_mib: None,
            since: kankan_base::Timestamp(0),
        })
    }

    /// The limits `uid`'s footage follows now: its own, else the free tier.
    pub async fn limits_of(&self, uid: &str) -> Result<DeviceLimits, CoreError> {
        Ok(self.inner.store.device_limits(uid).await?.unwrap_or_else(|| self.free_tier()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cap_lowers_the_chosen_mode_and_never_raises_it() {
        use RecordingMode::*;
        assert_eq!(capped(Continuous, Events), Events);
        assert_eq!(capped(Continuous, CardOnly), CardOnly);
        assert_eq!(capped(Events, CardOnly), CardOnly);
        assert_eq!(capped(Events, Continuous), Events);
        assert_eq!(capped(CardOnly, Continuous), CardOnly);
        assert_eq!(capped(Continuous, Continuous), Continuous);
    }
}
