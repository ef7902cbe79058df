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
mod tests {
    use super::*;
    use jiff::civil::date;
    use std::sync::LazyLock;

    static VN: LazyLock<Calendar> = LazyLock::new(Calendar::vietnam_default);

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn add(from: &str, d: &str) -> String {
        VN.format(VN.add(at(from), d.parse().unwrap()).unwrap())
    }

    #[test]
    fn one_working_day_is_the_same_time_next_working_day() {
        assert_eq!(
            add("2026-11-16T09:00:00+07:00", "1 working day"),
            "2026-11-17T09:00:00+07:00"
        );
        assert_eq!(
            add("2026-11-16T08:00:00+07:00", "1 working day"),
            "2026-11-16T17:00:00+07:00",
            "a full day from the opening ends at the close, not the next morning"
        );
    }

    #[test]
    fn the_due_instant_is_when_the_last_working_minute_is_used_up() {
        assert_eq!(
            add("2026-11-16T08:00:00+07:00", "4 working hours"),
            "2026-11-16T12:00:00+07:00"
        );
        assert_eq!(
            add("2026-11-16T12:30:00+07:00", "1 working hour"),
            "2026-11-16T14:00:00+07:00",
            "received over lunch: counting starts at 13:00"
        );
        assert_eq!(
            add("2026-11-20T18:00:00+07:00", "1 working day"),
            "2026-11-23T17:00:00+07:00",
            "received Friday evening: counting starts Monday 08:00"
        );
        assert_eq!(
            add("2026-11-21T10:00:00+07:00", "1 working hour"),
            "2026-11-23T09:00:00+07:00",
            "received on Saturday"
        );
    }

    #[test]
    fn fractions_of_a_day_are_exact() {
        assert_eq!(
            add("2026-11-16T08:00:00+07:00", "0.5 working days"),
            "2026-11-16T12:00:00+07:00"
        );
        assert_eq!(
            add("2026-11-16T13:00:00+07:00", "0.25 working days"),
            "2026-11-16T15:00:00+07:00"
        );
        let mut t = at("2026-11-16T09:00:00+07:00");
        for _ in 0..4 {
            t = VN.add(t, "0.25 working days".parse().unwrap()).unwrap();
        }
        assert_eq!(VN.format(t), "2026-11-17T09:00:00+07:00");
    }

    #[test]
    fn tet_2026_is_skipped() {
        // Off Mon 16 (eve) to Fri 20 Feb, then the weekend.
        assert_eq!(
            add("2026-02-13T09:00:00+07:00", "1 working day"),
            "2026-02-23T09:00:00+07:00"
        );
    }

    #[test]
    fn decided_swaps_and_make_up_saturdays_count() {
        // 2026: Saturday 22 Aug is worked, Monday 31 Aug is off, then 1–2 Sep Quốc khánh.
        assert_eq!(
            add("2026-08-21T09:00:00+07:00", "1 working day"),
            "2026-08-22T09:00:00+07:00"
        );
        assert_eq!(
            add("2026-08-28T09:00:00+07:00", "1 working day"),
            "2026-09-03T09:00:00+07:00"
        );
        // 2025: Saturday 26 Apr worked; 30 Apr, 1 May and the swapped Friday 2 May off.
        assert_eq!(
            add("2025-04-25T09:00:00+07:00", "1 working day"),
            "2025-04-26T09:00:00+07:00"
        );
        assert_eq!(
            add("2025-04-29T09:00:00+07:00", "1 working day"),
            "2025-05-05T09:00:00+07:00"
        );
        // 2024: Monday 29 Apr off, Saturday 4 May worked.
        assert_eq!(
            add("2024-04-26T09:00:00+07:00", "1 working day"),
            "2024-05-02T09:00:00+07:00"
        );
        assert_eq!(
            add("2024-05-03T09:00:00+07:00", "1 working day"),
            "2024-05-04T09:00:00+07:00"
        );
    }

    #[test]
    fn vietnamese_culture_day_is_off_from_2026() {
        assert_eq!(
            add("2026-11-23T09:00:00+07:00", "1 working day"),
            "2026-11-25T09:00:00+07:00"
        );
        assert_eq!(
            add("2025-11-21T09:00:00+07:00", "1 working day"),
            "2025-11-24T09:00:00+07:00"
        );
    }

    #[test]
    fn calendar_days_follow_the_civil_code() {
        // Received Thu 5 Nov: counting starts Fri 6, the 15th day is Fri 20, ending at 24:00.
        assert_eq!(
            add("2026-11-05T10:00:00+07:00", "15 days"),
            "2026-11-21T00:00:00+07:00"
        );
        // The 5th day is Saturday 7 Nov: the period ends at the end of Monday 9 Nov.
        assert_eq!(
            add("2026-11-02T10:00:00+07:00", "5 days"),
            "2026-11-10T00:00:00+07:00"
        );
        // The 10th day is Tết (17 Feb 2026): the next working day is Monday 23 Feb.
        assert_eq!(
            add("2026-02-07T10:00:00+07:00", "10 days"),
            "2026-02-24T00:00:00+07:00"
        );
    }

    #[test]
    fn elapsed_working_time_measures_a_step() {
        let e = VN
            .elapsed(
                at("2026-11-16T10:00:00+07:00"),
                at("2026-11-17T14:30:00+07:00"),
            )
            .unwrap();
        assert_eq!(e, SignedDuration::from_mins(11 * 60 + 30));
        let back = VN
            .elapsed(
                at("2026-11-17T14:30:00+07:00"),
                at("2026-11-16T10:00:00+07:00"),
            )
            .unwrap();
        assert_eq!(back, -e);
        // Over the whole of Tết nothing elapses.
        let tet = VN
            .elapsed(
                at("2026-02-13T17:00:00+07:00"),
                at("2026-02-23T08:00:00+07:00"),
            )
            .unwrap();
        assert_eq!(tet, SignedDuration::ZERO);
    }

    #[test]
    fn working_instants() {
        let next = |s: &str| VN.format(VN.next_working_instant(at(s)).unwrap());
        assert_eq!(
            next("2026-11-21T10:00:00+07:00"),
            "2026-11-23T08:00:00+07:00"
        );
        assert_eq!(
            next("2026-11-16T12:15:00+07:00"),
            "2026-11-16T13:00:00+07:00"
        );
        assert_eq!(
            next("2026-11-16T09:00:00+07:00"),
            "2026-11-16T09:00:00+07:00"
        );
        assert_eq!(
            next("2026-11-16T17:00:00+07:00"),
            "2026-11-17T08:00:00+07:00"
        );
        let working = |s: &str| VN.is_working_time(at(s)).unwrap();
        assert!(working("2026-11-16T08:00:00+07:00"));
        assert!(working("2026-11-16T11:59:59+07:00"));
        assert!(!working("2026-11-16T12:00:00+07:00"));
        assert!(!working("2026-11-16T17:00:00+07:00"));
        assert!(!working("2026-02-17T09:00:00+07:00"), "Tết");
        assert!(
            VN.is_working_day(date(2026, 8, 22)).unwrap(),
            "make-up Saturday"
        );
        assert!(!VN.is_working_day(date(2026, 8, 31)).unwrap());
    }

    #[test]
    fn same_day_cut_off_at_15_00() {
        let due = |s: &str| VN.format(VN.same_day_due(at(s)).unwrap());
        assert_eq!(
            due("2026-11-16T14:59:00+07:00"),
            "2026-11-16T17:00:00+07:00"
        );
        assert_eq!(
            due("2026-11-16T15:00:00+07:00"),
            "2026-11-16T17:00:00+07:00"
        );
        assert_eq!(
            due("2026-11-16T15:30:00+07:00"),
            "2026-11-17T17:00:00+07:00"
        );
        assert_eq!(
            due("2026-11-20T15:30:00+07:00"),
            "2026-11-23T17:00:00+07:00",
            "Friday after the cut-off: Monday"
        );
        assert_eq!(
            VN.format(VN.counting_start(at("2026-11-16T15:30:00+07:00")).unwrap()),
            "2026-11-17T08:00:00+07:00"
        );
    }

    #[test]
    fn holidays_of_2025_include_decisions_and_days_in_lieu() {
        let h: Vec<(Date, String)> = VN
            .holidays(2025)
            .into_iter()
            .map(|h| (h.date, h.name))
            .collect();
        let dates: Vec<Date> = h.iter().map(|(d, _)| *d).collect();
        assert!(dates.contains(&date(2025, 1, 27)), "29 Tết given in lieu");
        assert!(
            dates.contains(&date(2025, 2, 1)),
            "mùng 4 on a Saturday is listed"
        );
        assert!(
            !dates.contains(&date(2025, 2, 3)),
            "the rule's day in lieu was moved"
        );
        assert!(dates.contains(&date(2025, 5, 2)));
        assert!(dates.contains(&date(2025, 4, 7)), "Giỗ Tổ Hùng Vương");
        assert!(dates.contains(&date(2025, 9, 1)) && dates.contains(&date(2025, 9, 2)));
        assert!(!dates.contains(&date(2025, 11, 24)));
        assert!(dates.windows(2).all(|w| w[0] < w[1]), "sorted");
    }

    #[test]
    fn an_agency_open_on_saturday_morning() {
        let yaml = "name: Bộ phận một cửa phường\nextends: vn-national\noffice_hours:\n  saturday: { morning: \"08:00-12:00\" }\n";
        let cal = Calendar::from_yaml(yaml, "phuong.yaml", &mut |_, _| Err("none".into())).unwrap();
        let due = cal
            .add(
                at("2026-11-21T08:00:00+07:00"),
                "4 working hours".parse().unwrap(),
            )
            .unwrap();
        assert_eq!(cal.format(due), "2026-11-21T12:00:00+07:00");
        assert_eq!(cal.working_day_length(), SignedDuration::from_hours(8));
    }

    #[test]
    fn instants_outside_the_calendar_are_refused() {
        assert!(matches!(
            VN.add(
                at("2101-01-05T09:00:00+07:00"),
                "1 working day".parse().unwrap()
            ),
            Err(Error::OutOfRange(_))
        ));
        assert!(matches!(
            VN.add(
                at("2100-12-31T09:00:00+07:00"),
                "5 working days".parse().unwrap()
            ),
            Err(Error::OutOfRange(_))
        ));
    }

    #[test]
    fn a_calendar_is_shared_across_threads() {
        fn shared<T: Send + Sync + Clone>() {}
        shared::<Calendar>();
    }

    /// An agency with uneven hours (7.5-hour standard day, Saturday mornings) for the properties.
    static AGENCY: LazyLock<Calendar> = LazyLock::new(|| {
        let yaml = "name: uneven\nextends: vn-national\noffice_hours:\n  standard: { morning: \"07:30-11:30\", afternoon: \"13:30-17:00\" }\n  friday: { morning: \"07:30-11:30\" }\n  saturday: { afternoon: \"14:00-16:15\" }\n";
        Calendar::from_yaml(yaml, "uneven.yaml", &mut |_, _| Err("none".into())).unwrap()
    });

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Instants from 2024 to 2030, to the millisecond.
        fn instant() -> impl Strategy<Value = Timestamp> {
            let start = at("2024-01-01T00:00:00+07:00").as_millisecond();
            (0i64..7 * 365 * 86_400_000)
                .prop_map(move |ms| Timestamp::from_millisecond(start + ms).unwrap())
        }

        /// Working durations up to 200 working days, in thousandths of a day or hour.
        fn working() -> impl Strategy<Value = Duration> {
            prop_oneof![
                (1u64..200_000).prop_map(|m| Duration::new(m, Unit::WorkingDays)),
                (1u64..100_000).prop_map(|m| Duration::new(m, Unit::WorkingHours)),
            ]
        }

        fn calendar() -> impl Strategy<Value = &'static Calendar> {
            prop_oneof![Just(&*VN), Just(&*AGENCY)]
        }

        proptest! {
            #[test]
            fn adding_in_two_steps_is_adding_the_sum(cal in calendar(), t in instant(), a in working(), b in working()) {
                let ms = |d| cal.working_time(d).unwrap();
                let two_steps = cal.add(cal.add(t, a).unwrap(), b).unwrap();
                prop_assert_eq!(two_steps, cal.add_working(t, ms(a) + ms(b)).unwrap());
            }

            #[test]
            fn elapsed_measures_what_was_added(cal in calendar(), t in instant(), d in working()) {
                let due = cal.add(t, d).unwrap();
                prop_assert_eq!(cal.elapsed(t, due).unwrap(), cal.working_time(d).unwrap());
            }

            #[test]
            fn longer_periods_never_end_earlier(cal in calendar(), t in instant(), d in working(), extra in 0u64..5_000) {
                let longer = Duration::new(d.milli + extra, d.unit);
                prop_assert!(cal.add(t, d).unwrap() <= cal.add(t, longer).unwrap());
                let days = Duration::calendar_days(d.milli % 60);
                let more_days = Duration::calendar_days(d.milli % 60 + extra % 30);
                prop_assert!(cal.add(t, days).unwrap() <= cal.add(t, more_days).unwrap());
            }

            #[test]
            fn a_due_instant_is_never_inside_non_working_time(cal in calendar(), t in instant(), d in working()) {
                let due = cal.add(t, d).unwrap();
                prop_assert!(due > t);
                // The last working millisecond used is just before the due instant; the due
                // instant itself is working time or the close of a window.
                let last_ms = due - SignedDuration::from_millis(1);
                prop_assert!(cal.is_working_time(last_ms).unwrap(), "{} ends after non-working time", cal.format(due));
            }

            #[test]
            fn calendar_days_end_at_midnight_after_a_working_day(cal in calendar(), t in instant(), n in 1u64..60) {
                let due = cal.add(t, Duration::calendar_days(n)).unwrap();
                let local = cal.time_zone().to_datetime(due);
                prop_assert_eq!(local.time(), jiff::civil::Time::midnight());
                prop_assert!(cal.is_working_day(local.date().yesterday().unwrap()).unwrap());
            }

            #[test]
            fn the_next_working_instant_is_working_time(cal in calendar(), t in instant()) {
                let n = cal.next_working_instant(t).unwrap();
                prop_assert!(n >= t);
                prop_assert!(cal.is_working_time(n).unwrap());
                prop_assert_eq!(cal.elapsed(t, n).unwrap(), SignedDuration::ZERO);
            }
        }
    }
}
