//! Deadline arithmetic for dossiers: the appointment, step due instants, pauses and
//! extensions ([`appointment`], [`resume`]), when warnings and escalations fire
//! ([`alarm_at`]), how a dossier and each of its steps are classified when they end
//! ([`classify`]), and the state of each clock as portals read it ([`status`]). Pure: every
//! function takes the calendar and the instant it needs.

pub mod classify;

pub use classify::{Class, Early, LateReason, Rules, StepTiming};

use jiff::Timestamp;

use crate::calendar::{Duration, Unit};
use crate::procedure::{Limit, Threshold};

/// What the deadline rules need from a working-day calendar.
///
/// The engine holds one calendar per deployment (national → province → agency files resolved
/// into one); the trait keeps this module independent of how calendars are stored.
pub trait WorkingCalendar: Send + Sync {
    /// The instant at which `d` of working (or calendar) time has been used up from `from`.
    fn add(&self, from: Timestamp, d: Duration) -> Result<Timestamp, Error>;
    /// Working time between two instants, in thousandths of a working hour.
    fn elapsed_hours_milli(&self, from: Timestamp, to: Timestamp) -> Result<u64, Error>;
    /// The first working instant at or after `t`.
    fn next_working_instant(&self, t: Timestamp) -> Result<Timestamp, Error>;
    /// The close of office on the working day that contains `t`, or on the next working day
    /// when `t` is after hours.
    fn close_of_working_day(&self, t: Timestamp) -> Result<Timestamp, Error>;
    /// The local time of day at `t` in the calendar's zone.
    fn local_time(&self, t: Timestamp) -> jiff::civil::Time;
    /// The local date of `t` in the calendar's zone.
    fn local_date(&self, t: Timestamp) -> jiff::civil::Date;
    /// A working-time duration in thousandths of a working hour; `None` for calendar days.
    fn working_hours_milli(&self, d: Duration) -> Option<u64>;
    /// The instant local midnight starts `date` in the calendar's zone.
    fn start_of_day(&self, date: jiff::civil::Date) -> Result<Timestamp, Error>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("deadline arithmetic failed: {0}")]
pub struct Error(pub String);

impl From<crate::calendar::Error> for Error {
    fn from(e: crate::calendar::Error) -> Self {
        Error(e.to_string())
    }
}

/// The engine counts on the compiled working-day calendar.
impl WorkingCalendar for crate::calendar::Calendar {
    fn add(&self, from: Timestamp, d: Duration) -> Result<Timestamp, Error> {
        Ok(crate::calendar::Calendar::add(self, from, d)?)
    }
    fn elapsed_hours_milli(&self, from: Timestamp, to: Timestamp) -> Result<u64, Error> {
        let ms = self.elapsed(from, to)?.as_millis();
        // 3,600 ms is a thousandth of an hour: the unit Duration counts in.
        Ok(u64::try_from(ms / 3_600).unwrap_or(0))
    }
    fn next_working_instant(&self, t: Timestamp) -> Result<Timestamp, Error> {
        Ok(crate::calendar::Calendar::next_working_instant(self, t)?)
    }
    fn close_of_working_day(&self, t: Timestamp) -> Result<Timestamp, Error> {
        Ok(crate::calendar::Calendar::close_of_working_day(self, t)?)
    }
    fn local_time(&self, t: Timestamp) -> jiff::civil::Time {
        t.to_zoned_datetime(self.time_zone().clone()).time()
    }
    fn local_date(&self, t: Timestamp) -> jiff::civil::Date {
        t.to_zoned_datetime(self.time_zone().clone()).date()
    }
    fn working_hours_milli(&self, d: Duration) -> Option<u64> {
        let ms = self.working_time(d)?.as_millis();
        u64::try_from(ms / 3_600).ok()
    }
    fn start_of_day(&self, date: jiff::civil::Date) -> Result<Timestamp, Error> {
        self.time_zone()
            .to_ambiguous_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
            .compatible()
            .map_err(|e| Error(e.to_string()))
    }
}

/// The limit that applies: the longer one for disadvantaged areas when the procedure has one.
pub fn limit_for(limit: &Limit, disadvantaged_area: bool) -> Duration {
    match (disadvantaged_area, limit.disadvantaged) {
        (true, Some(d)) => d,
        _ => limit.duration,
    }
}

/// The appointment (hẹn trả kết quả) for a dossier received at `received`.
///
/// A procedure with a same-day cut-off is a same-day procedure: it is due at the close of
/// office on the day counting starts, which is the day of receipt, or the next working day
/// when the dossier arrives after the cut-off (or outside office hours). Its limit (at most a
/// working day) is then the envelope the step budgets must fit in, not an offset. A limit of
/// zero is due at the close of the receipt day as well.
pub fn appointment(
    cal: &dyn WorkingCalendar,
    limit: &Limit,
    received: Timestamp,
    disadvantaged_area: bool,
) -> Result<Timestamp, Error> {
    let duration = limit_for(limit, disadvantaged_area);
    let start = counting_start(cal, limit, received)?;
    if duration.is_zero() || limit.same_day_cutoff.is_some() {
        return cal.close_of_working_day(start);
    }
    cal.add(start, duration)
}

/// When counting starts for a dossier received at `received`: at receipt, except for a
/// same-day procedure received after its cut-off, which counts from the next working day's
/// opening.
pub fn counting_start(
    cal: &dyn WorkingCalendar,
    limit: &Limit,
    received: Timestamp,
) -> Result<Timestamp, Error> {
    if let Some(cutoff) = limit.same_day_cutoff {
        let opening = cal.next_working_instant(received)?;
        let same_day = cal.local_date(opening) == cal.local_date(received);
        if same_day && cal.local_time(received) > cutoff {
            let close = cal.close_of_working_day(received)?;
            return cal.next_working_instant(close);
        }
    }
    Ok(received)
}

/// The appointment as it stands at `now`: while the clock is paused, it has moved on by the
/// working time paused so far.
pub fn current_appointment(
    cal: &dyn WorkingCalendar,
    limit: &Limit,
    due_at: Timestamp,
    paused_since: Option<Timestamp>,
    now: Timestamp,
) -> Result<Timestamp, Error> {
    match paused_since {
        Some(since) => resume(cal, limit, due_at, since, now),
        None => Ok(due_at),
    }
}

/// `d` more after a due instant. A period in days ends at 24:00 of its last day, stored as
/// 00:00 of the next; counting on from it starts the day after that last day, not a day later.
pub fn after_due(
    cal: &dyn WorkingCalendar,
    due: Timestamp,
    d: Duration,
) -> Result<Timestamp, Error> {
    if d.unit == Unit::CalendarDays
        && !d.is_zero()
        && cal.local_time(due) == jiff::civil::Time::midnight()
    {
        let last_day = due
            .checked_sub(jiff::SignedDuration::from_millis(1))
            .map_err(|e| Error(e.to_string()))?;
        return cal.add(last_day, d);
    }
    cal.add(due, d)
}

/// The new appointment after the clock was paused from `paused_since` to `resumed`: the
/// appointment moves by the working time that passed (calendar-day limits move by whole days).
pub fn resume(
    cal: &dyn WorkingCalendar,
    limit: &Limit,
    due: Timestamp,
    paused_since: Timestamp,
    resumed: Timestamp,
) -> Result<Timestamp, Error> {
    if resumed <= paused_since {
        return Ok(due);
    }
    match limit.duration.unit {
        Unit::CalendarDays => {
            let days = cal
                .local_date(paused_since)
                .until(cal.local_date(resumed))
                .map_err(|e| Error(e.to_string()))?
                .get_days();
            let days = u64::try_from(days).unwrap_or(0);
            if days == 0 {
                return Ok(due);
            }
            due.checked_add(jiff::SignedDuration::from_hours(24 * days as i64))
                .map_err(|e| Error(e.to_string()))
        }
        Unit::WorkingDays | Unit::WorkingHours => {
            let paused = cal.elapsed_hours_milli(paused_since, resumed)?;
            if paused == 0 {
                return Ok(due);
            }
            cal.add(due, Duration::new(paused, Unit::WorkingHours))
        }
    }
}

/// When a warning or escalation rule fires on a clock that started at `start`, has `budget`
/// and is due at `due`.
///
/// A share of the budget (`75%`) is that share of the budget counted from the start, in
/// working time (calendar-day budgets count whole days, rounded down); `before` is the budget
/// less that much, counted from the start; `after` is counted from the due instant. A warning
/// never fires after the due instant.
pub fn alarm_at(
    cal: &dyn WorkingCalendar,
    threshold: Threshold,
    start: Timestamp,
    budget: Duration,
    due: Timestamp,
) -> Result<Timestamp, Error> {
    let part = |permille: u64| -> Result<Timestamp, Error> {
        let at = match cal.working_hours_milli(budget) {
            Some(h) => cal.add(
                start,
                Duration::new(h * permille / 1000, Unit::WorkingHours),
            )?,
            None => {
                let days = budget.milli * permille / 1000 / 1000;
                cal.add(start, Duration::new(days * 1000, Unit::CalendarDays))?
            }
        };
        Ok(at.min(due))
    };
    match threshold {
        Threshold::Used(p) => part(u64::from(p)),
        Threshold::Before(b) => {
            let at = match (cal.working_hours_milli(budget), cal.working_hours_milli(b)) {
                (Some(whole), Some(less)) => cal.add(
                    start,
                    Duration::new(whole.saturating_sub(less), Unit::WorkingHours),
                )?,
                (None, None) => cal.add(
                    start,
                    Duration::new(budget.milli.saturating_sub(b.milli), Unit::CalendarDays),
                )?,
                _ => {
                    return Err(Error(format!(
                        "'{b} before' does not count in the unit of the budget {budget}"
                    )));
                }
            };
            Ok(at.min(due))
        }
        Threshold::After(a) => after_due(cal, due, a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Calendar;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// Regression: ten days added to a period in days that ended at 24:00 (stored as 00:00 of
    /// the next day) counted from the day after that midnight: eleven days.
    #[test]
    fn days_added_after_a_period_ending_at_midnight_count_from_the_next_day() {
        let cal = Calendar::vietnam_default();
        // 15 days from Mon 1 Dec 2025 end at 24:00 on Tue 16 Dec.
        let due = at("2025-12-17T00:00:00+07:00");
        assert_eq!(
            after_due(&cal, due, Duration::calendar_days(10)).unwrap(),
            at("2025-12-27T00:00:00+07:00"),
            "ten more days end at 24:00 on Fri 26 Dec"
        );
        assert_eq!(
            after_due(&cal, due, Duration::calendar_days(0)).unwrap(),
            due
        );
        // Working time after a due instant inside office hours is plain addition.
        let due = at("2025-12-16T10:00:00+07:00");
        assert_eq!(
            after_due(&cal, due, Duration::working_hours(4)).unwrap(),
            at("2025-12-16T15:00:00+07:00")
        );
    }

    #[test]
    fn a_share_of_the_budget_never_falls_after_the_due_instant() {
        let cal = Calendar::vietnam_default();
        let start = at("2025-12-15T08:00:00+07:00");
        let budget = Duration::working_days(2);
        let due = cal.add(start, budget).unwrap();
        let share = |p| alarm_at(&cal, Threshold::Used(p), start, budget, due).unwrap();
        assert_eq!(share(500), at("2025-12-15T17:00:00+07:00"));
        assert_eq!(share(750), at("2025-12-16T12:00:00+07:00"));
        let before = alarm_at(
            &cal,
            Threshold::Before(Duration::working_hours(1)),
            start,
            budget,
            due,
        );
        assert_eq!(before.unwrap(), at("2025-12-16T16:00:00+07:00"));
        let after = alarm_at(
            &cal,
            Threshold::After(Duration::working_hours(0)),
            start,
            budget,
            due,
        );
        assert_eq!(after.unwrap(), due);
    }
}
