//! The detection schedule: periods of local wall-clock time per weekday, in the device's time
//! zone. An instant is inside the schedule when its local time in that zone falls in a period,
//! so a period means the same clock times all year: across a DST change it simply covers the
//! local times that day has (none of the skipped hour in spring, both passes of the repeated
//! hour in autumn).

use jiff::civil::Weekday;
use jiff::tz::TimeZone;

use crate::MotionError;

/// Most periods one schedule may have (a few per day).
pub const MAX_PERIODS: usize = 64;
const DAY_MINUTES: u16 = 24 * 60;

/// One period: from `start` (inclusive) to `end` (exclusive), minutes after local midnight of
/// `day`; `end` may be 1440 (midnight at the end of the day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub day: Weekday,
    pub start: u16,
    pub end: u16,
}

/// A checked schedule: no period inverted or empty, none overlapping another on its day.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    periods: Vec<Period>,
}

/// Parses a weekday as the settings spell it: `mon` ... `sun`.
pub fn parse_day(s: &str) -> Option<Weekday> {
    Some(match s {
        "mon" => Weekday::Monday,
        "tue" => Weekday::Tuesday,
        "wed" => Weekday::Wednesday,
        "thu" => Weekday::Thursday,
        "fri" => Weekday::Friday,
        "sat" => Weekday::Saturday,
        "sun" => Weekday::Sunday,
        _ => return None,
    })
}

/// Parses `HH:MM` (00:00 to 24:00) into minutes after midnight.
pub fn parse_time(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    let minutes = h.checked_mul(60)?.checked_add(m)?;
    (m < 60 && minutes <= DAY_MINUTES).then_some(minutes)
}

/// Looks up an IANA time zone (`Europe/Berlin`, `UTC`).
pub fn time_zone(name: &str) -> Result<TimeZone, MotionError> {
    TimeZone::get(name).map_err(|_| MotionError::TimeZone(name.to_string()))
}

impl Schedule {
    /// Checks the periods: each ends after it starts, within its day, and none overlaps
    /// another of the same day (touching is fine: 08:00-12:00 and 12:00-18:00).
    pub fn new(mut periods: Vec<Period>) -> Result<Schedule, MotionError> {
        if periods.len() > MAX_PERIODS {
            return Err(MotionError::TooManyPeriods);
        }
        if let Some(p) = periods.iter().find(|p| p.start >= p.end || p.end > DAY_MINUTES) {
            return Err(MotionError::PeriodInverted { day: day_name(p.day), start: p.start });
        }
        periods.sort_by_key(|p| (p.day.to_monday_zero_offset(), p.start));
        if let Some(w) = periods.windows(2).find(|w| w[0].day == w[1].day && w[1].start < w[0].end)
        {
            return Err(MotionError::PeriodsOverlap { day: day_name(w[0].day) });
        }
        Ok(Schedule { periods })
    }

    pub fn periods(&self) -> &[Period] {
        &self.periods
    }

    /// Whether the instant `unix_ms` is inside a period, read on the wall clock of `tz`.
    pub fn active_at(&self, tz: &TimeZone, unix_ms: i64) -> bool {
        let Ok(ts) = jiff::Timestamp::from_millisecond(unix_ms) else { return false };
        let local = ts.to_zoned(tz.clone());
        let minute = u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute()))
            .unwrap_or(DAY_MINUTES);
        let day = local.weekday();
        self.periods.iter().any(|p| p.day == day && (p.start..p.end).contains(&minute))
    }
}

/// The settings' name of a weekday (`mon` ... `sun`).
pub fn day_name(d: Weekday) -> &'static str {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][usize::from(d.to_monday_zero_offset() as u8)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(day: &str, start: &str, end: &str) -> Period {
        Period {
            day: parse_day(day).expect("day"),
            start: parse_time(start).expect("start"),
            end: parse_time(end).expect("end"),
        }
    }

    fn at(s: &str) -> i64 {
        s.parse::<jiff::Timestamp>().expect("instant").as_millisecond()
    }

    #[test]
    fn times_and_days_parse_as_the_settings_spell_them() {
        assert_eq!(parse_time("00:00"), Some(0));
        assert_eq!(parse_time("08:30"), Some(510));
        assert_eq!(parse_time("24:00"), Some(1440));
        for bad in ["24:01", "8:30", "08:60", "0830", "ab:cd", "", "-1:00"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
        assert_eq!(parse_day("sun"), Some(Weekday::Sunday));
        assert_eq!(parse_day("Sunday"), None);
        assert_eq!(day_name(Weekday::Wednesday), "wed");
    }

    #[test]
    fn inverted_and_empty_periods_are_refused() {
        let e = Schedule::new(vec![period("mon", "18:00", "08:00")]).expect_err("refused");
        assert_eq!(e.code(), "schedule-period-inverted");
        let e = Schedule::new(vec![period("tue", "08:00", "08:00")]).expect_err("refused");
        assert_eq!(e.code(), "schedule-period-inverted");
    }

    #[test]
    fn overlapping_periods_of_a_day_are_refused_and_touching_ones_accepted() {
        let e =
            Schedule::new(vec![period("wed", "08:00", "12:00"), period("wed", "11:00", "13:00")])
                .expect_err("refused");
        assert_eq!(e.code(), "schedule-periods-overlap");
        Schedule::new(vec![period("wed", "08:00", "12:00"), period("wed", "12:00", "24:00")])
            .expect("touching");
        Schedule::new(vec![period("wed", "08:00", "12:00"), period("thu", "09:00", "10:00")])
            .expect("other days");
    }

    #[test]
    fn an_unknown_time_zone_is_refused() {
        assert_eq!(time_zone("Mars/Olympus").expect_err("refused").code(), "invalid-time-zone");
        time_zone("Europe/Berlin").expect("a real zone");
    }

    #[test]
    fn a_period_is_read_on_the_device_s_wall_clock() {
        // Monday 2026-01-05: 08:00-09:00 in New York is 13:00-14:00 UTC (EST, UTC-5).
        let s = Schedule::new(vec![period("mon", "08:00", "09:00")]).expect("schedule");
        let ny = time_zone("America/New_York").expect("tz");
        assert!(s.active_at(&ny, at("2026-01-05T13:30:00Z")));
        assert!(!s.active_at(&ny, at("2026-01-05T08:30:00Z")), "08:30 UTC is 03:30 there");
        assert!(!s.active_at(&ny, at("2026-01-05T14:00:00Z")), "the end is exclusive");
        // In summer (EDT, UTC-4) the same local hour is 12:00-13:00 UTC.
        assert!(s.active_at(&ny, at("2026-07-06T12:30:00Z")));
        assert!(!s.active_at(&ny, at("2026-07-06T13:30:00Z")));
    }

    #[test]
    fn the_schedule_follows_the_clock_across_dst_changes() {
        let berlin = time_zone("Europe/Berlin").expect("tz");
        // Sunday 2026-03-29 the clocks jump from 02:00 CET to 03:00 CEST.
        let spring = Schedule::new(vec![period("sun", "01:00", "03:30")]).expect("schedule");
        assert!(spring.active_at(&berlin, at("2026-03-29T00:30:00Z")), "01:30 CET");
        assert!(spring.active_at(&berlin, at("2026-03-29T01:15:00Z")), "03:15 CEST");
        assert!(!spring.active_at(&berlin, at("2026-03-29T01:45:00Z")), "03:45 CEST");
        // Sunday 2026-10-25 the clocks go back from 03:00 CEST to 02:00 CET: 02:00-03:00
        // happens twice and the period covers both.
        let autumn = Schedule::new(vec![period("sun", "02:00", "03:00")]).expect("schedule");
        assert!(autumn.active_at(&berlin, at("2026-10-25T00:30:00Z")), "02:30 CEST");
        assert!(autumn.active_at(&berlin, at("2026-10-25T01:30:00Z")), "02:30 CET");
        assert!(!autumn.active_at(&berlin, at("2026-10-25T02:30:00Z")), "03:30 CET");
        // A weekday period keeps its local hours on the Monday after each change.
        let workday = Schedule::new(vec![period("mon", "09:00", "17:00")]).expect("schedule");
        assert!(workday.active_at(&berlin, at("2026-03-30T07:30:00Z")), "09:30 CEST");
        assert!(!workday.active_at(&berlin, at("2026-03-30T06:30:00Z")), "08:30 CEST");
        assert!(workday.active_at(&berlin, at("2026-10-26T08:30:00Z")), "09:30 CET");
        assert!(!workday.active_at(&berlin, at("2026-10-26T07:30:00Z")), "08:30 CET");
    }

    #[test]
    fn a_period_ending_at_midnight_covers_the_last_minute_of_its_day() {
        let s = Schedule::new(vec![period("fri", "22:00", "24:00")]).expect("schedule");
        let utc = time_zone("UTC").expect("tz");
        assert!(s.active_at(&utc, at("2026-01-09T23:59:30Z")));
        assert!(!s.active_at(&utc, at("2026-01-10T00:00:00Z")), "Saturday");
    }
}
