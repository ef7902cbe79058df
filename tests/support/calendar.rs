//! The calendar the engine tests count on.
use jiff::Timestamp;
use motcua::calendar::Duration;
use motcua::deadline::{Error, WorkingCalendar};

/// Until the calendar lands: Mon–Fri 08:00–12:00, 13:00–17:00 at +07:00, no holidays. Tests
/// only use June 2026, which has no holidays, so the real calendar gives the same instants.
pub struct OfficeHours;

pub fn test_calendar() -> OfficeHours {
    OfficeHours
}

const WINDOWS: [(i64, i64); 2] = [(8 * 60, 12 * 60), (13 * 60, 17 * 60)];

fn local(t: Timestamp) -> jiff::civil::DateTime {
    t.to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(7)))
        .datetime()
}
fn instant(dt: jiff::civil::DateTime) -> Timestamp {
    dt.to_zoned_datetime(jiff::tz::TimeZone::fixed(jiff::tz::offset(7)))
        .unwrap()
        .timestamp()
}
fn is_workday(d: jiff::civil::Date) -> bool {
    !matches!(
        d.weekday(),
        jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
    )
}
fn minute_of(dt: jiff::civil::DateTime) -> i64 {
    i64::from(dt.hour()) * 60 + i64::from(dt.minute())
}
fn at_minute(d: jiff::civil::Date, m: i64) -> jiff::civil::DateTime {
    d.at((m / 60) as i8, (m % 60) as i8, 0, 0)
}

impl WorkingCalendar for OfficeHours {
    fn add(&self, from: Timestamp, d: Duration) -> Result<Timestamp, Error> {
        use motcua::calendar::Unit;
        let mut minutes = match d.unit {
            Unit::WorkingDays => (d.milli * 480 / 1000) as i64,
            Unit::WorkingHours => (d.milli * 60 / 1000) as i64,
            Unit::CalendarDays => {
                let mut day = local(from).date();
                for _ in 0..d.milli / 1000 {
                    day = day.tomorrow().unwrap();
                }
                while !is_workday(day) {
                    day = day.tomorrow().unwrap();
                }
                return Ok(instant(day.tomorrow().unwrap().at(0, 0, 0, 0)));
            }
        };
        let mut dt = local(from);
        loop {
            if is_workday(dt.date()) {
                for (open, close) in WINDOWS {
                    let m = minute_of(dt).max(open);
                    if m < close {
                        let free = close - m;
                        if minutes <= free {
                            return Ok(instant(at_minute(dt.date(), m + minutes)));
                        }
                        minutes -= free;
                        dt = at_minute(dt.date(), close);
                    }
                }
            }
            dt = dt.date().tomorrow().unwrap().at(0, 0, 0, 0);
        }
    }
    fn elapsed_hours_milli(&self, from: Timestamp, to: Timestamp) -> Result<u64, Error> {
        let mut total = 0i64;
        let (a, b) = (local(from), local(to));
        let mut day = a.date();
        while day <= b.date() {
            if is_workday(day) {
                for (open, close) in WINDOWS {
                    let s = if day == a.date() {
                        minute_of(a).max(open)
                    } else {
                        open
                    };
                    let e = if day == b.date() {
                        minute_of(b).min(close)
                    } else {
                        close
                    };
                    if e > s {
                        total += e - s;
                    }
                }
            }
            day = day.tomorrow().unwrap();
        }
        Ok((total * 1000 / 60) as u64)
    }
    fn next_working_instant(&self, t: Timestamp) -> Result<Timestamp, Error> {
        self.add(t, Duration::new(0, motcua::calendar::Unit::WorkingHours))
    }
    fn close_of_working_day(&self, t: Timestamp) -> Result<Timestamp, Error> {
        let mut dt = local(t);
        loop {
            if is_workday(dt.date()) && minute_of(dt) < 17 * 60 {
                return Ok(instant(at_minute(dt.date(), 17 * 60)));
            }
            dt = dt.date().tomorrow().unwrap().at(0, 0, 0, 0);
        }
    }
    fn local_time(&self, t: Timestamp) -> jiff::civil::Time {
        local(t).time()
    }
    fn local_date(&self, t: Timestamp) -> jiff::civil::Date {
        local(t).date()
    }
}
