//! The pure parts of notification preferences: parsing and checking them, quiet hours in a
//! time zone (crossing midnight), and "snooze until tomorrow".

use jiff::Zoned;
use jiff::tz::TimeZone;
use kankan_base::Timestamp;

use crate::CoreError;

/// The event kinds a device can report, in the order the API lists them.
pub const KINDS: [&str; 5] = ["motion", "press", "loiter", "tamper", "sound"];
/// The reminder methods.
pub const METHODS: [&str; 5] = ["push", "email", "sms", "call", "none"];
/// The longest snooze in minutes (a day).
pub const MAX_SNOOZE_MINUTES: u32 = 24 * 60;

pub(crate) fn invalid(code: &'static str, message: impl Into<String>) -> CoreError {
    CoreError::InvalidSettings { code, message: message.into() }
}

/// Parses `"HH:MM"` (00:00-23:59) into minutes after midnight.
pub fn parse_hhmm(s: &str) -> Option<u16> {
    kankan_motion::parse_time(s).filter(|m| *m < 24 * 60)
}

/// Minutes after midnight as `"HH:MM"`.
pub fn format_hhmm(min: u16) -> String {
    format!("{:02}:{:02}", min / 60, min % 60)
}

/// Checks quiet hours given as `"HH:MM"` strings; start and end must differ.
pub fn quiet_hours(start: &str, end: &str) -> Result<(u16, u16), CoreError> {
    let bad = || invalid("invalid-quiet-hours", "quiet hours are HH:MM times, 00:00 to 23:59");
    let (s, e) = (parse_hhmm(start).ok_or_else(bad)?, parse_hhmm(end).ok_or_else(bad)?);
    if s == e {
        return Err(invalid(
            "invalid-quiet-hours",
            "quiet hours must start and end at different times",
        ));
    }
    Ok((s, e))
}

/// The IANA time zone `name`, or `invalid-time-zone`.
pub fn time_zone(name: &str) -> Result<TimeZone, CoreError> {
    kankan_motion::time_zone(name).map_err(|e| invalid(e.code(), e.to_string()))
}

/// Checks a list of event kinds: each known, duplicates dropped, in the canonical order.
pub fn kinds(list: &[String]) -> Result<Vec<String>, CoreError> {
    if let Some(k) = list.iter().find(|k| !KINDS.contains(&k.as_str())) {
        return Err(invalid(
            "unknown-event-kind",
            format!("{k:?} is not an event kind ({})", KINDS.join(", ")),
        ));
    }
    Ok(KINDS.iter().filter(|k| list.iter().any(|l| l == *k)).map(|k| k.to_string()).collect())
}

fn local(at: Timestamp, tz: &TimeZone) -> Option<Zoned> {
    jiff::Timestamp::from_millisecond(at.0).ok().map(|t| t.to_zoned(tz.clone()))
}

/// Whether `at` falls in the quiet hours `(start, end)` (minutes after local midnight) in `tz`:
/// `[start, end)`, wrapping past midnight when the end comes before the start.
pub fn in_quiet_hours(at: Timestamp, (start, end): (u16, u16), tz: &TimeZone) -> bool {
    let Some(z) = local(at, tz) else { return false };
    let now = u16::try_from(i32::from(z.hour()) * 60 + i32::from(z.minute())).unwrap_or(0);
    if start < end { start <= now && now < end } else { now >= start || now < end }
}

/// The next local midnight after `at` in `tz` (DST-aware: the start of tomorrow, whatever
/// its length).
pub fn tomorrow(at: Timestamp, tz: &TimeZone) -> Result<Timestamp, CoreError> {
    let z = local(at, tz).ok_or_else(|| invalid("invalid-snooze", "time out of range"))?;
    let next = z
        .date()
        .tomorrow()
        .and_then(|d| d.to_zoned(tz.clone()))
        .map_err(|e| CoreError::Internal(format!("tomorrow: {e}")))?;
    Ok(Timestamp(next.timestamp().as_millisecond()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        let t: jiff::Timestamp = s.parse().expect("time");
        Timestamp(t.as_millisecond())
    }

    #[test]
    fn hhmm_parses_only_real_times() {
        let cases = [
            ("00:00", Some(0)),
            ("07:30", Some(450)),
            ("23:59", Some(1439)),
            ("24:00", None),
            ("7:30", None),
            ("07:60", None),
            ("ab:cd", None),
            ("", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_hhmm(s), want, "{s}");
        }
        assert_eq!(format_hhmm(450), "07:30");
    }

    #[test]
    fn quiet_hours_cross_midnight_in_the_accounts_time_zone() {
        let berlin = time_zone("Europe/Berlin").expect("tz");
        let night = quiet_hours("22:00", "07:00").expect("valid");
        let cases = [
            ("2026-01-15T21:30:00Z", true),  // 22:30 in Berlin (CET)
            ("2026-01-15T20:59:00Z", false), // 21:59
            ("2026-01-16T05:59:00Z", true),  // 06:59
            ("2026-01-16T06:00:00Z", false), // 07:00: the end is not quiet
            ("2026-07-15T20:30:00Z", true),  // 22:30 in summer (CEST)
            ("2026-07-15T05:30:00Z", false), // 07:30 in summer
        ];
        for (t, want) in cases {
            assert_eq!(in_quiet_hours(at(t), night, &berlin), want, "{t}");
        }
        let day = quiet_hours("09:00", "17:00").expect("valid");
        assert!(in_quiet_hours(at("2026-01-15T08:00:00Z"), day, &berlin));
        assert!(!in_quiet_hours(at("2026-01-15T17:00:00Z"), day, &berlin));
    }

    #[test]
    fn bad_preferences_have_stable_codes() {
        let code = |e: CoreError| e.code();
        assert_eq!(
            code(quiet_hours("22:00", "22:00").expect_err("refused")),
            "invalid-quiet-hours"
        );
        assert_eq!(
            code(quiet_hours("25:00", "07:00").expect_err("refused")),
            "invalid-quiet-hours"
        );
        assert_eq!(code(time_zone("Mars/Olympus").expect_err("refused")), "invalid-time-zone");
        assert_eq!(code(kinds(&["smoke".into()]).expect_err("refused")), "unknown-event-kind");
        assert_eq!(
            kinds(&["tamper".into(), "motion".into(), "motion".into()]).expect("ok"),
            ["motion", "tamper"]
        );
    }

    #[test]
    fn tomorrow_is_the_next_local_midnight_across_dst() {
        let berlin = time_zone("Europe/Berlin").expect("tz");
        // 2026-03-29 is the spring-forward day in Berlin: a 23-hour day.
        assert_eq!(
            tomorrow(at("2026-03-28T12:00:00Z"), &berlin).expect("t"),
            at("2026-03-28T23:00:00Z")
        );
        assert_eq!(
            tomorrow(at("2026-03-29T12:00:00Z"), &berlin).expect("t"),
            at("2026-03-29T22:00:00Z")
        );
        let utc = time_zone("UTC").expect("tz");
        assert_eq!(
            tomorrow(at("2026-01-15T23:59:00Z"), &utc).expect("t"),
            at("2026-01-16T00:00:00Z")
        );
    }
}
