//! Working-time arithmetic on a compiled calendar.
//!
//! A [`Calendar`] is compiled once from a [`CalendarSpec`] into a table with one entry per civil
//! day from 1900-01-01 to 2100-12-31: which office windows the day has, and the working time
//! accumulated before it. The working time accumulated up to any instant is then a table look-up
//! plus at most two windows, so adding 100 working days is a binary search, not a walk.
//!
//! Instants are [`jiff::Timestamp`]s; office windows are civil times in the calendar's time zone
//! (Asia/Ho_Chi_Minh from the tz database). Arithmetic is exact to the millisecond: sub-millisecond
//! parts of an input instant are dropped. Working durations are [`jiff::SignedDuration`]s.
//!
//! The due instant of a working-time period is the moment its last working millisecond is used
//! up: 4 working hours from Monday 08:00 end at Monday 12:00 (the window's close), not 13:00.
//! A period in calendar days ends at 24:00 of its last day, written as 00:00 of the next day.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::duration::{Duration, Unit};
use super::file::{self, CalendarSpec};
use super::holidays::{self, Holiday, HolidayKind, WeekdayName};
use super::lunar::{date_from_julian_day, julian_day};

/// First civil year a calendar covers.
pub const FIRST_YEAR: i16 = 1900;
/// Last civil year a calendar covers.
pub const LAST_YEAR: i16 = 2100;

const DAY_MS: i64 = 86_400_000;

/// Why a calendar could not be built or could not answer.
#[allow(missing_docs)] // Each variant is described by its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error(transparent)]
    File(#[from] file::Error),
    #[error(transparent)]
    Holidays(#[from] holidays::Error),
    #[error("{0} is outside the years 1900–2100 that the calendar covers")]
    OutOfRange(String),
    #[error("duration '{0}' is too large")]
    TooLarge(String),
}

/// Office windows of one kind of day, as half-open millisecond ranges of the local day.
type Windows = Vec<(i64, i64)>;

/// A working calendar: holidays, yearly decisions and office hours, compiled for arithmetic.
///
/// Every method is pure and deterministic: time is always an argument. Cloning is cheap (the
/// day table is shared), and a calendar can be shared across threads.
#[derive(Clone)]
pub struct Calendar {
    name: String,
    tz: TimeZone,
    tz_name: String,
    first_jd: i64,
    /// Index 0: closed; 1..=7: Monday..Sunday office hours; 8: a make-up day (standard hours).
    profiles: Vec<Windows>,
    day_profile: Arc<[u8]>,
    /// `cum[i]`: working milliseconds from the table start to the start of day `i`.
    cum: Arc<[i64]>,
    day_ms: i64,
    cutoff_ms: Option<i64>,
    holidays: Arc<BTreeMap<Date, Holiday>>,
}

/// A summary: the day table is 73,000 entries, too long to print.
impl std::fmt::Debug for Calendar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Calendar")
            .field("name", &self.name)
            .field("time_zone", &self.tz_name)
            .field("working_day", &self.working_day_length())
            .field("holidays", &self.holidays.len())
            .finish_non_exhaustive()
    }
}

const CLOSED: u8 = 0;
const MAKE_UP: u8 = 8;

impl Calendar {
    /// The national calendar shipped in `calendars/vn-national.yaml` (embedded). It is compiled
    /// once per process (about 2 ms optimised, 30 ms in a debug build) and then cloned, which is
    /// cheap: clones share the day table.
    pub fn vietnam_default() -> Calendar {
        static NATIONAL: OnceLock<Calendar> = OnceLock::new();
        NATIONAL
            .get_or_init(|| {
                // The embedded file is a constant of the build, validated by tests, not input.
                #[allow(clippy::expect_used)]
                Calendar::from_yaml(file::VN_NATIONAL, file::VN_NATIONAL_NAME, &mut |_, n| {
                    Err(format!("the built-in calendar extends nothing, not '{n}'"))
                })
                .expect("the embedded national calendar is valid")
            })
            .clone()
    }

    /// Parse, resolve `extends:` through `resolve(origin, name)` (see [`file::load`]), validate and
    /// compile a calendar file.
    pub fn from_yaml(
        text: &str,
        origin: &str,
        resolve: &mut file::Resolver<'_>,
    ) -> Result<Calendar, Error> {
        Calendar::from_spec(&file::load(text, origin, resolve)?)
    }

    /// Compile a resolved calendar.
    pub fn from_spec(spec: &CalendarSpec) -> Result<Calendar, Error> {
        let ms = |m: u16| i64::from(m) * 60_000;
        let windows = |h: &file::DayHours| -> Windows {
            h.windows()
                .iter()
                .map(|w| (ms(w.from.minutes), ms(w.to.minutes)))
                .collect()
        };
        let mut profiles = vec![Vec::new()];
        profiles.extend(spec.weekdays.iter().map(windows));
        profiles.push(windows(&spec.standard));
        let day_ms = profiles[usize::from(MAKE_UP)]
            .iter()
            .map(|(s, e)| e - s)
            .sum();

        let first = Date::constant(FIRST_YEAR, 1, 1);
        let last = Date::constant(LAST_YEAR, 12, 31);
        let first_jd = julian_day(first);
        let n = (julian_day(last) - first_jd + 1) as usize;

        let mut holidays = BTreeMap::new();
        for year in FIRST_YEAR..=LAST_YEAR {
            for h in holidays::by_rules(&spec.rules, year)? {
                if !spec.removed_days.contains(&h.date) {
                    holidays.insert(h.date, h);
                }
            }
        }
        for (date, name) in &spec.days_off {
            if (FIRST_YEAR..=LAST_YEAR).contains(&date.year()) {
                holidays.entry(*date).or_insert_with(|| Holiday {
                    date: *date,
                    name: name.clone(),
                    kind: HolidayKind::Decided,
                });
            }
        }

        let mut day_profile = Vec::with_capacity(n);
        for i in 0..n {
            let jd = first_jd + i as i64;
            // Julian day numbers count weekdays from Monday = 0.
            day_profile.push(1 + jd.rem_euclid(7) as u8);
        }
        // Dates outside the table (a decision for 2101, a day in lieu past the end) are ignored.
        let mut set = |d: &Date, profile: u8| {
            let i = julian_day(*d) - first_jd;
            if let Some(slot) = usize::try_from(i).ok().and_then(|i| day_profile.get_mut(i)) {
                *slot = profile;
            }
        };
        for date in spec.make_up_days.keys() {
            set(date, MAKE_UP);
        }
        for date in holidays.keys() {
            set(date, CLOSED);
        }
        let mut cum = Vec::with_capacity(n + 1);
        let mut total = 0i64;
        cum.push(0);
        for p in &day_profile {
            total += profiles[usize::from(*p)]
                .iter()
                .map(|(s, e)| e - s)
                .sum::<i64>();
            cum.push(total);
        }
        Ok(Calendar {
            name: spec.name.clone(),
            tz: spec.time_zone.clone(),
            tz_name: spec.time_zone_name.clone(),
            first_jd,
            profiles,
            day_profile: day_profile.into(),
            cum: cum.into(),
            day_ms,
            cutoff_ms: spec.same_day_cutoff.map(|c| ms(c.minutes)),
            holidays: Arc::new(holidays),
        })
    }

    /// The calendar's `name:` (the most specific file's).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone office hours are read in (Asia/Ho_Chi_Minh unless a file says otherwise).
    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// The IANA name of the time zone, e.g. "Asia/Ho_Chi_Minh".
    pub fn time_zone_name(&self) -> &str {
        &self.tz_name
    }

    /// The length of one working day: the standard day's office hours (8 h by default).
    pub fn working_day_length(&self) -> SignedDuration {
        SignedDuration::from_millis(self.day_ms)
    }

    /// A working-time duration as an amount of working time; `None` for calendar days, which
    /// are not an amount of working time.
    pub fn working_time(&self, d: Duration) -> Option<SignedDuration> {
        let milli = i64::try_from(d.milli).ok()?;
        let ms = match d.unit {
            // day_ms is a whole number of minutes, so thousandths of a day are exact.
            Unit::WorkingDays => milli.checked_mul(self.day_ms)? / 1000,
            Unit::WorkingHours => milli.checked_mul(3_600)?,
            Unit::CalendarDays => return None,
        };
        Some(SignedDuration::from_millis(ms))
    }

    /// The due instant of a period of `d` starting at `from`.
    ///
    /// Working units: the first instant at which `d` of working time has elapsed since `from`;
    /// counting starts at the next window opening when `from` is outside office hours. For a
    /// non-zero `d` the result is never inside non-working time: it is working time or the close
    /// of a window, and the millisecond before it is working time.
    ///
    /// Calendar days (Civil Code Art. 147–148): the period starts the day after `from`'s local
    /// date and ends at 24:00 of its last day, returned as 00:00 of the following day; if the
    /// last day has no office hours the period ends at 24:00 of the next day that has.
    ///
    /// A zero duration returns `from`. Results grow monotonically with `d`, and
    /// `add(add(t, a), b) == add(t, a + b)` for working units.
    pub fn add(&self, from: Timestamp, d: Duration) -> Result<Timestamp, Error> {
        if d.is_zero() {
            return Ok(from);
        }
        match d.unit {
            Unit::CalendarDays => self.add_calendar_days(from, d.milli / 1000),
            Unit::WorkingDays | Unit::WorkingHours => {
                let amount = self
                    .working_time(d)
                    .ok_or_else(|| Error::TooLarge(d.to_string()))?;
                self.add_working(from, amount)
            }
        }
    }

    /// [`Calendar::add`] for an amount of working time. A non-positive amount returns `from`.
    pub fn add_working(&self, from: Timestamp, amount: SignedDuration) -> Result<Timestamp, Error> {
        let amount = i64::try_from(amount.as_millis())
            .map_err(|_| Error::TooLarge(format!("{amount:?}")))?;
        if amount <= 0 {
            return Ok(from);
        }
        let (i, ms) = self.locate(from)?;
        let target = self
            .worked_until(i, ms)
            .checked_add(amount)
            .ok_or_else(|| Error::TooLarge(format!("{amount} ms")))?;
        // The first day whose end has reached the target. Days before `i` cannot qualify: their
        // ends are at most the working time already accumulated at `from`.
        let j = i + self.cum[i + 1..].partition_point(|&c| c < target);
        if j >= self.day_profile.len() {
            return Err(Error::OutOfRange(format!(
                "the end of {amount} ms of working time from {}",
                self.format(from)
            )));
        }
        let mut rest = target - self.cum[j];
        for &(start, end) in self.windows(j) {
            if rest <= end - start {
                return self.instant(j, start + rest);
            }
            rest -= end - start;
        }
        // cum[j + 1] >= target guarantees the windows of day j hold `rest`.
        Err(Error::OutOfRange(self.format(from)))
    }

    fn add_calendar_days(&self, from: Timestamp, days: u64) -> Result<Timestamp, Error> {
        let (i, _) = self.locate(from)?;
        let out = || Error::OutOfRange(format!("{days} days from {}", self.format(from)));
        let mut last = usize::try_from(days)
            .ok()
            .and_then(|d| i.checked_add(d))
            .ok_or_else(out)?;
        while last < self.day_profile.len() && self.windows(last).is_empty() {
            last += 1;
        }
        if last >= self.day_profile.len() {
            return Err(out());
        }
        self.instant(last + 1, 0)
    }

    /// Working time between two instants: positive when `to` is after `from`, negative when
    /// before. `elapsed(t, add(t, d)) == d` for every working duration `d`.
    pub fn elapsed(&self, from: Timestamp, to: Timestamp) -> Result<SignedDuration, Error> {
        let (i, a) = self.locate(from)?;
        let (j, b) = self.locate(to)?;
        Ok(SignedDuration::from_millis(
            self.worked_until(j, b) - self.worked_until(i, a),
        ))
    }

    /// Whether `t` is inside an office window (windows are open at their start, closed at
    /// their end).
    pub fn is_working_time(&self, t: Timestamp) -> Result<bool, Error> {
        let (i, ms) = self.locate(t)?;
        Ok(self.windows(i).iter().any(|&(s, e)| s <= ms && ms < e))
    }

    /// Whether `date` has office hours: not a weekly rest day (unless a make-up day), not a
    /// holiday, not a day off.
    pub fn is_working_day(&self, date: Date) -> Result<bool, Error> {
        let i = self.index_of(date)?;
        Ok(!self.windows(i).is_empty())
    }

    /// `t` itself if it is working time, otherwise the opening of the next office window.
    /// Never returns an instant inside non-working time.
    pub fn next_working_instant(&self, t: Timestamp) -> Result<Timestamp, Error> {
        if self.is_working_time(t)? {
            return Ok(t);
        }
        let (i, ms) = self.locate(t)?;
        let target = self.worked_until(i, ms) + 1;
        let j = i + self.cum[i + 1..].partition_point(|&c| c < target);
        if j >= self.day_profile.len() {
            return Err(Error::OutOfRange(self.format(t)));
        }
        let start = self
            .windows(j)
            .iter()
            .find(|&&(s, _)| j > i || s > ms)
            .map(|&(s, _)| s)
            .ok_or_else(|| Error::OutOfRange(self.format(t)))?;
        self.instant(j, start)
    }

    /// The same-day cut-off, if the calendar has one (e.g. 15:00).
    pub fn same_day_cutoff(&self) -> Option<Time> {
        self.cutoff_ms.and_then(|ms| time_of_ms(ms).ok())
    }

    /// Where the clock of a same-day procedure starts for a dossier received at `received`:
    /// the next working instant, except that a dossier received on a working day after the
    /// cut-off counts from the opening of the next working day.
    pub fn counting_start(&self, received: Timestamp) -> Result<Timestamp, Error> {
        let (i, ms) = self.locate(received)?;
        if let Some(cutoff) = self.cutoff_ms
            && ms > cutoff
            && !self.windows(i).is_empty()
        {
            return self.next_working_instant(self.instant(i + 1, 0)?);
        }
        self.next_working_instant(received)
    }

    /// The close of office on the working day that holds the first working instant at or
    /// after `t`: the same day during office hours (lunch included), the next working day
    /// after hours, on a weekend or on a holiday.
    pub fn close_of_working_day(&self, t: Timestamp) -> Result<Timestamp, Error> {
        let start = self.next_working_instant(t)?;
        let (i, _) = self.locate(start)?;
        let close = self
            .windows(i)
            .last()
            .map(|&(_, e)| e)
            .ok_or_else(|| Error::OutOfRange(self.format(t)))?;
        self.instant(i, close)
    }

    /// The due instant of a same-day procedure: the close of office hours on the day counting
    /// starts (see [`Calendar::counting_start`]).
    pub fn same_day_due(&self, received: Timestamp) -> Result<Timestamp, Error> {
        let start = self.counting_start(received)?;
        let (i, _) = self.locate(start)?;
        let close = self
            .windows(i)
            .last()
            .map(|&(_, e)| e)
            .ok_or_else(|| Error::OutOfRange(self.format(received)))?;
        self.instant(i, close)
    }

    /// Days off of `year` that are not plain weekly rest days — holidays, days in lieu and
    /// decided days off — sorted by date. A holiday that falls on a rest day is listed.
    pub fn holidays(&self, year: i16) -> Vec<Holiday> {
        let (Ok(from), Ok(to)) = (Date::new(year, 1, 1), Date::new(year, 12, 31)) else {
            return Vec::new();
        };
        self.holidays
            .range(from..=to)
            .map(|(_, h)| h.clone())
            .collect()
    }

    /// `t` as RFC 3339 with the calendar zone's offset, e.g. `2026-11-17T09:00:00+07:00`.
    pub fn format(&self, t: Timestamp) -> String {
        t.display_with_offset(self.tz.to_offset(t)).to_string()
    }

    /// The weekday name of a date, for messages.
    pub fn weekday(date: Date) -> WeekdayName {
        WeekdayName::of(date)
    }

    fn windows(&self, i: usize) -> &[(i64, i64)] {
        &self.profiles[usize::from(self.day_profile[i])]
    }

    fn index_of(&self, date: Date) -> Result<usize, Error> {
        let i = julian_day(date) - self.first_jd;
        if i < 0 || i >= self.day_profile.len() as i64 {
            return Err(Error::OutOfRange(date.to_string()));
        }
        Ok(i as usize)
    }

    /// The day index and millisecond of the local day of an instant.
    fn locate(&self, t: Timestamp) -> Result<(usize, i64), Error> {
        let dt = self.tz.to_datetime(t);
        let i = self
            .index_of(dt.date())
            .map_err(|_| Error::OutOfRange(self.format(t)))?;
        let time = dt.time();
        let ms = i64::from(time.hour()) * 3_600_000
            + i64::from(time.minute()) * 60_000
            + i64::from(time.second()) * 1_000
            + i64::from(time.subsec_nanosecond()) / 1_000_000;
        Ok((i, ms))
    }

    /// Working milliseconds from the table start to millisecond `ms` of day `i`.
    fn worked_until(&self, i: usize, ms: i64) -> i64 {
        let today: i64 = self
            .windows(i)
            .iter()
            .map(|&(s, e)| ms.clamp(s, e) - s)
            .sum();
        self.cum[i] + today
    }

    /// The instant at millisecond `ms` (up to 24:00) of local day `i`.
    fn instant(&self, i: usize, ms: i64) -> Result<Timestamp, Error> {
        let (i, ms) = if ms >= DAY_MS {
            (i + 1, ms - DAY_MS)
        } else {
            (i, ms)
        };
        let date = date_from_julian_day(self.first_jd + i as i64)
            .ok_or_else(|| Error::OutOfRange(format!("day {i} of the calendar")))?;
        let time = time_of_ms(ms).map_err(|_| Error::OutOfRange(format!("{date} at {ms} ms")))?;
        self.tz
            .to_ambiguous_timestamp(DateTime::from_parts(date, time))
            .compatible()
            .map_err(|e| Error::OutOfRange(format!("{date}: {e}")))
    }
}

fn time_of_ms(ms: i64) -> Result<Time, jiff::Error> {
    Time::new(
        (ms / 3_600_000) as i8,
        (ms / 60_000 % 60) as i8,
        (ms / 1_000 % 60) as i8,
        (ms % 1_000 * 1_000_000) as i32,
    )
}

#[cfg(test)]
mod tests;
