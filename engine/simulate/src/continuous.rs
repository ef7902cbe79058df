//! The `continuous` calendar: every hour is a working hour, with no nights, weekends or
//! holidays. It exists so the simulation can be checked against queueing theory, where time
//! does not stop at five o'clock. A working day is 24 hours; days are local days in UTC+7.

use jiff::civil::{Date, Time};
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};
use motcua_core::calendar::{Duration, Unit};
use motcua_core::deadline::{Error, WorkingCalendar};

const VIETNAM: Offset = Offset::constant(7);

#[derive(Debug, Clone, Copy, Default)]
pub struct Continuous;

fn hours_milli(d: Duration) -> Option<u64> {
    match d.unit {
        Unit::WorkingHours => Some(d.milli),
        Unit::WorkingDays => d.milli.checked_mul(24),
        Unit::CalendarDays => None,
    }
}

fn add_ms(from: Timestamp, ms: i64) -> Result<Timestamp, Error> {
    from.checked_add(SignedDuration::from_millis(ms))
        .map_err(|e| Error(e.to_string()))
}

impl WorkingCalendar for Continuous {
    fn add(&self, from: Timestamp, d: Duration) -> Result<Timestamp, Error> {
        let hours_milli = match d.unit {
            Unit::CalendarDays => d.milli.checked_mul(24),
            _ => hours_milli(d),
        };
        let ms = hours_milli
            .and_then(|h| h.checked_mul(3_600))
            .and_then(|ms| i64::try_from(ms).ok())
            .ok_or_else(|| Error(format!("{d} is too long")))?;
        add_ms(from, ms)
    }
    fn elapsed_hours_milli(&self, from: Timestamp, to: Timestamp) -> Result<u64, Error> {
        let ms = to.duration_since(from).as_millis().max(0);
        Ok(u64::try_from(ms / 3_600).unwrap_or(u64::MAX))
    }
    fn next_working_instant(&self, t: Timestamp) -> Result<Timestamp, Error> {
        Ok(t)
    }
    fn close_of_working_day(&self, t: Timestamp) -> Result<Timestamp, Error> {
        let next = self
            .local_date(t)
            .tomorrow()
            .map_err(|e| Error(e.to_string()))?;
        self.start_of_day(next)
    }
    fn local_time(&self, t: Timestamp) -> Time {
        VIETNAM.to_datetime(t).time()
    }
    fn local_date(&self, t: Timestamp) -> Date {
        VIETNAM.to_datetime(t).date()
    }
    fn working_hours_milli(&self, d: Duration) -> Option<u64> {
        hours_milli(d)
    }
    fn start_of_day(&self, date: Date) -> Result<Timestamp, Error> {
        VIETNAM
            .to_timestamp(date.to_datetime(Time::midnight()))
            .map_err(|e| Error(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hour_counts_and_a_working_day_is_a_whole_day() {
        let c = Continuous;
        let sat: Timestamp = "2027-01-02T22:00:00+07:00".parse().unwrap();
        let later = c.add(sat, Duration::working_hours(5)).unwrap();
        assert_eq!(
            later,
            "2027-01-03T03:00:00+07:00".parse::<Timestamp>().unwrap()
        );
        assert_eq!(c.elapsed_hours_milli(sat, later).unwrap(), 5_000);
        let day = c.add(sat, Duration::working_days(1)).unwrap();
        assert_eq!(
            day,
            "2027-01-03T22:00:00+07:00".parse::<Timestamp>().unwrap()
        );
        assert_eq!(c.next_working_instant(sat).unwrap(), sat);
    }
}
