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
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig { time_zone: "UTC".into(), holidays: Vec::new() }
    }
}

impl PrivacyConfig {
    pub fn validate(&self) -> Result<(), String> {
        self.calendar().map(|_| ()).map_err(|e| format!("privacy: {e}"))
    }

    /// The working calendar (validated at start-up, so this only fails on an unchecked config).
    pub fn calendar(&self) -> Result<WorkCalendar, String> {
        WorkCalendar::new(&self.time_zone, &self.holidays)
    }
}
