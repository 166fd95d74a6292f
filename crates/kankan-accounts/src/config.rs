//! Tunables of the account system, validated at start-up.

use serde::{Deserialize, Serialize};

/// The most `accounts.hash_concurrency` may be (16 × 19 MiB of hashing memory).
pub const MAX_HASH_CONCURRENCY: u32 = 16;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccountsConfig {
    /// How long a login session lives without being revoked.
    pub session_ttl_days: u32,
    /// How long a verification code may be used.
    pub code_ttl_minutes: u32,
    /// Wrong guesses a code survives.
    pub code_max_attempts: u32,
    /// Minimum time between two codes to one contact.
    pub code_resend_secs: u32,
    /// Failed logins within `lockout_window_minutes` that lock an identifier.
    pub lockout_threshold: u32,
    pub lockout_window_minutes: u32,
    pub lockout_minutes: u32,
    /// Password hashes (Argon2id, 19 MiB each) computed at once, on as many threads of their
    /// own; more wait their turn. 0: the number of CPU cores, at most 4. Bounds the memory a
    /// burst of logins can take to this many × 19 MiB.
    pub hash_concurrency: u32,
    /// How long login history (time, outcome, sealed client and IP) is kept.
    pub login_history_days: u32,
    /// The cancellation window: working days (in `privacy`'s calendar) between asking to
    /// cancel and the account's deletion, during which logging in offers "Continue login".
    pub cancellation_working_days: u32,
    /// How long a deletion receipt can be fetched with its token.
    pub receipt_days: u32,
    /// An account unused (no login, no session use) this long is anonymised (deleted).
    pub dormant_days: u32,
    /// How long before that a notice goes to its contact (a login in between keeps it).
    pub dormant_notice_days: u32,
    /// A session unused this long ends: refused when presented and deleted by the sweeper.
    pub session_idle_days: u32,
    /// An account still pending (its contact never proven) this long after its last
    /// registration code is deleted with its codes.
    pub pending_registration_days: u32,
    /// Every account must have a second factor: a login without one gets a session that
    /// reaches only the second-factor enrolment (and the account, logout) until it enrols.
    pub require_second_factor: bool,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        AccountsConfig {
            session_ttl_days: 30,
            code_ttl_minutes: 10,
            code_max_attempts: 5,
            code_resend_secs: 60,
            lockout_threshold: 5,
            lockout_window_minutes: 15,
            lockout_minutes: 15,
            hash_concurrency: 0,
            login_history_days: 180,
            cancellation_working_days: 10,
            receipt_days: 90,
            dormant_days: 1095,
            dormant_notice_days: 30,
            session_idle_days: 14,
            pending_registration_days: 7,
            require_second_factor: false,
        }
    }
}

impl AccountsConfig {
    pub fn validate(&self) -> Result<(), String> {
        // Each key's valid range (docs/ref/config.md lists them).
        let ranges = [
            ("session_ttl_days", self.session_ttl_days, 1, 3650),
            ("code_ttl_minutes", self.code_ttl_minutes, 1, 1440),
            ("code_max_attempts", self.code_max_attempts, 1, 100),
            ("code_resend_secs", self.code_resend_secs, 0, 3600),
            ("lockout_threshold", self.lockout_threshold, 1, 1000),
            ("lockout_window_minutes", self.lockout_window_minutes, 1, 10_080),
            ("lockout_minutes", self.lockout_minutes, 1, 10_080),
            ("login_history_days", self.login_history_days, 1, 3650),
            ("cancellation_working_days", self.cancellation_working_days, 1, 60),
            ("receipt_days", self.receipt_days, 1, 3650),
            ("dormant_days", self.dormant_days, 30, 36_500),
            ("dormant_notice_days", self.dormant_notice_days, 1, 365),
            ("session_idle_days", self.session_idle_days, 1, 3650),
            ("pending_registration_days", self.pending_registration_days, 1, 365),
        ];
        for (name, v, lo, hi) in ranges {
            if !(lo..=hi).contains(&v) {
                return Err(format!("accounts.{name} must be {lo}-{hi}"));
            }
        }
        if self.dormant_notice_days >= self.dormant_days {
            return Err(
                "accounts.dormant_notice_days must be less than accounts.dormant_days".into()
            );
        }
        if self.hash_concurrency > MAX_HASH_CONCURRENCY {
            return Err(format!(
                "accounts.hash_concurrency must be 0 (automatic) to {MAX_HASH_CONCURRENCY}"
            ));
        }
        Ok(())
    }

    /// The number of password hashes computed at once.
    pub fn hash_permits(&self) -> usize {
        match self.hash_concurrency {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()).min(4),
            n => n as usize,
        }
    }
}

/// `count` requests per `per_secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub count: u32,
    pub per_secs: u32,
}

/// Throttles on the account endpoints, per client IP and per identifier.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    pub login_per_ip: RateLimit,
    pub login_per_identifier: RateLimit,
    pub register_per_ip: RateLimit,
    pub codes_per_ip: RateLimit,
    pub codes_per_identifier: RateLimit,
    /// Codes entered (registration, password reset) for one identifier, whatever the code.
    pub redeem_per_identifier: RateLimit,
    /// Password changes (right or wrong current password) of one account.
    pub password_change_per_account: RateLimit,
    /// Second-factor codes entered for one account (at login, across its tickets, and when
    /// confirming or disabling): brute force of the second factor is slowed to this.
    pub second_factor_per_account: RateLimit,
    /// Verification codes texted to one phone number in 24 hours (1-1000).
    pub sms_codes_per_identifier_day: u32,
    /// Verification codes texted for requests from one network (an IPv4 /24, an IPv6 /48) in
    /// 24 hours (1-100000): a pool of addresses cannot run up the SMS bill.
    pub sms_codes_per_network_day: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            login_per_ip: RateLimit { count: 30, per_secs: 60 },
            login_per_identifier: RateLimit { count: 10, per_secs: 60 },
            register_per_ip: RateLimit { count: 10, per_secs: 3600 },
            codes_per_ip: RateLimit { count: 20, per_secs: 3600 },
            codes_per_identifier: RateLimit { count: 5, per_secs: 3600 },
            redeem_per_identifier: RateLimit { count: 10, per_secs: 3600 },
            password_change_per_account: RateLimit { count: 5, per_secs: 3600 },
            second_factor_per_account: RateLimit { count: 10, per_secs: 900 },
            sms_codes_per_identifier_day: 10,
            sms_codes_per_network_day: 100,
        }
    }
}

impl LimitsConfig {
    pub fn validate(&self) -> Result<(), String> {
        let all = [
            ("login_per_ip", self.login_per_ip),
            ("login_per_identifier", self.login_per_identifier),
            ("register_per_ip", self.register_per_ip),
            ("codes_per_ip", self.codes_per_ip),
            ("codes_per_identifier", self.codes_per_identifier),
            ("redeem_per_identifier", self.redeem_per_identifier),
            ("password_change_per_account", self.password_change_per_account),
            ("second_factor_per_account", self.second_factor_per_account),
        ];
        for (name, l) in all {
            if l.count == 0 || l.per_secs == 0 || l.per_secs > 86_400 {
                return Err(format!(
                    "limits.{name}: count must be at least 1 and per_secs 1 to 86400"
                ));
            }
        }
        if !(1..=1000).contains(&self.sms_codes_per_identifier_day) {
            return Err("limits.sms_codes_per_identifier_day must be 1-1000".into());
        }
        if !(1..=100_000).contains(&self.sms_codes_per_network_day) {
            return Err("limits.sms_codes_per_network_day must be 1-100000".into());
        }
        Ok(())
    }
}
