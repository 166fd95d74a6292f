//! The plan catalogue from configuration (`[plans]`): the free tier every device without a
//! plan gets, the cloud-storage plans, and the 4G data packages. Validated at start-up.

use kankan_db::RecordingMode;
use serde::{Deserialize, Serialize};

/// How long a plan's period lasts: a month is 30 days, a year 365.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Period {
    Month,
    Year,
}

impl Period {
    pub fn days(self) -> u32 {
        match self {
            Period::Month => 30,
            Period::Year => 365,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Month => "month",
            Period::Year => "year",
        }
    }
}

/// The recording kind a plan or the free tier allows, as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Continuous,
    Events,
    CardOnly,
}

impl Kind {
    pub fn mode(self) -> RecordingMode {
        match self {
            Kind::Continuous => RecordingMode::Continuous,
            Kind::Events => RecordingMode::Events,
            Kind::CardOnly => RecordingMode::CardOnly,
        }
    }
}

/// What a device without a plan gets.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FreeTier {
    /// `continuous` or `card-only` (nothing stored in the cloud).
    pub kind: Kind,
    /// Days of footage kept, 0-30; absent: `recording.retention_days`. 0 only for card-only.
    pub retention_days: Option<u32>,
}

impl Default for FreeTier {
    fn default() -> Self {
        FreeTier { kind: Kind::Continuous, retention_days: None }
    }
}

/// A cloud-storage plan.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSpec {
    /// The catalogue id, lowercase letters, digits and `-`, e.g. `events-7d-month`.
    pub sku: String,
    pub title: String,
    /// `continuous` or `events`.
    pub kind: Kind,
    /// 3, 7 or 30.
    pub retention_days: u32,
    pub period: Period,
    /// The price in minor units (cents, fen) of `currency`.
    pub amount_minor: i64,
    /// ISO 4217, e.g. `EUR`, `CNY`.
    pub currency: String,
    /// Footage the device may keep, in MiB; absent: only the account's quota.
    #[serde(default)]
    pub quota_mib: Option<u64>,
}

/// A 4G data package for a SIM card.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    pub sku: String,
    pub title: String,
    /// The allowance, in MB (1 MB = 1024 KiB here), 1-1048576.
    pub mb: u64,
    /// How long the allowance lasts, 1-366 days.
    pub days: u32,
    pub amount_minor: i64,
    pub currency: String,
}

/// `[plans]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlansConfig {
    pub free: FreeTier,
    /// The owner is reminded this many days before a plan ends with no renewal, 0-30 (0:
    /// never).
    pub reminder_days: u32,
    /// How often the worker starts and ends periods and sends reminders, 1-86400 s.
    pub sweep_secs: u32,
    pub plans: Vec<PlanSpec>,
    pub data: Vec<DataSpec>,
}

impl Default for PlansConfig {
    fn default() -> Self {
        PlansConfig {
            free: FreeTier::default(),
            reminder_days: 3,
            sweep_secs: 60,
            plans: Vec::new(),
            data: Vec::new(),
        }
    }
}

fn valid_sku(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn valid_currency(c: &str) -> bool {
    c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())
}

fn check_price(what: &str, sku: &str, amount: i64, currency: &str) -> Result<(), String> {
    if amount < 0 {
        return Err(format!("{what} {sku}: amount_minor must be 0 or more"));
    }
    if !valid_currency(currency) {
        return Err(format!("{what} {sku}: currency must be an ISO 4217 code like EUR"));
    }
    Ok(())
}

impl PlansConfig {
    pub fn validate(&self) -> Result<(), String> {
        match (self.free.kind, self.free.retention_days) {
            (Kind::Events, _) => {
                return Err("plans.free.kind must be continuous or card-only".into());
            }
            (_, Some(d)) if d > 30 => {
                return Err("plans.free.retention_days must be 0-30".into());
            }
            (Kind::Continuous, Some(0)) => {
                return Err("plans.free.retention_days may be 0 only for card-only".into());
            }
            _ => {}
        }
        if self.reminder_days > 30 {
            return Err("plans.reminder_days must be 0-30".into());
        }
        if !(1..=86_400).contains(&self.sweep_secs) {
            return Err("plans.sweep_secs must be 1-86400".into());
        }
        let mut skus = std::collections::HashSet::new();
        for p in &self.plans {
            if !valid_sku(&p.sku) || !skus.insert(p.sku.as_str()) {
                return Err(format!("plans.plans: sku {:?} must be unique, a-z 0-9 and -", p.sku));
            }
            if p.kind == Kind::CardOnly {
                return Err(format!("plan {}: kind must be continuous or events", p.sku));
            }
            if ![3, 7, 30].contains(&p.retention_days) {
                return Err(format!("plan {}: retention_days must be 3, 7 or 30", p.sku));
            }
            if p.title.trim().is_empty() {
                return Err(format!("plan {}: title is empty", p.sku));
            }
            if p.quota_mib == Some(0) {
                return Err(format!("plan {}: quota_mib must be at least 1", p.sku));
            }
            check_price("plan", &p.sku, p.amount_minor, &p.currency)?;
        }
        for d in &self.data {
            if !valid_sku(&d.sku) || !skus.insert(d.sku.as_str()) {
                return Err(format!("plans.data: sku {:?} must be unique, a-z 0-9 and -", d.sku));
            }
            if !(1..=1_048_576).contains(&d.mb) {
                return Err(format!("data {}: mb must be 1-1048576", d.sku));
            }
            if !(1..=366).contains(&d.days) {
                return Err(format!("data {}: days must be 1-366", d.sku));
            }
            if d.title.trim().is_empty() {
                return Err(format!("data {}: title is empty", d.sku));
            }
            check_price("data", &d.sku, d.amount_minor, &d.currency)?;
        }
        Ok(())
    }

    pub fn plan(&self, sku: &str) -> Option<&PlanSpec> {
        self.plans.iter().find(|p| p.sku == sku)
    }

    pub fn data_package(&self, sku: &str) -> Option<&DataSpec> {
        self.data.iter().find(|d| d.sku == sku)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> PlansConfig {
        toml::from_str(s).expect("parses")
    }

    const GOOD: &str = r#"
        free = { kind = "card-only", retention_days = 0 }
        [[plans]]
        sku = "events-7d-month"
        title = "Events, 7 days"
        kind = "events"
        retention_days = 7
        period = "month"
        amount_minor = 299
        currency = "EUR"
        [[data]]
        sku = "data-1g"
        title = "1 GB, 30 days"
        mb = 1024
        days = 30
        amount_minor = 500
        currency = "EUR"
    "#;

    #[test]
    fn a_catalogue_with_a_card_only_free_tier_is_valid() {
        let c = parse(GOOD);
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.plan("events-7d-month").map(|p| p.period.days()), Some(30));
        assert!(c.data_package("data-1g").is_some());
    }

    #[test]
    fn a_retention_outside_3_7_30_is_refused() {
        let c = parse(&GOOD.replace("retention_days = 7", "retention_days = 14"));
        assert!(c.validate().expect_err("refused").contains("3, 7 or 30"));
    }

    #[test]
    fn a_lowercase_currency_and_a_negative_price_are_refused() {
        let c = parse(&GOOD.replace("\"EUR\"", "\"eur\""));
        assert!(c.validate().expect_err("refused").contains("ISO 4217"));
        let c = parse(&GOOD.replace("amount_minor = 299", "amount_minor = -1"));
        assert!(c.validate().expect_err("refused").contains("0 or more"));
    }

    #[test]
    fn a_repeated_sku_is_refused() {
        let c = parse(&GOOD.replace("data-1g", "events-7d-month"));
        assert!(c.validate().expect_err("refused").contains("unique"));
    }

    #[test]
    fn an_events_free_tier_and_a_continuous_one_keeping_nothing_are_refused() {
        let c = parse(&GOOD.replace("\"card-only\"", "\"events\""));
        assert!(c.validate().is_err());
        let c = parse(&GOOD.replace("\"card-only\"", "\"continuous\""));
        assert!(c.validate().expect_err("refused").contains("only for card-only"));
    }
}
