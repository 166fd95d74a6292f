//! `[exports]`: how long a data export is kept and how often one may be started.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExportsConfig {
    /// Hours a ready export can be downloaded (any number of times); then it is deleted. A
    /// queued or failed one is deleted this long after it was asked for.
    pub expiry_hours: u32,
    /// Exports an account may start in 24 hours (per server node).
    pub per_day: u32,
}

impl Default for ExportsConfig {
    fn default() -> Self {
        ExportsConfig { expiry_hours: 72, per_day: 5 }
    }
}

impl ExportsConfig {
    pub fn validate(&self) -> Result<(), String> {
        // Each key's valid range (docs/ref/config.md lists them).
        let ranges =
            [("expiry_hours", self.expiry_hours, 1, 720), ("per_day", self.per_day, 1, 100)];
        for (name, v, lo, hi) in ranges {
            if !(lo..=hi).contains(&v) {
                return Err(format!("exports.{name} must be {lo}-{hi}, not {v}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_out_of_range_values_are_refused() {
        assert!(ExportsConfig::default().validate().is_ok());
        let c = ExportsConfig { expiry_hours: 0, ..ExportsConfig::default() };
        assert_eq!(
            c.validate().expect_err("out of range"),
            "exports.expiry_hours must be 1-720, not 0"
        );
        let c = ExportsConfig { per_day: 101, ..ExportsConfig::default() };
        assert!(c.validate().is_err());
    }
}
