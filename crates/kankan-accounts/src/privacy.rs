//! The operator's privacy settings: the working calendar the policy's periods are counted in
//! (weekends and the configured holidays do not count), the privacy policy's versions, the
//! operator's contact details, response time and disclaimer, which optional processing exists,
//! and the age under which an account is a child's.

use std::path::PathBuf;

use kankan_base::WorkCalendar;
use serde::{Deserialize, Serialize};

/// The built-in policy: the founding policy's structure, for an operator who configures none.
pub const TEMPLATE_POLICY: &str = include_str!("policy/template.md");

/// The built-in disclaimer, with the founding policy's reminder (section I).
pub const DEFAULT_DISCLAIMER: &str = "Kankan is provided by the operator of this server as is. \
You are responsible for where you install your cameras and whom they record.\n\n\
**Respect the privacy of others.** It is strictly prohibited to install any form of video \
recording or audio recording equipment in spaces involving the privacy of others or personal \
privacy, such as hotel rooms, changing rooms, bathrooms, and bedrooms.";

/// The longest version name, contact text and disclaimer.
const MAX_VERSION_LEN: usize = 32;
const MAX_TEXT_LEN: usize = 4000;

/// One published version of the privacy policy (`[[privacy.policies]]`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PolicyVersionConfig {
    /// Its name (`1`, `2.0`, `2024-05`: letters, digits, `.`, `-`).
    pub version: String,
    /// A major version must be accepted again before the app can be used; a minor one is shown
    /// as a notice.
    #[serde(default)]
    pub major: bool,
    /// When it was published, `YYYY-MM-DD`.
    pub published: String,
    /// The Markdown file of its text; unset: the built-in template.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// What changed from the version before (shown with the notice).
    #[serde(default)]
    pub changes: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// The IANA time zone working days are counted in.
    pub time_zone: String,
    /// Days that are not working days besides weekends, as `YYYY-MM-DD`.
    pub holidays: Vec<String>,
    /// The policy's versions, oldest first; none: the built-in template as version `1`.
    pub policies: Vec<PolicyVersionConfig>,
    /// The operator's contact details (Markdown), shown under About.
    pub contact: String,
    /// Working days within which the operator answers a request (1-15; the policy says 15).
    pub response_working_days: u32,
    /// The operator's disclaimer (Markdown), shown under About and once when adding a camera.
    pub disclaimer: String,
    /// Whether cloud recording is optional processing with a consent of its own.
    pub cloud_recording_optional: bool,
    /// Under this age an account is a child's and needs a guardian's consent (13-18; the policy
    /// says 14).
    pub child_age: u32,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig {
            time_zone: "UTC".into(),
            holidays: Vec::new(),
            policies: Vec::new(),
            contact: String::new(),
            response_working_days: 15,
            disclaimer: DEFAULT_DISCLAIMER.into(),
            cloud_recording_optional: false,
            child_age: 14,
        }
    }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

impl PrivacyConfig {
    pub fn validate(&self) -> Result<(), String> {
        self.calendar().map_err(|e| format!("privacy: {e}"))?;
        let mut previous: Option<&PolicyVersionConfig> = None;
        for p in &self.policies {
            let v = &p.version;
            if v.is_empty()
                || v.len() > MAX_VERSION_LEN
                || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            {
                return Err(format!(
                    "privacy.policies: version {v:?} must be 1-{MAX_VERSION_LEN} letters, digits, '.' or '-'"
                ));
            }
            if !is_date(&p.published) {
                return Err(format!("privacy.policies: version {v}: published must be YYYY-MM-DD"));
            }
            if self.policies.iter().filter(|o| &o.version == v).count() > 1 {
                return Err(format!("privacy.policies: version {v} is listed twice"));
            }
            if let Some(prev) = previous
                && p.published < prev.published
            {
                return Err(format!(
                    "privacy.policies: version {v} is published before {} above it: list versions oldest first",
                    prev.version
                ));
            }
            if p.changes.len() > MAX_TEXT_LEN {
                return Err(format!("privacy.policies: version {v}: changes is too long"));
            }
            previous = Some(p);
        }
        if !(1..=15).contains(&self.response_working_days) {
            return Err("privacy.response_working_days must be 1-15".into());
        }
        if !(13..=18).contains(&self.child_age) {
            return Err("privacy.child_age must be 13-18".into());
        }
        if self.contact.len() > MAX_TEXT_LEN || self.disclaimer.len() > MAX_TEXT_LEN {
            return Err(format!(
                "privacy.contact and privacy.disclaimer are at most {MAX_TEXT_LEN} bytes"
            ));
        }
        if self.disclaimer.trim().is_empty() {
            return Err("privacy.disclaimer must not be empty".into());
        }
        Ok(())
    }

    /// The working calendar (validated at start-up, so this only fails on an unchecked config).
    pub fn calendar(&self) -> Result<WorkCalendar, String> {
        WorkCalendar::new(&self.time_zone, &self.holidays)
    }

    /// The policy files to read at start (the server reads them: it alone reads files named
    /// by configuration), in the order of [`PrivacyConfig::policies`].
    pub fn policy_files(&self) -> Vec<Option<PathBuf>> {
        self.policies.iter().map(|p| p.file.clone()).collect()
    }
}

/// One version of the policy, with its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyVersion {
    pub version: String,
    pub major: bool,
    pub published: String,
    pub changes: String,
    /// Markdown.
    pub text: String,
}

/// The operator's privacy settings in force: the policy's versions with their texts.
#[derive(Debug, Clone)]
pub struct Privacy {
    /// Oldest first; never empty.
    versions: Vec<PolicyVersion>,
    pub contact: String,
    pub response_working_days: u32,
    pub disclaimer: String,
    pub cloud_recording_optional: bool,
    pub child_age: u32,
    /// The working days the policy's periods are counted in.
    pub calendar: WorkCalendar,
}

impl Default for Privacy {
    fn default() -> Self {
        Privacy::new(&PrivacyConfig::default(), Vec::new()).unwrap_or_else(|_| unreachable!())
    }
}

impl Privacy {
    /// The settings of `cfg` (validated), with the texts read from its policy files: one per
    /// entry of [`PrivacyConfig::policy_files`], `None` where no file is named.
    pub fn new(cfg: &PrivacyConfig, texts: Vec<Option<String>>) -> Result<Privacy, String> {
        cfg.validate()?;
        let versions = if cfg.policies.is_empty() {
            vec![PolicyVersion {
                version: "1".into(),
                major: true,
                published: "2025-01-01".into(),
                changes: String::new(),
                text: TEMPLATE_POLICY.into(),
            }]
        } else {
            if texts.len() > cfg.policies.len() {
                return Err("privacy: more policy texts than versions".into());
            }
            let mut texts = texts.into_iter();
            cfg.policies
                .iter()
                .map(|p| PolicyVersion {
                    version: p.version.clone(),
                    major: p.major,
                    published: p.published.clone(),
                    changes: p.changes.clone(),
                    text: texts.next().flatten().unwrap_or_else(|| TEMPLATE_POLICY.into()),
                })
                .collect()
        };
        Ok(Privacy {
            versions,
            contact: cfg.contact.clone(),
            response_working_days: cfg.response_working_days,
            disclaimer: cfg.disclaimer.clone(),
            cloud_recording_optional: cfg.cloud_recording_optional,
            child_age: cfg.child_age,
            calendar: cfg.calendar()?,
        })
    }

    /// Every version, oldest first.
    pub fn versions(&self) -> &[PolicyVersion] {
        &self.versions
    }

    /// The version in force (the newest).
    pub fn current(&self) -> &PolicyVersion {
        &self.versions[self.versions.len() - 1]
    }

    pub fn version(&self, name: &str) -> Option<&PolicyVersion> {
        self.versions.iter().find(|v| v.version == name)
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.versions.iter().position(|v| v.version == name)
    }

    /// Whether an account that accepted `accepted` (or nothing) must accept again before using
    /// the app: a major version was published after the one it accepted. An account that
    /// accepted no version must accept.
    pub fn acceptance_required(&self, accepted: Option<&str>) -> bool {
        let Some(last_major) = self.versions.iter().rposition(|v| v.major) else {
            return accepted.is_none();
        };
        match accepted.and_then(|a| self.position(a)) {
            Some(i) => i < last_major,
            None => true,
        }
    }

    /// The versions published after `accepted` (what changed since), oldest first.
    pub fn newer_than(&self, accepted: Option<&str>) -> &[PolicyVersion] {
        match accepted.and_then(|a| self.position(a)) {
            Some(i) => &self.versions[i + 1..],
            None => &self.versions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(v: &str, major: bool, published: &str) -> PolicyVersionConfig {
        PolicyVersionConfig {
            version: v.into(),
            major,
            published: published.into(),
            file: None,
            changes: format!("changes of {v}"),
        }
    }

    #[test]
    fn versions_must_be_unique_and_listed_oldest_first() {
        let mut cfg = PrivacyConfig {
            policies: vec![version("1", true, "2025-01-01"), version("1", false, "2025-02-01")],
            ..PrivacyConfig::default()
        };
        assert!(cfg.validate().expect_err("refused").contains("twice"));
        cfg.policies = vec![version("2", true, "2025-03-01"), version("1", true, "2025-01-01")];
        assert!(cfg.validate().expect_err("refused").contains("oldest first"));
        cfg.policies = vec![version("1 beta", true, "2025-01-01")];
        assert!(cfg.validate().is_err());
        cfg.policies = vec![version("1", true, "1 Jan 2025")];
        assert!(cfg.validate().is_err());
        cfg.policies = vec![version("1", true, "2025-01-01"), version("1.1", false, "2025-01-01")];
        assert!(cfg.validate().is_ok());
        cfg.child_age = 12;
        assert!(cfg.validate().is_err());
        cfg.child_age = 14;
        cfg.response_working_days = 16;
        assert!(cfg.validate().is_err());
    }

    #[test]
    fn only_a_newer_major_version_requires_accepting_again() {
        let cfg = PrivacyConfig {
            policies: vec![
                version("1", true, "2025-01-01"),
                version("1.1", false, "2025-02-01"),
                version("2", true, "2025-03-01"),
                version("2.1", false, "2025-04-01"),
            ],
            ..PrivacyConfig::default()
        };
        let p = Privacy::new(&cfg, vec![None, Some("v1.1 text".into())]).expect("valid");
        assert_eq!(p.current().version, "2.1");
        assert_eq!(p.version("1.1").map(|v| v.text.as_str()), Some("v1.1 text"));
        assert_eq!(p.version("2").map(|v| v.text.as_str()), Some(TEMPLATE_POLICY));
        assert!(p.acceptance_required(None));
        assert!(p.acceptance_required(Some("1")));
        assert!(p.acceptance_required(Some("1.1")));
        assert!(!p.acceptance_required(Some("2")));
        assert!(!p.acceptance_required(Some("2.1")));
        assert!(p.acceptance_required(Some("unknown")));
        let newer: Vec<_> = p.newer_than(Some("1.1")).iter().map(|v| &v.version).collect();
        assert_eq!(newer, ["2", "2.1"]);
    }

    #[test]
    fn the_default_is_the_template_as_one_major_version_with_the_policys_reminder() {
        let p = Privacy::default();
        assert_eq!(p.versions().len(), 1);
        assert!(p.current().major);
        assert!(p.current().text.contains("## VII. Protection of Minors"));
        assert!(p.disclaimer.contains("hotel rooms, changing rooms, bathrooms, and bedrooms"));
        assert_eq!((p.child_age, p.response_working_days), (14, 15));
    }
}
