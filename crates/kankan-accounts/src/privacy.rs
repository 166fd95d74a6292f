//! The operator's privacy settings: the working calendar the policy's periods are counted in
//! (weekends and the configured holidays do not count).

use kankan_base::WorkCalendar;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// The IANA time zone working days are counted in.
    pub time_zone: String,
    /// Days that are not working days besides weekends, as `YYYY-MM-DD`.
    pub holidays: Vec<String>,
    /// Working days the operator takes to answer a data-subject request (the policy: 15).
    pub response_working_days: u32,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig { time_zone: "UTC".into(), holidays: Vec::new(), response_working_days: 15 }
    }
}

impl PrivacyConfig {
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=60).contains(&self.response_working_days) {
            return Err("privacy.response_working_days must be 1-60".into());
        }
        self.calendar().map(|_| ()).map_err(|e| format!("privacy: {e}"))
    }

    /// The working calendar (validated at start-up, so this only fails on an unchecked config).
    pub fn calendar(&self) -> Result<WorkCalendar, String> {
        WorkCalendar::new(&self.time_zone, &self.holidays)
    }
}
