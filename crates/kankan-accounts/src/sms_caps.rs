//! Daily caps on verification codes sent by SMS: per phone number, and per network the
//! requests come from (an IPv4 /24, an IPv6 /48), so neither one number nor a pool of
//! addresses can run up the operator's SMS bill. E-mail codes are not capped here (the hourly
//! throttles in `codes` still apply). Counted in the in-memory limiter, per node.

use std::net::IpAddr;

use kankan_db::ContactKind;

use super::Inner;
use crate::{CoreError, Identifier, RateLimit};

const DAY_SECS: u32 = 86_400;

/// The network an address belongs to, for the per-network cap.
pub(crate) fn network_of(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        Ok(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
        Err(_) => ip.to_string(),
    }
}

fn limit_reached(what: &str) -> CoreError {
    CoreError::LimitReached {
        code: "sms-daily-limit",
        message: format!(
            "too many text messages {what} today; try again tomorrow, or use an e-mail address"
        ),
    }
}

impl Inner {
    /// Counts one code texted to `to` at the request of `ip`; refuses past either daily cap
    /// (`sms-daily-limit`). Does nothing for e-mail identifiers.
    pub(super) async fn throttle_sms(
        &self,
        to: &Identifier,
        idx: &[u8],
        ip: &str,
    ) -> Result<(), CoreError> {
        if to.kind() != ContactKind::Phone {
            return Ok(());
        }
        let day = |count| RateLimit { count, per_secs: DAY_SECS };
        let hex: String = idx.iter().take(16).map(|b| format!("{b:02x}")).collect();
        self.limiter
            .check(&format!("sms-id:{hex}"), day(self.limits.sms_codes_per_identifier_day))
            .await
            .map_err(|e| over_cap(e, "to this number"))?;
        let net = network_of(ip);
        self.limiter
            .check(&format!("sms-net:{net}"), day(self.limits.sms_codes_per_network_day))
            .await
            .map_err(|e| over_cap(e, "from your network"))
    }
}

/// A throttle's refusal as the daily cap's own error; any other failure as it is.
fn over_cap(e: CoreError, what: &str) -> CoreError {
    match e {
        CoreError::RateLimited { .. } => limit_reached(what),
        e => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_grouped_by_network() {
        assert_eq!(network_of("203.0.113.9"), "203.0.113.0/24");
        assert_eq!(network_of("203.0.113.250"), "203.0.113.0/24");
        assert_eq!(network_of("2001:db8:aa:1::5"), "2001:db8:aa::/48");
        assert_eq!(network_of("2001:db8:aa:ffff::1"), "2001:db8:aa::/48");
        assert_eq!(network_of("unknown"), "unknown");
    }
}
