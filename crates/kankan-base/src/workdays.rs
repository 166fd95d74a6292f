//! Working days: the periods the privacy policy counts in them (the cancellation window of 10
//! working days, the 15 working days to answer a request) skip weekends and the operator's
//! holidays, counted in the operator's time zone.

use std::collections::BTreeSet;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;

use crate::Timestamp;

/// The operator's working calendar.
#[derive(Debug, Clone)]
pub struct WorkCalendar {
    tz: TimeZone,
    holidays: BTreeSet<Date>,
}

impl WorkCalendar {
    /// A calendar in an IANA time zone with holidays as `YYYY-MM-DD` dates.
    pub fn new(time_zone: &str, holidays: &[String]) -> Result<WorkCalendar, String> {
        let tz =
            TimeZone::get(time_zone).map_err(|_| format!("unknown time zone {time_zone:?}"))?;
        let holidays = holidays
            .iter()
            .map(|d| {
                d.parse::<Date>().map_err(|_| format!("holiday {d:?} is not a YYYY-MM-DD date"))
            })
            .collect::<Result<_, _>>()?;
        Ok(WorkCalendar { tz, holidays })
    }

    /// Monday to Friday, unless a holiday.
    pub fn is_working_day(&self, date: Date) -> bool {
        !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
            && !self.holidays.contains(&date)
    }

    /// The moment `days` working days after `from`: the same local time of day on the
    /// `days`-th working day after `from`'s local date (days after it, whatever that date is).
    /// Friday 10:00 plus 10 working days is the Friday two weeks later at 10:00.
    pub fn add_working_days(&self, from: Timestamp, days: u32) -> Timestamp {
        let Ok(t) = jiff::Timestamp::from_millisecond(from.0) else {
            return from;
        };
        let local = t.to_zoned(self.tz.clone());
        let mut date = local.date();
        let mut left = days;
        while left > 0 {
            let Ok(next) = date.tomorrow() else {
                return Timestamp(i64::MAX);
            };
            date = next;
            if self.is_working_day(date) {
                left -= 1;
            }
        }
        let end = date.to_datetime(local.time());
        match end.to_zoned(self.tz.clone()) {
            Ok(z) => Timestamp(z.timestamp().as_millisecond()),
            Err(_) => Timestamp(i64::MAX),
        }
    }

    /// Working days from `from`'s local date to `to`'s, not counting `from`'s (0 when `to` is
    /// not after it).
    pub fn working_days_between(&self, from: Timestamp, to: Timestamp) -> u32 {
        let (Ok(a), Ok(b)) =
            (jiff::Timestamp::from_millisecond(from.0), jiff::Timestamp::from_millisecond(to.0))
        else {
            return 0;
        };
        let (mut date, end) =
            (a.to_zoned(self.tz.clone()).date(), b.to_zoned(self.tz.clone()).date());
        let mut n = 0;
        while date < end {
            let Ok(next) = date.tomorrow() else { break };
            date = next;
            if self.is_working_day(date) {
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> Timestamp {
        Timestamp(s.parse::<jiff::Timestamp>().expect("a test time").as_millisecond())
    }

    #[test]
    fn ten_working_days_from_a_friday_end_two_fridays_later() {
        let cal = WorkCalendar::new("UTC", &[]).expect("a valid calendar");
        assert_eq!(
            cal.add_working_days(ms("2026-12-04T10:00:00Z"), 10),
            ms("2026-12-18T10:00:00Z")
        );
    }

    #[test]
    fn weekends_and_holidays_do_not_count() {
        let cal = WorkCalendar::new("UTC", &["2026-12-25".into(), "2027-01-01".into()])
            .expect("a valid calendar");
        // Mon 21 Dec: 22, 23, 24, (25 holiday), 28, 29, 30, 31, (1 Jan holiday), 4, 5, 6 Jan.
        assert_eq!(
            cal.add_working_days(ms("2026-12-21T09:00:00Z"), 10),
            ms("2027-01-06T09:00:00Z")
        );
        assert_eq!(
            cal.working_days_between(ms("2026-12-21T09:00:00Z"), ms("2027-01-06T09:00:00Z")),
            10
        );
    }

    #[test]
    fn a_saturday_start_counts_from_monday() {
        let cal = WorkCalendar::new("UTC", &[]).expect("a valid calendar");
        assert_eq!(cal.add_working_days(ms("2026-12-05T12:00:00Z"), 1), ms("2026-12-07T12:00:00Z"));
    }

    #[test]
    fn days_are_counted_in_the_operators_time_zone() {
        // 23:30 UTC on a Friday is already Saturday 08:30 in Tokyo: one working day later is
        // Monday 08:30 there, which is Sunday 23:30 UTC; in UTC it is Monday 23:30.
        let cal = WorkCalendar::new("Asia/Tokyo", &[]).expect("a valid calendar");
        assert_eq!(cal.add_working_days(ms("2026-12-04T23:30:00Z"), 1), ms("2026-12-06T23:30:00Z"));
        let utc = WorkCalendar::new("UTC", &[]).expect("a valid calendar");
        assert_eq!(utc.add_working_days(ms("2026-12-04T23:30:00Z"), 1), ms("2026-12-07T23:30:00Z"));
    }

    #[test]
    fn bad_dates_and_zones_are_refused() {
        assert!(WorkCalendar::new("Mars/Olympus", &[]).is_err());
        assert!(WorkCalendar::new("UTC", &["25/12/2026".into()]).is_err());
    }
}
